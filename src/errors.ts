/** Exit codes of DESIGN §1. */
export const ExitCode = {
  ok: 0,
  bug: 1,
  usage: 2,
  integrity: 3,
  gaps: 4,
  refused: 5,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface FirErrorOptions {
  actions?: string[]
  cause?: unknown
  exitCode?: ExitCodeValue
  /** The AWS call that failed, as its IAM action (`lambda:PutFunctionConcurrency`), when one did. */
  call?: string
}

/**
 * An expected failure: it carries a stable code, a message of the form
 * `unable to <verb> <thing>: <reason>`, and the next steps for the responder.
 * Anything that is not a FirError is a bug and keeps its stack (exit 1).
 */
export class FirError extends Error {
  readonly code: string
  readonly actions: string[]
  readonly exitCode: ExitCodeValue
  /** See FirErrorOptions.call (an AccessDeniedError names its calls in `iamActions`). */
  declare readonly call?: string

  constructor(code: string, message: string, options: FirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.actions = options.actions ?? []
    this.exitCode = options.exitCode ?? ExitCode.usage
    if (options.call !== undefined) this.call = options.call
  }
}

/** Bad input or usage (exit 2). */
export class UsageError extends FirError {
  constructor(message: string, options: FirErrorOptions = {}) {
    super('usage', message, { ...options, exitCode: ExitCode.usage })
  }
}

/** A named thing does not exist (exit 2). */
export class NotFoundError extends FirError {
  constructor(message: string, options: FirErrorOptions = {}) {
    super('not-found', message, { ...options, exitCode: ExitCode.usage })
  }
}

/** AWS refused a call; `iamActions` names the permissions that are missing. */
export class AccessDeniedError extends FirError {
  readonly iamActions: string[]
  constructor(message: string, iamActions: string[], options: FirErrorOptions = {}) {
    super('access-denied', message, {
      ...options,
      exitCode: ExitCode.usage,
      actions: options.actions ?? [
        `grant ${iamActions.join(', ')} to the caller (see README, "IAM permissions"), or pass --role-arn with a role that has it`,
        'run `fir doctor` to see which permissions the caller appears to hold',
      ],
    })
    this.iamActions = iamActions
  }
}

/** Credentials are missing, expired or unusable, or the region/endpoint cannot be reached. */
export class AwsAccessError extends FirError {
  constructor(code: string, message: string, options: FirErrorOptions = {}) {
    super(code, message, { ...options, exitCode: ExitCode.usage })
  }
}

/** Evidence or journal failed verification (exit 3). */
export class IntegrityError extends FirError {
  constructor(message: string, options: FirErrorOptions = {}) {
    super('integrity', message, { ...options, exitCode: ExitCode.integrity })
  }
}

/** A change needs confirmation and stdin is not a terminal (exit 5). */
export class RefusedError extends FirError {
  constructor(message: string, options: FirErrorOptions = {}) {
    super('refused', message, {
      ...options,
      exitCode: ExitCode.refused,
      actions: options.actions ?? ['re-run with --yes to confirm, or with --dry-run to see the plan only'],
    })
  }
}

/** Another fir process holds the case lock. */
export class CaseLockedError extends FirError {
  constructor(message: string, options: FirErrorOptions = {}) {
    super('case-locked', message, { ...options, exitCode: ExitCode.usage })
  }
}

/** A playbook is invalid; `location` is file:line:col. */
export class PlaybookError extends FirError {
  readonly problems: { file: string; line: number; col: number; message: string }[]
  constructor(message: string, problems: PlaybookError['problems'], options: FirErrorOptions = {}) {
    super('playbook-invalid', message, { ...options, exitCode: ExitCode.usage })
    this.problems = problems
  }
}

/** The code of a {@link GapsOnlyError}, as the journal keeps it. */
export const NOTHING_READ = 'nothing-read'

/**
 * A playbook step that could do none of its work because each AWS call it needed is a gap (every
 * source of a timeline failed): the step failed, and what it would have found is unknown. Gaps are
 * never fatal, so the run goes on past it whatever the step's `on-error` (exit 4); the steps whose
 * `if` reads its outputs are skipped as unknown. Only the playbook runner sees it.
 */
export class GapsOnlyError extends FirError {
  constructor(message: string, options: FirErrorOptions = {}) {
    super(NOTHING_READ, message, { ...options, exitCode: ExitCode.gaps })
  }
}

/** A request was about to leave loopback while fir runs against the emulator. */
export class EmulatorSafetyError extends FirError {
  constructor(message: string, options: FirErrorOptions = {}) {
    super('emulator-safety', message, {
      ...options,
      exitCode: ExitCode.usage,
      actions: options.actions ?? [
        'point --endpoint-url (or AWS_ENDPOINT_URL) at a loopback emulator such as http://127.0.0.1:5000',
      ],
    })
  }
}

export function isFirError(err: unknown): err is FirError {
  return err instanceof FirError
}

/**
 * Adds next steps to an error on its way up: what a run had done before it failed (changes in
 * force in AWS, one that may be). A FirError takes them among its actions; any other error (a file
 * system call's: a full disk) carries them to the FirError the command makes of it (toFir, see
 * {@link carriedActions}). Returns the same error, for `throw`.
 */
export function withActions<E>(err: E, actions: readonly string[]): E {
  if (actions.length === 0 || typeof err !== 'object' || err === null) return err
  if (err instanceof FirError) err.actions.push(...actions)
  else {
    const e = err as { firActions?: string[] }
    e.firActions = [...(e.firActions ?? []), ...actions]
  }
  return err
}

/** The next steps {@link withActions} added to an error that is not a FirError. */
export function carriedActions(err: unknown): string[] {
  const carried = (err as { firActions?: unknown } | null)?.firActions
  return Array.isArray(carried) ? carried.filter((a): a is string => typeof a === 'string') : []
}

/**
 * The AWS calls (as IAM actions) whose failure an error reports, for a gap's `call`: a denial's
 * `iamActions`, else the call a FirError names, else that of the FirError it wraps (`cause`);
 * none when no AWS call is known (a bug, a refusal of fir's own).
 */
export function awsCallsOf(err: unknown): string[] {
  for (let e = err, depth = 0; e instanceof FirError && depth < 5; e = e.cause, depth++) {
    if (e instanceof AccessDeniedError && e.iamActions.length > 0) return [...e.iamActions]
    if (e.call !== undefined) return [e.call]
  }
  return []
}

/** The message of any thrown value, for logs and gaps. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/**
 * A FirError as it crosses a thread boundary: a structured clone of an Error keeps its message
 * but not its class, code, exit code or next steps, and an expected failure in a worker thread (a
 * rule folder that is missing) became a bug (exit 1) in the main thread. `fields`: its other own
 * fields (`iamActions`, `problems`, `envelopeExtra`), as they clone.
 */
export interface FirErrorData {
  name: string
  code: string
  message: string
  actions: string[]
  exitCode: ExitCodeValue
  stack?: string
  fields: Record<string, unknown>
}

const OWN_FIELDS = new Set(['name', 'code', 'message', 'actions', 'exitCode', 'stack', 'cause'])

export function firErrorData(err: FirError): FirErrorData {
  const fields: Record<string, unknown> = {}
  for (const k of Object.keys(err))
    if (!OWN_FIELDS.has(k)) fields[k] = (err as unknown as Record<string, unknown>)[k]
  return {
    name: err.name,
    code: err.code,
    message: err.message,
    actions: [...err.actions],
    exitCode: err.exitCode,
    ...(err.stack === undefined ? {} : { stack: err.stack }),
    fields,
  }
}

/** fir's error classes by name, each made from what a FirErrorData holds. */
const FIR_ERROR_CLASSES: Record<string, (d: FirErrorData, o: FirErrorOptions) => FirError> = {
  UsageError: (d, o) => new UsageError(d.message, o),
  NotFoundError: (d, o) => new NotFoundError(d.message, o),
  AccessDeniedError: (d, o) =>
    new AccessDeniedError(d.message, (d.fields.iamActions as string[] | undefined) ?? [], o),
  AwsAccessError: (d, o) => new AwsAccessError(d.code, d.message, o),
  IntegrityError: (d, o) => new IntegrityError(d.message, o),
  RefusedError: (d, o) => new RefusedError(d.message, o),
  CaseLockedError: (d, o) => new CaseLockedError(d.message, o),
  PlaybookError: (d, o) =>
    new PlaybookError(d.message, (d.fields.problems as PlaybookError['problems'] | undefined) ?? [], o),
  GapsOnlyError: (d, o) => new GapsOnlyError(d.message, o),
  EmulatorSafetyError: (d, o) => new EmulatorSafetyError(d.message, o),
}

/**
 * The FirError a FirErrorData describes, of its own class (a class fir does not know here is a
 * FirError with the same code and exit code), with its fields and the stack it had where thrown.
 */
export function firErrorFromData(data: FirErrorData): FirError {
  const make = Object.hasOwn(FIR_ERROR_CLASSES, data.name) ? FIR_ERROR_CLASSES[data.name] : undefined
  const err = make
    ? make(data, { actions: data.actions })
    : new FirError(data.code, data.message, { actions: data.actions, exitCode: data.exitCode })
  Object.assign(err, data.fields)
  if (data.stack !== undefined) err.stack = data.stack
  return err
}
