import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ListAccessKeysCommand } from '@aws-sdk/client-iam'
import { afterEach, describe, expect, it } from 'vitest'
import { restoreCase } from '../../../src/core/containment/restore.js'
import { rotateAccessKey } from '../../../src/core/credentials/rotate-key.js'
import { useMoto } from '../../support/emulator.js'
import { FaultProxy, type RequestInfo } from '../../support/fault-proxy.js'
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
