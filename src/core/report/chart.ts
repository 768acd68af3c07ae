import { levelLabel } from './format.js'
import { type ChartActionMarker, type ChartModel, LEVELS, type Level } from './model.js'

/** Category colours (Okabe–Ito, distinguishable with colour-blindness); the last is "other". */
export const CATEGORY_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#9CA3AF']
export const LEVEL_COLORS: Record<Level, string> = {
  critical: '#7F1D1D',
  high: '#DC2626',
  medium: '#D97706',
  low: '#2563EB',
  informational: '#6B7280',
}
export const ACTION_COLOR = '#0F766E'
export const MAX_CATEGORIES = 5

/** The input of the chart: compact per-event arrays, so 100,000 events cost little memory. */
export interface ChartInput {
  /** Event times (ms since epoch). */
  times: number[]
  /** Index into `categories` per event. */
  categoryOf: number[]
  categories: string[]
  findings: { ms: number; level: Level }[]
  actions: { ms: number; n: number; title: string }[]
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const BUCKETS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  7 * DAY,
]
const TICK_STEPS = [
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
]
const MAX_BUCKETS = 96

const W = 1000
const LEFT = 86
const RIGHT = 16
const ACTION_LABEL_Y = 4
const ROW_TOP = 28
const ROW_H = 12
const PLOT_TOP = ROW_TOP + LEVELS.length * ROW_H + 10
const PLOT_H = 170
const AXIS_GAP = 16

function bucketName(ms: number): string {
  if (ms % DAY === 0) return ms === DAY ? 'day' : `${ms / DAY} days`
  if (ms % HOUR === 0) return ms === HOUR ? 'hour' : `${ms / HOUR} hours`
  return ms === MINUTE ? 'minute' : `${ms / MINUTE} minutes`
}

/** An integer tick step (1, 2, 5 × 10^k) giving at most four intervals up to the peak. */
function tickStep(peak: number): number {
  const raw = Math.max(1, peak / 4)
  const p = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p
  return 10 * p
}

function fmtTick(ms: number, spanMs: number, step: number): string {
  const iso = new Date(ms).toISOString()
  if (step >= DAY) return iso.slice(5, 10)
  if (spanMs > DAY) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`
  return iso.slice(11, 16)
}

function round(n: number): number {
  return Math.round(n * 10) / 10
}

/**
 * Lays out the timeline chart: events over time as stacked bars by category, findings as dots on
 * one row per level, containment actions as numbered vertical lines. Returns null without events.
 */
export function buildChart(input: ChartInput): ChartModel | null {
  const { times, categoryOf, categories } = input
  if (times.length === 0) return null
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const t of times) {
    if (t < min) min = t
    if (t > max) max = t
  }
  for (const a of input.actions) {
    if (a.ms < min) min = a.ms
    if (a.ms > max) max = a.ms
  }
  if (max - min < 30 * MINUTE) {
    const mid = (min + max) / 2
    min = mid - 15 * MINUTE
    max = mid + 15 * MINUTE
  }
  const bucketMs = BUCKETS.find((b) => (max - min) / b <= MAX_BUCKETS) ?? BUCKETS.at(-1)!
  const start = Math.floor(min / bucketMs) * bucketMs
  const end = (Math.floor(max / bucketMs) + 1) * bucketMs
  const n = Math.round((end - start) / bucketMs)
  const nCat = categories.length
  const counts = new Float64Array(n * nCat)
  const totals = new Float64Array(n)
  for (let i = 0; i < times.length; i++) {
    const b = Math.min(n - 1, Math.floor((times[i]! - start) / bucketMs))
    counts[b * nCat + categoryOf[i]!]! += 1
    totals[b]! += 1
  }
  let peak = 0
  for (const t of totals) if (t > peak) peak = t
  const step = tickStep(peak)
  const yMax = Math.max(step, Math.ceil(peak / step) * step)

  const plotW = W - LEFT - RIGHT
  const x = (ms: number) => LEFT + ((ms - start) / (end - start)) * plotW
  const bw = plotW / n
  const plotBottom = PLOT_TOP + PLOT_H
  const colorOf = (c: number) => CATEGORY_COLORS[Math.min(c, CATEGORY_COLORS.length - 1)]!

  const bars: ChartModel['bars'] = []
  for (let b = 0; b < n; b++) {
    if (totals[b] === 0) continue
    const bStart = start + b * bucketMs
    let y = plotBottom
    const segments: ChartModel['bars'][number]['segments'] = []
    const parts: string[] = []
    for (let c = 0; c < nCat; c++) {
      const v = counts[b * nCat + c]!
      if (v === 0) continue
      const h = (v / yMax) * PLOT_H
      y -= h
      segments.push({
        y: round(y),
        height: round(Math.max(h, 0.6)),
        color: colorOf(c),
        category: categories[c]!,
      })
      parts.push(`${categories[c]} ${v}`)
    }
    const from = new Date(bStart).toISOString()
    const to = new Date(bStart + bucketMs).toISOString()
    bars.push({
      x: round(x(bStart) + Math.min(1, bw * 0.1)),
      width: round(Math.max(bw - Math.min(2, bw * 0.2), 0.8)),
      title: `${from.slice(0, 16).replace('T', ' ')}–${to.slice(11, 16)} UTC: ${totals[b]} event${totals[b] === 1 ? '' : 's'} (${parts.join(', ')})`,
      segments,
    })
  }

  const yTicks: ChartModel['yTicks'] = []
  for (let v = 0; v <= yMax; v += step) {
    yTicks.push({ y: round(plotBottom - (v / yMax) * PLOT_H), label: v.toLocaleString('en-US'), x: LEFT - 6 })
  }

  const span = end - start
  const xStep = TICK_STEPS.find((s) => span / s <= 7) ?? TICK_STEPS.at(-1)!
  const xTicks: ChartModel['xTicks'] = []
  for (let t = Math.ceil(start / xStep) * xStep; t <= end; t += xStep) {
    const px = x(t)
    xTicks.push({
      x: round(px),
      label: fmtTick(t, span, xStep),
      y: plotBottom + AXIS_GAP,
      anchor: px < LEFT + 30 ? 'start' : px > W - RIGHT - 30 ? 'end' : 'middle',
    })
  }

  const rowY = (level: Level) => ROW_TOP + LEVELS.indexOf(level) * ROW_H + ROW_H / 2
  const findingRows = LEVELS.map((level) => ({
    level,
    label: levelLabel(level),
    y: rowY(level),
    labelX: LEFT - 6,
  }))
  const perCell = new Map<string, { b: number; level: Level; count: number }>()
  for (const f of input.findings) {
    if (f.ms < start || f.ms >= end) continue
    const b = Math.floor((f.ms - start) / bucketMs)
    const key = `${b}|${f.level}`
    const cell = perCell.get(key)
    if (cell) cell.count++
    else perCell.set(key, { b, level: f.level, count: 1 })
  }
  const findingMarkers: ChartModel['findingMarkers'] = [...perCell.values()]
    .sort((a, b) => a.b - b.b || LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level))
    .map(({ b, level, count }) => {
      const bStart = start + b * bucketMs
      return {
        cx: round(x(bStart) + bw / 2),
        cy: rowY(level),
        r: round(Math.min(5.5, 2.5 + Math.log2(count))),
        color: LEVEL_COLORS[level],
        level,
        title: `${count} ${level} finding${count === 1 ? '' : 's'}, ${new Date(bStart).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      }
    })

  // Actions taken within a few pixels of each other share one marker, labelled with a range.
  const actionMarkers: ChartActionMarker[] = []
  const sorted = [...input.actions].sort((a, b) => a.ms - b.ms || a.n - b.n)
  let group: typeof sorted = []
  const flush = () => {
    if (group.length === 0) return
    const first = group[0]!
    const last = group.at(-1)!
    const label = group.length === 1 ? String(first.n) : `${first.n}–${last.n}`
    const px = round(x(first.ms))
    const labelWidth = 8 + label.length * 6.5
    actionMarkers.push({
      x: px,
      y1: ACTION_LABEL_Y + 16,
      y2: plotBottom,
      label,
      labelX: round(Math.min(Math.max(px - labelWidth / 2, LEFT), W - RIGHT - labelWidth)),
      labelY: ACTION_LABEL_Y,
      labelWidth: round(labelWidth),
      color: ACTION_COLOR,
      title: group.map((a) => `${a.n}. ${a.title}`).join('\n'),
    })
    group = []
  }
  for (const a of sorted) {
    const prev = group.at(-1)
    if (prev && x(a.ms) - x(prev.ms) > 14) flush()
    group.push(a)
  }
  flush()

  const catTotals = new Map<number, number>()
  for (const c of categoryOf) catTotals.set(c, (catTotals.get(c) ?? 0) + 1)
  const levelTotals = new Map<Level, number>()
  for (const f of input.findings) levelTotals.set(f.level, (levelTotals.get(f.level) ?? 0) + 1)

  const height = plotBottom + AXIS_GAP + 14
  return {
    width: W,
    height,
    viewBox: `0 0 ${W} ${height}`,
    description: `Timeline chart: ${times.length} events from ${new Date(start).toISOString().slice(0, 16).replace('T', ' ')} to ${new Date(end).toISOString().slice(0, 16).replace('T', ' ')} UTC in ${bucketName(bucketMs)} bars by category, ${input.findings.length} findings by level, ${input.actions.length} containment actions.`,
    plot: { x: LEFT, y: PLOT_TOP, width: plotW, height: PLOT_H, bottom: plotBottom, right: W - RIGHT },
    bars,
    yTicks,
    xTicks,
    findingRows,
    findingMarkers,
    actionMarkers,
    legendCategories: categories.map((name, i) => ({
      name,
      color: colorOf(i),
      count: catTotals.get(i) ?? 0,
    })),
    legendLevels: LEVELS.filter((l) => levelTotals.has(l)).map((l) => ({
      label: levelLabel(l),
      color: LEVEL_COLORS[l],
      count: levelTotals.get(l) ?? 0,
    })),
    bucketLabel: bucketName(bucketMs),
    axisLabelY: PLOT_TOP + PLOT_H / 2,
  }
}
