import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPlaybook } from '../../../src/core/playbook/load.js'
import { listScenarios, loadScenario, validateScenarioText } from '../../../src/core/tabletop/scenario.js'
import { type FirError, PlaybookError } from '../../../src/errors.js'
import { REPO_ROOT, tempDir } from '../../support/cli.js'

const shipped = (name: string) => readFile(join(REPO_ROOT, 'scenarios', `${name}.yaml`), 'utf8')

/** The line and column (1-based) where `needle` starts in `text`. */
function where(text: string, needle: string): string {
  const at = text.indexOf(needle)
  expect(at, needle).toBeGreaterThanOrEqual(0)
  const before = text.slice(0, at).split('\n')
  return `${before.length}:${before.at(-1)!.length + 1}`
}

describe('tabletop scenario files against their playbook', () => {
  it('an inject before a step the playbook does not have is a located problem with a did-you-mean', async () => {
    const text = (await shipped('leaked-key-in-environment')).replace(/before: rotate$/m, 'before: rotat')
    const { playbook } = await loadPlaybook('leaked-access-key-in-function')
    const r = validateScenarioText(text, 's.yaml', playbook)
    expect(r.scenario).toBeUndefined()
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      `${where(text, 'rotat\n')} inject before "rotat": playbook leaked-access-key-in-function has no such step (did you mean "rotate"?); an inject comes before start, end or a step: seal, rotate, no-keys, timeline, report`,
    ])
    // without the playbook, the file alone is well-formed
    expect(validateScenarioText(text, 's.yaml').problems).toEqual([])
  })

  it('a tagged value (!!binary, !!timestamp) is one problem at its place, also where any value is taken', async () => {
    const text = (await shipped('public-url-backdoor'))
      .replace(/^title: .*$/m, 'title: !!binary aGVsbG8=')
      .replace('      RoleName: orders-admin-export-role', '      RoleName: !!timestamp 2024-01-01')
    const r = validateScenarioText(text, 's.yaml')
    expect(r.scenario).toBeUndefined()
    // Before: title "must be a string", but the call's parameters (any value) took the Date.
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      `${where(text, 'aGVsbG8=')} title must be a string, not binary data (!!binary)`,
      `${where(text, '2024-01-01')} story[0].with.RoleName is a date (!!timestamp), which fir does not read: a playbook or scenario holds only strings, numbers, true/false, null, lists and maps (remove the tag)`,
    ])
    // The title alone fixed: the parameter is still refused (zod's schema took it).
    const only = text.replace('title: !!binary aGVsbG8=', 'title: t')
    expect(validateScenarioText(only, 's.yaml').problems.map((p) => p.message)).toEqual([
      'story[0].with.RoleName is a date (!!timestamp), which fir does not read: a playbook or scenario holds only strings, numbers, true/false, null, lists and maps (remove the tag)',
    ])
  })

  it('an input the playbook does not declare is a located problem', async () => {
    const text = await shipped('public-url-backdoor')
    const bad = text.replace(/^inputs:\n/m, 'inputs:\n  functoin: x\n  __proto__: y\n')
    expect(bad).not.toBe(text)
    const { playbook } = await loadPlaybook('public-function-exposure')
    const problems = validateScenarioText(bad, 's.yaml', playbook).problems.map(
      (p) => `${p.line}:${p.col} ${p.message}`,
    )
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${where(bad, 'functoin')} unknown input "functoin" of playbook public-function-exposure \\(did you mean "function"\\?\\); its inputs: function`,
        ),
      ),
      // as written: zod's parse would have dropped it
      expect.stringMatching(new RegExp(`^${where(bad, '__proto__')} unknown input "__proto__" of playbook`)),
    ])
  })

  it('loadScenario checks the scenario against its playbook: a misspelt before: is refused (exit 2), not dropped', async () => {
    const dir = await tempDir('fir-scenario-')
    const file = join(dir, 'my2.yaml')
    await writeFile(file, (await shipped('public-url-backdoor')).replace(/before: close$/m, 'before: clsoe'))
    const err = await loadScenario(file, dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PlaybookError)
    expect((err as PlaybookError).exitCode).toBe(2)
    expect((err as PlaybookError).message).toMatch(
      /my2\.yaml:\d+:13: inject before "clsoe": playbook public-function-exposure has no such step \(did you mean "close"\?\)/,
    )
    const ok = await loadScenario('public-url-backdoor')
    expect(ok.playbook.playbook.name).toBe('public-function-exposure')
  })

  it('loadScenario reports every problem in one pass: a schema problem does not hide those against the playbook', async () => {
    const dir = await tempDir('fir-scenario-')
    const file = join(dir, 'broken.yaml')
    const text = (await shipped('public-url-backdoor'))
      .replace(/^region: (.*)$/m, 'region: $1\nstory2: 1')
      .replace(/^ {2}since: /m, '  sinse: ')
      .replace(/before: close$/m, 'before: clsoe')
    await writeFile(file, text)
    const err = (await loadScenario(file, dir).catch((e: unknown) => e)) as PlaybookError
    expect(err).toBeInstanceOf(PlaybookError)
    // Before: "1 problem" (the unknown field); the other two only once it was fixed.
    expect(err.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      `${where(text, 'story2')} unknown field "story2" in the document`,
      expect.stringMatching(
        new RegExp(`^${where(text, 'sinse')} unknown input "sinse" .*\\(did you mean "since"\\?\\)`),
      ),
      expect.stringMatching(
        new RegExp(`^${where(text, 'clsoe')} inject before "clsoe": .*\\(did you mean "close"\\?\\)`),
      ),
    ])
    expect(err.message).toMatch(/: 3 problems\n/)
  })

  it("a playbook that does not load is one more problem, at the scenario's playbook:, beside its own", async () => {
    const dir = await tempDir('fir-scenario-')
    const file = join(dir, 'broken.yaml')
    const text = (await shipped('public-url-backdoor'))
      .replace(/^playbook: .*$/m, 'playbook: public-function-exposur')
      .replace(/^region: (.*)$/m, 'region: $1\nstory2: 1')
    await writeFile(file, text)
    const err = (await loadScenario(file, dir).catch((e: unknown) => e)) as PlaybookError
    expect(err).toBeInstanceOf(PlaybookError)
    expect(err.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${where(text, 'public-function-exposur')} playbook "public-function-exposur" cannot be loaded: .*\\(did you mean public-function-exposure\\?\\)$`,
        ),
      ),
      `${where(text, 'story2')} unknown field "story2" in the document`,
    ])
    // The playbook alone: its own error, as before.
    await writeFile(file, text.replace('story2: 1\n', ''))
    const alone = (await loadScenario(file, dir).catch((e: unknown) => e)) as FirError
    expect(alone.code).toBe('not-found')
    expect(alone.actions[0]).toBe('did you mean public-function-exposure?')
  })

  it('a story event that does not fit the schema does not hide an unknown actor in another', async () => {
    const text = (await shipped('public-url-backdoor'))
      .replace(/^ {4}actor: contractor$/m, '    actor: contracter')
      .replace(/^ {2}- at: -40d$/m, '  - at: 40d')
    const r = validateScenarioText(text, 's.yaml')
    expect(r.scenario).toBeUndefined()
    expect(r.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^story\[\d+\]\.at must be a negative offset/),
      expect.stringMatching(/^unknown actor "contracter" \(did you mean "contractor"\?\)/),
    ])
  })

  it("a scenario's playbook path is read from the scenario's folder, not the folder fir runs in", async () => {
    const dir = await tempDir('fir-scenario-')
    const elsewhere = await tempDir('fir-cwd-')
    const pb = await readFile(join(REPO_ROOT, 'playbooks', 'public-function-exposure.yaml'), 'utf8')
    await writeFile(join(dir, 'my-playbook.yaml'), pb.replace(/^name: .*$/m, 'name: my-exposure'))
    await writeFile(
      join(dir, 'drill.yaml'),
      (await shipped('public-url-backdoor')).replace(/^playbook: .*$/m, 'playbook: ./my-playbook.yaml'),
    )
    const loaded = await loadScenario(join(dir, 'drill.yaml'), elsewhere)
    expect(loaded.playbook.playbook.name).toBe('my-exposure')
    expect(loaded.playbook.file).toBe(join(dir, 'my-playbook.yaml'))
    // listed from its folder too, without a problem
    const listed = await listScenarios(dir)
    expect(listed.find((s) => s.file === join(dir, 'drill.yaml'))?.problems).toEqual([])
  })

  it('every shipped scenario fits its playbook', async () => {
    const list = await listScenarios()
    expect(list.length).toBeGreaterThanOrEqual(4)
    for (const s of list) expect(s.problems, s.name).toEqual([])
  })

  it('an alias bomb or an alias cycle in a scenario is a located problem', () => {
    const bomb = `a: &a [x,x,x,x,x,x,x,x,x,x]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
name: x
`
    expect(validateScenarioText(bomb, 's.yaml').problems).toEqual([
      // the 8th *d of line 5 takes the aliases past 100000 values (12330 before line 5, 11111 each)
      {
        file: 's.yaml',
        line: 5,
        col: 29,
        message: expect.stringMatching(/up to \*d stand for more than 100000 values/),
      },
    ])
    const cycle = 'name: x\nstory: &s\n  - at: -1d\n    with: { again: *s }\n'
    expect(validateScenarioText(cycle, 's.yaml').problems).toEqual([
      {
        file: 's.yaml',
        line: 4,
        col: 20,
        message: expect.stringMatching(/alias \*s is inside the value it names/),
      },
    ])
  })
})

describe('a misspelt scenario or playbook name', () => {
  it('is refused with the nearest shipped name suggested first (it listed them all only)', async () => {
    const cwd = await tempDir()
    const actionsOf = async (p: Promise<unknown>) => {
      const err = (await p.then(
        () => undefined,
        (e: unknown) => e,
      )) as { exitCode?: number; actions?: string[] }
      return [err?.exitCode, err?.actions?.[0]]
    }
    expect(await actionsOf(loadScenario('public-url-backdor', cwd))).toEqual([
      2,
      'did you mean public-url-backdoor?',
    ])
    expect(await actionsOf(loadPlaybook('lambda-compromse', cwd))).toEqual([
      2,
      'did you mean lambda-compromise?',
    ])
    // Nothing near: the lists alone.
    const [, first] = await actionsOf(loadScenario('zzz', cwd))
    expect(first).toMatch(/^scenarios: /)
  })
})
