import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../../src/core/common/canonical-json.js'

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], A: { z: 1, y: 2 } })).toBe(
      '{"A":{"y":2,"z":1},"a":[true,null,"x"],"b":1}',
    )
  })
  it('orders non-ASCII keys by code unit, as the RFC example does', () => {
    // RFC 8785 §3.2.3 sorting example.
    const obj = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    const text = canonicalJson(obj)
    const order = ['Carriage', 'One', 'Control', 'Latin', 'Euro', 'Emoji', 'Hebrew'].map((w) =>
      text.indexOf(w),
    )
    expect(order).toEqual([...order].sort((a, b) => a - b))
  })
  it('serialises numbers as ECMAScript does', () => {
    // biome-ignore lint/correctness/noPrecisionLoss: the RFC 8785 test vector is this literal
    expect(canonicalJson([1e21, 1e-7, 0.1, -0, 333333333.33333329])).toBe(
      '[1e+21,1e-7,0.1,0,333333333.3333333]',
    )
  })
  it('drops undefined members and refuses non-finite numbers', () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}')
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/)
  })
})
