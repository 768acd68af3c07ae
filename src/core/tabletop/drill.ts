import { lstat, mkdir, readdir, rmdir, stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { AwsClients } from '../../aws/clients.js'
import { UsageError } from '../../errors.js'
import { CASES_DIR, CaseHandle, refusedCaseFolder, validateCaseId } from '../case/case-folder.js'
import { DIR_MODE } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { compactUtc } from '../common/text.js'
import type { Gap } from '../context.js'
import { type FirContext, Gaps, type Log } from '../context.js'
import {
  type ActionRegistry,
  type RunHooks,
  type RunResult,
  resolveInputs,
  runPlaybook,
} from '../playbook/runner.js'
import { renderDeep } from '../playbook/template.js'
import { isEmulatorLimit, startEmulator } from './emulator.js'
import { Facilitator } from './facilitator.js'
import type { LoadedScenario } from './scenario.js'
import { seedScenario, seedScope } from './seed.js'

export interface DrillOptions {
  loaded: LoadedScenario
  /** `--case DIR`: created by the drill; default ./cases/tabletop-<scenario>-<UTC stamp>. */
  caseDir?: string
  cwd?: string
  interactive: boolean
  /** Where the responders' answers come from (stdin) and where the facilitator speaks (stderr). */
  input: Readable
  say: (text: string) => void
  log: Log
  firVersion: string
  registry: ActionRegistry
  now?: Date
}

/** How the drill's report did against the planted compromise. */
export interface Scorecard {
  compromise: string
  expected: string[]
  /** Each expected finding and the report finding that names it (null when the report missed it). */
  matches: { expected: string; finding: string | null }[]
  detected: boolean
}

export interface DrillResult {
  scenario: string
  title: string
  case: string
  report: string | null
  reports: string[]
  playbook: string
  run: RunResult
  scorecard: Scorecard
  emulator: { endpoint: string; stopped: boolean }
  seed: { account: string; region: string; trailSource: string; trailFiles: number; records: number }
  /** Things the emulator cannot do (moto's missing routes): listed, not failures of the drill. */
  emulatorGaps: Gap[]
  /**
   * Every other gap of the run: what it could not do although the emulator can (a change that
   * did not complete, all or part of it). The drill exits 4 with these, as the command would.
   */
  gaps: Gap[]
  transcript: Facilitator['transcript']
}

/** How many drills may start in one second in one folder before the name is refused. */
const MAX_SAME_SECOND = 100

/**
 * The drill's case: id and folder, the folder claimed before the emulator starts. `--case DIR` must
 * not exist or be an empty folder; its name is the id when it is one (else the default id). The
 * default, ./cases/tabletop-<scenario>-<UTC stamp>, is made with mkdir, which only one process
 * can do: a drill started in the same second as another takes the next free suffix (`-2`, `-3`…),
 * so names stay readable and sort in start order. `release` removes what the claim made while it
 * is still empty (the emulator did not start: a drill that stops there leaves nothing behind).
 */
async function claimCase(
  given: string | undefined,
  cwd: string,
  scenario: string,
  now: Date,
): Promise<{ id: string; dir: string; release: () => Promise<void> }> {
  const stamp = compactUtc(now).replace(/\.\d{3}Z$/, 'Z')
  const fallback = `tabletop-${scenario}-${stamp}`
  if (given) {
    const dir = resolve(cwd, given)
    const name = basename(dir)
    let id = fallback
    try {
      validateCaseId(name)
      id = name
    } catch {}
    await assertCaseDirFree(dir, id)
    return { id, dir, ...(await claimFolder(dir).catch(() => ({ release: async () => {} }))) }
  }
  for (let n = 1; n <= MAX_SAME_SECOND; n++) {
    const id = n === 1 ? fallback : `${fallback}-${n}`
    const dir = resolve(cwd, CASES_DIR, id)
    try {
      return { id, dir, ...(await claimFolder(dir)) }
    } catch (err) {
      // A folder fir may not write to: said as case init says it, with the folder to choose instead.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw refusedCaseFolder(err, id, dir, '--case')
    }
  }
  throw new UsageError(
    `unable to create case ${fallback}: ${MAX_SAME_SECOND} cases of that name, with suffixes, already exist in ${resolve(cwd, CASES_DIR)}`,
    { actions: ['wait a second and run the drill again, or pass --case a new folder'] },
  )
}

/**
 * Makes `dir` (and the folders above it), failing with EEXIST when it exists: the claim of a case
 * folder. `release` removes the folders it made, as long as they are empty.
 */
async function claimFolder(dir: string): Promise<{ release: () => Promise<void> }> {
  const above = await mkdir(dirname(dir), { recursive: true, mode: DIR_MODE })
  await mkdir(dir, { mode: DIR_MODE })
  return {
    async release() {
      const made = [dir]
      if (above) for (let d = dirname(dir); d.startsWith(above); d = dirname(d)) made.push(d)
      for (const d of made) {
        const removed = await rmdir(d).then(
          () => true,
          () => false, // not empty (something was put there) or gone: leave it and what is above
        )
        if (!removed) return
      }
    },
  }
}

/** Matches the scenario's expected findings against the titles and rule ids the report lists. */
export function scoreReport(
  compromise: { description: string; findings: string[] },
  titles: string[],
  kinds: string[],
): Scorecard {
  const matches = compromise.findings.map((expected) => {
    const e = expected.toLowerCase()
    const hit = titles.find((t) => t.toLowerCase().includes(e)) ?? kinds.find((k) => k.toLowerCase() === e)
    return { expected, finding: hit ?? null }
  })
  return {
    compromise: compromise.description,
    expected: compromise.findings,
    matches,
    detected: matches.every((m) => m.finding !== null),
  }
}

/**
 * A tabletop drill (DESIGN §7): creates the case, starts the local emulator, seeds the scenario
 * (state and trail logs from the same calls), runs the scenario's playbook for real against it —
 * with the facilitator's injects and the team's decisions when interactive — writes the report,
 * scores it against the planted compromise, and stops the emulator whatever happens.
 */
export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const now = options.now ?? new Date()
  const { scenario } = options.loaded
  const cwd = options.cwd ?? process.cwd()
  // Before anything is created: inputs that do not fit the playbook stop the drill here (the
  // scenario was loaded with its playbook, and checked against it).
  const { playbook } = options.loaded
  resolveInputs(playbook.playbook, scenario.inputs)
  // The case folder is claimed before the emulator starts (another drill may start this second),
  // and the case made after it started: without python3 or moto the drill leaves nothing behind.
  const claim = await claimCase(options.caseDir, cwd, scenario.name, now)
  const { id, dir: caseDir } = claim
  options.log.info(`fir tabletop: starting the local AWS emulator (moto)…`)
  const emulator = await startEmulator().catch(async (err: unknown) => {
    await claim.release()
    throw err
  })
  let opened: CaseHandle | undefined
  try {
    const handle = await CaseHandle.init(id, {
      title: `Tabletop drill: ${scenario.title}`,
      dir: caseDir,
      dirFlag: '--case',
      firVersion: options.firVersion,
      cwd,
    }).catch(async (err: unknown) => {
      await claim.release()
      throw err
    })
    opened = handle
    await handle.journal.append({
      action: 'tabletop.start',
      target: scenario.name,
      params: {
        scenario: scenario.name,
        title: scenario.title,
        file: options.loaded.file,
        sha256: sha256Hex(options.loaded.text),
        playbook: scenario.playbook,
        interactive: options.interactive,
      },
      outcome: 'recorded',
    })
    const aws = await AwsClients.create({
      endpoint: emulator.endpoint,
      region: scenario.region ?? 'us-east-1',
      emulatorOnly: true,
      caseId: id,
      maxAttempts: 2,
    })
    options.log.info(`fir tabletop: emulator on ${emulator.endpoint}; seeding scenario ${scenario.name}…`)
    const seed = await seedScenario(aws, scenario, {
      now,
      log: (l) => options.log.info(`fir tabletop: ${l}`),
    })
    await handle.journal.append({
      action: 'tabletop.seed',
      target: scenario.name,
      params: {
        endpoint: emulator.endpoint,
        account: seed.account,
        region: seed.region,
        trailSource: seed.trailSource,
        trailFiles: seed.files.length,
        records: seed.records.length,
        created: seed.created,
        logGroups: seed.logGroups,
        story: seed.story,
        compromise: scenario.compromise.description,
      },
      outcome: 'recorded',
    })
    const inputs = renderDeep(scenario.inputs, seedScope(seed)) as Record<string, unknown>
    const gaps = new Gaps()
    const ctx: FirContext = {
      aws,
      clock: aws.clock,
      case: handle,
      log: options.log,
      gaps,
      firVersion: options.firVersion,
      interactive: false,
      // A drill runs against the emulator only: its changes are confirmed, or, interactive,
      // asked as the team's decisions.
      yes: !options.interactive,
      dryRun: false,
      confirm: async () => true,
    }
    const facilitator = new Facilitator(options.input, options.say, handle.journal, scenario.name)
    const injects = options.interactive ? (scenario.injects ?? []) : []
    const injectsFor = (where: string) => injects.filter((i) => i.before === where)
    const lastReport = [...playbook.playbook.steps].reverse().find((s) => s.action === 'report.render')?.id
    let endDone = false
    const hooks: RunHooks | undefined = options.interactive
      ? {
          async beforeStep(step) {
            for (const i of injectsFor(step.id)) await facilitator.inject(i)
            // The debrief comes before the report, so the report's after-action section holds it.
            if (step.id === lastReport && !endDone) {
              endDone = true
              for (const i of injectsFor('end')) await facilitator.inject(i)
            }
          },
          decide: (_step, question) => facilitator.decide(question),
        }
      : undefined
    if (options.interactive) {
      options.say(
        `\n${scenario.title}\n${'='.repeat(Math.min(scenario.title.length, 72))}\n${scenario.summary.trim()}\n`,
      )
      for (const i of injectsFor('start')) await facilitator.inject(i)
    }
    const run = await runPlaybook(ctx, playbook, inputs, {
      registry: options.registry,
      ...(hooks ? { hooks } : {}),
    })
    if (options.interactive && !endDone) for (const i of injectsFor('end')) await facilitator.inject(i)
    const report = [...run.steps]
      .reverse()
      .find((s) => s.action === 'report.render' && s.outcome !== 'skipped')
    const titles = (report?.outputs.findingTitles as string[] | undefined) ?? []
    const kinds = (report?.outputs.findingKinds as string[] | undefined) ?? []
    const scorecard = scoreReport(scenario.compromise, titles, kinds)
    const emulatorGaps = gaps.list.filter(isEmulatorLimit)
    const runGaps = gaps.list.filter((g) => !isEmulatorLimit(g))
    await handle.journal.append({
      action: 'tabletop.result',
      target: scenario.name,
      params: {
        runId: run.runId,
        detected: scorecard.detected,
        matches: scorecard.matches,
        emulatorGaps: emulatorGaps.length,
        gaps: runGaps.length,
      },
      outcome: 'recorded',
    })
    const reports = ((report?.outputs.paths as string[] | undefined) ?? []).map((p) => resolve(handle.dir, p))
    const main = report?.outputs.path ? resolve(handle.dir, String(report.outputs.path)) : null
    await emulator.stop()
    return {
      scenario: scenario.name,
      title: scenario.title,
      case: handle.dir,
      report: main,
      reports,
      playbook: playbook.playbook.name,
      run,
      scorecard,
      emulator: { endpoint: emulator.endpoint, stopped: true },
      seed: {
        account: seed.account,
        region: seed.region,
        trailSource: seed.trailSource,
        trailFiles: seed.files.length,
        records: seed.records.length,
      },
      emulatorGaps,
      gaps: runGaps,
      transcript: facilitator.transcript,
    }
  } finally {
    await emulator.stop()
    await opened?.close()
  }
}

/**
 * The case folder (--case) must be a folder that holds nothing yet, or not exist: checked before
 * the emulator starts. A file there would only be found by case init, after the emulator started.
 */
async function assertCaseDirFree(dir: string, id: string): Promise<void> {
  const actions = [
    'pass --case a new or empty folder, or leave --case out (./cases/tabletop-<scenario>-<UTC stamp>)',
  ]
  if (!(await lstat(dir).catch(() => undefined))) return
  if (!(await stat(dir).catch(() => undefined))?.isDirectory())
    throw new UsageError(`unable to create case ${id}: ${dir} exists and is not a folder`, { actions })
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch {
    return // unreadable: case init says why, and which folder to choose
  }
  if (entries.length > 0)
    throw new UsageError(`unable to create case ${id}: ${dir} exists and is not empty`, { actions })
}
