import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AttachRolePolicyCommand, CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam'
import { describe, expect, it } from 'vitest'
import { secretsReadByRoles } from '../../../src/core/credentials/secrets-read.js'
import { snapshotFunctions } from '../../../src/core/snapshot/snapshot.js'
import { collectTimeline } from '../../../src/core/timeline/collect.js'
import { renderTimelineSummary } from '../../../src/core/timeline/summary-text.js'
import { resolveTarget } from '../../../src/core/timeline/target.js'
import { tempDir } from '../../support/cli.js'
import { emulatorClient, useMoto } from '../../support/emulator.js'
import { roleSwapRecords, seedRoleSwap } from '../../support/role-swap.js'
import { seedFunction, seedRole, TEST_ACCOUNT } from '../../support/seed.js'
import { timelineContext } from './context.js'

const moto = useMoto()

describe('resolveTarget with a snapshot of the function (moto)', () => {
  it('tracks every customer-managed policy attached to the role, harmless ones too, and keeps their new versions', async () => {
    // victim-managed grants only s3:GetObject (no risky-permission finding); admin-managed grants iam:*.
    const role = await seedRole(moto.endpoint(), {
      name: 'victim-role',
      managed: {
        'admin-managed': {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
        },
      },
    })
    const iam = emulatorClient(IAMClient, moto.endpoint())
    const harmless = await iam.send(
      new CreatePolicyCommand({
        PolicyName: 'victim-managed',
        Path: '/app/',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::data/*' }],
        }),
      }),
    )
    const victimManaged = harmless.Policy!.Arn!
    expect(victimManaged).toBe(`arn:aws:iam::${TEST_ACCOUNT}:policy/app/victim-managed`)
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'victim-role', PolicyArn: victimManaged }))
    await seedFunction(moto.endpoint(), { name: 'victim', roleArn: role.arn })

    const { ctx, dir } = await timelineContext(moto.endpoint())
    const snap = await snapshotFunctions(ctx, { functions: ['victim'] })
    expect(
      snap.findings.filter((f) => f.kind === 'risky-permission').map((f) => f.detail.policy),
    ).not.toContain(victimManaged)

    const resolved = await resolveTarget(dir, ctx.case.journal.all(), 'victim', [])
    expect(resolved.roleSource).toBe('snapshot')
    expect(new Set(resolved.target.policyArns)).toEqual(
      new Set([victimManaged, role.managedArns['admin-managed']]),
    )

    // The tester's recipe: new versions of the harmless policy are role changes, not unrelated.
    const record = (id: string, eventName: string, policyArn: string) => ({
      eventVersion: '1.08',
      eventID: id,
      eventTime: '2025-03-01T10:00:00Z',
      eventSource: 'iam.amazonaws.com',
      eventName,
      awsRegion: 'us-east-1',
      recipientAccountId: TEST_ACCOUNT,
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${TEST_ACCOUNT}:user/mallory` },
      requestParameters:
        eventName === 'CreatePolicyVersion'
          ? { policyArn, policyDocument: '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' }
          : { policyArn, versionId: 'v2' },
    })
    const src = join(await tempDir('fir-target-'), 'm.json')
    await writeFile(
      src,
      JSON.stringify([
        record('e-create', 'CreatePolicyVersion', victimManaged),
        record('e-default', 'SetDefaultPolicyVersion', victimManaged),
        record('e-other', 'CreatePolicyVersion', `arn:aws:iam::${TEST_ACCOUNT}:policy/unrelated`),
      ]),
    )
    const { summary } = await collectTimeline(ctx, {
      function: 'victim',
      sources: [src],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-02T00:00:00Z',
      workers: 0,
    })
    expect(summary.events).toMatchObject({ read: 3, kept: 2, unrelated: 1 })
  })
})

describe('a role swap after stolen role credentials (moto)', () => {
  it('keeps every call of the sessions of the role the published versions run with, and names each role with why', async () => {
    // Snapshot after the swap: $LATEST runs with legacy-admin-role, versions 1 and 2 (alias live)
    // with orders-role, whose stolen sessions did the damage.
    const seed = await seedRoleSwap(moto.endpoint())
    const { ctx, dir } = await timelineContext(moto.endpoint())
    await snapshotFunctions(ctx, { functions: ['orders-api'] })
    const src = join(await tempDir('fir-target-'), 'swap.json')
    await writeFile(src, JSON.stringify({ Records: roleSwapRecords(seed, new Date('2025-03-01T10:00:00Z')) }))
    const { summary } = await collectTimeline(ctx, {
      function: 'orders-api',
      sources: [src],
      since: '2025-03-01T00:00:00Z',
      until: '2025-03-02T00:00:00Z',
      workers: 0,
    })
    // Before: every call of the orders-role session but the swap (which names the function) was
    // dropped as unrelated (kept 1, unrelated 5), and the roles were [legacy-admin-role] only.
    expect(summary.events).toMatchObject({ read: 6, kept: 5, unrelated: 1 })
    expect(summary.function?.roles).toEqual([
      { name: 'legacy-admin-role', arn: seed.adminRole.arn, why: 'snapshot: $LATEST' },
      { name: 'orders-role', arn: seed.ordersRole.arn, why: 'snapshot: versions 1, 2, alias live' },
    ])
    const kept = (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; actor: { arn: string } })
    expect(kept.map((e) => e.name)).toEqual([
      'GetSecretValue',
      'PutRolePolicy',
      'CreateUser',
      'CreateAccessKey',
      'UpdateFunctionConfiguration',
    ])
    expect(renderTimelineSummary(summary, [])).toContain(
      'Timeline of orders-api (us-east-1): roles legacy-admin-role (snapshot: $LATEST), orders-role (snapshot: versions 1, 2, alias live)',
    )
    // fir creds secrets looks at both roles: the secret read with orders-role is to rotate.
    const secrets = await secretsReadByRoles(ctx)
    expect(secrets.roles.map((r) => [r.role, r.functions, r.read.map((u) => u.secret)])).toEqual([
      ['legacy-admin-role', ['orders-api'], []],
      ['orders-role', ['orders-api'], ['prod/orders-db']],
    ])
  })
})

describe('resolveTarget with a hand-written evidence set', () => {
  it("reads the attached policies of the snapshot's role only, and leaves out AWS-managed ones", async () => {
    const { dir, handle } = await timelineContext()
    const set = await handle.newEvidenceSet()
    const roleArn = `arn:aws:iam::${TEST_ACCOUNT}:role/service-role/victim-role`
    const custom = (n: number) => `arn:aws:iam::${TEST_ACCOUNT}:policy/app/p${n}`
    const stored = { call: 'iam:ListAttachedRolePolicies' }
    await set.writeJson(
      'summary.json',
      {
        functions: [
          {
            name: 'victim',
            arn: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:victim`,
            region: 'us-east-1',
            account: TEST_ACCOUNT,
            role: roleArn,
            roleName: 'victim-role',
            riskyPermissions: [],
          },
        ],
      },
      { call: 'fir:summary' },
    )
    const page = (...arns: string[]) => ({
      AttachedPolicies: arns.map((a) => ({ PolicyArn: a, PolicyName: a.split('/').at(-1) })),
    })
    await set.writeJson(
      'iam/roles/victim-role/list-attached-role-policies.page-1.json',
      page(custom(1)),
      stored,
    )
    await set.writeJson(
      'iam/roles/victim-role/list-attached-role-policies.page-2.json',
      page(custom(2), 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'),
      stored,
    )
    await set.writeJson(
      'iam/roles/other-role/list-attached-role-policies.page-1.json',
      page(custom(3)),
      stored,
    )
    await set.writeJson(
      'calls.json',
      {
        calls: [
          {
            call: 'iam:ListAttachedRolePolicies',
            target: roleArn,
            outcome: 'stored',
            files: [
              'iam/roles/victim-role/list-attached-role-policies.page-1.json',
              'iam/roles/victim-role/list-attached-role-policies.page-2.json',
            ],
            requestIds: [],
          },
          {
            call: 'iam:ListAttachedRolePolicies',
            target: `arn:aws:iam::${TEST_ACCOUNT}:role/other-role`,
            outcome: 'stored',
            files: ['iam/roles/other-role/list-attached-role-policies.page-1.json'],
            requestIds: [],
          },
        ],
      },
      { call: 'fir:calls' },
    )
    await set.seal()
    const { target } = await resolveTarget(dir, handle.journal.all(), 'victim', ['other-role'])
    expect(target.roles.map((r) => r.name)).toEqual(['victim-role', 'other-role'])
    expect(target.policyArns).toEqual([custom(1), custom(2)])
  })

  it("takes every role the case's snapshots of the function recorded: $LATEST's in each, newest first, then each version's, with why", async () => {
    const { dir, handle } = await timelineContext()
    const arn = `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:victim`
    const role = (name: string) => `arn:aws:iam::${TEST_ACCOUNT}:role/${name}`
    const fn = { name: 'victim', arn, region: 'us-east-1', account: TEST_ACCOUNT, qualifier: '$LATEST' }
    // An older set, written before versions carried their role: read from its stored listing.
    const older = await handle.newEvidenceSet()
    await older.writeJson(
      'summary.json',
      { functions: [{ ...fn, role: role('old-role'), roleName: 'old-role', versions: [{ version: '2' }] }] },
      { call: 'fir:summary' },
    )
    const listing = 'lambda/functions/victim/list-versions-by-function.page-1.json'
    await older.writeJson(
      listing,
      {
        Versions: [
          { Version: '$LATEST', Role: role('old-role') },
          { Version: '2', Role: role('gone-role') },
        ],
      },
      { call: 'lambda:ListVersionsByFunction', target: arn },
    )
    await older.writeJson(
      'calls.json',
      {
        calls: [{ call: 'lambda:ListVersionsByFunction', target: arn, outcome: 'stored', files: [listing] }],
      },
      { call: 'fir:calls' },
    )
    await older.seal()
    const newer = await handle.newEvidenceSet()
    await newer.writeJson(
      'summary.json',
      {
        functions: [
          {
            ...fn,
            role: role('new-role'),
            roleName: 'new-role',
            versions: [
              { version: '1', role: role('old-role') },
              { version: '3', role: role('ver-role') },
            ],
            aliases: [{ name: 'blue', version: '3' }],
          },
        ],
      },
      { call: 'fir:summary' },
    )
    await newer.seal()
    const resolved = await resolveTarget(dir, handle.journal.all(), 'victim', ['extra-role', 'OLD-ROLE'])
    expect(resolved.roleSource).toBe('snapshot+flag')
    expect(resolved.target.roles).toEqual([
      { name: 'new-role', arn: role('new-role'), why: 'snapshot: $LATEST' },
      { name: 'old-role', arn: role('old-role'), why: 'snapshot: version 1; earlier snapshot: $LATEST' },
      { name: 'ver-role', arn: role('ver-role'), why: 'snapshot: version 3, alias blue' },
      { name: 'gone-role', arn: role('gone-role'), why: 'earlier snapshot: version 2' },
      { name: 'extra-role', arn: role('extra-role'), why: '--role' },
    ])
  })

  it("never takes the snapshot of the same name in another account: another account's ARN has no role from it", async () => {
    const { dir, handle } = await timelineContext()
    const set = await handle.newEvidenceSet()
    await set.writeJson(
      'summary.json',
      {
        functions: [
          {
            name: 'victim',
            arn: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:victim`,
            region: 'us-east-1',
            role: `arn:aws:iam::${TEST_ACCOUNT}:role/victim-role`,
            roleName: 'victim-role',
          },
        ],
      },
      { call: 'fir:summary' },
    )
    await set.seal()
    const other = 'arn:aws:lambda:us-east-1:999999999999:function:victim'
    for (const ref of [other, '999999999999:function:victim']) {
      const resolved = await resolveTarget(dir, handle.journal.all(), ref, [])
      expect(resolved.roleSource, ref).toBe('none')
      expect(resolved.snapshotSet, ref).toBeUndefined()
      expect(resolved.target.roles, ref).toEqual([])
      expect(resolved.target.account, ref).toBe('999999999999')
      expect(resolved.namedAccount, ref).toBe('999999999999')
    }
    expect((await resolveTarget(dir, handle.journal.all(), other, [])).target.functionArn).toBe(other)
    // The snapshot's own account (named or not) still gives the role.
    for (const ref of [`arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:victim`, 'victim']) {
      const resolved = await resolveTarget(dir, handle.journal.all(), ref, [])
      expect(resolved.roleSource, ref).toBe('snapshot')
      expect(
        resolved.target.roles.map((r) => r.name),
        ref,
      ).toEqual(['victim-role'])
    }
  })

  it('takes the snapshot of the region --region names; without one, the latest, and says the case holds others', async () => {
    const { ctx, dir, handle, lines } = await timelineContext()
    // twin in us-east-1, then (a newer snapshot) twin in us-west-2: two functions, two roles.
    for (const region of ['us-east-1', 'us-west-2']) {
      const set = await handle.newEvidenceSet()
      await set.writeJson(
        'summary.json',
        {
          functions: [
            {
              name: 'twin',
              arn: `arn:aws:lambda:${region}:${TEST_ACCOUNT}:function:twin`,
              region,
              account: TEST_ACCOUNT,
              role: `arn:aws:iam::${TEST_ACCOUNT}:role/twin-${region}`,
              roleName: `twin-${region}`,
            },
          ],
        },
        { call: 'fir:summary' },
      )
      await set.seal()
    }
    const journal = handle.journal.all()
    const east = await resolveTarget(dir, journal, 'twin', [], { region: 'us-east-1' })
    // Before: us-west-2's (the latest), whatever --region said.
    expect(east.target.roles.map((r) => r.name)).toEqual(['twin-us-east-1'])
    expect(east.target.region).toBe('us-east-1')
    expect(east.target.functionArn).toBe(`arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:twin`)
    const latest = await resolveTarget(dir, journal, 'twin', [])
    expect(latest.target.roles.map((r) => r.name)).toEqual(['twin-us-west-2'])
    expect(latest.snapshotRegions).toEqual(['us-east-1', 'us-west-2'])
    // A region with no snapshot of it: no role from another region's function, and that region.
    const typo = await resolveTarget(dir, journal, 'twin', [], { region: 'eu-wst-1' })
    expect(typo.roleSource).toBe('none')
    expect(typo.target.region).toBe('eu-wst-1')

    const src = join(await tempDir('fir-target-'), 'none.json')
    await writeFile(src, JSON.stringify({ Records: [] }))
    const run = (region?: string) =>
      collectTimeline(ctx, {
        function: 'twin',
        sources: [src],
        ...(region ? { region } : {}),
        since: '2025-03-01T00:00:00Z',
        until: '2025-03-02T00:00:00Z',
        workers: 0,
      })
    const chosen = (await run()).summary
    expect(chosen.function).toMatchObject({ region: 'us-west-2', roles: [{ name: 'twin-us-west-2' }] })
    expect(chosen.notes).toContain(
      "the case holds snapshots of twin in 2 regions (us-east-1, us-west-2): this timeline is of the one in us-west-2 (the latest snapshot); pass --region or the function's full ARN to choose another",
    )
    const named = (await run('us-east-1')).summary
    expect(named.function).toMatchObject({ region: 'us-east-1', roles: [{ name: 'twin-us-east-1' }] })
    expect(named.notes.join('\n')).not.toContain('the case holds snapshots of twin')
    lines.length = 0
    await run('eu-wst-1')
    expect(lines.join('\n')).toContain(
      "no snapshot of twin in eu-wst-1 in this case (it holds snapshots of that name in us-east-1, us-west-2: another region's is another function) and no --role",
    )
    // Before: "run `fir snapshot twin` first": the default region and endpoint, and no case.
    expect(lines.join('\n')).toContain(
      `run \`fir snapshot twin --region eu-wst-1 --endpoint-url http://127.0.0.1:9 --case ${dir}\` first or pass --role`,
    )
  })
})
