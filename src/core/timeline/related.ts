/**
 * Relatedness (DESIGN §5): which CloudTrail records concern one function. A record relates when
 * - the function's name or ARN is in its resources, request or response (qualified ARNs, partial
 *   ARNs and the function's log group /aws/lambda/<name> included);
 * - it was made with a session of the function's execution role
 *   (arn:aws:sts::<acct>:assumed-role/<role>/<session>), whoever holds it;
 * - it is an AssumeRole (or AssumeRoleWith…) of that role — by Lambda, or, suspiciously, by anyone else;
 * - it changes the role or its policies (IAM calls naming the role; calls on its managed policies,
 *   as TimelineTarget.policyArns lists them: every customer-managed one attached per the snapshot);
 * - it passes the role to a function, or changes the function's role (a role swap);
 * - fir made it (its request id is one fir journaled).
 *
 * IAM names are case-insensitive, so role names are compared without case; Lambda function names
 * are case-sensitive.
 *
 * When the target's account is known, a name alone does not make a record related in another
 * account: an organisation trail holds dev, stage and prod accounts that reuse the same function
 * and role names. A role session is the target's only when its ARN (or its issuer's) is of the
 * role's account; a bare function or role name counts only in a record of the target's account
 * (its recipientAccountId; a record without one is not ruled out); ARNs are compared whole.
 *
 * Lambda functions are regional: when the target's region is known (a full ARN, --region as given
 * or the case's snapshot, never a region the client only defaults to), a full function ARN names
 * it only when its region is the target's (or a policy wildcard covering it), in a record of any
 * region; a bare name, name:qualifier, partial ARN (ACCOUNT:function:name, which carries no
 * region) or log group /aws/lambda/<name> names it only in a record of the target's region (its
 * awsRegion; a record without one is not ruled out). Only the function's names are limited so: the role's sessions,
 * AssumeRole and changes relate from any region (IAM and STS are global, and stolen credentials
 * work in every region). The byte pre-filter ignores regions: it may pass more, never less.
 */

import { wildcardMatches } from '../common/text.js'

type Rec = Record<string, unknown>

export interface RoleRef {
  name: string
  /** Full role ARN (with path) when known. */
  arn?: string
  /**
   * Why it is the function's, for the run summary: what the case's snapshots recorded it for
   * (`snapshot: $LATEST`, `snapshot: versions 1, 2, alias live`, `earlier snapshot: $LATEST`),
   * `--role`, or a swap to it the run saw.
   */
  why?: string
}

/** What the timeline is about when a function is given. */
export interface TimelineTarget {
  functionName: string
  functionArn?: string
  /**
   * The function's region when known (a full ARN, --region as given, the case's snapshot): its
   * names count only there.
   */
  region?: string
  account?: string
  /**
   * The function's execution roles: every role the case's snapshots recorded it running with
   * (`$LATEST` in each snapshot, every published version), and --role values.
   */
  roles: RoleRef[]
  /** ARNs of managed policies attached to the roles (their new versions are role changes). */
  policyArns?: string[]
}

export type RelatedReason =
  | 'function'
  | 'role-credentials'
  | 'assume-role'
  | 'role-change'
  | 'role-swap'
  | 'role-passed'
  | 'fir'

const NAME_CHAR = /[A-Za-z0-9_-]/

function boundaryAfter(s: string, end: number): boolean {
  return end >= s.length || !NAME_CHAR.test(s[end]!)
}

const FUNCTION_MARKERS = [':function:', '/aws/lambda/']
const ARN_MARKER = [':function:']
/** The region of a full function ARN, from the text before its `:function:`. */
const ARN_REGION = /arn:aws[a-z-]*:lambda:([^:]*):[^:]*$/

/**
 * The region field of a full function ARN whose `:function:` is at `i`; undefined for a partial
 * ARN (ACCOUNT:function:name), which carries none.
 */
function arnRegionAt(s: string, i: number): string | undefined {
  const m = ARN_REGION.exec(s.slice(Math.max(0, i - 80), i))
  return m?.[1] ? m[1] : undefined
}

/** Whether an ARN's region field covers `region`: equal, or a policy wildcard (`*`, `eu-*`) that matches it. */
function regionCovers(field: string, region: string): boolean {
  if (field === region) return true
  return (field.includes('*') || field.includes('?')) && wildcardMatches(field, region)
}

/**
 * Does a string name the function (name, name:qualifier, ARN or partial ARN, log group)?
 * `inAccountOnly` (a record of another account than `account`): only an ARN or partial ARN that
 * carries `account` names it there; a bare name or log group is that other account's.
 * `region` (the function's, when known): a full ARN of another region names another function.
 * `inRegionOnly` (a record of another region than `region`): only a full ARN of `region` names it
 * there; a bare name, name:qualifier, partial ARN or log group is that other region's function.
 */
export function stringNamesFunction(
  s: string,
  name: string,
  account?: string,
  inAccountOnly = false,
  region?: string,
  inRegionOnly = false,
): boolean {
  if (inAccountOnly && !account) return false
  if (inRegionOnly && !region) return false
  const bare = !inAccountOnly && !inRegionOnly
  if (bare) {
    if (s === name) return true
    if (
      s.length > name.length &&
      s.startsWith(name) &&
      s[name.length] === ':' &&
      !s.includes(':', name.length + 1)
    )
      return true
  }
  for (const marker of bare ? FUNCTION_MARKERS : ARN_MARKER) {
    let from = 0
    for (;;) {
      const i = s.indexOf(marker + name, from)
      if (i === -1) break
      from = i + 1
      if (!boundaryAfter(s, i + marker.length + name.length)) continue
      if (marker === ':function:') {
        if (account) {
          // arn:aws:lambda:region:ACCOUNT:function:name or ACCOUNT:function:name
          const before = s.slice(Math.max(0, i - 12), i)
          if (inAccountOnly ? before !== account : /^\d{12}$/.test(before) && before !== account) continue
        }
        if (region) {
          // Lambda functions are regional: the same name in another region is another function.
          const field = arnRegionAt(s, i)
          if (field === undefined ? inRegionOnly : !regionCovers(field, region)) continue
        }
      }
      return true
    }
  }
  return false
}

function someString(node: unknown, test: (s: string) => boolean, depth = 0): boolean {
  if (depth > 40 || node === null || node === undefined) return false
  if (typeof node === 'string') return test(node)
  if (typeof node !== 'object') return false
  if (Array.isArray(node)) {
    for (const v of node) if (someString(v, test, depth + 1)) return true
    return false
  }
  for (const v of Object.values(node as Rec)) if (someString(v, test, depth + 1)) return true
  return false
}

/** A record's field names another account or region than the target's (both known, the field set). */
function isOther(field: unknown, known: string | undefined): boolean {
  return known !== undefined && typeof field === 'string' && field !== '' && field !== known
}

function obj(v: unknown): Rec | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined
}

/** The account field of an ARN (arn:aws:iam::ACCOUNT:role/x), when it is 12 digits. */
export function accountOfArn(arn: string): string | undefined {
  const a = arn.split(':', 5)[4]
  return a !== undefined && /^\d{12}$/.test(a) ? a : undefined
}

/** The role name at the end of a role ARN (paths allowed): arn:aws:iam::1:role/service-role/x → x. */
export function roleNameOfArn(arn: string): string | undefined {
  const m = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(arn)
  return m?.[1]
}

const SESSION_ARN = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/

/** The role of an assumed-role session ARN: arn:aws:sts::1:assumed-role/ROLE/session → ROLE. */
export function roleNameOfSession(arn: string): string | undefined {
  return SESSION_ARN.exec(arn)?.[2]
}

/** Compiled relatedness for one target: `reasons(record)` and the byte needles of the pre-filter. */
export class Relatedness {
  readonly functionName: string
  /** Lower-case role name → the role's account (its ARN's, else the target's), when known. */
  private readonly roleAccounts = new Map<string, string | undefined>()
  private readonly roleArns = new Set<string>()
  private readonly policyArns: Set<string>
  private readonly account?: string
  private readonly region?: string
  /**
   * stringNamesFunction for a record of the target's account and region, of another account, of
   * another region, and of both (indexed by otherAccount + 2 × otherRegion).
   */
  private readonly namesFunction: ((s: string) => boolean)[]

  constructor(
    readonly target: TimelineTarget,
    private readonly firRequestIds: ReadonlySet<string> = new Set(),
  ) {
    this.functionName = target.functionName
    this.account = target.account
    this.region = target.region || undefined
    for (const r of target.roles) this.addRole(r)
    this.policyArns = new Set(target.policyArns ?? [])
    this.namesFunction = [false, true, false, true].map(
      (otherAccount, i) => (s: string) =>
        stringNamesFunction(s, this.functionName, this.account, otherAccount, this.region, i >= 2),
    )
  }

  /**
   * A role learned during a run (the function swapped to it in the window): its sessions and
   * changes relate from now on, as the roles given at the start.
   */
  addRole(role: TimelineTarget['roles'][number]): void {
    const name = role.name.toLowerCase()
    if (!this.roleAccounts.has(name))
      this.roleAccounts.set(name, (role.arn ? accountOfArn(role.arn) : undefined) ?? this.account)
    if (role.arn) this.roleArns.add(role.arn.toLowerCase())
  }

  /**
   * Literal strings at least one of which every related record contains, but for a role name in
   * another letter case (see caseInsensitiveRoleNames) and names spelt with JSON escapes.
   */
  needles(): string[] {
    const out = new Set<string>([this.functionName])
    for (const r of this.target.roles) out.add(r.name)
    for (const p of this.policyArns) out.add(p)
    return [...out]
  }

  /**
   * Role names to look for without case, as relatedness compares them: in `roleName` values (IAM
   * calls may spell them any way) and in role and session ARNs.
   */
  caseInsensitiveRoleNames(): string[] {
    return [...this.roleAccounts.keys()]
  }

  private isRoleName(name: unknown): boolean {
    return typeof name === 'string' && this.roleAccounts.has(name.toLowerCase())
  }

  private isRoleArn(arn: unknown): boolean {
    if (typeof arn !== 'string') return false
    if (this.roleArns.has(arn.toLowerCase())) return true
    const name = roleNameOfArn(arn)
    if (!name) return false
    return this.isRoleOf(name, accountOfArn(arn))
  }

  /** Is `role` (a name) one of the target's, in `account` (when both are known)? */
  private isRoleOf(role: string, account: string | undefined): boolean {
    const key = role.toLowerCase()
    if (!this.roleAccounts.has(key)) return false
    const expected = this.roleAccounts.get(key)
    return expected === undefined || account === undefined || account === expected
  }

  /** Why a record relates to the target; empty when it does not. */
  reasons(record: Rec): RelatedReason[] {
    const out: RelatedReason[] = []
    const requestID = record.requestID
    if (typeof requestID === 'string' && this.firRequestIds.has(requestID)) out.push('fir')
    const request = obj(record.requestParameters)
    const name = typeof record.eventName === 'string' ? record.eventName : ''
    const source = record.eventSource
    // A record of another account: names there are that account's (see the module comment).
    const foreign = isOther(record.recipientAccountId, this.account)
    // A record of another region: a bare name there is that region's function (Lambda is
    // regional). Only the function's names are limited so: IAM and STS are global, and the role's
    // credentials work in any region.
    const otherRegion = isOther(record.awsRegion, this.region)
    const test = this.namesFunction[(foreign ? 1 : 0) + (otherRegion ? 2 : 0)]!
    const namesFn =
      someString(record.requestParameters, test) ||
      someString(record.responseElements, test) ||
      someString(record.resources, test)
    if (namesFn) {
      out.push('function')
      if (name.startsWith('UpdateFunctionConfiguration') && request && typeof request.role === 'string') {
        out.push('role-swap')
      }
    }
    const identity = obj(record.userIdentity)
    if (identity) {
      const arn = identity.arn
      const issuer = obj(obj(identity.sessionContext)?.sessionIssuer)
      const session = typeof arn === 'string' ? SESSION_ARN.exec(arn) : null
      if (
        (session !== null && this.isRoleOf(session[2]!, session[1])) ||
        (identity.type === 'AssumedRole' && this.isRoleArn(issuer?.arn))
      ) {
        out.push('role-credentials')
      }
    }
    if (request) {
      if (name.startsWith('AssumeRole') && this.isRoleArn(request.roleArn)) out.push('assume-role')
      if (source === 'iam.amazonaws.com') {
        // IAM calls are recorded in the account whose role or policy they change.
        if (!foreign && this.isRoleName(request.roleName)) out.push('role-change')
        else if (
          typeof request.policyArn === 'string' &&
          this.policyArns.has(request.policyArn) &&
          (!foreign || accountOfArn(request.policyArn) === this.account) &&
          /Policy/.test(name)
        )
          out.push('role-change')
      }
      if (this.isRoleArn(request.role) && !out.includes('role-swap')) {
        out.push(name.startsWith('UpdateFunctionConfiguration') && namesFn ? 'role-swap' : 'role-passed')
      }
    }
    return out
  }
}

// Bytes of CloudTrail JSON from most to least frequent (measured on trail files). Node's
// Buffer#indexOf looks for short patterns (under 7 bytes) with memchr on their first byte, so a
// search anchored on a rare byte runs several times faster than one on the whole name.
const BY_FREQUENCY = '"eat:snr1o2,3ci-dulm0p.AIvy5S4bw/6hfgT87{}D9RC_EPO LNHMVzkxKGZqWBUFYJX'

function rarity(byte: number): number {
  const i = BY_FREQUENCY.indexOf(String.fromCharCode(byte))
  return i === -1 ? BY_FREQUENCY.length : i
}

/**
 * A literal searched for through its rarest short piece, then checked whole. The piece is always
 * six bytes (or the whole literal): Buffer#indexOf checks all of it natively after each memchr hit,
 * while a shorter piece (say `Name` of `roleName`) also stops at every `eventName` and costs a
 * round trip through JavaScript each time.
 */
export class Needle {
  readonly full: Buffer
  private readonly anchor: Buffer
  private readonly offset: number

  constructor(text: string) {
    this.full = Buffer.from(text)
    const n = this.full.length
    if (n <= 6) {
      this.anchor = this.full
      this.offset = 0
      return
    }
    let best = 0
    for (let i = 1; i <= n - 6; i++) if (rarity(this.full[i]!) > rarity(this.full[best]!)) best = i
    this.offset = best
    this.anchor = this.full.subarray(best, best + 6)
  }

  /** The next position of the whole literal at or after `from`, or -1. */
  indexIn(buf: Buffer, from = 0): number {
    // A literal of six bytes or fewer is its own anchor: what indexOf finds is the whole of it.
    if (this.anchor === this.full) return buf.indexOf(this.full, from)
    const n = this.full.length
    let p = buf.indexOf(this.anchor, from + this.offset)
    while (p !== -1) {
      const start = p - this.offset
      if (start >= 0 && start + n <= buf.length && buf.compare(this.full, 0, n, start, start + n) === 0)
        return start
      p = buf.indexOf(this.anchor, p + 1)
    }
    return -1
  }
}

const ROLE_NAME_KEY = new Needle('roleName')
const BACKSLASH = new Needle('\\')

// IAM is a global service: its events are recorded in one region per partition.
const IAM_REGIONS = new Set(['us-east-1', 'us-gov-west-1', 'cn-north-1'])
const TRAIL_FILE_REGION = /_CloudTrail_([a-z]{2}(?:-[a-z]+)+-\d{1,2})_\d{8}T\d{4}Z_/

/** Whether an input can hold IAM events, judged from a CloudTrail file name (unknown names: yes). */
export function mayHoldIamEvents(name: string): boolean {
  const m = TRAIL_FILE_REGION.exec(name)
  return !m || IAM_REGIONS.has(m[1]!)
}
const REQUEST_ID_KEY = new Needle('requestID')

function isSkippable(c: number): boolean {
  // whitespace, quote, colon, backslash (LookupEvents output escapes the inner JSON)
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x22 || c === 0x3a || c === 0x5c
}

/** The string value after a key at `pos` (where the key ends), or undefined. */
function valueAfter(buf: Buffer, pos: number, max = 128): string | undefined {
  let i = pos
  const limit = Math.min(buf.length, pos + 16)
  let sawColon = false
  while (i < limit && isSkippable(buf[i]!)) {
    if (buf[i] === 0x3a) sawColon = true
    i++
  }
  if (!sawColon) return undefined
  let j = i
  const end = Math.min(buf.length, i + max)
  while (j < end && buf[j] !== 0x22 && buf[j] !== 0x5c) j++
  return buf.toString('latin1', i, j)
}

interface ArnRole {
  /** The role name, lower-case. */
  name: Buffer
  /** Where the anchors begin in the name (-1: at the `/` before it). */
  offset: number
  /** The anchor in each letter case it can be written in. */
  anchors: Needle[]
}

function isLetter(c: number): boolean {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a
}

/**
 * How the ARN scan finds a role name in any case: through a short anchor that has at most one
 * letter (two spellings to search), starting on the rarest caseless byte it can — the `/` before
 * the name, or a digit or `_` in it (`orders-api-role-9XK2` is found through `9XK` in two
 * spellings, far fewer stops than at each `/`).
 */
function arnRole(lower: string): ArnRole {
  const name = Buffer.from(lower, 'latin1')
  let offset = -1
  let best = rarity(0x2f)
  for (let i = 0; i < name.length; i++) {
    if (!isLetter(name[i]!) && rarity(name[i]!) > best) {
      best = rarity(name[i]!)
      offset = i
    }
  }
  // The anchor: from `offset`, caseless bytes up to six, and one letter if it ends on one.
  const bytes: number[] = offset === -1 ? [0x2f] : []
  let i = Math.max(offset, 0)
  while (bytes.length < 6 && i < name.length && !isLetter(name[i]!)) bytes.push(name[i++]!)
  if (bytes.length < 6 && i < name.length) bytes.push(name[i]!)
  const lowerAnchor = Buffer.from(bytes)
  const spellings = [lowerAnchor.toString('latin1'), lowerAnchor.toString('latin1').toUpperCase()]
  return { name, offset, anchors: [...new Set(spellings)].map((t) => new Needle(t)) }
}

/** Whether `c` is an ASCII letter or digit. */
function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || isLetter(c)
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1
}

/**
 * The cheap test run on decompressed bytes before any JSON parsing: can anything in this buffer
 * relate to the target? It looks for the function's and roles' names (and managed policy ARNs)
 * as bytes, role names in any case after `roleName` and in role and session ARNs (relatedness
 * compares role names without case), and fir's request ids after `requestID`. A buffer with a
 * JSON escape that may spell part of a name or key (`\u002d` for `-`, `\/`) is not ruled out: the
 * escape hides the name from a byte search, not from JSON.parse. It may say yes for a buffer with
 * nothing related (the full test decides); it never says no to one that has something.
 */
export class Prefilter {
  private readonly needles: Needle[]
  private readonly lowerRoles: Set<string>
  /** For the ARN scan: each role name (lower-case bytes), and where its anchors begin in it. */
  private readonly arnRoles: ArnRole[]
  private readonly idNeedles: Needle[]
  private readonly ids: ReadonlySet<string>
  /** ASCII characters an escape may stand for in a name or key searched for (see mayBeEscaped). */
  private readonly escapable = new Uint8Array(128)

  constructor(needles: string[], caseInsensitiveRoleNames: string[], firRequestIds: ReadonlySet<string>) {
    this.lowerRoles = new Set(caseInsensitiveRoleNames.map((r) => r.toLowerCase()))
    // A role name needs no search of its own: where relatedness reads one (a role or session ARN,
    // roleName), the scans below find it in any case. A needle that contains another is
    // redundant too (orders-api-role holds orders-api): one pass less each.
    const unique = [...new Set(needles.filter((n) => n.length > 0))]
    const searched = unique.filter((n) => !this.lowerRoles.has(n.toLowerCase()))
    const minimal = searched.filter((n) => !searched.some((m) => m !== n && n.includes(m)))
    this.needles = minimal.map((n) => new Needle(n))
    this.arnRoles = [...this.lowerRoles].filter((r) => r.length > 0).map(arnRole)
    this.ids = firRequestIds
    // A handful of ids are searched for directly; many are checked at each requestID instead.
    this.idNeedles = firRequestIds.size <= 8 ? [...firRequestIds].map((id) => new Needle(id)) : []
    // Letters and digits spell the keys searched for (roleName, requestID, role/); the rest, the
    // other characters of the names. CloudTrail's own escapes (\u003d for =, \u003c, \u0026…)
    // stand for none of them unless a name holds one.
    for (let c = 0; c < 128; c++) if (isAlnum(c)) this.escapable[c] = 1
    for (const text of [...unique, ...this.lowerRoles, ...firRequestIds])
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (c < 128) this.escapable[c] = 1
      }
    this.escapable[0x2f] = 1 // the / of role/ and of policy ARNs
    this.escapable[0x5c] = 1 // \u005c: an escaped escape (LookupEvents' inner JSON)
  }

  static for(rel: Relatedness, firRequestIds: ReadonlySet<string>): Prefilter {
    return new Prefilter(rel.needles(), rel.caseInsensitiveRoleNames(), firRequestIds)
  }

  toJSON(): { needles: string[]; roles: string[]; ids: string[] } {
    return {
      needles: this.needles.map((b) => b.full.toString()),
      roles: [...this.lowerRoles],
      ids: [...this.ids],
    }
  }

  /**
   * `iamPossible`: false when the input cannot hold IAM events (a trail file of a region other
   * than the partitions' IAM regions, known from its name); the scan of `roleName` values is skipped.
   */
  mayMatch(buf: Buffer, iamPossible = true): boolean {
    for (const n of this.needles) if (n.indexIn(buf) !== -1) return true
    for (const n of this.idNeedles) if (n.indexIn(buf) !== -1) return true
    if (this.lowerRoles.size > 0) {
      if (this.roleInArn(buf)) return true
      if (iamPossible && this.scanKey(buf, ROLE_NAME_KEY, (v) => this.lowerRoles.has(v.toLowerCase())))
        return true
    }
    if (this.ids.size > 8 && this.scanKey(buf, REQUEST_ID_KEY, (v) => this.ids.has(v))) return true
    return this.mayBeEscaped(buf)
  }

  /**
   * A role name, in any case, before `/`, `"` or `\`: where a role ARN (`:role/[path/]NAME`) or
   * a session ARN (`:assumed-role/NAME/…`) holds it, escaped slash (`\/`) or not. It is found
   * through an anchor in each letter case (see arnRole), the whole name then compared without case.
   */
  private roleInArn(buf: Buffer): boolean {
    for (const { name, offset, anchors } of this.arnRoles) {
      const n = name.length
      for (const anchor of anchors) {
        for (let p = anchor.indexIn(buf); p !== -1; p = anchor.indexIn(buf, p + 1)) {
          const start = p - offset
          const end = start + n
          if (start < 0 || end > buf.length) continue
          const after = buf[end]
          if (end < buf.length && after !== 0x2f && after !== 0x22 && after !== 0x5c) continue
          let k = 0
          for (; k < n; k++) {
            let c = buf[start + k]!
            if (c >= 0x41 && c <= 0x5a) c |= 0x20
            if (c !== name[k]) break
          }
          if (k === n) return true
        }
      }
    }
    return false
  }

  /**
   * A `\/`, or a `\uXXXX` of a character a name or key searched for may hold. One pass over the
   * backslashes: rare in trail files; LookupEvents output escapes each quote of its inner JSON,
   * whose own escapes then follow a second backslash, so each backslash is looked at.
   */
  private mayBeEscaped(buf: Buffer): boolean {
    for (let p = BACKSLASH.indexIn(buf); p !== -1; p = BACKSLASH.indexIn(buf, p + 1)) {
      const next = buf[p + 1]
      if (next === 0x2f /* / */) return true
      if (next !== 0x75 /* u */) continue
      if (p + 6 > buf.length) return true
      const code =
        (hexValue(buf[p + 2]!) << 12) |
        (hexValue(buf[p + 3]!) << 8) |
        (hexValue(buf[p + 4]!) << 4) |
        hexValue(buf[p + 5]!)
      if (code >= 0 && code < 128 && this.escapable[code] === 1) return true
    }
    return false
  }

  private scanKey(buf: Buffer, key: Needle, test: (value: string) => boolean): boolean {
    const n = key.full.length
    let pos = key.indexIn(buf)
    while (pos !== -1) {
      const v = valueAfter(buf, pos + n)
      if (v !== undefined && test(v)) return true
      pos = key.indexIn(buf, pos + n)
    }
    return false
  }
}
