import { describe, expect, it } from 'vitest'
import { scoreReport } from '../../../src/core/tabletop/drill.js'

describe('tabletop scorecard', () => {
  it('finds each expected finding by title (case-insensitive substring) or rule id, and says what was missed', () => {
    const s = scoreReport(
      {
        description: 'd',
        findings: [
          'policy opened to everyone',
          '0349fe3e-5441-4add-b3ae-29dff9cf3175',
          'Layers Or Execution Role',
        ],
      },
      [
        'Lambda Function Policy Opened To Everyone Or Another Account',
        'Lambda Function URL Without Authentication',
      ],
      ['0939f1b4-9dd5-424a-bb7e-72b249f528e3', '0349fe3e-5441-4add-b3ae-29dff9cf3175', 'public-url'],
    )
    expect(s.matches).toEqual([
      {
        expected: 'policy opened to everyone',
        finding: 'Lambda Function Policy Opened To Everyone Or Another Account',
      },
      { expected: '0349fe3e-5441-4add-b3ae-29dff9cf3175', finding: '0349fe3e-5441-4add-b3ae-29dff9cf3175' },
      { expected: 'Layers Or Execution Role', finding: null },
    ])
    expect(s.detected).toBe(false)
    expect(
      scoreReport(
        { description: 'd', findings: ['url without'] },
        ['Lambda Function URL Without Authentication'],
        [],
      ).detected,
    ).toBe(true)
    // a rule id must match exactly, not as a fragment
    expect(
      scoreReport({ description: 'd', findings: ['0349fe3e'] }, [], ['0349fe3e-5441-4add-b3ae-29dff9cf3175'])
        .detected,
    ).toBe(false)
  })
})
