import { describe, expect, it } from 'vitest'
import { isoOrNull, utcDisplay, utcParts } from '../../../src/core/report/format.js'

describe('times in the report', () => {
  it('shows the whole date and the seconds of a time outside the years 0000–9999', () => {
    expect(utcDisplay('2026-03-14T09:12:03.000Z')).toBe('2026-03-14 09:12:03 UTC')
    expect(utcDisplay('+275760-09-13T00:00:00.000Z')).toBe('+275760-09-13 00:00:00 UTC')
    expect(utcDisplay('-271821-04-20T00:00:00.000Z')).toBe('-271821-04-20 00:00:00 UTC')
    expect(utcDisplay('-000001-12-31T23:59:58.000Z')).toBe('-000001-12-31 23:59:58 UTC')
    expect(utcDisplay('0000-01-01T00:00:00Z')).toBe('0000-01-01 00:00:00 UTC')
    expect(utcDisplay('not a time')).toBe('not a time')
  })

  it('reads a number past what a Date holds as no time, not a RangeError', () => {
    expect(isoOrNull(8.64e15)).toBe('+275760-09-13T00:00:00.000Z')
    expect(isoOrNull(8.64e15 + 1)).toBeNull()
    expect(isoOrNull(-1e20)).toBeNull()
    expect(isoOrNull(Number.POSITIVE_INFINITY)).toBeNull()
    expect(isoOrNull('+275760-09-13T00:00:00.001Z')).toBeNull()
  })

  it('clamps a computed time past the range to its end', () => {
    expect(utcParts(8.64e15 + 7 * 86_400_000)).toEqual({ date: '+275760-09-13', time: '00:00:00' })
    expect(utcParts(-9e15)).toEqual({ date: '-271821-04-20', time: '00:00:00' })
  })
})
