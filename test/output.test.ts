import { describe, expect, it } from 'vitest'
import { renderGaps, renderHuman } from '../src/output.js'

describe('renderGaps', () => {
  it('escapes each field of a gap, line breaks included: a name cannot forge a line', () => {
    const text = renderHuman(
      renderGaps([
        {
          what: 'account 234321220577 (prod\u001b[31mRED\nFAKE LINE)',
          call: 'sts:Assume\rRole',
          reason: 'denied: AccessDenied: not\u2028allowed\tby policy',
        },
      ]),
    )
    expect(text.split('\n')).toEqual([
      '',
      'Gaps (1) — collected everything else:',
      '  - account 234321220577 (prod\\e[31mRED\\nFAKE LINE) [sts:Assume\\rRole]: denied: AccessDenied: not\\u{2028}allowed\\tby policy',
    ])
  })
})
