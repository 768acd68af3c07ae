import { arg, type CommandWord, commandLine, commandWords, flag } from '../common/suggest.js'
import { joinNames, shellArg } from '../common/text.js'
import { rotateSecretWords } from '../credentials/role-use.js'
import { roleNameOf } from '../snapshot/role.js'
import { truncate } from './format.js'
import {
  closingMeasure,
  type ExposureItem,
  type FunctionContainment,
  type JournalView,
  type KeyFate,
  type MeasureUndone,
  outcomeWords,
  shortTarget,
  stepTitle,
  undoneCalls,
  undoneText,
} from './journal-view.js'
import type { FindingView, FunctionFacts, LimitView, RecommendationView, RoleFacts } from './model.js'
import {
  isRoleTarget,
  otherWhys,
  pointBackCommand,
  type RoleSwap,
  roleAccountOf,
  roleKey,
  roleWithWhy,
  swapCallText,
  swapShown,
} from './roles.js'
import { type AccessOpened, type FlaggedKey, functionRef, isFunction } from './timeline-scan.js'

/** What recommendations and limits are drawn from. */
export interface AdviceInput {
  functions: FunctionFacts[]
  roles: RoleFacts[]
  snapshotFindings: FindingView[]
  timelineFindings: FindingView[]
  journal: JournalView
  snapshotPresent: boolean
  /**
   * The sealed evidence sets no longer as the journal sealed them (missing or changed), in words
   * (`snap-1: evidence/snap-1/: it is missing …`); none when every set is as sealed.
   */
  evidenceNotAsSealed?: string[]
  /**
   * The recorded timeline files no longer what fir recorded, in words (`timeline/events.jsonl:
   * sha256 …, recorded as …`); none when every one is as recorded.
   */
  timelineNotAsRecorded?: string[]
  timelinePresent: boolean
  /** A timeline was collected and recorded, and its events file is gone since. */
  timelineMissing?: boolean
  timelineSources: string[]
  /** `api`, `s3` or `file` per source. */
  timelineSourceKinds: string[]
  timelineTotalEvents: number
  /** Roles an execution role's session assumed, AssumeRole calls that succeeded (chained sessions). */
  chainedAssumeRoles: string[]
  /** Long-term keys of other identities used from where the role's credentials were stolen to. */
  keysFromStolenAddress: { accessKeyId: string; userName: string | null; sourceIps: string[] }[]
  /** Long-term keys that signed calls a detection flagged high or critical (timeline-scan.ts). */
  keysOfFlaggedCalls?: FlaggedKey[]
  /**
   * The IAM user of each long-term key the timeline shows signing a call (the caller's ARN), by
   * key id: it fills the user of the command that rotates the key.
   */
  keyUsers?: ReadonlyMap<string, string>
  /** Secrets Manager secrets the timeline shows read with an execution role's credentials, by name. */
  secretsRead: string[]
  /** Environment variables that hold the secret of an access key found next to them. */
  keySecrets: KeySecret[]
  /** Per org sweep of the case, the functions it matched that the case does not contain. */
  sweeps: SweepFollowUp[]
  /** The public access flagged timeline events opened, per function (timeline-scan.ts). */
  accessOpened: AccessOpened[]
  /** The changes of a function's `$LATEST` role the snapshots and the timeline show (roles.ts). */
  roleSwaps?: RoleSwap[]
  /**
   * The case folder: each command ends with `--case <it>`, so that it pastes as it is where
   * several cases are under ./cases (fir would ask which).
   */
  caseDir?: string
}

/** A sweep's matched functions the case has not contained (report/sweeps.ts), for a next step. */
export interface SweepFollowUp {
  file: string
  /** Where every match is listed: the sweep's file, or its journal entry when the file changed. */
  matchesIn: string
  atDisplay: string
  indicators: string[]
  /** The account the sweep ran from (its caller's): fir acts there with the same credentials. */
  account: string | null
  partition: string
  /** The role the sweep assumed in the other accounts. */
  assumeRole: string
  functions: {
    /** The function's ARN (no version). */
    arn: string
    account: string
    region: string
    /** `name ($LATEST, 3)`: the function and the versions that matched. */
    label: string
    why: string
    /** The evidence set that holds it (the sweep's seal or a snapshot of the case), or null. */
    sealedIn: string | null
  }[]
}

/**
 * An environment variable holding the secret access key of the key id in another variable of the
 * same environment (the snapshot pairs them: the access-key-in-environment finding's `secretIn`).
 */
export interface KeySecret {
  /** The function's name and ARN. */
  function: string
  arn: string
  variable: string
  accessKeyId: string
}

/**
 * The key secrets whose access key this case rotated, deactivated or deleted: the value no longer
 * signs requests, so there is nothing left to rotate at its source.
 */
export function handledKeySecrets(
  pairs: readonly KeySecret[],
  fates: ReadonlyMap<string, KeyFate>,
): (KeySecret & { fate: KeyFate })[] {
  return pairs.flatMap((k) => {
    const fate = fates.get(k.accessKeyId)
    return fate ? [{ ...k, fate }] : []
  })
}

/**
 * One function's secret-looking environment variables (`names`): those still to rotate (`open`),
 * and the key secrets among them whose access key the case handled (`handled`).
 */
export function environmentSecretsOf(
  f: Pick<FunctionFacts, 'name' | 'arn' | 'secrets'>,
  handledKeys: readonly (KeySecret & { fate: KeyFate })[],
): { names: string[]; open: string[]; handled: (KeySecret & { fate: KeyFate })[] } {
  const names = f.secrets.map((s) => s.split(' = ')[0]!)
  const handled = handledKeys.filter(
    (k) => k.function === f.name && k.arn === f.arn && names.includes(k.variable),
  )
  return { names, open: names.filter((n) => !handled.some((k) => k.variable === n)), handled }
}

/**
 * The access key ids found in one function's environment by any snapshot of the case: the newest
 * snapshot's and those earlier ones found that it did not (still leaked).
 */
export function environmentKeyIds(f: Pick<FunctionFacts, 'accessKeyIds' | 'earlierAccessKeyIds'>): string[] {
  return [...f.accessKeyIds, ...f.earlierAccessKeyIds.map((k) => k.accessKeyId)]
}

/** The environment's secret-looking values still to rotate: those not the secret of a handled key. */
function openEnvironmentSecrets(input: AdviceInput): { label: string; names: string[] }[] {
  const handled = handledKeySecrets(input.keySecrets, input.journal.keyFates)
  return input.functions
    .map((f) => ({ label: f.label, names: environmentSecretsOf(f, handled).open }))
    .filter((f) => f.names.length > 0)
}

/** The containment state of a function, by ARN (or by name when the snapshot has no ARN). */
function containmentOf(
  input: AdviceInput,
  f: { arn: string; name: string },
): FunctionContainment | undefined {
  return input.journal.functions.find((c) => (f.arn ? c.arn === f.arn : c.name === f.name))
}

/** The way in each public-access finding kind of a snapshot (snapshot/types.ts) is. */
const WAY_OF_FINDING: Readonly<Record<string, string>> = {
  'public-url': 'function-url',
  'public-statement': 'resource-policy',
}

const PRIORITY_LABEL = { 1: 'Now', 2: 'Soon', 3: 'Later' } as const

/**
 * Timeline sources that read trail logs, data events included where the trail records them:
 * trail files (in S3 or on disk), the Athena table over them, a CloudTrail Lake event data store.
 */
const TRAIL_KINDS = new Set(['s3', 'file', 'athena', 'lake'])

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)

function findingsMatching(list: FindingView[], re: RegExp): FindingView[] {
  return list.filter((f) => re.test(`${f.kind} ${f.title} ${f.tags.join(' ')}`))
}

/** The findings of which at least one call went through: a call that failed or was denied changed nothing. */
function succeeded(list: FindingView[]): FindingView[] {
  return list.filter((f) => f.failed < f.count)
}

/**
 * Whether a finding is about a role: its events name it (a session of it made a call, a call set or
 * named it), or it targets it. Roles are one by account and name; a role known by name alone
 * matches by name.
 */
function namesRole(f: FindingView, role: Pick<RoleFacts, 'arn' | 'name'>): boolean {
  const key = role.arn.startsWith('arn:') ? roleKey(role.arn, '') : null
  return f.roles.some((r) =>
    key ? roleKey(r, '') === key : roleNameOf(r).toLowerCase() === role.name.toLowerCase(),
  )
}

function titles(list: FindingView[], max = 4): string[] {
  const out = [...new Set(list.map((f) => `${f.title}${f.count > 1 ? ` (${f.count})` : ''}`))]
  return out.length > max ? [...out.slice(0, max), `and ${out.length - max} more`] : out
}

/**
 * Next steps drawn from this case's findings and actions: each says what to do, why (the findings
 * or actions that led to it) and, where fir can do it, the command.
 */
export function recommend(input: AdviceInput): RecommendationView[] {
  const recs: Omit<RecommendationView, 'priorityLabel'>[] = []
  const add = (
    priority: 1 | 2 | 3,
    title: string,
    detail: string,
    because: string[],
    command: string | CommandWord[] | null = null,
  ) =>
    recs.push({
      priority,
      title,
      detail,
      because,
      // A fir command's words, with the case: a value that starts with '-' stays a value (commandLine).
      command: Array.isArray(command)
        ? commandLine('fir', [...command, ...(input.caseDir ? [flag('--case', input.caseDir)] : [])])
        : command,
    })
  // What was seen, not what a role would allow: a risky permission's title names what it could do
  // ("…credentials that outlive the role's sessions", "lambda:UpdateFunctionCode"), which the
  // patterns below take for something that happened.
  const allFindings = [...input.snapshotFindings, ...input.timelineFindings].filter(
    (f) => f.kind !== 'risky-permission',
  )
  // The function's ARN where the case knows it: a command printed with its name alone would look
  // for it in the responder's default region (fir restore then finds no change to undo there).
  // One function snapshotted at two qualifiers is still one function to contain.
  const one = new Set(input.functions.map((f) => f.arn || f.name)).size === 1 ? input.functions[0] : undefined
  const fn: CommandWord = one ? arg(one.arn || one.name) : { placeholder: 'function' }

  const lost = input.evidenceNotAsSealed ?? []
  if (lost.length) {
    add(
      1,
      'Preserve the case and find out what became of its sealed evidence',
      `Evidence sealed in this case is missing or changed (${lost.join('; ')}): this report cannot say what it held. Keep the case as it is, investigate who changed it, and to go on start a new case (fir case init) and take a new snapshot.`,
      ['sealed evidence missing or changed'],
      ['case', 'verify'],
    )
  }
  const changed = input.timelineNotAsRecorded ?? []
  if (changed.length) {
    add(
      1,
      'Preserve the case and find out who changed its recorded timeline',
      `The timeline recorded in this case was changed after fir recorded it (${changed.join('; ')}): this report cannot say what fir collected, nor rest its status on it. Keep the case as it is, investigate who changed it, and to go on start a new case (fir case init) and collect the timeline again.`,
      ['recorded timeline changed'],
      ['case', 'verify'],
    )
  }
  if (!lost.length && !input.snapshotPresent) {
    add(
      1,
      'Seal evidence of the function before changing it further',
      'No sealed snapshot is in this case. A snapshot records configuration, code, policies and the role as they are now.',
      ['no snapshot in the case'],
      'fir snapshot <function>',
    )
  }

  // By kind: a risky permission's title ("long-term credentials that outlive the role's sessions")
  // matched a pattern over the text, and asked to rotate environment secrets a function did not have.
  // The secret of an access key this case rotated or deactivated no longer signs anything.
  const handled = handledKeySecrets(input.keySecrets, input.journal.keyFates)
  const secretFindings = input.snapshotFindings.filter(
    (f) =>
      f.kind === 'secret-in-environment' &&
      !handled.some(
        (k) =>
          (f.target === k.arn || f.target === k.function) &&
          f.title.startsWith(`Environment variable ${k.variable} of `),
      ),
  )
  const withSecrets = openEnvironmentSecrets(input)
  if (withSecrets.length || secretFindings.length) {
    const names = withSecrets.map((f) => `${f.label} (${f.names.length})`)
    add(
      1,
      `Rotate the secret values found in the environment${names.length ? ` of ${joinNames(names)}` : ''}`,
      'Anyone who could read the function configuration (lambda:GetFunction) or its process memory has these values. Rotate each at its source, then move it to Secrets Manager or Parameter Store and grant the role read access to that one secret.',
      titles(secretFindings).length ? titles(secretFindings) : names,
    )
  }

  // Per key: rotating another user's key leaves these as they were. A key an earlier snapshot
  // found and the newest does not was leaked all the same.
  const envKeys = input.functions.flatMap((f) => [
    ...f.accessKeyIds
      .filter((k) => !input.journal.keyFates.has(k))
      .map((k) => ({ id: k, text: `${k} (${f.label})` })),
    ...f.earlierAccessKeyIds
      .filter((k) => !input.journal.keyFates.has(k.accessKeyId))
      .map((k) => ({
        id: k.accessKeyId,
        text: `${k.accessKeyId} (${f.label}: found by evidence set ${k.set}, not by its newest snapshot ${f.evidenceSet})`,
      })),
  ])
  // Rotated by fir when a rotate-key of the key's user was applied (the journal names the user:
  // `<user ARN>#<key id>`, or the user ARN alone in older journals).
  const rotatedUsers = new Set(
    (input.journal.applied.get('credentials.rotate-key') ?? []).map(
      (target) => target.split('/').at(-1)?.split('#')[0],
    ),
  )
  const attackerKeys = input.keysFromStolenAddress.filter((k) => !k.userName || !rotatedUsers.has(k.userName))
  // The long-term keys that signed the flagged calls themselves (an IAM user's key, say, that opened
  // the function to the public): whoever made them holds the key, and nothing the case did to the
  // function or its role touches it.
  const flaggedKeys = (input.keysOfFlaggedCalls ?? []).filter(
    (k) => !input.journal.keyFates.has(k.accessKeyId) && !(k.userName && rotatedUsers.has(k.userName)),
  )
  // One key, one recommendation: a key several findings ask to rotate (found in the environment,
  // used from the stolen credentials' address, signing flagged calls) is asked once, in the first
  // of these that names it, with every reason; its user, where the timeline names it, fills the
  // command.
  const userOf = new Map(input.keyUsers ?? [])
  for (const k of [...attackerKeys, ...flaggedKeys]) if (k.userName) userOf.set(k.accessKeyId, k.userName)
  const rotateKey = (ids: readonly string[]) => {
    const one = [...new Set(ids)]
    return one.length === 1
      ? [
          'creds',
          'rotate-key',
          flag('--user', userOf.get(one[0]!) ?? { placeholder: 'user' }),
          flag('--access-key', one[0]!),
        ]
      : 'fir creds rotate-key --user <user> --access-key <id>'
  }
  const envIds = new Set(envKeys.map((k) => k.id))
  const stolenHere = attackerKeys.filter((k) => envIds.has(k.accessKeyId))
  const stolenOnly = attackerKeys.filter((k) => !envIds.has(k.accessKeyId))
  const stolenIds = new Set(stolenOnly.map((k) => k.accessKeyId))
  const flaggedIn = (ids: ReadonlySet<string>) => flaggedKeys.filter((k) => ids.has(k.accessKeyId))
  const flaggedOnly = flaggedKeys.filter((k) => !envIds.has(k.accessKeyId) && !stolenIds.has(k.accessKeyId))
  const stolenText = (k: (typeof attackerKeys)[number]) =>
    `${k.accessKeyId}${k.userName ? ` (user ${k.userName})` : ''} from ${k.sourceIps.join(', ')}`
  const flaggedText = (k: FlaggedKey) =>
    `${k.accessKeyId}${k.userName ? ` (user ${k.userName})` : ''}${k.sourceIps.length ? ` from ${k.sourceIps.join(', ')}` : ''}: ${k.findings.join('; ')}`
  const stolenWhy = (n: number) =>
    `Whoever used the execution role’s credentials outside Lambda also signed calls with ${n === 1 ? 'this key' : 'these keys'} from the same address.`
  const flaggedWhy = (n: number) =>
    `The timeline shows ${n === 1 ? 'this key' : 'these keys'} signing calls a detection flagged high or critical.`
  /** The reasons the other findings give for keys a recommendation takes in. */
  const alsoWhy = (stolen: readonly unknown[], flagged: readonly FlaggedKey[]) =>
    [
      ...(stolen.length ? [stolenWhy(stolen.length)] : []),
      ...(flagged.length
        ? [
            `${flaggedWhy(flagged.length)} Unless the calls were ${flagged.length === 1 ? 'that user’s' : 'their users’'} own approved work, whoever made them holds ${flagged.length === 1 ? 'it' : 'them'}.`,
          ]
        : []),
    ]
      .map((t) => ` ${t}`)
      .join('')

  if (envKeys.length) {
    const keys = [...new Set(envKeys.map((k) => k.text))]
    const flagged = flaggedIn(envIds)
    add(
      1,
      `Rotate the long-term access key${keys.length === 1 ? '' : 's'} found in the environment`,
      `Access keys (AKIA…) do not expire. Rotation creates a new key and deactivates the old one; delete the old key (--delete-old) once its users have moved.${alsoWhy(stolenHere, flagged)}`,
      [...keys, ...stolenHere.map(stolenText), ...flagged.map(flaggedText)],
      rotateKey(envKeys.map((k) => k.id)),
    )
  }

  if (stolenOnly.length) {
    const one = stolenOnly.length === 1
    const flagged = flaggedIn(stolenIds)
    add(
      1,
      `Rotate the long-term access key${one ? '' : 's'} used from the address that used the stolen role credentials`,
      `${stolenWhy(stolenOnly.length)} Access keys (AKIA…) do not expire and revoking the role’s sessions does not touch them. Rotation creates a new key and deactivates the old one; then find how ${one ? 'it' : 'they'} leaked (build logs, repositories, laptops).${alsoWhy([], flagged)}`,
      [...stolenOnly.map(stolenText), ...flagged.map(flaggedText)],
      rotateKey([stolenOnly[0]!.accessKeyId]),
    )
  }

  if (flaggedOnly.length) {
    const one = flaggedOnly.length === 1
    add(
      1,
      `Cut off the long-term access key${one ? '' : 's'} that made the flagged calls`,
      `${flaggedWhy(flaggedOnly.length)} Access keys (AKIA…) do not expire, and containing the function or revoking its role’s sessions does not touch ${one ? 'it' : 'them'}. Unless the calls were that user’s own approved work, rotate ${one ? 'it' : 'each'} (a new key is made and the old one deactivated; --no-replace only deactivates), then find how ${one ? 'it' : 'they'} leaked.`,
      flaggedOnly.map(flaggedText),
      rotateKey([flaggedOnly[0]!.accessKeyId]),
    )
  }

  // The reads the timeline scan found (GetSecretValue / BatchGetSecretValue by the role's
  // sessions), less each secret this case rotated.
  const readSecrets = input.secretsRead.filter((n) => !input.journal.secretsRotated.has(n))
  if (readSecrets.length) {
    add(
      1,
      'Rotate the Secrets Manager secrets the role’s credentials read',
      'The timeline shows secret reads with the role’s credentials. Rotation needs a rotation function, which may itself be compromised: check it first. It cannot be undone.',
      readSecrets.map(
        (n) =>
          `${n}: read with the role’s credentials${input.journal.secretsRequested.has(n) ? '; its rotation was requested in this case, not confirmed (AWSCURRENT unchanged)' : ''}`,
      ),
      readSecrets.length === 1
        ? ['creds', 'rotate-secret', ...rotateSecretWords(readSecrets[0]!)]
        : 'fir creds rotate-secret <secret-id>',
    )
  }

  for (const role of input.roles) {
    // A role this case found deleted (a restore, or contain) has no sessions to revoke.
    if (!role.sessionsRevoked && !roleGone(input, role)) {
      // Now when a finding about this role says its credentials were used or could have been
      // taken (a session of it used outside Lambda, an AssumeRole of it, the code or layers of a
      // function that runs with it now changed); otherwise a precaution: revocation also cuts the
      // function's own sessions until it is recycled. Only those findings are its reasons.
      const exposed = [
        ...findingsMatching(allFindings, /session|assume|outside/i).filter((f) => namesRole(f, role)),
        // Whatever reaches the function's code reaches the credentials it runs with now.
        ...findingsMatching(allFindings, /UpdateFunctionCode|\bcode\b|layer|backdoor/i).filter(
          (f) => role.current || namesRole(f, role),
        ),
      ]
      add(
        exposed.length ? 1 : 2,
        `Revoke the sessions of role ${role.name}`,
        exposed.length
          ? `Temporary credentials of ${role.name} stay valid until they expire. Revocation denies every session issued before now; then recycle the functions so new environments get fresh credentials.`
          : `No finding shows the credentials of ${role.name} used or exposed; revoke its sessions if the function's code or runtime may have been reached (temporary credentials stay valid until they expire). Revocation denies every session issued before now, the function's own included: recycle the functions after it.`,
        [
          ...(role.current || otherWhys(role).length === 0
            ? [`${role.functions.length} function(s) run with ${role.name}`]
            : []),
          ...otherWhys(role).map((w) => `${role.name}: ${w}`),
          ...titles(exposed, 2),
        ],
        ['creds', 'revoke-sessions', flag('--role', role.name)],
      )
    }
  }

  // A role swap the case shows and nothing set back: the function's code runs with the role the
  // swap gave it. fir has no step for it (the role is the function's configuration): the AWS CLI.
  // A command only when the case can name the role to go back to: pasting one must never move a
  // function someone already repaired to a stale role.
  for (const swap of input.roleSwaps ?? []) {
    if (swap.switchedBack) continue
    if (!swap.earlier) {
      const call = swap.swapCall
      // Flagged by a detection, or not made by the function's creator: said among the first.
      add(
        swap.flags.length ? 1 : 2,
        `Find the execution role ${swap.function} ran with before ${call ? `${call.actor} set it to ${swap.to.name}` : `it was set to ${swap.to.name}`}`,
        `The timeline shows ${swapCallText(swap)}, and nothing of the role it ran with before: an earlier snapshot of the function, or CloudTrail from before this timeline’s window, would tell. Once found and checked, point the function back at it (aws lambda update-function-configuration --role); until then its code runs with the permissions of ${swap.now.name}, and a role swap is a way to escalate or keep access. This report gives no command: it does not know the role to go back to.`,
        [swap.swapBy, ...swap.flags],
      )
    } else if (swap.unsure) {
      add(
        1,
        `Choose the execution role ${swap.function} should run with`,
        `The case shows the execution role of ${swap.function} changed more than once (${swap.history.join(', then ')}): its code runs with the permissions of ${swap.now.name} since the last change (${swapShown(swap)}), and the case cannot tell which change to undo: ${swap.unsure}. Choose the role it should run with from this history and your deployment records, then point the function at it (aws lambda update-function-configuration --role). This report gives no command, so that none moves a function already repaired to a stale role.`,
        swap.history,
      )
    } else {
      add(
        1,
        `Point ${swap.function} back at its earlier execution role ${swap.earlier.name}`,
        `The case shows the execution role of ${swap.function} changed (${swap.history.join(', then ')}): the last change (${swapShown(swap)}) put ${swap.now.name} in place of ${swap.earlier.name}, so its code runs with the permissions of ${swap.now.name}, and a role swap is a way to escalate or keep access. Check that ${swap.earlier.name} is the role it should run with, then point the function back at it; the sessions of both roles are the function's credentials, revoke each.`,
        swap.history,
        pointBackCommand({ ...swap, earlier: swap.earlier }),
      )
    }
  }

  if (input.chainedAssumeRoles.length) {
    add(
      1,
      'Revoke the sessions of the roles assumed with the execution role’s credentials',
      'The TokenIssueTime deny applies to the execution role only; sessions chained into other roles stay valid until they expire. Revoke each assumed role’s sessions as well.',
      input.chainedAssumeRoles,
      'fir creds revoke-sessions --role <assumed role>',
    )
  }

  // Per function: containing one function closes nothing of another's.
  const exposed = [
    ...new Map(
      input.functions.filter((f) => f.exposure.length > 0).map((f) => [f.arn || f.name, f]),
    ).values(),
  ]
  const exposureFindings = findingsMatching(
    input.snapshotFindings,
    /public|exposure|url|principal|cross-account/i,
  )
  // Still reachable from outside unless the case closed its public URL and statements (a function
  // the case counts nowhere is as the snapshot saw it).
  const stillOpen = (f: { arn: string; name: string }) => {
    const c = containmentOf(input, f)
    return !c || c.open.some((i) => i.public)
  }
  const openFns = exposed.filter(stillOpen)
  const closedFns = exposed.filter((f) => !stillOpen(f))
  // A function is named as containment acts on it: every qualifier at once (not `fq:prod`).
  const labelOf = (f: (typeof exposed)[number]) => containmentOf(input, f)?.label ?? f.name
  // For a function still open, only the findings of ways in still open (not a URL set to AWS_IAM
  // while a public statement stays, not a statement removed by a step that failed part way). A
  // finding's title says the snapshot's summary of its way in, which names the statement or URL.
  const because = (fns: typeof exposed, stillOpenOnly: boolean) => {
    const isWay = (x: FindingView, i: ExposureItem) =>
      i.ref?.sid !== undefined
        ? x.title.includes(`statement ${i.ref.sid} `)
        : i.ref?.url
          ? x.title.includes(i.ref.url)
          : true
    const cites = (x: FindingView) =>
      fns.some((f) => {
        if (x.target !== f.arn && x.target !== f.name) return false
        const way = WAY_OF_FINDING[x.kind]
        const c = containmentOf(input, f)
        return !stillOpenOnly || !way || !c || c.open.some((i) => i.public && i.kind === way && isWay(x, i))
      })
    const found = titles(exposureFindings.filter(cites))
    return found.length ? found : fns.map((f) => `${f.label}: ${f.exposure.join('; ')}`)
  }
  // A throttled function refuses every invoke, but the throttle closes nothing: its public access
  // answers again once the throttle is lifted, so it is to close before then, not reachable now.
  const throttledNow = (f: (typeof exposed)[number]) =>
    containmentOf(input, f)?.measures.includes('containment.throttle') ?? false
  const reachableFns = openFns.filter((f) => !throttledNow(f))
  const heldFns = openFns.filter(throttledNow)
  const openParts = [
    ...(reachableFns.length && (closedFns.length || heldFns.length)
      ? [
          `${joinNames(reachableFns.map(labelOf))} ${reachableFns.length === 1 ? 'is' : 'are'} still reachable from outside the account`,
        ]
      : []),
    ...(heldFns.length
      ? [
          `${joinNames(heldFns.map(labelOf))} ${heldFns.length === 1 ? 'is' : 'are'} still open from outside the account, but every invoke is refused while ${heldFns.length === 1 ? 'it is' : 'they are'} throttled to reserved concurrency 0: close ${heldFns.length === 1 ? 'it' : 'them'} before lifting the throttle`,
        ]
      : []),
  ]
  if (openFns.length || (exposed.length === 0 && exposureFindings.length)) {
    const target: CommandWord =
      openFns.length === 1
        ? arg(openFns[0]!.arn || openFns[0]!.name)
        : openFns.length
          ? { placeholder: 'function' }
          : fn
    add(
      // Soon, not now, when every function still open is throttled: none of them runs meanwhile.
      openFns.length && reachableFns.length === 0 ? 2 : 1,
      'Remove public access to the function',
      `Set function URLs to AWS_IAM and remove public resource-policy statements (both can be undone)${openParts.length ? `: ${openParts.join('; ')}` : ''}.`,
      openFns.length ? because(openFns, true) : titles(exposureFindings),
      ['contain', target, '--actions', 'url,permissions'],
    )
  }
  if (closedFns.length) {
    const closedBy = (f: (typeof exposed)[number]) => {
      const c = containmentOf(input, f)
      const how = [...new Set((c?.closed ?? []).filter((i) => i.public).map((i) => i.by.did))]
      return how.length ? `${labelOf(f)} (${how.join(', ')})` : labelOf(f)
    }
    add(
      2,
      'Keep the function behind AWS_IAM until a reviewed resource policy replaces the public one',
      `Containment closed the public access of ${joinNames(closedFns.map(closedBy))}. Before restoring, decide who must invoke the function and narrow each statement with aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID.`,
      because(closedFns, false),
    )
  }

  // Measures that stop the function which AWS refused (or that failed) and are not in force: the
  // function runs, or its queues still deliver to it, until they are made. Per function: one
  // function's throttle stops nothing of another's.
  const STOPPING: Readonly<Record<string, { action: string; effect: string }>> = {
    'containment.event-sources': {
      action: 'event-sources',
      effect: 'its event source mappings still deliver events to it',
    },
    'containment.throttle': {
      action: 'throttle',
      effect: 'it is not throttled, so new invocations still run',
    },
  }
  for (const c of input.journal.functions) {
    // Event sources only while one is still open: a run that failed part way may have closed each.
    const refused = c.refused.filter(
      (r) =>
        STOPPING[r.measure] &&
        (r.measure !== 'containment.event-sources' || c.open.some((i) => i.kind === 'event-source')),
    )
    if (!refused.length) continue
    const throttle = refused.some((r) => r.measure === 'containment.throttle')
    const sources = refused.some((r) => r.measure === 'containment.event-sources')
    add(
      1,
      throttle && sources
        ? `Throttle ${c.label} and disable its event sources`
        : throttle
          ? `Throttle ${c.label}`
          : `Disable the event sources of ${c.label}`,
      `Containment could not make ${joinNames(refused.map((r) => stepTitle(r.measure)))}: ${joinNames(refused.map((r) => STOPPING[r.measure]!.effect))}. Once the caller may make the call AWS refused (Gaps names it), run contain again for ${refused.length === 1 ? 'it' : 'them'}: it makes only what is not in force.`,
      refused.map((r) => `${stepTitle(r.measure)} ${outcomeWords(r.outcome)}`),
      [
        'contain',
        arg(c.arn || c.name),
        '--actions',
        refused.map((r) => STOPPING[r.measure]!.action).join(','),
      ],
    )
  }

  // A denied UpdateFunctionCode changed no code: only the calls that went through.
  const codeFindings = findingsMatching(
    succeeded(allFindings),
    /UpdateFunctionCode|code|archive|zip|layer|integrity|backdoor/i,
  )
  const throttledFns = input.journal.functions.filter((f) => f.measures.includes('containment.throttle'))
  const throttled = throttledFns.length > 0
  if (throttled || codeFindings.length) {
    const restoreTarget = throttledFns.length === 1 ? arg(throttledFns[0]!.arn || throttledFns[0]!.name) : fn
    add(
      2,
      `Redeploy the code from a trusted build${throttled ? ' before lifting the throttle' : ''}`,
      `Revoking credentials does not remove a backdoor: new execution environments get fresh credentials. Rebuild from source control and compare the CodeSha256 ${throttled ? 'with the sealed evidence before restoring' : 'of what runs now with the sealed evidence'}.`,
      [...(throttled ? ['throttle in force'] : []), ...titles(codeFindings)],
      throttled ? ['restore', restoreTarget, '--actions', 'throttle'] : null,
    )
  }

  const persistence = findingsMatching(
    succeeded(input.timelineFindings),
    /CreateAccessKey|CreateUser|CreateLoginProfile|AttachRolePolicy|PutRolePolicy|AddPermission|persistence|privilege/i,
  )
  // Public access the attacker opened (a public statement, a URL without auth) is closed while
  // containment keeps the function each event targeted behind it (the event's functionName); the
  // rest is still to undo now. Without a target in the timeline, every function the case counts.
  const closerOf = (c: FunctionContainment, kind: AccessOpened['kind']) =>
    closingMeasure(kind, (m) => c.measures.includes(m))
  // What closes that kind of access on every function the case counts (none: not every one).
  const everyFunction = (kind: AccessOpened['kind']) => {
    const closers = input.journal.functions.flatMap((c) => closerOf(c, kind) ?? [])
    return closers.length > 0 && closers.length === input.journal.functions.length ? closers : []
  }
  const openedTo = (kind: AccessOpened['kind']) =>
    input.accessOpened
      .filter((a) => a.kind === kind)
      .map((a) => {
        const ref = functionRef(a.functionName, a.region)
        const c = input.journal.functions.find((x) => isFunction(x, ref))
        const known = c ?? input.functions.find((x) => isFunction(x, ref))
        return {
          ...a,
          name: ref.name,
          target: known?.arn || a.functionName,
          closedBy: c ? closerOf(c, kind) : undefined,
        }
      })
  const closedHow = new Map<FindingView, string>()
  const stillOpened: ReturnType<typeof openedTo> = []
  const openedFindings: FindingView[] = []
  for (const f of persistence) {
    const text = `${f.title} ${f.kind}`
    const kind: AccessOpened['kind'] | null = /AddPermission|Function Policy Opened/i.test(text)
      ? 'resource-policy'
      : /Function URL|FunctionUrl/i.test(text)
        ? 'function-url'
        : null
    if (!kind) continue
    const opened = openedTo(kind)
    const open = opened.filter((o) => !o.closedBy)
    const closers =
      opened.length === 0
        ? everyFunction(kind)
        : open.length === 0
          ? opened.flatMap((o) => o.closedBy ?? [])
          : []
    if (closers.length) closedHow.set(f, [...new Set(closers.map((m) => m.did))].join(', '))
    else if (open.length) {
      openedFindings.push(f)
      for (const o of open)
        if (!stillOpened.some((x) => x.kind === o.kind && x.target === o.target)) stillOpened.push(o)
    }
  }
  const closedAccess = [...closedHow.keys()]
  const openPersistence = persistence.filter((f) => !closedHow.has(f) && !openedFindings.includes(f))
  if (stillOpened.length) {
    const targets = [...new Set(stillOpened.map((o) => o.target))]
    const names = [...new Set(stillOpened.map((o) => o.name))]
    add(
      1,
      `Close the public access the attacker opened to ${joinNames(names)}`,
      `The timeline shows ${joinNames(names)} opened to the public and no measure in force closes it: set its URL to AWS_IAM and remove the public statements (both can be undone), then review each event (see Key timeline) and remove the statement or URL for good.`,
      [
        ...titles(openedFindings),
        ...stillOpened.map(
          (o) =>
            `${o.name}: ${o.eventName}${o.kind === 'function-url' ? ' (AuthType NONE)' : ''} at ${o.time}`,
        ),
      ],
      [
        'contain',
        targets.length === 1 ? arg(targets[0]!) : { placeholder: 'function' },
        '--actions',
        'url,permissions',
      ],
    )
  }
  // Measures calls in the timeline undid after fir applied them (the throttle lifted, the URL
  // opened again, the revocation deleted): no longer known to be in force, to apply again.
  const undone = [...input.journal.undoneSince.values()]
  const undoneFns = input.journal.functions.filter((f) => f.undone.length > 0)
  // A revocation no counted function names (`fir creds revoke-sessions`): a role the report
  // describes is asked to be revoked again with the roles above.
  const otherRoles = [
    ...new Set(
      undone
        .filter((u) => !undoneFns.some((f) => f.undone.includes(u)))
        .map((u) => shortTarget(u.target))
        .filter((name) => !input.roles.some((r) => r.name === name)),
    ),
  ]
  if (undoneFns.length || otherRoles.length) {
    const actionsOf = (list: readonly MeasureUndone[]) =>
      [...new Set(list.map((u) => u.measure.replace(/^containment\./, '')))].join(',')
    const command: CommandWord[] =
      undoneFns.length === 1
        ? [
            'contain',
            arg(undoneFns[0]!.arn || undoneFns[0]!.name),
            '--actions',
            actionsOf(undoneFns[0]!.undone),
          ]
        : undoneFns.length > 1
          ? [
              'contain',
              { placeholder: 'function' },
              '--actions',
              actionsOf(undoneFns.flatMap((f) => f.undone)),
            ]
          : [
              'creds',
              'revoke-sessions',
              flag('--role', otherRoles.length === 1 ? otherRoles[0]! : { placeholder: 'role' }),
            ]
    add(
      1,
      `Contain ${joinNames([...undoneFns.map((f) => f.label), ...otherRoles.map((r) => `role ${r}`)])} again: calls in the timeline undid containment`,
      'The timeline shows calls, made after fir applied these measures, that undid them: they are not known to be in force, and what they contained is not known to be contained. Apply them again (a measure still in place reports already-applied), and cut off whoever made the calls, whose credentials can undo them again: revoke the sessions of the role they used, rotate the access key that signed them. Review each call (see Key timeline).',
      undone.map(undoneText),
      command,
    )
  }
  if (openPersistence.length) {
    add(
      1,
      'Remove what the attacker created: keys, users, policies, permissions',
      'The timeline shows calls that create lasting access. Review each event (see Key timeline), undo it, and look for the same calls in other accounts and regions.',
      titles(openPersistence),
    )
  }
  if (closedAccess.length) {
    add(
      2,
      'Remove for good the public access the attacker opened',
      `Containment closed it and it is closed now (${[...new Set(closedHow.values())].join(', ')}); restoring puts it back. Review each event (see Key timeline) and remove the statement or URL for good before restoring.`,
      titles(closedAccess),
    )
  }

  // Log tampering only (MITRE T1562 impair defenses, T1070 indicator removal): the defense-evasion
  // tactic also tags the use of valid credentials, which disables no logging.
  const evasion = findingsMatching(
    succeeded(input.timelineFindings),
    /DeleteLogGroup|DeleteLogStream|StopLogging|DeleteTrail|PutEventSelectors|\bt1562\b|\bt1070\b|impair/i,
  )
  if (evasion.length) {
    add(
      1,
      'Restore logging the attacker disabled',
      'Re-create deleted log groups and trails, restore event selectors, and check S3 or organisation trails for the window the local logs no longer cover.',
      titles(evasion),
    )
  }

  for (const role of input.roles.filter((r) => r.riskyPermissions.length > 0)) {
    const actions = [...new Set(role.riskyPermissions.map((p) => p.action))]
    const other = otherWhys(role)
    add(
      2,
      `Reduce the permissions of role ${role.name}`,
      `The role${other.length ? ` (${other.join('; ')})` : ''} grants ${actions.length} risky action${actions.length === 1 ? '' : 's'} (${actions.slice(0, 6).join(', ')}${actions.length > 6 ? ', …' : ''}). Scope each to the resources the function needs, and add a permission boundary.`,
      role.riskyPermissions.slice(0, 4).map((p) => `${p.action} on ${p.resource} (${p.policy})`),
    )
  }

  if (!input.timelinePresent) {
    add(
      2,
      input.timelineMissing ? 'Collect the CloudTrail timeline again' : 'Collect the CloudTrail timeline',
      'The timeline shows what the function’s credentials did. Without it this report cannot say what the attacker did.',
      [
        input.timelineMissing
          ? 'the timeline’s events file, recorded in the journal, is missing'
          : 'no timeline in the case',
      ],
      ['timeline', fn, '--since', '7d'],
    )
  } else if (!input.timelineSourceKinds.some((k) => TRAIL_KINDS.has(k))) {
    add(
      2,
      'Add trail logs to the timeline for data events',
      'LookupEvents returns management events only; Lambda Invoke and S3 object reads are in trail log files, where a trail records data events.',
      [`timeline sources: ${input.timelineSources.join(', ') || 'api'}`],
      ['timeline', fn, '--source', { raw: 's3://<trail bucket>/<prefix>' }],
    )
  }

  // One item for every sweep: the functions they matched that this case neither contains nor (for
  // some) sealed, each once however many sweeps matched it, naming the sweeps.
  const sweeps = input.sweeps.filter((s) => s.functions.length > 0)
  if (sweeps.length) {
    const one = sweeps.length === 1
    // The account of the (first) sweep that matched it: fir acts there with the same credentials.
    const matched: (SweepFollowUp['functions'][number] & { sweepAccount: string | null })[] = []
    for (const s of sweeps) {
      for (const f of s.functions) {
        const known = matched.find((m) => m.arn === f.arn)
        if (!known) {
          matched.push({ ...f, sweepAccount: s.account })
          continue
        }
        known.sealedIn ??= f.sealedIn
        if (f.why && !known.why.split('; ').includes(f.why))
          known.why = known.why ? `${known.why}; ${f.why}` : f.why
      }
    }
    const unsealed = matched.filter((f) => !f.sealedIn)
    const fromAccounts = [...new Set(sweeps.map((s) => s.account).filter((a): a is string => Boolean(a)))]
    const here = matched.filter((f) => f.sweepAccount && f.account === f.sweepAccount)
    const elsewhere = [...new Set(matched.filter((f) => !here.includes(f)).map((f) => f.account))]
    // fir acts in the caller's own account with its credentials; in another it needs a role there.
    const assumeRoles = [...new Set(sweeps.map((s) => s.assumeRole))]
    const assumeRole = assumeRoles.length === 1 && assumeRoles[0] ? assumeRoles[0] : '<role>'
    const roleArn = (account: string) => `arn:${sweeps[0]!.partition}:iam::${account}:role/${assumeRole}`
    const listed = (fns: typeof matched, max: number) =>
      fns.length <= max ? fns.map((f) => shellArg(f.arn)).join(' ') : '<function ARN>…'
    // The command for those in the account a sweep ran from: seal what is not sealed, then contain.
    const unsealedHere = here.filter((f) => !f.sealedIn)
    const command = unsealedHere.length
      ? `fir snapshot ${listed(unsealedHere, 3)}`
      : here.length
        ? `fir contain ${here.length === 1 ? shellArg(here[0]!.arn) : '<function ARN>'}`
        : null
    const shown = matched
      .slice(0, 4)
      .map(
        (f) =>
          `${f.label} in ${f.account} ${f.region}${f.why ? `: ${f.why}` : ''} (${f.sealedIn ? `sealed in evidence/${f.sealedIn}` : 'not sealed'})`,
      )
    const indicators = (s: SweepFollowUp) => (s.indicators.length ? ` (${s.indicators.join('; ')})` : '')
    const whichSweeps = one
      ? `sweep of ${sweeps[0]!.atDisplay}`
      : sweeps.length <= 3
        ? `sweeps of ${joinNames(sweeps.map((s) => s.atDisplay))}`
        : `${sweeps.length} sweeps from ${sweeps[0]!.atDisplay} to ${sweeps.at(-1)!.atDisplay}`
    const matchesIn = joinNames([...new Set(sweeps.map((s) => s.matchesIn))])
    const ranFrom = `the account${fromAccounts.length === 1 ? '' : 's'} the sweep${one ? '' : 's'} ran from (${fromAccounts.join(', ')})`
    add(
      2,
      `Review and contain the other functions the ${whichSweeps} matched`,
      `${one ? `The sweep${indicators(sweeps[0]!)}` : `The sweeps of ${truncate(joinNames(sweeps.map((s) => `${s.atDisplay}${indicators(s)}`)), 600)}`} matched ${matched.length === 1 ? 'a function' : `${matched.length} functions`} this case does not contain${unsealed.length ? `, ${unsealed.length === matched.length ? (unsealed.length === 1 ? 'not sealed' : 'none of them sealed') : `${unsealed.length} of them not sealed`}` : ''}. Seal each one before anything changes it (fir snapshot <function ARN>), decide from the evidence whether it is compromised, and contain those that are (fir contain <function ARN>).${
        fromAccounts.length === 0
          ? ` For a function in another account than the one fir's credentials are in, add --role-arn ${roleArn('<account>')} to those commands.`
          : elsewhere.length
            ? ` ${elsewhere.length === 1 ? 'Account' : 'Accounts'} ${truncate(joinNames(elsewhere), 200)} ${elsewhere.length === 1 ? 'is not' : 'are not'} ${ranFrom}: for ${elsewhere.length === 1 ? 'its' : 'their'} functions, add --role-arn ${roleArn(elsewhere.length === 1 ? elsewhere[0]! : '<account>')} to those commands.`
            : ''
      } Every match is in ${matchesIn}.`,
      [
        ...shown,
        ...(matched.length > shown.length
          ? [`and ${matched.length - shown.length} more (see ${matchesIn})`]
          : []),
      ],
      command,
    )
  }

  const unrecorded = input.functions.filter((f) => f.dataEventsRecorded === false)
  if (unrecorded.length) {
    add(
      2,
      'Record Lambda data events (Invoke) on a trail',
      'No trail records Invoke calls for these functions, so who invoked them (and how often) cannot be established. Add a data event selector for AWS::Lambda::Function to a trail.',
      unrecorded.map((f) => `${f.label}: ${f.trailCoverage ?? 'not recorded'}`),
    )
  }

  const missingLogs = input.functions.filter((f) => f.logGroupMissing)
  if (missingLogs.length) {
    add(
      1,
      'Find out what happened to the function’s log group',
      'The log group is missing: attackers delete it to hide their invocations. Check CloudTrail for DeleteLogGroup, and look for the logs in any subscription or export destination.',
      missingLogs.map((f) => `${f.label}: ${f.logGroup ?? 'log group missing'}`),
    )
  }

  const quarantined = input.functions.filter((f) => f.quarantined)
  const quarantineFindings = findingsMatching(input.snapshotFindings, /quarantine/i)
  if (quarantined.length || quarantineFindings.length) {
    add(
      1,
      'Treat the AWS quarantine policy as confirmation of a leaked key',
      'AWS attaches AWSCompromisedKeyQuarantineV2 when it finds a key of the account exposed publicly. Find the key, rotate it, and keep the policy until the investigation is closed.',
      [
        ...quarantined.map((f) => `${f.label}: role ${f.roleName ?? '?'} quarantined`),
        ...titles(quarantineFindings),
      ],
    )
  }

  const layered = input.functions.filter((f) => f.layers.length > 0)
  if (layered.length) {
    add(
      3,
      'Review the layers the function uses',
      'Layer versions are immutable and shared: a backdoored layer stays attached to every function that uses it. Publish a clean version and update each function.',
      layered.map((f) => `${f.label}: ${f.layers.length} layer(s)`),
    )
  }

  add(
    3,
    'Keep the case folder as evidence',
    'Verification re-hashes every file and the journal chain. Copy the case to write-once storage (S3 Object Lock, --evidence-bucket) and record who holds it.',
    [`${input.functions.length} function(s), ${input.journal.actions.length} journaled action(s)`],
    'fir case verify',
  )

  // Two findings can lead to one command (the function public, and the timeline showing who
  // opened it): one recommendation, saying both, not the same command twice.
  const merged: typeof recs = []
  for (const r of recs) {
    const same = r.command === null ? undefined : merged.find((m) => m.command === r.command)
    if (!same) {
      merged.push({ ...r, because: [...r.because] })
      continue
    }
    same.priority = Math.min(same.priority, r.priority) as 1 | 2 | 3
    if (!same.detail.includes(r.detail)) same.detail = `${same.detail} ${r.detail}`
    for (const b of r.because) if (!same.because.includes(b)) same.because.push(b)
  }
  const caseWords = input.caseDir ? ` ${commandWords([flag('--case', input.caseDir)])}` : ''
  return merged
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.priority - b.r.priority || a.i - b.i)
    .map(({ r }) => ({
      ...r,
      command:
        // fir's own commands only: the AWS CLI's know no case.
        r.command?.startsWith('fir ') && caseWords && !/(^| )--case[ =]|…$/.test(r.command)
          ? `${r.command}${caseWords}`
          : r.command,
      priorityLabel: PRIORITY_LABEL[r.priority],
    }))
}

/**
 * Whether this case found the role deleted: a restore, since it revoked its sessions, or contain,
 * before it could.
 */
function roleGone(input: AdviceInput, role: RoleFacts): boolean {
  return [...input.journal.gone].some((t) => targetsRole(t, role))
}

/** Whether a journaled target names the role: by name, and by account when both carry one. */
function targetsRole(target: string, role: RoleFacts): boolean {
  return isRoleTarget(target, { account: roleAccountOf(role.arn), name: role.name })
}

/** What containment and collection did not cover, drawn from what was done in this case. */
export function limitsOf(input: AdviceInput): LimitView[] {
  const limits: LimitView[] = []
  const applied = (step: string) => input.journal.applied.has(step)
  // What is in force now: a restore lifts what was applied.
  const inForce = (measure: string) => [...input.journal.inForce].some((k) => k.startsWith(`${measure}|`))
  // Per role: revoking one role's sessions leaves another's stolen credentials valid.
  const sessionsInForce = inForce('containment.sessions')
  const revokedRoles = input.roles.filter((r) => r.sessionsRevoked)
  // Deleted since this case revoked their sessions (a restore found them gone): nothing to lift.
  const goneRoles = input.roles.filter((r) => !r.sessionsRevoked && roleGone(input, r))
  const openRoles = input.roles.filter((r) => !r.sessionsRevoked && !goneRoles.includes(r))
  const revokedOnce = [
    ...(input.journal.applied.get('containment.sessions') ?? []),
    ...(input.journal.applied.get('credentials.revoke-sessions') ?? []),
  ]
  const wasRevoked = (r: RoleFacts) => revokedOnce.some((t) => targetsRole(t, r))
  // A restore found them gone after this case revoked their sessions, or contain before it could.
  const goneAfter = goneRoles.filter(wasRevoked)
  const goneBefore = goneRoles.filter((r) => !wasRevoked(r))
  if (goneAfter.length) {
    const [role, was, their, them] =
      goneAfter.length === 1 ? ['Role', 'was', 'its', 'it'] : ['Roles', 'were', 'their', 'them']
    limits.push({
      title: `${role} deleted since containment`,
      detail: `${role} ${joinNames(goneAfter.map((r) => r.name))} ${was} deleted since this case revoked ${their} sessions (a restore found ${them} gone, the revocation with ${them}): there was nothing left to lift, and a deleted role grants its sessions nothing; one created again under the name is another role, with no revocation.`,
    })
  }
  if (goneBefore.length) {
    const [role, was, their, them] =
      goneBefore.length === 1 ? ['Role', 'was', 'its', 'it'] : ['Roles', 'were', 'their', 'them']
    limits.push({
      title: `${role} deleted before containment`,
      detail: `${role} ${joinNames(goneBefore.map((r) => r.name))} ${was} deleted before this case revoked ${their} sessions (contain found ${them} gone): a deleted role grants its sessions nothing, so there were none left to revoke; one created again under the name is another role, with no revocation.`,
    })
  }
  if (sessionsInForce || revokedRoles.length) {
    limits.push({
      title: 'Chained sessions are not revoked',
      detail: `The TokenIssueTime deny applies to the execution role's own sessions${revokedRoles.length ? ` (revoked in this case: ${joinNames(revokedRoles.map((r) => r.name))})` : ''}. Credentials the attacker obtained by assuming other roles with them stay valid until they expire${input.chainedAssumeRoles.length ? ` (seen in the timeline: ${input.chainedAssumeRoles.slice(0, 5).join(', ')})` : ''}. The deny also takes a few minutes to take effect everywhere.`,
    })
  }
  if (openRoles.length || !(sessionsInForce || revokedRoles.length || goneRoles.length)) {
    const lifted = openRoles.filter(wasRevoked)
    const never = openRoles.filter((r) => !lifted.includes(r))
    // A revocation a call in the timeline deleted, not a restore of this case.
    const deletedBy = (r: RoleFacts) =>
      [...input.journal.undoneSince.values()].find(
        (u) => u.measure === 'containment.sessions' && targetsRole(u.target, r),
      )
    const deleted = lifted.filter((r) => deletedBy(r))
    const restored = lifted.filter((r) => !deletedBy(r))
    const them = (n: number) => (n === 1 ? 'it' : 'them')
    const detail = openRoles.length
      ? [
          ...(never.length
            ? [
                `No session revocation of ${joinNames(never.map(roleWithWhy))} is in force: temporary credentials already issued to ${them(never.length)} stay valid until they expire.`,
              ]
            : []),
          ...(restored.length
            ? [
                `The session revocation this case put on ${joinNames(restored.map((r) => r.name))} was lifted (fir restore --actions sessions): temporary credentials issued to ${them(restored.length)} before it are valid again until they expire.`,
              ]
            : []),
          ...deleted.map(
            (r) =>
              `The session revocation this case put on ${r.name} was deleted or replaced by a call in the timeline (${undoneCalls(deletedBy(r)!)}): temporary credentials issued to it before it are valid again until they expire.`,
          ),
        ].join(' ')
      : applied('containment.sessions') || applied('credentials.revoke-sessions')
        ? 'The session revocation this case put on the role was lifted (fir restore --actions sessions): temporary credentials issued to the execution role before it are valid again until they expire.'
        : 'No session revocation was journaled: temporary credentials already issued to the execution role stay valid until they expire.'
    limits.push({ title: 'Stolen role credentials were not revoked', detail })
  }
  if (inForce('containment.throttle')) {
    limits.push({
      title: 'In-flight invocations may still run',
      detail:
        'Reserved concurrency 0 stops new invocations only. Invocations already running may continue for up to 15 minutes (Lambda’s maximum timeout).',
    })
  }
  limits.push({
    title: 'Code and layers were not changed',
    detail:
      'Containment does not remove a backdoor from the code or its layers, and fir does not rotate or delete layer versions. New execution environments get fresh credentials, so a backdoor keeps working once the function runs again.',
  })
  // Per secret: a rotation of one secret leaves the others as they were.
  const readOpen = input.secretsRead.filter((n) => !input.journal.secretsRotated.has(n))
  const envOpen = openEnvironmentSecrets(input)
  const open = [
    ...readOpen.map((n) => `${n} (read with the role’s credentials)`),
    ...envOpen.map((f) => `${f.names.join(', ')} in the environment of ${f.label}`),
  ]
  const handled = handledKeySecrets(input.keySecrets, input.journal.keyFates)
  if (open.length) {
    limits.push({
      title: 'Secrets were not rotated',
      detail: `Not rotated in this case: ${open.join('; ')}. These keep their values${applied('credentials.rotate-secret') ? '' : ', and so do the other Secrets Manager secrets the role could read'}.`,
    })
  } else if (!applied('credentials.rotate-secret') && handled.length === 0) {
    limits.push({
      title: 'Secrets were not rotated',
      detail:
        'No secret rotation was journaled: environment values and Secrets Manager secrets the role could read keep their values.',
    })
  }
  // Only where the newest snapshot still finds the value: one taken out of the environment since
  // is held no longer.
  const held = handled.filter((k) => input.functions.some((f) => environmentSecretsOf(f, [k]).handled.length))
  if (held.length) {
    limits.push({
      title: 'The environment still holds the secret of a key this case cut off',
      detail: `${joinNames(held.map((k) => `${k.variable} (${k.function}) is the secret of access key ${k.accessKeyId}, ${k.fate} in this case`))}: it no longer signs requests${held.some((k) => k.fate === 'deactivated' || k.fate === 'rotated') ? ' while the key stays inactive (restore reactivates it; delete the old key with --delete-old)' : ''}, but the value stays in the function’s configuration until the function is updated to the new key or, better, to its role.`,
    })
  }
  if (applied('credentials.rotate-secret')) {
    limits.push({
      title: 'Secret rotation trusts the rotation function',
      detail:
        'RotateSecret runs the secret’s rotation function, which may itself be compromised, and cannot be undone.',
    })
  }
  // Per key: rotating another user's key leaves the environment's keys as they were.
  const envKeys = [...new Set(input.functions.flatMap(environmentKeyIds))]
  const keysOpen = envKeys.filter((k) => !input.journal.keyFates.has(k))
  if (keysOpen.length) {
    limits.push({
      title: 'Long-term access keys were not rotated',
      detail: `${joinNames(keysOpen)}, found in the environment, ${keysOpen.length === 1 ? 'was' : 'were'} not rotated or deactivated in this case: access keys (AKIA…) do not expire on their own.`,
    })
  } else if (
    envKeys.length === 0 &&
    !applied('credentials.rotate-key') &&
    input.journal.keyFates.size === 0
  ) {
    limits.push({
      title: 'Long-term access keys were not rotated',
      detail: 'No key was rotated in this case: access keys (AKIA…) do not expire on their own.',
    })
  }
  if (input.timelinePresent) {
    const fromTrail = input.timelineSourceKinds.some((k) => TRAIL_KINDS.has(k))
    const fromApi = input.timelineSourceKinds.includes('api') || input.timelineSourceKinds.length === 0
    const coverage = [
      ...(fromApi ? ['LookupEvents covers management events of the last 90 days only'] : []),
      fromTrail
        ? 'data events such as Lambda Invoke are in the trail logs read only where the trail records them'
        : 'data events such as Lambda Invoke are only in trail log files, and only where a trail records them',
    ]
    limits.push({
      title: 'What the timeline can show',
      detail: `${input.timelineTotalEvents} events were collected. ${capitalise(coverage.join('; '))}. Absence of a finding is not absence of activity: detections are rules, not proof.`,
    })
  } else {
    limits.push(
      input.timelineMissing
        ? {
            title: 'The timeline is missing',
            detail:
              'A timeline was collected and recorded in this case, but its events file is no longer in the case folder: without its events this report cannot say what the attacker did with the function or its credentials.',
          }
        : {
            title: 'No timeline was collected',
            detail:
              'Without CloudTrail events this report cannot say what the attacker did with the function or its credentials.',
          },
    )
  }
  limits.push({
    title: 'A snapshot is one moment',
    detail: input.evidenceNotAsSealed?.length
      ? 'The evidence this case sealed is missing or changed: the state of the function it preserved cannot be read from this case.'
      : input.snapshotPresent
        ? 'Evidence records the function, its code and its role as they were when the snapshot ran; earlier states are visible only through CloudTrail.'
        : 'No snapshot was sealed: the function’s state before any change is not preserved in this case.',
  })
  return limits
}
