import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AwsClients } from '../../aws/clients.js'
import { IntegrityError } from '../../errors.js'
import {
  checkJournalText,
  type DamagedJournalError,
  JOURNAL_FILE,
  type JournalEntry,
} from '../case/journal.js'
import { holdsRedaction } from '../common/redact.js'
import { awsCliCommand, type CommandWord, flag, plainAwsCliCommand } from '../common/suggest.js'
import { escapeTerminal } from '../common/text.js'
import type { RotateKeyState } from '../credentials/rotate-key.js'
import { parseArn } from '../identity.js'
import { stepById } from '../steps/registry.js'
import type { UndoRecord } from '../steps/step.js'
import { pendingUndos } from '../steps/undo-records.js'
import { RESTORE_ACTIONS, stepIdsFor } from './actions.js'
import type { EventSourcesState } from './event-sources.js'
import { addPermissionFor, type PermissionsState } from './permissions.js'
import type { RecycleState } from './recycle.js'
import type { ThrottleState } from './throttle.js'
import type { UrlState } from './url.js'

/**
 * A change still in force by the whole lines of a damaged journal, and the AWS CLI commands that
 * put it back by hand. Unverified: the lines it comes from may have been changed too.
 */
export interface ManualRestore {
  step: string
  target: string
  /** The function (or role) it was made to, and its region. */
  label: string
  region: string | null
  /** The journal entry (`started`) that recorded the state before it. */
  seq: number
  at: string
  /** What was there before fir's change. */
  before: string
  /** What puts it back (none when fir cannot say, see `note`). */
  commands: string[]
  note?: string
}

/** Builds an AWS CLI line from its words, in a region (see awsCliCommand). */
export type CliLine = (words: CommandWord[], region: string | null) => string

/** AWS CLI lines with the AWS flags the command was given (awsCliCommand), or plain ones. */
export function cliLines(aws: AwsClients | undefined): CliLine {
  return (words, region) =>
    aws ? awsCliCommand(words, aws, region ? { region } : {}) : plainAwsCliCommand(words, region)
}

const str = (v: unknown) => (typeof v === 'string' ? v : '')
const where = (q: string | null) => (q === null ? '$LATEST' : q)

/**
 * The changes still in force by the lines of a journal that parse (its chain and hashes are not
 * checked: the journal failed them), newest first, each with the manual commands that put back
 * the state journaled before it. Only for reading: nothing is written and nothing acts on it.
 */
export function manualRestores(
  entries: readonly JournalEntry[],
  caseId: string,
  cli: CliLine,
): ManualRestore[] {
  const steps = new Set(RESTORE_ACTIONS.flatMap((a) => stepIdsFor(a)))
  return pendingUndos(entries, steps).map((r) => manualRestore(r, caseId, cli))
}

/**
 * A value of the state journaled before a change that held a secret is kept redacted: its command
 * never writes the marker into AWS. The word is a placeholder (`<original-description>`), and the
 * note says where the value is: in the case's snapshot, `evidence/` (DESIGN §1, Secrets; the
 * step's secretSource names the file and field).
 */
function manualRestore(r: UndoRecord, caseId: string, cli: CliLine): ManualRestore {
  const held: string[] = []
  const line: CliLine = (words, region) =>
    cli(
      words.map((w, i) => {
        // A flag's value (a FlagWord, or the word after the flag), or a word of its own.
        const value = typeof w === 'string' ? w : 'flag' in w ? w.value : 'arg' in w ? w.arg : undefined
        if (typeof value !== 'string' || !holdsRedaction(value)) return w
        const before = words[i - 1]
        const name =
          typeof w === 'object' && 'flag' in w
            ? w.flag
            : typeof before === 'string' && before.startsWith('--')
              ? before
              : '--value'
        const placeholder = `original-${name.slice(2)}`
        if (!held.includes(placeholder)) held.push(placeholder)
        return typeof w === 'object' && 'flag' in w ? { ...w, value: { placeholder } } : { placeholder }
      }),
      region,
    )
  const made = manualCommands(r, caseId, line)
  if (held.length === 0) return made
  const where = stepById(r.step)?.secretSource(r.params) ?? "the case's snapshot (evidence/)"
  const note = `the value to put back held a secret, which the journal keeps redacted: replace ${held.map((h) => `<${h}>`).join(' and ')} with ${where}; fir shows no secret outside evidence/`
  return { ...made, note: made.note ? `${note}; ${made.note}` : note }
}

function manualCommands(r: UndoRecord, caseId: string, cli: CliLine): ManualRestore {
  // The function and its region as contain journals them, else from the function's ARN.
  const arn = parseArn(str(r.params.functionArn) || r.target)
  const fromArn = arn?.service === 'lambda' ? /^function:([^:]+)/.exec(arn.resource)?.[1] : undefined
  const fn = str(r.params.function) || fromArn || ''
  const region = str(r.params.region) || (fromArn ? arn?.region : '') || null
  const base = {
    step: r.step,
    target: r.target,
    label: fn || str(r.params.role) || r.target,
    region,
    seq: r.startedSeq,
    at: r.startedAt,
  }
  const fnWords = [flag('--function-name', fn)]
  // A function's change whose function the entries do not name: no command can be written.
  const known = fn !== '' || r.step === 'containment.sessions' || !r.step.startsWith('containment.')
  switch (known ? r.step : undefined) {
    case 'containment.throttle': {
      const reserved = (r.prior as ThrottleState | undefined)?.reserved
      if (reserved === undefined) break
      return {
        ...base,
        before: `reserved concurrency: ${reserved ?? 'none'}`,
        commands: [
          reserved === null
            ? cli(['lambda', 'delete-function-concurrency', ...fnWords], region)
            : cli(
                [
                  'lambda',
                  'put-function-concurrency',
                  ...fnWords,
                  '--reserved-concurrent-executions',
                  String(reserved),
                ],
                region,
              ),
        ],
      }
    }
    case 'containment.url': {
      const open = ((r.prior as UrlState | undefined)?.configs ?? []).filter((c) => c.authType === 'NONE')
      return {
        ...base,
        before:
          open.map((c) => `the URL of ${where(c.qualifier)}: AuthType NONE`).join(', ') || 'no open URL',
        commands: open.map((c) =>
          cli(
            [
              'lambda',
              'update-function-url-config',
              ...fnWords,
              ...(c.qualifier !== null ? [flag('--qualifier', c.qualifier)] : []),
              '--auth-type',
              'NONE',
            ],
            region,
          ),
        ),
      }
    }
    case 'containment.event-sources': {
      const on = ((r.prior as EventSourcesState | undefined)?.mappings ?? []).filter((m) =>
        ['Enabled', 'Enabling', 'Creating', 'Updating'].includes(m.state),
      )
      return {
        ...base,
        before:
          on.map((m) => `mapping ${m.uuid} (${m.eventSourceArn}) enabled`).join(', ') || 'no mapping enabled',
        commands: on.map((m) =>
          cli(['lambda', 'update-event-source-mapping', flag('--uuid', m.uuid), '--enabled'], region),
        ),
      }
    }
    case 'containment.permissions': {
      const prior = (r.prior as PermissionsState | undefined)?.statements ?? []
      const after = (r.after as PermissionsState | undefined)?.statements ?? []
      const removed = prior.filter(
        (p) => p.public && !after.some((a) => a.qualifier === p.qualifier && a.sid === p.sid),
      )
      return {
        ...base,
        before:
          removed.map((p) => `statement ${where(p.qualifier)}/${p.sid}`).join(', ') || 'no public statement',
        commands: removed.map((p) => cli(addPermissionWords(fn, p), region)),
      }
    }
    case 'containment.recycle': {
      const description = (r.prior as RecycleState | undefined)?.description
      if (typeof description !== 'string') break
      return {
        ...base,
        before: `description ${JSON.stringify(description)}`,
        commands: [
          cli(
            ['lambda', 'update-function-configuration', ...fnWords, flag('--description', description)],
            region,
          ),
        ],
      }
    }
    case 'containment.sessions':
    case 'credentials.revoke-sessions': {
      const prior = r.prior as { roleName?: string; policyName?: string; document?: unknown } | undefined
      const role = prior?.roleName ?? r.target.split('/').at(-1) ?? r.target
      const policy = prior?.policyName ?? `fir-revoke-${caseId}`
      return {
        ...base,
        label: role,
        region: null,
        before: prior?.document
          ? `the role's ${policy} policy as it was`
          : `no ${policy} policy on role ${role}`,
        commands: [
          prior?.document
            ? cli(
                [
                  'iam',
                  'put-role-policy',
                  flag('--role-name', role),
                  flag('--policy-name', policy),
                  '--policy-document',
                  JSON.stringify(prior.document),
                ],
                null,
              )
            : cli(
                ['iam', 'delete-role-policy', flag('--role-name', role), flag('--policy-name', policy)],
                null,
              ),
        ],
        note: 'restore keeps the session revocation unless it is named: removing it makes stolen tokens issued before the cutoff valid again',
      }
    }
    case 'credentials.rotate-key': {
      const prior = r.prior as RotateKeyState | undefined
      const old = prior?.keys?.find((k) => k.id === prior.oldKeyId)
      if (!prior?.userName || !old) break
      const after = r.after as RotateKeyState | undefined
      const deleted = after !== undefined && !after.keys?.some((k) => k.id === prior.oldKeyId)
      return {
        ...base,
        label: prior.userName,
        region: null,
        before: `access key ${old.id} of ${prior.userName}: ${old.status}`,
        commands:
          deleted || old.status !== 'Active'
            ? []
            : [
                cli(
                  [
                    'iam',
                    'update-access-key',
                    flag('--user-name', prior.userName),
                    flag('--access-key-id', old.id),
                    '--status',
                    'Active',
                  ],
                  null,
                ),
              ],
        note: deleted
          ? 'fir deleted that key (--delete-old): it cannot be put back'
          : 'restore keeps a rotated key unless it is named: reactivating it makes the leaked key valid again',
      }
    }
  }
  return {
    ...base,
    before: 'see the journal',
    commands: [],
    note: 'fir cannot say how to put it back by hand; see the journal entry',
  }
}

/** `aws lambda add-permission` words that re-create a removed statement (see addPermissionFor). */
function addPermissionWords(fn: string, ref: PermissionsState['statements'][number]): CommandWord[] {
  const { input } = addPermissionFor(fn, ref)
  const flags: [string, unknown][] = [
    ['--function-name', input.FunctionName],
    ['--statement-id', input.StatementId],
    ['--action', input.Action],
    ['--principal', input.Principal],
    ['--qualifier', input.Qualifier],
    ['--source-arn', input.SourceArn],
    ['--source-account', input.SourceAccount],
    ['--principal-org-id', input.PrincipalOrgID],
    ['--event-source-token', input.EventSourceToken],
    ['--function-url-auth-type', input.FunctionUrlAuthType],
  ]
  return [
    'lambda',
    'add-permission',
    ...flags.flatMap(([name, v]) => (typeof v === 'string' && v !== '' ? [flag(name, v)] : [])),
    ...(input.InvokedViaFunctionUrl ? ['--invoked-via-function-url'] : []),
  ]
}

/**
 * A damaged journal's refusal (exit 3, unchanged: fir still acts on nothing), made useful: the
 * changes still in force by the lines that parse, clearly unverified, each with the state before
 * it and the AWS CLI commands that put it back by hand, as next steps. Reads the journal only.
 */
export async function withChangesInForce(
  err: DamagedJournalError,
  caseId: string,
  cli: CliLine,
): Promise<IntegrityError> {
  const text = await readFile(join(err.caseDir, JOURNAL_FILE), 'utf8').catch(() => undefined)
  if (text === undefined) return err
  const changes = manualRestores(checkJournalText(text).entries, caseId, cli)
  if (changes.length === 0) return err
  const many = changes.length === 1 ? '1 change is' : `${changes.length} changes are`
  return new IntegrityError(
    `${err.message}\n${many} still in force by the journal lines that still parse (UNVERIFIED: the journal is damaged, so these lines may have been changed too; check each against what AWS holds now):\n${changes.map((c) => `  ${describeChange(c)}`).join('\n')}`,
    {
      actions: [
        ...err.actions,
        'to put production back without fir meanwhile, run the AWS CLI commands listed above, each once you have checked its current state',
      ],
      cause: err,
    },
  )
}

/**
 * One line a change. Its values come from AWS (a description an intruder set, a statement): each
 * is escaped on its own, line breaks included, so none can break its line or forge another change
 * and command. A command a value made unpastable (control characters, shown escaped) says so.
 */
function describeChange(c: ManualRestore): string {
  const one = (v: string) => escapeTerminal(v)
  const commands = c.commands.map((cmd) =>
    one(cmd) === cmd
      ? cmd
      : `${one(cmd)} [a value in it holds line breaks or control characters, shown escaped: do not paste it; take the value from journal line ${c.seq}]`,
  )
  const put = commands.length ? `; to put it back: ${commands.join(' && ')}` : ''
  return `${c.step} of ${one(c.label)}${c.region ? ` in ${one(c.region)}` : ''} (journal seq ${c.seq}, ${one(c.at)}): before it, ${one(c.before)}${put}${c.note ? ` (${one(c.note)})` : ''}`
}
