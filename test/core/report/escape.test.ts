import { describe, expect, it } from 'vitest'
import { escapeMarkdown } from '../../../src/core/report/escape.js'

describe('escapeMarkdown', () => {
  it('neutralises inline Markdown, HTML and table syntax', () => {
    expect(escapeMarkdown('a|b')).toBe('a\\|b')
    expect(escapeMarkdown('`code` *b* _i_ ~s~ [l](u)')).toBe('\\`code\\` \\*b\\* \\_i\\_ \\~s\\~ \\[l\\](u)')
    expect(escapeMarkdown('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;')
    expect(escapeMarkdown('a & b "q"')).toBe('a &amp; b &quot;q&quot;')
    expect(escapeMarkdown('back\\slash')).toBe('back\\\\slash')
  })

  it('keeps a value on one line: newlines become <br>, CR is dropped into a newline first', () => {
    expect(escapeMarkdown('one\ntwo\r\nthree\rfour')).toBe('one<br>two<br>three<br>four')
    // The <br> is ours; an attacker's <br> stays text.
    expect(escapeMarkdown('<br>')).toBe('&lt;br&gt;')
  })

  it('stops autolinks, @mentions and #references', () => {
    expect(escapeMarkdown('https://attacker.example/x')).toBe('https&#58;//attacker.example/x')
    expect(escapeMarkdown('see www.attacker.example')).toBe('see www&#46;attacker.example')
    expect(escapeMarkdown('@admin #1')).toBe('&#64;admin &#35;1')
    expect(escapeMarkdown('<https://x.example>')).toBe('&lt;https&#58;//x.example&gt;')
  })

  it('neutralises block syntax at the start of the value only', () => {
    expect(escapeMarkdown('- item')).toBe('\\- item')
    expect(escapeMarkdown('---')).toBe('\\---')
    expect(escapeMarkdown('+ item')).toBe('\\+ item')
    expect(escapeMarkdown('1. item')).toBe('1\\. item')
    expect(escapeMarkdown('2) item')).toBe('2\\) item')
    expect(escapeMarkdown('    code block')).toBe('&#32;&#32;&#32;&#32;code block')
    expect(escapeMarkdown('# heading')).toBe('&#35; heading')
    expect(escapeMarkdown('> quote')).toBe('&gt; quote')
    // Ordinary values read as they are.
    expect(escapeMarkdown('34.6%')).toBe('34.6%')
    expect(escapeMarkdown('-5')).toBe('-5')
    expect(escapeMarkdown('arn:aws:iam::123456789012:role/orders-api-role')).toBe(
      'arn:aws:iam::123456789012:role/orders-api-role',
    )
    expect(escapeMarkdown('a - b')).toBe('a - b')
  })

  it('prints nothing for null and undefined and strings for the rest', () => {
    expect(escapeMarkdown(null)).toBe('')
    expect(escapeMarkdown(undefined)).toBe('')
    expect(escapeMarkdown(42)).toBe('42')
  })
})
