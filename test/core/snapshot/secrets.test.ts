import { describe, expect, it } from 'vitest'
import { redactor } from '../../../src/core/common/redact.js'
import { scanEnvironments } from '../../../src/core/snapshot/secrets.js'

describe('scanEnvironments', () => {
  it('registers every secret with the redactor, returns only redacted forms, and pairs access keys', () => {
    const secretKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEK1'
    const password = 'correct-horse-battery-9'
    const out = scanEnvironments([
      {
        qualifier: '$LATEST',
        variables: {
          KEY_ID: 'AKIAIOSFODNN7EXAMPL1',
          KEY_SECRET: secretKey,
          DB_PASSWORD: password,
          LOG_LEVEL: 'debug',
        },
      },
      { qualifier: '1', variables: { DB_PASSWORD: password } },
    ])
    expect(JSON.stringify(out)).not.toContain(secretKey)
    expect(JSON.stringify(out)).not.toContain(password)
    expect(out.secrets.map((s) => [s.name, s.kind, s.qualifiers])).toEqual([
      ['KEY_SECRET', 'aws-secret-access-key', ['$LATEST']],
      ['DB_PASSWORD', 'secret-by-name', ['$LATEST', '1']],
    ])
    expect(out.secrets[1]!.redacted).toMatch(/^‹redacted len=23 sha256:[0-9a-f]{8}›$/)
    expect(out.accessKeys).toEqual([
      {
        name: 'KEY_ID',
        accessKeyId: 'AKIAIOSFODNN7EXAMPL1',
        qualifiers: ['$LATEST'],
        pairedWith: 'KEY_SECRET',
      },
    ])
    expect(redactor.scrub(`leaked ${password} and ${secretKey}`)).not.toMatch(/correct-horse|wJalrXUtn/)
  })
})
