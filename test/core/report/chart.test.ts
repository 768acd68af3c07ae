import { describe, expect, it } from 'vitest'
import { ACTION_COLOR, buildChart, CATEGORY_COLORS, LEVEL_COLORS } from '../../../src/core/report/chart.js'

const H = 3600_000
const T0 = Date.parse('2026-03-14T00:00:00Z')

describe('buildChart', () => {
  it('returns null without events', () => {
    expect(buildChart({ times: [], categoryOf: [], categories: [], findings: [], actions: [] })).toBeNull()
  })

  it('stacks every event into one bar per bucket, inside the plot, with integer y ticks', () => {
    const times: number[] = []
    const categoryOf: number[] = []
    for (let i = 0; i < 300; i++) {
      times.push(T0 + (i % 48) * H + 60_000)
      categoryOf.push(i % 3)
    }
    const chart = buildChart({
      times,
      categoryOf,
      categories: ['lambda', 'iam', 'sts'],
      findings: [],
      actions: [],
    })!
    expect(chart.bucketLabel).toBe('30 minutes')
    const { plot } = chart
    let drawn = 0
    for (const bar of chart.bars) {
      expect(bar.x).toBeGreaterThanOrEqual(plot.x)
      expect(bar.x + bar.width).toBeLessThanOrEqual(plot.right + 0.01)
      for (const s of bar.segments) {
        expect(s.y).toBeGreaterThanOrEqual(plot.y - 0.01)
        expect(s.y + s.height).toBeLessThanOrEqual(plot.bottom + 0.6)
        expect(CATEGORY_COLORS).toContain(s.color)
      }
      const n = Number(bar.title.match(/: (\d+) events?/)![1])
      drawn += n
    }
    expect(drawn).toBe(300)
    expect(chart.bars).toHaveLength(48)
    for (const t of chart.yTicks) expect(t.label).toMatch(/^\d[\d,]*$/)
    expect(chart.yTicks[0]!.label).toBe('0')
    expect(chart.legendCategories.map((c) => [c.name, c.count])).toEqual([
      ['lambda', 100],
      ['iam', 100],
      ['sts', 100],
    ])
  })

  it('marks findings on their level row and groups close actions under one numbered marker', () => {
    const times = [T0, T0 + 10 * H, T0 + 20 * H]
    const chart = buildChart({
      times,
      categoryOf: [0, 0, 0],
      categories: ['lambda'],
      findings: [
        { ms: T0 + 10 * H, level: 'critical' },
        { ms: T0 + 10 * H + 1000, level: 'critical' },
        { ms: T0, level: 'low' },
      ],
      actions: [
        { ms: T0 + 20 * H, n: 1, title: 'Throttle' },
        { ms: T0 + 20 * H + 2000, n: 2, title: 'URL' },
        { ms: T0 + 2 * H, n: 3, title: 'Early' },
      ],
    })!
    const critical = chart.findingMarkers.filter((m) => m.level === 'critical')
    expect(critical).toHaveLength(1)
    expect(critical[0]!.title).toMatch(/^2 critical findings/)
    expect(critical[0]!.color).toBe(LEVEL_COLORS.critical)
    const rowY = Object.fromEntries(chart.findingRows.map((r) => [r.level, r.y]))
    expect(critical[0]!.cy).toBe(rowY.critical)
    expect(chart.findingMarkers.find((m) => m.level === 'low')!.cy).toBe(rowY.low)
    expect(chart.actionMarkers.map((a) => a.label)).toEqual(['3', '1–2'])
    expect(chart.actionMarkers[1]!.title).toBe('1. Throttle\n2. URL')
    expect(chart.actionMarkers[1]!.color).toBe(ACTION_COLOR)
    expect(chart.actionMarkers[0]!.x).toBeLessThan(chart.actionMarkers[1]!.x)
  })

  it('widens a window shorter than half an hour and picks coarser buckets for long windows', () => {
    const short = buildChart({
      times: [T0, T0 + 1000],
      categoryOf: [0, 0],
      categories: ['s3'],
      findings: [],
      actions: [],
    })!
    expect(short.bucketLabel).toBe('minute')
    const long = buildChart({
      times: [T0, T0 + 80 * 24 * H],
      categoryOf: [0, 0],
      categories: ['s3'],
      findings: [],
      actions: [],
    })!
    expect(long.bucketLabel).toBe('day')
    expect(long.xTicks.length).toBeLessThanOrEqual(8)
  })

  describe('times at the ends of what a Date holds', () => {
    const MAX = 8.64e15
    const at = (iso: string) => Date.parse(iso)
    const chartOf = (times: number[], extra: Partial<Parameters<typeof buildChart>[0]> = {}) =>
      buildChart({
        times,
        categoryOf: times.map(() => 0),
        categories: ['lambda'],
        findings: [],
        actions: [],
        ...extra,
      })!
    /** Every bar and tick inside the plot, every text a readable time: no NaN, no Invalid Date. */
    const expectReadable = (chart: NonNullable<ReturnType<typeof buildChart>>) => {
      expect(chart.bars.length).toBeLessThanOrEqual(96)
      expect(chart.xTicks.length).toBeLessThanOrEqual(8)
      for (const bar of chart.bars) {
        expect(bar.x).toBeGreaterThanOrEqual(chart.plot.x)
        expect(bar.x + bar.width).toBeLessThanOrEqual(chart.plot.right + 0.01)
      }
      for (const t of chart.xTicks) {
        expect(t.x).toBeGreaterThanOrEqual(chart.plot.x - 0.01)
        expect(t.x).toBeLessThanOrEqual(chart.plot.right + 0.01)
      }
      const text = JSON.stringify(chart)
      expect(text).not.toMatch(/NaN|Invalid|Infinity|null/)
    }

    it('draws one event at +275760-09-13, the last time a Date holds (toISOString threw RangeError)', () => {
      const chart = chartOf([MAX], {
        findings: [{ ms: MAX, level: 'high' }],
        actions: [{ ms: MAX, n: 1, title: 'Throttle' }],
      })
      expectReadable(chart)
      expect(chart.description).toContain('1 events from +275760-09-13 00:00 to +275760-09-13 00:00 UTC')
      expect(chart.bars).toHaveLength(1)
      expect(chart.bars[0]!.title).toMatch(/^\+275760-09-13 00:00–/)
      expect(chart.findingMarkers).toHaveLength(1)
      expect(chart.actionMarkers).toHaveLength(1)
    })

    it('keeps a 9999-12-31 event beside a 2026 one to under 96 bars of years, labelled with whole dates', () => {
      // 7-day bars gave 417,000 of them (a 14 MB report) and "to +010000-01-06 00 UTC".
      const chart = chartOf([at('2026-11-29T10:00:00Z'), at('9999-12-31T23:59:59Z')], {
        findings: [{ ms: at('9999-12-31T23:59:59Z'), level: 'high' }],
      })
      expectReadable(chart)
      expect(chart.bucketLabel).toBe('100 years')
      expect(chart.bars).toHaveLength(2)
      expect(chart.description).toContain(
        '2 events from 2026-11-29 10:00 to 9999-12-31 23:59 UTC in 100 years bars',
      )
      expect(chart.bars[1]!.title).toMatch(/^9900-01-01 00:00–\+010000-01-01 00:00 UTC: 1 event/)
      expect(chart.xTicks.map((t) => t.label)).toEqual(['2000', '4000', '6000', '8000', '+010000'])
      expect(chart.findingMarkers).toHaveLength(1)
    })

    it('spans the whole range, -271821-04-20 to +275760-09-13, in bars of 10,000 years', () => {
      const chart = chartOf([-MAX, at('2026-01-01T00:00:00Z'), MAX])
      expectReadable(chart)
      expect(chart.bucketLabel).toBe('10,000 years')
      expect(chart.bars).toHaveLength(3)
      expect(chart.bars[0]!.title).toMatch(/^-271821-04-20 00:00–-270000-01-01 00:00 UTC/)
      expect(chart.bars[2]!.title).toMatch(/–\+275760-09-13 00:00 UTC/)
      expect(chart.xTicks.map((t) => t.label)).toContain('0000')
    })

    it('reads the year 0 and years before it (ISO -000001) in calendar bars', () => {
      const chart = chartOf([
        at('-000001-06-01T00:00:00Z'),
        at('0000-01-01T00:00:00Z'),
        at('2026-01-01T00:00:00Z'),
      ])
      expectReadable(chart)
      expect(chart.bucketLabel).toBe('50 years')
      expect(chart.bars.map((b) => b.title.slice(0, b.title.indexOf(' UTC')))).toEqual([
        '-000050-01-01 00:00–0000-01-01 00:00',
        '0000-01-01 00:00–0050-01-01 00:00',
        '2000-01-01 00:00–2050-01-01 00:00',
      ])
    })

    it('draws a span of a few years in months, ticked by month, and leaves out an action without a time', () => {
      const chart = chartOf([at('2024-01-10T00:00:00Z'), at('2026-11-01T00:00:00Z')], {
        actions: [{ ms: Number.NaN, n: 1, title: 'journal entry with a bad time' }],
      })
      expectReadable(chart)
      expect(chart.bucketLabel).toBe('month')
      expect(chart.bars.map((b) => b.title.slice(0, 10))).toEqual(['2024-01-01', '2026-11-01'])
      for (const t of chart.xTicks) expect(t.label).toMatch(/^\d{4}-\d{2}$/)
      expect(chart.actionMarkers).toEqual([])
    })
  })
})
