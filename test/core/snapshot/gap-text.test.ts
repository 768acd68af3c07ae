import { describe, expect, it } from 'vitest'
import { unknownFromGaps, whyFromGaps } from '../../../src/core/snapshot/gap-text.js'

describe('whyFromGaps', () => {
  const pc = { call: 'lambda:ListProvisionedConcurrencyConfigs', reason: 'unimplemented: not served' }
  const code = { call: 'lambda:GetFunction', reason: 'not-found: unable to download s3://b/k' }

  it('names the same gap whichever of two concurrent reads failed first', () => {
    // The sweep's "sealed with gaps" line changed from run to run with the order the calls failed.
    expect(whyFromGaps([pc, code])).toBe(whyFromGaps([code, pc]))
    expect(whyFromGaps([pc, code])).toBe(
      'not-found: unable to download s3://b/k (lambda:GetFunction); and 1 more gap',
    )
  })

  it('names a single gap with its call, or none', () => {
    expect(unknownFromGaps([pc])).toBe(
      'unknown: unimplemented: not served (lambda:ListProvisionedConcurrencyConfigs)',
    )
    expect(whyFromGaps([])).toBeNull()
  })
})
