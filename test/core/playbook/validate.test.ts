import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPlaybookText, resolvePlaybookFile } from '../../../src/core/playbook/load.js'
import {
  MAX_LISTED_PROBLEMS,
  MAX_YAML_BYTES,
  problemsError,
  validatePlaybookText,
} from '../../../src/core/playbook/validate.js'

const GOOD = `name: demo
description: a demo
inputs:
  function: { required: true }
steps:
  - id: seal
    action: snapshot.function
    with: { function: "{{ inputs.function }}" }
  - id: revoke
    action: credentials.revoke-sessions
    with: { role: "{{ steps.seal.outputs.roleName }}" }
    if: "{{ steps.seal.outputs.roleName }}"
`

describe('playbook validation', () => {
  it('accepts a good playbook', () => {
    const r = validatePlaybookText(GOOD, 'good.yaml')
    expect(r.problems).toEqual([])
    expect(r.playbook?.steps.map((s) => s.id)).toEqual(['seal', 'revoke'])
  })

  it('names the line and column of a misspelt action on line 10', () => {
    const text = GOOD.replace(
      '    action: credentials.revoke-sessions',
      '    action: credentials.revoke-sesions',
    )
    expect(text.split('\n')[9]).toBe('    action: credentials.revoke-sesions')
    const r = validatePlaybookText(text, 'bad.yaml')
    expect(r.playbook).toBeUndefined()
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]).toMatchObject({ file: 'bad.yaml', line: 10, col: 13 })
    expect(r.problems[0]!.message).toContain('unknown action "credentials.revoke-sesions"')
    expect(r.problems[0]!.message).toContain('did you mean "credentials.revoke-sessions"')
  })

  it('reports every problem at once, each with its own line and column', () => {
    const text = `name: Bad Name
description: many problems
inputs:
  function: { required: true, colour: red }
steps:
  - id: seal
    action: snapshot.function
    with: { function: "{{ inputs.fnction }}", qualifer: x }
  - id: hold
    action: containment.contain
    with:
      function: "{{ steps.later.outputs.x }}"
      actions: [throttle, explode]
  - id: seal
    action: credentials.revoke-sessions
    with: { role: "{{ steps.seal.outputs.roleNme }}" }
    confirm: 3
  - id: note
    action: case.note
    with: { text: "{{ inputs.function " }
  - id: later
    action: timeline.collect
    with: { function: "{{ process.env.HOME }}", since: "{{ steps.later.outputs.events }}" }
  - id: rep
    action: report.render
    with: { format: pdf }
  - id: nokey
    action: credentials.rotate-secret
`
    const r = validatePlaybookText(text, 'bad.yaml')
    const at = r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)
    const expectAt = (line: number, col: number, fragment: string) =>
      expect(at, `${line}:${col} ${fragment}\n${at.join('\n')}`).toContainEqual(
        expect.stringMatching(
          new RegExp(`^${line}:${col} .*${fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
        ),
      )
    expectAt(1, 7, 'name must be lower-case')
    expectAt(4, 31, 'unknown field "colour"')
    expectAt(8, 27, 'unknown input "fnction" (did you mean "function"?)')
    expectAt(8, 47, 'no parameter "qualifer" (did you mean "qualifier"?)')
    expectAt(12, 21, 'step "later", which runs later')
    expectAt(13, 27, '"explode", which is not one of')
    expectAt(14, 9, 'step id "seal" is used twice')
    expectAt(16, 23, 'has no output "roleNme" (did you mean "roleName"?)')
    expectAt(17, 14, 'steps[2].confirm is 3: write true, or the question to ask in quotes')
    expectAt(20, 20, "bad template in steps[3].with.text: '{{' is never closed")
    expectAt(23, 27, 'reference "process.env.HOME" is not allowed')
    expectAt(23, 60, 'refers to its own outputs')
    expectAt(26, 21, '"pdf", which is not one of')
    expectAt(28, 13, 'needs one of the parameters secret, secrets')
    expect(r.problems.length).toBeGreaterThanOrEqual(14)
    // sorted by position
    const keys = r.problems.map((p) => p.line * 1000 + p.col)
    expect([...keys].sort((a, b) => a - b)).toEqual(keys)
  })

  it('reports YAML syntax errors with their position', () => {
    const r = validatePlaybookText(
      'name: x\ndescription: y\nsteps:\n  - id: a\n   action: [\n',
      'broken.yaml',
    )
    expect(r.problems.length).toBeGreaterThan(0)
    expect(r.problems[0]!.message).toMatch(/^YAML: /)
    expect(r.problems[0]!.line).toBeGreaterThanOrEqual(4)
  })

  it('flags missing required parameters and steps', () => {
    const r = validatePlaybookText(
      'name: x\ndescription: y\nsteps:\n  - id: a\n    action: snapshot.function\n',
      'f.yaml',
    )
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      expect.stringMatching(/^5:13 snapshot.function needs parameter "function"/),
    ])
    const empty = validatePlaybookText('name: x\ndescription: y\nsteps: []\n', 'f.yaml')
    expect(empty.problems[0]).toMatchObject({ line: 3, col: 8 })
  })
  it('points at a template problem inside a block scalar, a quoted string with escapes and a multi-line plain scalar', () => {
    const text = `name: pos
description: template problems inside every kind of scalar
inputs:
  who: { required: true }
steps:
  - id: literal
    action: case.note
    with:
      text: |
        first line
          indented more
        IC is {{ inputs.who }} not {{ inputs.nope }}
  - id: folded
    action: case.note
    with:
      text: >-
        folded
        line {{ inputs.nope }}
  - id: escaped
    action: case.note
    with: { text: "\\t\\t\\u00e9 {{ inputs.nope }}" }
  - id: plain
    action: case.note
    with:
      text: a plain scalar
        on two lines {{ inputs.nope }}
  - id: twice
    action: case.note
    with: { text: "inputs.nope is {{ inputs.who }}, {{ inputs.nope }}" }
  - id: broken
    action: case.note
    with:
      text: |
        {{ inputs.who }}
        then {{ inputs.who
`
    const r = validatePlaybookText(text, 'pos.yaml')
    const lines = text.split('\n')
    // Before: the offset in the parsed value was added to where the node starts (12:13, 17:13,
    // 21:27, 26:17, 29:20 — the literal text "inputs.nope is", not the template — and 34:21).
    expect(
      r.problems.map((p) => `${p.line}:${p.col} ${lines[p.line - 1]!.slice(p.col - 1, p.col + 13)}`),
    ).toEqual([
      '12:39 inputs.nope }}',
      '18:17 inputs.nope }}',
      '21:34 inputs.nope }}',
      '26:25 inputs.nope }}',
      '29:56 inputs.nope }}',
      '35:14 {{ inputs.who',
    ])
    expect(r.problems.at(-1)!.message).toBe(
      "bad template in steps[5].with.text: '{{' is never closed with '}}'",
    )
  })
})

describe('playbook validation: hostile and oversized files', () => {
  it('a with: key named like an Object.prototype property is an unknown parameter, not a crash', () => {
    for (const key of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const text = `name: p\ndescription: d\nsteps:\n  - id: a\n    action: case.note\n    with: { text: hi, ${key}: x }\n`
      const r = validatePlaybookText(text, 'p.yaml')
      expect(r.playbook, key).toBeUndefined()
      expect(
        r.problems.map((p) => `${p.line}:${p.col} ${p.message}`),
        key,
      ).toEqual([
        expect.stringMatching(new RegExp(`^6:23 case.note has no parameter "${key}"; its parameters: text`)),
      ])
    }
  })

  it('a value a YAML tag makes binary data, a date, a set or an ordered map is one problem at its place, not the fields of a Buffer', () => {
    // Before: 103 problems for the first (each byte of the Buffer an unknown field, id and action
    // missing…), and for `with: !!binary` a parameter "0", "1"… each, then "needs parameter text".
    const step = validatePlaybookText('name: p\ndescription: d\nsteps:\n  - !!binary aGVsbG8=\n', 'b.yaml')
    expect(step.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      '4:14 steps[0] must be a map of key: value, not binary data (!!binary)',
    ])
    const text = `name: p
description: d
steps:
  - id: a
    action: case.note
    with: !!binary aGVsbG8=
  - id: b
    action: case.note
    with: { text: !!timestamp 2024-01-01 }
    if: !!set { a }
  - id: c
    action: case.note
    with: { text: hi, kind: !!binary aGVsbG8=, question: !!omap [ { a: 1 } ] }
`
    const r = validatePlaybookText(text, 't.yaml')
    expect(r.playbook).toBeUndefined()
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      '6:20 steps[0].with must be a map of key: value, not binary data (!!binary)',
      '9:31 steps[1].with.text must be a string, not a date (!!timestamp)',
      '10:15 steps[1].if must be a string or a boolean, not a set (!!set)',
      '13:38 steps[2].with.kind must be one of note, decision, inject, answer, not binary data (!!binary)',
      '13:65 steps[2].with.question must be a string, not an ordered map (!!omap)',
    ])
  })

  it('an alias bomb is one located problem, not an exception', () => {
    const text = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
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
    const r = validatePlaybookText(text, 'bomb.yaml')
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]).toMatchObject({ file: 'bomb.yaml', line: 6 })
    expect(r.problems[0]!.message).toMatch(/aliases up to \*e stand for more than 100000 values/)
  })

  it('an alias inside the value it names (a cycle) is a located problem, not a stack overflow', () => {
    const text =
      'name: c\ndescription: d\nsteps: &s\n  - id: a\n    action: case.note\n    with: { text: *s }\n'
    const r = validatePlaybookText(text, 'cyc.yaml')
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      expect.stringMatching(/^6:19 alias \*s is inside the value it names \(&s\)/),
    ])
  })

  it('lists and maps nested thousands deep are one located problem saying so, not a stack overflow', () => {
    // Before: `YAML: Maximum call stack size exceeded at line 7, column 796:` (exit 2), which
    // neither named the problem nor said what to do, and ended with a dangling colon.
    const head = 'name: d\ndescription: d\nsteps:\n  - id: a\n    action: case.note\n    with:\n      text: '
    const deep = (n: number) => `${head}${'['.repeat(n)}${']'.repeat(n)}\n`
    const nested = /^lists and maps are nested more than 64 levels deep here, .*: flatten them$/
    for (const text of [deep(1000), deep(200_000), `x: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`]) {
      const r = validatePlaybookText(text, 'deep.yaml')
      expect(r.problems).toHaveLength(1)
      expect(r.problems[0]!.message).toMatch(nested)
      expect(r.problems[0]!.message).not.toMatch(/call stack|:$/)
    }
    // Past the limit by a little, it is the first list past it that is pointed at.
    const r = validatePlaybookText(deep(100), 'deep.yaml')
    expect(r.problems.map((p) => `${p.line}:${p.col}`)).toEqual([`7:${12 + 61}`])
    expect(r.problems[0]!.message).toMatch(nested)
    // 60 lists inside the map of `with` (itself 4 deep): as deep as fir reads; only `text` being
    // no string is wrong.
    expect(validatePlaybookText(deep(60), 'deep.yaml').problems.map((p) => p.message)).toEqual([
      'steps[0].with.text must be a string',
    ])
    // What an alias stands for nests as deep as the value it names.
    const aliased = `a: &a ${'['.repeat(40)}x${']'.repeat(40)}\nb: ${'['.repeat(30)}*a${']'.repeat(30)}\n`
    expect(
      validatePlaybookText(aliased, 'alias.yaml').problems.map((p) => `${p.line}:${p.col} ${p.message}`),
    ).toEqual([
      expect.stringMatching(/^2:34 lists and maps are nested more than 64 levels .*alias \*a stands for/),
    ])
  })

  it('a YAML error says what is wrong without a dangling "at line, column:", a repeated key by its name', () => {
    const r = validatePlaybookText('name: a\ndescription: d\nname: b\nsteps: []\n', 'dup.yaml')
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      '3:1 the key "name" is given twice in the same map (YAML map keys are unique): keep one, or rename the other',
    ])
    const broken = validatePlaybookText(
      'name: x\ndescription: y\nsteps:\n  - id: a\n   action: [\n',
      'b.yaml',
    )
    for (const p of broken.problems) expect(p.message).not.toMatch(/at line \d+, column \d+|:$/)
  })

  it('aliases that are not a bomb or a cycle still work', () => {
    const text = `name: a
description: d
inputs:
  function: { required: true }
steps:
  - id: a
    action: snapshot.function
    with: &w { function: "{{ inputs.function }}" }
  - id: b
    action: snapshot.function
    with: *w
`
    const r = validatePlaybookText(text, 'ok.yaml')
    expect(r.problems).toEqual([])
    expect(r.playbook?.steps[1]?.with).toEqual({ function: '{{ inputs.function }}' })
  })

  it('a file over 1 MiB is refused with one problem, unparsed', () => {
    const text = `name: big\ndescription: "${'x'.repeat(MAX_YAML_BYTES)}"\nsteps: []\n`
    const r = validatePlaybookText(text, 'big.yaml')
    expect(r.problems).toEqual([
      { file: 'big.yaml', line: 1, col: 1, message: expect.stringMatching(/larger than 1 MiB/) },
    ])
  })

  it('thousands of misspelt step references: every one reported, "did you mean" only while its budget lasts, the message lists the first 100', () => {
    const n = 1500
    const steps = Array.from(
      { length: n },
      (_, i) =>
        `  - id: step-with-a-longish-name-${i}\n    action: case.note\n    with: { text: "{{ steps.unknown-step-with-longish-name-${i}.outputs.x }}" }\n`,
    ).join('')
    const r = validatePlaybookText(`name: big\ndescription: d\nsteps:\n${steps}`, 'big.yaml')
    expect(r.problems).toHaveLength(n)
    expect(r.problems[0]!.message).toBe(
      'reference to unknown step "unknown-step-with-longish-name-0" (did you mean "step-with-a-longish-name-0"?)',
    )
    const suggested = r.problems.filter((p) => p.message.includes('did you mean')).length
    expect(suggested).toBeGreaterThan(0)
    expect(suggested).toBeLessThan(n / 10)
    const err = problemsError('playbook', 'big.yaml', r.problems, 'fix them')
    const listed = err.message.split('\n').filter((l) => l.startsWith('  big.yaml:'))
    expect(listed).toHaveLength(MAX_LISTED_PROBLEMS)
    expect(err.message).toContain(`… and ${n - MAX_LISTED_PROBLEMS} more (--json lists every one)`)
    expect(err.problems).toHaveLength(n)
  })

  it('a default that does not fit its input type is a problem at the default', () => {
    const text = `name: d
description: d
inputs:
  count: { type: number, default: abc }
  flag: { type: boolean, default: maybe }
  fine: { type: number, default: "12" }
  yes: { type: boolean, default: "Yes" }
  empty: { type: number, default: "" }
  list: { type: list, default: [a, b] }
steps:
  - id: a
    action: case.note
    with: { text: "{{ inputs.count }} {{ inputs.flag }} {{ inputs.fine }} {{ inputs.yes }} {{ inputs.empty }} {{ inputs.list }}" }
`
    const r = validatePlaybookText(text, 'd.yaml')
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      '4:35 the default of input "count" is "abc", which is not a number',
      '5:35 the default of input "flag" is "maybe", which is not a boolean (true, false, yes, no, 1 or 0)',
    ])
  })

  it('a literal value is refused as the action’s own command refuses it, with its message', () => {
    // Before, each of these passed (a name only had to be non-empty; `30s` fit the spec's own
    // pattern, which `fir timeline` does not take) and was refused at its step, mid-run.
    const text = `name: v
description: v
steps:
  - id: seal
    action: snapshot.function
    with: { function: "not a name" }
  - id: all
    action: snapshot.all-using-role
    with: { role: "role with spaces" }
  - id: hold
    action: containment.contain
    with: { function: "f:prod" }
  - id: t
    action: timeline.collect
    with: { since: 30s, until: 2026-02-30, source: "s3://", sources: [api, "s3://-x"], regions: "us-east-1,mars" }
  - id: fine
    action: timeline.collect
    with: { since: 90min, until: 2025-03-01T12:00, sources: [api, "s3://trail-bucket/p", ./trail], regions: all }
`
    const r = validatePlaybookText(text, 'v.yaml')
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      '6:23 steps[0].with.function: unable to read function "not a name": it is not a function name or ARN',
      '9:19 steps[1].with.role: unable to use role "role with spaces": it is not a role name or ARN',
      '12:23 steps[2].with.function: unable to use function "f:prod": containment acts on the whole function (every version and alias), so it takes the function without a version or alias',
      '15:20 steps[3].with.since: unable to read since "30s": it is neither an age nor an ISO time',
      '15:32 steps[3].with.until: unable to read until "2026-02-30": 2026-02-30 is not a date',
      '15:52 steps[3].with.source: unable to use source "s3://": it is not an s3://bucket/prefix URI',
      '15:76 steps[3].with.sources[1]: unable to use source "s3://-x": it is not an s3://bucket/prefix URI',
      '15:97 steps[3].with.regions: unable to use regions "us-east-1,mars": "mars" is not a region name',
    ])
  })

  it('a confirm, or an input default, of the wrong type says what to write, once', () => {
    // Before: `has the wrong type (Invalid input)`, and a .nan default twice at one place.
    const text = `name: c
description: d
inputs:
  regions: { type: list, default: { a: 1 } }
  m: { type: number, default: .nan }
  n: { type: string, default: -.inf }
steps:
  - id: a
    action: case.note
    confirm: 3
    with: { text: "{{ inputs.m }} {{ inputs.n }} {{ inputs.regions }}" }
`
    const r = validatePlaybookText(text, 'c.yaml')
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      '4:35 inputs.regions.default is a map: write text, a number, true or false, or a list of texts (type: list)',
      '5:31 inputs.m.default is .nan: write a number such as 30 (.nan and .inf are not numbers fir reads)',
      '6:31 inputs.n.default is -.inf: write a number such as 30 (.nan and .inf are not numbers fir reads)',
      '10:14 steps[0].confirm is 3: write true, or the question to ask in quotes (confirm: "Contain {{ inputs.function }}?")',
    ])
  })

  it('an if that is text without a template (if: no, off, "false") is refused at its place, saying what to write', () => {
    // YAML 1.2 reads no, off, yes and on as text: `if: no` ran the step its author meant to skip.
    const text = `name: c
description: d
inputs:
  x: {}
steps:
  - id: a
    action: case.note
    with: { text: a }
    if: no
  - id: b
    action: case.note
    with: { text: b }
    if: off
  - id: c
    action: case.note
    with: { text: c }
    if: "false"
  - id: d
    action: case.note
    with: { text: d }
    if: Yes
  - id: e
    action: case.note
    with: { text: e }
    if: later
  - id: f
    action: case.note
    with: { text: f }
    if: 0
  - id: g
    action: case.note
    with: { text: g }
    if: false
  - id: h
    action: case.note
    with: { text: h }
    if: "{{ inputs.x }}"
`
    const r = validatePlaybookText(text, 'c.yaml')
    expect(r.playbook).toBeUndefined()
    const template = 'or a template such as if: "{{ inputs.<name> }}"'
    expect(r.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([
      `9:9 step "a": if is the text "no", not true or false: YAML 1.2, which fir reads, takes no as text, not as false, so whether the step runs would be a guess; write if: false (no quotes) to skip the step, ${template}`,
      `13:9 step "b": if is the text "off", not true or false: YAML 1.2, which fir reads, takes off as text, not as false, so whether the step runs would be a guess; write if: false (no quotes) to skip the step, ${template}`,
      `17:9 step "c": if is the text "false", not true or false: in quotes it is text, not a boolean, so whether the step runs would be a guess; write if: false (no quotes) to skip the step, ${template}`,
      `21:9 step "d": if is the text "Yes", not true or false: YAML 1.2, which fir reads, takes Yes as text, not as true, so whether the step runs would be a guess; write if: true (no quotes) to run the step, or remove the if, ${template}`,
      `25:9 step "e": if is the text "later", not true or false, so whether the step runs would be a guess; write if: false (no quotes) to skip the step or if: true to run it, ${template}`,
      '29:9 steps[5].if is 0: write true, false, or a template such as "{{ inputs.<name> }}"',
    ])
    // Refused before anything runs (run, resume and validate load through here).
    expect(() => loadPlaybookText(text, 'c.yaml')).toThrow(/c\.yaml:9:9: step "a": if is the text "no"/)
  })
})

describe('finding the playbook file', () => {
  it('names a folder or a missing path for what it is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fir-pb-'))
    await mkdir(join(dir, 'books'))
    await expect(resolvePlaybookFile('books/', dir)).rejects.toThrow(
      'unable to read playbook books/: it is a folder, not a file',
    )
    await expect(resolvePlaybookFile('nope/x.yaml', dir)).rejects.toThrow(
      'unable to read playbook nope/x.yaml: no such file',
    )
    await writeFile(join(dir, 'books', 'p.yaml'), 'name: p\n')
    expect(await resolvePlaybookFile('books/p.yaml', dir)).toBe(join(dir, 'books', 'p.yaml'))
  })
})
