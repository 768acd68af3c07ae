import { type Column, columnsFor, type Dialect } from './sql.js'

/** A CloudTrail record with its original field names (as in a trail log file). */
export type CloudTrailRecord = Record<string, unknown>

/** One result row: column alias → text, or undefined for SQL NULL. */
export type Row = Record<string, string | undefined>

const LAKE_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.\d+)?$/

/** Lake prints timestamps as `2026-11-28 20:15:03.000`; trail records say `2026-11-28T20:15:03Z`. */
function toIsoTime(v: string): string {
  const m = LAKE_TIME.exec(v)
  return m ? `${m[1]}T${m[2]}Z` : v
}

function parseJsonText(v: string, dialect: Dialect): unknown {
  let out: unknown
  try {
    out = JSON.parse(v)
  } catch {
    return v
  }
  // Athena's table keeps the record's JSON text as it was: parse once, change nothing else.
  if (dialect === 'athena') return out
  // Lake keeps nested request values as JSON text inside its maps (map<string,string>); a string
  // that holds an object or array is unwrapped once. A value that was a JSON string in the record
  // (a policy document) is unwrapped too: Lake cannot tell them apart.
  if (typeof out === 'string' && /^\s*[[{]/.test(out)) {
    try {
      return JSON.parse(out)
    } catch {
      return out
    }
  }
  if (out && typeof out === 'object' && !Array.isArray(out)) {
    for (const [k, val] of Object.entries(out as Record<string, unknown>)) {
      if (typeof val === 'string' && /^\s*[[{]/.test(val)) {
        try {
          ;(out as Record<string, unknown>)[k] = JSON.parse(val)
        } catch {}
      }
    }
  }
  return out
}

function pick(o: Record<string, unknown>, ...names: string[]): unknown {
  for (const [k, v] of Object.entries(o)) if (names.includes(k.toLowerCase())) return v
  return undefined
}

/** `resources` as JSON: objects (Athena engine 3, Lake) or positional arrays [arn, accountid, type] (engine 2). */
function toResources(v: string, dialect: Dialect): unknown {
  const parsed = parseJsonText(v, dialect)
  if (!Array.isArray(parsed)) return parsed
  return parsed.map((r) => {
    if (Array.isArray(r)) {
      const [arn, accountId, type] = r as unknown[]
      return compact({ accountId, type, ARN: arn })
    }
    if (r && typeof r === 'object') {
      const o = r as Record<string, unknown>
      return compact({ accountId: pick(o, 'accountid'), type: pick(o, 'type'), ARN: pick(o, 'arn') })
    }
    return r
  })
}

function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null))
}

function convert(c: Column, v: string, dialect: Dialect): unknown {
  switch (c.kind) {
    case 'bool':
      return v === 'true' ? true : v === 'false' ? false : v
    case 'json':
      return parseJsonText(v, dialect)
    case 'resources':
      return toResources(v, dialect)
    case 'time':
      return toIsoTime(v)
    default:
      return v
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target
  for (const key of path.slice(0, -1)) {
    const next = node[key]
    if (!next || typeof next !== 'object') node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[path.at(-1)!] = value
}

/**
 * Rebuilds a CloudTrail record (original field names, nested structure) from one result row of
 * the query `buildQuery` made. NULL columns are left out (Sigma treats null as absent), and JSON
 * text columns become objects again.
 */
export function rowToRecord(row: Row, dialect: Dialect): CloudTrailRecord {
  const record: CloudTrailRecord = {}
  for (const c of columnsFor(dialect)) {
    const v = row[c.alias]
    if (v === undefined || v === null) continue
    // A JSON-typed column holding JSON null is absent too (e.g. "responseElements": null).
    if ((c.kind === 'json' || c.kind === 'resources') && v === 'null') continue
    setPath(record, c.path, convert(c, v, dialect))
  }
  return record
}
