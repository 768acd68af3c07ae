import { basename, dirname, relative } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { Command, Errors, Flags } from '@oclif/core'
import { AwsClients } from './aws/clients.js'
import { CaseHandle, type CaseMeta, readCaseMeta, resolveCaseDir } from './core/case/case-folder.js'
import {
  type DamagedJournalError,
  type JournalEntry,
  setFirVersion,
  TORN_PREFIX,
} from './core/case/journal.js'
import { registerSecretsOfCase } from './core/case/secrets.js'
import { Clock } from './core/common/clock.js'
import { closestName } from './core/common/did-you-mean.js'
import { NOT_PERMITTED_HINT } from './core/common/fs-safe.js'
import { redactor } from './core/common/redact.js'
import { byteSize, counted, escapeTerminal, joinNames } from './core/common/text.js'
import { newestAbove } from './core/common/version.js'
import { type FirContext, Gaps, stderrLog } from './core/context.js'
import { drillOf } from './core/tabletop/safety.js'
import { carriedActions, ExitCode, FirError, isFirError, UsageError, withActions } from './errors.js'
import {
  type CommandOutcome,
  finishedEnvelope,
  renderGaps,
  renderHuman,
  renderJson,
  statusFor,
  writeError,
} from './output.js'

/** Flags of every command that talks to AWS (DESIGN §1). */
export const awsFlags = {
  region: Flags.string({
    description: "AWS region (default: AWS_REGION, then the profile's region)",
    helpGroup: 'AWS',
  }),
  profile: Flags.string({
    description:
      'named profile from ~/.aws/config or ~/.aws/credentials (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE; SSO profiles included); one neither defines is refused',
    helpGroup: 'AWS',
  }),
  'endpoint-url': Flags.string({
    description:
      'send AWS calls to this endpoint (an emulator, a VPC endpoint); AWS_ENDPOINT_URL(_<SERVICE>) is honoured too',
    helpGroup: 'AWS',
  }),
  'role-arn': Flags.string({
    description:
      'assume this role first (session name fir-<case id>-<os user>), e.g. a responder role in the affected account',
    helpGroup: 'AWS',
  }),
}

export const caseFlag = {
  case: Flags.string({
    description: 'case folder (default: FIR_CASE, then the only case under ./cases)',
    helpGroup: 'CASE',
  }),
}

export const changeFlags = {
  'dry-run': Flags.boolean({ description: 'show the plan only: read, never change, never snapshot' }),
  yes: Flags.boolean({
    char: 'y',
    description: 'confirm changes without asking (required when stdin is not a terminal)',
  }),
}

export interface AwsFlagValues {
  region?: string
  profile?: string
  'endpoint-url'?: string
  'role-arn'?: string
}

/**
 * Every fir command: parses, calls core, renders the returned outcome as human text or as the
 * JSON envelope, and maps errors to exit codes. Only bin/run.js exits the process.
 */
/**
 * The words of a command line before `--`: after it every word is an argument (a secret named
 * `--json`, which the commands fir suggests put there), never a flag.
 */
function flagWords(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf('--')
  return end === -1 ? argv : argv.slice(0, end)
}

export abstract class FirCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({
      description: 'print exactly one JSON document on stdout; its status is the exit code',
    }),
  }

  private cleanups: (() => Promise<void>)[] = []
  protected log_ = stderrLog(flagWords(process.argv).includes('--quiet'))

  protected abstract execute(): Promise<CommandOutcome>

  protected get jsonMode(): boolean {
    return flagWords(this.argv).includes('--json')
  }

  async run(): Promise<void> {
    try {
      const outcome = await this.execute()
      outcome.warnings = [...this.log_.warnings, ...(outcome.warnings ?? [])]
      this.print(outcome)
      process.exitCode = statusFor(outcome)
    } catch (err) {
      this.printError((await this.missingArguments(err)) ?? err)
    } finally {
      for (const fn of this.cleanups.reverse()) await fn().catch(() => undefined)
    }
  }

  /**
   * A missing argument is never read from stdin (oclif reads it from a piped stdin by default):
   * stdin may be a timeline source (`--source /dev/stdin`) or a script's own input, and
   * `echo x | fir case init` must not open a case named x.
   */
  override async init(): Promise<void> {
    for (const arg of Object.values(this.ctor.args ?? {})) arg.ignoreStdin = true
    setFirVersion(this.config.version)
    await super.init()
  }

  /**
   * What the missing argument of this command may be, for the usage error that names it (the
   * shipped playbooks for `fir playbook run`); none by default.
   */
  protected async argumentChoices(): Promise<string[]> {
    return []
  }

  /** oclif's missing-argument error as fir's own (see missingArgumentsError); else undefined. */
  private async missingArguments(err: unknown): Promise<UsageError | undefined> {
    if (!isMissingArguments(err)) return undefined
    const example = this.ctor.examples?.find((e): e is string => typeof e === 'string')
    return missingArgumentsError(err, {
      command: `${this.config.bin} ${this.id?.replaceAll(':', ' ') ?? ''}`.trim(),
      args: Object.entries(this.ctor.args ?? {}).map(([name, a]) => ({
        name,
        required: a.required === true,
      })),
      ...(example ? { example: example.replaceAll('<%= config.bin %>', this.config.bin) } : {}),
      choices: await this.argumentChoices().catch(() => []),
    })
  }

  protected onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn)
  }

  private print(outcome: CommandOutcome): void {
    if (this.jsonMode) {
      process.stdout.write(`${renderJson(finishedEnvelope(outcome))}\n`)
      return
    }
    const text = outcome.human + (outcome.gapsShown ? '' : renderGaps(outcome.gaps ?? []))
    if (text) process.stdout.write(`${renderHuman(text)}\n`)
  }

  private printError(err: unknown): void {
    const fir = toFir(err)
    if (fir.exitCode === ExitCode.bug) {
      process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`)
    }
    const found = err as { envelopeExtra?: Record<string, unknown>; humanSoFar?: string } | undefined
    // What the command had found before it failed (withFoundSoFar): stdout, then the error.
    if (!this.jsonMode && found?.humanSoFar) process.stdout.write(`${renderHuman(found.humanSoFar)}\n`)
    writeError(fir, this.jsonMode, found?.envelopeExtra ?? {})
  }

  /**
   * Opens (and locks) the case; released when the command ends. `readOnly` (a dry run) opens it
   * without tidying or repairing anything (see CaseHandle.open).
   */
  protected async openCase(
    flag: string | undefined,
    options: { readOnly?: boolean } = {},
  ): Promise<CaseHandle> {
    const dir = await resolveCaseDir(flag)
    const handle = await CaseHandle.open(dir, options)
    this.onCleanup(() => handle.close())
    for (const ignored of await registerSecretsOfCase(dir, handle.journal.all())) this.log_.warn(ignored)
    this.warnIfNewerFir(handle.meta, handle.journal.all())
    const stale = handle.staleLock
    if (stale) {
      const h = stale.holder
      this.log_.warn(
        `removed the case lock ${escapeTerminal(stale.path)} that a killed fir run had left: process ${escapeTerminal(h.pid)} on ${escapeTerminal(h.host)} (user ${escapeTerminal(h.user)}, since ${escapeTerminal(h.since)}) is no longer running: ${escapeTerminal(h.command)}`,
      )
    }
    const left = handle.tornJournalLine
    if (left) {
      this.log_.warn(
        `the journal's last line (line ${left.line}, ${counted(left.bytes, 'byte')}) was cut off by an interrupted write (a crash or power loss): this dry run leaves it as it is and reads the entries before it; a run without --dry-run sets it aside in ${TORN_PREFIX}<time>.bin and journals its hash`,
      )
    }
    const torn = handle.tornJournalTail
    if (torn) {
      this.log_.warn(
        `the journal's last line was cut off by an interrupted write (a crash or power loss): its ${counted(torn.bytes, 'byte')} are set aside in ${torn.path} and journaled by hash; the entries before it are intact`,
      )
    }
    for (const set of handle.placedSets) {
      this.log_.warn(
        `finished sealing evidence set evidence/${escapeTerminal(set)}: a fir run was interrupted after journaling its seal, before giving the set its final name; its manifest matches the journaled hash`,
      )
    }
    for (const f of handle.placedFiles) {
      this.log_.warn(
        `finished writing ${escapeTerminal(f.path)}${f.kind === 'secret' ? " (a rotated key's secret)" : ''}: a fir run was interrupted after journaling it, before giving it its name; ${escapeTerminal(f.temporary)} held exactly the bytes the journal records, and is now that file`,
      )
    }
    const { putBack, placed } = handle.timelineMoves
    if (putBack) {
      this.log_.warn(
        `put the earlier timeline back from ${putBack.folder}/ (${putBack.files.join(', ')}): a timeline re-run was interrupted after journaling its move there, before it stored a timeline of its own`,
      )
    }
    for (const m of placed) {
      this.log_.warn(
        `moved ${m.at} to ${m.path}, where the journal records it (the same SHA-256): a timeline re-run was interrupted while moving it`,
      )
    }
    if (handle.swept.length > 0) {
      const bytes = handle.swept.reduce((n, s) => n + s.bytes, 0)
      this.log_.warn(
        `removed what an interrupted fir run had left in the case (${byteSize(bytes)}): ${handle.swept.map((s) => escapeTerminal(relative(dir, s.path))).join(', ')}`,
      )
    }
    return handle
  }

  /**
   * Warns when a newer fir wrote to the case (case.json, or an entry's `actor.fir`): it may have
   * journaled what this one does not know — a step it lacks, a field it does not read.
   */
  protected warnIfNewerFir(meta: CaseMeta, entries: readonly JournalEntry[]): void {
    const versions = [meta.firVersion, ...entries.flatMap((e) => (e.actor?.fir ? [e.actor.fir] : []))]
    const newer = newestAbove(versions, this.config.version)
    if (!newer) return
    this.log_.warn(
      `case ${escapeTerminal(meta.id)} was written by fir ${escapeTerminal(newer)}, newer than this fir ${escapeTerminal(this.config.version)}: this fir may not know everything that version journaled (fir restore names the changes it cannot undo); update fir to ${escapeTerminal(newer)} or later`,
    )
  }

  /**
   * A damaged journal's refusal (exit 3), made useful: the changes its whole lines show still in
   * force, unverified, with the AWS CLI commands that put each back by hand (withChangesInForce),
   * with the AWS flags this command was given when `aws` is passed. Writes nothing to the case.
   */
  protected async refuseDamagedJournal(err: DamagedJournalError, aws?: AwsFlagValues): Promise<FirError> {
    const meta = await readCaseMeta(err.caseDir).catch(() => undefined)
    const clients = aws ? await this.makeAws(aws, meta?.id).catch(() => undefined) : undefined
    // Loaded only here: it brings every step of containment and credentials, which most commands
    // never run (a fifth of the start-up of `fir case init`).
    const { cliLines, withChangesInForce } = await import('./core/containment/manual-restore.js')
    return withChangesInForce(err, meta?.id ?? basename(err.caseDir), cliLines(clients))
  }

  protected async makeAws(
    flags: AwsFlagValues,
    caseId?: string,
    emulatorOnly?: boolean,
    drill?: string,
  ): Promise<AwsClients> {
    return AwsClients.create({
      region: flags.region,
      profile: flags.profile,
      endpoint: flags['endpoint-url'],
      roleArn: flags['role-arn'],
      caseId,
      warn: (message) => this.log_.warn(message),
      ...(emulatorOnly ? { emulatorOnly } : {}),
      ...(drill !== undefined ? { drill } : {}),
    })
  }

  /** The context core operations run in (STYLE.md). */
  protected async makeContext(options: {
    caseFlag: string | undefined
    aws: AwsFlagValues
    yes?: boolean
    dryRun?: boolean
    /** Open the case to read only (a dry run that changes nothing, not even the case folder). */
    readOnly?: boolean
  }): Promise<FirContext> {
    const handle = await this.openCase(options.caseFlag, { readOnly: options.readOnly === true })
    const aws = await this.makeAws(options.aws, handle.meta.id, undefined, drillOf(handle.journal.all()))
    return this.contextFor(handle, aws, options)
  }

  /**
   * The context of a command that changes AWS (contain, restore, creds): `--yes`, and `--dry-run`,
   * which opens the case to read only (it changes nothing, not even the case folder).
   */
  protected async makeChangeContext(
    flags: {
      case: string | undefined
      yes?: boolean
      'dry-run'?: boolean
    } & AwsFlagValues,
  ): Promise<FirContext> {
    const dryRun = flags['dry-run'] === true
    return this.makeContext({ caseFlag: flags.case, aws: flags, yes: flags.yes, dryRun, readOnly: dryRun })
  }

  protected contextFor(
    handle: CaseHandle,
    aws: AwsClients,
    options: { yes?: boolean; dryRun?: boolean },
  ): FirContext {
    return {
      aws,
      clock: aws.clock ?? new Clock(),
      case: handle,
      log: this.log_,
      gaps: new Gaps(),
      firVersion: this.config.version,
      interactive: Boolean(process.stdin.isTTY),
      yes: options.yes ?? false,
      dryRun: options.dryRun ?? false,
      confirm: (question) => askYesNo(question),
    }
  }
}

/**
 * Asks on the terminal. Ctrl-C at the question (which the terminal then gives to the prompt, not
 * as a signal) interrupts fir as Ctrl-C anywhere else does: `interrupt` raises SIGINT, and the
 * answer never comes (it had been an AbortError and a stack trace).
 */
export async function askYesNo(
  question: string,
  io: {
    input?: NodeJS.ReadableStream
    output?: NodeJS.WritableStream
    terminal?: boolean
    interrupt?: () => void
  } = {},
): Promise<boolean> {
  const rl = createInterface({
    input: io.input ?? process.stdin,
    output: io.output ?? process.stderr,
    ...(io.terminal !== undefined ? { terminal: io.terminal } : {}),
  })
  try {
    // The question may quote playbook text, inputs and AWS names: escaped, and secrets redacted.
    const answer = await rl.question(`${escapeTerminal(redactor.scrub(question))} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } catch (err) {
    if ((err as { code?: string }).code !== 'ABORT_ERR') throw err
    ;(io.interrupt ?? (() => process.kill(process.pid, 'SIGINT')))()
    return new Promise<boolean>(() => undefined)
  } finally {
    rl.close()
  }
}

/**
 * The disk of the file that could not be written (an --out target as well as a case file); a
 * write that names no file is most likely the case's.
 */
const ON_A_BIGGER_DISK = (path?: string) =>
  path === undefined
    ? 'free space on the disk that holds the case (`df -h <case folder>` shows it), or move the case to a larger disk, then run the command again'
    : `free space on the disk that holds ${escapeTerminal(path)} (\`df -h ${escapeTerminal(dirname(path))}\` shows it), or write it to a larger disk (a file of the case: move the case), then run the command again`

/**
 * A file system refusal: `hint`, when there is one, says what may cause it, before `action` (a
 * function of the path that failed, when it depends on it).
 */
interface FileSystemProblem {
  code: string
  why: string
  action: string | ((path?: string) => string)
  hint?: string
}

/** What the machine, not fir, got wrong: the disk filled up, a read-only or locked-down folder. */
const FILE_SYSTEM_PROBLEMS: Record<string, FileSystemProblem> = {
  ENOSPC: { code: 'disk-full', why: 'no space left on the device', action: ON_A_BIGGER_DISK },
  EDQUOT: { code: 'disk-full', why: 'the disk quota is used up', action: ON_A_BIGGER_DISK },
  EROFS: {
    code: 'read-only',
    why: 'the file system is read-only',
    action: 'use a case folder on a writable disk (--case, or FIR_CASE)',
  },
  EACCES: {
    code: 'permission-denied',
    why: 'permission denied',
    action:
      'run fir as the user who owns the case folder, or fix the folder’s ownership and mode (fir makes it 0700)',
  },
  // An immutable file or folder (chattr +i), or a folder macOS protects (~/Desktop without Full
  // Disk Access): EPERM, root's calls included.
  EPERM: {
    code: 'permission-denied',
    why: 'the operation is not permitted',
    hint: NOT_PERMITTED_HINT,
    action: 'or use a case folder where fir may write (--case, or FIR_CASE)',
  },
  EFBIG: {
    code: 'file-too-large',
    why: 'the file would pass the size limit for files',
    action: 'raise the file size limit (`ulimit -f unlimited`) and run the command again',
  },
  EMFILE: {
    code: 'too-many-open-files',
    why: 'too many files are open',
    action: 'raise the open-file limit (`ulimit -n 4096`) and run the command again',
  },
  ENOTDIR: {
    code: 'not-a-folder',
    why: 'a part of the path is not a folder (a file, or a link to something missing, such as an unmounted drive)',
    action: 'check each part of the path (`ls -ld`), or choose another folder',
  },
  ENAMETOOLONG: {
    code: 'name-too-long',
    why: 'the path is too long for the file system',
    action: 'choose a shorter path',
  },
  ELOOP: {
    code: 'link-loop',
    why: 'the path runs through a loop of symbolic links',
    action: 'check the links in the path (`ls -ld`), or choose another folder',
  },
}

/** Problems that depend on the call: mkdir's ENOENT under a folder that exists (/proc, /sys). */
const CALL_PROBLEMS: Record<string, FileSystemProblem> = {
  'ENOENT:mkdir': {
    code: 'cannot-make-folder',
    why: 'this file system does not let folders be made there',
    action: 'choose a folder on an ordinary disk',
  },
}

/**
 * A file system call that failed for a reason the responder can fix, as a clear error (exit 2, no
 * stack trace). Other errors, and errors that are not from a file system call, are left alone.
 */
export function fileSystemProblem(err: unknown): FirError | undefined {
  const e = err as NodeJS.ErrnoException | undefined
  const problem =
    e && typeof e.syscall === 'string'
      ? (CALL_PROBLEMS[`${e.code}:${e.syscall}`] ?? FILE_SYSTEM_PROBLEMS[e.code ?? ''])
      : undefined
  if (!problem) return undefined
  const syscall = e!.syscall!
  const verb = /^(read|scandir|stat|lstat)$/.test(syscall) ? 'read' : syscall === 'open' ? 'open' : 'write'
  const path = typeof e!.path === 'string' ? e!.path : undefined
  const where = path !== undefined ? escapeTerminal(path) : verb === 'write' ? 'to disk' : 'a file'
  const action = typeof problem.action === 'string' ? problem.action : problem.action(path)
  return new FirError(problem.code, `unable to ${verb} ${where}: ${problem.why} (${e!.code})`, {
    exitCode: ExitCode.usage,
    actions: [...(problem.hint ? [problem.hint] : []), action],
    cause: err,
  })
}

/**
 * "did you mean" for each flag oclif found no such flag for (`--action` → `--actions`): the one
 * flag of the command whose name the typed word begins, else the nearest by edit distance. oclif's
 * NonExistentFlagsError carries the words (`--action=url` as typed) and the command's flags.
 */
function flagSuggestions(err: unknown): string[] {
  const e = err as {
    flags?: unknown
    parse?: { input?: { flags?: Record<string, { aliases?: string[]; hidden?: boolean }> } }
  }
  const defined = e?.parse?.input?.flags
  if (!Array.isArray(e?.flags) || !defined) return []
  const names = Object.entries(defined)
    .filter(([, f]) => !f.hidden)
    .flatMap(([name, f]) => [name, ...(f.aliases ?? [])])
  const out: { typed: string; flag: string }[] = []
  for (const word of e.flags) {
    const typed = String(word).replace(/=.*$/s, '')
    if (!typed.startsWith('--') || typed.length < 4) continue
    const bare = typed.slice(2)
    const flag = closestName(bare, names)
    if (flag !== undefined) out.push({ typed, flag: `--${flag}` })
  }
  if (out.length === 1 && e.flags.length === 1) return [`did you mean ${out[0]!.flag}?`]
  return out.map(({ typed, flag }) => `${escapeTerminal(typed)}: did you mean ${flag}?`)
}

/** oclif's RequiredArgsError: the arguments not given, and what was parsed before it was found missing. */
export interface MissingArguments {
  message: string
  args: { name: string; description?: string }[]
  parse: {
    input: { flags: Record<string, { multiple?: boolean; multipleNonGreedy?: boolean }> }
    output: { flags: Record<string, unknown> }
  }
}

export function isMissingArguments(err: unknown): err is MissingArguments {
  const e = err as Partial<MissingArguments> | undefined
  return (
    err instanceof Errors.CLIError &&
    /^Missing \d+ required args?\b/.test(e?.message ?? '') &&
    Array.isArray(e?.args) &&
    typeof e?.parse?.output?.flags === 'object'
  )
}

/**
 * A missing argument as fir's usage error: which argument, what it is, what it may be (`choices`),
 * the usage and an example. oclif's own message adds, for every command with a flag of several
 * values (`--input`), a note to give the arguments before it; fir says so only when such a flag was
 * given — the one case where it may have taken the argument for one of its values.
 */
export function missingArgumentsError(
  err: MissingArguments,
  command: {
    command: string
    args: { name: string; required: boolean }[]
    example?: string
    choices?: string[]
  },
): UsageError {
  const names = err.args.map((a) => a.name.toUpperCase())
  const several = Object.entries(err.parse.input.flags)
    .filter(
      ([name, f]) =>
        f.multiple === true && !f.multipleNonGreedy && err.parse.output.flags[name] !== undefined,
    )
    .map(([name]) => `--${name}`)
  const usage = [
    command.command,
    ...command.args.map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`)),
    '[flags]',
  ].join(' ')
  return new UsageError(
    `unable to run \`${command.command}\`: the ${joinNames(names)} argument${names.length > 1 ? 's are' : ' is'} missing`,
    {
      actions: [
        ...err.args.flatMap((a) => (a.description ? [`${a.name.toUpperCase()}: ${a.description}`] : [])),
        ...(command.choices ?? []),
        `usage: ${usage}${command.example ? `, e.g. ${command.example}` : ''}`,
        ...(several.length
          ? [
              `${joinNames(several)} take${several.length > 1 ? '' : 's'} several values, so a word after ${several.length > 1 ? 'them' : 'it'} is read as one of them: give ${joinNames(names)} before ${joinNames(several)}, or put -- before ${names.length > 1 ? 'them' : 'it'}`,
            ]
          : []),
        `run \`${command.command} --help\` to see its flags and examples`,
      ],
      cause: err,
    },
  )
}

/** Maps anything thrown to a FirError: oclif parse errors are usage errors; the rest are bugs. */
export function toFir(err: unknown): FirError {
  if (isFirError(err)) return err
  const e = err as { oclif?: { exit?: number }; message?: string; name?: string }
  if (
    err instanceof Errors.CLIError ||
    e?.oclif?.exit !== undefined ||
    /Parse|Flag|Arg/.test(e?.name ?? '')
  ) {
    // oclif puts the reason on the lines after the first (`Parsing --log-hours \n\tExpected an
    // integer greater than or equal to 1 but received: -5\nSee more help with --help`).
    const message = (e?.message ?? String(err))
      .replace(/\u001b\[[0-9;]*m/g, '')
      .split('\n')
      .map((line) => line.trim().replace(/\s+/g, ' '))
      .filter((line) => line !== '' && !/^See more help/.test(line))
      .reduce((all, line) => (all === '' ? line : `${all}${all.endsWith(':') ? '' : ':'} ${line}`), '')
    return new UsageError(`unable to parse the command line: ${message}`, {
      actions: [...flagSuggestions(err), 'run the command with --help to see its flags and examples'],
      cause: err,
    })
  }
  // What the run had done before it failed (withActions) follows the error's own next steps.
  const fs = fileSystemProblem(err)
  if (fs) return withActions(fs, carriedActions(err))
  return new FirError('bug', `unexpected error: ${(err as Error)?.message ?? String(err)}`, {
    exitCode: ExitCode.bug,
    actions: ['this is a bug in fir: please report it with the stack trace above', ...carriedActions(err)],
    cause: err,
  })
}
