import { scrubAndCut } from '../common/redact.js'
import { MAX_DATE_MS } from '../timeline/window.js'
import { LEVELS, type Level } from './model.js'

/**
 * The date (`2026-03-14`, or `+275760-09-13` and `-000001-01-01` outside the years 0000–9999, as
 * ISO 8601 writes them) and time (`09:12:03`) of a time in UTC, clamped to what a Date holds: a
 * timeline can hold any time a Date can, and a computed bound (the end of a chart's last bar) can
 * lie past it, where toISOString throws.
 */
export function utcParts(ms: number): { date: string; time: string } {
  const iso = new Date(Math.min(MAX_DATE_MS, Math.max(-MAX_DATE_MS, ms))).toISOString()
  const t = iso.indexOf('T')
  return { date: iso.slice(0, t), time: iso.slice(t + 1, t + 9) }
}

/** `2026-03-14 09:12:03 UTC` from an ISO time; the input unchanged when it is not a time. */
export function utcDisplay(iso: string): string {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  const { date, time } = utcParts(ms)
  return `${date} ${time} UTC`
}

export function utcDisplayOrNull(iso: string | null | undefined): string | null {
  return iso ? utcDisplay(iso) : null
}

/** A normalised ISO time, or null when the value is not a time a Date holds. */
export function isoOrNull(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null
  const ms = typeof value === 'number' ? value : Date.parse(value)
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : null
}

/** `1.2 MB`, `830 B`. */
export function bytesDisplay(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = bytes
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

/** `2 min 05 s`, `45 s`, `1 h 02 min`. */
export function durationDisplay(seconds: number): string {
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
}

/** A known level, or `informational` for anything else (a level is attacker-reachable via files). */
export function normaliseLevel(value: unknown): Level {
  const v = typeof value === 'string' ? value.toLowerCase() : ''
  if (v === 'info') return 'informational'
  return (LEVELS as readonly string[]).includes(v) ? (v as Level) : 'informational'
}

export function levelRank(level: Level): number {
  return LEVELS.indexOf(level)
}

export function levelLabel(level: Level): string {
  return level.charAt(0).toUpperCase() + level.slice(1)
}

/** At most `max` characters, `…` last when cut; secrets are scrubbed before the cut (scrubAndCut). */
export function truncate(text: string, max: number): string {
  return scrubAndCut(text, max)
}

/**
 * Any value as short text: strings as they are; a top-level object as `key=value, …`; nested
 * objects as `{key=value}` and lists as `[a, b]`; capped at `max` characters.
 */
export function compactValue(value: unknown, max = 240): string {
  return truncate(compactInner(value, 0, max), max)
}

function compactInner(value: unknown, depth: number, budget: number): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) {
    if (value.length === 0) return depth === 0 ? 'none' : '[]'
    if (depth > 6) return `[${value.length} items]`
    const items = value.map((v) => compactInner(v, depth + 1, budget))
    return depth === 0 ? items.join(', ') : `[${items.join(', ')}]`
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.length === 0) return depth === 0 ? 'none' : '{}'
    if (depth > 6) return '{…}'
    const parts: string[] = []
    let used = 0
    for (const [k, v] of entries) {
      const part = `${k}=${compactInner(v, depth + 1, budget)}`
      parts.push(part)
      used += part.length + 2
      // Stop early: the result is cut at `budget` anyway.
      if (used > budget) break
    }
    return depth === 0 ? parts.join(', ') : `{${parts.join(', ')}}`
  }
  return String(value)
}

/**
 * Before → after of a journaled change, showing only the fields that differ (all of them when
 * nothing differs, e.g. already-applied, or when either side is not an object).
 */
export function changeText(prior: unknown, after: unknown, max = 300): { before: string; after: string } {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    !!v && typeof v === 'object' && !Array.isArray(v)
  if (isObj(prior) && isObj(after)) {
    const keys = [...new Set([...Object.keys(prior), ...Object.keys(after)])]
    const changed = keys.filter((k) => JSON.stringify(prior[k]) !== JSON.stringify(after[k]))
    if (changed.length > 0 && changed.length < keys.length) {
      const pick = (o: Record<string, unknown>) => Object.fromEntries(changed.map((k) => [k, o[k] ?? null]))
      return { before: compactValue(pick(prior), max), after: compactValue(pick(after), max) }
    }
  }
  return { before: compactValue(prior ?? null, max), after: compactValue(after ?? null, max) }
}

/** A short name for a list element that may be a string or an AWS object (Version, Name, Arn…). */
export function itemName(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    for (const key of [
      'name',
      'Name',
      'version',
      'Version',
      'arn',
      'Arn',
      'LayerVersionArn',
      'AliasArn',
      'FunctionArn',
      'url',
      'FunctionUrl',
      'kind',
      'type',
      'description',
    ]) {
      const v = o[key]
      if (typeof v === 'string' || typeof v === 'number') {
        const rest = Object.entries(o).filter(
          ([k, x]) => k !== key && (typeof x === 'string' || typeof x === 'number'),
        )
        return rest.length
          ? `${v} (${truncate(rest.map(([k, x]) => `${k}=${x}`).join(', '), 160)})`
          : String(v)
      }
    }
    return compactValue(value, 200)
  }
  return ''
}

export function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value
  // An array written through EvidenceSet.writeJson arrives as {"0": …, "1": …}.
  if (value && typeof value === 'object') {
    const keys = Object.keys(value)
    if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) return Object.values(value)
  }
  return []
}

export function asString(value: unknown): string | null {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return null
}

export function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

/** Rows of `{name, count, share}` from a count map, most first (name breaks ties), capped. */
export function countRows(
  counts: Map<string, number>,
  total: number,
  limit = Number.POSITIVE_INFINITY,
): { name: string; count: number; share: string }[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([name, count]) => ({
      name,
      count,
      share: total > 0 ? `${((count / total) * 100).toFixed(1)}%` : '0%',
    }))
}

/** `lambda` from `lambda.amazonaws.com`. */
export function serviceShortName(source: string): string {
  const s = source.replace(/\.amazonaws\.com$/i, '')
  return s || 'unknown'
}
