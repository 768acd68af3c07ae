import { describe, expect, it } from 'vitest'
import { escapeMarkdown } from '../../../src/core/report/escape.js'
import { REPORT_CSP } from '../../../src/core/report/html-safety.js'
import type { ReportModel } from '../../../src/core/report/model.js'
import { compileReportTemplate, markdownCommand, type ReportFormat } from '../../../src/core/report/render.js'
import { FirError } from '../../../src/errors.js'

const AGENT = '**bold** [click me](https://evil.example/phish) @security-team'
const ERROR = 'denied | [reset your password](https://evil.example/phish) **now**'

/** The part of the view model these templates read: attacker text where CloudTrail puts it. */
const model = {
  case: { id: 'C-1', title: 'javascript:alert(1)' },
  summary: { totalFindings: 42, nothing: null },
  timeline: { keyEvents: [{ userAgent: AGENT, error: ERROR }] },
} as unknown as ReportModel

function render(source: string, format: ReportFormat): string {
  return compileReportTemplate(source, format, `t.${format}.hbs`).render(model)
}

function refusal(source: string, format: ReportFormat): FirError {
  try {
    render(source, format)
  } catch (err) {
    if (err instanceof FirError) return err
    throw err
  }
  throw new Error(`${source} was rendered`)
}

describe('a custom Markdown template: every {{…}} escapes Markdown', () => {
  it('prints attacker text from a plain {{field}} as text: no emphasis, link, mention or broken table', () => {
    const out = render(
      '# {{case.id}}\n| agent | error |\n|---|---|\n{{#each timeline.keyEvents}}| {{userAgent}} | {{error}} |\n{{/each}}',
      'md',
    )
    // Before: `| **bold** [click me](https://evil.example/phish) @security-team | denied | [reset …`.
    expect(out).toBe(
      `# C-1\n| agent | error |\n|---|---|\n| ${escapeMarkdown(AGENT)} | ${escapeMarkdown(ERROR)} |\n`,
    )
    expect(out).not.toContain('](https://')
    expect(out.split('\n')[3]!.replace(/\\\|/g, '').split('|')).toHaveLength(4)
  })

  it('prints numbers and {{md …}} / {{mdcode …}} as before; a field named by a literal is escaped too', () => {
    expect(render('{{summary.totalFindings}} {{md case.id}} {{mdcode case.id}}', 'md')).toBe('42 C-1 `C-1`')
    expect(render('{{#with timeline.keyEvents.[0]}}{{"userAgent"}}{{/with}}', 'md')).toBe(
      escapeMarkdown(AGENT),
    )
  })
})

describe('a command in Markdown', () => {
  it('is a code span whatever it holds: fenced past its backticks, padded where a code span would strip', () => {
    // Before (mdcode): escaped text, whose source pastes as `a \| b` and `&lt;x&gt;`.
    expect(markdownCommand("fir x --role 'a|b<x>&amp;*_\\'")).toBe("`fir x --role 'a|b<x>&amp;*_\\'`")
    expect(markdownCommand("aws x --role 'a`id`b'")).toBe("``aws x --role 'a`id`b'``")
    expect(markdownCommand('a ``b`` c')).toBe('```a ``b`` c```')
    expect(markdownCommand('`a`')).toBe('`` `a` ``')
    expect(markdownCommand(' a ')).toBe('`  a  `')
    // A code span joins lines: a command over two is escaped text, as it was.
    expect(markdownCommand('a\nb|c')).toBe(escapeMarkdown('a\nb|c'))
    expect(render('{{mdcommand case.title}}', 'md')).toBe('`javascript:alert(1)`')
  })
})

describe('a custom HTML template keeps the report one self-contained file', () => {
  const head = `<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`

  it('renders one with the CSP in its head, values in text and quoted attributes, and links inside the report', () => {
    const source = `<!doctype html><html><head>${head}<title>{{case.id}}</title></head><body><p class="{{case.id}}"><a href="#{{case.id}}">{{case.title}}</a></p></body></html>`
    expect(render(source, 'html')).toContain('<a href="#C-1">javascript:alert(1)</a>')
  })

  it('refuses a script, an event handler, an external reference or a value where escaping does not help, naming file:line:column (exit 2)', () => {
    for (const [body, problem] of [
      ['<script>alert(1)</script>', '2:1: a <script> element (the report runs no script) is not allowed'],
      ['<p onclick="x()">', '2:4: an event handler attribute (onclick) is not allowed'],
      [
        '<link rel="stylesheet" href="https://cdn.example/x.css">',
        '2:1: a <link> element (the report loads nothing) is not allowed; t.html.hbs:2:24: an external reference (href="https://cdn.example/x.css") is not allowed',
      ],
      ['<img src="//evil.example/p.png">', '2:6: an external reference (src="//evil.example/p.png")'],
      ['<a href="{{case.title}}">x</a>', '2:10: a value in the URL attribute href is not allowed'],
      ['<p style="background:url(https://e.example/x)">', '2:4: a url(…) in CSS pointing outside the report'],
      ['<style>p { color: red } @import "https://e.example/x.css";</style>', '2:1: an @import in CSS'],
      ['<p title={{case.id}}>', '2:10: a value in the unquoted attribute title is not allowed'],
      ['<{{case.id}}>', '2:2: a value as a tag name is not allowed'],
      ['<p {{case.id}}>', '2:4: a value as an attribute name is not allowed'],
      ['<meta http-equiv="refresh" content="0;url=https://e.example">', '2:7: a <meta http-equiv="refresh">'],
    ] as const) {
      const err = refusal(`${head}\n${body}`, 'html')
      expect(err.exitCode, body).toBe(2)
      expect(err.message, body).toContain(`unable to use template t.html.hbs: t.html.hbs:${problem}`)
      expect(err.actions.join('\n')).toMatch(/fir's own template/)
    }
  })

  it("refuses a report without fir's Content-Security-Policy in its head, as rendered", () => {
    const missing =
      'the head has no <meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">'
    for (const [source, problem] of [
      ['<h1>{{case.title}}</h1>', missing],
      // Under a block that is false, it is not in the report.
      [`{{#if summary.nothing}}${head}{{/if}}<h1>x</h1>`, missing],
      [`<h1>x</h1>${head}`, 'the Content-Security-Policy <meta> must come in the head, before any content'],
      [
        '<meta http-equiv="Content-Security-Policy" content="default-src *">',
        "a Content-Security-Policy less strict than fir's",
      ],
    ] as const) {
      const err = refusal(source, 'html')
      expect(err.exitCode, source).toBe(2)
      expect(err.message, source).toMatch(
        /^unable to (render|use) template t\.html\.hbs: (the report it rendered breaks the HTML safety rules: line |t\.html\.hbs:)\d+:\d+: /,
      )
      expect(err.message, source).toContain(problem)
    }
  })

  // A re-prober proved these in Chromium; all but `<!--->`, the escaped @import and the SVG links
  // (kept as regressions) were written before: the check read the markup with its own tokenizer,
  // which decoded no entity, closed comments only at `-->`, took `<svg><title>` and `<svg><style>`
  // for raw text, looked into no `<template>` and knew no <animateMotion>. Now the report as
  // rendered is parsed as a browser parses it.
  const doc = (headPart: string, body: string) =>
    `<!doctype html><html><head>${headPart}<title>x</title></head><body>\n${body}\n</body></html>`
  it.each([
    [
      'an entity in http-equiv="&#114;efresh"',
      doc(head, '<meta http-equiv="&#114;efresh" content="0;url=file:///tmp/landed.html">'),
      'line 2:1: a <meta http-equiv="refresh"> is not allowed',
    ],
    [
      'a comment closed at <!-->',
      doc(head, '<!--> <meta http-equiv="refresh" content="0;url=https://e.example/a"> <!-- -->'),
      'line 2:7: a <meta http-equiv="refresh"> is not allowed',
    ],
    [
      'a comment closed at --!>',
      doc(head, '<!-- x --!> <meta http-equiv="refresh" content="0;url=https://e.example/b"> <!-- -->'),
      'line 2:13: a <meta http-equiv="refresh"> is not allowed',
    ],
    [
      'a comment closed at <!--->',
      doc(head, '<!---> <meta http-equiv="refresh" content="0;url=https://e.example/c"> <!-- -->'),
      'a <meta http-equiv="refresh"> is not allowed',
    ],
    [
      'the CSP <meta> inside a <template>',
      doc(`<template>${head}</template>`, '<p>x</p>'),
      'the Content-Security-Policy <meta> must open the head',
    ],
    [
      'a <script> in an SVG <title>',
      doc(head, '<svg><title><script>document.title="PWNED"</script></title></svg>'),
      'line 2:13: a <script> element (the report runs no script) is not allowed',
    ],
    [
      'a meta refresh in an SVG <title>',
      doc(head, '<svg><title><meta http-equiv="refresh" content="0;url=https://e.example/d"></title></svg>'),
      'a <meta http-equiv="refresh"> is not allowed',
    ],
    [
      'an <img> breaking out of an SVG <style>',
      doc(head, '<svg><style><img src="https://e.example/beacon.png"></style></svg>'),
      'line 2:18: an external reference (src="https://e.example/beacon.png") is not allowed',
    ],
    [
      'an entity in a style attribute: u&#114;l(',
      doc(head, '<div style="background-image:u&#114;l(https://e.example/beacon2.png)">x</div>'),
      'line 2:6: a url(…) in CSS pointing outside the report (in style) is not allowed',
    ],
    [
      'an escaped @import in an SVG <style>',
      doc(head, '<svg><style>@\\69mport "https://e.example/x.css";</style></svg>'),
      'an @import in CSS',
    ],
    [
      'SVG links: xlink:href and <use href>',
      doc(
        head,
        '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a><use href="https://e.example/s.svg#a"/></svg>',
      ),
      'a reference outside the report (xlink:href="javascript:alert(1)")',
    ],
    [
      'SVG <animateMotion>',
      doc(head, '<svg><animateMotion dur="1s"/><animateTransform/></svg>'),
      'an SVG <animateMotion> element',
    ],
    [
      // A re-prober's: bytes parse5 read as a quoted attribute, ISO-2022-JP turns into characters,
      // and the script inside ran in Chromium with no CSP in force.
      'a <meta charset> other than utf-8',
      `<!doctype html><html><head><meta charset="ISO-2022-JP"><meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"><title>x</title></head><body><p title="a\u001b$B"\u001b(B data-x=" <script>document.title=1</script> ">ok</p></body></html>`,
      'a <meta charset> other than utf-8 is not allowed',
    ],
    [
      'no declared encoding (a browser guesses one)',
      `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"><title>x</title></head><body></body></html>`,
      'the head must open with <meta charset="utf-8">',
    ],
    [
      'a repeated directive (a browser applies the first)',
      `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src *; default-src 'none'; style-src 'unsafe-inline'"><title>x</title></head><body></body></html>`,
      "a Content-Security-Policy less strict than fir's",
    ],
    [
      'the CSP <meta> after the <title>',
      `<!doctype html><html><head><title>x</title>${head}</head><body></body></html>`,
      'must open the head',
    ],
  ] as const)('refuses a report a browser would let load or run something: %s', (_label, source, problem) => {
    const err = refusal(source, 'html')
    expect(err.exitCode).toBe(2)
    expect(err.message).toMatch(
      /^unable to (render template t\.html\.hbs: the report it rendered breaks the HTML safety rules: line |use template t\.html\.hbs: t\.html\.hbs:)\d+:\d+: /,
    )
    expect(err.message).toContain(problem)
  })

  it("keeps accepting fir's own template, a <meta charset> before the policy and links inside the report", () => {
    const source = `<!doctype html><html><head><meta charset="utf-8">${head}<style>p { fill: url(#g) }</style></head><body><svg><use href="#g"/><rect fill="url(#g)"/></svg><a href="#top">x</a></body></html>`
    expect(render(source, 'html')).toContain('<a href="#top">')
  })
})
