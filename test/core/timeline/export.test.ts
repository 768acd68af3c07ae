import { describe, expect, it } from 'vitest'
import { Redactor, redactor, redactValue } from '../../../src/core/common/redact.js'
import { escapeJsonText, escapeTerminal } from '../../../src/core/common/text.js'
import { csvCell, Exporter, eventSummary, mdCell } from '../../../src/core/timeline/export.js'
import { normaliseRecord } from '../../../src/core/timeline/normalise.js'

const hostile = normaliseRecord(
  {
    eventTime: '2025-03-01T10:00:00Z',
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionCode20150331v2',
    eventID: 'e1',
    awsRegion: 'eu-west-1',
    userAgent: '=HYPERLINK("http://evil.example","click")',
    sourceIPAddress: '@SUM(1+1)',
    userIdentity: {
      type: 'IAMUser',
      arn: '| pipe | `code` <script>alert(1)</script> [link](http://x) \u001b[31m',
    },
    requestParameters: { functionName: 'a\nb\r\nc' },
  },
  'file',
)
hostile.findings = [{ rule: 'r1', title: 'Code overwritten', level: 'medium', tags: [] }]

describe('CSV export', () => {
  it('neutralises formulas and quotes every cell', () => {
    expect(csvCell('=1+1')).toBe(`"'=1+1"`)
    expect(csvCell('+1')).toBe(`"'+1"`)
    expect(csvCell('-1')).toBe(`"'-1"`)
    expect(csvCell('@x')).toBe(`"'@x"`)
    // Before: passed as they were (an importer that trims spaces runs them).
    expect(csvCell(' =1+1')).toBe(`"' =1+1"`)
    expect(csvCell('\u00a0\u00a0@SUM(1)')).toBe(`"'\u00a0\u00a0@SUM(1)"`)
    expect(csvCell('a =1')).toBe('"a =1"')
    // A tab or carriage return is shown as text (below), so it no longer starts the cell.
    expect(csvCell('\tx')).toBe('"\\tx"')
    expect(csvCell('\rx')).toBe('"\\rx"')
    expect(csvCell('say "hi", ok')).toBe('"say ""hi"", ok"')
    expect(csvCell(null)).toBe('""')
    const row = new Exporter('csv', false).row(hostile)
    expect(row).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`)
    expect(row).toContain(`"'@SUM(1+1)"`)
    expect(row.endsWith('\r\n')).toBe(true)
    // newlines stay inside a quoted cell
    expect(row).toContain('a\\nb\\r\\nc')
  })

  it('shows control characters and bidi overrides as text, in text cells and in JSON cells (which still parse)', () => {
    // Before: `fir timeline --format csv` printed them raw to the terminal (an ANSI escape in a
    // user agent recoloured it; U+202E reversed what followed).
    expect(csvCell('\u001b[31mred\u0007 \u202eevil\u0000 a\nb')).toBe(
      '"\\e[31mred\\x07 \\u{202e}evil\\x00 a\\nb"',
    )
    const cell = csvCell({ k: '\u001b[2J\u009b\u202e' })
    expect(cell).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/)
    expect(JSON.parse(cell.slice(1, -1).replaceAll('""', '"'))).toEqual({ k: '\u001b[2J\u009b\u202e' })
  })
})

describe('JSON Lines exports', () => {
  it('escape the characters JSON leaves raw that a terminal acts on, and keep every value', () => {
    const record = {
      eventTime: '2025-03-01T10:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'Invoke',
      eventID: 'e2',
      userAgent: 'agent \u202eevil\u009b31m \u200b',
    }
    const event = normaliseRecord(record, 'file')
    for (const format of ['jsonl', 'timesketch'] as const) {
      const line = new Exporter(format, true).row(event)
      // Before: U+202E and U+009B (CSI) were printed raw to the terminal.
      expect(line, format).not.toMatch(/[\u007f-\u009f\u200b-\u200f\u202a-\u202e]/)
      expect(line).toContain('\\u202e')
      expect(JSON.parse(line).raw).toEqual(record)
    }
  })
})

describe('every export', () => {
  it('writes the line and paragraph separators U+2028 and U+2029 as escapes, with or without raw', () => {
    // Before: written raw in every format (editors and terminals break the line there).
    const record = {
      eventTime: '2025-03-01T10:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      eventID: 'e3',
      userAgent: 'line1\u2028line2\u2029x',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::1:user/a\u2028b' },
      requestParameters: { functionName: 'f\u2029g' },
    }
    const event = normaliseRecord(record, 'file')
    const separators = /[\u2028\u2029]/
    for (const format of ['jsonl', 'timesketch', 'csv', 'md'] as const) {
      for (const raw of [false, true]) {
        const exporter = new Exporter(format, raw)
        const text = exporter.header() + exporter.row(event)
        expect(text, `${format} raw=${raw}`).not.toMatch(separators)
        if (format === 'jsonl' || format === 'timesketch') {
          expect(text).toContain('\\u2028')
          const line = JSON.parse(text)
          expect(format === 'jsonl' ? line.userAgent : line.user_agent).toBe('line1\u2028line2\u2029x')
          if (raw) expect(line.raw).toEqual(record)
        } else expect(text).toContain('\\u{2028}')
      }
    }
    expect(csvCell({ k: '\u2028' })).toBe('"{""k"":""\\u2028""}"')
    expect(mdCell('a\u2029b')).toBe('a\\u{2029}b')
    // The Arabic letter mark is a bidi control too (it reorders what follows).
    expect(mdCell('a\u061cb')).toBe('a\\u{61c}b')
  })
})

describe('invisible characters', () => {
  it('shows every format character and default-ignorable code point, in the terminal and every export', () => {
    // Before: the word joiner (ad\u2060min looked like admin), tag characters (hidden text), the
    // soft hyphen, the Mongolian vowel separator and the Hangul filler passed raw.
    const hidden = 'ad\u2060min \u{e0068}\u{e0069} so\u00adft \u180e \u3164 \ufff9'
    expect(escapeTerminal(hidden)).toBe(
      'ad\\u{2060}min \\u{e0068}\\u{e0069} so\\xadft \\u{180e} \\u{3164} \\u{fff9}',
    )
    const record = {
      eventTime: '2025-03-01T10:00:00Z',
      eventSource: 'iam.amazonaws.com',
      eventName: 'AttachUserPolicy',
      eventID: 'e4',
      userAgent: hidden,
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::1:user/ad\u2060min' },
    }
    const event = normaliseRecord(record, 'file')
    const invisible = /[\u00ad\u180e\u2060\u3164\ufff9\u{e0068}]/u
    for (const format of ['jsonl', 'timesketch', 'csv', 'md'] as const) {
      for (const raw of [false, true]) {
        const exporter = new Exporter(format, raw)
        const text = exporter.header() + exporter.row(event)
        expect(text, `${format} raw=${raw}`).not.toMatch(invisible)
        if (format === 'jsonl' && raw) {
          // Still JSON, with every value as it was (a tag character is a surrogate pair of escapes).
          expect(text).toContain('\\udb40\\udc68')
          expect(JSON.parse(text).raw).toEqual(record)
        }
      }
    }
  })

  it('shows blank-looking characters: the braille pattern blank, Hangul fillers, tag characters and the like', () => {
    // Before: U+2800 (braille pattern blank) and U+1D159 (musical symbol null notehead) are neither
    // format characters nor default-ignorable, and passed raw: `admin\u2800` looked like `admin`.
    const blank = [
      0x2800, 0x1d159, 0x115f, 0x1160, 0x3164, 0xffa0, 0x180e, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xfe00,
      0xfe0f, 0xe0000, 0xe0001, 0xe0041, 0xe007f, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202b,
      0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
    ].map((c) => String.fromCodePoint(c))
    for (const ch of blank) {
      const code = ch.codePointAt(0)!.toString(16)
      expect(escapeTerminal(`admin${ch}`), code).toBe(`admin\\u{${code}}`)
      expect(mdCell(`admin${ch}`), code).toBe(`admin\\u{${code}}`)
      expect(csvCell(`admin${ch}`), code).toBe(`"admin\\u{${code}}"`)
      expect(escapeJsonText(JSON.stringify(`admin${ch}`)), code).not.toContain(ch)
      expect(JSON.parse(escapeJsonText(JSON.stringify(`admin${ch}`))), code).toBe(`admin${ch}`)
    }
    const record = {
      eventTime: '2025-03-01T10:00:00Z',
      eventSource: 'iam.amazonaws.com',
      eventName: 'AttachUserPolicy',
      eventID: 'e5',
      userAgent: blank.join(''),
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::1:user/admin\u2800' },
    }
    const event = normaliseRecord(record, 'file')
    for (const format of ['jsonl', 'timesketch', 'csv', 'md'] as const) {
      for (const raw of [false, true]) {
        const exporter = new Exporter(format, raw)
        const text = exporter.header() + exporter.row(event)
        for (const ch of blank) expect(text, `${format} raw=${raw}`).not.toContain(ch)
      }
    }
    // Spaces stay spaces: they show as a gap, not as nothing.
    expect(escapeTerminal('a b\u00a0c\u3000d')).toBe('a b\u00a0c\u3000d')
  })
})

describe('Markdown export', () => {
  it('escapes pipes, backticks, HTML, links and line breaks', () => {
    const cell = mdCell('| pipe | `code` <script>alert(1)</script> [link](http://x)\nnext')
    expect(cell).not.toMatch(/(^|[^\\])\|/)
    expect(cell).not.toContain('<script>')
    expect(cell).toContain('&lt;script&gt;')
    expect(cell).not.toMatch(/(^|[^\\])`/)
    expect(cell).not.toContain('](http://')
    expect(cell).not.toContain('\n')
    expect(mdCell('\u001b[31mred')).toBe('\\x1b\\[31mred')
    const row = new Exporter('md', false).row(hostile)
    expect(row.split('\n').length).toBe(2)
    expect((row.match(/(^|[^\\])\|/g) ?? []).length).toBe(9)
  })

  it('leaves nothing GitHub would autolink or notify: schemes, www., e-mail and xmpp addresses, @names', () => {
    const cell = mdCell(
      'see www.evil.example/login or WWW.evil.example, admin@evil.example, xmpp:evil@evil.example, https://evil.example @team',
    )
    expect(cell).not.toMatch(/www\./i)
    expect(cell).not.toContain('@')
    expect(cell).not.toContain('://')
    expect(cell).toContain('www&#46;evil.example/login')
    expect(cell).toContain('admin&#64;evil.example')
  })
})

describe('JSONL and Timesketch exports', () => {
  it('leave raw out unless asked', () => {
    const line = JSON.parse(new Exporter('jsonl', false).row(hostile))
    expect(line.raw).toBeUndefined()
    expect(line.name).toBe('UpdateFunctionCode')
    expect(JSON.parse(new Exporter('jsonl', true).row(hostile)).raw.eventID).toBe('e1')
  })

  it('carry message, datetime and timestamp_desc', () => {
    const t = JSON.parse(new Exporter('timesketch', false).row(hostile))
    expect(t).toMatchObject({
      datetime: '2025-03-01T10:00:00.000Z',
      timestamp: Date.parse('2025-03-01T10:00:00Z') * 1000,
      timestamp_desc: 'Event Time',
      event_name: 'UpdateFunctionCode',
      tag: ['medium:Code overwritten'],
    })
    expect(t.message).toMatch(/^lambda:UpdateFunctionCode on a\nb\r\nc by \| pipe/)
  })
})

describe('secrets in exports', () => {
  it('are redacted inside JSON (CSV cells, Markdown cells, JSONL and Timesketch lines), before CSV quoting', () => {
    // Before: the registered value was looked for in text already JSON-escaped, so a secret with a
    // quote or a backslash was exported as `Tr0ub\"ad\\or…` (and `Tr0ub\""ad…` in CSV).
    const secret = 'Tr0ub"ad\\or&<x>=y\u0007'
    const probe = new Redactor()
    probe.register(secret)
    redactor.register(secret)
    const event = normaliseRecord(
      {
        eventTime: '2025-03-01T10:00:00Z',
        eventSource: 'lambda.amazonaws.com',
        eventName: 'UpdateFunctionConfiguration20150331v2',
        eventID: 'secret-1',
        userAgent: `curl ${secret}`,
        requestParameters: { functionName: 'payments', environment: { variables: { DB_PASSWORD: secret } } },
      },
      'file',
    )
    for (const format of ['csv', 'md', 'jsonl', 'timesketch'] as const) {
      const text = new Exporter(format, true).row(event)
      // What remains once the markers are taken out shows nothing of the secret.
      expect(text.replaceAll(redactValue(secret), ''), format).not.toMatch(/Tr0ub|ad\\|or&|&lt;x|bell/)
      // A Markdown row shows neither the user agent nor the parameters.
      if (format !== 'md') expect(text, format).toContain(redactValue(secret))
      expect(probe.scrub(text), format).toBe(text)
    }
    expect(csvCell({ p: secret })).toBe(`"{""p"":""${redactValue(secret)}""}"`)
    expect(mdCell({ p: secret })).toContain(redactValue(secret))
  })
})

describe('an event summary (findings.json summary, Timesketch message)', () => {
  it('scrubs the target before it cuts it at 200 characters', () => {
    // Before: cut first, so a secret across the cut left its head in findings.json and Timesketch.
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    redactor.register(secret)
    const event = normaliseRecord(
      {
        eventTime: '2025-03-01T10:00:00Z',
        eventSource: 'lambda.amazonaws.com',
        eventName: 'GetFunction20150331v2',
        eventID: 'cut-1',
        requestParameters: { functionName: `${'F'.repeat(190)}${secret}` },
      },
      'file',
    )
    expect(eventSummary(event)).toMatch(/^lambda:GetFunction on F{190} by /)
    const line = new Exporter('timesketch', false).row(event)
    expect(line).not.toContain('wJalrX')
    expect(JSON.parse(line).message).toBe(eventSummary(event))
  })
})
