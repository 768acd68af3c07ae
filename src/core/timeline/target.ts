import { UsageError } from '../../errors.js'
import { type Manifest, readSealedJson, readSealedManifest, sealedSets } from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { isRoleName } from '../common/iam-name.js'
import { functionRoles } from '../snapshot/function-roles.js'
import { attachedPolicyArns } from '../snapshot/stored.js'
import { roleNameOfArn, type TimelineTarget } from './related.js'

const FULL_ARN =
  /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,140})(?::[A-Za-z0-9$_-]+)?$/
const PARTIAL_ARN = /^(\d{12}):function:([A-Za-z0-9_-]{1,140})(?::[A-Za-z0-9$_-]+)?$/
const NAME = /^([A-Za-z0-9_-]{1,140})(?::[A-Za-z0-9$_-]+)?$/

/** A function reference from the command line: name, partial ARN or full ARN (a qualifier is dropped). */
export function parseFunctionRef(ref: string): { name: string; region?: string; account?: string } {
  let m = FULL_ARN.exec(ref)
  if (m) return { name: m[3]!, region: m[1]!, account: m[2]! }
  m = PARTIAL_ARN.exec(ref)
  if (m) return { name: m[2]!, account: m[1]! }
  m = NAME.exec(ref)
  if (m) return { name: m[1]! }
  throw new UsageError(`unable to use function ${JSON.stringify(ref)}: it is not a function name or ARN`, {
    actions: ['pass a name (my-function), a partial ARN (123456789012:function:my-function) or a full ARN'],
  })
}

interface SummaryFunction {
  name?: string
  arn?: string
  region?: string
  account?: string
  qualifier?: string
  role?: string
  roleName?: string
  versions?: unknown
  aliases?: unknown
  riskyPermissions?: { policy?: string }[]
}

/** The account of a snapshot's function: its own field, else its ARN's. */
function accountOf(fn: SummaryFunction): string | undefined {
  return fn.account ?? (fn.arn ? fn.arn.split(':')[4] : undefined)
}

/** The case's snapshots of one function name, newest seal first (see snapshotsOfName). */
interface SnapshotOfName {
  set: string
  dir: string
  manifest: Manifest
  fn: SummaryFunction
}

/**
 * Every function of that name in the case's snapshots (evidence/<set>/summary.json), of the sets
 * the journal seals, newest seal first, each with the manifest the journal sealed; of `account`
 * only when one is named (the same name in another account is another function). A sealed set
 * gone or changed is refused where it comes (exit 3).
 */
async function* snapshotsOfName(
  caseDir: string,
  journal: readonly JournalEntry[],
  name: string,
  account?: string,
): AsyncGenerator<SnapshotOfName> {
  for (const set of sealedSets(journal).reverse()) {
    // Refused when gone or changed since it was sealed (exit 3).
    const { manifest, dir } = await readSealedManifest(caseDir, set)
    const summary = (await readSealedJson(caseDir, set.name, manifest, 'summary.json', dir)) as
      | { functions?: SummaryFunction[] }
      | undefined
    for (const fn of Array.isArray(summary?.functions) ? summary.functions : []) {
      if (fn.name === name && (!account || !accountOf(fn) || accountOf(fn) === account))
        yield { set: set.name, dir, manifest, fn }
    }
  }
}

/** The region of a snapshot's function: its own field, else its ARN's. */
function regionOf(fn: SummaryFunction): string | undefined {
  return fn.region || (fn.arn ? fn.arn.split(':')[3] : undefined) || undefined
}

/** A snapshot's function is of `region` (one whose region is unknown is of any). */
function ofRegion(fn: SummaryFunction, region: string | undefined): boolean {
  return !region || !regionOf(fn) || regionOf(fn) === region
}

const MANAGED_POLICY_ARN = /^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\//
const CUSTOMER_POLICY_ARN = /^arn:aws[a-z-]*:iam::\d{12}:policy\//

/** A --role value: a role name or a role ARN. */
export function parseRoleRef(value: string): { name: string; arn?: string } {
  if (value.startsWith('arn:')) {
    const name = roleNameOfArn(value)
    if (!name) {
      throw new UsageError(`unable to use --role ${JSON.stringify(value)}: it is not an IAM role ARN`, {
        actions: ['pass --role my-role or --role arn:aws:iam::123456789012:role/my-role'],
      })
    }
    return { name, arn: value }
  }
  if (!isRoleName(value)) {
    throw new UsageError(`unable to use --role ${JSON.stringify(value)}: it is not an IAM role name`, {
      actions: ['pass --role my-role or --role arn:aws:iam::123456789012:role/my-role'],
    })
  }
  return { name: value }
}

export interface ResolvedTarget {
  target: TimelineTarget
  /** The account the reference itself named (a full or partial ARN), not one the snapshot gave. */
  namedAccount?: string
  /** The region the reference (a full ARN) or --region named, not one the snapshot gave. */
  namedRegion?: string
  /** Where the role came from. */
  roleSource: 'snapshot' | 'flag' | 'snapshot+flag' | 'none'
  snapshotSet?: string
  /**
   * The regions of the case's snapshots of a function of this name (of the named account), sorted:
   * more than one, and no region named, is a choice the run took and says so.
   */
  snapshotRegions: string[]
}

/**
 * The case's snapshots of the same function as `snap` (`all`, newest first): the same ARN, or for
 * a summary without one, the same region and account.
 */
function ofSameFunction(all: readonly SnapshotOfName[], snap: SnapshotOfName): SnapshotOfName[] {
  const { fn } = snap
  return all.filter((s) =>
    s.fn.arn && fn.arn
      ? s.fn.arn === fn.arn
      : ofRegion(s.fn, regionOf(fn)) &&
        (!accountOf(s.fn) || !accountOf(fn) || accountOf(s.fn) === accountOf(fn)),
  )
}

/**
 * The function the timeline is about: from its reference, the case's snapshots of it (roles, ARN,
 * region, account, managed policies) and --role values. The region is the full ARN's, else
 * `region` (--region as given: a name is the function in --region, as contain and restore take
 * it), else the snapshot's, else unknown: relatedness limits the function's names to its region,
 * so a region fir merely defaults to (AWS_REGION, the profile's) is no stand-in for it. A region
 * named picks the snapshots of that region; without one, the latest snapshot of the name is taken,
 * whichever its region (snapshotRegions lists them all). The roles are every role the case's
 * snapshots of that function recorded it running with (functionRoles: `$LATEST`'s in each, newest
 * first, then each published version's), each with why: a role swapped since, or one a version
 * runs with, is the function's all the same, and so are its sessions. A sealed set gone or changed
 * is refused (exit 3): the roles it recorded may be the ones the attacker used.
 */
export async function resolveTarget(
  caseDir: string,
  journal: readonly JournalEntry[],
  ref: string,
  roles: string[],
  options: { region?: string } = {},
): Promise<ResolvedTarget> {
  const parsed = parseFunctionRef(ref)
  const namedRegion = parsed.region ?? options.region
  let snap: SnapshotOfName | undefined
  const all: SnapshotOfName[] = []
  const regions = new Set<string>()
  for await (const s of snapshotsOfName(caseDir, journal, parsed.name, parsed.account)) {
    all.push(s)
    const r = regionOf(s.fn)
    if (r) regions.add(r)
    if (!snap && ofRegion(s.fn, namedRegion)) snap = s
  }
  const fn = snap?.fn
  const region = namedRegion ?? (fn ? regionOf(fn) : undefined)
  const account = parsed.account ?? (fn ? accountOf(fn) : undefined)
  const target: TimelineTarget = {
    functionName: parsed.name,
    functionArn:
      fn?.arn ??
      (account && region ? `arn:aws:lambda:${region}:${account}:function:${parsed.name}` : undefined),
    region,
    account,
    roles: [],
    policyArns: [],
  }
  const sets = snap ? ofSameFunction(all, snap) : []
  const recorded = await functionRoles(
    caseDir,
    sets.map((s) => ({ set: s.set, dir: s.dir, manifest: s.manifest, summary: s.fn })),
  )
  for (const r of recorded) target.roles.push({ name: r.name, arn: r.arn, why: r.why })
  // A summary that names its role without an ARN (nothing else to read it from).
  if (recorded.length === 0 && fn?.roleName)
    target.roles.push({ name: fn.roleName, ...(fn.role ? { arn: fn.role } : {}), why: 'snapshot' })
  const fromSnapshot = target.roles.length > 0
  // Every customer-managed policy attached to each role (as the newest set that recorded the role
  // stored them), not only those that grant something risky: a new default version of a harmless
  // one (CreatePolicyVersion, SetDefaultPolicyVersion) can grant anything. AWS-managed ones get no
  // versions from customers, and tracking them would keep every attachment of, say,
  // AWSLambdaBasicExecutionRole to any role in the account.
  const attached: string[] = []
  for (const role of target.roles) {
    const set = sets.find((s) => s.set === recorded.find((r) => r.name === role.name)?.sets[0]) ?? snap
    if (set) attached.push(...(await attachedPolicyArns(caseDir, set.set, set.manifest, role, set.dir)))
  }
  const risky = (fn?.riskyPermissions ?? []).map((p) => p.policy)
  for (const p of [...attached.filter((a) => CUSTOMER_POLICY_ARN.test(a)), ...risky]) {
    if (typeof p === 'string' && MANAGED_POLICY_ARN.test(p) && !target.policyArns!.includes(p)) {
      target.policyArns!.push(p)
    }
  }
  let fromFlag = false
  for (const value of roles) {
    const role = parseRoleRef(value)
    const arn = role.arn ?? (account ? `arn:aws:iam::${account}:role/${role.name}` : undefined)
    if (!target.roles.some((r) => r.name.toLowerCase() === role.name.toLowerCase())) {
      target.roles.push({ name: role.name, ...(arn ? { arn } : {}), why: '--role' })
    }
    fromFlag = true
  }
  const roleSource =
    fromSnapshot && fromFlag ? 'snapshot+flag' : fromSnapshot ? 'snapshot' : fromFlag ? 'flag' : 'none'
  return {
    target,
    roleSource,
    ...(parsed.account ? { namedAccount: parsed.account } : {}),
    ...(namedRegion ? { namedRegion } : {}),
    ...(snap ? { snapshotSet: snap.set } : {}),
    snapshotRegions: [...regions].sort(),
  }
}

/**
 * The request ids of fir's own AWS calls in this case: every journal entry's requestIds, and the
 * request id of every file in the sealed evidence manifests. A manifest gone or changed since its
 * seal is refused (exit 3), as by every reader of the case's snapshots: read as it is now, its ids
 * could keep another's calls from the rules as fir's own; passed over, fir's calls it lists would
 * be taken for another's.
 */
export async function firRequestIds(caseDir: string, entries: readonly JournalEntry[]): Promise<Set<string>> {
  const ids = new Set<string>()
  for (const e of entries) for (const id of e.requestIds ?? []) if (typeof id === 'string' && id) ids.add(id)
  for (const set of sealedSets(entries)) {
    const { manifest } = await readSealedManifest(caseDir, set)
    for (const f of Array.isArray(manifest.files) ? manifest.files : [])
      if (f?.source?.requestId) ids.add(f.source.requestId)
  }
  return ids
}
