import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { summariseCase } from '../../../src/core/case/summary.js'
import { verifyCase } from '../../../src/core/case/verify.js'
import { sha256Hex } from '../../../src/core/common/hash.js'
import { pendingInterruptCleanups } from '../../../src/core/common/interrupt.js'
import { buildReportModel } from '../../../src/core/report/build.js'
import { renderReport } from '../../../src/core/report/render.js'
import { latestSnapshotFor, snapshotFunctions } from '../../../src/core/snapshot/snapshot.js'
import type { Indicators } from '../../../src/core/sweep/indicators.js'
import { renderSweep } from '../../../src/core/sweep/render.js'
import { runSweep, type SealFn, type SweepOptions, snapshotSeal } from '../../../src/core/sweep/sweep.js'
import { useMoto } from '../../support/emulator.js'
import { FaultProxy, type FaultRule, type RequestInfo } from '../../support/fault-proxy.js'
import { uploadCode } from '../../support/seed.js'
import { testContext } from '../athena/context.js'
import { clientsIn, createFunction, ensureRole, MANAGEMENT_ACCOUNT, tinyZip } from './org-fixture.js'

const moto = useMoto()
// An account reached by AssumeRole whose id sorts before the caller's: its matches seal first.
const OTHER = '100000000001'

const indicators: Indicators = {
  roleNames: ['pay-role'],
  layerArns: [],
  codeSha256: [],
  envValueSha256: [],
  public: false,
}

function options(extra: Partial<SweepOptions>): SweepOptions {
  return {
    org: false,
    accounts: [MANAGEMENT_ACCOUNT],
    regions: ['us-east-1'],
    allRegions: false,
    assumeRole: 'OrganizationAccountAccessRole',
    indicators,
    snapshot: false,
    concurrency: 4,
    ratePerAccount: 15,
    ...extra,
  }
}

// A region only the --public tests use: one function a denied call, named by the call.
const PUBLIC_REGION = 'eu-north-1'
const PUBLIC_DENIED: Record<string, string> = {
  'open-policy': 'lambda:GetPolicy',
  'open-aliases': 'lambda:ListAliases',
  'open-urls': 'lambda:ListFunctionUrlConfigs',
}

/** For each function of PUBLIC_DENIED, its one call denied. */
function publicDenials(): FaultRule[] {
  return Object.entries(PUBLIC_DENIED).map(([fn, call]) => ({
    match: (q: RequestInfo) =>
      q.region === PUBLIC_REGION && `lambda:${q.operation}` === call && q.path.includes(`/functions/${fn}/`),
    fault: 'access-denied' as const,
  }))
}

type Entry = { action: string; actor: { arn: string | null }; params: Record<string, unknown> }

async function journal(dir: string): Promise<Entry[]> {
  return (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
}

describe('runSweep (core, against moto)', () => {
  beforeAll(async () => {
    for (const account of [MANAGEMENT_ACCOUNT, OTHER]) {
      const c = await clientsIn(moto.endpoint(), account, 'us-east-1')
      // Code that can be downloaded (moto serves none at the Location of a ZipFile function), so
      // provisioned concurrency is each function's one gap: with a failed download as a second,
      // which of the two a seal's `why` names was whichever call failed first.
      const code = await uploadCode(moto.endpoint(), Buffer.from(tinyZip()), { key: `fn-${account}.zip` })
      await createFunction(c, `fn-${account}`, await ensureRole(c.iam, 'pay-role', account), { code })
    }
    const c = await clientsIn(moto.endpoint(), MANAGEMENT_ACCOUNT, PUBLIC_REGION)
    const role = await ensureRole(c.iam, 'open-role', MANAGEMENT_ACCOUNT)
    for (const fn of Object.keys(PUBLIC_DENIED)) await createFunction(c, fn, role)
  })

  it("journals each account's snapshot as that account's principal, and names the account and region of its gaps", async () => {
    const { ctx, dir } = await testContext(moto.endpoint())
    const r = await runSweep(ctx, options({ accounts: [MANAGEMENT_ACCOUNT, OTHER], snapshot: true }))
    expect(r.snapshots.map((s) => [s.account, s.error])).toEqual([
      [OTHER, undefined],
      [MANAGEMENT_ACCOUNT, undefined],
    ])
    // moto serves no provisioned-concurrency route: each function is sealed, with that gap (its
    // only one: `why` names no other).
    const onlyGap = expect.stringMatching(
      /^unimplemented: [^;]*\(lambda:ListProvisionedConcurrencyConfigs\)$/,
    )
    expect(r.snapshots.map((s) => s.sealed?.map((f) => [f.state, f.why]))).toEqual([
      [['captured-with-gaps', onlyGap]],
      [['captured-with-gaps', onlyGap]],
    ])
    const entries = await journal(dir)
    const caller = r.caller.arn
    expect(caller).toContain(`::${MANAGEMENT_ACCOUNT}:`)
    const assumed = `arn:aws:sts::${OTHER}:assumed-role/OrganizationAccountAccessRole/`
    for (const s of r.snapshots) {
      const seal = entries.find((e) => e.action === 'evidence.seal' && e.params.set === s.set)!
      const snapshot = entries.find((e) => e.action === 'snapshot' && e.params.set === s.set)!
      for (const e of [seal, snapshot]) {
        if (s.account === OTHER) expect(e.actor.arn).toContain(assumed)
        else expect(e.actor.arn, `${e.action} of the caller's own account`).toBe(caller)
      }
    }
    expect(entries.find((e) => e.action === 'sweep')!.actor.arn).toBe(caller)

    // moto serves no provisioned-concurrency route: the snapshots' gaps say which account and
    // region they are in (before: "provisioned concurrency of fn-…", nowhere named).
    const snapshotGaps = ctx.gaps.list.filter((g) => g.what.includes('fn-'))
    expect(snapshotGaps.length).toBeGreaterThan(0)
    for (const g of snapshotGaps) expect(g.what).toMatch(/^account \d{12} region us-east-1: /)
    expect(snapshotGaps.some((g) => g.what.startsWith(`account ${OTHER} region us-east-1: `))).toBe(true)
    // Each set's summary holds its own gaps, not those of the other account's set.
    for (const s of r.snapshots) {
      const summary = JSON.parse(await readFile(join(dir, 'evidence', s.set!, 'summary.json'), 'utf8'))
      expect(summary.gaps.length).toBeGreaterThan(0)
      expect(summary.gaps.map((g: { what: string }) => g.what).join(' ')).not.toContain(
        `fn-${s.account === OTHER ? MANAGEMENT_ACCOUNT : OTHER}`,
      )
    }
  })

  it('--snapshot: the walk is recorded before sealing, so a sweep stopped while sealing keeps its matches and says which were not sealed', async () => {
    const { ctx, dir } = await testContext(moto.endpoint())
    // The first account's seal is made; the second's is under way when the sweep is "stopped":
    // the case is read as a kill (Ctrl-C ends the process) would leave it at that moment.
    let sealing!: () => void
    const underWay = new Promise<void>((resolve) => {
      sealing = resolve
    })
    let finish!: () => void
    const stopped = new Promise<void>((resolve) => {
      finish = resolve
    })
    let calls = 0
    const seal: SealFn = async (c, functions) => {
      if (++calls === 2) {
        sealing()
        await stopped
      }
      return snapshotSeal(c, functions)
    }
    const run = runSweep(ctx, options({ accounts: [MANAGEMENT_ACCOUNT, OTHER], snapshot: true, seal }))
    await underWay
    // Before: nothing of the sweep was in the case (no sweeps/ file, no journal entry) until every
    // seal was done, and an interruption said only that it removed the unfinished evidence set.
    const [shown] = (await summariseCase(dir)).sweeps
    expect(shown?.matches.map((m) => [m.account, m.sealedIn !== null, m.sealInterrupted])).toEqual([
      [OTHER, true, false],
      [MANAGEMENT_ACCOUNT, false, true],
    ])
    expect(shown?.sealInterrupted).toBe(1)
    expect(pendingInterruptCleanups()).toContain(
      `kept the sweep's 2 match(es) in ${shown!.file}: \`fir case show\` says which were not sealed`,
    )
    const model = await buildReportModel(dir, { verify: false })
    expect(model.scope.sweeps[0]!.matches.map((m) => m.sealed)).toEqual([
      expect.stringMatching(/^sealed with gaps in evidence\//),
      'not sealed: the sweep was stopped before its snapshot sealed it',
    ])
    expect(model.summary.impact).toContainEqual(
      expect.stringContaining('(the sweep was stopped before its snapshot sealed 1 function)'),
    )

    finish()
    const r = await run
    expect(r.snapshots.map((s) => [s.account, s.error])).toEqual([
      [OTHER, undefined],
      [MANAGEMENT_ACCOUNT, undefined],
    ])
    const [after] = (await summariseCase(dir)).sweeps
    expect(after?.sealInterrupted).toBe(0)
    expect(after?.matches.map((m) => m.sealedIn)).toEqual(r.snapshots.map((s) => s.set))
    // Each seal's gaps count with the sweep's.
    expect(after?.gapCount).toBe(ctx.gaps.list.length)
    expect(await verifyCase(dir)).toMatchObject({ ok: true, problems: [] })
  })

  it('classifies a value matched by --env-value-sha256 as a secret in the set it seals, and in a later snapshot of the case', async () => {
    const c = await clientsIn(moto.endpoint(), MANAGEMENT_ACCOUNT, 'us-east-1')
    const leaked = 'green fox at noon'
    await createFunction(c, 'desc-fn', await ensureRole(c.iam, 'desc-role', MANAGEMENT_ACCOUNT), {
      env: { DB_PASSWORD: 'red sky at morning', GREETING: leaked },
      description: `pw red sky at morning / hello ${leaked}`,
    })
    const { ctx, dir } = await testContext(moto.endpoint())
    const r = await runSweep(
      ctx,
      options({
        indicators: { ...indicators, roleNames: [], envValueSha256: [sha256Hex(leaked)] },
        snapshot: true,
      }),
    )
    expect(r.matches.map((m) => m.function)).toEqual(['desc-fn'])
    const later = await snapshotFunctions(ctx, { functions: ['desc-fn'] })
    // Before: the sealed set listed DB_PASSWORD only, so a later command, which learns the
    // secrets from the evidence, printed the leaked value in the description.
    for (const set of [r.snapshots[0]!.set!, later.set]) {
      const summary = JSON.parse(await readFile(join(dir, 'evidence', set, 'summary.json'), 'utf8'))
      expect(
        summary.functions[0].secrets.map((s: { name: string; kind: string }) => [s.name, s.kind]),
        set,
      ).toEqual([
        ['DB_PASSWORD', 'secret-by-name'],
        ['GREETING', 'indicator-match'],
      ])
      const findings = JSON.parse(await readFile(join(dir, 'evidence', set, 'findings.json'), 'utf8'))
      expect(findings.map((f: { detail: { variable?: string } }) => f.detail.variable)).toContain('GREETING')
    }
  })

  it('keeps a value matched by --env-value-sha256 without --snapshot in a sealed set, from which a later command of the case learns to redact it', async () => {
    const c = await clientsIn(moto.endpoint(), MANAGEMENT_ACCOUNT, 'us-east-1')
    const leaked = 'hello-world-banner-value'
    await createFunction(c, 'greet-fn', await ensureRole(c.iam, 'greet-role', MANAGEMENT_ACCOUNT), {
      env: { GREETING: leaked },
    })
    const { ctx, dir, lines } = await testContext(moto.endpoint())
    const r = await runSweep(
      ctx,
      options({ indicators: { ...indicators, roleNames: [], envValueSha256: [sha256Hex(leaked)] } }),
    )
    expect(r.matches.map((m) => m.function)).toEqual(['greet-fn'])
    expect(r.snapshots).toEqual([])
    // Only the set holds the value: not the sweep's file, the journal or what it printed.
    for (const text of [
      await readFile(join(dir, r.file), 'utf8'),
      await readFile(join(dir, 'journal.jsonl'), 'utf8'),
    ])
      expect(text).not.toContain(leaked)
    expect(lines.join('\n')).not.toContain(leaked)
    // A later command is another process: its redactor knows only what the case holds. Before:
    // the sweep sealed nothing, so it had only the hash and printed the value in clear.
    const entries = ctx.case.journal.all()
    vi.resetModules()
    const { registerSecretsOfCase } = await import('../../../src/core/case/secrets.js')
    const { redactor, redactValue } = await import('../../../src/core/common/redact.js')
    expect(redactor.scrub(`ua/${leaked}`)).toBe(`ua/${leaked}`)
    await registerSecretsOfCase(dir, entries)
    expect(redactor.scrub(`ua/${leaked}`)).toBe(`ua/${redactValue(leaked)}`)
    // The value is in a sealed set of its own, which case verify checks.
    expect(r.leakedValues).toMatchObject({ variables: 1 })
    const set = r.leakedValues!.set
    const manifest = JSON.parse(await readFile(join(dir, 'evidence', set, 'manifest.json'), 'utf8'))
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual([
      `sweep-leaked-values/${MANAGEMENT_ACCOUNT}/us-east-1.json`,
    ])
    expect(await verifyCase(dir)).toMatchObject({ ok: true, problems: [] })
    // It is no snapshot of the function.
    expect(await latestSnapshotFor(dir, entries, 'greet-fn')).toBeUndefined()
  })

  it('skips only an opt-in region that does not recognise the credentials; an expired token or a dropped connection there is a gap', async () => {
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [
        {
          match: (q) => q.operation === 'ListFunctions' && q.region === 'af-south-1',
          fault: 'region-not-enabled',
        },
        { match: (q) => q.operation === 'ListFunctions' && q.region === 'ap-east-1', fault: 'expired-token' },
        { match: (q) => q.operation === 'ListFunctions' && q.region === 'me-south-1', fault: 'drop' },
      ],
    }).start()
    try {
      const { ctx } = await testContext(proxy.endpoint, { maxAttempts: 2 })
      const r = await runSweep(
        ctx,
        options({ regions: ['us-east-1', 'af-south-1', 'ap-east-1', 'me-south-1'], allRegions: true }),
      )
      const [account] = r.accounts
      expect(account!.regionsSkipped).toEqual(['af-south-1'])
      expect(account!.regionsSwept).toEqual(['us-east-1'])
      expect(account!.status).toBe('partial')
      expect(ctx.gaps.list.map((g) => [g.what, g.call])).toEqual(
        expect.arrayContaining([
          [`account ${MANAGEMENT_ACCOUNT} region ap-east-1`, 'lambda:ListFunctions'],
          [`account ${MANAGEMENT_ACCOUNT} region me-south-1`, 'lambda:ListFunctions'],
        ]),
      )
      expect(ctx.gaps.list).toHaveLength(2)
      expect(ctx.gaps.list.find((g) => g.what.endsWith('ap-east-1'))!.reason).toMatch(/ExpiredToken/)
      expect(r.matches.map((m) => m.function)).toEqual([`fn-${MANAGEMENT_ACCOUNT}`])
    } finally {
      await proxy.stop()
    }
  })

  it('--public: a gap names the call that failed (GetPolicy, ListAliases or ListFunctionUrlConfigs)', async () => {
    const proxy = await new FaultProxy(moto.endpoint(), { rules: publicDenials() }).start()
    try {
      const { ctx } = await testContext(proxy.endpoint)
      await runSweep(ctx, options({ regions: [PUBLIC_REGION], indicators: { ...indicators, public: true } }))
      const exposure = ctx.gaps.list.filter((g) => g.what.endsWith('(public exposure)'))
      // Before: every one was lambda:GetPolicy, whichever call had failed.
      expect(exposure.map((g) => [g.what.split(' ').at(-3), g.call]).sort()).toEqual(
        Object.entries(PUBLIC_DENIED).sort(),
      )
    } finally {
      await proxy.stop()
    }
  })

  it('counts the functions an indicator could not be checked on: the account is partial, and neither the output nor the report reads as clean', async () => {
    // open-policy's environment is one Lambda could not decrypt: --env-value-sha256 cannot check it.
    const undecryptable = (text: string) => {
      const out = JSON.parse(text) as { Functions: { FunctionName: string; Environment?: unknown }[] }
      for (const f of out.Functions) {
        if (f.FunctionName === 'open-policy')
          f.Environment = {
            Error: { ErrorCode: 'KMSAccessDeniedException', Message: 'not allowed to decrypt' },
          }
      }
      return JSON.stringify(out)
    }
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: publicDenials(),
      rewrites: [
        { match: (q) => q.operation === 'ListFunctions' && q.region === PUBLIC_REGION, body: undecryptable },
      ],
    }).start()
    try {
      const { ctx, dir } = await testContext(proxy.endpoint)
      const r = await runSweep(
        ctx,
        options({
          regions: [PUBLIC_REGION],
          indicators: {
            ...indicators,
            roleNames: [],
            envValueSha256: [sha256Hex('never set')],
            public: true,
          },
        }),
      )
      expect(r.matches).toEqual([])
      // Before: "No function matched.", no count anywhere, and the account "swept".
      const text = renderSweep(r)
      expect(text).toContain(
        'No function matched in what was checked, but 1 function could not be checked for --env-value-sha256 (kms:Decrypt), 3 for --public (lambda:GetPolicy, lambda:ListAliases, lambda:ListFunctionUrlConfigs) (see the gaps): this is not a clean result.',
      )
      expect(text).not.toMatch(/^No function matched\.$/m)
      const notChecked = [
        { indicator: 'env-value-sha256', functions: 1, calls: ['kms:Decrypt'] },
        {
          indicator: 'public',
          functions: 3,
          calls: ['lambda:GetPolicy', 'lambda:ListAliases', 'lambda:ListFunctionUrlConfigs'],
        },
      ]
      expect(r.notChecked).toEqual(notChecked)
      expect(r.accounts[0]).toMatchObject({ status: 'partial', notChecked })

      const model = await buildReportModel(dir, { verify: false })
      const view = model.scope.sweeps[0]!
      expect(view.notCheckedText).toBe(
        '1 function could not be checked for --env-value-sha256 (kms:Decrypt), 3 for --public (lambda:GetPolicy, lambda:ListAliases, lambda:ListFunctionUrlConfigs)',
      )
      expect(model.summary.impact).toContainEqual(
        expect.stringMatching(
          /matched no function in the 1 account it walked; 1 function could not be checked for --env-value-sha256 .*, so no match says nothing of them\.$/,
        ),
      )
      expect(model.summary.impact.join(' ')).not.toContain('could not be read in full')
      const md = await renderReport(model, { format: 'md' })
      expect(md).toContain(`- Not checked: ${view.notCheckedText}`)
    } finally {
      await proxy.stop()
    }
  })

  it('--snapshot: a function of which the set holds nothing (every Lambda read but ListFunctions denied) is "not captured", never "sealed"', async () => {
    const region = 'ap-south-1'
    const c = await clientsIn(moto.endpoint(), MANAGEMENT_ACCOUNT, region)
    const arn = await createFunction(c, 'blind-fn', await ensureRole(c.iam, 'pay-role', MANAGEMENT_ACCOUNT))
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [
        {
          match: (q) => q.service === 'lambda' && q.region === region && q.operation !== 'ListFunctions',
          fault: 'access-denied',
        },
      ],
    }).start()
    try {
      const { ctx, dir } = await testContext(proxy.endpoint)
      const r = await runSweep(ctx, options({ regions: [region], snapshot: true }))
      expect(r.matches.map((m) => m.function)).toEqual(['blind-fn'])
      const [snap] = r.snapshots
      const manifest = JSON.parse(await readFile(join(dir, 'evidence', snap!.set!, 'manifest.json'), 'utf8'))
      expect(manifest.files.filter((f: { path: string }) => f.path.startsWith('functions/'))).toEqual([])
      // Before: "1 function(s) sealed in evidence/…", and no word of what the set holds of it.
      const text = renderSweep(r)
      expect(text).not.toContain('1 function(s) sealed')
      expect(text).toMatch(
        /^ {2}\d{12} ap-south-1: of 1 function\(s\), 1 not captured: evidence\/\S+ \(manifest sha256 [0-9a-f]{64}\)\n {4}blind-fn: not captured \(nothing of its configuration is in the set\): denied: .*lambda:GetFunction/m,
      )
      expect(snap!.sealed).toEqual([
        { arn, state: 'not-captured', why: expect.stringMatching(/^denied: .*lambda:GetFunction/) },
      ])

      const model = await buildReportModel(dir, { verify: false })
      const view = model.scope.sweeps[0]!
      expect(view.matches[0]).toMatchObject({
        sealed: expect.stringMatching(
          new RegExp(
            `^not sealed: the sweep's snapshot captured nothing of it in evidence/${snap!.set} \\(denied: `,
          ),
        ),
        isSealed: false,
      })
      expect(view.sealedFunctions).toBe(0)
      expect(model.summary.impact).toContainEqual(
        expect.stringContaining(
          "of those functions this case sealed 0 (the sweep's snapshot captured nothing of 1 function) and contains 0",
        ),
      )
    } finally {
      await proxy.stop()
    }
  })

  it('keeps and checks the pages of a region read before a later page failed, and records the gap', async () => {
    // The first page says there is another; the second is denied.
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [
        {
          match: (q) => q.operation === 'ListFunctions' && !q.query?.get('Marker'),
          body: (text) => JSON.stringify({ ...JSON.parse(text), NextMarker: 'page-2' }),
        },
      ],
      rules: [
        {
          match: (q) => q.operation === 'ListFunctions' && q.query?.get('Marker') === 'page-2',
          fault: 'access-denied',
        },
      ],
    }).start()
    try {
      const { ctx } = await testContext(proxy.endpoint)
      const r = await runSweep(ctx, options({}))
      expect(r.matches.map((m) => m.function)).toEqual([`fn-${MANAGEMENT_ACCOUNT}`])
      expect(r.functionVersionsSeen).toBeGreaterThan(0)
      expect(r.accounts[0]!.status).toBe('partial')
      expect(ctx.gaps.list).toEqual([
        {
          what: `account ${MANAGEMENT_ACCOUNT} region us-east-1 functions after page 1 (pages 1-1 kept and checked)`,
          call: 'lambda:ListFunctions',
          reason: expect.stringMatching(/^denied: /),
        },
      ])
    } finally {
      await proxy.stop()
    }
  })
})
