/**
 * What one timeline event (DESIGN §5) says a role's credentials did with other credentials:
 * secrets read and access keys created, and the long-term keys used from where its stolen
 * credentials were used. Shared by `fir creds secrets`, the playbook's
 * timeline step and the report, so that all three count the same events.
 */

import { arg, type CommandWord, flag } from '../common/suggest.js'
import { asRecord } from '../report/format.js'
import { CORRELATION_RULES } from '../timeline/correlate.js'

/** The part of a normalised event these read. */
export interface RoleUseEvent {
  name?: unknown
  region?: unknown
  account?: unknown
  error?: unknown
  actor?: { arn?: unknown; accessKeyId?: unknown } | null
  sourceIp?: unknown
  requestParameters?: unknown
  responseElements?: unknown
  findings?: unknown
}

/** The role and session of an assumed-role ARN, or null for any other caller. */
export function roleOfActor(arn: unknown): { role: string; session: string } | null {
  const m = (typeof arn === 'string' ? arn : '').match(
    /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([^/]+)\/(.+)$/,
  )
  return m ? { role: m[1]!, session: m[2]! } : null
}

/** `arn:…:secret:prod/db-AbCdEf` → `prod/db`; a name stays as it is. */
export function secretName(id: string): string {
  const m = id.match(/^arn:aws[a-z-]*:secretsmanager:[^:]*:\d{12}:secret:(.+)$/)
  if (!m) return id
  return m[1]!.replace(/-[A-Za-z0-9]{6}$/, '')
}

/** A secret a call named: its name, and the region and account it is in (null when unknown). */
export interface SecretRef {
  name: string
  region: string | null
  account: string | null
}

/**
 * The secret an id names: an ARN carries its region and account; a name is a secret of the region
 * and account the call was made in (the event's `region` and `account`: awsRegion,
 * recipientAccountId). Same-named secrets of two regions or accounts are two secrets.
 */
export function secretRef(id: string, call: { region?: unknown; account?: unknown } = {}): SecretRef {
  const m = id.match(/^arn:aws[a-z-]*:secretsmanager:([^:]*):(\d{12}):secret:/)
  if (m) return { name: secretName(id), region: m[1] || null, account: m[2]! }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null)
  return { name: id, region: str(call.region), account: str(call.account) }
}

/** Whether two refs may be the same secret: the same name, and region and account equal where both are known. */
export function sameSecret(a: SecretRef, b: SecretRef): boolean {
  const agree = (x: string | null, y: string | null) => x === null || y === null || x === y
  return a.name === b.name && agree(a.region, b.region) && agree(a.account, b.account)
}

/**
 * How the report names a secret: `prod/db (eu-west-1, account 123456789012)`, the parts known.
 * Secret names hold no spaces or parentheses, so {@link rotateSecretWords} reads it back.
 */
export function secretLabel(r: SecretRef): string {
  const where = [r.region, r.account ? `account ${r.account}` : null].filter((x) => x !== null)
  return where.length ? `${r.name} (${where.join(', ')})` : r.name
}

/** The arguments of `fir creds rotate-secret` for a secret named by {@link secretLabel}. */
export function rotateSecretWords(label: string): CommandWord[] {
  const m = label.match(/^(\S+) \((?:([^,)]+?)(?:, )?)?(?:account (\d{12}))?\)$/)
  if (!m) return [arg(label)]
  const [, name, place] = m
  const onlyAccount = place?.match(/^account (\d{12})$/)?.[1]
  const account = m[3] ?? onlyAccount
  const region = place && !onlyAccount ? place : undefined
  // An account named in the label may be another than the caller's: the (partial) ARN names the
  // secret there, never a same-named one of the caller's account.
  if (account && region)
    return [arg(`arn:aws:secretsmanager:${region}:${account}:secret:${name}`), flag('--region', region)]
  // Quoted as a value (the name is CloudTrail's): pasted unfilled, the command fails on it.
  if (account) return [`<the ARN of ${name} in account ${account}>`]
  return region ? [arg(name!), flag('--region', region)] : [arg(name!)]
}

/**
 * The secret ids (as the call named them) a GetSecretValue or BatchGetSecretValue asked for;
 * null for any other event. A batch read by filter names none (an empty list).
 */
export function secretIdsAsked(e: RoleUseEvent): string[] | null {
  const params = asRecord(e.requestParameters)
  if (e.name === 'GetSecretValue') return typeof params.secretId === 'string' ? [params.secretId] : []
  if (e.name !== 'BatchGetSecretValue') return null
  const list = params.secretIdList
  return (Array.isArray(list) ? list : [list]).filter((x): x is string => typeof x === 'string')
}

/** The key a successful CreateAccessKey made (`AKIA…`, and for which user), or null. */
export function accessKeyCreated(e: RoleUseEvent): { accessKeyId: string; userName: string | null } | null {
  if (e.name !== 'CreateAccessKey' || e.error) return null
  const key = asRecord(asRecord(e.responseElements).accessKey)
  const id = key.accessKeyId
  if (typeof id !== 'string' || !/^AKIA[A-Z0-9]{16}$/.test(id)) return null
  const user = key.userName ?? asRecord(e.requestParameters).userName
  return { accessKeyId: id, userName: typeof user === 'string' ? user : null }
}

/** The rule id of the timeline's check that keyUsedFromStolenAddress reads. */
export const STOLEN_ADDRESS_RULE = CORRELATION_RULES.callFromStolenCredentialsAddress.rule

/**
 * The long-term key (`AKIA…`, and its user) that made a call the timeline flagged as made from an
 * address where the execution role's credentials were used outside Lambda, or null. Whoever used
 * the stolen credentials holds this key too: revoking the role's sessions leaves it working.
 */
export function keyUsedFromStolenAddress(
  e: RoleUseEvent,
): { accessKeyId: string; userName: string | null; sourceIp: string } | null {
  const findings = Array.isArray(e.findings) ? e.findings : []
  if (!findings.some((f) => asRecord(f).rule === STOLEN_ADDRESS_RULE)) return null
  return longTermKeyOf(e)
}

/**
 * The long-term access key (AKIA…) that signed an event, with its IAM user's name (when the caller
 * ARN is a real user's) and the source address; null for temporary credentials and others.
 */
export function longTermKeyOf(
  e: RoleUseEvent,
): { accessKeyId: string; userName: string | null; sourceIp: string } | null {
  const id = e.actor?.accessKeyId
  if (typeof id !== 'string' || !/^AKIA[A-Z0-9]{16}$/.test(id)) return null
  const arn = typeof e.actor?.arn === 'string' ? e.actor.arn : ''
  // IAM's own character set for user names: anything else is not a real user (and would reach a
  // command line the report suggests).
  const user =
    arn.match(/^arn:aws[a-z-]*:iam::\d{12}:user\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/)?.[1] ?? null
  return { accessKeyId: id, userName: user, sourceIp: typeof e.sourceIp === 'string' ? e.sourceIp : '' }
}
