/**
 * Field access on a raw CloudTrail record by a Sigma field name (`requestParameters.userName`).
 *
 * - A dotted name walks nested objects; a literal key that itself contains dots
 *   (`"a.b": …`) is found too, for records that were flattened by some exporter.
 * - An array met on the way is walked element by element and the leaf values are gathered into
 *   one array, so `requestParameters.eventSelectors.readWriteType` sees every selector.
 * - `undefined` means absent. Only own properties are read (no prototype keys such as `constructor`).
 */
export type FieldResolver = (record: unknown) => unknown

export function compileFieldPath(name: string): FieldResolver {
  const parts = name.split('.')
  if (parts.length === 1) {
    const key = name
    return (record) => {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined
      return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined
    }
  }
  return (record) => resolveFrom(record, parts, 0)
}

function resolveFrom(node: unknown, parts: readonly string[], start: number): unknown {
  let cur = node
  for (let i = start; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object') return undefined
    if (Array.isArray(cur)) return resolveEach(cur, parts, i)
    const obj = cur as Record<string, unknown>
    const key = parts[i]!
    if (Object.hasOwn(obj, key)) {
      cur = obj[key]
      continue
    }
    // A flattened key such as "sessionContext.sessionIssuer" (rare; only looked up on a miss).
    for (let j = parts.length; j > i + 1; j--) {
      const joined = parts.slice(i, j).join('.')
      if (Object.hasOwn(obj, joined))
        return j === parts.length ? obj[joined] : resolveFrom(obj[joined], parts, j)
    }
    return undefined
  }
  return cur
}

function resolveEach(items: unknown[], parts: readonly string[], i: number): unknown {
  const out: unknown[] = []
  for (const item of items) {
    const v = resolveFrom(item, parts, i)
    if (v === undefined) continue
    if (Array.isArray(v)) for (const e of v) out.push(e)
    else out.push(v)
  }
  return out.length > 0 ? out : undefined
}

/** Calls `visit` for every scalar leaf of a record (keyword search). Stops when it returns true. */
export function someLeaf(
  node: unknown,
  visit: (leaf: string | number | boolean) => boolean,
  depth = 0,
): boolean {
  if (depth > 64 || node === null || node === undefined) return false
  if (typeof node === 'object') {
    if (Array.isArray(node)) return node.some((n) => someLeaf(n, visit, depth + 1))
    for (const v of Object.values(node as Record<string, unknown>))
      if (someLeaf(v, visit, depth + 1)) return true
    return false
  }
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') return visit(node)
  return false
}
