import { describe, expect, it } from 'vitest'
import { validatePlaybookText } from '../../../src/core/playbook/validate.js'

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
    expectAt(17, 14, 'confirm has the wrong type')
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
})
