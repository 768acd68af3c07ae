import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam'
import { afterEach, describe, expect, it } from 'vitest'
import { verifyCase } from '../../../src/core/case/verify.js'
import { restoreCase } from '../../../src/core/containment/restore.js'
import { rotateAccessKey, rotateKeyStep } from '../../../src/core/credentials/rotate-key.js'
import { rotateKeyAction } from '../../../src/core/playbook/actions/credentials.js'
import type { StepRun } from '../../../src/core/playbook/runner.js'
import { viewJournal } from '../../../src/core/report/journal-view.js'
import { UsageError } from '../../../src/errors.js'
import { useMoto } from '../../support/emulator.js'
import { FaultProxy, type HoldRule, type RequestInfo } from '../../support/fault-proxy.js'
import { seedClients, seedUserWithKey } from '../../support/seed.js'
import { testContext } from '../containment/state.js'

const moto = useMoto()

async function keysOf(user: string): Promise<Record<string, string>> {
  const out = await seedClients(moto.endpoint()).iam.send(new ListAccessKeysCommand({ UserName: user }))
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId!, k.Status!]))
}

/** Matches the calls of one operation from the n-th on (1-based). */
function fromNth(operation: string, n: number): (r: RequestInfo) => boolean {
  let seen = 0
  return (r) => r.operation === operation && ++seen >= n
}

let proxy: FaultProxy | undefined
afterEach(async () => {
  await proxy?.stop()
  proxy = undefined
})

describe('creds rotate-key: a change that fails after the new key was made', () => {
  it('reports the new key and its secret file, says the rotation was partly made, and a re-run finishes it without a third key', async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'partial-1')
    proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'UpdateAccessKey', fault: 'access-denied', count: 1 }],
    }).start()
    const ctx = await testContext(proxy.endpoint, { caseId: 'RK-P1' })
    const r = await rotateAccessKey(ctx, { user: u.userName, confirmed: true })

    const row = r.results[0]!
    expect(row.outcome).toBe('denied')
    const keys = await keysOf(u.userName)
    const newId = Object.keys(keys).find((k) => k !== u.accessKeyId)!
    expect(keys).toEqual({ [u.accessKeyId]: 'Active', [newId]: 'Active' })
    // Before: newAccessKeyId null, secretFile null, newKeyMadeNow false, though the key was made.
    expect(r).toMatchObject({
      newAccessKeyId: newId,
      secretFile: `secrets/partial-1-${newId}.json`,
      newKeyMadeNow: true,
      partlyMade: true,
    })
    expect((await stat(join(ctx.case.dir, r.secretFile!))).mode & 0o777).toBe(0o600)
    expect(row.partlyMade).toBe(true)
    expect(row.notes.join('\n')).toMatch(/partly made.*run it again to finish it/)
    // Before: `the old key … is deactivated, not deleted`, though it was still Active.
    expect(row.notes.join('\n')).not.toMatch(/ is deactivated/)
    expect(row.notes.join('\n')).toContain(`the old key ${u.accessKeyId} is to be deactivated`)
    expect(r.rerun).toBe(
      `fir creds rotate-key --user partial-1 --access-key ${u.accessKeyId} --yes --region us-east-1 --endpoint-url ${proxy.endpoint} --case ${ctx.case.dir}`,
    )
    // The journal holds what undo and a re-run need: the prior, and the key made, as fir's.
    const failed = ctx.case.journal
      .all()
      .filter((e) => e.action === 'credentials.rotate-key')
      .at(-1)!
    expect(failed.outcome).toBe('denied')
    expect((failed.after as { firKeyIds: string[] }).firKeyIds).toEqual([newId])

    // Re-run (the denial was once): deactivates the old key, makes no third key.
    const again = await rotateAccessKey(ctx, { user: u.userName, confirmed: true })
    expect(again.results[0]!.outcome).toBe('applied')
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [newId]: 'Active' })
    expect(again).toMatchObject({
      newAccessKeyId: newId,
      newKeyMadeNow: false,
      partlyMade: false,
      rerun: null,
    })
    const secret = JSON.parse(await readFile(join(ctx.case.dir, again.secretFile!), 'utf8'))
    expect(secret.AccessKey.AccessKeyId).toBe(newId)
    // Undo, from the journal, reactivates the old key (the prior of the first attempt); the new stays.
    const back = await restoreCase(ctx, { actions: ['rotate-key'], confirmed: true })
    expect(back.results.map((x) => x.outcome)).toEqual(['undone'])
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [newId]: 'Active' })
  })

  it('when the state cannot be read back after the change, still names the key made and what fir did', async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'partial-2')
    // ListAccessKeys: the plan's read (1), apply's read (2), the change's final list (3), the re-read (4).
    proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: fromNth('ListAccessKeys', 3), fault: 'access-denied' }],
    }).start()
    const ctx = await testContext(proxy.endpoint, { caseId: 'RK-P2' })
    const r = await rotateAccessKey(ctx, { user: u.userName, confirmed: true })
    const row = r.results[0]!
    expect(row.outcome).toBe('denied')
    const keys = await keysOf(u.userName)
    const newId = Object.keys(keys).find((k) => k !== u.accessKeyId)!
    expect(keys).toEqual({ [u.accessKeyId]: 'Inactive', [newId]: 'Active' })
    // Before: `AKIA… Active → ?`, and no key named.
    expect(row.afterText).toBe(`${u.accessKeyId} Inactive; ${newId} Active (new, by fir)`)
    expect(r).toMatchObject({ newAccessKeyId: newId, newKeyMadeNow: true, partlyMade: true })
    expect(row.notes.join('\n')).toMatch(
      /the change was made \(as its calls left it: the state could not be read back\), but a call of it failed: run it again to confirm it/,
    )
  })
})

/**
 * Someone else makes a key for `userName` while fir's CreateAccessKey is held at the proxy
 * (`hold`); `made` is that key once the call went on.
 */
function keyMadeMeanwhile(userName: string): { hold: HoldRule; made: { id: string; created: string } } {
  const made = { id: '', created: '' }
  const hold: HoldRule = {
    match: 'CreateAccessKey',
    count: 1,
    run: async () => {
      const key = (
        await seedClients(moto.endpoint()).iam.send(new CreateAccessKeyCommand({ UserName: userName }))
      ).AccessKey!
      made.id = key.AccessKeyId!
      made.created = key.CreateDate!.toISOString()
    },
  }
  return { hold, made }
}

describe('creds rotate-key: someone else makes a key while fir rotates', () => {
  it("fir's CreateAccessKey refused for it: the key is named as not fir's, never as fir's lost key, and nothing is called partly made", async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'raced-1')
    // Someone makes the user's second key while fir's CreateAccessKey is on its way: AWS then
    // refuses fir's (LimitExceeded), and fir has made nothing.
    const someone = keyMadeMeanwhile(u.userName)
    proxy = await new FaultProxy(moto.endpoint(), { holds: [someone.hold] }).start()
    const ctx = await testContext(proxy.endpoint, { caseId: 'RK-R1' })
    const r = await rotateAccessKey(ctx, { user: u.userName, confirmed: true })
    const { id: other, created: otherCreated } = someone.made

    const row = r.results[0]!
    expect(row.outcome).toBe('failed')
    expect(row.error?.code).toBe('limit-exceeded')
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [other]: 'Active' })
    // Before: `… AKIA…(made by fir, secret lost)`, "the change was partly made: run it again to
    // finish it", and lostKeyIds [the other person's key].
    expect(row.afterText).toBe(`${u.accessKeyId} Active; ${other} Active (appeared during the rotation)`)
    expect(r).toMatchObject({ partlyMade: false, rerun: null, newAccessKeyId: null })
    expect(r.maybeLostKeyIds).toEqual([])
    const notes = row.notes.join('\n')
    expect(notes).not.toMatch(/partly made|secret lost|lost/)
    expect(notes).toContain(
      `access key ${other} (Active, created ${otherCreated}) appeared on user raced-1 while fir was rotating its key, and fir did not make it (AWS refused every CreateAccessKey fir sent): someone else made it`,
    )
    expect(notes).toContain('it may be an intruder')
    const failed = ctx.case.journal.all().at(-1)!
    expect(failed).toMatchObject({ action: rotateKeyStep.id, outcome: 'failed' })
    expect(failed.after).not.toHaveProperty('lostKeyIds')
    expect(failed.after).not.toHaveProperty('maybeLostKeyIds')
    expect(failed.after).toMatchObject({ appearedKeyIds: [other], firKeyIds: [] })
    // The report says the same.
    const action = viewJournal(ctx.case.journal.all()).actions.at(-1)!
    expect(action.notes.join('\n')).toContain(
      `access key ${other} (Active, created ${otherCreated}) appeared`,
    )
    expect(`${action.after} ${action.notes.join(' ')}`).not.toMatch(/lost|partly made/)
  })

  it("fir's CreateAccessKey unanswered: the key is said to be maybe the one that call made, maybe someone else's", async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'raced-2')
    // The key appears, and fir's call gets no answer: as when AWS made the key and the answer was lost.
    const someone = keyMadeMeanwhile(u.userName)
    proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'CreateAccessKey', fault: 'drop', count: 1 }],
      holds: [someone.hold],
    }).start()
    const ctx = await testContext(proxy.endpoint, { caseId: 'RK-R2' })
    const r = await rotateAccessKey(ctx, { user: u.userName, confirmed: true })
    const other = someone.made.id
    const row = r.results[0]!
    expect(row.outcome).toBe('failed')
    expect(row.afterText).toBe(`${u.accessKeyId} Active; ${other} Active (appeared during the rotation)`)
    expect(row.notes.join('\n')).toContain(
      `appeared on user raced-2 while fir was rotating its key; fir's CreateAccessKey got no answer, so it may be the key that call made (its secret lost with the answer) or a key someone else made, and fir cannot tell which`,
    )
    expect(r.partlyMade).toBe(false)
  })
})

describe('creds rotate-key: a run killed after CreateAccessKey, before it journaled the new key', () => {
  /**
   * What such a run leaves: its `started` entry (prior: the user's one key), no outcome, no
   * secret-file record, and in AWS a second key whose secret only the killed process ever had.
   */
  async function killedRotation(
    user: string,
    caseId: string,
    options: { at?: string; endpoint?: string } = {},
  ) {
    const u = await seedUserWithKey(moto.endpoint(), user)
    const ctx = await testContext(options.endpoint ?? moto.endpoint(), { caseId })
    const params = { user: u.userName, accessKey: u.accessKeyId, deleteOld: false }
    const plan = await rotateKeyStep.plan(ctx, params)
    await ctx.case.journal.append({
      action: rotateKeyStep.id,
      target: plan.target,
      params,
      outcome: 'started',
      prior: plan.before,
      undo: { intendedAfter: plan.after },
      ...(options.at ? { at: options.at } : {}),
    })
    const made = await seedClients(moto.endpoint()).iam.send(new CreateAccessKeyCommand({ UserName: user }))
    return {
      u,
      ctx,
      lost: made.AccessKey!.AccessKeyId!,
      lostCreated: made.AccessKey!.CreateDate!.toISOString(),
    }
  }

  /** What the plan says of the killed run's key: that it may be fir's, not that it is. */
  const maybeNote = (lost: string, created: string) =>
    new RegExp(
      `^${lost} \\(Active, created ${created.replace(/\./g, '\\.')}\\) may be the key a run of this case made and was killed before it saved the key's secret: that rotation started \\S+ and never finished, the user's keys read just before it did not include ${lost}, and ${lost} was created (\\d+ s after|\\d+ s before|within a second of when) it started\\. If it is, its secret is lost and nothing can use it; but someone else \\(a colleague, an intruder\\) may have made it in that time, and fir cannot tell which\\. fir cuts the leaked key off first, then deactivates ${lost} \\(reversible: fir restore --actions rotate-key .*\\); it does not delete it`,
    )

  it("a re-run says the key may be the killed run's, cuts the leaked key off and deactivates that key, never deletes it, and stops before the new key, naming the choice", async () => {
    const { u, ctx, lost, lostCreated } = await killedRotation('killed-1', 'RK-K1')
    const seqBefore = ctx.case.journal.all().length

    // Before: the plan said "is a key fir made in a run of this case that was killed before it
    // saved the key's secret … nothing can use the key", and the run deleted it (irreversible).
    const r = await rotateAccessKey(ctx, { user: u.userName, accessKey: u.accessKeyId, confirmed: true })
    const row = r.results[0]!
    expect(row.outcome).toBe('failed')
    expect(row.error?.code).toBe('limit-exceeded')
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [lost]: 'Inactive' })
    expect(r).toMatchObject({
      newAccessKeyId: null,
      maybeLostKeyIds: [lost],
      maybeLostKeysActive: [],
      newKeyBlockedBy: [lost],
    })
    expect(r.rerun).toContain(`fir creds rotate-key --user killed-1 --access-key ${u.accessKeyId}`)
    expect(row.notes[0]).toMatch(maybeNote(lost, lostCreated))
    expect(row.notes.join('\n')).not.toMatch(/is a key fir made|secret lost\)/)
    expect(row.notes[1]).toContain(
      `no new key can be made while ${lost} holds the user's second place (AWS allows two keys, active or not): the rotation stops once the leaked key is cut off. If ${lost} is that lost key (never used, and nobody made it), delete it (aws iam delete-access-key --user-name killed-1 --access-key-id ${lost}`,
    )
    expect(row.beforeText).toBe(`${u.accessKeyId} Active; ${lost} Active (maybe a killed run's lost key)`)
    // Before: "the change was partly made: run it again to finish it", though a re-run stops at
    // the same place until the responder deals with the key.
    expect(row.partlyMade).toBe(true)
    expect(row.notes.join('\n')).not.toMatch(/run it again to finish it/)
    expect(row.notes).toContain(
      `the change was partly made: running it again does not finish it while ${lost} holds the user's second place (AWS allows two keys): delete ${lost} first if it is the lost key, or run it with --delete-old, which deletes the leaked key instead and frees its place`,
    )

    // Journaled before it was made, with what undo needs: the key it deactivated.
    const entries = ctx.case.journal.all().slice(seqBefore)
    const started = entries.find((e) => e.action === rotateKeyStep.id && e.outcome === 'started')!
    expect(started.prior).toMatchObject({ maybeLostKeyIds: [lost] })
    expect((started.undo as { intendedAfter: unknown }).intendedAfter).toMatchObject({
      keys: [
        { id: u.accessKeyId, status: 'Inactive' },
        { id: lost, status: 'Inactive' },
      ],
      deactivatedKeyIds: [lost],
    })
    expect(entries.map((e) => `${e.action} ${e.outcome}`)).toEqual([
      'aws.identity recorded',
      'credentials.rotate-key started',
      'credentials.rotate-key failed',
    ])
    expect(entries.at(-1)!.after).toMatchObject({ deactivatedKeyIds: [lost] })

    // The responder finds it unused and deletes it: the re-run makes the new key.
    await seedClients(moto.endpoint()).iam.send(
      new DeleteAccessKeyCommand({ UserName: u.userName, AccessKeyId: lost }),
    )
    const again = await rotateAccessKey(ctx, { user: u.userName, accessKey: u.accessKeyId, confirmed: true })
    expect(again.results[0]!.outcome).toBe('applied')
    const keys = await keysOf(u.userName)
    const newId = Object.keys(keys).find((k) => k !== u.accessKeyId)!
    expect(keys).toEqual({ [u.accessKeyId]: 'Inactive', [newId]: 'Active' })
    expect(again).toMatchObject({ newAccessKeyId: newId, newKeyMadeNow: true, maybeLostKeyIds: [] })
    const secret = JSON.parse(await readFile(join(ctx.case.dir, again.secretFile!), 'utf8'))
    expect(secret.AccessKey.AccessKeyId).toBe(newId)
    expect((await verifyCase(ctx.case.dir)).problems).toEqual([])

    // Done: a second re-run is already-applied.
    const done = await rotateAccessKey(ctx, { user: u.userName, confirmed: true })
    expect(done.results[0]!.outcome).toBe('already-applied')
    // Said as it is, not as intent (it had said "is to be deactivated" of a key already inactive).
    expect(done.results[0]!.notes).toContain(`the old key ${u.accessKeyId} is inactive already`)
    expect(done.results[0]!.notes.join('\n')).not.toContain('is to be')

    // Undo from the first (killed) attempt's prior: the old key comes back; the new key stays.
    const back = await restoreCase(ctx, { actions: ['rotate-key'], confirmed: true })
    expect(back.results.map((x) => x.outcome)).toEqual(['undone'])
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [newId]: 'Active' })
  })

  it("restore reactivates the key fir deactivated as maybe lost; reactivated, it is the user's: the two-key refusal stands", async () => {
    const { u, ctx, lost } = await killedRotation('killed-5', 'RK-K5')
    const r = await rotateAccessKey(ctx, { user: u.userName, accessKey: u.accessKeyId, confirmed: true })
    expect(r.newKeyBlockedBy).toEqual([lost])
    const back = await restoreCase(ctx, { actions: ['rotate-key'], confirmed: true })
    expect(back.results.map((x) => x.outcome)).toEqual(['undone'])
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [lost]: 'Active' })
    await expect(
      rotateAccessKey(ctx, { user: u.userName, accessKey: u.accessKeyId, confirmed: true }),
    ).rejects.toThrow(/already has two keys/)
  })

  it("with --delete-old the leaked key's place is freed: the new key is made, the maybe-lost key stays inactive, and restore reactivates it", async () => {
    const { u, ctx, lost } = await killedRotation('killed-6', 'RK-K6')
    const r = await rotateAccessKey(ctx, {
      user: u.userName,
      accessKey: u.accessKeyId,
      deleteOld: true,
      confirmed: true,
    })
    expect(r.results[0]!.outcome).toBe('applied')
    const newId = r.newAccessKeyId!
    expect(await keysOf(u.userName)).toEqual({ [lost]: 'Inactive', [newId]: 'Active' })
    expect(r).toMatchObject({ maybeLostKeyIds: [lost], maybeLostKeysActive: [], newKeyBlockedBy: [] })
    const back = await restoreCase(ctx, { actions: ['rotate-key'], confirmed: true })
    expect(back.results.map((x) => x.outcome)).toEqual(['undone'])
    expect(back.results[0]!.notes).toContain(
      `access key ${u.accessKeyId} was deleted by fir (--delete-old); nothing to reactivate (a deleted key cannot come back)`,
    )
    expect(await keysOf(u.userName)).toEqual({ [lost]: 'Active', [newId]: 'Active' })
  })

  it('without an access key (playbook action, user only) the maybe-lost key is not taken for a second key of the user, and the summary names it', async () => {
    const { u, ctx, lost } = await killedRotation('killed-2', 'RK-K2')
    // Before: "; deleted <key>: made by an earlier run of this case killed before saving its secret".
    const r = await rotateKeyAction({ ctx } as unknown as StepRun, { user: u.userName, replace: false })
    expect(r.outcome).toBe('applied')
    expect(r.outputs.rotated).toEqual([u.accessKeyId])
    expect(r.summary).toContain(
      `; deactivated ${lost} (reversible): it may be a key an earlier run of this case made and was killed before saving its secret (then nothing can use it), or someone else's`,
    )
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [lost]: 'Inactive' })
  })

  it('when deactivating the maybe-lost key is refused, the leaked key is cut off all the same and a re-run goes on', async () => {
    proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: fromNth('UpdateAccessKey', 2), fault: 'access-denied', count: 1 }],
    }).start()
    const { u, ctx, lost } = await killedRotation('killed-4', 'RK-K4', { endpoint: proxy.endpoint })
    const r = await rotateAccessKey(ctx, { user: u.userName, accessKey: u.accessKeyId, confirmed: true })
    expect(r.results[0]!.outcome).toBe('denied')
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [lost]: 'Active' })
    // Before: newKeyBlockedBy [] and "run it again to finish it": a re-run deactivates the
    // maybe-lost key, then stops where the blocked case does.
    expect(r).toMatchObject({
      maybeLostKeyIds: [lost],
      maybeLostKeysActive: [lost],
      partlyMade: true,
      newAccessKeyId: null,
      newKeyBlockedBy: [lost],
    })
    expect(r.results[0]!.notes.join('\n')).not.toMatch(/run it again to finish it/)
    expect(r.results[0]!.notes.join('\n')).toContain(
      `running it again does not finish it while ${lost} holds the user's second place`,
    )
    const again = await rotateAccessKey(ctx, { user: u.userName, accessKey: u.accessKeyId, confirmed: true })
    expect(again).toMatchObject({ maybeLostKeyIds: [lost], maybeLostKeysActive: [], newKeyBlockedBy: [lost] })
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [lost]: 'Inactive' })
  })

  it("a key made long after the killed run is the user's (someone else made it): the two-key refusal stands", async () => {
    // The killed run an hour ago: the key made now is not its key.
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString()
    const { u, ctx, lost } = await killedRotation('killed-3', 'RK-K3', { at: hourAgo })
    await expect(
      rotateAccessKey(ctx, { user: u.userName, accessKey: u.accessKeyId, confirmed: true }),
    ).rejects.toThrow(/already has two keys/)
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [lost]: 'Active' })
  })
})

describe('creds rotate-key: a user with two keys', () => {
  it('when the leaked key is inactive already, does not advise deactivating it: deleting it (journaled) or the other, and that advice works', async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'two-inactive')
    const iam = seedClients(moto.endpoint()).iam
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: u.userName, AccessKeyId: u.accessKeyId, Status: 'Inactive' }),
    )
    const other = (await iam.send(new CreateAccessKeyCommand({ UserName: u.userName }))).AccessKey!
      .AccessKeyId!
    const ctx = await testContext(moto.endpoint(), { caseId: 'RK-2I' })
    const err = await rotateAccessKey(ctx, {
      user: u.userName,
      accessKey: u.accessKeyId,
      confirmed: true,
    }).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect(err.message).toMatch(/already has two keys .* and AWS allows no third$/)
    const actions = (err as UsageError).actions
    // Before: "to cut the leaked key off now, deactivate it … update-access-key … --status Inactive"
    // (and rotate-key --no-replace, which has nothing left to do) for a key inactive already.
    expect(actions.join('\n')).not.toMatch(/deactivate|update-access-key|cut the leaked key off/)
    expect(actions[0]).toBe(
      `${u.accessKeyId} is inactive already (nothing can sign with it): to make room for the new key, delete it, journaled (it cannot be undone): fir creds rotate-key --user two-inactive --access-key ${u.accessKeyId} --no-replace --delete-old --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${ctx.case.dir}`,
    )
    expect(actions[1]).toContain(
      `or delete the other key if it is unused: aws iam delete-access-key --user-name two-inactive --access-key-id ${other}`,
    )
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [other]: 'Active' })

    // As advised: the leaked key deleted, then the command run again makes the new key.
    const deleted = await rotateAccessKey(ctx, {
      user: u.userName,
      accessKey: u.accessKeyId,
      replace: false,
      deleteOld: true,
      confirmed: true,
    })
    expect(deleted.results[0]!.outcome).toBe('applied')
    expect(await keysOf(u.userName)).toEqual({ [other]: 'Active' })
    const again = await rotateAccessKey(ctx, { user: u.userName, accessKey: u.accessKeyId, confirmed: true })
    expect(again.results[0]!.outcome).toBe('applied')
    expect(again.newAccessKeyId).toEqual(expect.any(String))
    expect(await keysOf(u.userName)).toEqual({ [other]: 'Active', [again.newAccessKeyId!]: 'Active' })
  })
})

describe('creds rotate-key --delete-old, then restore', () => {
  it('says plainly the deleted key cannot come back (skipped, when and which journal entry), never a conflict nor a reactivation warning, on every restore', async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'deleted-1')
    const ctx = await testContext(moto.endpoint(), { caseId: 'RK-D1' })
    const r = await rotateAccessKey(ctx, { user: u.userName, deleteOld: true, confirmed: true })
    expect(r.results[0]!.outcome).toBe('applied')
    const keys = await keysOf(u.userName)
    expect(Object.keys(keys)).not.toContain(u.accessKeyId)
    const applied = ctx.case.journal
      .all()
      .find((e) => e.action === rotateKeyStep.id && e.outcome === 'applied')!
    const journalLength = ctx.case.journal.all().length

    for (const actions of [['rotate-key'] as const, undefined, ['rotate-key'] as const]) {
      const back = await restoreCase(ctx, { ...(actions ? { actions: [...actions] } : {}), confirmed: true })
      const row = back.results[0]!
      // Before: outcome `conflict`, "conflict: access key … was deleted", and the warnings
      // "reactivating a rotated access key makes the leaked key valid again" and "nothing was
      // restored (conflict): … someone changed it since fir did".
      expect(back.results.map((x) => x.outcome)).toEqual(['skipped'])
      expect(row.notes).toEqual([
        `cannot be undone: fir deleted access key ${u.accessKeyId} of user deleted-1 (--delete-old; journal #${applied.seq}, ${applied.at}), and a deleted key cannot come back; nothing to restore`,
      ])
      expect(back.warnings).toEqual([])
      // Nothing pending was met: the restore journals nothing and the next one says the same.
      expect(ctx.case.journal.all()).toHaveLength(journalLength)
    }
    expect(await keysOf(u.userName)).toEqual(keys)
  })

  it('a key fir only deactivated and someone deleted since has nothing to reactivate: named, undone, and the key is deleted in the report', async () => {
    // Before: a conflict, on every restore, with the warning that someone changed it and to "put
    // back the state fir left" — a deleted key cannot be put back.
    const u = await seedUserWithKey(moto.endpoint(), 'deleted-2')
    const ctx = await testContext(moto.endpoint(), { caseId: 'RK-D2' })
    await rotateAccessKey(ctx, { user: u.userName, confirmed: true })
    await seedClients(moto.endpoint()).iam.send(
      new DeleteAccessKeyCommand({ UserName: u.userName, AccessKeyId: u.accessKeyId }),
    )
    const back = await restoreCase(ctx, { actions: ['rotate-key'], confirmed: true })
    expect(back.results.map((x) => [x.outcome, x.notes])).toEqual([
      [
        'already-undone',
        [
          `access key ${u.accessKeyId} was deleted since fir deactivated it; nothing to reactivate (a deleted key cannot come back)`,
        ],
      ],
    ])
    expect(back.warnings.filter((w) => /conflict/.test(w))).toEqual([])
    expect(viewJournal(ctx.case.journal.all()).keyFates.get(u.accessKeyId)).toBe('deleted')
    expect((await restoreCase(ctx, { actions: ['rotate-key'], confirmed: true })).results).toEqual([])
  })

  it('a user deleted since has nothing to reactivate: named, undone, never a failure', async () => {
    // Before: failed on every restore (a gap, exit 4): ListAccessKeys answered NoSuchEntity.
    const u = await seedUserWithKey(moto.endpoint(), 'deleted-3')
    const ctx = await testContext(moto.endpoint(), { caseId: 'RK-D3' })
    const r = await rotateAccessKey(ctx, { user: u.userName, confirmed: true })
    const { iam } = seedClients(moto.endpoint())
    for (const id of [u.accessKeyId, r.newAccessKeyId!])
      await iam.send(new DeleteAccessKeyCommand({ UserName: u.userName, AccessKeyId: id }))
    await iam.send(new DeleteUserCommand({ UserName: u.userName }))
    const back = await restoreCase(ctx, { actions: ['rotate-key'], confirmed: true })
    expect(back.results.map((x) => [x.outcome, x.notes, x.error])).toEqual([
      ['already-undone', ['user deleted-3 was deleted since fir changed it; nothing to put back'], undefined],
    ])
    expect(ctx.gaps.list).toEqual([])
    expect(ctx.case.journal.all().at(-1)).toMatchObject({
      action: rotateKeyStep.id,
      outcome: 'undone',
      params: { gone: true },
    })
    expect(viewJournal(ctx.case.journal.all()).keyFates.get(u.accessKeyId)).toBe('deleted')
    expect((await restoreCase(ctx, { actions: ['rotate-key'], confirmed: true })).results).toEqual([])
  })
})

describe('creds rotate-key: where the new secret went', () => {
  it('journals and reports where the new key secret was written, not the plan placeholder, and the playbook summary names it', async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'where-1')
    const ctx = await testContext(moto.endpoint(), { caseId: 'RK-W1' })
    // Before: the playbook summary was "rotate <key>: rotate-key applied", silent on the new key.
    const r = await rotateKeyAction({ ctx } as unknown as StepRun, {
      accessKey: u.accessKeyId,
      user: u.userName,
    })
    expect(r.outcome).toBe('applied')
    const [newId] = r.outputs.newAccessKeyIds as string[]
    const file = join(ctx.case.dir, `secrets/where-1-${newId}.json`)
    expect(JSON.parse(await readFile(file, 'utf8')).AccessKey.AccessKeyId).toBe(newId)
    expect(r.summary).toContain(
      `new key ${newId}: its secret is in ${file} (0600); deploy it where the old key was used, then delete the file`,
    )
    // Before: the applied entry kept the plan's "…-<new key id>.json" note, which the report showed.
    const applied = ctx.case.journal
      .all()
      .find((e) => e.action === 'credentials.rotate-key' && e.outcome === 'applied')!
    expect(applied.notes).toContain(
      `new key ${newId}: its secret was written once to ${file} (0600); deploy it, then delete the file`,
    )
    expect(JSON.stringify(applied.notes)).not.toContain('<new key id>')
    const action = viewJournal(ctx.case.journal.all()).actions.find(
      (a) => a.action === 'credentials.rotate-key',
    )!
    expect(action.notes.join('\n')).toContain(`its secret was written once to ${file}`)
    expect(action.notes.join('\n')).not.toContain('<new key id>')
  })
})
