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

  it('registers the secret fields of a JSON value, so the password is redacted in another copy of the document', () => {
    // Before: only the whole JSON string was registered; CloudTrail carrying the document with
    // another field changed showed the password in clear.
    const config = { db: { host: 'db.internal', password: 'hunter2hunter2XYZ' }, region: 'eu-west-1' }
    const out = scanEnvironments([
      { qualifier: '$LATEST', variables: { APP_CONFIG: JSON.stringify(config) } },
    ])
    expect(out.secrets.map((s) => [s.name, s.kind])).toEqual([['APP_CONFIG', 'json-with-secret']])
    const changed = JSON.stringify({ APP_CONFIG: JSON.stringify({ ...config, region: 'us-east-1' }) })
    const shown = redactor.scrub(changed)
    expect(shown).not.toContain('hunter2')
    expect(shown).toContain('\\"password\\":\\"‹redacted len=17 sha256:')
    // What is not secret in it stays readable.
    expect(shown).toContain('db.internal')
  })

  it('lists the environments Lambda did not return, by error, with their qualifiers', () => {
    const kms = 'KMSAccessDeniedException: Lambda was unable to decrypt the environment variables'
    const out = scanEnvironments([
      { qualifier: '$LATEST', variables: undefined, error: kms },
      { qualifier: '1', variables: { LOG_LEVEL: 'debug' } },
      { qualifier: '2', variables: undefined, error: kms },
      { qualifier: 'live', variables: undefined, error: 'KMSDisabledException: the key is disabled' },
    ])
    expect(out.secrets).toEqual([])
    expect(out.unreadable).toEqual([
      { error: kms, qualifiers: ['$LATEST', '2'] },
      { error: 'KMSDisabledException: the key is disabled', qualifiers: ['live'] },
    ])
  })
})
