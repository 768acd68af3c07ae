import { describe, expect, it } from 'vitest'
import { mapLimit, Once, TokenBucket } from '../../../src/core/snapshot/pacing.js'

describe('TokenBucket', () => {
  it('lets a burst through, then paces to the rate', async () => {
    const bucket = new TokenBucket(50, 5)
    const start = performance.now()
    const times: number[] = []
    await Promise.all(
      Array.from({ length: 30 }, async () => {
        await bucket.take()
        times.push(performance.now() - start)
      }),
    )
    // 5 at once, then 25 more at 50/s: at least ~500 ms, and not absurdly slower.
    const last = Math.max(...times)
    expect(last).toBeGreaterThanOrEqual(450)
    expect(last).toBeLessThan(2000)
    expect(times.filter((t) => t < 50).length).toBeGreaterThanOrEqual(5)
    expect(bucket.count).toBe(30)
  })

  it('never lets more than rate + burst through in any second', async () => {
    const bucket = new TokenBucket(40, 2)
    const times: number[] = []
    const start = performance.now()
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        await bucket.take()
        times.push(performance.now() - start)
      }),
    )
    for (const t of times) {
      const inWindow = times.filter((u) => u >= t && u < t + 1000).length
      expect(inWindow).toBeLessThanOrEqual(42 + 1)
    }
  })

  it('rejects a rate that is not positive', () => {
    expect(() => new TokenBucket(0)).toThrow()
  })
})

describe('mapLimit and Once', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0
    let peak = 0
    const out = await mapLimit([...Array(20).keys()], 3, async (n) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, 5))
      running--
      return n * 2
    })
    expect(out).toEqual([...Array(20).keys()].map((n) => n * 2))
    expect(peak).toBe(3)
  })

  it('computes once per key', async () => {
    const once = new Once<string, number>()
    let calls = 0
    const make = async () => ++calls
    const [a, b] = await Promise.all([once.get('k', make), once.get('k', make)])
    expect([a, b, calls]).toEqual([1, 1, 1])
  })
})
