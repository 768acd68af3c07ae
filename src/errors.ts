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

  constructor(code: string, message: string, options: FirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.actions = options.actions ?? []
    this.exitCode = options.exitCode ?? ExitCode.usage
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

/** The message of any thrown value, for logs and gaps. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
