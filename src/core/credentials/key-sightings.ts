/** One function in a snapshot's summary.json, as far as where its keys were found goes. */
export interface SightedFunction {
  name: string
  arn: string
  /** The qualifier whose facts the entry describes (older summaries do not say: $LATEST). */
  qualifier?: string
  accessKeyIds?: string[]
}

/** Where the snapshots of a case found an access key id: one function (at one qualifier). */
export interface KeySighting {
  function: string
  arn: string
  qualifier: string
  /** The newest sealed snapshot that found the key in this function's environment. */
  set: string
  /**
   * The function's newest snapshot when it did not find the key there (taken out of the
   * environment since, or the environment was not read), or null when it still holds it. Either
   * way the key was leaked: it works until it is rotated or deactivated.
   */
  notFoundBy: string | null
}

/**
 * Every access key id any sealed snapshot found in a function's environment (summaries oldest
 * first), with where: a later snapshot that no longer finds a key does not make it any less
 * leaked. Each key's sightings are one per function and qualifier, in the order first seen.
 */
export function keySightings(
  summaries: readonly { set: string; functions: readonly SightedFunction[] }[],
): Map<string, KeySighting[]> {
  const newest = new Map<string, { set: string; keys: Set<string> }>()
  const byKey = new Map<string, Map<string, KeySighting>>()
  for (const s of summaries) {
    for (const fn of s.functions) {
      const qualifier = fn.qualifier ?? '$LATEST'
      const where = `${fn.arn || fn.name}|${qualifier}`
      const keys = new Set(fn.accessKeyIds ?? [])
      const prior = newest.get(where)
      // One set may hold the same function twice (a name given twice): what either found counts.
      if (prior?.set === s.set) for (const k of prior.keys) keys.add(k)
      newest.set(where, { set: s.set, keys })
      for (const id of keys) {
        const sightings = byKey.get(id) ?? new Map<string, KeySighting>()
        sightings.set(where, {
          function: fn.name,
          arn: fn.arn,
          qualifier,
          set: s.set,
          notFoundBy: null,
        })
        byKey.set(id, sightings)
      }
    }
  }
  const out = new Map<string, KeySighting[]>()
  for (const [id, sightings] of byKey) {
    out.set(
      id,
      [...sightings].map(([where, seen]) => {
        const last = newest.get(where)!
        return last.keys.has(id) ? seen : { ...seen, notFoundBy: last.set }
      }),
    )
  }
  return out
}
