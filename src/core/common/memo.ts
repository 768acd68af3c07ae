/**
 * A pure function of a string, its answers remembered: for what a run works out again on most
 * records (the role of the same few session ARNs, the base of the same few event names). At most
 * `limit` answers are kept — the keys come from records anyone may have written — and past that
 * a new key is worked out each time.
 */
export function memoized<T>(fn: (key: string) => T, limit: number): (key: string) => T {
  const memo = new Map<string, T>()
  return (key) => {
    if (memo.has(key)) return memo.get(key) as T
    const value = fn(key)
    if (memo.size < limit) memo.set(key, value)
    return value
  }
}
