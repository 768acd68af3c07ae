import { describe, expect, it } from 'vitest'
import {
  conditionHolds,
  lookup,
  parseTemplate,
  renderDeep,
  renderTemplate,
  TemplateSyntaxError,
  truthy,
  Unresolved,
} from '../../../src/core/playbook/template.js'

const scope = {
  inputs: { function: 'payments', keys: ['AKIA1', 'AKIA2'], empty: '' },
  steps: { seal: { outputs: { roleName: 'payments-role', count: 3, none: [] as string[] } } },
}

describe('playbook templates', () => {
  it('renders paths, keeps the type of a lone expression, and joins text', () => {
    expect(renderTemplate(parseTemplate('{{ inputs.function }}'), scope)).toBe('payments')
    expect(renderTemplate(parseTemplate('{{inputs.keys}}'), scope)).toEqual(['AKIA1', 'AKIA2'])
    expect(renderTemplate(parseTemplate('  {{ steps.seal.outputs.count }} '), scope)).toBe(3)
    expect(renderTemplate(parseTemplate('fn={{ inputs.function }} keys={{ inputs.keys }}'), scope)).toBe(
      'fn=payments keys=AKIA1,AKIA2',
    )
    expect(renderTemplate(parseTemplate('{{ inputs.keys[1] }}'), scope)).toBe('AKIA2')
    expect(renderTemplate(parseTemplate('{{ inputs.empty || steps.seal.outputs.roleName }}'), scope)).toBe(
      'payments-role',
    )
    expect(renderTemplate(parseTemplate("{{ inputs.missing || 'fallback' }}"), scope)).toBe('fallback')
    expect(renderTemplate(parseTemplate('{{ !steps.seal.outputs.none }}'), scope)).toBe(true)
    expect(renderTemplate(parseTemplate('{{ ! inputs.function }}'), scope)).toBe(false)
    expect(
      renderDeep({ a: ['{{ inputs.function }}', 'x'], b: { c: '{{ steps.seal.outputs.none }}' } }, scope),
    ).toEqual({
      a: ['payments', 'x'],
      b: { c: [] },
    })
  })

  it('cannot reach prototypes, constructors or inherited properties', () => {
    for (const bad of ['{{ inputs.__proto__ }}', '{{ inputs.constructor }}', '{{ steps.prototype.x }}']) {
      expect(() => parseTemplate(bad)).toThrow(TemplateSyntaxError)
    }
    // inherited members are not own properties: nothing is found
    expect(lookup({ a: {} }, ['a', 'toString'])).toBeUndefined()
    expect(lookup({ a: 'str' }, ['a', 'length'])).toBeUndefined()
    expect(lookup({ a: [1, 2] }, ['a', 'length'])).toBeUndefined()
    expect(lookup(Object.create({ inherited: 1 }), ['inherited'])).toBeUndefined()
  })

  it('rejects code, calls and helpers with the offset of the problem', () => {
    const cases: [string, number][] = [
      ['{{ inputs.x }', 0],
      ['a }} b', 2],
      ['{{ }}', 2],
      ['{{ inputs.x() }}', 11],
      ['{{ process.exit(1) }}', 15],
      ['{{#each inputs}}x{{/each}}', 2],
      ['{{ inputs.a + 1 }}', 12],
      ["{{ 'unterminated }}", 3],
      ['{{ {{ inputs.a }} }}', 3],
    ]
    for (const [text, offset] of cases) {
      let err: unknown
      try {
        parseTemplate(text)
      } catch (e) {
        err = e
      }
      expect(err, text).toBeInstanceOf(TemplateSyntaxError)
      expect((err as TemplateSyntaxError).offset, text).toBe(offset)
    }
  })

  it('a step\'s text output is false only when empty: a role an intruder named "0" or "false" still counts', () => {
    const scope = {
      inputs: { enabled: '0', role: 'false' },
      steps: { seal: { outputs: { roleName: 'false', zero: '0', none: '', keys: [] as string[] } } },
    }
    expect(
      [
        '{{ steps.seal.outputs.roleName }}',
        '{{ steps.seal.outputs.zero }}',
        '{{ !steps.seal.outputs.roleName }}',
        '{{ steps.seal.outputs.none || steps.seal.outputs.zero }}',
        '{{ steps.seal.outputs.none }}',
        '{{ steps.seal.outputs.keys }}',
        '{{ inputs.enabled }}',
        '{{ inputs.role }}',
        '{{ !inputs.enabled }}',
        'role {{ steps.seal.outputs.zero }}',
        true,
      ].map((c) => conditionHolds(c, scope)),
    ).toEqual([true, true, false, true, false, false, false, false, true, true, true])
    const dry = { inputs: {}, steps: { seal: { outputs: new Unresolved('steps.seal.outputs') as never } } }
    expect(conditionHolds('{{ steps.seal.outputs.roleName }}', dry)).toBe('unresolved')
  })

  it('evaluates truthiness after templating and marks unknown outputs as unresolved', () => {
    expect([truthy(''), truthy('false'), truthy([]), truthy(0), truthy(null), truthy(undefined)]).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ])
    expect([truthy('x'), truthy(['a']), truthy(1), truthy(true)]).toEqual([true, true, true, true])
    // 0 as text, as an --input or a joined template gives it, is 0 (playbooks.md: `if` is false for 0)
    expect([
      truthy('0'),
      truthy(' 0 '),
      truthy('FALSE'),
      truthy('00'),
      truthy('0.5'),
      truthy('null'),
    ]).toEqual([false, false, false, true, true, true])
    // no, n and off too: `--input rotate=no` to an untyped input ran the step `if: "{{ inputs.rotate }}"`
    expect(['no', 'No', ' OFF ', 'n', 'yes', 'on', 'none', 'nope'].map(truthy)).toEqual([
      false,
      false,
      false,
      false,
      true,
      true,
      true,
      true,
    ])
    expect(conditionHolds('{{ inputs.rotate }}', { inputs: { rotate: 'no' }, steps: {} })).toBe(false)
    expect(conditionHolds('{{ !inputs.rotate }}', { inputs: { rotate: 'off' }, steps: {} })).toBe(true)
    // a step's text output is still false only when empty: a role named "no" is a role
    expect(
      conditionHolds('{{ steps.seal.outputs.roleName }}', {
        inputs: {},
        steps: { seal: { outputs: { roleName: 'no' } } },
      }),
    ).toBe(true)
    const scope = { inputs: { enabled: '0' }, steps: {} }
    expect(truthy(renderTemplate(parseTemplate('{{ inputs.enabled }}'), scope))).toBe(false)
    expect(truthy(renderTemplate(parseTemplate('{{ !inputs.enabled }}'), scope))).toBe(true)
    const dry = { inputs: {}, steps: { seal: { outputs: new Unresolved('steps.seal.outputs') as never } } }
    const v = renderTemplate(parseTemplate('{{ steps.seal.outputs.roleName }}'), dry)
    expect(v).toBeInstanceOf(Unresolved)
    expect(String(v)).toBe('‹steps.seal.outputs.roleName›')
    expect(String(renderTemplate(parseTemplate('role/{{ steps.seal.outputs.roleName }}'), dry))).toBe(
      'role/‹steps.seal.outputs.roleName›',
    )
  })
})
