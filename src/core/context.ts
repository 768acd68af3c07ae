import type { AwsClients } from '../aws/clients.js'
import type { CaseHandle } from './case/case-folder.js'
import type { Clock } from './common/clock.js'
import { redactor } from './common/redact.js'
import { escapeTerminal } from './common/text.js'

/** A part of the job that could not be done: recorded, reported, never fatal (exit 4). */
export interface Gap {
  what: string
  call: string
  reason: string
}

export class Gaps {
  readonly list: Gap[] = []
  add(gap: Gap): void {
    if (!this.list.some((g) => g.what === gap.what && g.call === gap.call)) this.list.push(gap)
  }

  /**
   * The gaps of one part of a run (a sweep's snapshot of one account and region): kept in a list
   * of their own, as that part words them, and added here too with `scope` before their `what`,
   * so the run's list says where each one is.
   */
  scoped(scope: string): Gaps {
    return new ScopedGaps(this, scope)
  }
}

class ScopedGaps extends Gaps {
  constructor(
    private readonly parent: Gaps,
    private readonly scope: string,
  ) {
    super()
  }

  override add(gap: Gap): void {
    super.add(gap)
    this.parent.add({ ...gap, what: `${this.scope}: ${gap.what}` })
  }
}

/** Progress, warnings and the banner: stderr only, escaped and redacted. */
export interface Log {
  info(message: string): void
  warn(message: string): void
  progress(message: string): void
}

export function stderrLog(quiet = false): Log & { warnings: string[] } {
  const warnings: string[] = []
  const write = (line: string) => {
    if (!quiet) process.stderr.write(`${escapeTerminal(redactor.scrub(line), true)}\n`)
  }
  return {
    warnings,
    info: write,
    warn(message) {
      warnings.push(redactor.scrub(message))
      write(`warning: ${message}`)
    },
    progress(message) {
      if (!quiet && process.stderr.isTTY)
        process.stderr.write(`\r${escapeTerminal(redactor.scrub(message))}\u001b[K`)
      else if (!quiet && process.env.FIR_PROGRESS === 'lines') write(message)
    },
  }
}

/** What every core operation receives: clients, clock, case, log and gap list (STYLE.md). */
export interface FirContext {
  aws: AwsClients
  clock: Clock
  case: CaseHandle
  log: Log
  gaps: Gaps
  firVersion: string
  /** stdin is a terminal: confirmations may be asked. */
  interactive: boolean
  yes: boolean
  dryRun: boolean
  /** Asks the responder a yes/no question on the terminal. */
  confirm(question: string): Promise<boolean>
}
