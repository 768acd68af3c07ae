import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { identityPolicyDocuments } from '../../aws/iam.js'
import { listSecretNames } from '../../aws/secrets.js'
import { AccessDeniedError, FirError } from '../../errors.js'
import { readSealedJson, readSealedManifest, sealedSets } from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { exists } from '../common/fs-safe.js'
import { arg, awsCliCommand, firCommand, flag } from '../common/suggest.js'
import { wildcardMatches } from '../common/text.js'
import type { FirContext } from '../context.js'
import { callerIdentity, noSuchIamEntity } from '../identity.js'
import { actionMatches, asList, type PolicyStatement, statementsOf } from '../permissions.js'
import { caseFunctionRoles } from '../snapshot/function-roles.js'
import { attachedPolicyArns } from '../snapshot/stored.js'
import { roleNameGiven } from './revoke-sessions.js'
import {
  roleOfActor,
  type SecretRef,
  sameSecret,
  secretIdsAsked,
  secretLabel,
  secretName,
  secretRef,
} from './role-use.js'

/** One secret read (or tried) with a role's credentials, from the timeline. */
export interface SecretUse {
  /** The secret name (an ARN's random suffix removed). */
  secret: string
  /**
   * The region and account the secret is in (an ARN's, else the call's: awsRegion,
   * recipientAccountId); null when the timeline does not say. Same-named secrets of two regions
   * or accounts are two uses.
   */
  region: string | null
  account: string | null
  /** `name (region[, account …])`: the account only when it is not the caller's. */
  label: string
  /**
   * What names this secret to Secrets Manager in a command: the ARN a call used, else the name —
   * as a (partial) ARN when the secret is in another account than the caller's.
   */
  id: string
  /** The ids as the calls named them (name or ARN). */
  ids: string[]
  calls: number
  first: string
  last: string
  sessions: string[]
  sourceIps: string[]
  eventIds: string[]
  /** For attempts: the error codes AWS returned. */
  errors: string[]
  /**
   * When this case rotated the secret (UTC: the journal's first `credentials.rotate-secret` for it
   * that was applied or already applied), null when it has not. A secret read again after that
   * (`last` later) is to rotate again: the value read may be the new one.
   */
  rotatedAt: string | null
}

export interface RoleSecrets {
  role: string
  functions: string[]
  /**
   * Read with the role's credentials (GetSecretValue / BatchGetSecretValue without error): rotate
   * these, unless this case rotated one since it was last read (`rotatedAt`).
   */
  read: SecretUse[]
  /** Tried and refused (AccessDenied and the like): the attacker looked for them. */
  attempted: SecretUse[]
  /** BatchGetSecretValue calls by filter: CloudTrail does not name the secrets they returned. */
  unnamedBatchReads: number
  /** What the role's identity policies allow it to read, apart from what was read. */
  exposure: {
    source: 'snapshot' | 'live' | 'none'
    everySecret: boolean
    patterns: string[]
    /** Secrets matching the patterns (listed with ListSecrets when a pattern has wildcards). */
    secrets: string[]
  }
  /**
   * Commands to rotate the secrets read that this case has not rotated since: `fir creds
   * rotate-secret`, or for one read again after this case rotated it (fir rotates a secret once a
   * case) `aws secretsmanager rotate-secret`.
   */
  proposals: string[]
}

export interface SecretsReport {
  timeline: boolean
  roles: RoleSecrets[]
  notes: string[]
}

interface TimelineLine {
  id?: string
  time?: string
  name?: string
  region?: string | null
  account?: string | null
  actor?: { arn?: string | null; sessionName?: string | null }
  sourceIp?: string | null
  error?: { code?: string } | null
  requestParameters?: Record<string, unknown> | null
}

/** Role policy documents stored by a snapshot: GetRolePolicy responses and default versions of attached policies. */
async function snapshotPolicies(
  caseDir: string,
  journal: readonly JournalEntry[],
  role: string,
): Promise<string[] | null> {
  const docs: string[] = []
  let found = false
  for (const sealed of sealedSets(journal).reverse()) {
    const set = sealed.name
    // Refused when gone or changed since it was sealed (exit 3); not JSON as sealed: nothing to read.
    const { manifest, dir } = await readSealedManifest(caseDir, sealed)
    if (!Array.isArray(manifest.files)) continue
    const read = async (path: string) =>
      ((await readSealedJson(caseDir, set, manifest, path, dir)) ?? {}) as Record<string, unknown>
    const mentionsRole = (target: string | undefined) =>
      target === role || (target ?? '').endsWith(`/${role}`) || (target ?? '').endsWith(`:role/${role}`)
    for (const f of manifest.files) {
      if (f.source.call === 'iam:GetRole' && mentionsRole(f.source.target)) found = true
      if (f.source.call === 'iam:GetRolePolicy') {
        const body = await read(f.path)
        if (body.RoleName === role || mentionsRole(f.source.target)) {
          found = true
          if (typeof body.PolicyDocument === 'string') docs.push(body.PolicyDocument)
        }
      }
    }
    const attached = await attachedPolicyArns(caseDir, set, manifest, { name: role }, dir)
    for (const f of manifest.files) {
      if (f.source.call !== 'iam:GetPolicyVersion') continue
      const target = f.source.target ?? ''
      if (!attached.some((arn) => target.startsWith(arn))) continue
      const body = await read(f.path)
      const v = body.PolicyVersion as { Document?: string; IsDefaultVersion?: boolean } | undefined
      if (v?.Document && v.IsDefaultVersion !== false) docs.push(v.Document)
    }
    if (found) return docs
  }
  return null
}

function readablePatterns(docs: string[]): { patterns: string[]; everySecret: boolean } {
  const statements: PolicyStatement[] = docs.flatMap((d) => statementsOf(d))
  const grants = (s: PolicyStatement) =>
    s.NotAction !== undefined
      ? !asList(s.NotAction).some((p) => actionMatches(p, 'secretsmanager:GetSecretValue'))
      : asList(s.Action).some(
          (p) =>
            actionMatches(p, 'secretsmanager:GetSecretValue') ||
            actionMatches(p, 'secretsmanager:BatchGetSecretValue'),
        )
  const patterns = new Set<string>()
  for (const s of statements) {
    if (s.Effect !== 'Allow' || !grants(s)) continue
    if (s.NotResource !== undefined) patterns.add('*')
    for (const r of asList(s.Resource)) patterns.add(r)
  }
  const list = [...patterns].sort()
  return {
    patterns: list,
    everySecret: list.some((p) => p === '*' || /^arn:aws[a-z-]*:secretsmanager:\*?:\*?:secret:\*$/.test(p)),
  }
}

async function readTimeline(path: string, roles: Set<string>) {
  const byRole = new Map<
    string,
    { read: Map<string, SecretUse>; attempted: Map<string, SecretUse>; unnamed: number }
  >()
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })
  for await (const line of lines) {
    if (!line.includes('SecretValue')) continue
    let e: TimelineLine
    try {
      e = JSON.parse(line) as TimelineLine
    } catch {
      continue
    }
    const ids = secretIdsAsked(e)
    if (ids === null) continue
    const who = roleOfActor(e.actor?.arn)
    if (!who) continue
    const role = [...roles].find((r) => r.toLowerCase() === who.role.toLowerCase())
    if (!role) continue
    let bucket = byRole.get(role)
    if (!bucket) byRole.set(role, (bucket = { read: new Map(), attempted: new Map(), unnamed: 0 }))
    if (ids.length === 0) {
      if (e.name === 'BatchGetSecretValue' && !e.error) bucket.unnamed++
      continue
    }
    const target = e.error ? bucket.attempted : bucket.read
    for (const id of ids) {
      const ref = secretRef(id, e)
      const key = `${ref.account ?? ''}:${ref.region ?? ''}:${ref.name}`
      let use = target.get(key)
      if (!use) {
        use = {
          secret: ref.name,
          region: ref.region,
          account: ref.account,
          label: ref.name,
          id: ref.name,
          ids: [],
          calls: 0,
          first: e.time ?? '',
          last: e.time ?? '',
          sessions: [],
          sourceIps: [],
          eventIds: [],
          errors: [],
          rotatedAt: null,
        }
        target.set(key, use)
      }
      use.calls++
      if (!use.ids.includes(id)) use.ids.push(id)
      if (e.time && e.time < use.first) use.first = e.time
      if (e.time && e.time > use.last) use.last = e.time
      if (!use.sessions.includes(who.session)) use.sessions.push(who.session)
      if (e.sourceIp && !use.sourceIps.includes(e.sourceIp)) use.sourceIps.push(e.sourceIp)
      if (e.id && use.eventIds.length < 20) use.eventIds.push(e.id)
      if (e.error?.code && !use.errors.includes(e.error.code)) use.errors.push(e.error.code)
    }
  }
  return byRole
}

/**
 * The secrets this case rotated (the journal's target is the secret's ARN: its name, region and
 * account) and when: the first `credentials.rotate-secret` entry applied or already applied for each.
 */
function rotatedByCase(journal: readonly JournalEntry[]): { ref: SecretRef; at: string }[] {
  const rotated = new Map<string, { ref: SecretRef; at: string }>()
  for (const e of journal) {
    if (e.action !== 'credentials.rotate-secret') continue
    if (e.outcome !== 'applied' && e.outcome !== 'already-applied') continue
    const ref = secretRef(e.target)
    if (!rotated.has(secretLabel(ref))) rotated.set(secretLabel(ref), { ref, at: e.at })
  }
  return [...rotated.values()]
}

/** The read secret still to rotate: never rotated by this case, or read again since it was. */
export function toRotate(u: SecretUse): boolean {
  return u.rotatedAt === null || Date.parse(u.last) > Date.parse(u.rotatedAt)
}

/**
 * `fir creds secrets`: for each execution role of the case's functions — every role their sealed
 * snapshots recorded them running with (functionRoles: `$LATEST`'s in each snapshot, a role
 * swapped since included, and each published version's) — or the roles given, the secrets the
 * timeline shows were read with the role's credentials (GetSecretValue / BatchGetSecretValue by
 * its assumed-role sessions) — rotate these — apart from the secrets its identity policies let
 * it read (exposure), from the policies in the snapshot evidence (read live when the case has
 * none). Conditions and resource policies are not evaluated. Changes nothing.
 */
export async function secretsReadByRoles(
  ctx: FirContext,
  options: { roles?: string[] } = {},
): Promise<SecretsReport> {
  const notes: string[] = []
  // Every role a function of the case ran with, as its snapshots recorded it: `$LATEST`'s in each
  // snapshot (a role swapped since included) and each published version's.
  const functionsByRole = new Map<string, Set<string>>()
  for (const fn of await caseFunctionRoles(ctx.case.dir, ctx.case.journal.all())) {
    for (const { name } of fn.roles) {
      const known = [...functionsByRole.keys()].find((r) => r.toLowerCase() === name.toLowerCase()) ?? name
      if (!functionsByRole.has(known)) functionsByRole.set(known, new Set())
      functionsByRole.get(known)!.add(fn.name)
    }
  }
  const roles = new Set((options.roles ?? [...functionsByRole.keys()]).map(roleNameGiven))
  const timelinePath = join(ctx.case.dir, 'timeline', 'events.jsonl')
  const timeline = await exists(timelinePath)
  if (!timeline)
    notes.push(
      'the case has no timeline (run `fir timeline` first): fir cannot tell which secrets were read, only which could be',
    )
  const used: Awaited<ReturnType<typeof readTimeline>> = timeline
    ? await readTimeline(timelinePath, roles)
    : new Map()
  let allSecrets: { name: string; arn: string }[] | null | undefined
  const rotated = rotatedByCase(ctx.case.journal.all())
  // The account is named only for a secret outside the caller's (asked only when one names an account).
  const accounts = [...used.values()].flatMap((b) =>
    [...b.read.values(), ...b.attempted.values()].map((x) => x.account),
  )
  const caller = accounts.some((a) => a !== null)
    ? await callerIdentity(ctx.aws).then(
        (id) => id.account,
        () => null,
      )
    : null
  const labelled = (x: SecretUse): SecretUse => ({
    ...x,
    label: secretLabel({
      name: x.secret,
      region: x.region,
      account: x.account === caller ? null : x.account,
    }),
    id:
      x.ids.find((i) => i.startsWith('arn:')) ??
      (x.account !== null && caller !== null && x.account !== caller
        ? `arn:aws:secretsmanager:${x.region ?? ctx.aws.region}:${x.account}:secret:${x.secret}`
        : x.secret),
  })
  const byLabel = (a: SecretUse, b: SecretUse) => a.label.localeCompare(b.label)
  const out: RoleSecrets[] = []
  for (const role of [...roles].sort()) {
    const u = used.get(role)
    const read = [...(u?.read.values() ?? [])]
      .map((r) => ({
        ...labelled(r),
        rotatedAt:
          rotated.find((x) => sameSecret(x.ref, { name: r.secret, region: r.region, account: r.account }))
            ?.at ?? null,
      }))
      .sort(byLabel)
    const attempted = [...(u?.attempted.values() ?? [])].map(labelled).sort(byLabel)
    let docs = await snapshotPolicies(ctx.case.dir, ctx.case.journal.all(), role)
    let source: RoleSecrets['exposure']['source'] = docs ? 'snapshot' : 'none'
    if (!docs) {
      /** undefined: IAM could not be read (a gap); null: IAM has no such role. */
      let live: string[] | null | undefined
      try {
        live = await identityPolicyDocuments(ctx.aws, 'role', role)
      } catch (err) {
        ctx.gaps.add({
          what: `identity policies of role ${role} (no snapshot holds them)`,
          call: err instanceof AccessDeniedError ? err.iamActions.join(', ') : 'iam:GetRolePolicy',
          reason: err instanceof FirError ? err.message : String(err),
        })
      }
      if (live === null) {
        // A role named on the command line that IAM does not have, and that the timeline never
        // saw at work, is a mistyped name; one the timeline shows at work was deleted since.
        if (options.roles && !u) throw await noSuchIamEntity(ctx.aws, 'role', role)
        const account = await callerIdentity(ctx.aws).then(
          (id) => `account ${id.account}`,
          () => 'the account fir acts in',
        )
        notes.push(
          `role ${role} is no longer in ${account} (deleted since the calls in the timeline?): what else it could read is unknown`,
        )
      }
      if (live) source = 'live'
      docs = live ?? []
    }
    const { patterns, everySecret } = readablePatterns(docs)
    let secrets: string[] = []
    if (patterns.some((p) => /[*?]/.test(p))) {
      if (allSecrets === undefined) {
        try {
          allSecrets = await listSecretNames(ctx.aws)
        } catch (err) {
          allSecrets = null
          ctx.gaps.add({
            what: 'the secrets matching wildcard grants',
            call: 'secretsmanager:ListSecrets',
            reason: err instanceof FirError ? err.message : String(err),
          })
        }
      }
      secrets = (allSecrets ?? [])
        .filter((s) => patterns.some((p) => wildcardMatches(p, s.arn)))
        .map((s) => s.name)
    }
    for (const p of patterns) if (!/[*?]/.test(p)) secrets.push(secretName(p))
    const readNames = new Set(read.map((r) => r.secret))
    out.push({
      role,
      functions: [...(functionsByRole.get(role) ?? [])].sort(),
      read,
      attempted,
      unnamedBatchReads: u?.unnamed ?? 0,
      exposure: {
        source,
        everySecret,
        patterns,
        secrets: [...new Set(secrets)].filter((s) => !readNames.has(s)).sort(),
      },
      proposals: read.filter(toRotate).map((r) => {
        // A secret of another account than the caller's is named by its ARN (a partial one, for a
        // read by name); the command acts in the secret's region.
        const id = r.id
        const where = r.region ? { region: r.region } : {}
        // rotate-secret is already-applied for a secret this case rotated: AWS's own command then.
        return r.rotatedAt === null
          ? firCommand(['creds', 'rotate-secret', arg(id)], ctx.aws, { caseDir: ctx.case.dir, ...where })
          : awsCliCommand(['secretsmanager', 'rotate-secret', flag('--secret-id', id)], ctx.aws, where)
      }),
    })
  }
  if (roles.size === 0) notes.push('no role to look at: snapshot a function first, or pass --role')
  return { timeline, roles: out, notes }
}
