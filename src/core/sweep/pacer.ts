import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Paces one account's requests: at most `rate` requests start in any sliding window of one
 * second (a token bucket whose tokens return one second after they are spent). Lambda's control
 * plane allows about 15 requests/s per account for many calls, shared with the account's own CI,
 * so a sweep stays well under it (default 10/s). Tokens return after `windowMs` (1.1 s): the
 * margin absorbs the scheduling delay between a token and the request reaching the wire, so the
 * rate seen by AWS stays under the limit too.
 */
export class AccountPacer {
  private readonly starts: number[] = []
  private queue: Promise<void> = Promise.resolve()
  /** Every start time, for the benchmark's rate measurement. */
  readonly history: number[] = []

  constructor(
    readonly rate: number,
    private readonly windowMs = 1100,
    private readonly now: () => number = () => performance.now(),
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {
    if (!(rate > 0)) throw new RangeError('rate must be positive')
  }

  /** Resolves when the caller may send its next request. Callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.acquire())
    this.queue = turn.catch(() => undefined)
    return turn
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const t = this.now()
      while (this.starts.length > 0 && t - this.starts[0]! >= this.windowMs) this.starts.shift()
      if (this.starts.length < this.rate) {
        this.starts.push(t)
        this.history.push(t)
        return
      }
      await this.wait(Math.max(1, this.windowMs - (t - this.starts[0]!)))
    }
  }
}

/** The most requests that started in any one-second window of `times` (milliseconds). */
export function maxPerSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let best = 0
  let lo = 0
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= 1000) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

/**
 * Runs a work queue with at most `limit` items at once; an item may add more items (an account's
 * regions once its role is assumed), which start as soon as a slot is free.
 */
export async function runQueue<T>(
  initial: readonly T[],
  limit: number,
  fn: (item: T, push: (...items: T[]) => void) => Promise<void>,
): Promise<void> {
  const queue = [...initial]
  let running = 0
  let failure: unknown
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (failure === undefined && running < limit && queue.length > 0) {
        const item = queue.shift()!
        running++
        fn(item, (...items) => queue.push(...items))
          .catch((err) => {
            failure ??= err
          })
          .finally(() => {
            running--
            pump()
          })
      }
      if (running === 0 && (queue.length === 0 || failure !== undefined)) resolve()
    }
    pump()
  })
  if (failure !== undefined) throw failure
}
