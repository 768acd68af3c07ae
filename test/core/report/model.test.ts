import { readFileSync } from 'node:fs'
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { summariseCase } from '../../../src/core/case/summary.js'
import { verifyCase } from '../../../src/core/case/verify.js'
import { deepMapStrings } from '../../../src/core/common/redact.js'
import { buildReportModel } from '../../../src/core/report/build.js'
import { utcDisplay } from '../../../src/core/report/format.js'
import { REPORT_CSP } from '../../../src/core/report/html-safety.js'
import type { ReportModel } from '../../../src/core/report/model.js'
import {
  builtinTemplatePath,
  compileReportTemplate,
  renderReport,
  writeReports,
} from '../../../src/core/report/render.js'
import { collectTimeline } from '../../../src/core/timeline/collect.js'
import { tempDir } from '../../support/cli.js'
import { addTimelineEvents, buildSampleCase, type SampleCase } from '../../support/sample-case.js'
import { timelineContext } from '../timeline/context.js'

/** Cells of a Markdown table row, split on pipes that are not escaped. */
function cells(row: string): number {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/).length
}

/** Every Markdown table keeps its shape: each row has as many cells as its header. */
function expectTablesIntact(md: string): number {
  const lines = md.split('\n')
  let tables = 0
  for (let i = 0; i < lines.length - 1; i++) {
    if (/^\|/.test(lines[i]!) && /^\|[-:|\s]+\|$/.test(lines[i + 1]!)) {
      tables++
      const width = cells(lines[i]!)
      for (let j = i + 2; j < lines.length && /^\|/.test(lines[j]!); j++) {
        expect(cells(lines[j]!), `table row ${j + 1}: ${lines[j]}`).toBe(width)
      }
    }
  }
  return tables
}

const PLACEHOLDERS = /undefined|\bnull\b|\[object Object\]|\bNaN\b|TODO|placeholder|lorem ipsum|TBD/i

describe('report of a case that went through snapshot, contain and timeline', () => {
  let sample: SampleCase
  let model: ReportModel
  let html: string
  let md: string

  beforeAll(async () => {
    sample = await buildSampleCase({ parent: await tempDir() })
    model = await buildReportModel(sample.dir, { firVersion: '9.9.9' })
    html = await renderReport(model, { format: 'html' })
    md = await renderReport(model, { format: 'md' })
  })

  it('fills every section with real values from the case', () => {
    for (const section of [
      model.scope,
      model.roles,
      model.findings,
      model.timeline,
      model.actions,
      model.evidence,
      model.afterAction,
    ]) {
      expect(section.present).toBe(true)
      expect(section.absentReason).toBeNull()
    }
    expect(model.gaps.present).toBe(true)
    expect(model.readProblems).toEqual([])

    expect(model.summary.functions).toEqual(['orders-api'])
    expect(model.summary.status.code).toBe('contained')
    expect(model.summary.status.inForce).toHaveLength(6)
    expect(model.summary.firstDetection).not.toBeNull()
    expect(model.summary.firstDetectionTitle).toBe('Execution role credentials used from outside AWS')
    expect(model.summary.impact.join(' ')).toMatch(/reachable from outside the account/)
    expect(model.summary.impact).toContain(
      'The code downloaded for orders-api (3) does not match the CodeSha256 Lambda reports: the package was changed or the download is not what runs.',
    )
    // The attacker's read (and the function's own) of prod/orders/db with the execution role.
    expect(model.summary.impact).toContain(
      '1 secret was read with the execution role’s credentials (prod/orders/db (us-east-1, account 123456789012)): treat it as exposed and rotate.',
    )
    expect(model.summary.impact).toContain('2 calls failed or were denied (attempts that did not succeed).')
    // The key in the function's environment: what it signed in the timeline.
    expect(model.summary.impact).toContainEqual(
      expect.stringMatching(
        /^Access key AKIAIOSFODNN7ORDERS1, found in the environment, signed (\d+) calls in the timeline \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\) from 198\.51\.100\.20 \(\1\); changes it made: UpdateFunctionCode\. Any call not made by its owner is the attacker’s \(only the events related to orders-api are in this timeline\)\.$/,
      ),
    )
    // What matched, most severe first, not only how much.
    expect(model.summary.impact).toContain(
      '12 of 240 CloudTrail events matched detections (10 rules): AssumeRole chained from a Lambda execution role (critical); Access key created by an assumed-role session (persistence) (critical); Function code updated from outside the deployment pipeline (critical); and 7 more.',
    )
    expect(model.summary.counts.find((c) => c.level === 'critical')!.count).toBe(4)

    const fn = model.scope.functions[0]!
    expect(fn).toMatchObject({
      name: 'orders-api',
      arn: sample.functionArn,
      roleArn: sample.roleArn,
      runtime: 'nodejs20.x',
    })
    expect(fn.codeSha256Hex).toMatch(/^[0-9a-f]{64}$/)
    // The hex code hash matches the sealed code package in the manifest.
    const codeRow = model.evidence.sets[0]!.files.find((f) => f.path.endsWith('.zip'))!
    expect(codeRow.sha256).toBe(fn.codeSha256Hex)
    expect(fn.secrets[0]).toBe(`DB_PASSWORD = ${sample.secretRedacted} (secret-by-name)`)
    expect(fn.versions).toEqual(['1', '2', '3 (code MISMATCH)'])
    expect(fn.codeCheck).toBe('downloaded, matches CodeSha256')
    expect(fn.exposure[0]).toMatch(/^Function URL https:\/\/.+ with AuthType NONE/)
    expect(fn.trailCoverage).toBe('Lambda data events (Invoke): not recorded (trails: org-trail)')
    expect(model.scope.timelineSources).toEqual([
      expect.stringMatching(/^api: \d+ events kept$/),
      expect.stringMatching(/^s3:\/\/org-trail-logs\/AWSLogs\/o-abc123\/: \d+ of \d+ events kept$/),
    ])
    expect(model.timeline.notes).toEqual([
      'IAM and STS events are recorded in us-east-1; us-east-1 was searched.',
    ])

    expect(model.roles.roles[0]).toMatchObject({
      name: 'orders-api-role',
      sessionsRevoked: true,
      functions: ['orders-api'],
    })
    expect(model.roles.roles[0]!.riskyPermissions.map((p) => p.action)).toContain('iam:PassRole')

    expect(model.timeline.totalEvents).toBe(240)
    expect(model.timeline.chart).not.toBeNull()
    expect(model.timeline.keyEvents.map((e) => e.name)).toEqual(
      expect.arrayContaining([
        'AssumeRole',
        'CreateAccessKey',
        'UpdateFunctionCode',
        'DeleteLogGroup',
        'PutFunctionConcurrency',
      ]),
    )
    expect(model.timeline.firEvents).toBe(6)
    // Routine service traffic (API Gateway invoking the function) is counted, not listed.
    expect(model.timeline.byCategory.find((c) => c.name === 'lambda')!.count).toBeGreaterThan(20)
    expect(model.timeline.keyEvents.filter((e) => e.name === 'Invoke')).toEqual([])
    const reasons = Object.fromEntries(model.timeline.keyEvents.map((e) => [`${e.name}@${e.time}`, e.reason]))
    expect(Object.values(reasons)).toEqual(
      // ci-deployer's change is signed with the key found in orders-api's environment.
      expect.arrayContaining([
        'finding',
        'change signed with a key found in the environment',
        'change by fir',
        'same source IP as a finding',
      ]),
    )
    const recon = model.timeline.keyEvents.find((e) => e.reason === 'same source IP as a finding')!
    expect(recon).toMatchObject({ name: 'GetFunction', sourceIp: '203.0.113.45', level: null })
    expect(model.timeline.eventsFileSha256).toMatch(/^[0-9a-f]{64}$/)
    // Key events are in time order.
    const times = model.timeline.keyEvents.map((e) => e.time)
    expect([...times].sort()).toEqual(times)

    const throttle = model.actions.items.find((a) => a.action === 'containment.throttle')!
    expect(throttle).toMatchObject({ outcome: 'applied', before: 'reserved=—', after: 'reserved=0' })
    expect(throttle.requestIds).toHaveLength(1)
    // Playbook frames are summarised, not listed as changes.
    expect(model.actions.items.map((a) => a.action)).not.toContain('playbook.step')
    expect(model.actions.playbooks).toEqual([
      expect.stringMatching(
        /^lambda-compromise \(run .+, applied\): seal applied, hold applied, revoke skipped, report applied$/,
      ),
    ])
    expect(throttle.actor).toBe(
      'arn:aws:sts::123456789012:assumed-role/IncidentResponder/alice (alice@ir-laptop-07)',
    )
    expect(model.actions.items.find((a) => a.action === 'credentials.rotate-key')!.outcome).toBe('denied')

    const set = model.evidence.sets[0]!
    expect(set.manifestSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(set.fileCount).toBe(16)
    expect(model.evidence.integrity).toMatchObject({ ok: true })
    expect(model.evidence.artifacts.map((a) => a.path)).toContain('timeline/events.jsonl')

    expect(model.gaps.items.map((g) => g.origin)).toEqual(
      expect.arrayContaining(['snapshot orders-api', 'timeline', expect.stringMatching(/^journal #\d+$/)]),
    )
    // An input cut short says how much of it is in the timeline and that the rest is not.
    expect(model.gaps.items).toContainEqual({
      origin: 'timeline',
      what: 'exports/march.json.gz was read only in part: 812 records, then corrupt-gzip: unexpected end of file',
      call: 'timeline input',
      reason: 'the rest of that input is not in the timeline: fetch it again and re-run fir timeline',
    })
    expect(model.limits.items.map((l) => l.title)).toEqual(
      expect.arrayContaining([
        'Chained sessions are not revoked',
        'In-flight invocations may still run',
        'Code and layers were not changed',
      ]),
    )
    expect(model.limits.items.find((l) => l.title === 'Chained sessions are not revoked')!.detail).toContain(
      'data-export-role',
    )
    const recs = model.recommendations.items.map((r) => r.title)
    expect(recs).toEqual(
      expect.arrayContaining([
        'Revoke the sessions of the roles assumed with the execution role’s credentials',
        'Remove what the attacker created: keys, users, policies, permissions',
        'Restore logging the attacker disabled',
        'Reduce the permissions of role orders-api-role',
        'Record Lambda data events (Invoke) on a trail',
      ]),
    )
    // The execution role's sessions were revoked, so that is not recommended again.
    expect(recs).not.toContain('Revoke the sessions of role orders-api-role')
    // The timeline shows prod/orders/db read with the role's credentials (the impact says to rotate
    // it): before, no recommendation followed, as its trigger was a pattern over finding titles.
    expect(
      model.recommendations.items.find(
        (r) => r.title === 'Rotate the Secrets Manager secrets the role’s credentials read',
      ),
    ).toMatchObject({
      priority: 1,
      command: `fir creds rotate-secret arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db --region us-east-1 --case ${sample.dir}`,
    })
    expect(model.afterAction.notes).toHaveLength(5)
    expect(model.afterAction.meanAnswerTime).toBe('1 min 58 s')
  })

  it('renders both formats without placeholder text, absent-section sentences or broken tables', () => {
    for (const text of [html, md]) {
      expect(text).not.toMatch(PLACEHOLDERS)
      for (const reason of [
        'No timeline was collected',
        'No findings',
        'No evidence set',
        'fir changed nothing',
        'No after-action notes',
      ]) {
        expect(text).not.toContain(reason)
      }
      for (const value of [
        sample.functionArn,
        'orders-api-role',
        model.evidence.sets[0]!.manifestSha256!,
        '203.0.113.45',
      ]) {
        expect(text).toContain(value)
      }
    }
    expect(expectTablesIntact(md)).toBeGreaterThan(10)
    for (const n of [
      '1. Summary',
      '4. Findings by severity',
      '5. Key timeline',
      '6. Actions taken',
      '7. Evidence manifest',
      '8. Gaps',
      '9. Limits of what was done',
      '10. Recommendations',
      '11. After-action notes',
    ]) {
      expect(md).toContain(`## ${n}`)
    }
    expect(html).toContain('<svg class="plot"')
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    )
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|@import|url\(/i)
    expect(html).not.toMatch(/(src|href)\s*=\s*"(?!#)/i)
  })

  it("shows each change's request ids and, when it differs, its start time, in both formats", async () => {
    // Before: neither template printed requestIds, and the Markdown one not startedAtDisplay, so a
    // change a killed run made was dated by the re-run that found it in place.
    const throttle = model.actions.items.find((a) => a.action === 'containment.throttle')!
    const rid = throttle.requestIds[0]!
    expect(md).toContain(rid)
    expect(html).toContain(rid)
    const killed = structuredClone(model)
    const row = killed.actions.items.find((a) => a.action === 'containment.throttle')!
    row.startedAtDisplay = '2026-03-14 09:00:01 UTC'
    row.requestIds = ['req-1', 'req-<2>']
    const killedMd = await renderReport(killed, { format: 'md' })
    const killedHtml = await renderReport(killed, { format: 'html' })
    expect(killedMd).toContain('started 2026-03-14 09:00:01 UTC')
    expect(killedHtml).toContain('started 2026-03-14 09:00:01 UTC')
    expect(killedMd).toContain('request ids: `req-1`, `req-<2>`')
    expect(killedHtml).toContain('request ids: req-1, req-&lt;2&gt;')
    expect(expectTablesIntact(killedMd)).toBeGreaterThan(10)
  })

  it('never shows a secret value, even when it appears in a CloudTrail field', () => {
    for (const text of [html, md]) expect(text).not.toContain(sample.secretValue)
    // Handlebars writes '=' as an entity in HTML.
    expect(html).toContain(sample.secretRedacted.replace(/=/g, '&#x3D;'))
    expect(md).toContain(sample.secretRedacted)
    const putParameter = model.timeline.keyEvents.find((e) => e.name === 'PutParameter')!
    expect(putParameter.request).toContain(sample.secretRedacted)
  })

  it('says the sealed evidence is missing or changed, not that nothing was snapshotted, and does not call it contained', async () => {
    // Before: "C: no function snapshotted yet. No findings; contained.", "No findings: neither a
    // snapshot nor a timeline is in this case." and "Status: Contained" (the journal alone), where
    // the status of a case whose evidence is intact may rest on ways in only its snapshot shows.
    const c = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const intact = await buildReportModel(c.dir, { verify: false })
    expect(intact.summary.status.code).toBe('contained')
    const [set] = (await readdir(join(c.dir, 'evidence'))).filter((n) => !n.startsWith('.'))
    await rm(join(c.dir, 'evidence', set!), { recursive: true })
    const model = await buildReportModel(c.dir, { verify: false })
    const lost = `the evidence sealed in this case is missing or changed (${set}: evidence/${set}/: it is missing`
    expect(model.summary.headline).toContain(lost)
    expect(model.summary.headline).not.toContain('no function snapshotted yet')
    expect(model.findings.absentReason).toContain(`No findings could be read: ${lost}`)
    expect(model.summary.status.code).toBe('unknown')
    expect(model.summary.status.detail).toMatch(
      /^Not established: the evidence sealed in this case is missing/,
    )
    expect(model.summary.status.detail).toContain('From the journal alone: contained:')
    expect(model.limits.items.map((l) => l.detail).join(' ')).not.toContain('No snapshot was sealed')
    expect(model.recommendations.items[0]?.title).toBe(
      'Preserve the case and find out what became of its sealed evidence',
    )
    // A changed manifest is named too.
    const d = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const [other] = (await readdir(join(d.dir, 'evidence'))).filter((n) => !n.startsWith('.'))
    await appendFile(join(d.dir, 'evidence', other!, 'manifest.json'), ' ')
    const changed = await buildReportModel(d.dir, { verify: false })
    expect(changed.summary.headline).toContain(`(${other}: evidence/${other}/manifest.json: sha256 `)
  })

  it('says a recorded timeline file changed since fir recorded it, and does not rest the status on it', async () => {
    // Before: a line cut out of timeline/events.jsonl (case verify: changed, exit 3) and the report
    // still said "Status: Contained", went by the edited file and warned only in §7 Verification.
    const c = await buildSampleCase({ parent: await tempDir(), notes: false })
    const events = join(c.dir, 'timeline', 'events.jsonl')
    const lines = (await readFile(events, 'utf8')).split('\n').filter(Boolean)
    await writeFile(events, `${lines.slice(0, -1).join('\n')}\n`)
    const model = await buildReportModel(c.dir, { verify: false })
    expect(model.summary.status.code).toBe('unknown')
    expect(model.summary.status.detail).toMatch(
      /^Not established: the timeline recorded in this case was changed after fir recorded it \(timeline\/events\.jsonl: sha256 [0-9a-f]{12}… \(\d+ bytes\), recorded as [0-9a-f]{12}… \(\d+ bytes\)\), so this report cannot say what fir collected, nor whether calls in it undid containment or opened access\. From the journal alone: contained:/,
    )
    expect(model.summary.headline).toMatch(
      /Beware: the timeline recorded in this case was changed after fir recorded it \(timeline\/events\.jsonl: /,
    )
    expect(model.timeline.changed).toMatch(
      /^timeline\/events\.jsonl was changed after fir recorded it \(.*\): the events below are what the file holds now/,
    )
    expect(model.readProblems).toContainEqual(expect.stringMatching(/^timeline\/events\.jsonl was changed/))
    expect(model.recommendations.items[0]).toMatchObject({
      priorityLabel: 'Now',
      title: 'Preserve the case and find out who changed its recorded timeline',
      command: `fir case verify --case ${c.dir}`,
    })
    expect(await renderReport(model, { format: 'md' })).toContain(
      '**Changed since fir recorded it.** timeline/events.jsonl',
    )
    // A forged finding in timeline/findings.json is not read: the findings are the events' own.
    const d = await buildSampleCase({ parent: await tempDir(), notes: false })
    const findingsFile = join(d.dir, 'timeline', 'findings.json')
    const findings = JSON.parse(await readFile(findingsFile, 'utf8')) as Record<string, unknown>[]
    await writeFile(
      findingsFile,
      JSON.stringify([...findings, { ...findings[0], rule: 'forged', title: 'Forged finding' }]),
    )
    const forged = await buildReportModel(d.dir, { verify: false })
    expect(forged.summary.status.code).toBe('unknown')
    expect(forged.timeline.changed).toMatch(
      /^timeline\/findings\.json was changed after fir recorded it \(.*\): it was not read \(the findings are those the events carry\)\.$/,
    )
    expect(JSON.stringify(forged.findings)).not.toContain('Forged finding')
    expect(forged.findings.total).toBeGreaterThan(0)
  })

  it('does not show the findings or facts of a sealed file changed since, as though sealed', async () => {
    // Before: a finding added to a sealed set's findings.json made the status Unknown ("cannot say
    // what it held"), and §4 listed the forged finding with the others, unmarked.
    const c = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const [set] = (await readdir(join(c.dir, 'evidence'))).filter((n) => !n.startsWith('.'))
    const file = join(c.dir, 'evidence', set!, 'findings.json')
    const findings = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>[]
    await writeFile(file, JSON.stringify([...findings, { ...findings[0], title: 'Forged snapshot finding' }]))
    const model = await buildReportModel(c.dir, { verify: false })
    expect(model.summary.status.code).toBe('unknown')
    expect(model.summary.headline).toContain(`(${set}: evidence/${set}/findings.json: sha256 `)
    expect(JSON.stringify(model.findings)).not.toContain('Forged snapshot finding')
    expect(model.findings.absentReason).toContain(
      'No findings could be read: the evidence sealed in this case is missing or changed',
    )
    // Its summary.json is as sealed: the function's facts are still shown.
    expect(model.scope.functions.map((f) => f.name)).toEqual(['orders-api'])
    // A changed summary.json is not read either: no facts from it.
    const d = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const [other] = (await readdir(join(d.dir, 'evidence'))).filter((n) => !n.startsWith('.'))
    const summaryFile = join(d.dir, 'evidence', other!, 'summary.json')
    await writeFile(summaryFile, (await readFile(summaryFile, 'utf8')).replaceAll('orders-api', 'forged-api'))
    const changed = await buildReportModel(d.dir, { verify: false })
    expect(JSON.stringify(changed.scope)).not.toContain('forged-api')
    expect(changed.scope.absentReason).toMatch(
      /^No function facts are known: the evidence sealed in this case is missing or changed/,
    )
  })

  it('says sessions are revoked after a denied restore, and not after a restore that met someone else’s change', async () => {
    // Before: a conflict (the revocation policy changed by hand) still read "Sessions revoked: yes";
    // the report's status, reading the same journal, said the measure was not in force.
    const roleArn = 'arn:aws:iam::123456789012:role/orders-api-role'
    const revokedAfter = async (outcome: 'denied' | 'conflict') => {
      const c = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
      const handle = await CaseHandle.open(c.dir)
      const started = [...handle.journal.all()].find(
        (e) => e.action === 'containment.sessions' && e.outcome === 'started',
      )!
      await handle.journal.append({
        action: 'containment.sessions',
        target: roleArn,
        params: { undoOf: started.seq },
        outcome,
        ...(outcome === 'denied'
          ? { error: { code: 'AccessDenied', message: 'no iam:DeleteRolePolicy' } }
          : {}),
      })
      await handle.close()
      const model = await buildReportModel(c.dir)
      return {
        revoked: model.roles.roles[0]!.sessionsRevoked,
        listed: model.summary.status.inForce.some((m) => m.startsWith('Revoke role sessions')),
      }
    }
    expect(await revokedAfter('denied')).toEqual({ revoked: true, listed: true })
    expect(await revokedAfter('conflict')).toEqual({ revoked: false, listed: false })
  })

  it('says sessions are revoked only while the revocation is in force: a restore that lifted it is a no', async () => {
    // Before: "Sessions revoked: yes (TokenIssueTime deny in force)" once one had ever been applied.
    const lifted = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const roleArn = 'arn:aws:iam::123456789012:role/orders-api-role'
    const handle = await CaseHandle.open(lifted.dir)
    await handle.journal.append({
      action: 'containment.sessions',
      target: roleArn,
      params: { undo: true },
      outcome: 'undone',
      after: { roleName: 'orders-api-role', roleArn, policyName: 'fir-revoke-INC-2026-0042', document: null },
    })
    await handle.close()
    const after = await buildReportModel(lifted.dir)
    expect(after.roles.roles[0]).toMatchObject({ name: 'orders-api-role', sessionsRevoked: false })
    expect(await renderReport(after, { format: 'md' })).toMatch(/Sessions revoked: no\./)
  })

  it('says a function contained since the snapshot was reachable, and only what is still open is reachable', async () => {
    // Before: "orders-api is reachable from outside the account: …AuthType NONE…" while the case had
    // set the URL to AWS_IAM and removed the public statement.
    const exposure = (m: ReportModel) =>
      m.summary.impact.filter((l) => l.includes('from outside the account'))
    expect(exposure(model)).toEqual([
      expect.stringMatching(
        /^orders-api was reachable from outside the account when snapshotted \(Function URL .* with AuthType NONE: anyone can invoke it; Resource policy statement FunctionURLAllowPublicAccess allows Principal \*\); the case closed it: function URL auth set to AWS_IAM, public resource-policy statements removed\.$/,
      ),
    ])
    // A restore that put the public statement back: the URL stays closed, the statement is open
    // again, but the throttle (still in force) refuses every invoke until it is lifted.
    const restored = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const handle = await CaseHandle.open(restored.dir)
    await handle.journal.append({
      action: 'containment.permissions',
      target: restored.functionArn,
      params: { undo: true },
      outcome: 'undone',
    })
    await handle.close()
    const lines = exposure(await buildReportModel(restored.dir))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^orders-api was reachable .*\(Function URL [^;]*\); the case closed it: function URL auth set to AWS_IAM\. It is still open: Resource policy statement FunctionURLAllowPublicAccess allows Principal \*; but every invoke is refused while the function is throttled to reserved concurrency 0 \(it answers again once the throttle is lifted\)\.$/,
    )
  })

  it('keeps each qualifier of a function snapshotted at two, with its own facts and environment', async () => {
    // Before: one "### Function orders-api" with the live alias's facts ($LATEST's were overwritten),
    // and no environment found in the `<name>@<region>@<qualifier>` folders.
    const two = await buildSampleCase({ parent: await tempDir(), liveQualifier: true, timeline: false })
    const m = await buildReportModel(two.dir)
    const fns = m.scope.functions
    expect(fns.map((f) => [f.label, f.qualifier, f.runtime])).toEqual([
      ['orders-api:$LATEST', '$LATEST', 'nodejs20.x'],
      ['orders-api:live', 'live', 'python3.12'],
    ])
    expect(fns[0]!.description).toBe('Orders API (checkout and order history)')
    expect(fns[0]!.accessKeyIds).toEqual(['AKIAIOSFODNN7ORDERS1'])
    expect(fns[1]!.absent.accessKeyIds).toBe('none found in the environment (2 variables checked)')
    expect(m.roles.roles[0]!.functions).toEqual(['orders-api:$LATEST', 'orders-api:live'])
    expect(m.summary.impact.join('\n')).toContain('in the environment of orders-api:$LATEST')
    const md = await renderReport(m, { format: 'md' })
    expect(md).toContain('### Function orders-api:$LATEST')
    expect(md).toContain('### Function orders-api:live')
    expect(md).toContain('Orders API (live alias, python port)')
    expect(await renderReport(m, { format: 'html' })).toContain('<h3>Function orders-api:live</h3>')
    // One function still gets its own ARN in the commands the report recommends.
    expect(m.recommendations.items.map((r) => r.command ?? '').join('\n')).not.toContain('<function>')
  })

  it('keeps every template value escaped: a model whose every string is hostile renders as text', () => {
    const evil = '<zz-inject onload=x>|*_`[a](https://e.example)"\'&=\u001b[31m{{constructor}}\n- item'
    const poisoned = deepMapStrings(model, () => evil) as ReportModel
    const outHtml = compileReportTemplate(
      readFileSyncUtf8(builtinTemplatePath('html')),
      'html',
      'report.html.hbs',
    ).render(poisoned)
    expect(outHtml).not.toContain('<zz-inject')
    expect(outHtml).toContain('&lt;zz-inject onload&#x3D;x&gt;')
    expect(outHtml).toContain('\\e[31m')
    expect(outHtml).not.toContain('\u001b')
    const outMd = compileReportTemplate(
      readFileSyncUtf8(builtinTemplatePath('md')),
      'md',
      'report.md.hbs',
    ).render(poisoned)
    expect(outMd).not.toContain('<zz-inject')
    // A bare {{value}} in the Markdown template would show Handlebars' HTML escape of '='.
    expect(outMd).not.toContain('&#x3D;')
    expect(outMd).not.toContain('](https://')
    expect(outMd).not.toContain('\u001b')
    expect(expectTablesIntact(outMd)).toBeGreaterThan(10)
  })
})

function readFileSyncUtf8(path: string): string {
  return readFileSync(path, 'utf8')
}

describe('report of a case that holds little', () => {
  it('says honestly what is missing, section by section', async () => {
    const handle = await CaseHandle.init('EMPTY-1', { dir: join(await tempDir(), 'c'), firVersion: 't' })
    await handle.close()
    const model = await buildReportModel(handle.dir)
    expect(model.summary.status.code).toBe('not-contained')
    expect(model.timeline.present).toBe(false)
    expect(model.timeline.absentReason).toMatch(/^No timeline was collected in this case/)
    expect(model.scope.absentReason).toMatch(/No snapshot summary/)
    expect(model.findings.absentReason).toBe(
      'No findings: neither a snapshot nor a timeline is in this case.',
    )
    expect(model.actions.absentReason).toMatch(/fir changed nothing/)
    expect(model.evidence.absentReason).toBe('No evidence set was sealed in this case.')
    expect(model.afterAction.present).toBe(false)
    // Not "the snapshot and timeline hold no findings": the case has neither.
    expect(model.summary.impact).toEqual([
      'No impact could be established: the case holds no snapshot and no timeline yet.',
    ])
    expect(model.recommendations.items.map((r) => r.title)).toEqual(
      expect.arrayContaining([
        'Seal evidence of the function before changing it further',
        'Collect the CloudTrail timeline',
      ]),
    )
    const html = await renderReport(model, { format: 'html' })
    const md = await renderReport(model, { format: 'md' })
    for (const text of [html, md]) {
      expect(text).toContain('No timeline was collected in this case')
      expect(text).toContain('No evidence set was sealed in this case.')
      expect(text).not.toMatch(PLACEHOLDERS)
    }
    expect(html).not.toContain('<svg class="plot"')
  })

  it('takes the role a timeline was collected for when no snapshot names it', async () => {
    // `fir timeline orders-api --role orders-api-role` without a snapshot: before, no role was known,
    // so no secret read by its sessions and no recommendation to revoke them.
    const sample = await buildSampleCase({
      parent: await tempDir(),
      snapshot: false,
      contain: false,
      notes: false,
      events: 60,
    })
    const model = await buildReportModel(sample.dir, { verify: false })
    expect(model.roles.present).toBe(false)
    expect(
      model.recommendations.items.find((r) => r.title === 'Revoke the sessions of role orders-api-role'),
    ).toMatchObject({
      priority: 1,
      command: `fir creds revoke-sessions --role orders-api-role --case ${sample.dir}`,
    })
    expect(model.summary.impact).toContain(
      '1 secret was read with the execution role’s credentials (prod/orders/db (us-east-1, account 123456789012)): treat it as exposed and rotate.',
    )
  })

  it('calls a recorded timeline whose events file was deleted missing, not "never collected"', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false, events: 30 })
    await rm(join(sample.dir, 'timeline', 'events.jsonl'))
    const model = await buildReportModel(sample.dir)
    expect(model.timeline.present).toBe(false)
    expect(model.timeline.absentReason).toMatch(
      /^The timeline collected in this case is missing: timeline\/events.jsonl/,
    )
    expect(model.summary.activityAbsent).toBe(
      'unknown: the timeline collected in this case is missing (timeline/events.jsonl, recorded in the journal)',
    )
    expect(model.limits.items.map((l) => l.title)).toContain('The timeline is missing')
    expect(model.limits.items.map((l) => l.title)).not.toContain('No timeline was collected')
    expect(JSON.stringify(model)).not.toMatch(/no timeline was collected/i)
  })

  it('counts a function the timeline shows the attacker opened to the public, which no snapshot covers, against the status', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false, events: 30 })
    const before = await buildReportModel(sample.dir)
    const opened = JSON.stringify({
      id: 'opened-other1',
      time: '2026-11-27T03:05:00.000Z',
      name: 'AddPermission20150331v2',
      source: 'lambda.amazonaws.com',
      region: 'us-east-1',
      readOnly: false,
      actor: { type: 'AssumedRole', arn: 'arn:aws:sts::123456789012:assumed-role/x/y' },
      requestParameters: { functionName: 'other1', principal: '*' },
      findings: [
        {
          rule: 'r',
          title: 'Lambda Function Policy Opened To Everyone Or Another Account',
          level: 'high',
          tags: [],
        },
      ],
    })
    await addTimelineEvents(sample.dir, `${opened}\n`)
    const after = await buildReportModel(sample.dir)
    expect(after.summary.status.code).not.toBe('contained')
    expect(after.summary.status.detail).toContain(
      'other1: not contained — public statement added by AddPermission20150331v2 at 2026-11-27 03:05:00 UTC (timeline; not snapshotted)',
    )
    // The functions the case snapshotted keep the status they had.
    expect(before.summary.status.detail).not.toContain('other1')
  })

  it('a function of a snapshotted one’s name that the attacker opened in another region counts against the status', async () => {
    // Before: matched by name alone, it passed for the snapshotted (and contained) orders-api of
    // us-east-1, and the status stayed "Contained".
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false, events: 30 })
    const event = (id: string, region: string, functionName: string) =>
      JSON.stringify({
        id,
        time: '2026-11-27T03:05:00.000Z',
        name: 'CreateFunctionUrlConfig',
        source: 'lambda.amazonaws.com',
        region,
        readOnly: false,
        actor: { type: 'AssumedRole', arn: 'arn:aws:sts::123456789012:assumed-role/x/y' },
        requestParameters: { functionName, authType: 'NONE' },
        findings: [{ rule: 'r', title: 'Lambda Function URL Created Without Auth', level: 'high', tags: [] }],
      })
    const before = await buildReportModel(sample.dir)
    expect(before.summary.status.code).toBe('contained')
    // The snapshotted function itself, by name and by ARN: its snapshot says what is open.
    await addTimelineEvents(
      sample.dir,
      `${event('same-1', 'us-east-1', 'orders-api')}\n${event('same-2', 'eu-west-1', sample.functionArn)}\n`,
    )
    expect((await buildReportModel(sample.dir)).summary.status.code).toBe('contained')
    await addTimelineEvents(sample.dir, `${event('other-region', 'eu-west-1', 'orders-api')}\n`)
    const after = await buildReportModel(sample.dir)
    expect(after.summary.status.code).toBe('partially-contained')
    expect(after.summary.status.detail).toContain(
      'orders-api (eu-west-1): not contained — function URL opened to anyone by CreateFunctionUrlConfig at 2026-11-27 03:05:00 UTC (timeline; not snapshotted)',
    )
  })

  it('does not call the case contained, nor its access closed now, when the timeline shows containment undone after it', async () => {
    // Before: "Contained. 6 measures in force … none failed", "Throttle: reserved concurrency 0:
    // orders-api" in force and "Containment closed it and it is closed now", while the case's own
    // timeline showed the throttle lifted, the URL opened again and the revocation deleted since.
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false, events: 30 })
    // Dated after the journal's containment entries (written now, as the sample case was built).
    const after = Date.now() + 60_000
    const actor = {
      type: 'AssumedRole',
      arn: 'arn:aws:sts::123456789012:assumed-role/orders-api-role/orders-api',
    }
    const event = (n: number, fields: Record<string, unknown>) =>
      JSON.stringify({
        id: `undo-${n}`,
        time: new Date(after + n * 1000).toISOString(),
        source: 'lambda.amazonaws.com',
        region: 'us-east-1',
        account: '123456789012',
        readOnly: false,
        actor,
        error: null,
        fir: false,
        ...fields,
      })
    const opened = [
      {
        rule: 'r',
        title: 'Lambda Function Policy Opened To Everyone Or Another Account',
        level: 'high',
        tags: ['attack.persistence'],
      },
    ]
    const url = [
      {
        rule: 'r',
        title: 'Lambda Function URL Without Authentication',
        level: 'high',
        tags: ['attack.persistence'],
      },
    ]
    // The timeline's findings are then read from its events, these included.
    await rm(join(sample.dir, 'timeline', 'findings.json'))
    // The attacker's statement, removed by containment an hour later.
    await addTimelineEvents(
      sample.dir,
      `${event(0, {
        time: new Date(Date.now() - 3600_000).toISOString(),
        name: 'AddPermission20150331v2',
        requestParameters: { functionName: 'orders-api', statementId: 'open', principal: '*' },
        findings: opened,
      })}\n`,
    )
    const before = await buildReportModel(sample.dir, { verify: false })
    expect(before.summary.status.code).toBe('contained')
    const closedNow = 'Remove for good the public access the attacker opened'
    expect(before.recommendations.items.map((r) => r.title)).toContain(closedNow)
    // fir's own call and a denied one undo nothing.
    await addTimelineEvents(
      sample.dir,
      `${[
        event(1, {
          name: 'DeleteFunctionConcurrency20171031',
          requestParameters: { functionName: 'orders-api' },
          fir: true,
        }),
        event(2, {
          name: 'UpdateFunctionUrlConfig',
          requestParameters: { functionName: 'orders-api', authType: 'NONE' },
          error: { code: 'AccessDeniedException', message: 'denied' },
          findings: url,
        }),
      ].join('\n')}\n`,
    )
    expect((await buildReportModel(sample.dir, { verify: false })).summary.status.code).toBe('contained')
    await addTimelineEvents(
      sample.dir,
      `${[
        event(3, {
          name: 'AddPermission20150331v2',
          requestParameters: { functionName: 'orders-api', statementId: 'reopen', principal: '*' },
          findings: opened,
        }),
        event(4, {
          name: 'DeleteFunctionConcurrency20171031',
          requestParameters: { functionName: 'orders-api' },
        }),
        event(5, {
          name: 'UpdateFunctionUrlConfig',
          requestParameters: { functionName: 'orders-api', authType: 'NONE' },
          findings: url,
        }),
        event(6, {
          name: 'DeleteRolePolicy',
          source: 'iam.amazonaws.com',
          requestParameters: { roleName: 'orders-api-role', policyName: `fir-revoke-${sample.id}` },
        }),
      ].join('\n')}\n`,
    )
    const model = await buildReportModel(sample.dir, { verify: false })
    const { status } = model.summary
    expect(status.code).toBe('not-contained')
    const when = (n: number) => utcDisplay(new Date(after + n * 1000).toISOString())
    expect(status.detail).toContain(
      `undone by DeleteFunctionConcurrency20171031 at ${when(4)} (${actor.arn})`,
    )
    expect(status.detail).toMatch(
      /orders-api: not known to be contained — Throttle: reserved concurrency 0, applied .* UTC, undone by DeleteFunctionConcurrency20171031/,
    )
    expect(status.detail).toContain(`Function URL auth set to AWS_IAM, applied `)
    expect(status.detail).toContain(`undone by UpdateFunctionUrlConfig at ${when(5)} (${actor.arn})`)
    expect(status.detail).toContain(`undone by AddPermission20150331v2 at ${when(3)} (${actor.arn})`)
    // The revocation, which the sample journaled for the role alone, is named in the detail too.
    expect(status.detail).toContain(
      `Revoke role sessions issued before now (TokenIssueTime deny) on role orders-api-role, applied `,
    )
    expect(status.detail).toContain(`undone by DeleteRolePolicy at ${when(6)} (${actor.arn})`)
    expect(status.inForce).toEqual([
      'Disable event source mappings: orders-api',
      'Recycle warm execution environments: orders-api',
    ])
    expect(model.roles.roles.find((r) => r.name === 'orders-api-role')?.sessionsRevoked).toBe(false)
    const titles = model.recommendations.items.map((r) => r.title)
    expect(titles).not.toContain(closedNow)
    expect(JSON.stringify(model.recommendations)).not.toContain('closed now')
    expect(
      model.recommendations.items.find((r) => r.title.startsWith('Contain orders-api again')),
    ).toMatchObject({
      priority: 1,
      command: `fir contain ${sample.functionArn} --actions throttle,url,permissions --case ${sample.dir}`,
    })
    expect(
      model.recommendations.items.find((r) => r.title === 'Revoke the sessions of role orders-api-role'),
    ).toMatchObject({
      command: `fir creds revoke-sessions --role orders-api-role --case ${sample.dir}`,
    })
    expect(
      model.limits.items.find((l) => l.title === 'Stolen role credentials were not revoked')?.detail,
    ).toContain(
      `The session revocation this case put on orders-api-role was deleted or replaced by a call in the timeline (DeleteRolePolicy at ${when(6)} (${actor.arn}))`,
    )
    expect(model.limits.items.map((l) => l.title)).not.toContain('In-flight invocations may still run')
    expect(model.summary.impact.join(' ')).not.toContain('the case closed it')

    // Someone sets reserved concurrency back to 0 by hand: the throttle is in force again, with
    // the time it was not.
    await addTimelineEvents(
      sample.dir,
      `${event(7, {
        name: 'PutFunctionConcurrency20171031',
        requestParameters: { functionName: 'orders-api', reservedConcurrentExecutions: 0 },
      })}
`,
    )
    const putBack = (await buildReportModel(sample.dir, { verify: false })).summary.status
    // Before: "Throttle: reserved concurrency 0, applied …, undone by DeleteFunctionConcurrency…"
    // in the detail, and not in force.
    expect(putBack.detail).not.toContain('Throttle')
    expect(putBack.inForce).toContain(
      `Throttle: reserved concurrency 0: orders-api — undone by DeleteFunctionConcurrency20171031 at ${when(4)} (${actor.arn}), then put back by PutFunctionConcurrency20171031 at ${when(7)} (${actor.arn}), not by fir`,
    )
  })

  it('reads around corrupt timeline files and names the problem in the report', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false, events: 60 })
    await appendFile(
      join(sample.dir, 'timeline', 'events.jsonl'),
      'this is not json\n{"time":"not a time"}\n',
    )
    await writeFile(join(sample.dir, 'timeline', 'findings.json'), '{ broken')
    const model = await buildReportModel(sample.dir)
    expect(model.timeline.unreadableLines).toBe(2)
    expect(model.timeline.totalEvents).toBe(60)
    // Changed since fir recorded them: named, findings.json not read, the status not rested on them.
    expect(model.readProblems.join('\n')).toMatch(/timeline\/findings.json was changed after fir recorded it/)
    expect(model.summary.status.code).toBe('unknown')
    expect(model.readProblems.join('\n')).toMatch(/2 line\(s\) are not events/)
    // Without findings.json the timeline findings come from the events themselves.
    expect(model.findings.groups.flatMap((g) => g.items).some((f) => f.source === 'timeline')).toBe(true)
    // The edits break the recorded hashes, and the report says so.
    expect(model.evidence.integrity!.ok).toBe(false)
    expect(model.evidence.integrity!.problems.join('\n')).toMatch(/timeline\/events.jsonl was changed/)
    const html = await renderReport(model, { format: 'html' })
    expect(html).toContain('Problems reading the case')
    expect(html).toContain('FAILED')
  })

  it('keeps a large timeline readable: key events capped, most severe first, all events counted', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), events: 3000, notes: false })
    const model = await buildReportModel(sample.dir, { keyEventLimit: 8, verify: false })
    expect(model.timeline.totalEvents).toBe(3000)
    expect(model.timeline.keyEventsShown).toBe(8)
    expect(model.timeline.keyEventsTruncated).toBe(true)
    expect(model.timeline.keyEventsTotal).toBeGreaterThan(8)
    // The three critical events always make the cut.
    expect(
      model.timeline.keyEvents
        .filter((e) => e.level === 'critical')
        .map((e) => e.name)
        .sort(),
    ).toEqual(['AssumeRole', 'CreateAccessKey', 'UpdateFunctionCode'])
    expect(model.timeline.byCategory.reduce((n, r) => n + r.count, 0)).toBe(3000)
    expect(model.evidence.integrity).toBeNull()
    const md = await renderReport(model, { format: 'md' })
    expect(md).toContain('### Key events (8 of ')
    expect(md).toContain('(the 8 most significant)')
  })
})

describe('writeReports', () => {
  it('does not ask to rotate a secret the case already rotated', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), events: 240 })
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-AbC123'
    const handle = await CaseHandle.open(sample.dir)
    try {
      for (const outcome of ['started', 'applied'] as const) {
        await handle.journal.append({
          action: 'credentials.rotate-secret',
          target: arn,
          params: { secretId: 'prod/orders/db' },
          outcome,
          prior: { rotatedAt: null },
          ...(outcome === 'applied' ? { after: { rotatedAt: '2026-11-29T00:00:00.000Z' } } : {}),
        })
      }
    } finally {
      await handle.close()
    }
    const rotated = await buildReportModel(sample.dir, { firVersion: '9.9.9' })
    expect(rotated.summary.impact).toContain(
      '1 secret was read with the execution role’s credentials (prod/orders/db (us-east-1, account 123456789012)): it was rotated in this case (see the actions taken).',
    )
    expect(rotated.summary.impact.join(' ')).not.toContain('as exposed and rotate')
  })

  it('says what the case did to each access key (rotated, deactivated, deleted) and calls only the others open', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), events: 240 })
    const account = '123456789012'
    const role = `arn:aws:sts::${account}:assumed-role/orders-api-role/orders-api`
    const line = (n: number, fields: Record<string, unknown>) =>
      JSON.stringify({
        id: `extra-${n}`,
        time: new Date(Date.UTC(2026, 10, 28, 3, n)).toISOString(),
        source: 'iam.amazonaws.com',
        region: 'us-east-1',
        sourceIp: '203.0.113.45',
        readOnly: false,
        ...fields,
      })
    const created = (n: number, user: string, key: string) =>
      line(n, {
        name: 'CreateAccessKey',
        actor: { type: 'AssumedRole', arn: role },
        requestParameters: { userName: user },
        responseElements: { accessKey: { accessKeyId: key, userName: user } },
      })
    await addTimelineEvents(
      sample.dir,
      `${[
        created(1, 'backup-admin', 'AKIAIOSFODNN7BACKDOR'),
        created(2, 'spare-admin', 'AKIAIOSFODNN7SPARE01'),
        line(3, {
          name: 'UpdateFunctionCode',
          source: 'lambda.amazonaws.com',
          actor: {
            type: 'IAMUser',
            arn: `arn:aws:iam::${account}:user/ci-deployer`,
            accessKeyId: 'AKIAIOSFODNN7DEPLOYK',
          },
          findings: [
            {
              rule: 'fir-timeline-call-from-stolen-credentials-address',
              title: 'Another identity…',
              level: 'high',
            },
          ],
        }),
      ].join('\n')}\n`,
    )
    const rotations: [string, string, { id: string; status: string }[], string[]][] = [
      ['backup-admin', 'AKIAIOSFODNN7BACKDOR', [{ id: 'AKIAIOSFODNN7BACKDOR', status: 'Inactive' }], []],
      [
        'ci-deployer',
        'AKIAIOSFODNN7DEPLOYK',
        [
          { id: 'AKIAIOSFODNN7DEPLOYK', status: 'Inactive' },
          { id: 'AKIAIOSFODNN7NEWKEY1', status: 'Active' },
        ],
        ['AKIAIOSFODNN7NEWKEY1'],
      ],
      [
        'orders',
        'AKIAIOSFODNN7ORDERS1',
        [{ id: 'AKIAIOSFODNN7NEWKEY2', status: 'Active' }],
        ['AKIAIOSFODNN7NEWKEY2'],
      ],
    ]
    const handle = await CaseHandle.open(sample.dir)
    try {
      for (const [user, key, keys, firKeyIds] of rotations) {
        const state = { userName: user, userArn: `arn:aws:iam::${account}:user/${user}`, oldKeyId: key }
        await handle.journal.append({
          action: 'credentials.rotate-key',
          target: `${state.userArn}#${key}`,
          params: { user },
          outcome: 'started',
          prior: { ...state, keys: [{ id: key, status: 'Active' }], firKeyIds: [] },
        })
        await handle.journal.append({
          action: 'credentials.rotate-key',
          target: `${state.userArn}#${key}`,
          params: { user },
          outcome: 'applied',
          after: { ...state, keys, firKeyIds },
        })
      }
    } finally {
      await handle.close()
    }
    const model = await buildReportModel(sample.dir, { firVersion: '9.9.9' })
    expect(model.summary.impact).toContain(
      '2 access keys were created with the execution role’s credentials (AKIAIOSFODNN7BACKDOR for user backup-admin, AKIAIOSFODNN7SPARE01 for user spare-admin): AKIAIOSFODNN7SPARE01 is long-term access that outlives the role’s sessions; AKIAIOSFODNN7BACKDOR was deactivated in this case (see the actions taken).',
    )
    expect(model.summary.impact).toContain(
      '1 long-term access key of another identity was used from an address where the execution role’s credentials were used outside Lambda (AKIAIOSFODNN7DEPLOYK of user ci-deployer from 203.0.113.45): whoever stole the credentials holds it too; it was rotated in this case (see the actions taken).',
    )
    expect(model.summary.impact).toContain(
      'Long-term access key AKIAIOSFODNN7ORDERS1 in the environment of orders-api: it was deleted in this case (see the actions taken).',
    )
    expect(model.summary.impact.join(' ')).not.toContain('does not stop')
  })

  it('writes both formats into reports/, records them in the journal, and the case still verifies', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), events: 40 })
    const handle = await CaseHandle.open(sample.dir)
    try {
      const { files } = await writeReports(handle, { firVersion: '1.0.0' })
      expect(files.map((f) => f.caseRelative)).toEqual(['reports/report.html', 'reports/report.md'])
      const recorded = handle.journal
        .all()
        .filter((e) => e.action === 'case.artifact')
        .map((e) => e.params.path)
      expect(recorded).toEqual(expect.arrayContaining(['reports/report.html', 'reports/report.md']))
      for (const f of files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/)
      // Re-rendering replaces the files and records the new hashes.
      await writeReports(handle, { firVersion: '1.0.1' })
    } finally {
      await handle.close()
    }
    expect((await verifyCase(sample.dir)).problems).toEqual([])
    expect(await readFile(join(sample.dir, 'reports', 'report.html'), 'utf8')).toContain('fir 1.0.1')
  })

  it("renders an organisation's template with the same model and refuses unsafe ones", async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), events: 40 })
    const dir = await tempDir()
    const good = join(dir, 'acme-postmortem.md.hbs')
    await writeFile(
      good,
      '# {{md case.title}}\n\n{{#each findings.groups}}- {{md label}}: {{count}}\n{{/each}}',
    )
    const handle = await CaseHandle.open(sample.dir)
    try {
      const { files } = await writeReports(handle, { templatePath: good })
      expect(files).toHaveLength(1)
      expect(files[0]!.caseRelative).toBe('reports/acme-postmortem.md')
      expect(await readFile(files[0]!.path, 'utf8')).toBe(
        '# Suspected compromise of orders-api\n\n- Critical: 4\n- High: 9\n- Medium: 4\n- Low: 1\n',
      )

      const bad = join(dir, 'bad.html.hbs')
      await writeFile(bad, '<p>{{{timeline.keyEvents.0.userAgent}}}</p>')
      await expect(writeReports(handle, { templatePath: bad })).rejects.toThrow(
        /bad.html.hbs:1:4: unescaped output/,
      )
      // Syntax errors in one line: where, what, and the text around it.
      for (const [text, want] of [
        [
          '# {{case.id\n',
          'bad.html.hbs: line 1: the template ends inside {{…}}: a }} is missing, near "# {{case.id"',
        ],
        [
          'a\n{{#if case.id}}\nb\n',
          'bad.html.hbs: line 4: a {{#…}} block is never closed: its {{/…}} is missing',
        ],
        ['a\n  {{#if case.id}}x{{/each}}', 'bad.html.hbs: line 2: {{#if}} is closed by {{/each}}'],
      ] as const) {
        await writeFile(bad, text)
        const err = await writeReports(handle, { templatePath: bad }).catch((e: Error) => e)
        expect(err).toBeInstanceOf(Error)
        expect((err as Error).message).toContain(`unable to read template ${want}`)
        expect((err as Error).message).not.toContain('\n')
      }
      await writeFile(bad, '{{> evil}}')
      await expect(writeReports(handle, { templatePath: bad })).rejects.toThrow(/partials/)
      await writeFile(bad, '{{md case.title}}')
      await expect(writeReports(handle, { templatePath: bad })).rejects.toThrow(/unknown helper md/)
      await writeFile(bad, '{{case.titel}}')
      await expect(writeReports(handle, { templatePath: bad })).rejects.toThrow(
        'bad.html.hbs:1:3: case.titel: case has no field titel',
      )
      await writeFile(bad, '{{case.constructor}}{{__proto__}}{{constructor.name}}')
      await expect(writeReports(handle, { templatePath: bad })).rejects.toThrow(
        'bad.html.hbs:1:36: constructor.name: constructor is not a field of the view model',
      )
      // An HTML report keeps fir's Content-Security-Policy in its head (see template-safety.test.ts).
      const csp = `<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`
      await writeFile(bad, `${csp}x{{case.constructor}}{{__proto__}}y`)
      const r = await writeReports(handle, { templatePath: bad })
      expect(await readFile(r.files[0]!.path, 'utf8')).toBe(`${csp}xy`)
      // Only the documented helpers: Handlebars' log (it prints to stdout), lookup and its
      // missing-helper hooks are unknown helpers, refused before the case is read.
      for (const [text, helper] of [
        ['{{log case.title}}', 'log'],
        ['a\n {{#with case}}{{lookup this "constructor"}}{{/with}}', 'lookup'],
        ['{{#if (lookup case "title")}}x{{/if}}', 'lookup'],
        ['{{helperMissing case}}{{#blockHelperMissing case}}x{{/blockHelperMissing}}', 'helperMissing'],
      ] as const) {
        await writeFile(bad, text)
        await expect(writeReports(handle, { templatePath: bad }), text).rejects.toThrow(
          new RegExp(
            `unable to use template bad\\.html\\.hbs: bad\\.html\\.hbs:\\d+:\\d+: unknown helper ${helper}$`,
          ),
        )
      }
      await expect(writeReports(handle, { templatePath: good, formats: ['html'] })).rejects.toThrow(
        /its name says md/,
      )
      await expect(writeReports(handle, { templatePath: join(dir, 'nope.md.hbs') })).rejects.toThrow(
        `unable to read --template ${join(dir, 'nope.md.hbs')}: there is no such file`,
      )
      await expect(writeReports(handle, { templatePath: join(dir, 'folder.md.hbs') })).rejects.toThrow(
        /^unable to read --template .*folder\.md\.hbs: there is no such file$/,
      )
      await expect(writeReports(handle, { templatePath: join(dir, 'x.hbs') })).rejects.toThrow(
        /unable to choose the report format: template x.hbs does not name one/,
      )
    } finally {
      await handle.close()
    }
  })
})

describe('records that claim one eventID with different content', () => {
  it('are named in the summary and the timeline, marked in the key events, and their findings counted once', async () => {
    const { ctx, dir } = await timelineContext()
    const src = await tempDir()
    const record = {
      eventVersion: '1.08',
      userIdentity: {
        type: 'IAMUser',
        arn: 'arn:aws:iam::111122223333:user/dev',
        accountId: '111122223333',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      },
      eventTime: '2025-03-01T10:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      awsRegion: 'us-east-1',
      sourceIPAddress: '1.1.1.1',
      userAgent: 'aws-cli/2',
      requestParameters: { functionName: 'victim-fn' },
      eventID: 'dup-1',
      recipientAccountId: '111122223333',
    }
    const moved = { ...record, eventID: 'dup-3', eventTime: '2025-03-01T10:05:00Z' }
    // The same two events from another source: dup-1 from another address, dup-3 at another time.
    await writeFile(join(src, 'a.json'), JSON.stringify({ Records: [record, moved] }))
    await writeFile(
      join(src, 'b.json'),
      JSON.stringify({
        Records: [
          { ...record, sourceIPAddress: '6.6.6.6' },
          { ...moved, eventTime: '2025-03-01T10:07:00Z' },
        ],
      }),
    )
    const run = await collectTimeline(ctx, {
      function: 'victim-fn',
      roles: ['victim-role'],
      sources: [join(src, 'a.json'), join(src, 'b.json')],
      since: '2025-03-01T00:00:00Z',
    })
    expect(run.summary.events.conflicting).toEqual({ count: 2, ids: ['dup-1', 'dup-3'] })

    // Before: nothing in the report said so, and the finding counted "dup-1, dup-1".
    const model = await buildReportModel(dir, { firVersion: 'test', verify: false })
    expect(model.timeline.conflicting).toMatchObject({ count: 2, ids: ['dup-1', 'dup-3'] })
    const said =
      '2 records of the timeline claim the eventID of another record but not its content (dup-1, dup-3): CloudTrail records each event once, under one eventID, so a copy of a log was altered or a record forged.'
    expect(model.summary.impact[0]).toContain(said)
    const overwritten = model.findings.groups
      .flatMap((g) => g.items)
      .find((f) => f.title === 'Lambda Function Code Overwritten')
    expect(overwritten).toMatchObject({ count: 2, references: ['dup-1', 'dup-3'] })
    expect(overwritten?.detail).toContain('also 2 other versions of eventIDs already counted')
    const marked = model.timeline.keyEvents.map((e) => [e.id, e.sourceIp, e.conflict])
    expect(marked).toEqual([
      ['dup-1', '1.1.1.1', expect.stringMatching(/^2 records in the timeline claim this eventID/)],
      ['dup-1', '6.6.6.6', expect.stringMatching(/^2 records in the timeline claim this eventID/)],
      ['dup-3', '1.1.1.1', expect.stringMatching(/^2 records in the timeline claim this eventID/)],
      ['dup-3', '1.1.1.1', expect.stringMatching(/^2 records in the timeline claim this eventID/)],
    ])
    const md = await renderReport(model, { format: 'md' })
    expect(md).toContain(
      '**Records that claim one eventID with different content.** 2 records of the timeline',
    )
    expect(md).toContain('<br>**2 records in the timeline claim this eventID with different content')
    const html = await renderReport(model, { format: 'html' })
    expect(html).toContain('<b>Records that claim one eventID with different content.</b> 2 records')
    expect(html).toContain('<span class="small err"><b>2 records in the timeline claim this eventID')

    // fir case show says so on its timeline line (from the run's journal entry).
    expect((await summariseCase(dir)).timeline?.conflicting).toEqual({ count: 2, ids: ['dup-1', 'dup-3'] })
  })

  it('escape the eventIDs they claim, which the forger chose', async () => {
    const { ctx, dir } = await timelineContext()
    const src = await tempDir()
    const id = '<img src=x onerror=alert(1)>|**x**'
    const record = {
      eventVersion: '1.08',
      eventTime: '2025-03-01T10:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'UpdateFunctionCode20150331v2',
      awsRegion: 'us-east-1',
      sourceIPAddress: '1.1.1.1',
      requestParameters: { functionName: 'victim-fn' },
      eventID: id,
    }
    await writeFile(
      join(src, 'a.json'),
      JSON.stringify({ Records: [record, { ...record, sourceIPAddress: '6.6.6.6' }] }),
    )
    await collectTimeline(ctx, {
      function: 'victim-fn',
      roles: ['victim-role'],
      sources: [src],
      since: '2025-03-01T00:00:00Z',
    })
    const model = await buildReportModel(dir, { firVersion: 'test', verify: false })
    expect(model.timeline.conflicting?.ids).toEqual([id])
    const html = await renderReport(model, { format: 'html' })
    expect(html).not.toContain('<img src=x')
    expect(html).toContain('(&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;|**x**)')
    const md = await renderReport(model, { format: 'md' })
    expect(md).not.toContain('<img src=x')
    expect(md).not.toContain('|**x**')
  })
})
