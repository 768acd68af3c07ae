import { setTimeout as sleep } from 'node:timers/promises'

/**
 * A token bucket: at most `ratePerSecond` requests a second on average, bursts up to `burst`.
 * Lambda's control plane allows about 15 requests/s per account for many calls, shared with the
 * victim's own deployments, so fir stays under it (DESIGN §3). Waiters are served in order.
 */
export class TokenBucket {
  private tokens: number
  private last: number
  private queue: Promise<void> = Promise.resolve()
  private taken = 0

  constructor(
    readonly ratePerSecond: number,
    readonly burst = Math.max(1, Math.min(ratePerSecond, 10)),
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new Error('rate must be positive')
    this.tokens = this.burst
    this.last = this.now()
  }

  /** Requests let through so far. */
  get count(): number {
    return this.taken
  }

  /** Waits for a token. */
  take(): Promise<void> {
    const next = this.queue.then(() => this.waitForToken())
    this.queue = next.catch(() => undefined)
    return next
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const t = this.now()
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond)
      this.last = t
      if (this.tokens >= 1) {
        this.tokens -= 1
        this.taken++
        return
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000))
    }
  }
}

/**
 * One token bucket per region: Lambda's request quotas are per account and region, so regions walked
 * in parallel (--all-using-role --regions) each get the full rate.
 */
export class RegionPacers {
  private readonly buckets = new Map<string, TokenBucket>()
  constructor(readonly ratePerSecond: number) {}

  for(region: string | undefined): TokenBucket {
    const key = region ?? ''
    let b = this.buckets.get(key)
    if (!b) {
      b = new TokenBucket(this.ratePerSecond)
      this.buckets.set(key, b)
    }
    return b
  }

  /** Requests let through so far, in every region. */
  get count(): number {
    let n = 0
    for (const b of this.buckets.values()) n += b.count
    return n
  }
}

/** Runs `fn` over `items` with at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!, i)
    }
  })
  await Promise.all(workers)
  return results
}

/** Memoises an async computation per key (e.g. one download per CodeSha256, one role per ARN). */
export class Once<K, V> {
  private readonly map = new Map<K, Promise<V>>()
  get(key: K, make: () => Promise<V>): Promise<V> {
    let p = this.map.get(key)
    if (!p) {
      p = make()
      this.map.set(key, p)
    }
    return p
  }
  values(): Promise<V>[] {
    return [...this.map.values()]
  }
}
