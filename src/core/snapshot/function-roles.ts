import { type Manifest, readSealedJson, readSealedManifest, sealedSets } from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { firstFew } from '../common/text.js'
import { roleNameOf } from './role.js'
import { recordedQualifierRoles } from './stored.js'

// The execution roles of a function, as the case's sealed snapshots of it recorded them: one
// notion for the timeline's relatedness, `fir creds secrets`, contain and the playbooks' revocation.

/** The qualifier of the unqualified function. */
export const LATEST = '$LATEST'

/**
 * One sealed snapshot of a function: its set and the function's entry in the set's summary.json
 * (read back from JSON, so every field is checked before use).
 */
export interface SealedFunction {
  set: string
  /** Where the set is, when not evidence/<set> (readSealedManifest). */
  dir?: string
  manifest: Manifest
  summary: {
    arn?: unknown
    qualifier?: unknown
    role?: unknown
    versions?: unknown
    aliases?: unknown
  }
}

interface StoredVersion {
  version?: unknown
  role?: unknown
}

interface StoredAlias {
  name?: unknown
  version?: unknown
  routing?: unknown
}

const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : [])
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined

/** `$LATEST` first, then published versions by number. */
function byQualifier(a: string, b: string): number {
  if (a === b) return 0
  if (a === LATEST) return -1
  if (b === LATEST) return 1
  return Number(a) - Number(b) || a.localeCompare(b)
}

/**
 * The execution role (ARN) of each qualifier of the function as one snapshot recorded it:
 * `$LATEST` and every published version (an alias runs with its version's), `$LATEST` first.
 * From the summary — each version's `role`, and the summary's own `role` for the qualifier it
 * describes — when it names them all; else (a set written before versions carried their role, or
 * one taken with --qualifier) from the set's stored Lambda responses (recordedQualifierRoles), the
 * summary filling what those do not give.
 */
export async function qualifierRoles(caseDir: string, snap: SealedFunction): Promise<Map<string, string>> {
  const s = snap.summary
  const fromSummary = new Map<string, string>()
  const qualifier = text(s.qualifier) ?? LATEST
  const aliases = list<StoredAlias>(s.aliases)
  const focus = text(aliases.find((a) => a?.name === qualifier)?.version) ?? qualifier
  const focusRole = text(s.role)
  if (focusRole) fromSummary.set(focus, focusRole)
  const versions = list<StoredVersion>(s.versions).filter((v) => text(v?.version))
  for (const v of versions) {
    const role = text(v.role)
    if (role && !fromSummary.has(v.version as string)) fromSummary.set(v.version as string, role)
  }
  const whole = fromSummary.has(LATEST) && versions.every((v) => fromSummary.has(v.version as string))
  let out = fromSummary
  const arn = text(s.arn)
  if (!whole && arn) {
    out = await recordedQualifierRoles(caseDir, snap.set, snap.manifest, arn, snap.dir)
    for (const [q, role] of fromSummary) if (!out.has(q)) out.set(q, role)
  }
  return new Map([...out].sort(([a], [b]) => byQualifier(a, b)))
}

/**
 * The qualifier roles (qualifierRoles) each set of `snapshots` recorded, in their order: a set that
 * holds the function at several qualifiers is read once, by its first entry.
 */
export async function* rolesBySet(
  caseDir: string,
  snapshots: Iterable<SealedFunction> | AsyncIterable<SealedFunction>,
): AsyncGenerator<{ snap: SealedFunction; roles: Map<string, string> }> {
  const read = new Set<string>()
  for await (const snap of snapshots) {
    if (read.has(snap.set)) continue
    read.add(snap.set)
    yield { snap, roles: await qualifierRoles(caseDir, snap) }
  }
}

/** An execution role of a function, with where the case's snapshots recorded it. */
export interface FunctionRole {
  arn: string
  name: string
  /** The evidence sets that recorded `$LATEST` running with it, newest first. */
  latest: string[]
  /** The published versions recorded with it, by number (whichever snapshot recorded them). */
  versions: string[]
  /** The aliases whose version (or a version their routing sends traffic to) runs with it. */
  aliases: string[]
  /** Every evidence set that recorded it for some qualifier, newest first. */
  sets: string[]
  /**
   * Why it is the function's, for people: what the newest snapshot of the function recorded it
   * for (`snapshot: $LATEST`, `snapshot: versions 1, 2, alias live`), then what only earlier ones
   * did (`earlier snapshot: $LATEST`).
   */
  why: string
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

function versionsText(versions: string[]): string {
  return `version${versions.length > 1 ? 's' : ''} ${firstFew(versions)}`
}

/**
 * The function's execution roles from its sealed snapshots (`snapshots`, newest first, all of one
 * function): the role `$LATEST` ran with in each snapshot, newest first — a role swapped since is
 * still the function's: credentials stolen before the swap are its sessions — then the role of
 * each published version, and so of each alias (a version keeps the role it was published with,
 * and invoking it uses that role's credentials). IAM role names are unique in an account whatever
 * their case: one entry a role. A set that holds the function at several qualifiers is read once
 * (rolesBySet).
 */
export async function functionRoles(
  caseDir: string,
  snapshots: Iterable<SealedFunction> | AsyncIterable<SealedFunction>,
): Promise<FunctionRole[]> {
  interface Seen {
    role: FunctionRole
    /** Index of the first set that recorded it for `$LATEST` (newest first), else Infinity. */
    latestRank: number
    order: number
    earlierLatest: boolean
    earlierVersions: string[]
    earlierAliases: string[]
  }
  const seen: Seen[] = []
  let newest: string | undefined
  let rank = 0
  for await (const { snap, roles } of rolesBySet(caseDir, snapshots)) {
    newest ??= snap.set
    const isNewest = snap.set === newest
    const aliases = list<StoredAlias>(snap.summary.aliases)
    for (const [qualifier, arn] of roles) {
      const name = roleNameOf(arn)
      if (!name) continue
      let e = seen.find((x) => same(x.role.name, name))
      if (!e) {
        e = {
          role: { arn, name, latest: [], versions: [], aliases: [], sets: [], why: '' },
          latestRank: Number.POSITIVE_INFINITY,
          order: seen.length,
          earlierLatest: false,
          earlierVersions: [],
          earlierAliases: [],
        }
        seen.push(e)
      }
      const r = e.role
      if (!r.sets.includes(snap.set)) r.sets.push(snap.set)
      if (qualifier === LATEST) {
        if (!r.latest.includes(snap.set)) r.latest.push(snap.set)
        e.latestRank = Math.min(e.latestRank, rank)
        if (!isNewest) e.earlierLatest = true
        continue
      }
      if (!r.versions.includes(qualifier)) {
        r.versions.push(qualifier)
        if (!isNewest) e.earlierVersions.push(qualifier)
      }
      for (const a of aliases) {
        const alias = text(a?.name)
        const routed = a?.routing && typeof a.routing === 'object' ? Object.keys(a.routing) : []
        if (alias && (a.version === qualifier || routed.includes(qualifier)) && !r.aliases.includes(alias)) {
          r.aliases.push(alias)
          if (!isNewest) e.earlierAliases.push(alias)
        }
      }
    }
    rank++
  }
  const out = seen.sort((a, b) => a.latestRank - b.latestRank || a.order - b.order)
  for (const e of out) {
    const r = e.role
    r.versions.sort(byQualifier)
    const latestNow = newest !== undefined && r.latest.includes(newest)
    const parts = (latest: boolean, versions: string[], aliases: string[]) => [
      ...(latest ? [LATEST] : []),
      ...(versions.length ? [versionsText(versions)] : []),
      ...(aliases.length ? [`alias${aliases.length > 1 ? 'es' : ''} ${firstFew(aliases)}`] : []),
    ]
    const now = parts(
      latestNow,
      r.versions.filter((v) => !e.earlierVersions.includes(v)),
      r.aliases.filter((a) => !e.earlierAliases.includes(a)),
    )
    const before = parts(e.earlierLatest && !latestNow, e.earlierVersions.sort(byQualifier), e.earlierAliases)
    r.why = [
      ...(now.length ? [`snapshot: ${now.join(', ')}`] : []),
      ...(before.length ? [`earlier snapshot: ${before.join(', ')}`] : []),
    ].join('; ')
  }
  return out.map((e) => e.role)
}

/** A function of the case's snapshots with its execution roles (functionRoles). */
export interface CaseFunctionRoles {
  name: string
  /** Its unqualified ARN, when the snapshots recorded one. */
  arn?: string
  roles: FunctionRole[]
}

/** A function of the case's snapshots with its sealed snapshots, newest first. */
export interface SnapshottedFunction {
  name: string
  /** Its unqualified ARN, when the snapshots recorded one. */
  arn?: string
  /** Its region, when the snapshots recorded one. */
  region?: string
  snapshots: SealedFunction[]
}

/**
 * The functions the summaries of sealed sets (`sets`, newest first) hold, each with its snapshots
 * in the same order: one function an unqualified ARN, or, without an ARN, a name in a region and
 * account.
 */
export function snapshottedFunctions(
  sets: Iterable<{ name: string; dir?: string; manifest: Manifest; summary: unknown }>,
): SnapshottedFunction[] {
  const functions = new Map<string, SnapshottedFunction>()
  for (const set of sets) {
    const summary = set.summary as { functions?: unknown } | undefined | null
    for (const fn of list<Record<string, unknown> | null>(summary?.functions)) {
      const name = text(fn?.name)
      if (!fn || !name) continue
      const arn = text(fn.arn)
      const region = text(fn.region)
      // Without an ARN, the same name in the same region and account is the same function.
      const key = arn ?? `${name} ${region ?? ''} ${text(fn.account) ?? ''}`
      let f = functions.get(key)
      if (!f)
        functions.set(
          key,
          (f = { name, ...(arn ? { arn } : {}), ...(region ? { region } : {}), snapshots: [] }),
        )
      f.snapshots.push({
        set: set.name,
        ...(set.dir ? { dir: set.dir } : {}),
        manifest: set.manifest,
        summary: fn,
      })
    }
  }
  return [...functions.values()]
}

/**
 * Every function in the case's sealed snapshots, each with its execution roles (functionRoles over
 * its snapshots, newest first). A set gone, or a manifest or summary.json changed since it was
 * sealed, is refused (readSealedManifest, readSealedJson: exit 3).
 */
export async function caseFunctionRoles(
  caseDir: string,
  journal: readonly JournalEntry[],
): Promise<CaseFunctionRoles[]> {
  const sets: { name: string; dir: string; manifest: Manifest; summary: unknown }[] = []
  for (const set of sealedSets(journal).reverse()) {
    const { manifest, dir } = await readSealedManifest(caseDir, set)
    const summary = await readSealedJson(caseDir, set.name, manifest, 'summary.json', dir)
    sets.push({ name: set.name, dir, manifest, summary })
  }
  const out: CaseFunctionRoles[] = []
  for (const f of snapshottedFunctions(sets)) {
    out.push({
      name: f.name,
      ...(f.arn ? { arn: f.arn } : {}),
      roles: await functionRoles(caseDir, f.snapshots),
    })
  }
  return out
}
