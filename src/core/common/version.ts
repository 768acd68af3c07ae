/** `major.minor.patch`, with an optional pre-release (`-rc.1`) and build (`+abc`) part. */
const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/

/**
 * Orders two fir versions as semver does: by major, minor and patch, a pre-release before its
 * release (pre-releases of one version compared as text). Null when either is not a version.
 */
export function compareVersions(a: string, b: string): number | null {
  const x = VERSION.exec(a.trim())
  const y = VERSION.exec(b.trim())
  if (!x || !y) return null
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i])
    if (d !== 0) return Math.sign(d)
  }
  if (x[4] === y[4]) return 0
  if (x[4] === undefined) return 1
  if (y[4] === undefined) return -1
  return x[4] < y[4] ? -1 : 1
}

/** The newest of `versions`, or null (versions that do not parse are passed over). */
export function newestVersion(versions: Iterable<string>): string | null {
  let newest: string | null = null
  for (const v of versions) {
    if (compareVersions(v, v) === null) continue
    if (newest === null || (compareVersions(v, newest) ?? 0) > 0) newest = v
  }
  return newest
}

/** The newest of `versions` that is newer than `running`, or null (versions that do not parse are passed over). */
export function newestAbove(versions: Iterable<string>, running: string): string | null {
  const newest = newestVersion(versions)
  return newest !== null && (compareVersions(newest, running) ?? 0) > 0 ? newest : null
}
