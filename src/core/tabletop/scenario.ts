import { readdir, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import { SEED_CALL_NAMES } from '../../aws/tabletop-seed.js'
import { FirError, NotFoundError, PlaybookError } from '../../errors.js'
import { closestName, Suggester } from '../common/did-you-mean.js'
import { escapeTerminal } from '../common/text.js'
import { type LoadedPlaybook, loadPlaybook, readYamlFile } from '../playbook/load.js'
import type { Playbook } from '../playbook/schema.js'
import { IDENT_RE } from '../playbook/schema.js'
import { hasTemplate, parseTemplate, pathsOf, TemplateSyntaxError } from '../playbook/template.js'
import {
  nameList,
  notPlainProblems,
  type Problem,
  problemsError,
  readYaml,
  SourceMap,
  sortedProblems,
  zodProblems,
} from '../playbook/validate.js'

/** The scenarios fir ships (`scenarios/` at the package root). */
export const SCENARIO_DIR = resolve(import.meta.dirname, '..', '..', '..', 'scenarios')

const OFFSET_RE = /^-(\d+[dhms])+$/
const ip = z.string().min(1)

/** Who makes a call in the story, as CloudTrail's userIdentity will show it. */
export const ActorSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('IAMUser'),
    userName: z.string().min(1),
    sourceIp: ip,
    userAgent: z.string().min(1),
    accessKeyId: z
      .string()
      .regex(/^AKIA[A-Z0-9]{16}$/)
      .optional(),
    /** Another account's user (for cross-account actors). */
    account: z
      .string()
      .regex(/^\d{12}$/)
      .optional(),
  }),
  z.strictObject({
    type: z.literal('AssumedRole'),
    role: z.string().min(1),
    session: z.string().min(1),
    sourceIp: ip,
    userAgent: z.string().min(1),
    accessKeyId: z
      .string()
      .regex(/^ASIA[A-Z0-9]{16}$/)
      .optional(),
    account: z
      .string()
      .regex(/^\d{12}$/)
      .optional(),
  }),
  z.strictObject({
    type: z.literal('AWSService'),
    service: z.string().regex(/^[a-z0-9.-]+\.amazonaws\.com$/),
  }),
])

export const StoryEventSchema = z.strictObject({
  /** When, relative to the start of the drill: -30d, -2d3h, -15m. */
  at: z.string().regex(OFFSET_RE, 'must be a negative offset like -2d3h or -45m'),
  actor: z.string(),
  /** `service:Operation`, e.g. lambda:AddPermission. */
  call: z.string().regex(/^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$/, 'must look like service:Operation'),
  with: z.record(z.string(), z.unknown()).optional(),
  /** Make the call against the emulator too (default: true for calls in the seed allow-list). */
  apply: z.boolean().optional(),
  /**
   * Record the call in this account's trail (default true). false: the call happened in another
   * account (e.g. the attacker publishing a layer) and is applied to the emulator only because moto
   * keeps the state there.
   */
  record: z.boolean().optional(),
  /** Extra responseElements for calls that are only recorded (e.g. a GetFunction's code location). */
  response: z.record(z.string(), z.unknown()).optional(),
  /** The call failed: recorded with errorCode and errorMessage (seed references filled in), no response. */
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
  /** The same call again and again (background traffic): count times, every interval. */
  repeat: z
    .strictObject({ count: z.number().int().min(1).max(500), every: z.string().regex(/^(\d+[dhms])+$/) })
    .optional(),
  note: z.string().optional(),
})

export const InjectSchema = z.strictObject({
  /** `start`, `end`, or the id of the playbook step it comes before. */
  before: z.string(),
  text: z.string(),
  questions: z.array(z.string()).optional(),
})

export const ScenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lower-case letters, digits and -'),
  title: z.string(),
  summary: z.string(),
  playbook: z.string(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/)
    .optional(),
  /** Playbook inputs; `{{ seed.trailSource }}`, `{{ seed.account }}`, `{{ seed.region }}` are filled in. */
  inputs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  /** The planted compromise: what a good drill report names. */
  compromise: z.strictObject({
    description: z.string(),
    /** Finding titles or rule ids (case-insensitive substrings) that name the compromise. */
    findings: z.array(z.string().min(3)).min(1),
  }),
  actors: z.record(z.string().regex(IDENT_RE), ActorSchema),
  story: z.array(StoryEventSchema).min(1),
  injects: z.array(InjectSchema).optional(),
})

export type Actor = z.infer<typeof ActorSchema>
export type StoryEvent = z.infer<typeof StoryEventSchema>

/** Whether the seed makes a story event's call on the emulator (not only records it). */
export function appliedToEmulator(e: StoryEvent): boolean {
  return e.apply ?? (SEED_CALL_NAMES.includes(e.call) && !e.error)
}
export type Inject = z.infer<typeof InjectSchema>
export type Scenario = z.infer<typeof ScenarioSchema>

export interface LoadedScenario {
  scenario: Scenario
  file: string
  text: string
  /** The scenario's playbook, loaded and validated; the scenario was checked against it. */
  playbook: LoadedPlaybook
}

/** Seed facts a scenario may reference: `{{ seed.account }}` and friends. */
export const SEED_FACTS = ['account', 'region', 'trailBucket', 'trailSource', 'codeBucket'] as const

/** Every string inside a value with its path, skipping code file contents (`files:` maps). */
export function stringsOutsideFiles(
  value: unknown,
  path: (string | number)[],
): { value: string; path: (string | number)[] }[] {
  if (typeof value === 'string') return [{ value, path }]
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsOutsideFiles(v, [...path, i]))
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) =>
      k === 'files' ? [] : stringsOutsideFiles(v, [...path, k]),
    )
  return []
}

/** A value as a map of fields, or undefined when it is not one (a list, a string, absent). */
function mapOf(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

/** Each item of a list as its schema reads it, or undefined where it does not fit (zod says why). */
function wellFormed<T>(schema: z.ZodType<T>, list: unknown): (T | undefined)[] {
  return Array.isArray(list) ? list.map((item) => schema.safeParse(item).data) : []
}

/**
 * Validates scenario text: schema, actors, calls, templates, and — given the scenario's playbook —
 * that its injects come before steps the playbook has and its inputs are the playbook's. Every
 * problem with line and column, in one pass: as a playbook's validation does, the checks beyond
 * the schema run on every part that is well-formed, whether or not the rest of the file is.
 */
export function validateScenarioText(
  text: string,
  file: string,
  playbook?: Playbook,
): { scenario?: Scenario; problems: Problem[]; data?: unknown } {
  const read = readYaml(file, text)
  const { source: src, problems, data } = read
  if (problems.length) return { problems }
  const parsed = ScenarioSchema.safeParse(data)
  if (!parsed.success) problems.push(...zodProblems(src, data, parsed.error.issues))
  const doc = mapOf(data) ?? {}
  const suggester = new Suggester()
  // The inputs as written: a key such as __proto__ does not survive into the parsed scenario.
  const inputs = mapOf(doc.inputs)
  const story = wellFormed(StoryEventSchema, doc.story)
  if (playbook)
    problems.push(
      ...playbookProblems(
        src,
        wellFormed(InjectSchema, doc.injects),
        Object.keys(inputs ?? {}),
        playbook,
        suggester,
      ),
    )
  // Actors are checked only against a map of them: the schema says what is wrong with anything else.
  const actors = mapOf(doc.actors)
  const actorNames = Object.keys(actors ?? {})
  story.forEach((e, i) => {
    if (!e) return
    if (actors && !Object.hasOwn(actors, e.actor))
      problems.push(
        src.at(
          ['story', i, 'actor'],
          `unknown actor ${JSON.stringify(escapeTerminal(e.actor))}${suggester.suggest(e.actor, actorNames)}; actors: ${nameList(actorNames)}`,
        ),
      )
    if (e.apply && !SEED_CALL_NAMES.includes(e.call))
      problems.push(
        src.at(
          ['story', i, 'call'],
          `${e.call} cannot be applied to the emulator; it can only be recorded (apply: false)`,
        ),
      )
    if (e.repeat && (e.apply ?? SEED_CALL_NAMES.includes(e.call)))
      problems.push(src.at(['story', i, 'repeat'], 'only recorded calls (apply: false) may repeat'))
  })
  const check = (value: unknown, path: (string | number)[], keyed: Set<string>) => {
    for (const str of stringsOutsideFiles(value, path)) {
      if (!hasTemplate(str.value)) continue
      try {
        for (const ref of pathsOf(parseTemplate(str.value))) {
          const [root, name, user, part] = ref.path
          if (root === 'seed' && name === 'accessKeys' && ref.path.length === 4) {
            if (typeof user !== 'string' || !keyed.has(user) || (part !== 'id' && part !== 'secret'))
              problems.push(
                src.at(
                  str.path,
                  `reference ${JSON.stringify(ref.source)} names no access key: seed.accessKeys.<user>.id or .secret, for a user an earlier applied iam:CreateAccessKey made a key for${keyed.size ? ` (${[...keyed].join(', ')})` : ''}`,
                ),
              )
            continue
          }
          if (
            root !== 'seed' ||
            typeof name !== 'string' ||
            !(SEED_FACTS as readonly string[]).includes(name) ||
            ref.path.length !== 2
          )
            problems.push(
              src.at(
                str.path,
                `reference ${JSON.stringify(ref.source)} is not allowed: scenarios may reference ${SEED_FACTS.map((f) => `seed.${f}`).join(', ')} and seed.accessKeys.<user>.id or .secret`,
              ),
            )
        }
      } catch (err) {
        if (err instanceof TemplateSyntaxError)
          problems.push(src.at(str.path, `bad template: ${err.message}`, 'value', err.offset))
        else throw err
      }
    }
  }
  check(inputs, ['inputs'], new Set())
  // Users whose access key an applied iam:CreateAccessKey made before the event checked.
  const keyed = new Set<string>()
  story.forEach((e, i) => {
    if (!e) return
    check(e.with, ['story', i, 'with'], keyed)
    check(e.response, ['story', i, 'response'], keyed)
    check(e.error, ['story', i, 'error'], keyed)
    if (e.call === 'iam:CreateAccessKey' && appliedToEmulator(e))
      keyed.add(String((e.with as Record<string, unknown> | undefined)?.UserName ?? ''))
  })
  problems.push(...notPlainProblems(src, problems))
  const all = sortedProblems(problems)
  return all.length === 0 && parsed.success
    ? { scenario: parsed.data, problems: all, data }
    : { problems: all, data }
}

/** Where a scenario does not fit its playbook: injects before steps it lacks, inputs it does not declare. */
function playbookProblems(
  src: SourceMap,
  injects: (Inject | undefined)[],
  inputs: string[],
  playbook: Playbook,
  suggester: Suggester,
): Problem[] {
  const problems: Problem[] = []
  const stepIds = playbook.steps.map((step) => step.id)
  const places = new Set(['start', 'end', ...stepIds])
  injects.forEach((inject, i) => {
    if (!inject || places.has(inject.before)) return
    problems.push(
      src.at(
        ['injects', i, 'before'],
        `inject before ${JSON.stringify(escapeTerminal(inject.before))}: playbook ${playbook.name} has no such step${suggester.suggest(inject.before, places)}; an inject comes before start, end or a step: ${nameList(stepIds)}`,
      ),
    )
  })
  const declared = Object.keys(playbook.inputs ?? {})
  for (const name of inputs) {
    if (Object.hasOwn(playbook.inputs ?? {}, name)) continue
    problems.push(
      src.at(
        ['inputs', name],
        `unknown input ${JSON.stringify(escapeTerminal(name))} of playbook ${playbook.name}${suggester.suggest(name, declared)}; its inputs: ${nameList(declared)}`,
        'key',
      ),
    )
  }
  return problems
}

/** A scenario file checked whole: on its own, against its playbook, and that its playbook loads. */
interface ScenarioCheck {
  scenario?: Scenario
  playbook?: LoadedPlaybook
  problems: Problem[]
  data?: unknown
  /** Why the scenario's playbook did not load (its own error: where, and what to do). */
  playbookError?: FirError
}

/**
 * Validates a scenario file and, when it names its playbook, against that playbook (a path is the
 * scenario's own: from its folder, wherever fir is run from). A playbook that does not load is one
 * more problem, at the scenario's `playbook:`, beside the scenario's own: every problem in one pass.
 */
async function checkScenario(text: string, file: string): Promise<ScenarioCheck> {
  const alone = validateScenarioText(text, file)
  const name = mapOf(alone.data)?.playbook
  if (typeof name !== 'string') return alone
  let playbook: LoadedPlaybook
  try {
    playbook = await loadPlaybook(name, dirname(file))
  } catch (err) {
    if (!(err instanceof FirError)) throw err
    const near = err.actions.find((a) => a.startsWith('did you mean'))
    const message = `playbook ${JSON.stringify(escapeTerminal(name))} cannot be loaded: ${escapeTerminal(err.message.split('\n')[0])}${near ? ` (${escapeTerminal(near)})` : ''}`
    const at = new SourceMap(file, text).at(['playbook'], message)
    return { problems: sortedProblems([...alone.problems, at]), data: alone.data, playbookError: err }
  }
  const r = validateScenarioText(text, file, playbook.playbook)
  return r.scenario ? { ...r, playbook } : r
}

/** Finds and validates `<name|file>`; throws PlaybookError-style errors (exit 2) listing every problem. */
export async function loadScenario(
  arg: string,
  cwd = process.cwd(),
  dir = SCENARIO_DIR,
): Promise<LoadedScenario> {
  const candidates = /^[a-z0-9][a-z0-9-]{0,63}$/.test(arg)
    ? [join(dir, `${arg}.yaml`), join(dir, `${arg}.yml`)]
    : []
  candidates.push(resolve(cwd, arg))
  let file: string | undefined
  for (const c of candidates) {
    try {
      if ((await stat(c)).isFile()) {
        file = c
        break
      }
    } catch {}
  }
  if (!file) {
    const names = (await listScenarios(dir)).map((s) => s.name)
    const near = closestName(arg, names)
    throw new NotFoundError(`unable to find scenario ${JSON.stringify(escapeTerminal(arg))}`, {
      actions: [
        ...(near ? [`did you mean ${near}?`] : []),
        `scenarios: ${names.join(', ') || 'none'}`,
        'run `fir tabletop list`, or pass the path of a scenario file',
      ],
    })
  }
  const text = await readYamlFile(file)
  const r = await checkScenario(text, file)
  if (r.scenario && r.playbook) return { scenario: r.scenario, file, text, playbook: r.playbook }
  // A broken or missing playbook alone stops with its own error: its problems, or its did-you-mean.
  if (r.playbookError && r.problems.length === 1) throw r.playbookError
  const inPlaybook = r.playbookError instanceof PlaybookError ? r.playbookError.problems : []
  throw problemsError(
    'scenario',
    file,
    [...r.problems, ...inPlaybook],
    'fix the problems above in the scenario file',
  )
}

export interface ScenarioListing {
  name: string
  title: string
  playbook: string
  file: string
  problems: Problem[]
}

export async function listScenarios(dir = SCENARIO_DIR): Promise<ScenarioListing[]> {
  let files: string[] = []
  try {
    files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()
  } catch {}
  const out: ScenarioListing[] = []
  for (const f of files) {
    const file = join(dir, f)
    const r = await checkScenario(await readYamlFile(file), file)
    const data = (r.data && typeof r.data === 'object' ? r.data : {}) as Partial<Scenario>
    out.push({
      name: typeof data.name === 'string' ? data.name : basename(f).replace(/\.ya?ml$/, ''),
      title: typeof data.title === 'string' ? data.title : '',
      playbook: typeof data.playbook === 'string' ? data.playbook : '',
      file,
      problems: r.problems,
    })
  }
  return out
}

/** Milliseconds of an offset like -2d3h15m (negative) or an interval like 1h. */
export function offsetMs(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1
  let total = 0
  for (const m of text.matchAll(/(\d+)([dhms])/g)) {
    const n = Number(m[1])
    total += n * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's']
  }
  return sign * total
}
