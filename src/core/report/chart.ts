import { civilFromDays, daysFromCivil, MAX_DATE_MS } from '../timeline/window.js'
import { levelLabel, utcParts } from './format.js'
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

/** Bar lengths in calendar months, once 7-day bars would pass MAX_BUCKETS: a long span reads in months and years. */
const MONTH_STEPS = [1, 3, 6, 12]
/** Tick steps in months past the longest of TICK_STEPS. */
const MONTH_TICK_STEPS = [1, 2, 3, 6, 12]

/** `1-2-5 × 10^k` years (as months) from 2 years up: the steps past MONTH_STEPS, for any span. */
function yearSteps(): number[] {
  const out: number[] = []
  for (let p = 1; p <= 1e6; p *= 10) for (const m of [1, 2, 5]) if (m * p >= 2) out.push(12 * m * p)
  return out
}
const YEAR_STEPS = yearSteps()

function bucketName(b: Bucketing): string {
  if (b.months) {
    if (b.months % 12 === 0) {
      const years = b.months / 12
      return years === 1 ? 'year' : `${years.toLocaleString('en-US')} years`
    }
    return b.months === 1 ? 'month' : `${b.months} months`
  }
  const ms = b.ms
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
  const { date, time } = utcParts(ms)
  // The date ends -MM-DD whatever the length of its year.
  const monthDay = date.slice(-5)
  if (step >= DAY) return monthDay
  if (spanMs > DAY) return `${monthDay} ${time.slice(0, 5)}`
  return time.slice(0, 5)
}

/** `2026-03-14 09:00` in UTC. */
function minuteText(ms: number): string {
  const { date, time } = utcParts(ms)
  return `${date} ${time.slice(0, 5)}`
}

/** The month of a time as `year × 12 + month` (month 0–11), UTC. */
function monthIndexOf(ms: number): number {
  const [year, month] = civilFromDays(Math.floor(ms / DAY))
  return year * 12 + month - 1
}

/** Milliseconds since the epoch of the first of a month given as `year × 12 + month`. */
function monthStartMs(index: number): number {
  const year = Math.floor(index / 12)
  return daysFromCivil(year, index - year * 12 + 1) * DAY
}

/** How times fall into bars: fixed lengths, or calendar months (`months` > 0). */
interface Bucketing {
  ms: number
  months: number
  n: number
  /** Start of bar `i` (`n` gives the end of the last); may lie past what a Date holds. */
  edge(i: number): number
  /** The bar of a time inside the chart's range. */
  indexOf(ms: number): number
}

/**
 * The bars for times from `min` to `max`: the finest length that needs at most MAX_BUCKETS bars.
 * Past weeks they are calendar months, then years, then 1-2-5 × 10^k years: any spread of times a
 * Date holds (550,000 years) stays under MAX_BUCKETS bars.
 */
function bucketing(min: number, max: number): Bucketing {
  const fixed = BUCKETS.find((b) => (max - min) / b <= MAX_BUCKETS)
  if (fixed) {
    const start = Math.floor(min / fixed) * fixed
    const n = Math.floor(max / fixed) - Math.floor(min / fixed) + 1
    return {
      ms: fixed,
      months: 0,
      n,
      edge: (i) => start + i * fixed,
      indexOf: (ms) => Math.min(n - 1, Math.floor((ms - start) / fixed)),
    }
  }
  const first = monthIndexOf(min)
  const last = monthIndexOf(max)
  const months =
    [...MONTH_STEPS, ...YEAR_STEPS].find(
      (k) => Math.floor(last / k) - Math.floor(first / k) + 1 <= MAX_BUCKETS,
    ) ?? YEAR_STEPS.at(-1)!
  const base = Math.floor(first / months) * months
  const n = Math.floor((last - base) / months) + 1
  const edges = Float64Array.from({ length: n + 1 }, (_, i) => monthStartMs(base + i * months))
  return {
    ms: 0,
    months,
    n,
    edge: (i) => edges[i]!,
    // The last edge at or before the time: a search of at most 97 edges costs less than a date.
    indexOf: (ms) => {
      let lo = 0
      let hi = n - 1
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1
        if (edges[mid]! <= ms) lo = mid
        else hi = mid - 1
      }
      return lo
    },
  }
}

/** The x-axis ticks: fixed steps up to a month, then calendar months and years; at most about seven. */
function axisTicks(start: number, end: number): { ms: number; label: string }[] {
  const span = end - start
  const inRange = (t: number) => Math.abs(t) <= MAX_DATE_MS
  const fixed = TICK_STEPS.find((s) => span / s <= 7)
  if (fixed) {
    const out: { ms: number; label: string }[] = []
    for (let t = Math.ceil(start / fixed) * fixed; t <= end; t += fixed)
      if (inRange(t)) out.push({ ms: t, label: fmtTick(t, span, fixed) })
    return out
  }
  const first = monthIndexOf(Math.max(start, -MAX_DATE_MS))
  const last = monthIndexOf(Math.min(end, MAX_DATE_MS))
  const step = [...MONTH_TICK_STEPS, ...YEAR_STEPS].find((k) => (last - first) / k <= 7) ?? YEAR_STEPS.at(-1)!
  const out: { ms: number; label: string }[] = []
  for (let m = Math.ceil(first / step) * step; m <= last; m += step) {
    const t = monthStartMs(m)
    if (t < start || t > end || !inRange(t)) continue
    const { date } = utcParts(t)
    // YYYY-MM, or YYYY for ticks a year or more apart (±YYYYYY outside 0000–9999).
    out.push({ ms: t, label: step % 12 === 0 ? date.slice(0, -6) : date.slice(0, -3) })
  }
  return out
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
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  for (const t of times) {
    if (t < first) first = t
    if (t > last) last = t
  }
  // A journal entry whose time does not parse has no place on the axis.
  const actions = input.actions.filter((a) => Number.isFinite(a.ms))
  let min = first
  let max = last
  for (const a of actions) {
    if (a.ms < min) min = a.ms
    if (a.ms > max) max = a.ms
  }
  if (max - min < 30 * MINUTE) {
    const mid = (min + max) / 2
    min = mid - 15 * MINUTE
    max = mid + 15 * MINUTE
    // Widened inside the times a Date holds, where its ticks can be written.
    if (max > MAX_DATE_MS) [min, max] = [MAX_DATE_MS - 30 * MINUTE, MAX_DATE_MS]
    if (min < -MAX_DATE_MS) [min, max] = [-MAX_DATE_MS, -MAX_DATE_MS + 30 * MINUTE]
  }
  const buckets = bucketing(min, max)
  const { n } = buckets
  const start = buckets.edge(0)
  const end = buckets.edge(n)
  const nCat = categories.length
  const counts = new Float64Array(n * nCat)
  const totals = new Float64Array(n)
  for (let i = 0; i < times.length; i++) {
    const b = buckets.indexOf(times[i]!)
    counts[b * nCat + categoryOf[i]!]! += 1
    totals[b]! += 1
  }
  let peak = 0
  for (const t of totals) if (t > peak) peak = t
  const step = tickStep(peak)
  const yMax = Math.max(step, Math.ceil(peak / step) * step)

  const plotW = W - LEFT - RIGHT
  const x = (ms: number) => LEFT + ((ms - start) / (end - start)) * plotW
  const plotBottom = PLOT_TOP + PLOT_H
  const colorOf = (c: number) => CATEGORY_COLORS[Math.min(c, CATEGORY_COLORS.length - 1)]!

  const bars: ChartModel['bars'] = []
  for (let b = 0; b < n; b++) {
    if (totals[b] === 0) continue
    const bStart = buckets.edge(b)
    const bw = x(buckets.edge(b + 1)) - x(bStart)
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
    const from = utcParts(bStart)
    const to = utcParts(buckets.edge(b + 1))
    bars.push({
      x: round(x(bStart) + Math.min(1, bw * 0.1)),
      width: round(Math.max(bw - Math.min(2, bw * 0.2), 0.8)),
      title: `${from.date} ${from.time.slice(0, 5)}–${to.date === from.date ? '' : `${to.date} `}${to.time.slice(0, 5)} UTC: ${totals[b]} event${totals[b] === 1 ? '' : 's'} (${parts.join(', ')})`,
      segments,
    })
  }

  const yTicks: ChartModel['yTicks'] = []
  for (let v = 0; v <= yMax; v += step) {
    yTicks.push({ y: round(plotBottom - (v / yMax) * PLOT_H), label: v.toLocaleString('en-US'), x: LEFT - 6 })
  }

  const xTicks: ChartModel['xTicks'] = axisTicks(start, end).map(({ ms, label }) => {
    const px = x(ms)
    return {
      x: round(px),
      label,
      y: plotBottom + AXIS_GAP,
      anchor: px < LEFT + 30 ? 'start' : px > W - RIGHT - 30 ? 'end' : 'middle',
    }
  })

  const rowY = (level: Level) => ROW_TOP + LEVELS.indexOf(level) * ROW_H + ROW_H / 2
  const findingRows = LEVELS.map((level) => ({
    level,
    label: levelLabel(level),
    y: rowY(level),
    labelX: LEFT - 6,
  }))
  const perCell = new Map<string, { b: number; level: Level; count: number }>()
  for (const f of input.findings) {
    if (!(f.ms >= start && f.ms < end)) continue
    const b = buckets.indexOf(f.ms)
    const key = `${b}|${f.level}`
    const cell = perCell.get(key)
    if (cell) cell.count++
    else perCell.set(key, { b, level: f.level, count: 1 })
  }
  const findingMarkers: ChartModel['findingMarkers'] = [...perCell.values()]
    .sort((a, b) => a.b - b.b || LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level))
    .map(({ b, level, count }) => {
      const bStart = buckets.edge(b)
      return {
        cx: round((x(bStart) + x(buckets.edge(b + 1))) / 2),
        cy: rowY(level),
        r: round(Math.min(5.5, 2.5 + Math.log2(count))),
        color: LEVEL_COLORS[level],
        level,
        title: `${count} ${level} finding${count === 1 ? '' : 's'}, ${minuteText(bStart)} UTC`,
      }
    })

  // Actions taken within a few pixels of each other share one marker, labelled with a range.
  const actionMarkers: ChartActionMarker[] = []
  const sorted = [...actions].sort((a, b) => a.ms - b.ms || a.n - b.n)
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
    description: `Timeline chart: ${times.length} events from ${minuteText(first)} to ${minuteText(last)} UTC in ${bucketName(buckets)} bars by category, ${input.findings.length} findings by level, ${actions.length} containment actions.`,
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
    bucketLabel: bucketName(buckets),
    axisLabelY: PLOT_TOP + PLOT_H / 2,
  }
}
