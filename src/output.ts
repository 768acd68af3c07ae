import { redactor } from './core/common/redact.js'
import { escapeTerminal, jsonText } from './core/common/text.js'
import type { Gap } from './core/context.js'
import { ExitCode, type ExitCodeValue, type FirError } from './errors.js'

/** What a command returns: the JSON result and the human rendering of the same facts. */
export interface CommandOutcome<R = unknown> {
  result: R
  human: string
  warnings?: string[]
  gaps?: Gap[]
  /** Overrides the exit code a finished command gets (0, or 4 with gaps). */
  status?: ExitCodeValue
  /** `human` lists the gaps itself, where its layout puts them (gapLines): not appended after it. */
  gapsShown?: boolean
}

export function renderJson(doc: unknown): string {
  return jsonText(redactor.scrubDeep(doc), 2)
}

export function statusFor(outcome: CommandOutcome): ExitCodeValue {
  if (outcome.status !== undefined) return outcome.status
  return outcome.gaps && outcome.gaps.length > 0 ? ExitCode.gaps : ExitCode.ok
}

/** The envelope of a finished command (DESIGN §1). */
export function finishedEnvelope(outcome: CommandOutcome): Record<string, unknown> {
  return {
    status: statusFor(outcome),
    result: outcome.result,
    warnings: outcome.warnings ?? [],
    gaps: outcome.gaps ?? [],
  }
}

/**
 * What `fir --version --json` prints: the version as a finished command's one JSON document
 * (DESIGN §1); undefined when `args` (the words after `fir`) ask for no version as JSON. The
 * version is asked for as oclif reads it (`--version` first, whatever follows) or among flags only
 * (`--json --version`). The entry points ask before oclif runs: it prints its text version line
 * before any hook could stop it.
 */
export function versionDocument(args: readonly string[], version: string): string | undefined {
  const asked =
    args[0] === '--version' || (args.includes('--version') && args.every((a) => a.startsWith('-')))
  if (!asked || !args.includes('--json')) return undefined
  return `${renderJson(finishedEnvelope({ result: { version }, human: version }))}\n`
}

/**
 * versionDocument with fir's own version (package.json, beside src/ and dist/ alike): what both
 * entry points, bin/run.js and bin/dev.js, print before oclif runs.
 */
export async function ownVersionDocument(args: readonly string[]): Promise<string | undefined> {
  const { readFile } = await import('node:fs/promises')
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return versionDocument(args, pkg.version)
}

/** The envelope of a command that did not finish. */
export function errorEnvelope(err: FirError, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: err.exitCode,
    error: { code: err.code, message: err.message, actions: err.actions },
    ...extra,
  }
}

/**
 * A command's error, with what the command had found before it failed: `--json` carries `result`
 * in the error document (the one document, DESIGN §1), and human output prints `human` on stdout
 * before the error (on stderr). Returns the same error, for `throw`.
 */
export function withFoundSoFar<E>(err: E, result: unknown, human: string): E {
  if (typeof err === 'object' && err !== null)
    Object.assign(err, { envelopeExtra: { result }, humanSoFar: human })
  return err
}

/** Human text for stdout: our own layout kept, every control character in it escaped, secrets scrubbed. */
export function renderHuman(text: string): string {
  return escapeTerminal(redactor.scrub(text), true)
}

/**
 * The gaps block of human output, one line a gap. A gap's fields quote AWS names (an account's
 * name, a function's) and error messages: each is escaped on its own, line breaks included, so no
 * field can break its line or forge another (renderHuman keeps the block's own line breaks).
 */
export function renderGaps(gaps: Gap[]): string {
  if (gaps.length === 0) return ''
  return ['', `Gaps (${gaps.length}) — collected everything else:`, ...gapLines(gaps)].join('\n')
}

/** One line a gap, `  - what [call]: reason`, each field escaped on its own (see renderGaps). */
export function gapLines(gaps: Gap[]): string[] {
  const field = (v: string) => escapeTerminal(redactor.scrub(v))
  return gaps.map((g) => `  - ${field(g.what)} [${field(g.call)}]: ${field(g.reason)}`)
}

/**
 * Prints a command's error as DESIGN §1 says: with `--json` the error envelope on stdout, else
 * fir's error text on stderr; and sets the exit code.
 */
export function writeError(err: FirError, json: boolean, extra: Record<string, unknown> = {}): void {
  if (json) process.stdout.write(`${renderJson(errorEnvelope(err, extra))}\n`)
  else process.stderr.write(`${renderError(err)}\n`)
  process.exitCode = err.exitCode
}

export function renderError(err: FirError): string {
  const lines = [`error: ${err.message}`]
  for (const a of err.actions) lines.push(`  → ${a}`)
  return escapeTerminal(redactor.scrub(lines.join('\n')), true)
}
