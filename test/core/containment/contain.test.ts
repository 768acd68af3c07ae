import { randomBytes } from 'node:crypto'
import {
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam'
import {
  DeleteEventSourceMappingCommand,
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  DeleteFunctionUrlConfigCommand,
  PutFunctionConcurrencyCommand,
  UpdateFunctionConfigurationCommand,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda'
import { CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations'
import { describe, expect, it, vi } from 'vitest'
import { toFir } from '../../../src/base-command.js'
import { sha256Hex } from '../../../src/core/common/hash.js'
import { redactValue } from '../../../src/core/common/redact.js'
import { containFunction, type SnapshotPort } from '../../../src/core/containment/contain.js'
import type { PermissionsState } from '../../../src/core/containment/permissions.js'
import { restoreCase } from '../../../src/core/containment/restore.js'
import { snapshotPort } from '../../../src/core/containment/snapshot-port.js'
import { revokeRoleSessions } from '../../../src/core/credentials/revoke-sessions.js'
import { buildReportModel } from '../../../src/core/report/build.js'
import { viewJournal } from '../../../src/core/report/journal-view.js'
import { snapshotFunctions } from '../../../src/core/snapshot/snapshot.js'
import { CRASH_HOOK_ENV } from '../../../src/core/steps/define-step.js'
import { useMoto } from '../../support/emulator.js'
import { FaultProxy } from '../../support/fault-proxy.js'
import {
  type PermissionSpec,
  PINNED_STATEMENTS,
  publishVersion,
  seedAlias,
  seedCompromisedFunction,
  seedFunction,
  seedFunctionUrl,
  seedPermission,
  seedRole,
  seedSqsMapping,
  TEST_ACCOUNT,
} from '../../support/seed.js'
import { functionState, sdk, testContext } from './state.js'

const moto = useMoto()

const orgs = (endpoint: string) =>
  new OrganizationsClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  })

/** A proxy to moto that denies the removal of the public statement `sid` (access denied). */
function denyingRemovalOf(endpoint: string, sid: string): Promise<FaultProxy> {
  return new FaultProxy(endpoint, {
    rules: [
      {
        match: (req) => req.operation === 'RemovePermission' && req.path.endsWith(`/policy/${sid}`),
        fault: 'access-denied',
      },
    ],
  }).start()
}

function fakeSnapshot(): SnapshotPort & { taken: number } {
  const port = {
    taken: 0,
    existing: async () => null,
    roles: async () => [],
    take: async () => {
      port.taken++
      return 'set-1'
    },
  }
  return port
}

describe('restoring one of two functions that share an execution role', () => {
  it("keeps the role's session revocation while the other is still contained, and lifts it with the other", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'shared-role-sh' })
    for (const name of ['fa-sh', 'fb-sh']) await seedFunction(moto.endpoint(), { name, roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'SH' })
    for (const name of ['fa-sh', 'fb-sh']) {
      await containFunction(ctx, {
        function: name,
        actions: ['throttle', 'sessions'],
        snapshot: fakeSnapshot(),
        confirmed: true,
      })
    }
    const revocation = async () =>
      (await functionState(moto.endpoint(), 'fb-sh', role.name)).roleInlinePolicies['fir-revoke-SH']
    expect(await revocation()).toBeDefined()

    const first = await restoreCase(ctx, {
      function: 'fa-sh',
      actions: ['throttle', 'sessions'],
      confirmed: true,
    })
    const rows = first.results.map((r) => [r.step, r.outcome])
    expect(rows).toContainEqual(['containment.throttle', 'undone'])
    expect(rows).toContainEqual(['containment.sessions', 'skipped'])
    const kept = first.results.find((r) => r.step === 'containment.sessions')!
    expect(JSON.stringify(kept)).toMatch(/it also contains fb-sh \(contained in this case\)/)
    // Kept, so no stolen token becomes valid again: no warning that one would.
    expect(first.warnings).toEqual([])
    // fb-sh is still contained: throttled, and the stolen sessions of its role still revoked.
    expect((await functionState(moto.endpoint(), 'fb-sh', role.name)).reserved).toBe(0)
    expect(await revocation()).toBeDefined()

    const second = await restoreCase(ctx, {
      function: 'fb-sh',
      actions: ['throttle', 'sessions'],
      confirmed: true,
    })
    expect(second.results.map((r) => [r.step, r.outcome])).toEqual(
      expect.arrayContaining([
        ['containment.throttle', 'undone'],
        ['containment.sessions', 'undone'],
      ]),
    )
    expect(await revocation()).toBeUndefined()
  })
})

describe('restoring one function keeps the revocation for every function whose sessions containment holds it', () => {
  const setup = async (caseId: string, roleName: string, names: string[]) => {
    const role = await seedRole(moto.endpoint(), { name: roleName })
    for (const name of names) {
      await seedFunction(moto.endpoint(), { name, roleArn: role.arn })
      await sdk(moto.endpoint()).lambda.send(
        new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 3 }),
      )
    }
    const ctx = await testContext(moto.endpoint(), { caseId })
    const contain = (name: string, actions: ('throttle' | 'sessions')[]) =>
      containFunction(ctx, { function: name, actions, snapshot: fakeSnapshot(), confirmed: true })
    const restore = (name: string, actions: ('throttle' | 'sessions')[]) =>
      restoreCase(ctx, { function: name, actions, confirmed: true })
    const revocation = async () =>
      (await functionState(moto.endpoint(), names[0]!, roleName)).roleInlinePolicies[`fir-revoke-${caseId}`]
    const sessionsRow = (r: Awaited<ReturnType<typeof restore>>) =>
      r.results.find((x) => x.step === 'containment.sessions')
    return { ctx, contain, restore, revocation, sessionsRow }
  }

  it('a function contained only with sessions, or whose other actions were already in place, keeps it; each restore releases its own', async () => {
    const t = await setup('HOLD', 'shared-role-hold', ['fc-hold', 'fd-hold', 'fe-hold'])
    await t.contain('fc-hold', ['throttle', 'sessions'])
    await t.contain('fd-hold', ['sessions'])
    // fe-hold is throttled already (another case did it): its throttle is already-applied, no change.
    await sdk(moto.endpoint()).lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: 'fe-hold', ReservedConcurrentExecutions: 0 }),
    )
    const fe = await t.contain('fe-hold', ['throttle', 'sessions'])
    expect(fe.results.map((r) => [r.step, r.outcome])).toEqual([
      ['containment.throttle', 'already-applied'],
      ['containment.sessions', 'applied'],
    ])

    const plan = await restoreCase(t.ctx, { function: 'fc-hold', actions: ['sessions'], dryRun: true })
    expect(t.sessionsRow(plan)!.outcome).toBe('skipped')
    const c = await t.restore('fc-hold', ['throttle', 'sessions'])
    expect(c.results.map((r) => [r.step, r.outcome])).toEqual(
      expect.arrayContaining([
        ['containment.throttle', 'undone'],
        ['containment.sessions', 'skipped'],
      ]),
    )
    expect(t.sessionsRow(c)!.notes.join(' ')).toMatch(
      /it also contains fd-hold, fe-hold \(contained in this case\)/,
    )
    expect(c.warnings).toEqual([])
    expect(await t.revocation()).toBeDefined()

    // fc-hold is restored and released its share: fd-hold now keeps it for fe-hold alone.
    const d = await t.restore('fd-hold', ['sessions'])
    expect(d.results.map((r) => [r.step, r.outcome])).toEqual([['containment.sessions', 'skipped']])
    expect(t.sessionsRow(d)!.notes.join(' ')).toMatch(/it also contains fe-hold \(/)
    expect(await t.revocation()).toBeDefined()

    // The last function holding it lifts it, with the warning.
    const e = await t.restore('fe-hold', ['throttle', 'sessions'])
    expect(t.sessionsRow(e)!.outcome).toBe('undone')
    expect(e.warnings).toEqual([expect.stringMatching(/valid again/)])
    expect(await t.revocation()).toBeUndefined()
    await t.ctx.case.close()
  })

  it('a function whose revocation was restored keeps it for no one, though its throttle is still in force', async () => {
    // Before: fa (throttle + sessions) restored --actions sessions kept it for fb; fb restored
    // --actions sessions kept it for fa (still throttled): skipped both ways, for good.
    const t = await setup('HOLD3', 'shared-role-hold3', ['fa-hold3', 'fb-hold3'])
    await t.contain('fa-hold3', ['sessions', 'throttle'])
    await t.contain('fb-hold3', ['sessions'])
    const a = await t.restore('fa-hold3', ['sessions'])
    expect(t.sessionsRow(a)!.outcome).toBe('skipped')
    expect(await t.revocation()).toBeDefined()
    const b = await t.restore('fb-hold3', ['sessions'])
    expect(t.sessionsRow(b)!.outcome).toBe('undone')
    expect(await t.revocation()).toBeUndefined()
    await t.ctx.case.close()
  })

  it('in the reverse order too: the sessions-only function restored first keeps it for the other, which then lifts it', async () => {
    const t = await setup('HOLD2', 'shared-role-hold2', ['fc-hold2', 'fd-hold2'])
    await t.contain('fc-hold2', ['throttle', 'sessions'])
    await t.contain('fd-hold2', ['sessions'])
    const d = await t.restore('fd-hold2', ['sessions'])
    expect(d.results.map((r) => [r.step, r.outcome])).toEqual([['containment.sessions', 'skipped']])
    expect(t.sessionsRow(d)!.notes.join(' ')).toMatch(/it also contains fc-hold2 \(/)
    expect(await t.revocation()).toBeDefined()
    const c = await t.restore('fc-hold2', ['throttle', 'sessions'])
    expect(t.sessionsRow(c)!.outcome).toBe('undone')
    expect(await t.revocation()).toBeUndefined()
    await t.ctx.case.close()
  })
})

describe("a function whose execution role was swapped since the case's snapshot", () => {
  it('is contained with the sessions of the role the snapshot recorded revoked too, said in a warning; restore lifts both', async () => {
    // Before: contain revoked only the live (attacker's) role, without a word, and the role whose
    // credentials were stolen kept its sessions.
    const role = await seedRole(moto.endpoint(), { name: 'rs-role' })
    await seedFunction(moto.endpoint(), { name: 'rs-fn', roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RS' })
    const { set } = await snapshotFunctions(ctx, { functions: ['rs-fn'] })
    const evil = await seedRole(moto.endpoint(), { name: 'rs-evil' })
    await sdk(moto.endpoint()).lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'rs-fn', Role: evil.arn }),
    )
    const head = `role swap: function rs-fn runs with role rs-evil now, but the case's snapshot recorded role rs-role (evidence/${set}): its execution role was changed since (an attacker's technique; look for UpdateFunctionConfiguration with a role in the timeline). Credentials stolen from the function before the swap are sessions of rs-role`
    const revocation = async (roleName: string) =>
      (await functionState(moto.endpoint(), 'rs-fn', roleName)).roleInlinePolicies['fir-revoke-RS']

    // Without sessions among the actions: the command that revokes them.
    const held = await containFunction(ctx, {
      function: 'rs-fn',
      actions: ['throttle'],
      snapshot: snapshotPort,
      dryRun: true,
    })
    expect(held.warnings).toEqual([
      `${head}, and this run revokes no sessions (sessions is not among its actions): revoke them with \`fir creds revoke-sessions --role rs-role --yes --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir}\``,
    ])
    expect(held.plans.map((r) => r.step)).toEqual(['containment.throttle'])

    const r = await containFunction(ctx, {
      function: 'rs-fn',
      actions: ['throttle', 'sessions'],
      snapshot: snapshotPort,
      confirmed: true,
    })
    expect(r.warnings).toEqual([`${head}: contain revokes the sessions of rs-role too (a row per role)`])
    expect(ctx.infos).toContain(`warning: ${r.warnings[0]}`)
    expect(r.swappedRoles).toEqual([{ arn: role.arn, name: 'rs-role', sets: [set] }])
    expect(r.plans.map((x) => [x.step, x.label, x.outcome])).toEqual([
      ['containment.throttle', 'rs-fn', 'would-apply'],
      ['containment.sessions', 'rs-evil', 'would-apply'],
      ['containment.sessions', 'rs-role', 'would-apply'],
    ])
    expect(r.results.map((x) => [x.step, x.label, x.outcome])).toEqual([
      ['containment.throttle', 'rs-fn', 'applied'],
      ['containment.sessions', 'rs-evil', 'applied'],
      ['containment.sessions', 'rs-role', 'applied'],
    ])
    expect(await revocation('rs-evil')).toBeDefined()
    expect(await revocation('rs-role')).toBeDefined()
    const report = async () => buildReportModel(ctx.case.dir, { verify: false, firVersion: '0.1.0' })
    const contained = await report()
    expect(contained.summary.status.code).toBe('contained')
    expect(contained.summary.status.inForce).toHaveLength(3)
    expect(contained.limits.items.map((l) => l.title)).not.toContain(
      'Stolen role credentials were not revoked',
    )

    // Restoring the function keeps both unless named, then lifts both.
    const kept = await restoreCase(ctx, { function: 'rs-fn', confirmed: true })
    expect(kept.results.map((x) => [x.step, x.label, x.outcome])).toEqual(
      expect.arrayContaining([
        ['containment.throttle', 'rs-fn', 'undone'],
        ['containment.sessions', 'rs-evil', 'skipped'],
        ['containment.sessions', 'rs-role', 'skipped'],
      ]),
    )
    const lifted = await restoreCase(ctx, { function: 'rs-fn', actions: ['sessions'], confirmed: true })
    expect(lifted.results.map((x) => [x.step, x.label, x.outcome]).sort()).toEqual([
      ['containment.sessions', 'rs-evil', 'undone'],
      ['containment.sessions', 'rs-role', 'undone'],
    ])
    expect(lifted.warnings).toEqual([expect.stringMatching(/valid again/)])
    expect(await revocation('rs-evil')).toBeUndefined()
    expect(await revocation('rs-role')).toBeUndefined()
    const restored = await report()
    expect(restored.summary.status.code).toBe('restored')
    expect(restored.summary.status.detail).toMatch(/undone \(3\)/)

    // Contained again, restoring the case lifts both too.
    const again = await containFunction(ctx, {
      function: 'rs-fn',
      actions: ['sessions'],
      snapshot: snapshotPort,
      confirmed: true,
    })
    expect(again.results.map((x) => [x.label, x.outcome])).toEqual([
      ['rs-evil', 'applied'],
      ['rs-role', 'applied'],
    ])
    const whole = await restoreCase(ctx, { actions: ['sessions'], confirmed: true })
    expect(whole.results.map((x) => [x.label, x.outcome]).sort()).toEqual([
      ['rs-evil', 'undone'],
      ['rs-role', 'undone'],
    ])
    expect(await revocation('rs-evil')).toBeUndefined()
    expect(await revocation('rs-role')).toBeUndefined()
    expect((await report()).summary.status.code).toBe('restored')
    await ctx.case.close()
  })

  it('a published version that runs with an older role is no swap: contain says the version runs with it, and revokes its sessions too', async () => {
    // Before: a snapshot of version 1 (--qualifier 1), whose role is older than $LATEST's, made
    // contain warn "role swap: … its execution role was changed since" though nothing was swapped.
    const old = await seedRole(moto.endpoint(), { name: 'pv-old' })
    const role = await seedRole(moto.endpoint(), { name: 'pv-role' })
    await seedFunction(moto.endpoint(), { name: 'pv-fn', roleArn: old.arn })
    expect(await publishVersion(moto.endpoint(), 'pv-fn')).toBe('1')
    const { lambda } = sdk(moto.endpoint())
    // A deploy that changed the role, well before the incident: $LATEST's role at the snapshot.
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'pv-fn', Role: role.arn }))
    const ctx = await testContext(moto.endpoint(), { caseId: 'PV' })
    const { set } = await snapshotFunctions(ctx, { functions: ['pv-fn'], qualifier: '1' })
    const head = `published version: function pv-fn runs with role pv-role, but its published version 1 runs with role pv-old (as evidence/${set} recorded): a version keeps the execution role it was published with (no swap), and invoking it uses that role's credentials, so credentials stolen from the function may be sessions of pv-old`

    const held = await containFunction(ctx, {
      function: 'pv-fn',
      actions: ['throttle'],
      snapshot: snapshotPort,
      dryRun: true,
    })
    expect(held.warnings).toEqual([
      `${head}, and this run revokes no sessions (sessions is not among its actions): revoke them with \`fir creds revoke-sessions --role pv-old --yes --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir}\``,
    ])
    expect(held.swappedRoles).toEqual([])
    expect(held.versionRoles).toEqual([
      { arn: old.arn, name: 'pv-old', versions: ['1'], gone: [], sets: [set] },
    ])

    const r = await containFunction(ctx, {
      function: 'pv-fn',
      actions: ['sessions'],
      snapshot: snapshotPort,
      confirmed: true,
    })
    expect(r.warnings).toEqual([`${head}: contain revokes the sessions of pv-old too (a row per role)`])
    expect(r.results.map((x) => [x.step, x.label, x.outcome])).toEqual([
      ['containment.sessions', 'pv-role', 'applied'],
      ['containment.sessions', 'pv-old', 'applied'],
    ])

    // Version 1 deleted since: the snapshot's version is gone, and stolen credentials are still
    // sessions of its role.
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'pv-fn', Qualifier: '1' }))
    const gone = await containFunction(ctx, {
      function: 'pv-fn',
      actions: ['sessions'],
      snapshot: snapshotPort,
      dryRun: true,
    })
    expect(gone.versionRoles).toEqual([
      { arn: old.arn, name: 'pv-old', versions: [], gone: ['1'], sets: [set] },
    ])
    expect(gone.warnings).toEqual([
      `published version: function pv-fn runs with role pv-role, but its published version 1, which ran with role pv-old (as evidence/${set} recorded), is no longer there: credentials stolen from it are sessions of pv-old: contain would revoke the sessions of pv-old too (a row per role)`,
    ])
    expect(gone.plans.map((x) => [x.label, x.outcome])).toEqual([
      ['pv-role', 'already-applied'],
      ['pv-old', 'already-applied'],
    ])
    await ctx.case.close()
  })

  it('whose recorded role was deleted since: contain says it has no sessions left to revoke, not a failure, and the report does not advise revoking it', async () => {
    // Before: the row for the deleted role failed on every run ("unable to read role …: account …
    // has no IAM role named …", target the function), a gap and exit 4, and the report called the
    // function partially contained and advised revoking the sessions of a role that is no more.
    const role = await seedRole(moto.endpoint(), { name: 'rd-role' })
    await seedFunction(moto.endpoint(), { name: 'rd-fn', roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RD' })
    await snapshotFunctions(ctx, { functions: ['rd-fn'] })
    const evil = await seedRole(moto.endpoint(), { name: 'rd-evil' })
    const { lambda, iam } = sdk(moto.endpoint())
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'rd-fn', Role: evil.arn }))
    for (const name of (await iam.send(new ListRolePoliciesCommand({ RoleName: role.name }))).PolicyNames ??
      [])
      await iam.send(new DeleteRolePolicyCommand({ RoleName: role.name, PolicyName: name }))
    await iam.send(new DeleteRoleCommand({ RoleName: role.name }))
    const note =
      'role rd-role was deleted since: it has no sessions left to revoke (a deleted role grants its sessions nothing)'
    const contain = (dryRun: boolean) =>
      containFunction(ctx, {
        function: 'rd-fn',
        actions: ['throttle', 'sessions'],
        snapshot: snapshotPort,
        confirmed: true,
        dryRun,
      })
    const plan = await contain(true)
    const first = await contain(false)
    const again = await contain(false)
    // The warning says the recorded role is gone, not that contain revokes its sessions too.
    for (const run of [plan, first])
      expect(run.warnings).toEqual([
        expect.stringMatching(/; rd-role was deleted since: no sessions left to revoke$/),
      ])
    const rows = (runs: string) => [
      ['containment.throttle', 'rd-fn', runs],
      ['containment.sessions', 'rd-evil', runs],
      ['containment.sessions', 'rd-role', 'skipped', role.arn, [note]],
    ]
    const table = (run: typeof plan) =>
      run.results.map((x) =>
        x.label === 'rd-role'
          ? [x.step, x.label, x.outcome, x.target, x.notes]
          : [x.step, x.label, x.outcome],
      )
    expect(table(plan)).toEqual(rows('would-apply'))
    expect(table(first)).toEqual(rows('applied'))
    expect(table(again)).toEqual(rows('already-applied'))
    // (The snapshot's gap is moto's: it has no provisioned concurrency API.)
    expect(ctx.gaps.list.filter((g) => g.call.startsWith('containment.'))).toEqual([])
    const skipped = ctx.case.journal.all().filter((e) => e.outcome === 'skipped')
    expect(skipped.map((e) => [e.action, e.target, e.params.gone, e.notes])).toEqual([
      ['containment.sessions', role.arn, true, [note]],
      ['containment.sessions', role.arn, true, [note]],
    ])
    const model = await buildReportModel(ctx.case.dir, { verify: false, firVersion: '0.1.0' })
    expect(model.summary.status.code).toBe('contained')
    expect(JSON.stringify(model)).not.toMatch(/revoke-sessions --role rd-role/)
    expect(model.limits.items.map((l) => l.title)).toContain('Role deleted before containment')
    expect(model.limits.items.map((l) => l.title)).not.toContain('Stolen role credentials were not revoked')
    await ctx.case.close()
  })
})

describe('fir creds revoke-sessions and contain --actions sessions put one revocation', () => {
  type Doc = { Statement: { Condition: { DateLessThan: Record<string, string> } }[] }
  const cutoffOn = async (fn: string, role: string, caseId: string) => {
    const doc = (await functionState(moto.endpoint(), fn, role)).roleInlinePolicies[`fir-revoke-${caseId}`]
    return doc ? (doc as Doc).Statement[0]!.Condition.DateLessThan['aws:TokenIssueTime']! : null
  }
  const sessionsOnly = (ctx: Awaited<ReturnType<typeof testContext>>, name: string, dryRun = false) =>
    containFunction(ctx, { function: name, actions: ['sessions'], snapshot: fakeSnapshot(), dryRun })

  it("contain after revoke-sessions is already-applied and keeps the cutoff; restoring one function keeps the role's revocation, restoring the case lifts it", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'rv-first-role' })
    for (const name of ['rv-a', 'rv-b']) await seedFunction(moto.endpoint(), { name, roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RV1' })
    const revoked = await revokeRoleSessions(ctx, { role: role.name, confirmed: true })
    expect(revoked.results[0]!.outcome).toBe('applied')
    const first = await cutoffOn('rv-a', role.name, 'RV1')
    expect(first).not.toBeNull()
    await new Promise((r) => setTimeout(r, 1100)) // the cutoff has whole seconds

    const plan = await sessionsOnly(ctx, 'rv-a', true)
    expect(plan.plans[0]!.outcome).toBe('already-applied')
    for (const name of ['rv-a', 'rv-b']) {
      const mark = ctx.aws.requestLog.length
      const r = await sessionsOnly(ctx, name)
      expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.sessions', 'already-applied']])
      expect(ctx.aws.requestLog.slice(mark).map((x) => x.operation)).not.toContain('PutRolePolicy')
      expect(await cutoffOn(name, role.name, 'RV1')).toBe(first)
    }

    // The revocation was asked for the whole role: restoring one function does not lift it.
    const lift = `fir restore --actions sessions --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir}`
    const kept = `kept: fir creds revoke-sessions revoked the sessions of role ${role.name} in this case, for every user of the role, and no restore of a function lifts it; to lift it (with every other session revocation of the case): ${lift}`
    const one = await restoreCase(ctx, { function: 'rv-a', actions: ['sessions'], confirmed: true })
    expect(one.results.map((r) => [r.step, r.outcome])).toEqual([['credentials.revoke-sessions', 'skipped']])
    expect(one.results[0]!.notes).toEqual([kept])
    expect(one.warnings).toEqual([]) // nothing becomes valid again
    expect(await cutoffOn('rv-a', role.name, 'RV1')).toBe(first)
    // Not selected, it is said the same: before, "restore undoes it only when named (--actions
    // sessions)", though naming it with the function keeps it all the same.
    const unnamed = await restoreCase(ctx, { function: 'rv-b', confirmed: true })
    expect(unnamed.results.map((r) => [r.step, r.outcome, r.notes])).toEqual([
      ['credentials.revoke-sessions', 'skipped', [kept]],
    ])

    const all = await restoreCase(ctx, { actions: ['sessions'], confirmed: true })
    expect(all.warnings).toEqual([expect.stringMatching(/valid again/)])
    expect(all.results.map((r) => [r.step, r.outcome, r.afterText])).toEqual([
      ['credentials.revoke-sessions', 'undone', 'no fir-revoke-RV1 policy'],
    ])
    expect(await cutoffOn('rv-a', role.name, 'RV1')).toBeNull()
    await ctx.case.close()
  })

  it("restoring a function names a revocation asked for its role by name, which its containment did not make, and the command that lifts it; another role's is not its", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'rv-named-role' })
    const other = await seedRole(moto.endpoint(), { name: 'rv-other-role' })
    await seedFunction(moto.endpoint(), { name: 'rv-named', roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RV5' })
    for (const r of [role, other]) await revokeRoleSessions(ctx, { role: r.name, confirmed: true })
    // Contained without sessions: the case's snapshot (taken first) records its role.
    await containFunction(ctx, {
      function: 'rv-named',
      actions: ['throttle'],
      snapshot: snapshotPort,
      confirmed: true,
    })
    const lift = `fir restore --actions sessions --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir}`
    const kept = `kept: fir creds revoke-sessions revoked the sessions of role ${role.name} in this case, for every user of the role, and no restore of a function lifts it; to lift it (with every other session revocation of the case): ${lift}`

    // Before: only "containment.throttle: not selected by --actions", nothing of the revocation.
    const named = await restoreCase(ctx, { function: 'rv-named', actions: ['sessions'], confirmed: true })
    expect(named.results.map((r) => [r.step, r.label, r.outcome, r.notes])).toEqual([
      ['containment.throttle', 'rv-named', 'skipped', ['not selected by --actions']],
      ['credentials.revoke-sessions', role.name, 'skipped', [kept]],
    ])
    expect(named.warnings).toEqual([])
    expect(await cutoffOn('rv-named', role.name, 'RV5')).not.toBeNull()

    // Before: the throttle alone, the revocation passed over in silence.
    const unnamed = await restoreCase(ctx, { function: 'rv-named', confirmed: true })
    expect(unnamed.results.map((r) => [r.step, r.outcome, r.notes])).toEqual([
      ['containment.throttle', 'undone', []],
      ['credentials.revoke-sessions', 'skipped', [kept]],
    ])

    // The command it gives lifts it (and the other role's).
    const all = await restoreCase(ctx, { actions: ['sessions'], confirmed: true })
    expect(all.results.map((r) => [r.step, r.label, r.outcome])).toEqual([
      ['credentials.revoke-sessions', other.name, 'undone'],
      ['credentials.revoke-sessions', role.name, 'undone'],
    ])
    await ctx.case.close()
  })

  it('revoke-sessions after contain is already-applied; after --renew, restoring the case puts back the state before either (no conflict)', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'rv-second-role' })
    await seedFunction(moto.endpoint(), { name: 'rv-c', roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RV2' })
    expect((await sessionsOnly(ctx, 'rv-c')).results[0]!.outcome).toBe('applied')
    const first = await cutoffOn('rv-c', role.name, 'RV2')
    await new Promise((r) => setTimeout(r, 1100))
    const again = await revokeRoleSessions(ctx, { role: role.name, confirmed: true })
    expect(again.results[0]!.outcome).toBe('already-applied')
    expect(await cutoffOn('rv-c', role.name, 'RV2')).toBe(first)
    const renewed = await revokeRoleSessions(ctx, { role: role.name, renew: true, confirmed: true })
    expect(renewed.results[0]!.outcome).toBe('applied')
    expect(Date.parse((await cutoffOn('rv-c', role.name, 'RV2'))!)).toBeGreaterThan(Date.parse(first!))

    // The renewal was made for the role by name: restoring the function keeps it, and says how.
    const one = await restoreCase(ctx, { function: 'rv-c', actions: ['sessions'], confirmed: true })
    expect(one.results.map((r) => r.outcome)).toEqual(['skipped'])
    expect(await cutoffOn('rv-c', role.name, 'RV2')).not.toBeNull()
    const all = await restoreCase(ctx, { actions: ['sessions'], confirmed: true })
    expect(all.results.map((r) => [r.outcome, r.afterText])).toEqual([['undone', 'no fir-revoke-RV2 policy']])
    expect(await cutoffOn('rv-c', role.name, 'RV2')).toBeNull()
    await ctx.case.close()
  })

  /** A fir-revoke-<case id> policy this case did not put: a 2019 cutoff, so every later session works. */
  const OLD_REVOCATION = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': '2019-01-01T00:00:00Z' } },
      },
    ],
  }
  const putOldRevocation = (role: string, caseId: string) =>
    sdk(moto.endpoint()).iam.send(
      new PutRolePolicyCommand({
        RoleName: role,
        PolicyName: `fir-revoke-${caseId}`,
        PolicyDocument: JSON.stringify(OLD_REVOCATION),
      }),
    )

  it("a policy of that name this case's journal does not record (an earlier incident's, cutoff 2019) is not already-applied: the cutoff moves to now, the note says whose it is not, and restore puts it back", async () => {
    const role = await seedRole(moto.endpoint(), {
      name: 'rv-stale-role',
      inline: { 'fir-revoke-RV3': OLD_REVOCATION },
    })
    await seedFunction(moto.endpoint(), { name: 'rv-d', roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RV3' })

    const plan = await revokeRoleSessions(ctx, { role: role.name, dryRun: true })
    expect(plan.results[0]!.outcome).toBe('would-apply')
    const revoked = await revokeRoleSessions(ctx, { role: role.name, confirmed: true })
    expect(revoked.results[0]!.outcome).toBe('applied')
    const cutoff = await cutoffOn('rv-d', role.name, 'RV3')
    expect(Date.parse(cutoff!)).toBeGreaterThan(Date.now() - 60_000)
    expect(revoked.results[0]!.notes).toContainEqual(
      expect.stringMatching(
        /^policy fir-revoke-RV3 was already on the role, not put there by this case .*its cutoff is 2019-01-01T00:00:00Z: every session issued since then still works/,
      ),
    )
    const started = ctx.case.journal.all().find((e) => e.outcome === 'started')!
    expect((started.prior as { document: unknown }).document).toEqual(OLD_REVOCATION)

    // Now it is this case's: a re-run keeps it, and so does contain of a function on the role.
    const mark = ctx.aws.requestLog.length
    const again = await revokeRoleSessions(ctx, { role: role.name, confirmed: true })
    expect(again.results[0]!.outcome).toBe('already-applied')
    expect(again.results[0]!.notes.join(' ')).not.toMatch(/not put there by this case/)
    expect((await sessionsOnly(ctx, 'rv-d')).results[0]!.outcome).toBe('already-applied')
    expect(ctx.aws.requestLog.slice(mark).map((x) => x.operation)).not.toContain('PutRolePolicy')
    expect(await cutoffOn('rv-d', role.name, 'RV3')).toBe(cutoff)

    // Restore puts back the document that was there, not nothing.
    const all = await restoreCase(ctx, { actions: ['sessions'], confirmed: true })
    expect(all.results.map((r) => r.outcome)).toEqual(['undone'])
    expect((await functionState(moto.endpoint(), 'rv-d', role.name)).roleInlinePolicies).toEqual({
      'fir-revoke-RV3': OLD_REVOCATION,
    })
    await ctx.case.close()
  })

  it("a foreign policy of that name with a cutoff still to come is said to deny every session, and fir's cutoff of now to loosen it", async () => {
    const future = JSON.parse(JSON.stringify(OLD_REVOCATION).replace('2019-01-01', '2099-01-01'))
    const role = await seedRole(moto.endpoint(), {
      name: 'rv-future-role',
      inline: { 'fir-revoke-RV9': future },
    })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RV9' })
    const revoked = await revokeRoleSessions(ctx, { role: role.name, confirmed: true })
    // Before: "its cutoff is 2099-01-01T00:00:00Z: every session issued since then still works".
    expect(revoked.results[0]!.notes).toContainEqual(
      expect.stringContaining(
        "its cutoff is 2099-01-01T00:00:00Z, still to come: it denies every session of the role, new ones too (a function on the role cannot run with AWS credentials); fir's, with a cutoff of now, lets sessions issued from now on work again",
      ),
    )
    await ctx.case.close()
  })

  it("one someone put over this case's revocation since is not already-applied either, for contain or revoke-sessions; restore puts theirs back", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'rv-planted-role' })
    await seedFunction(moto.endpoint(), { name: 'rv-e', roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'RV4' })
    expect((await sessionsOnly(ctx, 'rv-e')).results[0]!.outcome).toBe('applied')

    // Someone who can write to the role puts the 2019 cutoff back over fir's revocation.
    await putOldRevocation(role.name, 'RV4')
    const contained = await sessionsOnly(ctx, 'rv-e')
    expect(contained.results[0]!.outcome).toBe('applied')
    expect(contained.results[0]!.notes).toContainEqual(
      expect.stringMatching(/changed by someone else since this case's change/),
    )
    expect(await cutoffOn('rv-e', role.name, 'RV4')).not.toBe('2019-01-01T00:00:00Z')
    // Put back again: now it is the document this case's (superseding) revocation found.
    await putOldRevocation(role.name, 'RV4')
    const revoked = await revokeRoleSessions(ctx, { role: role.name, confirmed: true })
    expect(revoked.results[0]!.outcome).toBe('applied')
    expect(revoked.results[0]!.notes).toContainEqual(
      expect.stringMatching(
        /is the one that was there before this case's revocation \(journal #\d+\), put back since; its cutoff is 2019-01-01T00:00:00Z/,
      ),
    )
    expect(await cutoffOn('rv-e', role.name, 'RV4')).not.toBe('2019-01-01T00:00:00Z')
    expect((await revokeRoleSessions(ctx, { role: role.name, confirmed: true })).results[0]!.outcome).toBe(
      'already-applied',
    )

    const all = await restoreCase(ctx, { actions: ['sessions'], confirmed: true })
    expect(all.results.map((r) => r.outcome)).toEqual(['undone'])
    expect((await functionState(moto.endpoint(), 'rv-e', role.name)).roleInlinePolicies).toEqual({
      'fir-revoke-RV4': OLD_REVOCATION,
    })
    await ctx.case.close()
  })
})

describe('a role at its inline policy size limit', () => {
  it('revoking its sessions fails at once, naming the limit, and says how to make room or put the same document in a managed policy', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'rv-full-role' })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'PutRolePolicy', fault: 'limit-exceeded' }],
    }).start()
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'RVQ' })
      // (This context makes one attempt a call: that a quota is not retried is checked in
      // test/aws/clients.test.ts.)
      const r = await revokeRoleSessions(ctx, { role: role.name, confirmed: true })
      const row = r.results[0]!
      expect(row.outcome).toBe('failed')
      // Before: "unable to put policy …: LimitExceededException: …", no word of the limit.
      expect(row.error).toMatchObject({ code: 'limit-exceeded' })
      expect(row.error!.message).toMatch(
        /^unable to put policy fir-revoke-RVQ on role rv-full-role: the role is at IAM's inline policy size limit: all of a role's inline policies together may hold 10,240 characters/,
      )
      expect(ctx.gaps.list).toEqual([expect.objectContaining({ reason: row.error!.message })])
      // The way out, with the very document fir meant to put (its cutoff), as a command to paste.
      const started = ctx.case.journal.all().find((e) => e.outcome === 'started')!
      const doc = (started.undo as { intendedAfter: { document: unknown } }).intendedAfter.document
      const flags = `--region us-east-1 --endpoint-url ${proxy.endpoint}`
      const account = role.arn.split(':')[4]
      const [room, managed] = row.notes.slice(-2)
      expect(room).toBe(
        `role rv-full-role has no room for the revocation (IAM allows 10,240 characters for all of a role's inline policies together): make room by deleting or shortening an inline policy it does not need (aws iam list-role-policies --role-name rv-full-role ${flags} lists them), then run this command again`,
      )
      const commands =
        /^or revoke the sessions now with a managed policy holding the same document \(fir does not journal it: fir restore will not remove it, so detach and delete it by hand when the incident is over\): aws iam create-policy --policy-name fir-revoke-RVQ --policy-document '([^']+)' (.+) then (.+)$/.exec(
          managed!,
        )
      expect(commands).not.toBeNull()
      expect(JSON.parse(commands![1]!)).toEqual(doc)
      expect([commands![2], commands![3]]).toEqual([
        flags,
        `aws iam attach-role-policy --role-name rv-full-role --policy-arn arn:aws:iam::${account}:policy/fir-revoke-RVQ ${flags}`,
      ])
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })
})

describe('recycle under two cases whose ids share a prefix', () => {
  it("recycles for INC-2 after INC-20 stamped the function: another case's stamp is not its own", async () => {
    const role = await seedRole(moto.endpoint(), { name: 'rc2-role' })
    await seedFunction(moto.endpoint(), { name: 'rc2', roleArn: role.arn })
    const long = await testContext(moto.endpoint(), { caseId: 'INC-20' })
    const short = await testContext(moto.endpoint(), { caseId: 'INC-2' })
    const recycle = (ctx: typeof long) =>
      containFunction(ctx, { function: 'rc2', actions: ['recycle'], snapshot: fakeSnapshot() })
    expect((await recycle(long)).results.map((r) => r.outcome)).toEqual(['applied'])
    // Before: already-applied, nothing recycled and nothing journaled for INC-2.
    expect((await recycle(short)).results.map((r) => r.outcome)).toEqual(['applied'])
    expect((await functionState(moto.endpoint(), 'rc2', role.name)).description).toMatch(
      /^fir: recycled by case INC-2 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    )
    expect(
      short.case.journal
        .all()
        .filter((e) => e.action === 'containment.recycle')
        .map((e) => e.outcome),
    ).toEqual(['started', 'applied'])
    // Its own stamp is its own: a re-run changes nothing.
    expect((await recycle(short)).results.map((r) => r.outcome)).toEqual(['already-applied'])
    await long.case.close()
    await short.case.close()
  })
})

describe('a value a sweep of the case declared leaked', () => {
  it('is redacted in what containment journals, though no snapshot of the function holds it yet', async () => {
    const leaked = 'amber owl at midnight'
    const role = await seedRole(moto.endpoint(), { name: 'lk-role' })
    await seedFunction(moto.endpoint(), {
      name: 'lk',
      roleArn: role.arn,
      env: { GREETING: leaked },
      description: `hello ${leaked}`,
    })
    const ctx = await testContext(moto.endpoint(), { caseId: 'LK' })
    await ctx.case.journal.append({
      action: 'sweep.start',
      target: TEST_ACCOUNT,
      params: { indicators: { envValueSha256: [sha256Hex(leaked)] } },
      outcome: 'recorded',
    })
    await containFunction(ctx, { function: 'lk', actions: ['recycle'], snapshot: fakeSnapshot() })
    const started = ctx.case.journal
      .all()
      .find((e) => e.action === 'containment.recycle' && e.outcome === 'started')!
    // Before: the prior description was journaled with the leaked value in clear.
    expect(JSON.stringify(started.prior)).toContain(`hello ${redactValue(leaked)}`)
    await ctx.case.close()
  })
})

/**
 * Runs `run` with the test-only crash hook armed at `point` (FIR_TEST_CRASH_AFTER): where a fir
 * process kills itself (SIGKILL) right after that change, before its outcome is journaled, the
 * call throws instead, in process — the journal and AWS are left as a killed run leaves them.
 */
async function killedAt(point: string, run: () => Promise<unknown>): Promise<void> {
  const killed = new Error(`killed at ${point}`)
  const real = process.kill.bind(process)
  const kill = vi.spyOn(process, 'kill').mockImplementation((pid, signal) => {
    if (pid === process.pid && signal === 'SIGKILL') throw killed
    return real(pid, signal)
  })
  const armed = process.env[CRASH_HOOK_ENV]
  process.env[CRASH_HOOK_ENV] = point
  try {
    await expect(run()).rejects.toBe(killed)
  } finally {
    if (armed === undefined) delete process.env[CRASH_HOOK_ENV]
    else process.env[CRASH_HOOK_ENV] = armed
    kill.mockRestore()
  }
}

describe('containment steps against moto', () => {
  it('contains, re-runs as already-applied, restores every field, keeps the revocation', async () => {
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const before = await functionState(moto.endpoint(), s.functionName, s.role.name)
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-1' })
    const snap = fakeSnapshot()
    const first = await containFunction(ctx, { function: s.functionName, snapshot: snap })
    expect(snap.taken).toBe(1)
    expect(first.results.map((r) => [r.step, r.outcome])).toEqual([
      ['containment.event-sources', 'applied'],
      ['containment.throttle', 'applied'],
      ['containment.url', 'applied'],
      ['containment.permissions', 'applied'],
      ['containment.sessions', 'applied'],
      ['containment.recycle', 'applied'],
    ])
    const contained = await functionState(moto.endpoint(), s.functionName, s.role.name)
    expect(contained.reserved).toBe(0)
    expect(Object.values(contained.mappings)).toEqual(['Disabled'])
    expect(contained.urls.$LATEST).toBe('AWS_IAM')
    expect(Object.keys(contained.statements)).toEqual([s.statements.apiGatewayScoped])
    expect(contained.description).toMatch(/^fir: recycled by case C-1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const revoke = contained.roleInlinePolicies['fir-revoke-C-1'] as { Statement: { Condition: unknown }[] }
    expect(revoke.Statement[0]!.Condition).toEqual({
      DateLessThan: { 'aws:TokenIssueTime': expect.stringMatching(/Z$/) },
    })

    const mark = ctx.aws.requestLog.length
    const second = await containFunction(ctx, { function: s.functionName, snapshot: snap })
    expect(second.results.every((r) => r.outcome === 'already-applied')).toBe(true)
    const ops = ctx.aws.requestLog.slice(mark).map((r) => r.operation)
    expect(ops.filter((o) => !/^(Get|List)/.test(o))).toEqual([])

    const restored = await restoreCase(ctx, {})
    expect(restored.results.map((r) => [r.step, r.outcome])).toEqual([
      ['containment.recycle', 'undone'],
      ['containment.sessions', 'skipped'],
      ['containment.permissions', 'undone'],
      ['containment.url', 'undone'],
      ['containment.throttle', 'undone'],
      ['containment.event-sources', 'undone'],
    ])
    // the responder is told the function is public again, and by what
    expect(restored.warnings.filter((w) => w.startsWith('reachable'))).toEqual([
      `reachable from outside the account again: ${s.functionName} (public statements ${s.statements.publicUrl}, ${s.statements.publicInvoke}; function URLs of $LATEST, live, previous with AuthType NONE). Restore put back what containment had closed; if the code is not known clean, close it again: \`fir contain ${s.functionArn} --actions url,permissions --yes --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir}\``,
    ])
    const after = await functionState(moto.endpoint(), s.functionName, s.role.name)
    const { 'fir-revoke-C-1': added, ...rest } = after.roleInlinePolicies
    expect(added).toBeDefined()
    expect({ ...after, roleInlinePolicies: rest }).toEqual(before)

    // a second restore has nothing left to undo
    const again = await restoreCase(ctx, {})
    expect(again.results.filter((r) => r.outcome !== 'skipped')).toEqual([])
    expect(again.warnings).toEqual([])
    await ctx.case.close()
  })

  it('stopped by a full disk as a step journals its outcome: the error (exit 2) names the changes in force and the one under way', async () => {
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-FULL' })
    // The disk fills up as url's outcome is journaled: its change is made, and the two before it.
    const append = ctx.case.journal.append.bind(ctx.case.journal)
    vi.spyOn(ctx.case.journal, 'append').mockImplementation((entry) =>
      entry.action === 'containment.url' && entry.outcome === 'applied'
        ? Promise.reject(
            Object.assign(new Error('ENOSPC: no space left on device, write'), {
              code: 'ENOSPC',
              syscall: 'write',
            }),
          )
        : append(entry),
    )
    const err = await containFunction(ctx, { function: s.functionName, snapshot: fakeSnapshot() }).catch(
      (e) => e,
    )
    expect(err.code).toBe('ENOSPC')
    const fir = toFir(err)
    expect(fir.exitCode).toBe(2)
    expect(fir.message).toBe('unable to write to disk: no space left on the device (ENOSPC)')
    // Before: only "free space on the disk … then run the command again".
    expect(fir.actions.slice(1)).toEqual([
      `in force in AWS before the run stopped: containment.event-sources on ${s.functionName} (applied), containment.throttle on ${s.functionName} (applied)`,
      expect.stringMatching(
        new RegExp(
          `^containment\\.url on ${s.functionArn} was under way when the run stopped: no outcome is journaled and it may be in force \\(fir contain ${s.functionArn} --actions url .*--case ${ctx.case.dir} finishes it\\)$`,
        ),
      ),
      `fir case show --case ${ctx.case.dir} lists the case's changes; fir restore ${s.functionName} --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir} undoes them`,
    ])
    expect((await functionState(moto.endpoint(), s.functionName, s.role.name)).urls.$LATEST).toBe('AWS_IAM')
    vi.restoreAllMocks()
    await ctx.case.close()
  })

  it('a restore that reopens one name in two regions names each function and closes each again', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'twin-role' })
    const arns: string[] = []
    for (const region of ['us-east-1', 'us-west-2']) {
      const fn = await seedFunction(moto.endpoint(), { name: 'twin', roleArn: role.arn, region })
      await seedPermission(moto.endpoint(), 'twin', { sid: 'pub', principal: '*', region })
      arns.push(fn.arn)
    }
    const ctx = await testContext(moto.endpoint(), { caseId: 'TW' })
    for (const arn of arns)
      await containFunction(ctx, { function: arn, actions: ['permissions'], snapshot: fakeSnapshot() })
    const restored = await restoreCase(ctx, {})
    const warning = restored.warnings.find((w) => w.startsWith('reachable'))
    expect(warning).toMatch(
      /^reachable from outside the account again: twin in us-(east-1|west-2) \(public statement pub\), twin in us-(east-1|west-2) \(public statement pub\)\. /,
    )
    for (const arn of arns) {
      const region = arn.split(':')[3]
      expect(warning).toContain(`fir contain ${arn} --actions url,permissions --yes --region ${region} `)
    }
    await ctx.case.close()
  })

  it('a URL set back to AuthType NONE while the public statements stay removed is not called reachable', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'url-only-role' })
    await seedFunction(moto.endpoint(), { name: 'url-only', roleArn: role.arn })
    await seedFunctionUrl(moto.endpoint(), 'url-only', 'NONE')
    await seedPermission(moto.endpoint(), 'url-only', {
      sid: 'pub',
      principal: '*',
      action: 'lambda:InvokeFunctionUrl',
      functionUrlAuthType: 'NONE',
    })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-UO' })
    await containFunction(ctx, {
      function: 'url-only',
      actions: ['url', 'permissions'],
      snapshot: fakeSnapshot(),
    })
    // Before: "reachable from outside the account again: url-only (function URL of $LATEST with
    // AuthType NONE)", though no statement grants anyone access to it (AWS answers 403).
    const urlBack = await restoreCase(ctx, { actions: ['url'], confirmed: true })
    expect(urlBack.results.map((r) => [r.step, r.outcome])).toEqual([
      ['containment.permissions', 'skipped'],
      ['containment.url', 'undone'],
    ])
    expect(urlBack.warnings.filter((w) => w.startsWith('reachable'))).toEqual([])
    // The statement put back: now it is.
    const statementBack = await restoreCase(ctx, { confirmed: true })
    expect(statementBack.warnings.filter((w) => w.startsWith('reachable'))).toEqual([
      expect.stringMatching(
        /^reachable from outside the account again: url-only \(public statement pub\)\. /,
      ),
    ])
    await ctx.case.close()
  })

  describe('a restore killed right after an undo, run again', () => {
    /** A function with a public URL (a statement grants it to anyone), contained: url, permissions, throttle. */
    async function containedPublic(name: string) {
      const role = await seedRole(moto.endpoint(), { name: `${name}-role` })
      const fn = await seedFunction(moto.endpoint(), { name, roleArn: role.arn })
      await seedFunctionUrl(moto.endpoint(), name, 'NONE')
      await seedPermission(moto.endpoint(), name, {
        sid: 'pub',
        principal: '*',
        action: 'lambda:InvokeFunctionUrl',
        functionUrlAuthType: 'NONE',
      })
      const ctx = await testContext(moto.endpoint(), { caseId: `C-${name}` })
      await containFunction(ctx, {
        function: name,
        actions: ['throttle', 'url', 'permissions'],
        snapshot: fakeSnapshot(),
      })
      return { ctx, fn, role }
    }

    it('killed after the URL undo: the re-run finds it already-undone and still says the function is reachable again', async () => {
      const { ctx, fn, role } = await containedPublic('kill-url')
      // Restore undoes newest first: the statement is re-added (undone), the URL set back to NONE,
      // and the run dies before journaling the URL's outcome.
      await killedAt('containment.url.undo', () => restoreCase(ctx, { confirmed: true }))
      expect(ctx.case.journal.all().at(-1)).toMatchObject({
        action: 'containment.url',
        outcome: 'started',
        params: { undoOf: expect.any(Number) },
      })
      const open = await functionState(moto.endpoint(), 'kill-url', role.name)
      expect(open.urls).toEqual({ $LATEST: 'NONE' })
      expect(Object.keys(open.statements)).toEqual(['pub'])
      const again = await restoreCase(ctx, { confirmed: true })
      expect(again.results.map((r) => [r.step, r.outcome])).toEqual([
        ['containment.url', 'already-undone'],
        ['containment.throttle', 'undone'],
      ])
      // Before: no warning at all (an already-undone row was passed over, and the state it read
      // before its undo was already NONE), though the function is public again.
      expect(again.warnings).toEqual([
        `reachable from outside the account again: kill-url (function URL of $LATEST with AuthType NONE). Restore put back what containment had closed; if the code is not known clean, close it again: \`fir contain ${fn.arn} --actions url,permissions --yes --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir}\``,
      ])
      await ctx.case.close()
    })

    it('killed after the statements were re-added: the re-run names them with the URL it sets back', async () => {
      const { ctx } = await containedPublic('kill-perm')
      await killedAt('containment.permissions.undo', () => restoreCase(ctx, { confirmed: true }))
      expect(ctx.case.journal.all().at(-1)).toMatchObject({
        action: 'containment.permissions',
        outcome: 'started',
      })
      const again = await restoreCase(ctx, { confirmed: true })
      expect(again.results.map((r) => [r.step, r.outcome])).toEqual([
        ['containment.permissions', 'already-undone'],
        ['containment.url', 'undone'],
        ['containment.throttle', 'undone'],
      ])
      // Before: "kill-perm (function URL of $LATEST with AuthType NONE)": the statement the killed
      // run re-added was left out.
      expect(again.warnings).toEqual([
        expect.stringMatching(
          /^reachable from outside the account again: kill-perm \(public statement pub; function URL of \$LATEST with AuthType NONE\)\. /,
        ),
      ])
      await ctx.case.close()
    })
  })

  it('reports a conflict and leaves a value someone else changed since', async () => {
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-2' })
    await containFunction(ctx, { function: s.functionName, actions: ['throttle'], snapshot: fakeSnapshot() })
    const { lambda } = sdk(moto.endpoint())
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: s.functionName, ReservedConcurrentExecutions: 7 }),
    )
    const r = await restoreCase(ctx, {})
    expect(r.results).toEqual([
      expect.objectContaining({ step: 'containment.throttle', outcome: 'conflict' }),
    ])
    expect((await functionState(moto.endpoint(), s.functionName, s.role.name)).reserved).toBe(7)
    const last = ctx.case.journal.all().at(-1)!
    expect(last).toMatchObject({ action: 'containment.throttle', outcome: 'conflict' })
    // once the responder puts fir's value back, restore finishes the job
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: s.functionName, ReservedConcurrentExecutions: 0 }),
    )
    const r2 = await restoreCase(ctx, {})
    expect(r2.results[0]!.outcome).toBe('undone')
    expect((await functionState(moto.endpoint(), s.functionName, s.role.name)).reserved).toBe(5)
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: s.functionName }))
    await ctx.case.close()
  })

  it('a function URL deleted and created again since contain is another URL: restore reports a conflict and leaves it closed', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'url-again-role' })
    await seedFunction(moto.endpoint(), { name: 'url-again', roleArn: role.arn })
    const first = await seedFunctionUrl(moto.endpoint(), 'url-again', 'NONE')
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-UA' })
    await containFunction(ctx, { function: 'url-again', actions: ['url'], snapshot: fakeSnapshot() })
    // Someone replaces the URL by hand, IAM only: a new address, which fir never opened.
    const { lambda } = sdk(moto.endpoint())
    await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'url-again' }))
    const second = await seedFunctionUrl(moto.endpoint(), 'url-again', 'AWS_IAM')
    expect(second).not.toBe(first)
    const r = await restoreCase(ctx, {})
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.url', 'conflict']])
    expect(r.results[0]!.notes).toEqual([
      `conflict: the URL of $LATEST is another URL now (${second}, AWS_IAM; fir set AWS_IAM on ${first}); left as it is`,
    ])
    expect((await functionState(moto.endpoint(), 'url-again', role.name)).urls).toEqual({
      $LATEST: 'AWS_IAM',
    })
    // Nothing was reopened, and the warnings do not say otherwise.
    expect(r.warnings).toEqual([
      expect.stringMatching(/^nothing was restored \(conflict\): containment\.url on url-again; /),
    ])
    expect(ctx.case.journal.all().at(-1)).toMatchObject({ action: 'containment.url', outcome: 'conflict' })
    await ctx.case.close()
  })

  it('a function URL Lambda refuses to set back does not keep the others closed: denied, naming it', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'url-redo-role' })
    await seedFunction(moto.endpoint(), { name: 'url-redo', roleArn: role.arn })
    await seedAlias(moto.endpoint(), 'url-redo', 'live', await publishVersion(moto.endpoint(), 'url-redo'))
    await seedFunctionUrl(moto.endpoint(), 'url-redo', 'NONE')
    // Once contained, the function's own URL ($LATEST, no qualifier, the first tried) is refused.
    let refuse = false
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [
        {
          match: (req) =>
            refuse && req.operation === 'UpdateFunctionUrlConfig' && !req.query?.has('Qualifier'),
          fault: 'access-denied',
        },
      ],
    }).start()
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'C-UR' })
      await containFunction(ctx, { function: 'url-redo', actions: ['url'], snapshot: fakeSnapshot() })
      refuse = true
      const mark = proxy.records.length
      const back = await restoreCase(ctx, {})
      expect(back.results.map((x) => [x.step, x.outcome])).toEqual([['containment.url', 'denied']])
      // Before: fir stopped at $LATEST and never tried live.
      expect(
        proxy.records
          .slice(mark)
          .filter((x) => x.operation === 'UpdateFunctionUrlConfig')
          .map((x) => x.query?.get('Qualifier')),
      ).toEqual([null, 'live'])
      expect(back.results[0]!.error?.message).toMatch(
        /^unable to set AuthType NONE back on 1 of 2 function URLs of url-redo: the URL of \$LATEST: .*lambda:UpdateFunctionUrlConfig.*; the other 1 was set back$/,
      )
      // moto keeps one URL a function whatever the qualifier: the one set back opens both.
      expect(back.warnings.filter((w) => w.startsWith('reachable'))).toEqual([
        expect.stringMatching(
          /^reachable from outside the account again: url-redo \(function URLs of \$LATEST, live with AuthType NONE\)\. /,
        ),
      ])
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })

  it('after a conflict, containing again and restoring puts back the value the conflict left, not the first prior', async () => {
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-2B' })
    const reserved = async () => (await functionState(moto.endpoint(), s.functionName, s.role.name)).reserved
    const before = await reserved()
    expect(before).toBe(5)
    await containFunction(ctx, { function: s.functionName, actions: ['throttle'], snapshot: fakeSnapshot() })
    const { lambda } = sdk(moto.endpoint())
    // Someone sets 7 meanwhile; restore leaves it (conflict).
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: s.functionName, ReservedConcurrentExecutions: 7 }),
    )
    expect((await restoreCase(ctx, {})).results[0]!.outcome).toBe('conflict')
    // Contained again, from 7.
    const again = await containFunction(ctx, {
      function: s.functionName,
      actions: ['throttle'],
      snapshot: fakeSnapshot(),
    })
    expect(again.results[0]!.outcome).toBe('applied')
    expect(await reserved()).toBe(0)
    // Restore puts back 7, the value before this containment (before: 5, the first prior,
    // overwriting the 7 the conflict had left without a word).
    const r = await restoreCase(ctx, {})
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.throttle', 'undone']])
    expect(await reserved()).toBe(7)
    expect((await restoreCase(ctx, {})).results).toEqual([])
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: s.functionName }))
    await ctx.case.close()
  })

  it('changed by hand after containment, contained again: restore puts back the hand-set state, with the parts fir still held back to the first prior', async () => {
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-2C' })
    const state = () => functionState(moto.endpoint(), s.functionName, s.role.name)
    const before = await state()
    const actions = ['throttle', 'permissions', 'recycle'] as const
    const contain = () =>
      containFunction(ctx, { function: s.functionName, actions: [...actions], snapshot: fakeSnapshot() })
    await contain()
    // By hand: 10, a description of their own, and the removed public-invoke statement put back
    // as another one (another account's GetFunction); the other public statement stays removed.
    const { lambda } = sdk(moto.endpoint())
    await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: s.functionName, ReservedConcurrentExecutions: 10 }),
    )
    await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: s.functionName, Description: 'set by hand' }),
    )
    await seedPermission(moto.endpoint(), s.functionName, {
      sid: s.statements.publicInvoke,
      principal: '210987654321',
      action: 'lambda:GetFunction',
    })
    const byHand = await state()
    const again = await contain()
    expect(again.results.map((r) => [r.step, r.outcome, r.beforeText])).toEqual([
      ['containment.throttle', 'applied', 'reserved concurrency: 10'],
      ['containment.permissions', 'applied', expect.stringMatching(/^1 public of 2: /)],
      ['containment.recycle', 'applied', 'description: "set by hand"'],
    ])
    const r = await restoreCase(ctx, {})
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([
      ['containment.recycle', 'undone'],
      ['containment.permissions', 'undone'],
      ['containment.throttle', 'undone'],
    ])
    // Before: 5, "orders API" and the first public-invoke statement, over what was set by hand.
    const after = await state()
    expect(after.reserved).toBe(10)
    expect(after.description).toBe('set by hand')
    expect(after.statements).toEqual({
      ...byHand.statements,
      [s.statements.publicUrl]: before.statements[s.statements.publicUrl],
    })
    expect((await restoreCase(ctx, {})).results).toEqual([])
    // The second contain said so, before it changed anything.
    expect(again.results[0]!.notes).toContainEqual(
      expect.stringMatching(
        /^changed by someone else since this case's change \(journal #\d+\): reserved concurrency: 0 as fir left it, reserved concurrency: 10 now; restore is to put back reserved concurrency: 10, not reserved concurrency: 5$/,
      ),
    )
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: s.functionName }))
    await ctx.case.close()
  })

  it('a public statement added by hand between two contains is removed by the second and re-added by restore with the others', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'added-role' })
    await seedFunction(moto.endpoint(), { name: 'added', roleArn: role.arn })
    for (const sid of ['pub1', 'pub2'])
      await seedPermission(moto.endpoint(), 'added', { sid, principal: '*' })
    const sids = async () =>
      Object.keys((await functionState(moto.endpoint(), 'added', role.name)).statements).sort()
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-ADD' })
    const contain = () =>
      containFunction(ctx, { function: 'added', actions: ['permissions'], snapshot: fakeSnapshot() })
    await contain()
    expect(await sids()).toEqual([])
    await seedPermission(moto.endpoint(), 'added', { sid: 'pub3', principal: '*' })
    const again = await contain()
    expect(again.results.map((r) => [r.step, r.outcome])).toEqual([['containment.permissions', 'applied']])
    expect(await sids()).toEqual([])
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'undone']])
    expect(await sids()).toEqual(['pub1', 'pub2', 'pub3'])
    expect(r.warnings.join('\n')).toMatch(/public statements (?=.*pub1)(?=.*pub2)(?=.*pub3)/)
    expect((await restoreCase(ctx, {})).results).toEqual([])
    // The second contain said so, before it changed anything.
    expect(again.results[0]!.notes).toContainEqual(
      expect.stringMatching(
        /^changed by someone else since this case's change \(journal #\d+\): no resource policy as fir left it, 1 public of 1: \$LATEST\/pub3 now; restore is to put back 3 public of 3: /,
      ),
    )
    await ctx.case.close()
  })

  it('a public statement added by hand since contain is left as it is by restore, named, and the restore is undone', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'added2-role' })
    await seedFunction(moto.endpoint(), { name: 'added2', roleArn: role.arn })
    for (const sid of ['pub1', 'pub2'])
      await seedPermission(moto.endpoint(), 'added2', { sid, principal: '*' })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-ADD2' })
    await containFunction(ctx, { function: 'added2', actions: ['permissions'], snapshot: fakeSnapshot() })
    await seedPermission(moto.endpoint(), 'added2', { sid: 'pub3', principal: '*' })
    const plan = await restoreCase(ctx, { dryRun: true })
    expect(plan.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'would-undo']])
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'undone']])
    for (const row of [plan.results[0]!, r.results[0]!]) {
      expect(row.notes).toEqual([
        "$LATEST/pub3 is a public statement added since fir's change; left as it is",
      ])
    }
    expect(
      Object.keys((await functionState(moto.endpoint(), 'added2', role.name)).statements).sort(),
    ).toEqual(['pub1', 'pub2', 'pub3'])
    // Closed: a second restore finds nothing to undo.
    expect((await restoreCase(ctx, {})).results).toEqual([])
    await ctx.case.close()
  })

  it('a mapping created by hand between two contains is disabled by the second and re-enabled by restore with the others', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'esm-added-role' })
    await seedFunction(moto.endpoint(), { name: 'esm-added', roleArn: role.arn })
    const a = await seedSqsMapping(moto.endpoint(), 'esm-added', 'esm-added-a')
    const mappings = async () => (await functionState(moto.endpoint(), 'esm-added', role.name)).mappings
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-EA' })
    const contain = () =>
      containFunction(ctx, { function: 'esm-added', actions: ['event-sources'], snapshot: fakeSnapshot() })
    await contain()
    const b = await seedSqsMapping(moto.endpoint(), 'esm-added', 'esm-added-b')
    const again = await contain()
    expect(again.results.map((r) => [r.step, r.outcome])).toEqual([['containment.event-sources', 'applied']])
    expect(await mappings()).toEqual({ [a.uuid]: 'Disabled', [b.uuid]: 'Disabled' })
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.event-sources', 'undone']])
    expect(await mappings()).toEqual({ [a.uuid]: 'Enabled', [b.uuid]: 'Enabled' })
    expect(r.results[0]!.afterText).toBe('2 of 2 mappings enabled')
    expect((await restoreCase(ctx, {})).results).toEqual([])
    // The second contain said so, before it changed anything.
    const first = ctx.case.journal.all().find((e) => e.outcome === 'started')!
    expect(again.results[0]!.notes).toContainEqual(
      `changed by someone else since this case's change (journal #${first.seq}): 0 of 1 mapping enabled as fir left it, 1 of 2 mappings enabled now; restore is to put back 2 of 2 mappings enabled, not 1 of 1 mapping enabled`,
    )
    await ctx.case.close()
  })

  it('a mapping created by hand since contain is left as it is by restore, named, and the restore is undone', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'esm-added2-role' })
    await seedFunction(moto.endpoint(), { name: 'esm-added2', roleArn: role.arn })
    const a = await seedSqsMapping(moto.endpoint(), 'esm-added2', 'esm-added2-a')
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-EA2' })
    await containFunction(ctx, {
      function: 'esm-added2',
      actions: ['event-sources'],
      snapshot: fakeSnapshot(),
    })
    const b = await seedSqsMapping(moto.endpoint(), 'esm-added2', 'esm-added2-b')
    const plan = await restoreCase(ctx, { dryRun: true })
    expect(plan.results.map((x) => [x.step, x.outcome])).toEqual([
      ['containment.event-sources', 'would-undo'],
    ])
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.event-sources', 'undone']])
    expect((await functionState(moto.endpoint(), 'esm-added2', role.name)).mappings).toEqual({
      [a.uuid]: 'Enabled',
      [b.uuid]: 'Enabled',
    })
    for (const row of [plan.results[0]!, r.results[0]!]) {
      expect(row.notes).toEqual([
        `mapping ${b.uuid} (${b.queueArn}) is Enabled, created since fir's change; left as it is`,
      ])
    }
    expect((await restoreCase(ctx, {})).results).toEqual([])
    await ctx.case.close()
  })

  it('a mapping deleted since contain has nothing to re-enable: restore re-enables the others, names it, and is undone', async () => {
    // Before: the deleted mapping was a conflict (the others re-enabled all the same, the warning
    // said fir left it as it is), the report said not contained, and every restore after was one.
    const role = await seedRole(moto.endpoint(), { name: 'esm-gone-role' })
    await seedFunction(moto.endpoint(), { name: 'esm-gone', roleArn: role.arn })
    const a = await seedSqsMapping(moto.endpoint(), 'esm-gone', 'esm-gone-orders')
    const b = await seedSqsMapping(moto.endpoint(), 'esm-gone', 'esm-gone-second')
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-EG' })
    await containFunction(ctx, { function: 'esm-gone', actions: ['event-sources'], snapshot: fakeSnapshot() })
    const { lambda } = sdk(moto.endpoint())
    await lambda.send(new DeleteEventSourceMappingCommand({ UUID: b.uuid }))
    const note = `mapping ${b.uuid} (${b.queueArn}) was deleted since fir disabled it; nothing to re-enable`
    const plan = await restoreCase(ctx, { dryRun: true })
    expect(plan.results.map((x) => [x.step, x.outcome])).toEqual([
      ['containment.event-sources', 'would-undo'],
    ])
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.event-sources', 'undone']])
    for (const row of [plan.results[0]!, r.results[0]!]) expect(row.notes).toEqual([note])
    expect(r.warnings).toEqual([])
    expect((await functionState(moto.endpoint(), 'esm-gone', role.name)).mappings).toEqual({
      [a.uuid]: 'Enabled',
    })
    expect(ctx.case.journal.all().at(-1)).toMatchObject({
      action: 'containment.event-sources',
      outcome: 'undone',
      notes: [note],
    })
    const view = viewJournal(ctx.case.journal.all())
    expect(view.status.code).toBe('restored')
    // The report's actions table says so too (the note had been on the terminal only).
    expect(view.actions.at(-1)!.notes).toEqual([note])
    expect((await restoreCase(ctx, {})).results).toEqual([])
    await ctx.case.close()
  })

  it("a change by a step this fir does not have (a newer fir's) is named as not undone, by restore and by the report", async () => {
    // Before: restore passed over it without a word ("every change undone") and the report too.
    const role = await seedRole(moto.endpoint(), { name: 'newer-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'newer-fn', roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-NEW' })
    await containFunction(ctx, { function: 'newer-fn', actions: ['throttle'], snapshot: fakeSnapshot() })
    const actor = { arn: null, osUser: 'r', host: 'h', command: ['fir', 'contain'], fir: '9.1.0' }
    const change = {
      action: 'containment.isolate-network',
      target: fn.arn,
      params: { function: 'newer-fn', functionArn: fn.arn, region: 'us-east-1' },
      actor,
    }
    const started = await ctx.case.journal.append({
      ...change,
      outcome: 'started',
      prior: { subnets: ['subnet-1'] },
      undo: { intendedAfter: { subnets: [] } },
    })
    await ctx.case.journal.append({ ...change, outcome: 'applied', after: { subnets: [] } })
    const warning = `not undone: a change this fir (test) has no step for, made by fir 9.1.0: containment.isolate-network on ${fn.arn} (journal #${started.seq}). It is left as it is, perhaps still in force; run fir restore again with fir 9.1.0 or later`
    // Restoring the function is not refused as "journaled no change to it" when that is all it has.
    const plan = await restoreCase(ctx, { function: 'newer-fn', actions: ['url'], dryRun: true })
    expect(plan.warnings).toEqual([warning])
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.throttle', 'undone']])
    expect(r.warnings).toEqual([warning])
    const again = await restoreCase(ctx, {})
    expect([again.warnings, again.results, again.unknownChanges]).toEqual([[warning], [], 1])
    // Not counted in force by the report's status, which says it leaves it out (it had counted it).
    expect([...viewJournal(ctx.case.journal.all()).inForce]).toEqual([])
    await ctx.case.close()
    const model = await buildReportModel(ctx.case.dir, { verify: false, firVersion: '0.1.0' })
    expect(model.readProblems).toContainEqual(
      `the journal holds 1 change by a step this fir (0.1.0) does not have, made by a newer fir: containment.isolate-network on ${fn.arn} (journal #${started.seq}). This report cannot say whether it is in force, and its status leaves it out: make the report with the fir that made it`,
    )
  })

  it('a function URL deleted since contain has nothing to set back: restore names it and is undone', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'url-gone-role' })
    await seedFunction(moto.endpoint(), { name: 'url-gone', roleArn: role.arn })
    const url = await seedFunctionUrl(moto.endpoint(), 'url-gone', 'NONE')
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-UG' })
    await containFunction(ctx, { function: 'url-gone', actions: ['url'], snapshot: fakeSnapshot() })
    const { lambda } = sdk(moto.endpoint())
    await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'url-gone' }))
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.url', 'already-undone']])
    expect(r.results[0]!.notes).toEqual([
      `the URL of $LATEST (${url}) was deleted since fir set AWS_IAM on it; nothing to set back`,
    ])
    expect(r.warnings).toEqual([])
    expect(viewJournal(ctx.case.journal.all()).status.code).toBe('restored')
    expect((await restoreCase(ctx, {})).results).toEqual([])
    await ctx.case.close()
  })

  it('a function and its role deleted since contain have nothing to put back: restore names each, is undone, and the report no longer counts them in force', async () => {
    // Before: every restore failed (a gap, exit 4) on "Function not found" and "has no IAM role
    // named …", and the report still said Contained, with the measures in force.
    const role = await seedRole(moto.endpoint(), { name: 'gone-role' })
    await seedFunction(moto.endpoint(), { name: 'gone-fn', roleArn: role.arn })
    await seedFunctionUrl(moto.endpoint(), 'gone-fn', 'NONE')
    await seedPermission(moto.endpoint(), 'gone-fn', { sid: 'pub', principal: '*' })
    const mapping = await seedSqsMapping(moto.endpoint(), 'gone-fn', 'gone-fn-orders')
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-GONE' })
    const contained = await containFunction(ctx, { function: 'gone-fn', snapshot: fakeSnapshot() })
    expect(contained.results.every((x) => x.outcome === 'applied')).toBe(true)
    const { lambda, iam } = sdk(moto.endpoint())
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'gone-fn' }))
    for (const name of (await iam.send(new ListRolePoliciesCommand({ RoleName: role.name }))).PolicyNames ??
      [])
      await iam.send(new DeleteRolePolicyCommand({ RoleName: role.name, PolicyName: name }))
    await iam.send(new DeleteRoleCommand({ RoleName: role.name }))
    const fnGone = 'function gone-fn was deleted since fir changed it; nothing to put back'
    const actions = ['event-sources', 'throttle', 'url', 'permissions', 'sessions', 'recycle'] as const
    const plan = await restoreCase(ctx, { actions, dryRun: true })
    const r = await restoreCase(ctx, { actions, confirmed: true })
    for (const run of [plan, r]) {
      expect(run.results.map((x) => [x.step, x.label, x.outcome, x.notes])).toEqual([
        ['containment.recycle', 'gone-fn', 'already-undone', [fnGone]],
        [
          'containment.sessions',
          role.name,
          'already-undone',
          [`role ${role.name} was deleted since fir changed it; nothing to put back`],
        ],
        ['containment.permissions', 'gone-fn', 'already-undone', [fnGone]],
        ['containment.url', 'gone-fn', 'already-undone', [fnGone]],
        ['containment.throttle', 'gone-fn', 'already-undone', [fnGone]],
        // The mapping outlives its function (as in AWS): it is there to put back as it was.
        ['containment.event-sources', 'gone-fn', run === plan ? 'would-undo' : 'undone', []],
      ])
    }
    expect(r.results.map((x) => x.error)).toEqual(r.results.map(() => undefined))
    expect(ctx.gaps.list).toEqual([])
    expect(r.warnings.filter((w) => /conflict|not restored/.test(w))).toEqual([])
    // Already-undone rows of a function deleted since reopen nothing.
    expect(r.warnings.filter((w) => w.startsWith('reachable'))).toEqual([])
    const undos = ctx.case.journal
      .all()
      .filter((e) => e.outcome === 'undone' && e.action !== 'containment.event-sources')
    expect(undos).toHaveLength(5)
    for (const e of undos) expect(e.params).toMatchObject({ gone: true, noChange: true })
    expect(undos.map((e) => e.notes)).toContainEqual([fnGone])
    const view = viewJournal(ctx.case.journal.all())
    expect(view.inForce).toEqual(new Set())
    expect(view.status.code).toBe('restored')
    expect(view.status.detail).toBe(
      'Every containment measure was undone (6, 5 of them on a function or role deleted since: nothing left to put back); what was not deleted runs as it did before containment.',
    )
    // Nothing is left to undo: a second restore has nothing to do, and no gap.
    const again = await restoreCase(ctx, { actions, confirmed: true })
    expect(again.results).toEqual([])
    expect(ctx.gaps.list).toEqual([])
    expect((await lambda.send(new DeleteEventSourceMappingCommand({ UUID: mapping.uuid }))).UUID).toBe(
      mapping.uuid,
    )
    await ctx.case.close()
  })

  it('a not-found that is not the target itself, or a target AWS will not say is gone, still fails the undo', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'half-gone-role' })
    await seedFunction(moto.endpoint(), { name: 'half-gone', roleArn: role.arn })
    await seedFunction(moto.endpoint(), { name: 'gone-denied', roleArn: role.arn })
    const proxy = await new FaultProxy(moto.endpoint()).start()
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'C-HALF' })
      for (const fn of ['half-gone', 'gone-denied'])
        await containFunction(ctx, { function: fn, actions: ['throttle'], snapshot: fakeSnapshot() })
      const { lambda } = sdk(moto.endpoint())
      await lambda.send(new DeleteFunctionCommand({ FunctionName: 'gone-denied' }))
      const path = (fn: string) => (r: { path: string }) => r.path.includes(`/functions/${fn}/`)
      proxy.rules = [
        // half-gone is there; a read of its concurrency answers not-found all the same.
        {
          match: (x) => x.operation === 'GetFunctionConcurrency' && path('half-gone')(x),
          fault: 'not-found',
        },
        // gone-denied was deleted, but the read that would say so is denied.
        {
          match: (x) => x.operation === 'GetFunctionConfiguration' && path('gone-denied')(x),
          fault: 'access-denied',
        },
      ]
      const r = await restoreCase(ctx, { confirmed: true })
      expect(r.results.map((x) => [x.label, x.outcome, x.error?.code])).toEqual([
        ['gone-denied', 'failed', 'not-found'],
        ['half-gone', 'failed', 'not-found'],
      ])
      expect(ctx.gaps.list.map((g) => g.what)).toEqual([
        'containment.throttle on gone-denied: could not plan',
        'containment.throttle on half-gone: could not plan',
      ])
      const view = viewJournal(ctx.case.journal.all())
      expect(view.inForce.size).toBe(2)
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })

  it('a recycled description that quoted an environment secret: the plan says restore cannot put it back, and restore says so, blaming no one', async () => {
    // Before: no note at contain; restore reported a conflict and warned that "someone changed it
    // since fir did", on every run, and a description put back by hand was a conflict too.
    const secret = 'hunter2-supersecret'
    const role = await seedRole(moto.endpoint(), { name: 'pw-desc-role' })
    await seedFunction(moto.endpoint(), {
      name: 'pw-desc',
      roleArn: role.arn,
      env: { DB_PASSWORD: secret },
      description: `db pw is ${secret} ok`,
    })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-PW' })
    const kept = `description: "db pw is ${redactValue(secret)} ok"`
    const where =
      "the Configuration.Description of function pw-desc in the case's sealed snapshot of it (evidence/<set>/functions/pw-desc/get-function.$LATEST.json)"
    const warned = `restore cannot put ${kept} back automatically: it holds a secret value, which the journal keeps redacted; to put it back by hand, take the value from ${where}`
    const plan = await containFunction(ctx, {
      function: 'pw-desc',
      actions: ['recycle'],
      dryRun: true,
      snapshot: fakeSnapshot(),
    })
    expect(plan.plans[0]!.notes).toEqual([warned])
    const applied = await containFunction(ctx, {
      function: 'pw-desc',
      actions: ['recycle'],
      snapshot: fakeSnapshot(),
    })
    expect(applied.results[0]).toMatchObject({ outcome: 'applied', notes: [warned] })
    const journaled = ctx.case.journal
      .all()
      .find((e) => e.action === 'containment.recycle' && e.outcome === 'applied')
    expect(journaled?.notes).toEqual([warned])
    const byHand = `cannot be undone automatically (the value to put back held a secret, which the journal keeps redacted): put ${kept} back by hand, the value taken from ${where}; restore then finds it put back`
    const stamp = (await functionState(moto.endpoint(), 'pw-desc', role.name)).description
    for (const dryRun of [true, false, false]) {
      const r = await restoreCase(ctx, { confirmed: true, dryRun })
      expect(r.results.map((x) => [x.step, x.outcome, x.notes])).toEqual([
        ['containment.recycle', 'skipped', [byHand]],
      ])
      expect(r.warnings).toEqual([])
      expect((await functionState(moto.endpoint(), 'pw-desc', role.name)).description).toBe(stamp)
    }
    expect(
      ctx.case.journal
        .all()
        .filter((e) => e.action === 'containment.recycle')
        .map((e) => e.outcome),
    ).toEqual(['started', 'applied'])
    // Put back by hand: restore finds the prior, as the journal keeps it, and closes the change.
    const { lambda } = sdk(moto.endpoint())
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'pw-desc',
        Description: `db pw is ${secret} ok`,
      }),
    )
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome, x.notes])).toEqual([
      ['containment.recycle', 'already-undone', []],
    ])
    expect(r.warnings).toEqual([])
    expect(viewJournal(ctx.case.journal.all()).status.code).toBe('restored')
    await ctx.case.close()
  })

  it('a function URL opened by hand on a new alias between two contains is closed by the second and reopened by restore with the first', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'url-added-role' })
    await seedFunction(moto.endpoint(), { name: 'url-added', roleArn: role.arn })
    await seedFunctionUrl(moto.endpoint(), 'url-added', 'NONE')
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-UAD' })
    const contain = () =>
      containFunction(ctx, { function: 'url-added', actions: ['url'], snapshot: fakeSnapshot() })
    await contain()
    // Someone adds an alias and opens its URL. (moto keeps one URL a function whatever the
    // qualifier: the alias reads it, and opening it opens $LATEST's too — fir closed that one
    // and its first restore reopens it, so it is no part of what was made since.)
    await seedAlias(moto.endpoint(), 'url-added', 'live', await publishVersion(moto.endpoint(), 'url-added'))
    const { lambda } = sdk(moto.endpoint())
    await lambda.send(
      new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-added', Qualifier: 'live', AuthType: 'NONE' }),
    )
    const plan = await restoreCase(ctx, { dryRun: true })
    const again = await contain()
    expect(again.results.map((r) => [r.step, r.outcome])).toEqual([['containment.url', 'applied']])
    const r = await restoreCase(ctx, { confirmed: true })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.url', 'undone']])
    // What fir set back: both, not $LATEST alone.
    expect(r.results[0]!.afterText).toBe('$LATEST: NONE, live: NONE')
    expect(r.warnings).toContainEqual(
      expect.stringMatching(
        /^reachable from outside the account again: url-added \(function URLs of \$LATEST, live with AuthType NONE\)\. /,
      ),
    )
    expect((await functionState(moto.endpoint(), 'url-added', role.name)).urls).toEqual({
      $LATEST: 'NONE',
      live: 'NONE',
    })
    expect((await restoreCase(ctx, {})).results).toEqual([])
    // The restore plan before the second contain named the URL, and the second contain said so.
    expect(plan.results[0]!.notes).toEqual([
      "the URL of live is AuthType NONE, created since fir's change; left as it is",
    ])
    expect(again.results[0]!.notes).toContainEqual(
      expect.stringMatching(
        /^changed by someone else since this case's change \(journal #\d+\): \$LATEST: AWS_IAM as fir left it, \$LATEST: NONE, live: NONE now; restore is to put back \$LATEST: NONE, live: NONE, not \$LATEST: NONE$/,
      ),
    )
    await ctx.case.close()
  })

  it('a denied change is a denied row and a gap; the other steps still run', async () => {
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'PutFunctionConcurrency', fault: 'access-denied' }],
    }).start()
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'C-3' })
      const r = await containFunction(ctx, {
        function: s.functionName,
        actions: ['event-sources', 'throttle', 'url'],
        snapshot: fakeSnapshot(),
      })
      expect(r.results.map((x) => [x.step, x.outcome])).toEqual([
        ['containment.event-sources', 'applied'],
        ['containment.throttle', 'denied'],
        ['containment.url', 'applied'],
      ])
      expect(r.results[1]!.error?.message).toMatch(/lambda:PutFunctionConcurrency/)
      // The gap names the AWS call denied (DESIGN §1's {what, call, reason}), not fir's step id;
      // so does the journal, for the report's Gaps table.
      expect(ctx.gaps.list).toEqual([expect.objectContaining({ call: 'lambda:PutFunctionConcurrency' })])
      const entries = ctx.case.journal.all().filter((e) => e.action === 'containment.throttle')
      expect(entries.map((e) => e.outcome)).toEqual(['started', 'denied'])
      expect(entries[1]!.after).toEqual({ reserved: 5 })
      expect(viewJournal(ctx.case.journal.all()).gaps.map((g) => g.call)).toEqual([
        'lambda:PutFunctionConcurrency',
      ])
      // Before: no command to run once the permission is granted, and the limits said invocations
      // "already running when the function was throttled" may go on: it never was.
      expect(r.rerun).toBe(
        `fir contain ${s.functionName} --actions throttle --yes --region us-east-1 --endpoint-url ${proxy.endpoint} --case ${ctx.case.dir}`,
      )
      expect(r.limits.join('\n')).not.toMatch(/when the function was throttled/)
      expect(r.limits).toContain(
        'the function is not throttled (the throttle was denied): new invocations still run',
      )
      // nothing changed, so restore finds the throttle already as it was
      const back = await restoreCase(ctx, {})
      expect(back.results.find((x) => x.step === 'containment.throttle')!.outcome).toBe('already-undone')
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })

  it('a step whose read AWS denied while planning is journaled as denied, so the report does not call it contained', async () => {
    // Before: the denied plan was a row and a gap of this run only; the journal had no throttle
    // entry, and the report said "Contained. 2 measures in force, none failed" — not throttled.
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'GetFunctionConcurrency', fault: 'access-denied' }],
    }).start()
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'C-3b' })
      const r = await containFunction(ctx, {
        function: s.functionName,
        actions: ['event-sources', 'throttle', 'url'],
        snapshot: fakeSnapshot(),
      })
      expect(r.results.map((x) => [x.step, x.outcome])).toEqual([
        ['containment.event-sources', 'applied'],
        ['containment.throttle', 'denied'],
        ['containment.url', 'applied'],
      ])
      const entries = ctx.case.journal.all()
      const throttle = entries.filter((e) => e.action === 'containment.throttle')
      expect(throttle).toEqual([
        expect.objectContaining({
          target: s.functionArn,
          outcome: 'denied',
          params: expect.objectContaining({ function: s.functionName, functionArn: s.functionArn }),
          error: expect.objectContaining({ code: 'access-denied' }),
        }),
      ])
      // In the steps' order, after event-sources and before url.
      expect(entries.filter((e) => e.action.startsWith('containment.')).map((e) => e.action)).toEqual([
        'containment.event-sources',
        'containment.event-sources',
        'containment.throttle',
        'containment.url',
        'containment.url',
      ])
      const view = viewJournal(entries)
      expect(view.status.code).toBe('partially-contained')
      expect(view.status.detail).toContain('1 failed, denied or in conflict')
      // Contained as far as its ways in go (event sources disabled, URL closed), and said to run.
      expect(view.status.detail).toContain(
        `${s.functionName}: not throttled, so new invocations still run (Throttle: reserved concurrency 0 was denied).`,
      )
      expect(view.gaps.map((g) => [g.call, g.what])).toEqual([
        ['lambda:GetFunctionConcurrency', `Throttle: reserved concurrency 0 on ${s.functionArn} was denied`],
      ])
      expect(ctx.gaps.list.map((g) => g.call)).toEqual(['lambda:GetFunctionConcurrency'])
      expect((await functionState(moto.endpoint(), s.functionName, s.role.name)).reserved).toBe(5)
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })

  it('a denied RemovePermission leaves that statement, named in a gap, and every other public statement is still removed', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'perm-deny-role' })
    await seedFunction(moto.endpoint(), { name: 'perm-deny', roleArn: role.arn })
    for (const sid of ['pub-a', 'pub-b', 'pub-c'])
      await seedPermission(moto.endpoint(), 'perm-deny', { sid, principal: '*' })
    await seedPermission(moto.endpoint(), 'perm-deny', {
      sid: 'own-api',
      principal: 'apigateway.amazonaws.com',
      sourceArn: `arn:aws:execute-api:us-east-1:${TEST_ACCOUNT}:abc123/*`,
    })
    const before = await functionState(moto.endpoint(), 'perm-deny', role.name)
    const proxy = await denyingRemovalOf(moto.endpoint(), 'pub-b')
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'C-PD' })
      const r = await containFunction(ctx, {
        function: 'perm-deny',
        actions: ['permissions'],
        snapshot: fakeSnapshot(),
      })
      expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'denied']])
      // Before: fir stopped at pub-b, leaving pub-c public too.
      const statements = Object.keys(
        (await functionState(moto.endpoint(), 'perm-deny', role.name)).statements,
      )
      expect(statements.sort()).toEqual(['own-api', 'pub-b'])
      expect(
        proxy.records.filter((x) => x.operation === 'RemovePermission').map((x) => x.path.split('/').at(-1)),
      ).toEqual(['pub-a', 'pub-b', 'pub-c'])
      expect(ctx.gaps.list).toEqual([
        expect.objectContaining({
          call: 'lambda:RemovePermission',
          reason: expect.stringMatching(
            /unable to remove 1 of 3 public statements from function perm-deny: \$LATEST\/pub-b: .*lambda:RemovePermission.*; the other 2 were removed/,
          ),
        }),
      ])
      const entries = ctx.case.journal.all().filter((e) => e.action === 'containment.permissions')
      expect(entries.map((e) => e.outcome)).toEqual(['started', 'denied'])
      expect(r.results[0]!.afterText).toBe('1 public of 2: $LATEST/pub-b')

      // Restore re-adds what was removed; pub-b, never removed, is left as it is.
      const back = await restoreCase(ctx, {})
      expect(back.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'undone']])
      expect(await functionState(moto.endpoint(), 'perm-deny', role.name)).toEqual(before)
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })

  it('a contain that removed some public statements and was denied the rest: the report lists only the statement still open, and says the measure was denied', async () => {
    // Before: "Status: Not contained … statement pub-a open to everyone or another account;
    // resource-policy statement pub-b …", though fir removed pub-a (the denied entry's after state
    // says so, and restore knows it): the report went by the snapshot alone for a failed measure.
    const role = await seedRole(moto.endpoint(), { name: 'perm-part-role' })
    await seedFunction(moto.endpoint(), { name: 'perm-part', roleArn: role.arn })
    for (const sid of ['pub-a', 'pub-b'])
      await seedPermission(moto.endpoint(), 'perm-part', { sid, principal: '*' })
    const proxy = await denyingRemovalOf(moto.endpoint(), 'pub-b')
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'C-PP' })
      await snapshotFunctions(ctx, { functions: ['perm-part'] })
      const r = await containFunction(ctx, {
        function: 'perm-part',
        actions: ['permissions'],
        snapshot: snapshotPort,
      })
      expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'denied']])
      const model = await buildReportModel(ctx.case.dir, { verify: false, firVersion: '0.1.0' })
      const { status } = model.summary
      expect(status.code).toBe('not-contained')
      expect(status.detail).toContain('1 failed, denied or in conflict')
      expect(status.detail).toContain(
        'perm-part: not contained — resource-policy statement pub-b open to everyone or another account; Remove public resource-policy statements was denied part way, after it closed statement pub-a.',
      )
      expect(status.detail).not.toContain('statement pub-a open')
      const impact = model.summary.impact.find((l) => l.startsWith('perm-part '))
      expect(impact).toMatch(
        /^perm-part was reachable from outside the account when snapshotted \(statement pub-a .*\); the case closed it: public resource-policy statements removed \(in part: the step was denied\)\. It is still reachable: statement pub-b /,
      )
      expect(impact).not.toMatch(/still reachable: .*pub-a/)
      const remove = model.recommendations.items.find(
        (x) => x.title === 'Remove public access to the function',
      )
      expect(remove?.because).toEqual([expect.stringMatching(/^perm-part: statement pub-b /)])
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })

  it('a restore AWS refuses one AddPermission of re-adds every other statement, is denied naming it, and warns of those it reopened', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'perm-redo-role' })
    await seedFunction(moto.endpoint(), { name: 'perm-redo', roleArn: role.arn })
    const sids = ['pub-1', 'pub-2', 'pub-3', 'pub-4', 'pub-5', 'pub-6']
    for (const sid of sids) await seedPermission(moto.endpoint(), 'perm-redo', { sid, principal: '*' })
    const before = await functionState(moto.endpoint(), 'perm-redo', role.name)
    // The third AddPermission of the restore (whichever statement it is) is denied, once.
    let adds = 0
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: (req) => req.operation === 'AddPermission' && ++adds === 3, fault: 'access-denied' }],
    }).start()
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'C-PR' })
      await containFunction(ctx, {
        function: 'perm-redo',
        actions: ['permissions'],
        snapshot: fakeSnapshot(),
      })
      expect((await functionState(moto.endpoint(), 'perm-redo', role.name)).statements).toEqual({})

      const back = await restoreCase(ctx, {})
      expect(back.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'denied']])
      // Before: fir stopped at the refused statement and never tried the three after it.
      expect(proxy.records.filter((x) => x.operation === 'AddPermission')).toHaveLength(6)
      const now = Object.keys((await functionState(moto.endpoint(), 'perm-redo', role.name)).statements)
      expect(now).toHaveLength(5)
      const [refused] = sids.filter((sid) => !now.includes(sid))
      expect(back.results[0]!.error?.message).toMatch(
        new RegExp(
          `^unable to re-add 1 of 6 public statements to function perm-redo: \\$LATEST/${refused}: .*lambda:AddPermission.*; the other 5 were re-added$`,
        ),
      )
      expect(ctx.gaps.list).toEqual([
        expect.objectContaining({ call: 'lambda:AddPermission', reason: back.results[0]!.error?.message }),
      ])
      // The journal's after state is what is in place: the five re-added.
      const last = ctx.case.journal.all().at(-1)!
      expect(last).toMatchObject({ action: 'containment.permissions', outcome: 'denied' })
      expect((last.after as PermissionsState).statements.map((x) => x.sid).sort()).toEqual(now.sort())
      // What was reopened is named, though the restore did not finish.
      const reopened = back.warnings.filter((w) => w.startsWith('reachable'))
      expect(reopened).toEqual([
        expect.stringMatching(
          /^reachable from outside the account again: perm-redo \(public statements [^)]+\)\. /,
        ),
      ])
      expect(
        reopened[0]!
          .match(/public statements ([^)]+)\)/)![1]!
          .split(', ')
          .sort(),
      ).toEqual(now.sort())

      // Run again, it re-adds only the one left, and names it.
      const again = await restoreCase(ctx, {})
      expect(again.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'undone']])
      expect(again.warnings.filter((w) => w.startsWith('reachable'))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^reachable from outside the account again: perm-redo \\(public statement ${refused}\\)\\. `,
          ),
        ),
      ])
      expect(await functionState(moto.endpoint(), 'perm-redo', role.name)).toEqual(before)
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })

  it('a mapping Lambda refuses to disable is named in a gap, and every other mapping is still disabled', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'esm-deny-role' })
    await seedFunction(moto.endpoint(), { name: 'esm-deny', roleArn: role.arn })
    const a = await seedSqsMapping(moto.endpoint(), 'esm-deny', 'esm-deny-a')
    const b = await seedSqsMapping(moto.endpoint(), 'esm-deny', 'esm-deny-b')
    const c = await seedSqsMapping(moto.endpoint(), 'esm-deny', 'esm-deny-c')
    const uuids = [a.uuid, b.uuid, c.uuid].sort()
    const refused = uuids[0]!
    const before = await functionState(moto.endpoint(), 'esm-deny', role.name)
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [
        {
          match: (req) => req.operation === 'UpdateEventSourceMapping' && req.path.endsWith(`/${refused}`),
          fault: 'access-denied',
        },
      ],
    }).start()
    try {
      const ctx = await testContext(proxy.endpoint, { caseId: 'C-ED' })
      const r = await containFunction(ctx, {
        function: 'esm-deny',
        actions: ['event-sources'],
        snapshot: fakeSnapshot(),
      })
      expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.event-sources', 'denied']])
      // Before: fir stopped at the first mapping (the first in order), leaving the others enabled.
      const mappings = (await functionState(moto.endpoint(), 'esm-deny', role.name)).mappings
      expect(mappings).toEqual(
        Object.fromEntries(uuids.map((u) => [u, u === refused ? 'Enabled' : 'Disabled'])),
      )
      expect(ctx.gaps.list).toEqual([
        expect.objectContaining({
          call: 'lambda:UpdateEventSourceMapping',
          reason: expect.stringMatching(
            new RegExp(
              `unable to disable 1 of 3 event source mappings of function esm-deny: mapping ${refused} \\(arn:aws:sqs:[^)]+\\): .*lambda:UpdateEventSourceMapping.*; the other 2 were disabled`,
            ),
          ),
        }),
      ])
      // Restore re-enables what was disabled; the refused one, never disabled, is left as it is.
      const back = await restoreCase(ctx, {})
      expect(back.results.map((x) => [x.step, x.outcome])).toEqual([['containment.event-sources', 'undone']])
      expect(await functionState(moto.endpoint(), 'esm-deny', role.name)).toEqual(before)
      await ctx.case.close()
    } finally {
      await proxy.stop()
    }
  })

  it('containing a second function of a shared role moves the revocation cutoff to now', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'shared-role' })
    await seedFunction(moto.endpoint(), { name: 'shared-a', roleArn: role.arn })
    await seedFunction(moto.endpoint(), { name: 'shared-b', roleArn: role.arn })
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-4' })
    const cutoff = async () => {
      const st = await functionState(moto.endpoint(), 'shared-a', 'shared-role')
      return (
        st.roleInlinePolicies['fir-revoke-C-4'] as {
          Statement: { Condition: { DateLessThan: Record<string, string> } }[]
        }
      ).Statement[0]!.Condition.DateLessThan['aws:TokenIssueTime']!
    }
    const a = await containFunction(ctx, {
      function: 'shared-a',
      actions: ['sessions'],
      snapshot: fakeSnapshot(),
    })
    expect(a.results[0]!.outcome).toBe('applied')
    const first = await cutoff()
    await new Promise((r) => setTimeout(r, 1100))
    const again = await containFunction(ctx, {
      function: 'shared-a',
      actions: ['sessions'],
      snapshot: fakeSnapshot(),
    })
    expect(again.results[0]!.outcome).toBe('already-applied')
    const b = await containFunction(ctx, {
      function: 'shared-b',
      actions: ['sessions'],
      snapshot: fakeSnapshot(),
    })
    expect(b.results[0]!.outcome).toBe('applied')
    expect(Date.parse(await cutoff())).toBeGreaterThan(Date.parse(first))
    const b2 = await containFunction(ctx, {
      function: 'shared-b',
      actions: ['sessions'],
      snapshot: fakeSnapshot(),
    })
    expect(b2.results[0]!.outcome).toBe('already-applied')
    // restore --actions sessions removes it (the earliest prior: no policy)
    const r = await restoreCase(ctx, { actions: ['sessions'] })
    expect(r.results.map((x) => x.outcome)).toEqual(['undone'])
    expect((await functionState(moto.endpoint(), 'shared-a', 'shared-role')).roleInlinePolicies).toEqual({})
    await ctx.case.close()
  })

  it('removes statements pinned to another account or organisation (SourceAccount, SourceArn, PrincipalOrgID), keeps those pinned to its own, and restore re-adds them', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'pinned-role' })
    await seedFunction(moto.endpoint(), { name: 'pinned', roleArn: role.arn })
    const pinned: PermissionSpec[] = [
      ...PINNED_STATEMENTS,
      {
        sid: 'own-topic',
        principal: 'sns.amazonaws.com',
        sourceArn: `arn:aws:sns:us-east-1:${TEST_ACCOUNT}:orders`,
      },
      // another account's bucket: the bucket ARN names no account, SourceAccount names the other
      {
        sid: 'attacker-s3',
        principal: 's3.amazonaws.com',
        sourceAccount: '999999999999',
        sourceArn: 'arn:aws:s3:::attacker-bucket',
      },
    ]
    for (const p of pinned) await seedPermission(moto.endpoint(), 'pinned', p)
    const before = await functionState(moto.endpoint(), 'pinned', role.name)

    // moto's account is in no organisation: o-attacker123 cannot be its own
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-5' })
    const r = await containFunction(ctx, {
      function: 'pinned',
      actions: ['permissions'],
      snapshot: fakeSnapshot(),
    })
    expect(r.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'applied']])
    expect(
      Object.keys((await functionState(moto.endpoint(), 'pinned', role.name)).statements).sort(),
    ).toEqual(['own-account', 'own-topic'])
    expect(ctx.gaps.list).toEqual([])
    const back = await restoreCase(ctx, { function: 'pinned' })
    expect(back.results.map((x) => [x.step, x.outcome])).toEqual([['containment.permissions', 'undone']])
    expect(await functionState(moto.endpoint(), 'pinned', role.name)).toEqual(before)
    await ctx.case.close()

    // DescribeOrganization denied: the organisation cannot be confirmed, so the statement goes
    // (restore re-adds it), the plan says why, and the denied call is a gap
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'DescribeOrganization', fault: 'access-denied' }],
    }).start()
    try {
      const denied = await testContext(proxy.endpoint, { caseId: 'C-6' })
      const d = await containFunction(denied, {
        function: 'pinned',
        actions: ['permissions'],
        snapshot: fakeSnapshot(),
      })
      expect(d.results[0]!.outcome).toBe('applied')
      expect(d.plans[0]!.notes.join('\n')).toMatch(
        /could not confirm the account's organisation \(denied: .*\): statements narrowed by aws:PrincipalOrgID are treated as public and are to be removed; restore re-adds them/,
      )
      expect(denied.gaps.list).toEqual([
        expect.objectContaining({
          call: 'organizations:DescribeOrganization',
          what: expect.stringContaining(TEST_ACCOUNT),
        }),
      ])
      expect(
        Object.keys((await functionState(moto.endpoint(), 'pinned', role.name)).statements).sort(),
      ).toEqual(['own-account', 'own-topic'])
      await restoreCase(denied, { function: 'pinned' })
      expect(await functionState(moto.endpoint(), 'pinned', role.name)).toEqual(before)
      await denied.case.close()
    } finally {
      await proxy.stop()
    }

    // Once the account is in an organisation, a statement for that organisation stays
    const { Organization } = await orgs(moto.endpoint()).send(
      new CreateOrganizationCommand({ FeatureSet: 'ALL' }),
    )
    await seedPermission(moto.endpoint(), 'pinned', {
      sid: 'own-org',
      principal: '*',
      principalOrgId: Organization!.Id!,
    })
    const member = await testContext(moto.endpoint(), { caseId: 'C-7' })
    await containFunction(member, { function: 'pinned', actions: ['permissions'], snapshot: fakeSnapshot() })
    expect(
      Object.keys((await functionState(moto.endpoint(), 'pinned', role.name)).statements).sort(),
    ).toEqual(['own-account', 'own-org', 'own-topic'])
    await member.case.close()
  })
})

describe('a secret that is the function name, or a part of it', () => {
  it('leaves every identifier the journal keeps whole, so restore puts back every change; the secret is still redacted where it stands alone', async () => {
    // Before: DB_PASSWORD set to a part of the function's name turned every target, function ARN,
    // role name, mapping source ARN and statement Resource in the journal into a marker; restore
    // then failed every step ("? → ? failed") and called the disabled mapping deleted since.
    const secret = `ledger${randomBytes(2).toString('hex')}`
    const name = `${secret}-api`
    const role = await seedRole(moto.endpoint(), { name: `${name}-role` })
    await seedFunction(moto.endpoint(), {
      name,
      roleArn: role.arn,
      env: { DB_PASSWORD: secret },
      description: `reads DB_PASSWORD=${secret}`,
    })
    await sdk(moto.endpoint()).lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 5 }),
    )
    await seedFunctionUrl(moto.endpoint(), name, 'NONE')
    await seedPermission(moto.endpoint(), name, { sid: 'public-invoke', principal: '*' })
    await seedSqsMapping(moto.endpoint(), name, `${name}-queue`)
    const before = await functionState(moto.endpoint(), name, role.name)
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-RID' })
    const contained = await containFunction(ctx, { function: name, snapshot: snapshotPort, confirmed: true })
    expect(contained.results.map((r) => [r.step, r.outcome])).toEqual([
      ['containment.event-sources', 'applied'],
      ['containment.throttle', 'applied'],
      ['containment.url', 'applied'],
      ['containment.permissions', 'applied'],
      ['containment.sessions', 'applied'],
      ['containment.recycle', 'applied'],
    ])
    // Only the description quoting the secret cannot be put back (it is kept redacted).
    expect(contained.results.flatMap((r) => r.notes ?? []).filter((n) => n.includes('secret value'))).toEqual(
      [expect.stringMatching(/^restore cannot put description: "reads DB_PASSWORD=‹redacted len=10 sha256:/)],
    )
    const started = ctx.case.journal.all().filter((e) => e.outcome === 'started')
    const arn = `arn:aws:lambda:us-east-1:${TEST_ACCOUNT}:function:${name}`
    for (const e of started) expect(e.params).toMatchObject({ function: name, functionArn: arn })
    const text = JSON.stringify(ctx.case.journal.all())
    expect(text).toContain(`"eventSourceArn":"arn:aws:sqs:us-east-1:${TEST_ACCOUNT}:${name}-queue"`)
    expect(text).toContain(`"Resource":"${arn}"`)
    expect(text).toContain(`"target":"${role.arn}"`)
    expect(text).toContain(`DB_PASSWORD=${redactValue(secret)}`)
    expect(text).not.toContain(`DB_PASSWORD=${secret}`)

    const restored = await restoreCase(ctx, { function: name, confirmed: true })
    expect(restored.results.map((r) => [r.step, r.label, r.outcome])).toEqual([
      ['containment.recycle', name, 'skipped'],
      ['containment.sessions', `${name}-role`, 'skipped'],
      ['containment.permissions', name, 'undone'],
      ['containment.url', name, 'undone'],
      ['containment.throttle', name, 'undone'],
      ['containment.event-sources', name, 'undone'],
    ])
    const after = await functionState(moto.endpoint(), name, role.name)
    expect({ ...after, description: '', roleInlinePolicies: {} }).toEqual({ ...before, description: '' })
    await ctx.case.close()
  })
  it('a number secret equal to the reserved concurrency: the throttle journals it verbatim, and restore puts it back', async () => {
    // Before: DB_PASSWORD=100 and reserved concurrency 100 journaled the throttle's prior state as
    // a marker (`"reserved":"‹redacted len=3 …›"`): restore could not put the concurrency back.
    const name = `pin-${randomBytes(3).toString('hex')}`
    const role = await seedRole(moto.endpoint(), { name: `${name}-role` })
    await seedFunction(moto.endpoint(), { name, roleArn: role.arn, env: { DB_PASSWORD: '100' } })
    await sdk(moto.endpoint()).lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 100 }),
    )
    const before = await functionState(moto.endpoint(), name, role.name)
    const ctx = await testContext(moto.endpoint(), { caseId: 'C-RNUM' })
    const contained = await containFunction(ctx, { function: name, snapshot: snapshotPort, confirmed: true })
    const throttle = contained.results.find((r) => r.step === 'containment.throttle')!
    expect([throttle.outcome, throttle.notes]).toEqual(['applied', []])
    const started = ctx.case.journal
      .all()
      .find((e) => e.action === 'containment.throttle' && e.outcome === 'started')!
    expect(started.prior).toEqual({ reserved: 100 })

    const restored = await restoreCase(ctx, { function: name, confirmed: true })
    expect(restored.results.find((r) => r.step === 'containment.throttle')).toMatchObject({
      outcome: 'undone',
      afterText: 'reserved concurrency: 100',
    })
    const after = await functionState(moto.endpoint(), name, role.name)
    expect({ ...after, roleInlinePolicies: {} }).toEqual(before)
    await ctx.case.close()
  })
})
