import { describe, expect, it } from 'vitest'
import { classifyValue, Redactor, redactArgv, redactValue } from '../../../src/core/common/redact.js'
import { escapeTerminal } from '../../../src/core/common/text.js'

describe('redaction', () => {
  it('shows length and the first 8 hex of the SHA-256, never the value', () => {
    // sha256("hunter2hunter2") starts with 3a8f4c5e? computed below, not assumed
    const r = redactValue('hunter2hunter2')
    expect(r).toMatch(/^‹redacted len=14 sha256:[0-9a-f]{8}›$/)
    expect(r).not.toContain('hunter2')
    expect(redactValue('abc')).toBe('‹redacted len=3 sha256:ba7816bf›')
  })
  it('classifies secrets by value and by name, and key ids as not secret', () => {
    expect(classifyValue('X', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').secret).toBe(true)
    expect(classifyValue('DB_PASSWORD', 'correct-horse').secret).toBe(true)
    expect(classifyValue('DB_PASSWORD', 'true').secret).toBe(false)
    expect(classifyValue('AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPLE')).toMatchObject({
      secret: false,
      accessKeyId: true,
    })
    expect(classifyValue('LOG_LEVEL', 'debug').secret).toBe(false)
    // Names of secrets are not secrets: rotate-secret and the timeline need them in clear.
    expect(classifyValue('DB_SECRET_ID', 'prod/orders/db').secret).toBe(false)
    expect(classifyValue('API_TOKEN_ARN', 'arn:aws:secretsmanager:us-east-1:1:secret:x').secret).toBe(false)
    expect(classifyValue('API_KEY', 'k-1234567890').secret).toBe(true)
    expect(classifyValue('DATABASE_URL', 'postgres://app:s3cr3t@db:5432/x')).toMatchObject({
      secret: true,
      kind: 'url-with-password',
    })
  })
  it('scrubs registered values anywhere in text and deep structures', () => {
    const r = new Redactor()
    r.register('s3cr3t-value-1')
    expect(r.scrub('token=s3cr3t-value-1;')).toBe(`token=${redactValue('s3cr3t-value-1')};`)
    expect(r.scrubDeep({ a: ['x s3cr3t-value-1'], b: 3 })).toEqual({
      a: [`x ${redactValue('s3cr3t-value-1')}`],
      b: 3,
    })
  })
  it('redacts secrets on a command line', () => {
    const out = redactArgv([
      'playbook',
      'run',
      'x',
      '--input',
      'db_password=hunter22',
      '--token',
      'abcdefgh',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ])
    expect(out.join(' ')).not.toMatch(/hunter22|abcdefgh|wJalrXUtnFEMI/)
    expect(out).toContain('playbook')
  })
})

describe('escapeTerminal', () => {
  it('makes ANSI escapes and control characters visible', () => {
    expect(escapeTerminal('\u001b[31mred\u001b[0m\r\n\u0007\u009b2J')).toBe(
      '\\e[31mred\\e[0m\\r\\n\\x07\\x9b2J',
    )
  })
  it('escapes bidi overrides', () => {
    expect(escapeTerminal('a\u202eb')).toBe('a\\u{202e}b')
  })
  it('keeps our own newlines when asked', () => {
    expect(escapeTerminal('a\nb\u001b', true)).toBe('a\nb\\e')
  })
})
