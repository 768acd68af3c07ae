import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT, runFir, tempDir } from '../support/cli.js'

/** Files that must be refused as bad input (exit 2), located, without a stack trace. */
const BOMB = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
name: x
description: y
steps: [{id: a, action: case.note, with: {text: t}}]
`

function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/TypeError|ReferenceError|RangeError|\n\s+at /)
}

describe('fir playbook validate / tabletop run: hostile files (built CLI, no AWS)', () => {
  it('a with: key named like an Object.prototype property is an unknown parameter (exit 2)', async () => {
    const cwd = await tempDir()
    for (const key of ['toString', 'constructor', '__proto__']) {
      await writeFile(
        join(cwd, 'p.yaml'),
        `name: p\ndescription: d\nsteps:\n  - id: a\n    action: case.note\n    with: { text: hi, ${key}: x }\n`,
      )
      const r = await runFir(['playbook', 'validate', 'p.yaml'], { cwd })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain(`p.yaml:6:23: case.note has no parameter "${key}"`)
      expectNoStack(r.stderr)
    }
  })

  it('an alias bomb and an alias cycle are located problems (exit 2), for playbooks and for scenarios', async () => {
    const cwd = await tempDir()
    await writeFile(join(cwd, 'bomb.yaml'), BOMB)
    await writeFile(
      join(cwd, 'cyc2.yaml'),
      'name: c\ndescription: d\nsteps: &s\n  - id: a\n    action: case.note\n    with: { text: *s }\n',
    )
    const bomb = await runFir(['playbook', 'validate', 'bomb.yaml', '--json'], { cwd })
    expect(bomb.code, bomb.stderr).toBe(2)
    expect(bomb.json.status).toBe(2)
    expect(bomb.json.error.code).toBe('playbook-invalid')
    expect(bomb.json.result.problems).toEqual([
      expect.objectContaining({
        line: 6,
        message: expect.stringMatching(/stand for more than 100000 values/),
      }),
    ])
    const cyc = await runFir(['playbook', 'validate', 'cyc2.yaml', '--json'], { cwd })
    expect(cyc.code, cyc.stderr).toBe(2)
    expect(cyc.json.result.problems).toEqual([
      expect.objectContaining({
        line: 6,
        col: 19,
        message: expect.stringMatching(/alias \*s is inside the value/),
      }),
    ])
    const drill = await runFir(['tabletop', 'run', './bomb.yaml'], { cwd })
    expect(drill.code, drill.stderr).toBe(2)
    expect(drill.stderr).toMatch(/bomb\.yaml:6:\d+: the aliases up to \*e stand for more than 100000 values/)
    expectNoStack(drill.stderr)
    expect(existsSync(join(cwd, 'cases'))).toBe(false)
  })

  it('a playbook or scenario nested thousands deep is refused saying so (exit 2), not with the engine’s stack overflow', async () => {
    const cwd = await tempDir()
    const n = 1000
    await writeFile(
      join(cwd, 'd1000.yaml'),
      `name: d\ndescription: d\nsteps:\n  - id: a\n    action: case.note\n    with:\n      text: ${'['.repeat(n)}${']'.repeat(n)}\n`,
    )
    await writeFile(join(cwd, 'm5000.yaml'), `x: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`)
    for (const args of [
      ['playbook', 'validate', 'd1000.yaml'],
      ['playbook', 'validate', 'm5000.yaml'],
      ['tabletop', 'run', './d1000.yaml'],
    ]) {
      const r = await runFir(args, { cwd })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(
        /\.yaml:\d+:\d+: lists and maps are nested more than 64 levels deep here, .*: flatten them\n/,
      )
      expect(r.stderr).not.toContain('call stack')
      expectNoStack(r.stderr)
    }
    expect(existsSync(join(cwd, 'cases'))).toBe(false)
  })

  it('a scenario inject before an unknown step is refused before the drill starts (exit 2), with a did-you-mean', async () => {
    const cwd = await tempDir('fir-drill-')
    const text = await readFile(join(REPO_ROOT, 'scenarios', 'leaked-key-in-environment.yaml'), 'utf8')
    const bad = text.replace(/before: rotate$/m, 'before: rotat')
    const line = bad.split('\n').indexOf('  - before: rotat') + 1
    await writeFile(join(cwd, 'my2.yaml'), bad)
    const r = await runFir(['tabletop', 'run', './my2.yaml', '--interactive', '--case', './my2'], {
      cwd,
      input: 'a\nb\ny\nc\nd\n',
    })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(
      `my2.yaml:${line}:13: inject before "rotat": playbook leaked-access-key-in-function has no such step (did you mean "rotate"?)`,
    )
    expect(r.stderr).not.toContain('emulator')
    expect(existsSync(join(cwd, 'my2'))).toBe(false)
  })

  it('input defaults that do not fit their type fail validation (exit 2)', async () => {
    const cwd = await tempDir()
    await writeFile(
      join(cwd, 'd.yaml'),
      'name: d\ndescription: d\ninputs:\n  count: { type: number, default: abc }\nsteps:\n  - id: a\n    action: case.note\n    with: { text: "{{ inputs.count }}" }\n',
    )
    const r = await runFir(['playbook', 'validate', 'd.yaml'], { cwd })
    expect(r.code, r.stdout).toBe(2)
    expect(r.stderr).toContain('d.yaml:4:35: the default of input "count" is "abc", which is not a number')
  })

  it('a valid playbook is counted in the right number: 1 step, 1 input', async () => {
    const cwd = await tempDir()
    await writeFile(
      join(cwd, 'one.yaml'),
      'name: one\ndescription: d\ninputs:\n  text: { default: hi }\nsteps:\n  - id: a\n    action: case.note\n    with: { text: "{{ inputs.text }}" }\n',
    )
    const r = await runFir(['playbook', 'validate', 'one.yaml'], { cwd })
    expect(r.code, r.stderr).toBe(0)
    // Before: "(1 steps, 1 inputs)".
    expect(r.stdout.trim()).toBe(`${join(cwd, 'one.yaml')}: playbook one is valid (1 step, 1 input)`)
  })
})
