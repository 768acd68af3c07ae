import { describe, expect, it } from 'vitest'
import { mapLimit } from '../../../src/core/snapshot/pacing.js'
import { AccountPacer, maxPerSecond, runQueue } from '../../../src/core/sweep/pacer.js'

/** A fake clock: waiting advances time, so the test runs instantly and exactly. */
function fakeTime() {
  let now = 0
  return {
    now: () => now,
    wait: async (ms: number) => {
      now += ms
    },
  }
}

describe('AccountPacer', () => {
  it('lets at most `rate` requests start in any window, and serves callers in order', async () => {
    const t = fakeTime()
    const pacer = new AccountPacer(10, 1000, t.now, t.wait)
    const order: number[] = []
    await Promise.all(
      Array.from({ length: 35 }, async (_, i) => {
        await pacer.take()
        order.push(i)
      }),
    )
    expect(order).toEqual(Array.from({ length: 35 }, (_, i) => i))
    expect(pacer.history).toHaveLength(35)
    expect(maxPerSecond(pacer.history)).toBe(10)
    // 35 requests at 10 per second: the last starts after three full windows.
    expect(pacer.history.at(-1)).toBeGreaterThanOrEqual(3000)
  })

  it('keeps a margin: with a 1.1 s window, even a late request stays under the limit per second', async () => {
    const t = fakeTime()
    const pacer = new AccountPacer(10, 1100, t.now, t.wait)
    for (let i = 0; i < 50; i++) await pacer.take()
    // Requests reaching the wire up to 100 ms after their token still fit 10 in any second.
    const wire = pacer.history.map((x, i) => x + (i % 2 === 0 ? 100 : 0))
    expect(maxPerSecond(wire)).toBeLessThanOrEqual(10)
  })

  it('refuses a rate that is not positive', () => {
    expect(() => new AccountPacer(0)).toThrow(RangeError)
  })
})

describe('mapLimit', () => {
  it('never runs more than `limit` at once and keeps the input order', async () => {
    let running = 0
    let peak = 0
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (x) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, x))
      running--
      return x * 2
    })
    expect(out).toEqual([10, 2, 8, 4, 6, 0, 12])
    expect(peak).toBe(3)
  })
})

describe('maxPerSecond', () => {
  it('counts the densest one-second window', () => {
    expect(maxPerSecond([])).toBe(0)
    expect(maxPerSecond([0, 999, 1000, 1999])).toBe(2)
    expect(maxPerSecond([0, 100, 200, 950, 2000])).toBe(4)
  })
})

describe('runQueue', () => {
  it('runs pushed items as slots free up, never more than `limit` at once', async () => {
    let running = 0
    let peak = 0
    const seen: string[] = []
    await runQueue<string>(['a', 'b', 'c'], 2, async (item, push) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, 5))
      seen.push(item)
      if (item.length === 1) push(`${item}1`, `${item}2`)
      running--
    })
    expect(peak).toBe(2)
    expect(seen.sort()).toEqual(['a', 'a1', 'a2', 'b', 'b1', 'b2', 'c', 'c1', 'c2'])
  })

  it('stops taking new items after a failure and rethrows it', async () => {
    const seen: number[] = []
    await expect(
      runQueue([1, 2, 3, 4, 5], 1, async (n) => {
        seen.push(n)
        if (n === 2) throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(seen).toEqual([1, 2])
  })

  it('finishes at once on an empty queue', async () => {
    await runQueue([], 4, async () => undefined)
  })
})
