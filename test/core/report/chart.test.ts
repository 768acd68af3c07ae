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
})
