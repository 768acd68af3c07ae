import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CreateRepositoryCommand, DeleteRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr'
import {
  DeleteAliasCommand,
  DeleteFunctionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { Clock } from '../../../src/core/common/clock.js'
import { type FirContext, Gaps, stderrLog } from '../../../src/core/context.js'
import { Recorder } from '../../../src/core/snapshot/recorder.js'
import { renderSnapshot } from '../../../src/core/snapshot/render.js'
import { environmentUnknown } from '../../../src/core/snapshot/secrets.js'
import { latestSnapshotFor, snapshotFunctions } from '../../../src/core/snapshot/snapshot.js'
import { NotFoundError, UsageError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import { useMoto } from '../../support/emulator.js'
import { FaultProxy, type FaultRule, type RequestInfo } from '../../support/fault-proxy.js'
import {
  codeSha256,
  makeZip,
  PINNED_STATEMENTS,
  publishVersion,
  seedAlias,
  seedClients,
  seedFunction,
  seedFunctionUrl,
  seedLayer,
  seedLogEvents,
  seedPermission,
  seedRole,
  seedSqsMapping,
  seedTrail,
  sha256Hex,
  TEST_ACCOUNT,
  updateCode,
} from '../../support/seed.js'

const moto = useMoto()
const open: CaseHandle[] = []
afterEach(async () => {
  for (const h of open.splice(0)) await h.close()
})

/** The core API as other commands call it: a context on a fresh case, clients on `endpoint`. */
async function context(endpoint = moto.endpoint()): Promise<FirContext> {
  const cwd = await tempDir('fir-snapcore-')
  const handle = await CaseHandle.init('CORE-1', { cwd, firVersion: 'test' })
  open.push(handle)
  const aws = await AwsClients.create({ emulatorOnly: true, endpoint, region: 'us-east-1', maxAttempts: 1 })
  return {
    aws,
    clock: aws.clock ?? new Clock(),
    case: handle,
    log: stderrLog(true),
    gaps: new Gaps(),
    firVersion: 'test',
    interactive: false,
    yes: false,
    dryRun: false,
    confirm: async () => false,
  }
}

describe('snapshotFunctions (core API against moto)', () => {
  it('returns the set, manifest hash, summaries and findings; latestSnapshotFor finds it by name or ARN', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'core-role' })
    const fn = await seedFunction(moto.endpoint(), {
      name: 'core-fn',
      roleArn: role.arn,
      env: { API_TOKEN: 'tok-3f9a8b7c6d5e' },
    })
    const ctx = await context()
    const r = await snapshotFunctions(ctx, { functions: ['core-fn'] })
    expect(r.set).toMatch(/^\d{8}T\d{6}\.\d{3}Z$/)
    expect(r.manifestSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(r.functions.map((f) => [f.name, f.code])).toEqual([['core-fn', 'match']])
    expect(r.findings.find((f) => f.kind === 'secret-in-environment')?.detail).toMatchObject({
      variable: 'API_TOKEN',
    })
    expect(ctx.gaps.list.map((g) => g.call)).toEqual(['lambda:ListProvisionedConcurrencyConfigs'])
    // summary.json and findings.json are in the sealed set, in the shared format.
    const summary = JSON.parse(await readFile(join(r.dir, 'summary.json'), 'utf8'))
    expect(summary).toMatchObject({ takenBy: { account: TEST_ACCOUNT }, region: 'us-east-1', set: r.set })
    expect(summary.functions[0]).toMatchObject({ name: 'core-fn', arn: fn.arn, roleName: 'core-role' })
    const findings = JSON.parse(await readFile(join(r.dir, 'findings.json'), 'utf8'))
    expect(findings[0]).toEqual(
      expect.objectContaining({
        id: expect.any(String),
        kind: expect.any(String),
        level: expect.any(String),
        evidence: expect.any(Array),
      }),
    )
    expect(await latestSnapshotFor(ctx.case.dir, ctx.case.journal.all(), 'core-fn')).toMatchObject({
      set: r.set,
      summary: { arn: fn.arn },
    })
    expect(await latestSnapshotFor(ctx.case.dir, ctx.case.journal.all(), `${fn.arn}:$LATEST`)).toMatchObject({
      set: r.set,
    })
    expect(await latestSnapshotFor(ctx.case.dir, ctx.case.journal.all(), 'other-fn')).toBeUndefined()
    // A second snapshot is a new set; the latest one wins.
    const again = await snapshotFunctions(ctx, { functions: [fn.arn] })
    expect(again.set).not.toBe(r.set)
    expect((await latestSnapshotFor(ctx.case.dir, ctx.case.journal.all(), 'core-fn'))?.set).toBe(again.set)
  })

  it('keeps two roles whose names differ only in a character a path cannot hold (x,y and x_y) apart', async () => {
    // Both are valid IAM names; an encoding that mapped `,` to `_` stored both as iam/roles/x_y.
    const doc = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'logs:CreateLogGroup', Resource: '*' }],
    }
    const comma = await seedRole(moto.endpoint(), { name: 'x,y', inline: { 'p,1': doc } })
    const under = await seedRole(moto.endpoint(), { name: 'x_y', inline: { p_1: doc } })
    await seedFunction(moto.endpoint(), { name: 'f-comma', roleArn: comma.arn })
    await seedFunction(moto.endpoint(), { name: 'f-under', roleArn: under.arn })
    const ctx = await context()
    const r = await snapshotFunctions(ctx, { functions: ['f-comma', 'f-under'] })
    expect(r.functions.map((f) => f.roleName).sort()).toEqual(['x,y', 'x_y'])
    const manifest = JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8')) as {
      files: { path: string; source: { call: string; target: string } }[]
    }
    const roleFiles = manifest.files.filter((f) => f.source.call === 'iam:GetRole')
    expect(roleFiles.map((f) => [f.path, f.source.target]).sort()).toEqual([
      ['iam/roles/x%2Cy/get-role.json', comma.arn],
      ['iam/roles/x_y/get-role.json', under.arn],
    ])
    // Each file holds its own role, and each inline policy sits beside it.
    for (const [path, name] of [
      ['iam/roles/x%2Cy/get-role.json', 'x,y'],
      ['iam/roles/x_y/get-role.json', 'x_y'],
    ])
      expect(JSON.parse(await readFile(join(r.dir, path!), 'utf8')).Role.RoleName).toBe(name)
    expect(manifest.files.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        'iam/roles/x%2Cy/get-role-policy.p%2C1.json',
        'iam/roles/x_y/get-role-policy.p_1.json',
      ]),
    )
    expect(ctx.gaps.list.map((g) => g.call)).not.toContain('fir')
  })

  it("a bug while storing a named function's first GetFunction is a gap of that function: the set is sealed, then the bug surfaces", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'bug-role' })
    await seedFunction(moto.endpoint(), { name: 'bug-fn', roleArn: role.arn })
    await seedFunction(moto.endpoint(), { name: 'fine-fn', roleArn: role.arn })
    const ctx = await context()
    const store = Recorder.prototype.store
    const spy = vi.spyOn(Recorder.prototype, 'store').mockImplementation(function (
      this: Recorder,
      spec,
      value,
    ) {
      if (spec.file === 'functions/bug-fn/get-function.$LATEST.json') throw new Error('injected bug')
      return store.call(this, spec, value)
    })
    try {
      await expect(snapshotFunctions(ctx, { functions: ['bug-fn', 'fine-fn'] })).rejects.toThrow(
        'injected bug',
      )
    } finally {
      spy.mockRestore()
    }
    const seal = ctx.case.journal.all().find((e) => e.action === 'snapshot')
    expect(seal?.params).toMatchObject({ functions: [expect.stringMatching(/:function:fine-fn$/)] })
    const set = String(seal?.params.set)
    expect(await readdir(join(ctx.case.dir, 'evidence'))).toEqual([set])
    const summary = JSON.parse(await readFile(join(ctx.case.dir, 'evidence', set, 'summary.json'), 'utf8'))
    expect(summary.gaps).toContainEqual({
      what: 'the rest of function bug-fn',
      call: 'fir',
      reason: 'bug: injected bug',
    })
  })

  it('refetches the code location when the download is refused, and still verifies the package', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'refetch-role' })
    await seedFunction(moto.endpoint(), { name: 'refetch-fn', roleArn: role.arn })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [
        {
          match: (r) => r.service === 's3' && r.method === 'GET' && r.path.includes('awslambda-'),
          fault: 'access-denied',
          count: 1,
        },
      ],
    }).start()
    try {
      const ctx = await context(proxy.endpoint)
      const r = await snapshotFunctions(ctx, { functions: ['refetch-fn'] })
      expect(r.functions[0]!.code).toBe('match')
      const refetch = JSON.parse(
        await readFile(join(r.dir, 'functions/refetch-fn/get-function.$LATEST.refetch-1.json'), 'utf8'),
      )
      expect(refetch.Code.Location).toMatch(/awslambda-us-east-1-tasks/)
      expect(proxy.records.filter((x) => x.faulted).length).toBe(1)
    } finally {
      await proxy.stop()
    }
  })

  /**
   * The code of a function is replaced (by an attacker or a CI deploy) while fir downloads it: the
   * refetched location is another package. fir must keep the new one whole, checked against its own
   * CodeSha256, and say the code changed, never splice the old package's first bytes onto the new
   * one's rest (a package that never existed) nor report the redeploy as an integrity mismatch.
   */
  describe('when the code changes while fir downloads it', () => {
    // Random bytes stored, not deflated: a package of ~1 MiB, so a cut leaves a partial file.
    const packageOf = (marker: string) =>
      makeZip([
        { name: 'index.py', data: `# ${marker}\ndef handler(e, c):\n    return 1\n` },
        { name: 'blob.bin', data: randomBytes(1024 * 1024), method: 'store' },
      ])
    const getOf = (key: string) => (r: RequestInfo) =>
      r.service === 's3' && r.method === 'GET' && r.path.endsWith(`/${key}`)

    async function changedDuring(
      fn: string,
      firstGet: FaultRule['fault'][],
      options: { version?: boolean } = {},
    ) {
      const role = await seedRole(moto.endpoint(), { name: `${fn}-role` })
      const oldZip = packageOf(`${fn}-old`)
      const newZip = packageOf(`${fn}-new`)
      const seeded = await seedFunction(moto.endpoint(), { name: fn, roleArn: role.arn, zip: oldZip })
      const newKey = `code/${fn}-new.zip`
      // Version 1 runs the old code. moto gives every version $LATEST's location; AWS gives each
      // version its own, so its GetFunction is answered with the old package's location, as AWS would.
      if (options.version) await publishVersion(moto.endpoint(), fn, { description: 'v1' })
      const rewrites = options.version
        ? [
            {
              match: (r: RequestInfo) => r.operation === 'GetFunction' && r.query?.get('Qualifier') === '1',
              body: (text: string) => text.split(newKey).join(seeded.code!.S3Key),
            },
          ]
        : []
      let changedTo = ''
      const proxy = await new FaultProxy(moto.endpoint(), {
        rewrites,
        // The deploy lands while the first GET of the old package is under way.
        holds: [
          {
            match: getOf(seeded.code!.S3Key),
            count: 1,
            run: async () => {
              changedTo = (await updateCode(moto.endpoint(), fn, newZip, { key: newKey })).codeSha256
            },
          },
        ],
        rules: firstGet.map((fault) => ({ match: getOf(seeded.code!.S3Key), fault, count: 1 })),
      }).start()
      try {
        const ctx = await context(proxy.endpoint)
        const r = await snapshotFunctions(ctx, { functions: [fn] })
        return { r, ctx, proxy, oldZip, newZip, from: seeded.codeSha256, to: changedTo }
      } finally {
        await proxy.stop()
      }
    }

    async function expectNewPackageKept(out: Awaited<ReturnType<typeof changedDuring>>, fn: string) {
      const { r, newZip, oldZip, from, to } = out
      expect(to).toBe(codeSha256(newZip))
      const f = r.functions[0]!
      expect(f.code).toBe('changed')
      expect(f.codeChange).toMatchObject({ from, to, at: expect.stringMatching(/Z$/) })
      // The new package, whole, and nothing else: no spliced file, no copy of the old one's bytes.
      const manifest = JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8')) as {
        files: { path: string }[]
      }
      const packages = manifest.files.map((x) => x.path).filter((p) => /^code\/.*\.zip$/.test(p))
      expect(packages).toEqual([`code/${sha256Hex(newZip)}.zip`])
      expect(f.codeFile).toBe(`code/${sha256Hex(newZip)}.zip`)
      expect(sha256Hex(await readFile(join(r.dir, packages[0]!)))).toBe(sha256Hex(newZip))
      expect(sha256Hex(oldZip)).not.toBe(sha256Hex(newZip))
      // A change of code, said as such: not an integrity mismatch.
      expect(r.findings.filter((x) => x.kind === 'code-integrity')).toEqual([])
      const change = r.findings.filter((x) => x.kind === 'code-changed')
      expect(change).toHaveLength(1)
      expect(change[0]).toMatchObject({
        level: 'high',
        detail: { qualifiers: ['$LATEST'], from, to, file: `code/${sha256Hex(newZip)}.zip` },
        evidence: expect.arrayContaining([
          `functions/${fn}/get-function.$LATEST.json`,
          `functions/${fn}/get-function.$LATEST.refetch-1.json`,
          `code/${sha256Hex(newZip)}.zip`,
        ]),
      })
      expect(change[0]!.title).toContain('changed while fir read it')
      expect(change[0]!.title).toContain('could not be read whole')
      const text = renderSnapshot(r)
      expect(text).toContain('CODE CHANGED while fir read it')
      expect(text).not.toContain('DOES NOT MATCH')
    }

    it('a download cut part way, then refused, then located at new code starts the new package from byte 0', async () => {
      const out = await changedDuring('splice-fn', ['truncate', 'request-expired'])
      // The old package was cut part way, resumed (refused: expired), then the new one read whole.
      expect(out.proxy.records.filter((x) => x.faulted).map((x) => x.faulted)).toEqual([
        'truncate',
        'request-expired',
      ])
      await expectNewPackageKept(out, 'splice-fn')
    })

    it('a version that still runs the old code gets its own download, not the changed one of $LATEST', async () => {
      const out = await changedDuring('kept-fn', ['truncate', 'request-expired'], { version: true })
      const { r, oldZip, newZip, from } = out
      const f = r.functions[0]!
      expect(f.code).toBe('changed')
      // Version 1's CodeSha256 is the old one: its own location gives the old package, whole.
      expect(f.versions.find((v) => v.version === '1')).toMatchObject({ codeSha256: from, code: 'match' })
      const manifest = JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8')) as {
        files: { path: string }[]
      }
      expect(
        manifest.files
          .map((x) => x.path)
          .filter((p) => /^code\/.*\.zip$/.test(p))
          .sort(),
      ).toEqual([`code/${sha256Hex(newZip)}.zip`, `code/${sha256Hex(oldZip)}.zip`].sort())
      expect(r.findings.filter((x) => x.kind === 'code-changed').map((x) => x.detail.qualifiers)).toEqual([
        ['$LATEST'],
      ])
      expect(r.findings.filter((x) => x.kind === 'code-integrity')).toEqual([])
    })

    it('a first download refused, then located at new code, is the new package, not an integrity mismatch', async () => {
      const out = await changedDuring('redeploy-fn', ['request-expired'])
      await expectNewPackageKept(out, 'redeploy-fn')
    })
  })

  it('records an image function by ImageUri and resolved digest, with the ECR answer stored', async () => {
    const ecr = new ECRClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'orders-image' }))
    const role = await seedRole(moto.endpoint(), { name: 'image-role' })
    const uri = `${TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/orders-image:v1`
    await seedFunction(moto.endpoint(), { name: 'image-fn', roleArn: role.arn, imageUri: uri })
    const ctx = await context()
    const r = await snapshotFunctions(ctx, { functions: ['image-fn'] })
    const f = r.functions[0]!
    expect(f).toMatchObject({ packageType: 'Image', imageUri: uri, code: 'image' })
    expect(f.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/)
    const manifest = JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8'))
    const ecrFile = manifest.files.find((x: { path: string }) => x.path.endsWith('.batch-get-image.json'))
    expect(ecrFile?.source.call).toBe('ecr:BatchGetImage')
    // No package is downloaded for an image function.
    expect(manifest.files.some((x: { path: string }) => x.path.startsWith('code/'))).toBe(false)
  })

  it('says whether a logging trail records Invoke for the function (data events)', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'trail-role' })
    await seedFunction(moto.endpoint(), { name: 'trail-fn', roleArn: role.arn })
    const ctx = await context()
    const before = await snapshotFunctions(ctx, { functions: ['trail-fn'] })
    expect(before.functions[0]!.trailCoverage.lambdaDataEvents).toBe('not-recorded')
    expect(before.findings.map((f) => f.title)).toEqual(
      expect.arrayContaining([expect.stringMatching(/No CloudTrail trail is logging in us-east-1/)]),
    )
    const trailArn = await seedTrail(moto.endpoint(), { name: 'org-trail', lambdaDataEvents: true })
    const { CloudTrailClient, PutEventSelectorsCommand, StartLoggingCommand } = await import(
      '@aws-sdk/client-cloudtrail'
    )
    await new CloudTrailClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    }).send(new StartLoggingCommand({ Name: 'org-trail' }))
    const after = await snapshotFunctions(ctx, { functions: ['trail-fn'] })
    expect(after.functions[0]!.trailCoverage).toEqual({ lambdaDataEvents: 'recorded', trails: [trailArn] })
    expect(after.findings.some((f) => f.kind === 'trail-coverage')).toBe(false)
    // Advanced selectors that leave out this one function (a way to hide its invocations).
    await new CloudTrailClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    }).send(
      new PutEventSelectorsCommand({
        TrailName: 'org-trail',
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::Lambda::Function'] },
              { Field: 'resources.ARN', NotEndsWith: [':function:trail-fn'] },
            ],
          },
        ],
      }),
    )
    const hidden = await snapshotFunctions(ctx, { functions: ['trail-fn'] })
    expect(hidden.functions[0]!.trailCoverage).toEqual({ lambdaDataEvents: 'not-recorded', trails: [] })
    expect(hidden.findings.find((f) => f.kind === 'trail-coverage')).toMatchObject({
      level: 'low',
      title: expect.stringMatching(/^No logging trail records Invoke \(Lambda data events\) of trail-fn/),
    })
  })

  it('reports statements pinned to another account or organisation as public, and an S3 bucket ARN as pinning no account', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'pinned-snap-role' })
    await seedFunction(moto.endpoint(), { name: 'pinned-snap', roleArn: role.arn })
    for (const p of [
      ...PINNED_STATEMENTS,
      { sid: 'bucket', principal: 's3.amazonaws.com', sourceArn: 'arn:aws:s3:::some-bucket' },
    ])
      await seedPermission(moto.endpoint(), 'pinned-snap', p)
    const ctx = await context()
    const r = await snapshotFunctions(ctx, { functions: ['pinned-snap'] })
    const titles = (kind: string) =>
      r.findings
        .filter((f) => f.kind === kind)
        .map((f) => f.title)
        .sort()
    expect(titles('public-statement')).toEqual([
      'pinned-snap: statement attacker-account allows any principal (*), not narrowed to this account: aws:SourceAccount 999988887777 is another account, not this one (123456789012) (lambda:InvokeFunction)',
      'pinned-snap: statement attacker-org allows any principal (*), not narrowed to this account: aws:PrincipalOrgID o-attacker123 names an organisation, and this account is in none (lambda:InvokeFunction)',
      'pinned-snap: statement attacker-topic allows an AWS service principal (sns.amazonaws.com), not narrowed to this account: aws:SourceArn arn:aws:sns:us-east-1:999988887777:attacker-topic belongs to another account (999988887777), not this one (123456789012) (lambda:InvokeFunction)',
    ])
    expect(titles('unscoped-service-statement')).toEqual([
      'pinned-snap: statement bucket allows an AWS service principal (s3.amazonaws.com), not narrowed to this account: aws:SourceArn arn:aws:s3:::some-bucket names no account (S3 bucket ARNs carry none), so the same name in any account matches; AWS advises adding aws:SourceAccount (lambda:InvokeFunction)',
    ])
    // DescribeOrganization's answer (here: in no organisation) is part of the evidence
    const { calls } = JSON.parse(await readFile(join(r.dir, 'calls.json'), 'utf8')) as {
      calls: { call: string; outcome: string }[]
    }
    expect(calls.filter((c) => c.call === 'organizations:DescribeOrganization')).toEqual([
      expect.objectContaining({ outcome: 'absent' }),
    ])
  })

  it('an environment Lambda could not decrypt (KMS) is unknown with its error and a gap, never "none found"', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'kms-role' })
    await seedFunction(moto.endpoint(), {
      name: 'kms-fn',
      roleArn: role.arn,
      env: { DB_PASSWORD: 'kms-hidden-pass-1' },
    })
    await publishVersion(moto.endpoint(), 'kms-fn')
    const message = 'Lambda was unable to decrypt the environment variables because KMS access was denied.'
    // What Lambda answers a caller that cannot decrypt the variables with the function's KMS key.
    const undecrypted = (text: string) => {
      const doc = JSON.parse(text)
      for (const c of [doc.Configuration, ...(doc.Versions ?? [])])
        if (c?.Environment)
          c.Environment = { Error: { ErrorCode: 'KMSAccessDeniedException', Message: message } }
      return JSON.stringify(doc)
    }
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [{ match: /^(GetFunction|ListVersionsByFunction)$/, body: undecrypted }],
    }).start()
    try {
      const ctx = await context(proxy.endpoint)
      const r = await snapshotFunctions(ctx, { functions: ['kms-fn'] })
      const f = r.functions[0]!
      const error = `KMSAccessDeniedException: ${message}`
      expect(f.secrets).toEqual([])
      expect(f.environmentErrors).toEqual([{ error, qualifiers: ['$LATEST', '1'] }])
      const gap = {
        what: 'environment variables ($LATEST, 1) of kms-fn',
        call: 'kms:Decrypt',
        reason: `denied: ${error}`,
      }
      expect(f.gaps).toContainEqual(gap)
      expect(ctx.gaps.list).toContainEqual(gap)
      // The summary words it as the report does, from the same error.
      const lines = renderSnapshot(r).split('\n')
      const secrets = lines.slice(lines.indexOf('  secrets in environment (redacted):') + 1)
      expect(secrets[0]).toBe(`    ${environmentUnknown(error)}  ($LATEST, 1)`)
      expect(secrets[0]).toBe(
        `    unknown: Lambda did not return the environment (KMSAccessDeniedException: ${message})  ($LATEST, 1)`,
      )
      expect(secrets[1]).not.toMatch(/none found/)
    } finally {
      await proxy.stop()
    }
  })

  it('a denied GetFunction is asked once and is one gap; the role is unknown, so are its risky permissions', async () => {
    const role = await seedRole(moto.endpoint(), {
      name: 'denied-admin',
      inline: {
        admin: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      },
    })
    await seedFunction(moto.endpoint(), { name: 'denied-fn', roleArn: role.arn })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'GetFunction', fault: 'access-denied' }],
    }).start()
    try {
      const ctx = await context(proxy.endpoint)
      const r = await snapshotFunctions(ctx, { functions: ['denied-fn'] })
      const f = r.functions[0]!
      expect(f.role).toBeUndefined()
      const denied = 'denied: AccessDeniedException: User is not authorized to perform: lambda:GetFunction'
      expect(f.gaps.filter((g) => g.call === 'lambda:GetFunction')).toEqual([
        {
          what: 'configuration and code location ($LATEST) of denied-fn',
          call: 'lambda:GetFunction',
          reason: denied,
        },
      ])
      expect(proxy.records.filter((x) => x.operation === 'GetFunction')).toHaveLength(1)
      const lines = renderSnapshot(r).split('\n')
      const under = (heading: string) => lines[lines.indexOf(`  ${heading}`) + 1]?.trim()
      expect(under('risky permissions:')).toBe(`unknown: no execution role is known (${denied})`)
      expect(under('secrets in environment (redacted):')).toBe(`unknown: ${denied}`)
    } finally {
      await proxy.stop()
    }
  })

  it('collects the event source mappings of the versions and aliases too, from one listing of the region stored whole', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'esm-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'esmfn', roleArn: role.arn })
    // A function whose name starts with the other's: none of its mappings are esmfn's.
    await seedFunction(moto.endpoint(), { name: 'esmfn-two', roleArn: role.arn })
    const v = await publishVersion(moto.endpoint(), 'esmfn', { description: 'v1' })
    const aliasArn = await seedAlias(moto.endpoint(), 'esmfn', 'prod', v)
    // The attacker's trigger sits on the alias; another on the version; one on the other function.
    const onAlias = await seedSqsMapping(moto.endpoint(), aliasArn, 'esm-alias-q')
    const onVersion = await seedSqsMapping(moto.endpoint(), `${fn.arn}:${v}`, 'esm-version-q')
    const other = await seedSqsMapping(moto.endpoint(), 'esmfn-two', 'esm-other-q')
    // AWS names a mapping made on an alias by the alias's ARN; moto by the version it points at.
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [
        {
          match: 'ListEventSourceMappings',
          body: (t) => {
            const doc = JSON.parse(t) as { EventSourceMappings?: { UUID?: string; FunctionArn?: string }[] }
            for (const m of doc.EventSourceMappings ?? [])
              if (m.UUID === onAlias.uuid) m.FunctionArn = aliasArn
            return JSON.stringify(doc)
          },
        },
      ],
    }).start()
    let r: Awaited<ReturnType<typeof snapshotFunctions>>
    try {
      r = await snapshotFunctions(await context(proxy.endpoint), { functions: ['esmfn', 'esmfn-two'] })
    } finally {
      await proxy.stop()
    }
    const byName = (name: string) => r.functions.find((f) => f.name === name)!
    const sorted = <T extends { uuid?: string }>(ms: T[]) =>
      [...ms].sort((a, b) => (a.uuid ?? '').localeCompare(b.uuid ?? ''))
    expect(sorted(byName('esmfn').eventSourceMappings)).toEqual(
      sorted([
        { uuid: onAlias.uuid, source: onAlias.queueArn, state: 'Enabled', qualifier: 'prod' },
        { uuid: onVersion.uuid, source: onVersion.queueArn, state: 'Enabled', qualifier: v },
      ]),
    )
    expect(byName('esmfn-two').eventSourceMappings).toEqual([
      { uuid: other.uuid, source: other.queueArn, state: 'Enabled' },
    ])
    // The region is listed once for both, its pages stored as Lambda returned them (every mapping).
    const { calls } = JSON.parse(await readFile(join(r.dir, 'calls.json'), 'utf8')) as {
      calls: { call: string; target: string; outcome: string; files: string[] }[]
    }
    const file = 'lambda/us-east-1/list-event-source-mappings.page-1.json'
    expect(calls.filter((c) => c.call === 'lambda:ListEventSourceMappings')).toEqual([
      expect.objectContaining({ target: 'us-east-1', outcome: 'stored', files: [file] }),
    ])
    const page = JSON.parse(await readFile(join(r.dir, file), 'utf8')) as {
      EventSourceMappings: { UUID: string; FunctionArn: string }[]
    }
    expect(page.EventSourceMappings.map((m) => [m.UUID, m.FunctionArn])).toEqual(
      expect.arrayContaining([
        [onAlias.uuid, aliasArn],
        [onVersion.uuid, `${fn.arn}:${v}`],
        [other.uuid, expect.stringMatching(/:function:esmfn-two$/)],
      ]),
    )
    const row = renderSnapshot(r)
      .split('\n')
      .find((l) => l.startsWith('  event sources'))
    expect(row).toContain(`${onAlias.queueArn} (Enabled, on prod)`)
    expect(row).toContain(`${onVersion.queueArn} (Enabled, on ${v})`)
  })

  it('a function deleted while it is read: its resource policy and URL are gaps (unknown), never "none"', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'gone-role' })
    await seedFunction(moto.endpoint(), { name: 'gone-fn', roleArn: role.arn })
    const ctx = await context()
    // The function is deleted after fir found it, just before it asks for its policy and URL.
    let deleted: Promise<unknown> | undefined
    const one = Recorder.prototype.one
    const spy = vi.spyOn(Recorder.prototype, 'one').mockImplementation(async function (
      this: Recorder,
      spec,
      fn,
    ) {
      if (spec.call === 'lambda:GetPolicy' || spec.call === 'lambda:GetFunctionUrlConfig') {
        deleted ??= seedClients(moto.endpoint()).lambda.send(
          new DeleteFunctionCommand({ FunctionName: 'gone-fn' }),
        )
        await deleted
      }
      return one.call(this, spec, fn) as never
    })
    let r: Awaited<ReturnType<typeof snapshotFunctions>>
    try {
      r = await snapshotFunctions(ctx, { functions: ['gone-fn'] })
    } finally {
      spy.mockRestore()
    }
    const f = r.functions[0]!
    const notFound = expect.stringMatching(/^not-found: ResourceNotFoundException: Function not found: /)
    expect(f.gaps).toEqual(
      expect.arrayContaining([
        { what: 'resource policy ($LATEST) of gone-fn', call: 'lambda:GetPolicy', reason: notFound },
        {
          what: 'function URL config ($LATEST) of gone-fn',
          call: 'lambda:GetFunctionUrlConfig',
          reason: notFound,
        },
      ]),
    )
    const { calls } = JSON.parse(await readFile(join(r.dir, 'calls.json'), 'utf8')) as {
      calls: { call: string; outcome: string }[]
    }
    expect(
      calls
        .filter((c) => c.call === 'lambda:GetPolicy' || c.call === 'lambda:GetFunctionUrlConfig')
        .map((c) => c.outcome),
    ).toEqual(['gap', 'gap'])
    const lines = renderSnapshot(r).split('\n')
    expect(lines.find((l) => l.startsWith('  url'))).toMatch(
      /^ {2}url {11}unknown: not-found: .*Function not found/,
    )
    const exposure = lines[lines.indexOf('  exposure:') + 1]!.trim()
    expect(exposure).toMatch(/^none found in what was read; unknown: not-found: /)
  })

  it('exposure found on some qualifiers still says which policies were not read: an alias and a version deleted while fir read them', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'vdel-role' })
    await seedFunction(moto.endpoint(), { name: 'vdel', roleArn: role.arn })
    for (let i = 1; i <= 3; i++) await publishVersion(moto.endpoint(), 'vdel', { description: `v${i}` })
    await seedAlias(moto.endpoint(), 'vdel', 'live', '3')
    await seedPermission(moto.endpoint(), 'vdel', { sid: 'pub', principal: '*', qualifier: 'live' })
    const lambda = seedClients(moto.endpoint()).lambda
    // The alias and version 2 are deleted (for real, in moto) just before fir asks for their policies.
    const one = Recorder.prototype.one
    const spy = vi.spyOn(Recorder.prototype, 'one').mockImplementation(async function (
      this: Recorder,
      spec,
      fn,
    ) {
      if (spec.call === 'lambda:GetPolicy' && spec.what.includes('(live)'))
        await lambda.send(new DeleteAliasCommand({ FunctionName: 'vdel', Name: 'live' }))
      if (spec.call === 'lambda:GetPolicy' && spec.what.includes('(2)'))
        await lambda.send(new DeleteFunctionCommand({ FunctionName: 'vdel', Qualifier: '2' }))
      return one.call(this, spec, fn) as never
    })
    let r: Awaited<ReturnType<typeof snapshotFunctions>>
    try {
      r = await snapshotFunctions(await context(), { functions: ['vdel'], qualifier: 'live' })
    } finally {
      spy.mockRestore()
    }
    const f = r.functions[0]!
    expect(f.qualifier).toBe('live')
    // Exposure was found on the qualifiers whose policy was read...
    expect(f.exposure).toEqual([
      expect.objectContaining({ kind: 'resource-policy', sid: 'pub', level: 'critical' }),
    ])
    expect(f.exposure[0]!.qualifiers).not.toContain('live')
    // ...and the ones not read are carried into summary.json, the summarised qualifier's first.
    expect(f.unreadPolicies.flatMap((u) => u.qualifiers)).toEqual(['live', '2'])
    for (const u of f.unreadPolicies) expect(u.reason).toMatch(/^not-found: ResourceNotFoundException: /)
    const summary = JSON.parse(await readFile(join(r.dir, 'summary.json'), 'utf8'))
    expect(summary.functions[0].unreadPolicies).toEqual(f.unreadPolicies)
    const lines = renderSnapshot(r).split('\n')
    const at = lines.indexOf('  exposure:')
    expect(lines[at + 1]).toMatch(/^ {4}\[critical\] statement pub /)
    expect(lines[at + 2]).toMatch(
      /^ {4}others unknown: not-found: ResourceNotFoundException: .*\(lambda:GetPolicy\).* {2}\(policy not read: live, 2\)$/,
    )
  })

  it("shows every function URL config with its qualifier and AuthType: an alias's NONE URL is not hidden behind $LATEST's AWS_IAM", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'urls-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'urls-fn', roleArn: role.arn })
    const v = await publishVersion(moto.endpoint(), 'urls-fn', { description: 'v1' })
    await seedAlias(moto.endpoint(), 'urls-fn', 'live', v)
    const latestUrl = await seedFunctionUrl(moto.endpoint(), 'urls-fn', 'AWS_IAM')
    const liveUrl = 'https://live7h2k4m9q3x5w8z1c6v0b2n4m7.lambda-url.us-east-1.on.aws/'
    // moto keeps one URL config per function and ignores the Qualifier: answer the alias's as AWS does.
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [
        {
          match: (r) => r.operation === 'GetFunctionUrlConfig' && r.query?.get('Qualifier') === 'live',
          body: (t) =>
            JSON.stringify({
              ...JSON.parse(t),
              FunctionUrl: liveUrl,
              FunctionArn: `${fn.arn}:live`,
              AuthType: 'NONE',
            }),
        },
      ],
    }).start()
    try {
      const r = await snapshotFunctions(await context(proxy.endpoint), {
        functions: ['urls-fn'],
        qualifier: 'live',
      })
      const f = r.functions[0]!
      // `url` is the summarised qualifier's own; `urls` every one, the summarised qualifier's first.
      expect(f.url).toEqual({ url: liveUrl, authType: 'NONE', qualifiers: ['live'] })
      expect(f.urls).toEqual([
        { url: liveUrl, authType: 'NONE', qualifiers: ['live'] },
        { url: latestUrl, authType: 'AWS_IAM', qualifiers: ['$LATEST'] },
      ])
      const row = renderSnapshot(r)
        .split('\n')
        .find((l) => l.startsWith('  url'))
      expect(row).toBe(
        `  url           ${liveUrl} AuthType NONE (live), ${latestUrl} AuthType AWS_IAM ($LATEST)`,
      )
    } finally {
      await proxy.stop()
    }
  })

  it('a version GetFunction is denied for is read from the version list (environment, layers, role); where neither answered, its environment is unknown', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'listed-role' })
    const swap = await seedRole(moto.endpoint(), { name: 'listed-swap-role' })
    const layer = await seedLayer(moto.endpoint(), 'listed-layer')
    const fn = await seedFunction(moto.endpoint(), {
      name: 'listed-fn',
      roleArn: role.arn,
      env: { MODE: 'a' },
    })
    const lambda = seedClients(moto.endpoint()).lambda
    const configure = (change: Record<string, unknown>) =>
      lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'listed-fn', ...change }))
    await publishVersion(moto.endpoint(), 'listed-fn')
    // Version 2 alone ran with a password, a layer and another role.
    await configure({
      Environment: { Variables: { DB_PASSWORD: 'Zq9-very-secret-db-password' } },
      Layers: [layer.layerVersionArn],
      Role: swap.arn,
    })
    await publishVersion(moto.endpoint(), 'listed-fn')
    await configure({ Environment: { Variables: { MODE: 'b' } }, Layers: [], Role: role.arn })
    await publishVersion(moto.endpoint(), 'listed-fn')
    await seedAlias(moto.endpoint(), 'listed-fn', 'live', '1')
    const deniedFor = (...qualifiers: string[]) => ({
      match: (r: { operation: string; query?: URLSearchParams }) =>
        r.operation === 'GetFunction' && qualifiers.includes(r.query?.get('Qualifier') ?? ''),
      fault: 'access-denied' as const,
    })
    const proxy = await new FaultProxy(moto.endpoint(), { rules: [deniedFor('2')] }).start()
    try {
      const r = await snapshotFunctions(await context(proxy.endpoint), { functions: ['listed-fn'] })
      const f = r.functions[0]!
      expect(f.gaps).toContainEqual(
        expect.objectContaining({ what: 'configuration and code location (2) of listed-fn' }),
      )
      expect(f.secrets).toEqual([expect.objectContaining({ name: 'DB_PASSWORD', qualifiers: ['2'] })])
      const secret = r.findings.find((x) => x.kind === 'secret-in-environment')
      expect(secret?.evidence).toContain('functions/listed-fn/list-versions-by-function.page-1.json')
      expect(f.layers).toEqual([expect.objectContaining({ arn: layer.layerVersionArn, qualifiers: ['2'] })])
      const manifest = JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8')) as {
        files: { path: string; source: { call: string; target: string } }[]
      }
      expect(
        manifest.files.filter((x) => x.source.call === 'iam:GetRole').map((x) => x.source.target),
      ).toEqual(expect.arrayContaining([role.arn, swap.arn]))
      expect(f.versions.find((v) => v.version === '2')).toMatchObject({
        configuration: 'version-list',
        code: 'not-downloaded',
        role: swap.arn,
      })
      expect(f.versions.find((v) => v.version === '1')?.configuration).toBeUndefined()
      const lines = renderSnapshot(r).split('\n')
      expect(lines.find((l) => l.startsWith('  versions'))).toBe(
        '  versions      3: 1, 2 (configuration from the version list; code not read), 3',
      )
      const secrets = lines.slice(lines.indexOf('  secrets in environment (redacted):') + 1)
      expect(secrets[0]).toMatch(
        /^ {4}DB_PASSWORD = ‹redacted len=27 sha256:[0-9a-f]+› {2}\(secret-by-name; 2\)$/,
      )

      // Neither answers: GetFunction of the alias and the version list are both denied.
      proxy.rules = [deniedFor('2', 'live'), { match: 'ListVersionsByFunction', fault: 'access-denied' }]
      const again = await snapshotFunctions(await context(proxy.endpoint), { functions: ['listed-fn'] })
      const g = again.functions[0]!
      const denied = 'denied: AccessDeniedException: User is not authorized to perform: lambda:GetFunction'
      expect(g.secrets).toEqual([])
      expect(g.environmentErrors).toEqual([{ error: denied, qualifiers: ['live'] }])
      // Not a KMS failure: no kms:Decrypt gap, the failed GetFunction is the gap.
      expect(g.gaps.map((x) => x.call)).not.toContain('kms:Decrypt')
      const out = renderSnapshot(again).split('\n')
      expect(
        out.slice(
          out.indexOf('  secrets in environment (redacted):') + 1,
          out.indexOf('  secrets in environment (redacted):') + 3,
        ),
      ).toEqual([
        '    none found in what was read',
        `    unknown: Lambda did not return the environment (${denied})  (live)`,
      ])
      // Its layers are unknown too, not left out.
      expect(out.find((l) => l.startsWith('  other layers'))).toBe(
        `  other layers  unknown: configuration not read (${denied}) (live)`,
      )
    } finally {
      await proxy.stop()
    }
  })

  it('collects the image of every version and alias; an image ECR no longer holds is a finding, not a warning', async () => {
    const ecr = new ECRClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'multi-image' }))
    const role = await seedRole(moto.endpoint(), { name: 'multi-image-role' })
    const repo = `${TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/multi-image`
    await seedFunction(moto.endpoint(), { name: 'multi-image-fn', roleArn: role.arn, imageUri: `${repo}:v1` })
    const v = await publishVersion(moto.endpoint(), 'multi-image-fn')
    await seedClients(moto.endpoint()).lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'multi-image-fn', ImageUri: `${repo}:v2` }),
    )
    const ctx = await context()
    const r = await snapshotFunctions(ctx, { functions: ['multi-image-fn'] })
    const f = r.functions[0]!
    // moto holds no image in the repository: ECR answers ImageNotFound for both digests.
    expect(f.images).toEqual([
      { imageUri: `${repo}:v2`, digest: f.imageDigest, qualifiers: ['$LATEST'], inEcr: false },
      {
        imageUri: expect.any(String),
        digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        qualifiers: [v],
        inEcr: false,
      },
    ])
    const older = f.images[1]!
    expect(older.digest).not.toBe(f.imageDigest)
    const manifest = JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8')) as {
      files: { path: string; source: { call: string } }[]
    }
    expect(manifest.files.filter((x) => x.source.call === 'ecr:BatchGetImage')).toHaveLength(2)
    const missing = r.findings.filter((x) => x.kind === 'image-missing')
    expect(missing.map((x) => [x.level, x.detail.qualifiers])).toEqual(
      expect.arrayContaining([
        ['medium', ['$LATEST']],
        ['medium', [v]],
      ]),
    )
    expect(missing[0]!.title).toMatch(
      /^The image multi-image-fn \(.+\) runs is no longer in ECR: .+ \(ImageNotFound: /,
    )
    expect(ctx.gaps.list.map((g) => g.call)).not.toContain('ecr:BatchGetImage')
    const lines = renderSnapshot(r).split('\n')
    expect(lines.find((l) => l.startsWith('  code sha256'))).toBe(
      `  code sha256   ${repo}:v2 @ ${f.imageDigest} (NOT IN ECR: see findings)`,
    )
    expect(lines.find((l) => l.startsWith('  other images'))).toBe(
      `  other images  ${older.imageUri} @ ${older.digest} (NOT IN ECR: see findings) (${v})`,
    )
  })

  it('an image whose ECR repository was deleted is an image-missing finding, not a gap', async () => {
    const ecr = new ECRClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'gone-repo' }))
    const role = await seedRole(moto.endpoint(), { name: 'gone-repo-role' })
    const repo = `${TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/gone-repo`
    await seedFunction(moto.endpoint(), { name: 'gone-repo-fn', roleArn: role.arn, imageUri: `${repo}:v1` })
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'gone-repo', force: true }))
    const ctx = await context()
    const r = await snapshotFunctions(ctx, { functions: ['gone-repo-fn'] })
    const f = r.functions[0]!
    expect(f.images).toEqual([
      { imageUri: `${repo}:v1`, digest: f.imageDigest, qualifiers: ['$LATEST'], inEcr: false },
    ])
    const missing = r.findings.filter((x) => x.kind === 'image-missing')
    expect(missing.map((x) => [x.level, x.detail.qualifiers])).toEqual([['medium', ['$LATEST']]])
    expect(missing[0]!.title).toMatch(
      /^The image gone-repo-fn \(\$LATEST\) runs is no longer in ECR: .+ \(RepositoryNotFoundException: /,
    )
    expect(ctx.gaps.list.map((g) => g.call)).not.toContain('ecr:BatchGetImage')
    expect(
      renderSnapshot(r)
        .split('\n')
        .find((l) => l.startsWith('  code sha256')),
    ).toBe(`  code sha256   ${repo}:v1 @ ${f.imageDigest} (NOT IN ECR: see findings)`)

    // Any other failure to read the manifest is still a gap, and no finding.
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'BatchGetImage', fault: 'access-denied' }],
    }).start()
    try {
      const denied = await snapshotFunctions(await context(proxy.endpoint), { functions: ['gone-repo-fn'] })
      expect(denied.functions[0]!.images.map((i) => i.inEcr)).toEqual([null])
      expect(denied.functions[0]!.gaps.map((g) => g.call)).toContain('ecr:BatchGetImage')
      expect(denied.findings.filter((x) => x.kind === 'image-missing')).toEqual([])
    } finally {
      await proxy.stop()
    }
  })

  it('records provisioned concurrency and shows it beside the reserved concurrency', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'pc-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'pc-fn', roleArn: role.arn })
    // moto has no provisioned-concurrency route: answer as Lambda does.
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [
        {
          match: 'ListProvisionedConcurrencyConfigs',
          status: 200,
          body: () =>
            JSON.stringify({
              ProvisionedConcurrencyConfigs: [
                {
                  FunctionArn: `${fn.arn}:live`,
                  RequestedProvisionedConcurrentExecutions: 50,
                  AllocatedProvisionedConcurrentExecutions: 20,
                  AvailableProvisionedConcurrentExecutions: 20,
                  Status: 'IN_PROGRESS',
                  LastModified: '2026-11-28T23:55:54+0000',
                },
              ],
            }),
        },
      ],
    }).start()
    try {
      const r = await snapshotFunctions(await context(proxy.endpoint), { functions: ['pc-fn'] })
      const f = r.functions[0]!
      expect(f.provisionedConcurrency).toEqual([
        { qualifier: 'live', requested: 50, allocated: 20, available: 20, status: 'IN_PROGRESS' },
      ])
      expect(
        renderSnapshot(r)
          .split('\n')
          .find((l) => l.startsWith('  concurrency')),
      ).toBe('  concurrency   unreserved; provisioned 50 on live (IN_PROGRESS, 20 allocated)')
    } finally {
      await proxy.stop()
    }
  })

  it('a version list whose page marker repeats is a gap naming the call, and the versions row says it is incomplete', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'marker-role' })
    await seedFunction(moto.endpoint(), { name: 'marker-fn', roleArn: role.arn })
    await publishVersion(moto.endpoint(), 'marker-fn', { description: 'v1' })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [
        {
          match: 'ListVersionsByFunction',
          body: (t) => JSON.stringify({ ...JSON.parse(t), NextMarker: 'the-same-marker' }),
        },
      ],
    }).start()
    try {
      const r = await snapshotFunctions(await context(proxy.endpoint), { functions: ['marker-fn'] })
      const f = r.functions[0]!
      const reason =
        'other: Lambda returned a page marker it had already returned, after 2 pages: the list stops there and may be incomplete'
      expect(f.gaps).toContainEqual({
        what: 'versions of marker-fn',
        call: 'lambda:ListVersionsByFunction',
        reason,
      })
      expect(proxy.records.filter((x) => x.operation === 'ListVersionsByFunction')).toHaveLength(2)
      // The pages read are kept, and the versions they list twice are read once.
      expect(f.versions.map((v) => v.version)).toEqual(['1'])
      expect(f.gaps.map((g) => g.call).sort()).toEqual([
        'lambda:ListProvisionedConcurrencyConfigs',
        'lambda:ListVersionsByFunction',
      ])
      const row = renderSnapshot(r)
        .split('\n')
        .find((l) => l.startsWith('  versions'))
      expect(row).toMatch(
        / \(list incomplete: unknown: other: Lambda returned a page marker .* \(lambda:ListVersionsByFunction\)\)$/,
      )
    } finally {
      await proxy.stop()
    }
  })

  it('log events whose page token repeats are a gap naming logs:FilterLogEvents, not a window that looks complete', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'token-role' })
    await seedFunction(moto.endpoint(), { name: 'token-fn', roleArn: role.arn })
    const group = await seedLogEvents(moto.endpoint(), 'token-fn', [{ message: 'START' }, { message: 'END' }])
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [
        {
          match: 'FilterLogEvents',
          body: (t) => JSON.stringify({ ...JSON.parse(t), nextToken: 'the-same-token' }),
        },
      ],
    }).start()
    try {
      const r = await snapshotFunctions(await context(proxy.endpoint), { functions: ['token-fn'] })
      const f = r.functions[0]!
      expect(proxy.records.filter((x) => x.operation === 'FilterLogEvents')).toHaveLength(2)
      expect(f.gaps).toContainEqual({
        what: expect.stringMatching(new RegExp(`^log events of ${group} `)),
        call: 'logs:FilterLogEvents',
        reason:
          'other: CloudWatch Logs returned a page marker it had already returned, after 2 pages: the list stops there and may be incomplete',
      })
      // The pages read are kept in the set.
      const manifest = JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8')) as {
        files: { source: { call: string } }[]
      }
      expect(manifest.files.filter((x) => x.source.call === 'logs:FilterLogEvents')).toHaveLength(2)
      const row = renderSnapshot(r)
        .split('\n')
        .find((l) => l.startsWith('  log group'))
      expect(row).toMatch(
        /: unknown: other: CloudWatch Logs returned a page marker .* \(logs:FilterLogEvents\)$/,
      )
    } finally {
      await proxy.stop()
    }
  })

  it("a failed code download is a gap naming the GET of GetFunction's Code.Location, not GetFunction", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'dl-role' })
    await seedFunction(moto.endpoint(), { name: 'dl-fn', roleArn: role.arn })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [
        {
          match: (r) => r.service === 's3' && r.method === 'GET' && r.path.includes('awslambda-'),
          fault: 'not-found',
        },
      ],
    }).start()
    try {
      const r = await snapshotFunctions(await context(proxy.endpoint), { functions: ['dl-fn'] })
      const f = r.functions[0]!
      expect(f.code).toBe('not-downloaded')
      expect(f.gaps.filter((g) => g.what === 'code package of dl-fn:$LATEST')).toEqual([
        {
          what: 'code package of dl-fn:$LATEST',
          call: "code download (GetFunction's Code.Location)",
          reason: expect.stringMatching(/^not-found: unable to download s3:\/\/awslambda-us-east-1-tasks\//),
        },
      ])
      // GetFunction itself answered: it is no gap.
      expect(f.gaps.map((g) => g.call)).not.toContain('lambda:GetFunction')
    } finally {
      await proxy.stop()
    }
  })

  it('refuses a function named with one qualifier and a --qualifier naming another, before anything is written', async () => {
    const ctx = await context()
    const err = await snapshotFunctions(ctx, { functions: ['r5fn:prod'], qualifier: 'live' }).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe(
      'unable to snapshot r5fn:prod with --qualifier live: r5fn:prod names qualifier prod, and --qualifier names live (the summary describes one)',
    )
    expect(err.actions).toEqual([
      'to summarise the qualifier in the function, leave --qualifier out: r5fn:prod',
      'to summarise live, name the function without a qualifier: r5fn --qualifier live',
      'either way every version and alias is collected',
    ])
    const arn = `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:r5fn:prod`
    await expect(snapshotFunctions(ctx, { functions: [arn], qualifier: 'live' })).rejects.toThrow(
      `unable to snapshot ${arn} with --qualifier live`,
    )
    expect(await readdir(join(ctx.case.dir, 'evidence'))).toEqual([])
    // The same qualifier twice is no conflict: the function is looked for (and here, not found).
    await expect(snapshotFunctions(ctx, { functions: ['r5fn:prod'], qualifier: 'prod' })).rejects.toThrow(
      /no such function/,
    )
  })

  it("a function not found is listed with the AWS CLI in its own region, through the run's endpoint", async () => {
    const ctx = await context()
    const err = await snapshotFunctions(ctx, {
      functions: [`arn:aws:lambda:eu-west-1:${TEST_ACCOUNT}:function:nosuch`],
    }).catch((e) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err.actions).toContain(
      `list the functions: aws lambda list-functions --query 'Functions[].FunctionName' --region eu-west-1 --endpoint-url ${moto.endpoint()}`,
    )
  })
})
