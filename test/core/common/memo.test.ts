import { describe, expect, it } from 'vitest'
import { memoized } from '../../../src/core/common/memo.js'

describe('memoized', () => {
  it('works a key out once, remembers undefined too, and past its limit still answers right', () => {
    const calls: string[] = []
    const f = memoized((k: string) => {
      calls.push(k)
      return k.startsWith('x') ? undefined : k.toUpperCase()
    }, 2)
    expect([f('a'), f('a'), f('xb'), f('xb')]).toEqual(['A', 'A', undefined, undefined])
    expect(calls).toEqual(['a', 'xb'])
    // The limit is reached: a third key is worked out every time, the first two stay remembered.
    expect([f('c'), f('c'), f('a')]).toEqual(['C', 'C', 'A'])
    expect(calls).toEqual(['a', 'xb', 'c', 'c'])
  })
})
