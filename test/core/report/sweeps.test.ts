import { appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildReportModel } from '../../../src/core/report/build.js'
import type { ReportModel } from '../../../src/core/report/model.js'
import { renderReport } from '../../../src/core/report/render.js'
import { tempDir } from '../../support/cli.js'
import {
  ACCOUNT,
  addSampleSweep,
  buildSampleCase,
  HOSTILE_FUNCTION,
  OTHER_ACCOUNT,
  REGION,
  type SampleCase,
} from '../../support/sample-case.js'

const LEAKED_HASH = '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'

/** Cells of a Markdown table row, split on pipes that are not escaped. */
function cells(row: string): number {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/).length
}

describe('report of a case with an org sweep (fir sweep)', () => {
  let sample: SampleCase
  let file: string
  let model: ReportModel
  let md: string
  let html: string

  beforeAll(async () => {
    sample = await buildSampleCase({ parent: await tempDir() })
    // 5 fixed matches (4 functions) + 6 bulk ones: 11 matches, 10 functions, shown 8 at most.
    ;({ file } = await addSampleSweep(sample.dir, { extra: 6 }))
    model = await buildReportModel(sample.dir, { firVersion: '9.9.9', sweepMatchLimit: 8 })
    md = await renderReport(model, { format: 'md' })
    html = await renderReport(model, { format: 'html' })
  })

  it('shows each sweep under Scope: when, indicators (a leaked value only by its hash prefix), accounts, regions, counts, file', () => {
    expect(model.scope.sweeps).toHaveLength(1)
    const s = model.scope.sweeps[0]!
    expect(s).toMatchObject({
      file,
      fileProblem: null,
      at: '2026-03-14T11:00:00.000Z',
      atDisplay: '2026-03-14 11:00:00 UTC',
      caller: `arn:aws:sts::${ACCOUNT}:assumed-role/IncidentResponder/alice`,
      indicators: ['role name orders-api-role', 'environment value sha256:5e884898…'],
      accountsText: `3 accounts: 1 swept, 1 read in part (${OTHER_ACCOUNT} (analytics-prod)), 1 denied (333344445555 (sandbox))`,
      regions: [REGION, 'eu-west-1', 'us-west-2'],
      functionVersionsSeen: 400,
      matchCount: 11,
      matchCountText: '11 function versions (10 functions)',
      gapCount: 3,
      matchesShown: 8,
      moreText: `and 3 more (see ${file})`,
      // reports-job sealed by the sweep, orders-api snapshotted (and contained) by the case.
      sealedFunctions: 2,
      containedFunctions: 1,
    })
    expect(s.fileSha256).toMatch(/^[0-9a-f]{64}$/)
    // The sweep's hash of the leaked value is shown as a redacted secret's is: 8 hex, no more.
    expect(md).not.toContain(LEAKED_HASH)
    expect(html).not.toContain(LEAKED_HASH)
  })

  it('lists the matches with why and whether each was sealed (by the sweep or a snapshot) and contained', () => {
    const rows = model.scope.sweeps[0]!.matches
    expect(rows.map((m) => m.function)).toEqual([
      'billing-worker:$LATEST',
      'billing-worker:3',
      'orders-api:$LATEST',
      `${HOSTILE_FUNCTION.replace('\u001b', '\\e')}:$LATEST`,
      'reports-job:$LATEST',
      'bulk-000:$LATEST',
      'bulk-001:$LATEST',
      'bulk-002:$LATEST',
    ])
    expect(rows[0]).toMatchObject({
      account: ACCOUNT,
      region: REGION,
      why: `role-name: runs with role arn:aws:iam::${ACCOUNT}:role/orders-api-role`,
      sealed: 'not sealed',
      isSealed: false,
      contained: false,
    })
    expect(rows[2]!.sealed).toMatch(/^snapshotted in evidence\/\S+; contained$/)
    expect(rows[2]).toMatchObject({ isSealed: true, contained: true })
    expect(rows[3]).toMatchObject({
      account: `${OTHER_ACCOUNT} (analytics-prod)`,
      sealed: "not sealed: the sweep's snapshot failed (denied: AccessDeniedException: lambda:GetFunction)",
      isSealed: false,
    })
    expect(rows[4]).toMatchObject({ sealed: 'sealed in evidence/20260314T110200.000Z', isSealed: true })
  })

  it('gives the blast radius in the summary: functions and accounts matched, sealed, contained, accounts not read', () => {
    expect(model.summary.impact).toContain(
      `The sweep of 2026-03-14 11:00:00 UTC (role name orders-api-role; environment value sha256:5e884898…) matched 11 function versions (10 functions) in 2 accounts (${ACCOUNT}, ${OTHER_ACCOUNT}): of those functions this case sealed 2 and contains 1; 2 accounts could not be read in full, so no match there says nothing.`,
    )
  })

  it('recommends, soon, one item for the sweep: seal, review and contain the matched functions the case does not contain', () => {
    const items = model.recommendations.items.filter((r) => r.title.includes('the sweep of'))
    expect(items).toHaveLength(1)
    const rec = items[0]!
    expect(rec.priorityLabel).toBe('Soon')
    expect(rec.title).toBe(
      'Review and contain the other functions the sweep of 2026-03-14 11:00:00 UTC matched',
    )
    // orders-api is contained: 9 functions left, reports-job sealed.
    expect(rec.detail).toContain('matched 9 functions this case does not contain, 8 of them not sealed')
    expect(rec.detail).toContain(
      `Account ${OTHER_ACCOUNT} is not the account the sweep ran from (${ACCOUNT}): for its functions, add --role-arn arn:aws:iam::${OTHER_ACCOUNT}:role/IncidentResponder to those commands.`,
    )
    // The command seals the unsealed ones in the account the sweep ran from.
    expect(rec.command).toBe(
      `fir snapshot arn:aws:lambda:${REGION}:${ACCOUNT}:function:billing-worker --case ${sample.dir}`,
    )
    expect(rec.because[0]).toBe(
      `billing-worker ($LATEST, 3) in ${ACCOUNT} ${REGION}: role-name: runs with role arn:aws:iam::${ACCOUNT}:role/orders-api-role (not sealed)`,
    )
    expect(rec.because.at(-1)).toBe(`and 5 more (see ${file})`)
  })

  it('renders the matches escaped: an attacker-named function keeps the Markdown table and the HTML inert', () => {
    const start = md.indexOf('### Sweeps')
    expect(start).toBeGreaterThan(md.indexOf('## 2. Scope'))
    expect(start).toBeLessThan(md.indexOf('## 3. Role'))
    const part = md.slice(start, md.indexOf('## 3. Role'))
    const lines = part.split('\n')
    const header = lines.findIndex((l) => l.startsWith('| Account |'))
    expect(lines[header]).toBe('| Account | Region | Function:version | Why it matched | Sealed |')
    const rows = lines.slice(header + 2).filter((l) => l.startsWith('|'))
    expect(rows).toHaveLength(8)
    for (const r of rows) expect(cells(r), r).toBe(5)
    expect(part).toContain(
      `| ${OTHER_ACCOUNT} (analytics-prod) | eu-west-1 | fn\\|&lt;img src=x&gt;<br>Injected: row\\\\e\\[31m:$LATEST |`,
    )
    expect(part).toContain(`_and 3 more (see ${file.replace(/_/g, '\\_')})_`)
    expect(md).not.toContain('<img src=x>')
    expect(md).not.toContain('\u001b')

    const htmlPart = html.slice(html.indexOf('id="sweeps"'), html.indexOf('<section id="roles">'))
    expect(htmlPart).toContain(
      '<td class="mono small">fn|&lt;img src&#x3D;x&gt;\nInjected: row\\e[31m:$LATEST</td>',
    )
    expect(htmlPart.match(/<tr><td/g)).toHaveLength(8)
    expect(html).not.toContain('<img src=x>')
    expect(html).not.toContain('\u001b')
    expect(html).not.toMatch(/<script/i)
  })
})

describe('report of a case whose sweep file changed after fir wrote it', () => {
  it('says so and does not use it: the journal facts and matched functions only', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const { file } = await addSampleSweep(sample.dir, { extra: 2 })
    // A planted match: the file no longer has the SHA-256 the journal recorded.
    await appendFile(join(sample.dir, file), '\n')
    const model = await buildReportModel(sample.dir, { firVersion: '9.9.9', sweepMatchLimit: 3 })
    const s = model.scope.sweeps[0]!
    const problem = `${file} was changed after fir wrote it (its SHA-256 is journaled): its matches are not shown; run fir case verify`
    expect(s.fileProblem).toBe(problem)
    expect(model.readProblems).toContain(problem)
    expect(s.matches).toEqual([])
    expect(s.matchCount).toBe(7)
    expect(s.accountsText).toBe('3 accounts: 1 denied (333344445555)')
    expect(s.journalFunctions).toEqual([
      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:billing-worker`,
      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:orders-api`,
      `arn:aws:lambda:eu-west-1:${OTHER_ACCOUNT}:function:${HOSTILE_FUNCTION.replace('\u001b', '\\e')}`,
    ])
    expect(s.moreText).toMatch(/^and 3 more \(see the journal's sweep entry #\d+\)$/)
    const rec = model.recommendations.items.find((r) => r.title.includes('the sweep of'))!
    expect(rec.detail).toMatch(/Every match is in the journal's sweep entry #\d+\.$/)

    const md = await renderReport(model, { format: 'md' })
    expect(md).toContain(`**${problem.replace(/_/g, '\\_')}**`)
    expect(md).not.toContain('| Account | Region | Function:version |')
  })
})
