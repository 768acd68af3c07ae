import { randomBytes } from 'node:crypto'
import { basename, dirname, resolve } from 'node:path'
import {
  AccessDeniedError,
  FirError,
  GapsOnlyError,
  isFirError,
  messageOf,
  NOTHING_READ,
  PlaybookError,
  RefusedError,
  UsageError,
} from '../../errors.js'
import { asJournaled, type JournalEntry, type Outcome } from '../case/journal.js'
import {
  classifyValue,
  holdsRedaction,
  isRedaction,
  redactor,
  redactSecretsInText,
  redactValue,
} from '../common/redact.js'
import { arg, firCommand } from '../common/suggest.js'
import { compactUtc, escapeTerminal } from '../common/text.js'
import type { FirContext, Gap } from '../context.js'
import { announceActing, callerIdentity } from '../identity.js'
import { errorInfo, gapCall } from '../steps/define-step.js'
import { drillOf } from '../tabletop/safety.js'
import { type ActionSpec, specFor } from './action-specs.js'
import { type LoadedPlaybook, loadPlaybookText, PLAYBOOK_DIR } from './load.js'
import { ACTION_PERMISSIONS } from './render.js'
import { fitsInputType, type InputType, type Playbook, type PlaybookStep } from './schema.js'
import { standaloneCommands } from './standalone.js'
import {
  conditionHolds,
  containsUnresolved,
  hasTemplate,
  parseTemplate,
  pathsOf,
  renderDeep,
  renderTemplate,
  type Scope,
  Unresolved,
} from './template.js'
import { FIXED_BY_A_NEW_RUN, findUnfinishedRun, RUN_ACTION } from './unfinished-run.js'
import type { Problem } from './validate.js'

/**
 * What an action did: the journal outcome of the step, its outputs and one line for humans.
 * `conflict`: a restore left alone what someone changed since fir did (see outcomeOf); the run
 * goes on.
 */
export interface ActionOutcome {
  outcome: 'applied' | 'already-applied' | 'conflict' | 'skipped'
  /**
   * Some of the step's changes failed while others were made: each outcome counted, as `fir
   * contain` prints them (`applied 1, failed 1`). The outcome alone would read as if all were made.
   */
  partial?: string
  outputs: Record<string, unknown>
  summary: string
}

/** Everything an action implementation gets about the step it runs in. */
export interface StepRun {
  ctx: FirContext
  runId: string
  playbook: string
  stepId: string
  /** When this step was first started in this run (earlier than now when resumed after a crash). */
  firstStartedAt: string
  /** The step was started before and never finished (the process died): it is being re-run. */
  interrupted: boolean
}

export type ActionImpl = (run: StepRun, params: Record<string, unknown>) => Promise<ActionOutcome>

/** Action id → its spec and the code that performs it (an explicit table, see ./actions/). */
export type ActionRegistry = ReadonlyMap<string, { spec: ActionSpec; run: ActionImpl }>

export function specsOf(registry: ActionRegistry): ActionSpec[] {
  return [...registry.values()].map((a) => a.spec)
}

export type StepOutcome = 'applied' | 'already-applied' | 'conflict' | 'skipped' | 'failed' | 'denied'

export interface StepReport {
  id: string
  action: string
  title: string
  outcome: StepOutcome
  /** See ActionOutcome.partial. */
  partial?: string
  summary: string
  outputs: Record<string, unknown>
  /** This step finished in an earlier attempt of the run (resume): it was not run again. */
  fromEarlierAttempt?: boolean
}

export interface RunResult {
  runId: string
  playbook: string
  file: string
  resumed: boolean
  steps: StepReport[]
}

/** Hooks the tabletop uses: injects before a step, and confirmations answered as drill decisions. */
export interface RunHooks {
  beforeStep?(step: PlaybookStep, index: number): Promise<void>
  /** Answers a confirmation instead of --yes or the terminal; false skips the step (journaled). */
  decide?(step: PlaybookStep, question: string): Promise<boolean>
}

export interface RunOptions {
  registry: ActionRegistry
  hooks?: RunHooks
}

export const STEP_ACTION = 'playbook.step'
export const CONFIRM_ACTION = 'playbook.confirm'
const DONE: Outcome[] = ['applied', 'already-applied', 'conflict', 'skipped']

/**
 * Reads `--input key=value` flags. A key given twice is refused, not read last-wins: which of the
 * two values a step would act on (the function contained) must not be a guess.
 */
export function parseInputFlags(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of list ?? []) {
    const m = item.match(/^([A-Za-z][A-Za-z0-9_-]*)=(.*)$/s)
    if (!m) {
      throw new UsageError(
        `unable to read --input ${JSON.stringify(escapeTerminal(item))}: expected key=value`,
        {
          actions: ['pass inputs like --input function=payments-webhook --input since=3d'],
        },
      )
    }
    const [, key, value] = m as unknown as [string, string, string]
    if (Object.hasOwn(out, key)) {
      throw new UsageError(
        `unable to read --input ${escapeTerminal(key)}: it is given twice (${[out[key]!, value].map((v) => (classifyValue(key, v).secret ? redactValue(v) : JSON.stringify(escapeTerminal(v)))).join(' and ')})`,
        {
          actions: [
            `give --input ${escapeTerminal(key)}=… once; a list input takes its values in one, comma-separated (--input regions=us-east-1,eu-west-1)`,
          ],
        },
      )
    }
    out[key] = value
  }
  return out
}

/** Applies defaults, checks required and unknown inputs, and converts `type`d values. */
export function resolveInputs(playbook: Playbook, given: Record<string, unknown>): Record<string, unknown> {
  const declared = playbook.inputs ?? {}
  const names = Object.keys(declared)
  const unknown = Object.keys(given).filter((k) => !Object.hasOwn(declared, k))
  if (unknown.length > 0) {
    throw new UsageError(
      `unable to run playbook ${playbook.name}: unknown input${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => JSON.stringify(escapeTerminal(u))).join(', ')}`,
      {
        actions: [
          `its inputs are: ${names.join(', ') || 'none'} (see \`fir playbook show ${playbook.name}\`)`,
        ],
      },
    )
  }
  const out: Record<string, unknown> = {}
  const missing: string[] = []
  for (const [name, spec] of Object.entries(declared)) {
    const raw = Object.hasOwn(given, name) ? given[name] : spec.default
    if (raw === undefined || raw === '') {
      if (spec.required) missing.push(name)
      continue
    }
    out[name] = convert(name, raw, spec.type ?? 'string', playbook.name)
  }
  // A secret input is registered before anything shows it: a plan, an error, the journal.
  journaledInputs(out)
  if (missing.length > 0) {
    throw new UsageError(
      `unable to run playbook ${playbook.name}: missing required input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      {
        actions: [
          `pass ${missing.map((m) => `--input ${m}=<${declared[m]?.description ?? 'value'}>`).join(' ')}`,
        ],
      },
    )
  }
  return out
}

function convert(name: string, raw: unknown, type: InputType, playbook: string): unknown {
  if (type === 'list') {
    if (Array.isArray(raw)) return raw.map(String)
    return String(raw)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  }
  if (type === 'string') return Array.isArray(raw) ? raw.join(',') : String(raw)
  // The rule validation checks defaults with, so a default that validates converts.
  if (!fitsInputType(raw, type)) {
    journaledInputs({ [name]: String(raw) })
    throw new UsageError(
      `unable to run playbook ${playbook}: input ${name} must be a ${type}, got ${JSON.stringify(escapeTerminal(String(raw)))}`,
      {
        actions: [`pass --input ${name}=<${type}>`],
      },
    )
  }
  if (type === 'number') return Number(raw)
  return typeof raw === 'boolean' ? raw : /^(true|yes|1)$/i.test(String(raw))
}

/** Inputs as journaled: secret-looking values are registered with the redactor and redacted. */
function journaledInputs(inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const kept = (k: string, v: string): string => {
    if (classifyValue(k, v).secret) {
      redactor.register(v)
      return redactValue(v)
    }
    // A secret inside a free text (`note=rotated … wJalr…`, `DB_PASSWORD=…`): registered, so the
    // plan, the prompt and the journal show it redacted.
    return redactSecretsInText(v)
  }
  for (const [k, v] of Object.entries(inputs)) {
    if (typeof v === 'string') out[k] = kept(k, v)
    else if (Array.isArray(v)) out[k] = v.map((item) => (typeof item === 'string' ? kept(k, item) : item))
    else out[k] = v
  }
  return out
}

/**
 * Registers the secrets inside a step's free-text values (`freeText` params: a note's text), so a
 * note that quotes a password is redacted in the journal and every output as a free-text input is.
 * A value that needs an earlier step's outputs is registered with what is known of it (the literal
 * text around the reference), and again when its step runs.
 */
function registerFreeTextSecrets(spec: ActionSpec | undefined, params: Record<string, unknown>): void {
  for (const [name, p] of Object.entries(spec?.params ?? {})) {
    const v = params[name]
    if (p.freeText && (typeof v === 'string' || v instanceof Unresolved)) redactSecretsInText(String(v))
  }
}

/**
 * registerFreeTextSecrets for every step, from the literals and the inputs: before the run's start
 * is journaled (it holds the playbook's text) or the plan is shown.
 */
function registerPlaybookFreeText(
  loaded: LoadedPlaybook,
  inputs: Record<string, unknown>,
  registry: ActionRegistry,
): void {
  const scope = unknownScope(loaded.playbook, inputs)
  for (const step of loaded.playbook.steps) {
    const spec = registry.get(step.action)?.spec ?? specFor(step.action)
    registerFreeTextSecrets(spec, renderDeep(step.with ?? {}, scope) as Record<string, unknown>)
  }
}

// ---------- the plan (--dry-run) ----------

export interface PlanStep {
  id: string
  action: string
  title: string
  mutates: boolean
  with: Record<string, unknown>
  /** The `if` expression and what it evaluates to now ('unresolved' when it needs outputs). */
  condition?: { expression: string; value: boolean | 'unresolved' }
  confirm: boolean
  onError: 'stop' | 'continue'
}

function unknownScope(playbook: Playbook, inputs: Record<string, unknown>): Scope {
  const steps: Scope['steps'] = {}
  for (const s of playbook.steps) steps[s.id] = { outputs: new Unresolved(`steps.${s.id}.outputs`) as never }
  return { inputs, steps }
}

function renderText(value: string, scope: Scope): unknown {
  return hasTemplate(value) ? renderTemplate(parseTemplate(value), scope) : value
}

function stepTitle(step: PlaybookStep, spec: ActionSpec | undefined, scope: Scope): string {
  if (step.title) {
    const t = renderText(step.title, scope)
    return t instanceof Unresolved ? t.toString() : String(t)
  }
  return spec?.title ?? step.action
}

/**
 * The whole plan without running anything: each step with its `with` values templated from the
 * inputs; values that need outputs of earlier steps stay as unresolved references.
 */
export async function planPlaybook(
  loaded: LoadedPlaybook,
  given: Record<string, unknown>,
  registry: ActionRegistry,
  now = Date.now(),
): Promise<PlanStep[]> {
  const inputs = resolveInputs(loaded.playbook, given)
  registerPlaybookFreeText(loaded, inputs, registry)
  await checkValuesFromInputs(loaded, inputs, registry, { mode: 'plan', now })
  const scope = unknownScope(loaded.playbook, inputs)
  let confirmed = false
  return loaded.playbook.steps.map((step) => {
    const spec = registry.get(step.action)?.spec ?? specFor(step.action)
    const withValues = renderDeep(step.with ?? {}, scope) as Record<string, unknown>
    let condition: PlanStep['condition']
    if (step.if !== undefined)
      condition = { expression: String(step.if), value: conditionHolds(step.if, scope) }
    const confirm = Boolean(step.confirm) || (Boolean(spec?.mutates) && !confirmed)
    // As the run does: a step that does not run (an `if` false, or not known yet) confirms
    // nothing, so the first change that surely runs is still asked.
    if (confirm && (condition === undefined || condition.value === true)) confirmed = true
    return {
      id: step.id,
      action: step.action,
      title: stepTitle(step, spec, scope),
      mutates: spec?.mutates ?? false,
      with: withValues,
      ...(condition ? { condition } : {}),
      confirm,
      onError: step['on-error'] ?? 'stop',
    }
  })
}

// ---------- values known before the first step ----------

/** The inputs a `with` value's templates read (`{{ inputs.since }}` → since). */
function inputsRead(raw: unknown): string[] {
  const out = new Set<string>()
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (!hasTemplate(v)) return
      for (const { path } of pathsOf(parseTemplate(v)))
        if (path[0] === 'inputs' && typeof path[1] === 'string') out.add(path[1])
    } else if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object') Object.values(v).forEach(walk)
  }
  walk(raw)
  return [...out]
}

/**
 * Checks every `with` value that depends on the inputs and literals only — not on an earlier
 * step's outputs — against its parameter, before anything runs (run, resume, --dry-run): a bad
 * input must not be found at the step that takes it, after earlier steps changed AWS. Each value
 * is checked as the action's own command checks it before its first AWS call: its schema, then
 * the action's preflight (a source that must exist, a window not in the future, as of `now`).
 * Every problem is reported at once, with the file, line and column of the value. A step whose
 * `if` is false from the inputs alone is not checked; one whose `if` needs outputs may still be
 * skipped, so only a value given but wrong counts there, not an empty one. Values that need
 * outputs are checked when their step runs (checkParams).
 */
export async function checkValuesFromInputs(
  loaded: LoadedPlaybook,
  inputs: Record<string, unknown>,
  registry: ActionRegistry,
  options: { mode: 'plan' | 'run' | 'resume'; now: number; runAgain?: string },
): Promise<void> {
  const { mode, runAgain } = options
  const scope = unknownScope(loaded.playbook, inputs)
  const problems: Problem[] = []
  const named = new Set<string>()
  for (const [index, step] of loaded.playbook.steps.entries()) {
    const spec = registry.get(step.action)?.spec ?? specFor(step.action)
    if (!spec) continue
    let maySkip = false
    if (step.if !== undefined) {
      const holds = conditionHolds(step.if, scope)
      if (holds === 'unresolved') maySkip = true
      else if (!holds) continue
    }
    const params = renderDeep(step.with ?? {}, scope) as Record<string, unknown>
    const found = paramProblems(loaded, index, spec, params, { known: true, maySkip })
    if (spec.preflight) {
      // Only the values that passed their schema: a value is refused once, for its first problem.
      const passed: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(params))
        if (!isEmpty(v) && !containsUnresolved(v) && !found.some((f) => f.param === k)) passed[k] = v
      for (const { param, message } of await spec.preflight(passed, options.now))
        found.push({
          param,
          problem: valueProblem(loaded, index, param, params[param], 'from the inputs', message),
        })
    }
    for (const f of found)
      for (const i of inputsRead(f.param !== undefined ? step.with?.[f.param] : step.with)) named.add(i)
    problems.push(...found.map((f) => f.problem))
  }
  if (problems.length === 0) return
  problems.sort((a, b) => a.line - b.line || a.col - b.col)
  const given = [...named].map((i) => `--input ${i}=…`).join(' ')
  const err = new PlaybookError(
    `unable to run playbook ${loaded.playbook.name}: ${problems.length === 1 ? 'a value' : `${problems.length} values`} from its inputs ${problems.length === 1 ? 'is' : 'are'} not what the step${problems.length === 1 ? '' : 's'} taking ${problems.length === 1 ? 'it accepts' : 'them accept'}; nothing was run\n${problems.map((p) => `  ${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n')}`,
    problems,
    {
      actions:
        mode !== 'resume'
          ? [
              `give ${given || 'the inputs'} again with a value the step accepts (see \`fir playbook show ${loaded.playbook.name}\`)`,
              ...(mode === 'run' ? ['check the whole plan first with --dry-run'] : []),
            ]
          : [
              'a resumed run keeps the inputs its run started with (the journal), so it would stop here again',
              `with a value the step accepts, ${runAgain ?? 'run the playbook again'}`,
            ],
    },
  )
  ;(err as PlaybookError & { envelopeExtra?: unknown }).envelopeExtra = { result: { problems } }
  throw err
}

// ---------- running ----------

interface RunState {
  loaded: LoadedPlaybook
  runId: string
  inputs: Record<string, unknown>
  /** Finished steps (this attempt or an earlier one): outcome and outputs. */
  done: Map<
    string,
    {
      outcome: StepOutcome
      partial?: string
      outputs: Record<string, unknown>
      summary: string
      earlier: boolean
    }
  >
  /** Steps started in an earlier attempt but never finished, with their first start time. */
  interrupted: Map<string, string>
  /**
   * A change of this run was confirmed (--yes, an answer, or a step that changes AWS ran): a later
   * step that changes AWS without `confirm` of its own is not asked. A step with `confirm` always is.
   */
  changeConfirmed: boolean
  /** Steps confirmed in an earlier attempt (a yes journaled, or the step started): not asked again. */
  agreed: Set<string>
  resumed: boolean
  /** How to run the playbook again (for errors that resume cannot get past). */
  runAgain: string
  /** The inputs the journal does not keep (secret): a resume is given them again (resumeCommand). */
  notKept: string[]
}

/** Runs a validated playbook from its first step. */
export async function runPlaybook(
  ctx: FirContext,
  loaded: LoadedPlaybook,
  given: Record<string, unknown>,
  options: RunOptions,
): Promise<RunResult> {
  checkActionsAvailable(loaded, options.registry)
  const inputs = resolveInputs(loaded.playbook, given)
  registerPlaybookFreeText(loaded, inputs, options.registry)
  await checkValuesFromInputs(loaded, inputs, options.registry, {
    mode: 'run',
    now: ctx.clock.awsNow().getTime(),
  })
  const runId = `${compactUtc(new Date())}-${randomBytes(3).toString('hex')}`
  const journaled = journaledInputs(inputs)
  await ctx.case.journal.append({
    action: RUN_ACTION,
    target: loaded.playbook.name,
    params: {
      runId,
      playbook: loaded.playbook.name,
      file: loaded.file,
      sha256: loaded.sha256,
      inputs: journaled,
      steps: loaded.playbook.steps.map((s) => s.id),
      // The playbook text itself, so `resume` runs exactly what was started even if the file changed.
      source: loaded.text,
    },
    outcome: 'started',
  })
  const state: RunState = {
    loaded,
    runId,
    inputs,
    done: new Map(),
    interrupted: new Map(),
    changeConfirmed: ctx.yes,
    agreed: new Set(),
    resumed: false,
    runAgain: runAgainHint(ctx, loaded.playbook.name, loaded.file),
    // As the journal holds them: its redactor may cut a secret out of another input too.
    notKept: inputsNotKept(asJournaled(journaled)),
  }
  return execute(ctx, state, options)
}

function checkActionsAvailable(loaded: LoadedPlaybook, registry: ActionRegistry): void {
  const missing = loaded.playbook.steps.filter((s) => !registry.has(s.action))
  if (missing.length > 0) {
    throw new PlaybookError(
      `unable to run playbook ${loaded.playbook.name}: this build of fir cannot perform ${[...new Set(missing.map((s) => s.action))].join(', ')}`,
      missing.map((s) => {
        const i = loaded.playbook.steps.indexOf(s)
        const p = loaded.source.at(['steps', i, 'action'], `action ${s.action} is not available`)
        return p
      }),
      { actions: ['update fir, or remove those steps from the playbook'] },
    )
  }
}

/** The steps of a run that failed and were passed over (on-error: continue, or gaps alone). */
function failedStepsOf(entries: readonly JournalEntry[], run: JournalEntry): JournalEntry[] {
  const runId = String(run.params.runId)
  return entries.filter(
    (e) =>
      e.action === STEP_ACTION &&
      String(e.params.runId) === runId &&
      (e.outcome === 'failed' || e.outcome === 'denied'),
  )
}

/**
 * The `<name|file>` to run a journaled run's playbook again: a shipped playbook by its name, any
 * other by the path of its file (a custom playbook's name is no argument `playbook run` finds).
 */
function playbookArgument(name: string, file: string | undefined): string {
  if (!file || file === 'journal') return name
  const shipped =
    resolve(dirname(file)) === PLAYBOOK_DIR && /^(.+)\.ya?ml$/.exec(basename(file))?.[1] === name
  return shipped ? name : file
}

/** How to finish a run's work by running its playbook again (changes made are not repeated). */
function runAgainHint(ctx: FirContext, name: string, file: string | undefined): string {
  const command = firCommand(['playbook', 'run', arg(playbookArgument(name, file))], ctx.aws, {
    caseDir: ctx.case.dir,
  })
  return `run the playbook again: ${command} --input … (changes already made are journaled already-applied)`
}

function runAgainOf(ctx: FirContext, run: JournalEntry): string {
  const name = String(run.params.playbook ?? run.target)
  return runAgainHint(ctx, name, typeof run.params.file === 'string' ? run.params.file : undefined)
}

/**
 * `resume --input`: the run goes on with exactly the inputs it started with, so a value may only be
 * given again for an input the journal does not keep — one recorded as `‹redacted…›` — and must be
 * the same value (its length and hash are checked against the marker). Returns the names given
 * again; any other `--input` is refused (exit 2).
 */
function checkGivenAgain(
  ctx: FirContext,
  playbook: Playbook,
  runId: string,
  recorded: Record<string, unknown>,
  overrides: Record<string, unknown>,
  runAgain: string,
): string[] {
  const clear: string[] = []
  const absent: string[] = []
  const differ: string[] = []
  const givenAgain: string[] = []
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(recorded, name)) {
      absent.push(name)
      continue
    }
    const kept = recorded[name]
    const converted = convert(name, value, playbook.inputs?.[name]?.type ?? 'string', playbook.name)
    if (!holdsRedaction(kept)) {
      // The same value again changes nothing (an input repeated from the run's command line).
      if (JSON.stringify(converted) !== JSON.stringify(kept)) clear.push(name)
      continue
    }
    givenAgain.push(name)
    const journaledForm = asJournaled(journaledInputs({ [name]: converted })[name])
    if (JSON.stringify(journaledForm) === JSON.stringify(kept)) continue
    if (isRedaction(kept)) differ.push(name)
    else
      ctx.log.warn(
        `input ${name} of run ${runId} is kept in the journal only in part (${escapeTerminal(JSON.stringify(kept))}): the value given again could not be checked against it; resuming with it`,
      )
  }
  const list = (names: string[]) => names.map((n) => JSON.stringify(escapeTerminal(n))).join(', ')
  if (clear.length > 0) {
    throw new UsageError(
      `unable to resume run ${runId} with --input ${list(clear)}: resume runs the playbook text and inputs its run started with, and the journal keeps ${clear.length === 1 ? 'this input' : 'these inputs'} (${clear.map((n) => `${escapeTerminal(n)}=${escapeTerminal(JSON.stringify(recorded[n]))}`).join(', ')}); --input only gives again an input that was secret (recorded as ‹redacted…›)`,
      {
        actions: [
          `resume without ${clear.map((n) => `--input ${escapeTerminal(n)}`).join(' ')}`,
          `to use another value, ${runAgain}`,
        ],
      },
    )
  }
  if (absent.length > 0) {
    const kept = Object.keys(recorded)
    throw new UsageError(
      `unable to resume run ${runId} with --input ${list(absent)}: the run did not start with ${absent.length === 1 ? 'that input' : 'those inputs'}, and resume runs with the inputs its run started with (${kept.join(', ') || 'none'})`,
      {
        actions: [
          `resume without ${absent.map((n) => `--input ${escapeTerminal(n)}`).join(' ')}`,
          `to use other inputs, ${runAgain}`,
        ],
      },
    )
  }
  if (differ.length > 0) {
    throw new UsageError(
      `unable to resume run ${runId}: the value given for ${list(differ)} is not the one the run started with (${differ.map((n) => `${escapeTerminal(n)} was ${String(recorded[n])}`).join(', ')}: the length or the SHA-256 differs)`,
      {
        actions: [
          `give the value the run started with: ${differ.map((n) => `--input ${escapeTerminal(n)}=…`).join(' ')}`,
          `to use another value, ${runAgain}`,
        ],
      },
    )
  }
  return givenAgain
}

/**
 * Continues the case's unfinished playbook run from the first step not finished. Finished steps are
 * not run again (their outputs come from the journal); the interrupted step is re-run, and the
 * steps beneath it are idempotent, so a change already made is journaled `already-applied`.
 */
/**
 * `fir playbook resume` for this case, as a responder pastes it: with the --region, --profile,
 * --role-arn and --endpoint-url this command was given (`region`: the one the run must act in),
 * and `--input <name>=<value>` for each input the journal does not keep (`notKept`: a secret), which
 * resume refuses to go without (exit 2) — placeholders for the responder to fill in.
 */
function resumeCommand(
  ctx: FirContext,
  extra: string[] = [],
  options: { region?: string; notKept?: readonly string[] } = {},
): string {
  const { notKept = [], ...where } = options
  const command = firCommand(['playbook', 'resume', ...extra], ctx.aws, { ...where, caseDir: ctx.case.dir })
  return [command, ...notKept.map((name) => `--input ${name}=<value>`)].join(' ')
}

/**
 * The inputs of a run the journal keeps only redacted, whole or in part (`‹redacted…›`: secret,
 * or a free text holding a secret): a resume must be given them again.
 */
function inputsNotKept(journaled: Record<string, unknown>): string[] {
  return Object.entries(journaled)
    .filter(([, v]) => holdsRedaction(v))
    .map(([k]) => k)
}

/**
 * A run is resumed where it acted: the account and region its first change was journaled in
 * (`aws.identity` after its start). A resume with another --region (or other credentials) would
 * change a function of the same name elsewhere, the banner the only sign of it.
 */
async function checkSameAccountAndRegion(
  ctx: FirContext,
  entries: readonly JournalEntry[],
  start: JournalEntry,
): Promise<void> {
  const acted = entries.find((e) => e.seq > start.seq && e.action === 'aws.identity')
  if (!acted) return // the run changed nothing yet: nowhere to hold it to
  const account = String(acted.params.account ?? '')
  const region = String(acted.params.region ?? '')
  const now = { account: (await callerIdentity(ctx.aws)).account, region: ctx.aws.region }
  if (now.account === account && now.region === region) return
  const differs = [
    ...(now.account !== account ? [`account ${now.account}, not ${account}`] : []),
    ...(now.region !== region ? [`region ${now.region}, not ${region}`] : []),
  ].join(' and ')
  throw new UsageError(
    `unable to resume run ${String(start.params.runId)}: it acted in account ${account}, region ${region}; this resume would act in ${differs}`,
    {
      actions: [
        `resume it where it acted: ${resumeCommand(ctx, ctx.yes ? ['--yes'] : [], { region, notKept: inputsNotKept((start.params.inputs ?? {}) as Record<string, unknown>) })}${now.account !== account ? `, with credentials for account ${account} (--profile or --role-arn)` : ''}`,
        'to act elsewhere, start a new run with `fir playbook run`',
      ],
    },
  )
}

export async function resumePlaybook(
  ctx: FirContext,
  overrides: Record<string, unknown>,
  options: RunOptions,
): Promise<RunResult> {
  const entries = ctx.case.journal.all()
  const { run: start, superseded, finished } = findUnfinishedRun(entries)
  if (superseded) {
    const name = String(superseded.params.playbook ?? superseded.target)
    throw new UsageError(
      `unable to resume a playbook in case ${ctx.case.meta.id}: its latest run finished; run ${String(superseded.params.runId)} of ${name}, started ${superseded.at}, did not finish, and later runs came after it`,
      {
        actions: [`to finish that work, ${runAgainOf(ctx, superseded)}`, 'see what ran with `fir case show`'],
      },
    )
  }
  if (!start) {
    const steps = finished ? failedStepsOf(entries, finished) : []
    if (finished && steps.length) {
      const name = String(finished.params.playbook ?? finished.target)
      // Each as the step ran it (its values, the AWS flags given, the case), ready to paste; the
      // bare command where the values name nothing it could act on.
      const commands = [
        ...new Set(
          steps.flatMap((s) => {
            const values = (s.params.with ?? {}) as Record<string, unknown>
            const own = standaloneCommands(String(s.params.action), values)
            const a = ACTION_PERMISSIONS[String(s.params.action)]
            const bare = a?.command ?? a?.commands[0]
            const words = own.length ? own : bare ? [bare.split(' ')] : []
            return words.map((w) => firCommand(w, ctx.aws, { caseDir: ctx.case.dir }))
          }),
        ),
      ]
      const gapsOnly = steps.filter((s) => s.error?.code === NOTHING_READ).length
      const why =
        gapsOnly === 0
          ? 'on-error: continue'
          : gapsOnly === steps.length
            ? 'for gaps alone'
            : 'on-error: continue, or for gaps alone'
      throw new UsageError(
        `unable to resume a playbook in case ${ctx.case.meta.id}: its latest run (${name}, ${String(finished.params.runId)}) finished, passing over ${steps.length === 1 ? 'a step that' : 'steps that'} failed (${why}): ${steps.map((s) => `${String(s.params.step)} (${String(s.params.action)}): ${escapeTerminal(s.error?.message ?? s.outcome)}`).join('; ')}`,
        {
          actions: [
            `fix what ${steps.length === 1 ? 'it names' : 'they name'}, then do that work on its own${commands.length ? `: ${commands.join(', ')}` : ''}`,
            `or ${runAgainOf(ctx, finished)}`,
            'see what ran with `fir case show`',
          ],
        },
      )
    }
    throw new UsageError(
      `unable to resume a playbook in case ${ctx.case.meta.id}: it has no unfinished playbook run`,
      {
        actions: [
          'start one with `fir playbook run <name> --case DIR --input …`',
          'see what ran with `fir case show`',
        ],
      },
    )
  }
  await checkSameAccountAndRegion(ctx, entries, start)
  const runId = String(start.params.runId)
  const text = String(start.params.source ?? '')
  const file = String(start.params.file ?? 'journal')
  const loaded = loadPlaybookText(text, file, specsOf(options.registry))
  checkActionsAvailable(loaded, options.registry)
  const recorded = (start.params.inputs ?? {}) as Record<string, unknown>
  const runAgain = runAgainOf(ctx, start)
  const givenAgain = checkGivenAgain(ctx, loaded.playbook, runId, recorded, overrides, runAgain)
  const merged: Record<string, unknown> = { ...recorded, ...overrides }
  const redacted = Object.entries(merged)
    .filter(([, v]) => holdsRedaction(v))
    .map(([k]) => k)
  if (redacted.length > 0) {
    throw new UsageError(
      `unable to resume run ${runId}: input ${redacted.join(', ')} was secret and is not kept in the journal`,
      {
        actions: [`pass it again: ${redacted.map((k) => `--input ${k}=…`).join(' ')}`],
      },
    )
  }
  const inputs = resolveInputs(loaded.playbook, merged)
  registerPlaybookFreeText(loaded, inputs, options.registry)
  await checkValuesFromInputs(loaded, inputs, options.registry, {
    mode: 'resume',
    now: ctx.clock.awsNow().getTime(),
    runAgain,
  })
  const state: RunState = {
    loaded,
    runId,
    inputs,
    done: new Map(),
    interrupted: new Map(),
    changeConfirmed: ctx.yes,
    agreed: new Set(),
    resumed: true,
    runAgain,
    notKept: inputsNotKept(recorded),
  }
  /** The gaps each step finished in an earlier attempt hit, and when it finished. */
  const earlierGaps = new Map<string, { gaps: Gap[]; at: string }>()
  for (const e of entries) {
    if (e.action !== STEP_ACTION && e.action !== CONFIRM_ACTION) continue
    if (String(e.params.runId) !== runId) continue
    const id = String(e.params.step)
    if (e.action === CONFIRM_ACTION) {
      if (e.params.answer === 'yes') state.agreed.add(id)
      continue
    }
    if (e.outcome === 'started') {
      // It ran, so it had been confirmed (--yes, an answer): re-run, it is not asked again.
      state.agreed.add(id)
      if (!state.done.has(id) && !state.interrupted.has(id)) state.interrupted.set(id, e.at)
      continue
    }
    const step = loaded.playbook.steps.find((s) => s.id === id)
    const onError = step?.['on-error'] ?? 'stop'
    const failed = e.outcome === 'failed' || e.outcome === 'denied'
    // A failure journaled with outputs is one the run went on past: on-error: continue, or a step
    // that failed for gaps alone (GapsOnlyError). Without them it stopped the run: run it again.
    const final = DONE.includes(e.outcome) || (failed && (onError === 'continue' || e.after !== undefined))
    if (final) {
      const after = (e.after ?? {}) as {
        outputs?: Record<string, unknown>
        summary?: string
        partial?: unknown
        gaps?: unknown
      }
      state.done.set(id, {
        outcome: e.outcome as StepOutcome,
        ...(typeof after.partial === 'string' ? { partial: after.partial } : {}),
        outputs: after.outputs ?? {},
        summary: after.summary ?? (failed ? `${e.outcome}: ${e.error?.message ?? ''}` : ''),
        earlier: true,
      })
      state.interrupted.delete(id)
      const gaps = Array.isArray(after.gaps) ? (after.gaps as Gap[]) : []
      if (failed && gaps.length === 0 && step) {
        // Journaled before steps kept their gaps: the failure passed over is the gap.
        gaps.push({
          what: `playbook step ${id} (${step.title ?? specFor(step.action)?.title ?? step.action})`,
          call: gapCall(step.action, e.error),
          reason: e.error?.message ?? e.outcome,
        })
      }
      earlierGaps.set(id, { gaps, at: e.at })
    } else if (!state.interrupted.has(id)) {
      // A failed step that stopped the run: it is run again.
      state.interrupted.set(id, e.at)
    }
  }
  carryEarlierGaps(ctx, runId, loaded.playbook, state, earlierGaps)
  state.changeConfirmed ||= loaded.playbook.steps.some(
    (s) => state.agreed.has(s.id) && (Boolean(s.confirm) || options.registry.get(s.action)?.spec.mutates),
  )
  const next = loaded.playbook.steps.find((s) => !state.done.has(s.id))
  await ctx.case.journal.append({
    action: 'playbook.resume',
    target: loaded.playbook.name,
    params: { runId, from: next?.id ?? null, finished: [...state.done.keys()], inputsGivenAgain: givenAgain },
    outcome: 'recorded',
  })
  return execute(ctx, state, options)
}

/**
 * The run's gaps include those its finished steps hit in earlier attempts (exit 4 if any). No
 * earlier attempt reported them (it was killed, refused or failed: only a run that finishes
 * reports its gaps), and resume does not run a finished step again, so what they name is still
 * missing from the case (a sealed set without the response a denied call would have held). Each
 * is listed with the step and the time it finished (`step seal, finished in an earlier attempt
 * (…): …`), and a warning says why they count. A step that is run again (interrupted, or failed
 * and stopped the run) journaled no gaps then: only what its new attempt hits counts.
 */
function carryEarlierGaps(
  ctx: FirContext,
  runId: string,
  playbook: Playbook,
  state: RunState,
  earlierGaps: ReadonlyMap<string, { gaps: Gap[]; at: string }>,
): void {
  const steps: string[] = []
  let count = 0
  for (const step of playbook.steps) {
    const earlier = earlierGaps.get(step.id)
    if (!earlier?.gaps.length || !state.done.has(step.id)) continue
    const scoped = ctx.gaps.scoped(`step ${step.id}, finished in an earlier attempt (${earlier.at})`)
    for (const g of earlier.gaps) scoped.add(g)
    steps.push(step.id)
    count += scoped.list.length
  }
  if (count === 0) return
  ctx.log.warn(
    `run ${runId}: ${count === 1 ? '1 gap was' : `${count} gaps were`} hit in an earlier attempt by ${steps.length === 1 ? 'step' : 'steps'} ${steps.join(', ')}, which finished then and ${steps.length === 1 ? 'is' : 'are'} not run again: what ${count === 1 ? 'it names is' : 'they name is'} still missing from the case, so ${count === 1 ? 'it counts' : 'they count'} (exit 4, done with gaps); see the gaps listed`,
  )
}

async function execute(ctx: FirContext, state: RunState, options: RunOptions): Promise<RunResult> {
  const { playbook } = state.loaded
  const journal = ctx.case.journal
  const reports: StepReport[] = []
  const scope: Scope = { inputs: state.inputs, steps: {} }
  for (const [id, d] of state.done) scope.steps[id] = { outputs: d.outputs }
  if (!ctx.dryRun && playbook.steps.some((s) => options.registry.get(s.action)?.spec.mutates)) {
    await announceActing(ctx)
  }

  for (const [index, step] of playbook.steps.entries()) {
    const impl = options.registry.get(step.action)!
    const spec = impl.spec
    const previous = state.done.get(step.id)
    if (previous) {
      reports.push({
        id: step.id,
        action: step.action,
        title: stepTitle(step, spec, scope),
        ...previous,
        fromEarlierAttempt: previous.earlier,
      })
      continue
    }
    await options.hooks?.beforeStep?.(step, index)
    const title = stepTitle(step, spec, scope)
    const target = `${playbook.name}#${step.id}`
    const base = { runId: state.runId, step: step.id, action: step.action }

    if (step.if !== undefined) {
      const holds = conditionHolds(step.if, conditionScope(scope, state))
      if (holds !== true) {
        const expression = typeof step.if === 'string' ? step.if : 'false'
        const summary =
          holds === 'unresolved'
            ? `skipped: condition ${expression} is unknown: ${unknownBecause(step.if, state)}`
            : `skipped: condition ${expression} is false`
        ctx.log.info(
          `fir: step ${index + 1}/${playbook.steps.length} ${step.id} (${step.action}): ${summary}`,
        )
        await journal.append({
          action: STEP_ACTION,
          target,
          params: { ...base, if: String(step.if) },
          outcome: 'skipped',
          after: { outputs: {}, summary },
        })
        scope.steps[step.id] = { outputs: {} }
        state.done.set(step.id, { outcome: 'skipped', outputs: {}, summary, earlier: false })
        reports.push({ id: step.id, action: step.action, title, outcome: 'skipped', summary, outputs: {} })
        continue
      }
    }

    const params = renderDeep(step.with ?? {}, scope) as Record<string, unknown>
    registerFreeTextSecrets(spec, params)
    try {
      checkParams(state.loaded, index, spec, params, state.runAgain)
    } catch (err) {
      await journal.append({
        action: RUN_ACTION,
        target: playbook.name,
        params: { runId: state.runId, failedStep: step.id },
        outcome: 'failed',
        error: { code: isFirError(err) ? err.code : 'bug', message: messageOf(err) },
      })
      throw err
    }

    // Every step with `confirm` is asked, each on its own; the first change of the run is asked
    // even without it. A step agreed to in an earlier attempt of the run is not asked again.
    const needsConfirm = Boolean(step.confirm) || (spec.mutates && !state.changeConfirmed)
    if (needsConfirm && !state.agreed.has(step.id)) {
      const question =
        typeof step.confirm === 'string'
          ? String(renderText(step.confirm, scope))
          : `Run step ${step.id} (${title}): ${step.action} ${describeParams(params)}?`
      if (ctx.yes) {
        // Not asked: the journal still shows which question --yes answered, step by step.
        await journal.append({
          action: CONFIRM_ACTION,
          target,
          params: { ...base, question, answer: 'yes', by: '--yes' },
          outcome: 'recorded',
        })
      } else if (options.hooks?.decide) {
        if (!(await options.hooks.decide(step, question))) {
          const summary = 'skipped: the responders decided not to run it'
          await journal.append({
            action: STEP_ACTION,
            target,
            params: { ...base, with: params },
            outcome: 'skipped',
            after: { outputs: {}, summary },
          })
          scope.steps[step.id] = { outputs: {} }
          state.done.set(step.id, { outcome: 'skipped', outputs: {}, summary, earlier: false })
          reports.push({ id: step.id, action: step.action, title, outcome: 'skipped', summary, outputs: {} })
          continue
        }
      } else {
        if (!ctx.interactive) {
          throw new RefusedError(
            `unable to run step ${step.id} of playbook ${playbook.name}: it needs confirmation and stdin is not a terminal`,
            {
              actions: [
                `continue with \`${resumeCommand(ctx, ['--yes'], { notKept: state.notKept })}\``,
                'or re-run with --dry-run to see the whole plan',
              ],
            },
          )
        }
        const yes = await ctx.confirm(question)
        await journal.append({
          action: CONFIRM_ACTION,
          target,
          params: { ...base, question, answer: yes ? 'yes' : 'no', by: 'terminal' },
          outcome: 'recorded',
        })
        if (!yes) {
          throw new RefusedError(`stopped playbook ${playbook.name} before step ${step.id}: not confirmed`, {
            actions: [
              `continue later with \`${resumeCommand(ctx, [], { notKept: state.notKept })}\` (on a terminal it asks again, from this step), or \`${resumeCommand(ctx, ['--yes'], { notKept: state.notKept })}\``,
            ],
          })
        }
      }
    }
    if (needsConfirm || spec.mutates) state.changeConfirmed = true

    ctx.log.info(`fir: step ${index + 1}/${playbook.steps.length} ${step.id} (${step.action})…`)
    const firstStartedAt = state.interrupted.get(step.id) ?? new Date().toISOString()
    await journal.append({
      action: STEP_ACTION,
      target,
      params: { ...base, with: params },
      outcome: 'started',
    })
    const actionCtx: FirContext = { ...ctx, yes: true }
    // The gaps this step hits are journaled with its outcome, so a resumed run still counts them.
    const gapsBefore = ctx.gaps.list.length
    const stepGaps = () => {
      const gaps = ctx.gaps.list.slice(gapsBefore)
      return gaps.length > 0 ? { gaps } : {}
    }
    try {
      const result = await impl.run(
        {
          ctx: actionCtx,
          runId: state.runId,
          playbook: playbook.name,
          stepId: step.id,
          firstStartedAt,
          interrupted: state.interrupted.has(step.id),
        },
        params,
      )
      const outputs = declaredOutputs(spec, result.outputs)
      const partial = result.partial ? { partial: result.partial } : {}
      await journal.append({
        action: STEP_ACTION,
        target,
        params: { ...base, with: params },
        outcome: result.outcome,
        after: { outputs, summary: result.summary, ...partial, ...stepGaps() },
      })
      ctx.log.info(`fir: step ${step.id}: ${result.outcome}: ${result.summary}`)
      scope.steps[step.id] = { outputs }
      state.done.set(step.id, {
        outcome: result.outcome,
        ...partial,
        outputs,
        summary: result.summary,
        earlier: false,
      })
      reports.push({
        id: step.id,
        action: step.action,
        title,
        outcome: result.outcome,
        ...partial,
        summary: result.summary,
        outputs,
      })
    } catch (err) {
      const outcome: StepOutcome = err instanceof AccessDeniedError ? 'denied' : 'failed'
      const fir = isFirError(err) ? err : undefined
      // A step that failed for gaps alone (it could read nothing) is passed over as any gap is.
      const onlyGaps = err instanceof GapsOnlyError
      const passedOver = (step['on-error'] === 'continue' || onlyGaps) && fir !== undefined
      // With the AWS calls that failed (DESIGN §1), as a step's gap names them; the action when none is known.
      const error = errorInfo(err)
      if (passedOver)
        ctx.gaps.add({
          what: `playbook step ${step.id} (${title})`,
          call: gapCall(step.action, error),
          reason: fir.message,
        })
      await journal.append({
        action: STEP_ACTION,
        target,
        params: { ...base, with: params },
        outcome,
        error,
        ...(passedOver
          ? { after: { outputs: {}, summary: `${outcome}: ${fir.message}`, ...stepGaps() } }
          : {}),
      })
      if (passedOver) {
        ctx.log.warn(
          `step ${step.id} ${outcome} (${onlyGaps ? 'a gap' : 'on-error: continue'}, the run goes on): ${fir.message}`,
        )
        const summary = `${outcome}: ${fir.message}`
        scope.steps[step.id] = { outputs: {} }
        state.done.set(step.id, { outcome, outputs: {}, summary, earlier: false })
        reports.push({ id: step.id, action: step.action, title, outcome, summary, outputs: {} })
        continue
      }
      await journal.append({
        action: RUN_ACTION,
        target: playbook.name,
        params: { runId: state.runId, failedStep: step.id },
        outcome: 'failed',
        error: { code: fir?.code ?? 'bug', message: messageOf(err) },
      })
      if (fir) {
        throw new FirError(fir.code, `${fir.message} (playbook ${playbook.name}, step ${step.id})`, {
          exitCode: fir.exitCode,
          cause: err,
          actions: [...new Set([...fir.actions, afterFailure(ctx, state, fir)])],
        })
      }
      throw err
    }
  }

  await journal.append({
    action: RUN_ACTION,
    target: playbook.name,
    params: { runId: state.runId, outcomes: Object.fromEntries(reports.map((r) => [r.id, r.outcome])) },
    outcome: 'applied',
  })
  return {
    runId: state.runId,
    playbook: playbook.name,
    file: state.loaded.file,
    resumed: state.resumed,
    steps: reports,
  }
}

/**
 * What to do once a failure that stopped the run is fixed. Resume only where it can get past it
 * (AWS's side: a permission granted, credentials renewed, a throttled or failed call): a resumed
 * run keeps the inputs, region and account the run started with, so after bad input (a name AWS
 * does not know, a value the step refuses) the playbook is run again, which makes no change twice.
 * A drill's emulator stopped with the drill: the drill is run again.
 */
function afterFailure(ctx: FirContext, state: RunState, fir: FirError): string {
  const drill = drillOf(ctx.case.journal.all())
  if (drill !== undefined)
    return `run the drill again: fir tabletop run ${drill} (a resume reaches nothing: the drill's emulator stopped with it)`
  if (FIXED_BY_A_NEW_RUN.has(fir.code))
    return `a resume keeps the inputs, region and account this run started with: after fixing it, ${state.runAgain}`
  return `after fixing it, continue with \`${resumeCommand(ctx, [], { notKept: state.notKept })}\``
}

/**
 * The scope a step's `if` is evaluated in: the outputs of a step that failed and was passed over
 * are unknown (Unresolved), not empty — a timeline that read nothing did not show that no secret
 * was read. A condition that needs them is 'unresolved', and its step is skipped as unknown.
 */
function conditionScope(scope: Scope, state: RunState): Scope {
  const failed = [...state.done].filter(([, d]) => d.outcome === 'failed' || d.outcome === 'denied')
  if (failed.length === 0) return scope
  const steps = { ...scope.steps }
  for (const [id] of failed) steps[id] = { outputs: new Unresolved(`steps.${id}.outputs`) as never }
  return { ...scope, steps }
}

/** Why a condition is unknown: the failed steps whose outputs it reads, each with its summary (why). */
function unknownBecause(condition: string | boolean, state: RunState): string {
  const read =
    typeof condition === 'string' && hasTemplate(condition)
      ? pathsOf(parseTemplate(condition)).flatMap(({ path }) =>
          path[0] === 'steps' && typeof path[1] === 'string' ? [path[1]] : [],
        )
      : []
  const failed = [...new Set(read)].flatMap((id) => {
    const d = state.done.get(id)
    return d && (d.outcome === 'failed' || d.outcome === 'denied') ? [`step ${id} ${d.summary}`] : []
  })
  return failed.join('; ')
}

function declaredOutputs(spec: ActionSpec, outputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(outputs))
    if (Object.hasOwn(spec.outputs, k) && v !== undefined) out[k] = v
  return out
}

const isEmpty = (v: unknown) => v === undefined || v === '' || v === null

/**
 * What is wrong with a step's templated `with` values. `known`: only the values that need no
 * output of an earlier step (the rest are unresolved), checked before the run; `maySkip`: the
 * step's `if` is not known yet, so an empty value is no problem (the step may not run).
 */
function paramProblems(
  loaded: LoadedPlaybook,
  index: number,
  spec: ActionSpec,
  params: Record<string, unknown>,
  options: { known?: boolean; maySkip?: boolean } = {},
): { problem: Problem; param?: string }[] {
  const problems: { problem: Problem; param?: string }[] = []
  const step = loaded.playbook.steps[index]!
  const from = options.known ? 'from the inputs' : 'after templating'
  for (const [name, p] of Object.entries(spec.params)) {
    const v = params[name]
    if (options.known && containsUnresolved(v)) continue
    if (isEmpty(v)) {
      if (p.required && !options.maySkip)
        problems.push({
          param: name,
          problem: loaded.source.at(
            ['steps', index, 'with', name],
            `step ${step.id}: parameter ${name} is empty ${from} (${JSON.stringify(step.with?.[name] ?? '')})`,
          ),
        })
      continue
    }
    const r = p.schema.safeParse(v)
    if (!r.success)
      problems.push({
        param: name,
        problem: valueProblem(loaded, index, name, v, from, r.error.issues.map((i) => i.message).join('; ')),
      })
  }
  if (
    spec.oneOf &&
    !options.maySkip &&
    !spec.oneOf.some((k) => containsUnresolved(params[k]) || !isEmpty(params[k]))
  )
    problems.push({
      problem: loaded.source.at(
        ['steps', index, 'with'],
        `step ${step.id}: none of ${spec.oneOf.join(', ')} has a value ${from}`,
      ),
    })
  return problems
}

/** A step's value that its parameter refuses, at the value's place in the file. */
function valueProblem(
  loaded: LoadedPlaybook,
  index: number,
  param: string,
  value: unknown,
  from: string,
  why: string,
): Problem {
  const step = loaded.playbook.steps[index]!
  return loaded.source.at(
    ['steps', index, 'with', param],
    `step ${step.id}: parameter ${param} = ${JSON.stringify(value)} ${from}: ${why}`,
  )
}

/** After templating, each value must fit its parameter (an output may be missing or of a surprising type). */
function checkParams(
  loaded: LoadedPlaybook,
  index: number,
  spec: ActionSpec,
  params: Record<string, unknown>,
  runAgain: string,
): void {
  const step = loaded.playbook.steps[index]!
  const problems = paramProblems(loaded, index, spec, params).map((p) => p.problem)
  for (const name of Object.keys(spec.params)) if (isEmpty(params[name])) delete params[name]
  if (problems.length > 0) {
    throw new PlaybookError(
      `unable to run step ${step.id} of playbook ${loaded.playbook.name}:\n${problems.map((p) => `  ${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n')}`,
      problems,
      {
        actions: [
          'check the outputs of the earlier steps (`fir case show`), or guard the step with `if:`',
          `resume runs the journal's playbook text and outputs, so it would stop here again: with the playbook fixed, ${runAgain}`,
        ],
      },
    )
  }
}

function describeParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(
      ([k, v]) =>
        `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    )
    .join(' ')
}
