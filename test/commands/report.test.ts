import { spawnSync } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { exists } from '../../src/core/common/fs-safe.js'
import { runFir, tempDir } from '../support/cli.js'
import { buildSampleCase, type SampleCase } from '../support/sample-case.js'

describe('fir report (built CLI)', () => {
  let cwd: string
  let sample: SampleCase

  beforeAll(async () => {
    cwd = await tempDir()
    sample = await buildSampleCase({ parent: cwd, events: 120 })
  })

  it('writes report.html and report.md into the case, prints their paths, and the case still verifies', async () => {
    const r = await runFir(['report', '--case', sample.dir], { cwd })
    expect(r.code, r.stderr).toBe(0)
    const html = join(sample.dir, 'reports', 'report.html')
    const md = join(sample.dir, 'reports', 'report.md')
    expect(r.stdout).toContain(
      'Report of case INC-2026-0042: contained, 18 findings (4 critical, 9 high, 4 medium, 1 low)',
    )
    expect(r.stdout).toContain(`${html}  (html, `)
    expect(r.stdout).toContain(`${md}  (md, `)
    expect((await stat(html)).mode & 0o777).toBe(0o600)
    expect(await readFile(html, 'utf8')).toMatch(/^<!doctype html>/)
    expect(await readFile(md, 'utf8')).toMatch(/^# Incident report INC-2026-0042/)
    const verify = await runFir(['case', 'verify', '--case', sample.dir, '--json'], { cwd })
    expect(verify.code).toBe(0)
    expect(verify.json.result.checked.artifacts).toBeGreaterThanOrEqual(6)
    const show = await runFir(['case', 'show', '--case', sample.dir, '--json'], { cwd })
    expect(show.json.result.reports).toEqual(['report.html', 'report.md'])
  })

  it('--json returns the files with their hashes; --format md --out writes one file outside the case', async () => {
    const out = join(cwd, 'ticket.md')
    const r = await runFir(['report', '--case', sample.dir, '--format', 'md', '--out', out, '--json'], {
      cwd,
    })
    expect(r.code).toBe(0)
    expect(r.json).toMatchObject({
      status: 0,
      result: {
        case: 'INC-2026-0042',
        status: 'contained',
        findings: { critical: 4, high: 9, medium: 4, low: 1, informational: 0 },
        timelineEvents: 120,
        integrityOk: true,
        files: [{ format: 'md', path: out, caseRelative: null, sha256: null }],
      },
    })
    expect(await readFile(out, 'utf8')).toContain('## 5. Key timeline')
  })

  it('--out a named pipe writes into it and leaves it a pipe (a file renamed over it replaced it, as /dev/null as root)', async () => {
    const fifo = join(cwd, 'report.fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    const chunks: Buffer[] = []
    const received = new Promise<string>((done, fail) =>
      createReadStream(fifo)
        .on('data', (c) => chunks.push(c as Buffer))
        .on('end', () => done(Buffer.concat(chunks).toString()))
        .on('error', fail),
    )
    const r = await runFir(['report', '--case', sample.dir, '--format', 'md', '--out', fifo], { cwd })
    expect(r.code, r.stderr).toBe(0)
    expect(await received).toMatch(/^# Incident report INC-2026-0042/)
    expect((await lstat(fifo)).isFIFO()).toBe(true)
  }, 60_000)

  it("renders an organisation's template, and refuses one that prints unescaped values (exit 2)", async () => {
    const good = join(cwd, 'acme.html.hbs')
    const csp = `<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`
    await writeFile(good, `${csp}<h1>{{case.title}}</h1><p>{{summary.status.label}}</p>`)
    const ok = await runFir(['report', '--case', sample.dir, '--template', good, '--json'], { cwd })
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.json.result.files[0].caseRelative).toBe('reports/acme.html')
    expect(await readFile(join(sample.dir, 'reports', 'acme.html'), 'utf8')).toBe(
      `${csp}<h1>Suspected compromise of orders-api</h1><p>Contained</p>`,
    )
    // The same rules as fir's own: one self-contained file, no script. Before: written as it was.
    const scripted = join(cwd, 'scripted.html.hbs')
    await writeFile(scripted, `${csp}\n<script>alert(1)</script><h1>{{case.title}}</h1>`)
    const refused = await runFir(['report', '--case', sample.dir, '--template', scripted, '--json'], { cwd })
    expect(refused.code).toBe(2)
    expect(refused.json.error.message).toContain('scripted.html.hbs:2:1: a <script> element')
    expect(await exists(join(sample.dir, 'reports', 'scripted.html'))).toBe(false)
    const bad = join(cwd, 'bad.html.hbs')
    await writeFile(bad, '<p>\n{{{timeline.keyEvents}}}</p>')
    const r = await runFir(['report', '--case', sample.dir, '--template', bad, '--json'], { cwd })
    expect(r.code).toBe(2)
    expect(r.json.error.code).toBe('usage')
    expect(r.json.error.message).toContain('bad.html.hbs:2:1: unescaped output')
  })

  it('refuses a template calling a helper README does not name, such as log, which printed to stdout and broke --json (exit 2)', async () => {
    const logging = join(cwd, 'logging.md.hbs')
    await writeFile(logging, '{{log (lookup scope.functions 0)}}{{md case.id}}')
    const r = await runFir(['report', '--case', sample.dir, '--template', logging, '--json'], { cwd })
    expect(r.code, r.stderr).toBe(2)
    // stdout is exactly the one JSON document.
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 2, error: { code: 'usage' } })
    expect(r.json.error.message).toMatch(
      /^unable to use template logging\.md\.hbs: logging\.md\.hbs:1:\d+: unknown helper (log|lookup)$/,
    )
    expect(r.json.error.actions.join(' ')).toContain('md, mdcode')
    expect(await exists(join(sample.dir, 'reports', 'logging.md'))).toBe(false)
  })

  it('refuses a template reading a misspelt field through {{md}} or a block, naming the path and where (exit 2); nothing is written or journaled', async () => {
    const bad = join(cwd, 'bad3.md.hbs')
    const journal = join(sample.dir, 'journal.jsonl')
    const before = await readFile(journal)
    for (const [text, problem] of [
      ['# Report\n{{md case.titel}}\n', 'bad3.md.hbs:2:6: case.titel: case has no field titel'],
      [
        '{{#each findings.grups}}- {{md label}}\n{{/each}}',
        'bad3.md.hbs:1:9: findings.grups: findings has no field grups',
      ],
      ['{{#if summary.nope}}x{{/if}}', 'bad3.md.hbs:1:7: summary.nope: summary has no field nope'],
    ] as const) {
      await writeFile(bad, text)
      const r = await runFir(['report', '--case', sample.dir, '--template', bad, '--json'], { cwd })
      expect(r.code, `${text}\n${r.stderr}`).toBe(2)
      expect(r.json.error).toMatchObject({
        code: 'usage',
        message: `unable to render template bad3.md.hbs: ${problem}`,
      })
      expect(r.json.error.actions.join(' ')).toContain('docs/readme/report.md')
    }
    const human = await runFir(['report', '--case', sample.dir, '--template', bad], { cwd })
    expect(human.code).toBe(2)
    expect(human.stderr).toContain('bad3.md.hbs:1:7: summary.nope: summary has no field nope')
    expect(human.stderr).not.toContain('[object Object]')
    expect(await exists(join(sample.dir, 'reports', 'bad3.md'))).toBe(false)
    expect((await readFile(journal)).equals(before)).toBe(true)
  })

  it('says what --out may name, a --template that is not there, and a missing argument, in words that fit', async () => {
    const out = await runFir(
      ['report', '--case', sample.dir, '--out', join(sample.dir, 'case.json'), '--format', 'md', '--json'],
      { cwd },
    )
    expect(out.code).toBe(2)
    expect(out.json.error.actions).toEqual([
      'pass --out a path outside the case, or a file of your own in it (e.g. <case>/reports/ticket.md)',
    ])
    const template = await runFir(['report', '--case', sample.dir, '--template', 'nope.md.hbs'], { cwd })
    expect(template.code).toBe(2)
    expect(template.stderr).toBe(
      [
        'error: unable to read --template nope.md.hbs: there is no such file',
        `  → check the path: it is read from the folder fir runs in (${cwd})`,
        '  → pass --template the path of a Handlebars file (*.md.hbs or *.html.hbs)',
        '',
      ].join('\n'),
    )
    // fir prints "<NAME>: <description>": the description must not say the name again.
    for (const [args, name, says] of [
      [['contain'], 'FUNCTION', 'name, partial ARN or full ARN'],
      [['case', 'init'], 'ID', 'of the case: letters, digits, . _ - (no / or ..)'],
      [['creds', 'rotate-secret'], 'SECRET', 'name or ARN (Secrets Manager)'],
      [['playbook', 'show'], 'PLAYBOOK', 'name (a shipped one) or file (your own YAML)'],
      [['tabletop', 'run'], 'SCENARIO', 'name (see `fir tabletop list`) or file'],
    ] as const) {
      const r = await runFir([...args, '--json'], { cwd })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.json.error.message).toBe(
        `unable to run \`fir ${args.join(' ')}\`: the ${name} argument is missing`,
      )
      expect(r.json.error.actions[0]).toBe(`${name}: ${says}`)
    }
  })

  it('exits 2 with next steps for a folder that is not a case, or an unknown format', async () => {
    const r = await runFir(['report', '--case', join(cwd, 'nope')], { cwd })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/unable to open case .*nope \(from --case\): it does not exist/)
    expect(r.stderr).toContain('→')
    const notCase = await runFir(['report', '--case', cwd], { cwd })
    expect(notCase.code).toBe(2)
    expect(notCase.stderr).toMatch(/unable to open case .* it is not a fir case folder/)
    const f = await runFir(['report', '--case', sample.dir, '--format', 'pdf'], { cwd })
    expect(f.code).toBe(2)
    const d = await runFir(['report', '--case', sample.dir, '--format', 'md', '--out', cwd, '--json'], {
      cwd,
    })
    expect(d.code).toBe(2)
    expect(d.json.error.message).toMatch(/^unable to write the report to /)
    // --out at a file fir keeps in the case (it had replaced the journal with the report).
    const journal = join(sample.dir, 'journal.jsonl')
    const before = await readFile(journal)
    for (const [out, rel] of [
      [journal, 'journal.jsonl'],
      [join(sample.dir, 'evidence', 'x.md'), 'evidence/x.md'],
      [join(sample.dir, 'timeline', 'summary.json'), 'timeline/summary.json'],
    ]) {
      const m = await runFir(['report', '--case', sample.dir, '--format', 'md', '--out', out!, '--json'], {
        cwd,
      })
      expect(m.code, out).toBe(2)
      expect(m.json.error.message).toBe(`unable to write --out ${out}: fir keeps its own ${rel} there`)
    }
    // The same files named through a link to the case folder, or to one of its folders (the link
    // had carried the report over the journal and a sealed manifest, exit 0).
    const alias = join(cwd, 'case-alias')
    const evidenceAlias = join(cwd, 'evidence-alias')
    await symlink(sample.dir, alias)
    await symlink(join(sample.dir, 'evidence'), evidenceAlias)
    const [set] = (await readdir(join(sample.dir, 'evidence'))).filter((n) => /^\d{8}T/.test(n))
    expect(set).toBeDefined()
    const manifest = join(sample.dir, 'evidence', set!, 'manifest.json')
    const sealed = await readFile(manifest)
    for (const [out, rel] of [
      [join(alias, 'journal.jsonl'), 'journal.jsonl'],
      [join(evidenceAlias, set!, 'manifest.json'), `evidence/${set}/manifest.json`],
      [join(alias, 'timeline', 'new', 'x.md'), 'timeline/new/x.md'],
    ] as const) {
      const m = await runFir(['report', '--case', sample.dir, '--format', 'md', '--out', out, '--json'], {
        cwd,
      })
      if (rel.startsWith('timeline/new')) {
        // Not a file fir keeps: written, and recorded under the name it has in the case.
        expect(m.code, m.stdout).toBe(0)
        expect(m.json.result.files[0].caseRelative).toBe(rel)
        continue
      }
      expect(m.code, out).toBe(2)
      expect(m.json.error.message).toBe(`unable to write --out ${out}: fir keeps its own ${rel} there`)
    }
    expect((await readFile(manifest)).equals(sealed)).toBe(true)
    expect((await readFile(journal)).subarray(0, before.length).equals(before)).toBe(true)
    expect((await runFir(['case', 'verify', '--case', sample.dir], { cwd })).code).toBe(0)
  })

  describe('events dated at the ends of what a Date holds', () => {
    /** A case whose timeline is a trail file of one GetFunction record a time. */
    const caseWithEvents = async (id: string, times: string[]) => {
      const trail = join(cwd, `${id}-trail`)
      await mkdir(trail)
      const records = times.map((eventTime, i) => ({
        eventVersion: '1.08',
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/x', accountId: '123456789012' },
        eventTime,
        eventSource: 'lambda.amazonaws.com',
        eventName: 'GetFunction20150331v2',
        awsRegion: 'us-east-1',
        eventID: `${id}-${i}`,
        eventType: 'AwsApiCall',
      }))
      await writeFile(join(trail, 't.json'), JSON.stringify({ Records: records }))
      const dir = join(cwd, id)
      expect((await runFir(['case', 'init', id, '--dir', dir], { cwd })).code).toBe(0)
      // Local files only: no AWS call, but the emulator-only guard wants an endpoint (a closed port).
      const t = await runFir(['timeline', '--case', dir, '--source', trail, '--json'], {
        cwd,
        endpoint: 'http://127.0.0.1:9',
      })
      expect(t.code, t.stdout).toBe(0)
      expect(t.json.result.events.stored).toBe(times.length)
      return dir
    }

    it('reports a timeline holding +275760-09-13, the last time a Date holds (it exited 1 on a RangeError)', async () => {
      const dir = await caseWithEvents('far', ['+275760-09-13T00:00:00Z'])
      const r = await runFir(['report', '--case', dir], { cwd })
      expect(r.code, r.stderr).toBe(0)
      const html = await readFile(join(dir, 'reports', 'report.html'), 'utf8')
      expect(html).toContain('1 events from +275760-09-13 00:00 to +275760-09-13 00:00 UTC')
      const md = await readFile(join(dir, 'reports', 'report.md'), 'utf8')
      expect(md).toContain('+275760-09-13 00:00:00 UTC')
    })

    it('keeps report.html small when one event is dated 9999-12-31 beside one of 2026 (it was 14 MB of 7-day bars)', async () => {
      const dir = await caseWithEvents('spread', ['2026-03-14T09:00:00Z', '9999-12-31T23:59:59Z'])
      const r = await runFir(['report', '--case', dir], { cwd })
      expect(r.code, r.stderr).toBe(0)
      const file = join(dir, 'reports', 'report.html')
      expect((await stat(file)).size).toBeLessThan(100_000)
      const html = await readFile(file, 'utf8')
      expect(html).toContain('events per 100 years')
      expect(html).toContain('2 events from 2026-03-14 09:00 to 9999-12-31 23:59 UTC')
      expect(html).not.toContain('+010000-01-06')
    })
  })
})
