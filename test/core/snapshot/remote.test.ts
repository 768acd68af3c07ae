import { describe, expect, it } from 'vitest'
import { parseEvidenceBucket } from '../../../src/core/snapshot/remote.js'
import { UsageError } from '../../../src/errors.js'

describe('parseEvidenceBucket', () => {
  it('reads s3://bucket/prefix', () => {
    expect(parseEvidenceBucket('s3://ir-evidence/cases/INC-1/')).toEqual({
      bucket: 'ir-evidence',
      prefix: 'cases/INC-1',
    })
    expect(parseEvidenceBucket('s3://ir-evidence')).toEqual({ bucket: 'ir-evidence', prefix: '' })
  })

  it('refuses what is not a bucket URI, or a prefix with dot segments', () => {
    for (const bad of [
      'ir-evidence',
      's3://',
      's3://UPPER/x',
      'https://ir-evidence/x',
      's3://a..b/x',
      's3://ir-evidence/../x',
    ])
      expect(() => parseEvidenceBucket(bad), bad).toThrow(UsageError)
  })
})
