import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  DeleteAccessKeyCommand,
  GetRolePolicyCommand,
  ListAccessKeysCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam'
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager'
import { beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../src/core/common/hash.js'
import { initCase, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { FaultProxy } from '../support/fault-proxy.js'
import {
  LAMBDA_TRUST,
  seedClients,
  seedFunction,
  seedRole,
  seedUserWithKey,
  TEST_ACCOUNT,
} from '../support/seed.js'

const moto = useMoto()

async function newCase(id: string): Promise<{ cwd: string; dir: string }> {
  const cwd = await tempDir()
  return { cwd, dir: await initCase(id, { cwd }) }
}

/** Every file of the case except secrets/, as text. */
async function caseText(dir: string): Promise<string> {
  let text = ''
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) {
        if (p !== join(dir, 'secrets')) await walk(p)
      } else text += await readFile(p, 'utf8')
    }
  }
  await walk(dir)
  return text
}

async function keysOf(user: string) {
  const out = await seedClients(moto.endpoint()).iam.send(new ListAccessKeysCommand({ UserName: user }))
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId!, k.Status!]))
}

describe('fir creds rotate-key (built CLI)', () => {
  it('creates a new key, deactivates the old one, and keeps the secret only in a 0600 file', {
    timeout: 180_000,
  }, async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'deployer-1')
    const { cwd, dir } = await newCase('K-1')
    const args = [
      'creds',
      'rotate-key',
      '--user',
      u.userName,
      '--access-key',
      u.accessKeyId,
      '--case',
      'cases/K-1',
    ]

    const dry = await runFir([...args, '--dry-run'], { cwd, endpoint: moto.endpoint() })
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain('would-apply')
    expect(dry.stdout).toContain(`${join(dir, 'secrets', 'deployer-1-<new key id>.json')} (0600)`)
    const refused = await runFir(args, { cwd, endpoint: moto.endpoint() })
    expect(refused.code).toBe(5)
    expect(refused.stderr).toMatch(/needs confirmation and stdin is not a terminal/)
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active' })
    expect((await readFile(join(dir, 'journal.jsonl'), 'utf8')).includes('"started"')).toBe(false)

    const r = await runFir([...args, '--yes', '--json'], { cwd, endpoint: moto.endpoint() })
    expect(r.code).toBe(0)
    const newId: string = r.json.result.newAccessKeyId
    expect(newId).toMatch(/^AKIA/)
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [newId]: 'Active' })
    const file = join(dir, r.json.result.secretFile)
    expect(file).toBe(join(dir, 'secrets', `deployer-1-${newId}.json`))
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const secret: string = JSON.parse(await readFile(file, 'utf8')).AccessKey.SecretAccessKey
    expect(secret.length).toBeGreaterThanOrEqual(20)
    for (const text of [r.stdout, r.stderr, await caseText(dir)]) expect(text.includes(secret)).toBe(false)

    // idempotent: a re-run finds the rotation done and makes no key
    const again = await runFir([...args, '--yes', '--json'], { cwd, endpoint: moto.endpoint() })
    expect(again.json.result.results[0].outcome).toBe('already-applied')
    // It names the key and file made before (it said "<user>-_new_key_id_.json").
    expect(JSON.stringify(again.json)).toContain(
      `the new key ${newId} was made by an earlier run of this case: its secret is in ${file} (0600)`,
    )
    expect(Object.keys(await keysOf(u.userName))).toHaveLength(2)
    expect(again.json.result.newKeyMadeNow).toBe(false)
    expect(r.json.result.newKeyMadeNow).toBe(true)
    // People are told the same: no secret was written now; the earlier run's file, by path.
    const againHuman = await runFir([...args, '--yes'], { cwd, endpoint: moto.endpoint() })
    expect(againHuman.stdout).toContain(
      `No new key made now: ${newId} was made by an earlier run of this case; its secret is in secrets/deployer-1-${newId}.json (0600, in the case folder), written then.`,
    )
    expect(againHuman.stdout).not.toMatch(/secret written to/)

    // --show-secret prints it, and only then
    const shown = await runFir([...args, '--yes', '--show-secret'], { cwd, endpoint: moto.endpoint() })
    expect(shown.stdout).toContain(`SecretAccessKey=${secret}`)

    // The journal records the secret file (path and SHA-256, never the secret), so verify checks it
    // and knows it as fir's; deleted once deployed, as the responder is told, it is no problem,
    // and its key is still the one this case made.
    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const record = journal.find((e) => e.action === 'case.secret-file')
    expect(record).toMatchObject({
      target: r.json.result.secretFile,
      params: {
        path: r.json.result.secretFile,
        sha256: sha256Hex(await readFile(file)),
        user: u.userName,
        accessKeyId: newId,
      },
    })
    expect((await runFir(['case', 'verify', '--case', dir], { cwd })).code).toBe(0)
    await rm(file)
    expect((await runFir(['case', 'verify', '--case', dir], { cwd })).code).toBe(0)
    const afterDelete = await runFir([...args, '--yes', '--json'], { cwd, endpoint: moto.endpoint() })
    expect(afterDelete.code, afterDelete.stdout).toBe(0)
    expect(afterDelete.json.result.results[0].outcome).toBe('already-applied')
    expect(afterDelete.json.result.newAccessKeyId).toBe(newId)

    // restore leaves the key alone unless rotate-key is named, then warns and reactivates it
    const plain = await runFir(['restore', '--case', 'cases/K-1', '--yes', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(plain.json.result.results).toEqual([
      expect.objectContaining({ step: 'credentials.rotate-key', outcome: 'skipped' }),
    ])
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [newId]: 'Active' })
    const named = await runFir(
      ['restore', '--case', 'cases/K-1', '--actions', 'rotate-key', '--yes', '--json'],
      {
        cwd,
        endpoint: moto.endpoint(),
      },
    )
    expect(named.json.warnings.join('\n')).toMatch(/leaked key valid again/)
    expect(named.json.result.results[0].outcome).toBe('undone')
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [newId]: 'Active' })
  })

  it("after a rotation, refuses a key id that is not the user's (exit 2, naming its keys) instead of calling it already-applied", {
    timeout: 180_000,
  }, async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'ci-deployer')
    const stranger = await seedUserWithKey(moto.endpoint(), 'someone-else')
    const { cwd, dir } = await newCase('K-3')
    const rotate = (key: string, ...extra: string[]) =>
      runFir(
        [
          'creds',
          'rotate-key',
          '--user',
          u.userName,
          '--access-key',
          key,
          '--case',
          'cases/K-3',
          '--yes',
          ...extra,
        ],
        { cwd, endpoint: moto.endpoint() },
      )
    const first = await rotate(u.accessKeyId, '--delete-old', '--json')
    expect(first.code).toBe(0)
    const newId: string = first.json.result.newAccessKeyId
    expect(await keysOf(u.userName)).toEqual({ [newId]: 'Active' })
    const journalBefore = await readFile(join(dir, 'journal.jsonl'), 'utf8')

    for (const wrong of ['AKIATYPOTYPOTYPO1234', stranger.accessKeyId]) {
      const r = await rotate(wrong)
      expect(r.code).toBe(2)
      expect(r.stdout).not.toContain('already-applied')
      expect(r.stderr).toContain(
        `user ci-deployer has no access key ${wrong}; its keys are ${newId} (Active, created `,
      )
      const j = await rotate(wrong, '--json')
      expect(j.code).toBe(2)
      expect(j.json).toMatchObject({ status: 2, error: { code: 'not-found' } })
      expect(j.json.error.message).toContain(`user ci-deployer has no access key ${wrong}`)
    }
    expect(await keysOf(u.userName)).toEqual({ [newId]: 'Active' })
    expect(await keysOf(stranger.userName)).toEqual({ [stranger.accessKeyId]: 'Active' })
    // nothing about the refused ids reached the journal
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe(journalBefore)

    // the key this case did rotate (and delete) is still already-applied on a re-run
    const again = await rotate(u.accessKeyId, '--delete-old', '--json')
    expect(again.code).toBe(0)
    expect(again.json.result.results[0].outcome).toBe('already-applied')
  })

  it('refuses a third key when the user has two, naming them, and changes nothing', async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'deployer-2')
    const second = await seedClients(moto.endpoint()).iam.send(
      new CreateAccessKeyCommand({ UserName: u.userName }),
    )
    const other = second.AccessKey!.AccessKeyId!
    const { cwd } = await newCase('K-2')
    const r = await runFir(
      [
        'creds',
        'rotate-key',
        '--user',
        u.userName,
        '--access-key',
        u.accessKeyId,
        '--case',
        'cases/K-2',
        '--yes',
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/already has two keys/)
    expect(r.stderr).toContain(`--access-key-id ${other}`)
    // First, how to cut the leaked key off while the second key is sorted out: with fir (journaled,
    // reversible), or the AWS CLI.
    expect(r.stderr).toContain(
      `→ to cut the leaked key off now without a new key, journaled and reversible: fir creds rotate-key --user ${u.userName} --access-key ${u.accessKeyId} --no-replace --case ${join(cwd, 'cases/K-2')}`,
    )
    expect(r.stderr).toContain(
      `→ to cut the leaked key off now, deactivate it (whatever uses it stops working): aws iam update-access-key --user-name ${u.userName} --access-key-id ${u.accessKeyId} --status Inactive`,
    )
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [other]: 'Active' })
  })
  it("takes a key for this case's only when the journal records its secret file: one planted in secrets/ passes off no intruder's key", async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'deployer-9')
    const second = await seedClients(moto.endpoint()).iam.send(
      new CreateAccessKeyCommand({ UserName: u.userName }),
    )
    const intruder = second.AccessKey!.AccessKeyId!
    const { cwd, dir } = await newCase('K-9')
    // Named as rotate-key names its files: before, the intruder's key counted as the replacement
    // fir had made, stayed active, and the rotation was reported done.
    await writeFile(
      join(dir, 'secrets', `deployer-9-${intruder}.json`),
      JSON.stringify({ AccessKey: { AccessKeyId: intruder, SecretAccessKey: 'planted' } }),
    )
    const r = await runFir(
      [
        'creds',
        'rotate-key',
        '--user',
        u.userName,
        '--access-key',
        u.accessKeyId,
        '--case',
        'cases/K-9',
        '--yes',
        '--json',
      ],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(r.code, r.stdout).toBe(2)
    expect(r.json.error.message).toMatch(/already has two keys/)
    expect(r.stderr).toContain(
      `warning: secrets/deployer-9-${intruder}.json is not a file fir recorded in the journal`,
    )
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [intruder]: 'Active' })
  })

  it("the refusal's commands carry the AWS flags given, so that pasted they act where this run did", async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'deployer-2b')
    const second = await seedClients(moto.endpoint()).iam.send(
      new CreateAccessKeyCommand({ UserName: u.userName }),
    )
    const other = second.AccessKey!.AccessKeyId!
    const { cwd } = await newCase('K-2b')
    const role = `arn:aws:iam::${TEST_ACCOUNT}:role/responder`
    // In emulator-only mode the profile is not read; it is repeated all the same.
    const flags = [
      '--region',
      'us-east-1',
      '--profile',
      'ir',
      '--role-arn',
      role,
      '--endpoint-url',
      moto.endpoint(),
    ]
    const args = ['creds', 'rotate-key', '--user', u.userName, '--access-key', u.accessKeyId]
    const r = await runFir([...args, '--case', 'cases/K-2b', '--yes', ...flags], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      `fir creds rotate-key --user ${u.userName} --access-key ${u.accessKeyId} --no-replace ${flags.join(' ')} --case ${join(cwd, 'cases/K-2b')}\n`,
    )
    // The AWS CLI has no --role-arn: the role is named in a comment.
    const cli = `--region us-east-1 --profile ir --endpoint-url ${moto.endpoint()}  # as ${role}\n`
    expect(r.stderr).toContain(
      `aws iam update-access-key --user-name ${u.userName} --access-key-id ${u.accessKeyId} --status Inactive ${cli}`,
    )
    expect(r.stderr).toContain(
      `aws iam delete-access-key --user-name ${u.userName} --access-key-id ${other} ${cli}`,
    )
    expect(r.stderr).toContain(`aws iam get-access-key-last-used --access-key-id ${other} ${cli}`)
  })

  it('a user the account does not have is named as such, with the account, and no advice about regions (IAM is global)', async () => {
    const { cwd } = await newCase('K-nouser')
    const r = await runFir(
      ['creds', 'rotate-key', '--user', 'nobody', '--case', 'cases/K-nouser', '--yes', '--json'],
      {
        cwd,
        endpoint: moto.endpoint(),
      },
    )
    expect(r.code).toBe(2)
    expect(r.json.error.code).toBe('not-found')
    expect(r.json.error.message).toBe(
      `unable to read user nobody: account ${TEST_ACCOUNT} has no IAM user named nobody (IAM is global: the region plays no part)`,
    )
    expect(r.json.error.actions[0]).toBe(
      "check the name; the account's users: aws iam list-users --query 'Users[].UserName'",
    )
    expect(r.json.error.actions.join('\n')).not.toMatch(/region/)
  })

  it('--no-replace only deactivates the key (even when the user has two), makes none, and restore reactivates it', async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'backup-admin-2')
    const second = await seedClients(moto.endpoint()).iam.send(
      new CreateAccessKeyCommand({ UserName: u.userName }),
    )
    const other = second.AccessKey!.AccessKeyId!
    const { cwd, dir } = await newCase('K-4')
    const args = ['creds', 'rotate-key', '--user', u.userName, '--access-key', other, '--no-replace']
    const r = await runFir([...args, '--case', 'cases/K-4', '--yes', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.result.results[0].outcome).toBe('applied')
    expect(r.json.result.newAccessKeyId).toBeNull()
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [other]: 'Inactive' })
    expect(await readdir(join(dir, 'secrets'))).toEqual([])
    const again = await runFir([...args, '--case', 'cases/K-4', '--yes', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(again.json.result.results[0].outcome).toBe('already-applied')
    const restore = await runFir(
      ['restore', '--case', 'cases/K-4', '--actions', 'rotate-key', '--yes', '--json'],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(restore.code, restore.stderr).toBe(0)
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [other]: 'Active' })
  })
})

describe('fir creds rotate-key: re-runs and undo work from the journal (built CLI)', () => {
  const rotateArgs = (user: string, caseDir: string, ...extra: string[]) => [
    'creds',
    'rotate-key',
    '--user',
    user,
    '--case',
    caseDir,
    '--yes',
    ...extra,
  ]
  const restoreKeys = ['restore', '--actions', 'rotate-key', '--yes', '--json']

  it('once the new secret file is deleted (as fir says to), a re-run is already-applied and restore reactivates the old key', {
    timeout: 180_000,
  }, async () => {
    for (const [i, withKey] of [false, true].entries()) {
      const u = await seedUserWithKey(moto.endpoint(), `u1-deleted-${i}`)
      const { cwd, dir } = await newCase(`KD-${i}`)
      const opts = { cwd, endpoint: moto.endpoint() }
      const keyFlag = withKey ? ['--access-key', u.accessKeyId] : []
      const r = await runFir([...rotateArgs(u.userName, `cases/KD-${i}`, ...keyFlag), '--json'], opts)
      expect(r.code, r.stderr).toBe(0)
      const newId: string = r.json.result.newAccessKeyId
      await rm(join(dir, r.json.result.secretFile))

      // Before: exit 2, "the user already has two keys … and AWS allows no third".
      const again = await runFir([...rotateArgs(u.userName, `cases/KD-${i}`, ...keyFlag), '--json'], opts)
      expect(again.code, again.stderr).toBe(0)
      expect(again.json.result.results[0].outcome).toBe('already-applied')
      expect(again.json.result).toMatchObject({
        newAccessKeyId: newId,
        newKeyMadeNow: false,
        secretFile: null,
      })
      const human = await runFir(
        [...rotateArgs(u.userName, `cases/KD-${i}`, ...keyFlag), '--show-secret'],
        opts,
      )
      expect(human.code, human.stderr).toBe(0)
      expect(human.stdout).toContain(
        `No new key made now: ${newId} was made by an earlier run of this case; its secret file is not in the case (deleted since, as fir says to once the key is deployed), so there is no secret to show.`,
      )

      // Before: exit 4, "unable to choose which access key of user … to rotate: it has two".
      const back = await runFir([...restoreKeys, '--case', `cases/KD-${i}`], opts)
      expect(back.code, back.stderr).toBe(0)
      expect(back.json.warnings.join('\n')).toMatch(/leaked key valid again/)
      expect(back.json.result.results.map((x: { outcome: string }) => x.outcome)).toEqual(['undone'])
      expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [newId]: 'Active' })
    }
  })

  it('a new key whose secret file is gone is named as such, and the way out it gives works: delete it, run again, a new key is made', {
    timeout: 180_000,
  }, async () => {
    // Before: "its secret file has been deleted since", also when the run that journaled the file
    // was killed before writing it, and no way to get a key someone holds.
    const u = await seedUserWithKey(moto.endpoint(), 'u1-gone')
    const { cwd, dir } = await newCase('KG')
    const opts = { cwd, endpoint: moto.endpoint() }
    const first = await runFir([...rotateArgs(u.userName, 'cases/KG'), '--json'], opts)
    const newId: string = first.json.result.newAccessKeyId
    await rm(join(dir, first.json.result.secretFile))
    const again = await runFir(rotateArgs(u.userName, 'cases/KG'), opts)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain(
      `its secret file is not in the case (deleted since, as fir says to once the key is deployed).`,
    )
    const advice = again.stdout.split('\n').find((l) => l.startsWith("If nobody holds that key's secret"))
    expect(advice).toContain(`aws iam delete-access-key --user-name ${u.userName} --access-key-id ${newId}`)
    await seedClients(moto.endpoint()).iam.send(
      new DeleteAccessKeyCommand({ UserName: u.userName, AccessKeyId: newId }),
    )
    const fresh = await runFir([...rotateArgs(u.userName, 'cases/KG'), '--json'], opts)
    expect(fresh.code, fresh.stderr).toBe(0)
    const freshId: string = fresh.json.result.newAccessKeyId
    expect(fresh.json.result.newKeyMadeNow).toBe(true)
    expect(freshId).not.toBe(newId)
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [freshId]: 'Active' })
  })

  it('rotating the new key out too (--no-replace) is a change of its own: restore brings both keys back', {
    timeout: 180_000,
  }, async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'u1-both')
    const { cwd } = await newCase('KB')
    const opts = { cwd, endpoint: moto.endpoint() }
    const r = await runFir([...rotateArgs(u.userName, 'cases/KB'), '--json'], opts)
    const newId: string = r.json.result.newAccessKeyId
    const cut = await runFir(
      [...rotateArgs(u.userName, 'cases/KB', '--access-key', newId, '--no-replace'), '--json'],
      opts,
    )
    expect(cut.code, cut.stderr).toBe(0)
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [newId]: 'Inactive' })
    // The first rotation is still done (its replacement was deactivated since, by fir).
    const rerun = await runFir([...rotateArgs(u.userName, 'cases/KB'), '--json'], opts)
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.json.result.results[0].outcome).toBe('already-applied')

    const back = await runFir([...restoreKeys, '--case', 'cases/KB'], opts)
    expect(back.code, back.stderr).toBe(0)
    expect(back.json.result.results.map((x: { outcome: string }) => x.outcome)).toEqual(['undone', 'undone'])
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [newId]: 'Active' })
  })

  it('two keys of one user rotated in one case are undone one by one: both come back', {
    timeout: 180_000,
  }, async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'u3-two')
    const second = await seedClients(moto.endpoint()).iam.send(
      new CreateAccessKeyCommand({ UserName: u.userName }),
    )
    const b = second.AccessKey!.AccessKeyId!
    const { cwd, dir } = await newCase('K2K')
    const opts = { cwd, endpoint: moto.endpoint() }
    for (const key of [u.accessKeyId, b]) {
      const r = await runFir(rotateArgs(u.userName, 'cases/K2K', '--access-key', key, '--no-replace'), opts)
      expect(r.code, r.stderr).toBe(0)
    }
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [b]: 'Inactive' })
    const targets = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.action === 'credentials.rotate-key' && e.outcome === 'started')
      .map((e) => e.target)
    expect(targets).toEqual([
      `arn:aws:iam::${TEST_ACCOUNT}:user/${u.userName}#${u.accessKeyId}`,
      `arn:aws:iam::${TEST_ACCOUNT}:user/${u.userName}#${b}`,
    ])

    // Before: "undone 1", then "nothing to undo" with the second key still Inactive.
    const back = await runFir([...restoreKeys, '--case', 'cases/K2K'], opts)
    expect(back.code, back.stderr).toBe(0)
    expect(back.json.result.results.map((x: { outcome: string }) => x.outcome)).toEqual(['undone', 'undone'])
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [b]: 'Active' })
    const again = await runFir([...restoreKeys, '--case', 'cases/K2K'], opts)
    expect(again.json.result.results).toEqual([])
  })
})

describe('fir creds rotate-key: a run killed after CreateAccessKey, before it journaled the key (built CLI)', () => {
  it("the re-run cuts the leaked key off and deactivates that key (maybe fir's, maybe not), never deletes it; once it is deleted a re-run makes the new key; verify passes, restore brings the old key back", {
    timeout: 180_000,
  }, async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'u-killed')
    const { cwd, dir } = await newCase('KK')
    const opts = { cwd, endpoint: moto.endpoint() }
    const args = [
      'creds',
      'rotate-key',
      '--user',
      u.userName,
      '--access-key',
      u.accessKeyId,
      '--case',
      'cases/KK',
      '--yes',
    ]
    const killed = await runFir(args, {
      ...opts,
      env: { FIR_TEST_CRASH_AFTER: 'credentials.rotate-key#created' },
    })
    expect(killed.signal).toBe('SIGKILL')
    const lost = Object.keys(await keysOf(u.userName)).find((k) => k !== u.accessKeyId)!
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [lost]: 'Active' })
    expect(await readdir(join(dir, 'secrets')).catch(() => [])).toEqual([])

    // Before: "Deleted <key>: a key an earlier run of this case made and was killed before saving
    // its secret" — a guess from its creation time, stated as fact and acted on irreversibly.
    const r = await runFir(args, opts)
    expect(r.code, r.stderr).toBe(4)
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [lost]: 'Inactive' })
    expect(r.stdout).toContain(
      `${lost} is inactive (reversible: fir restore --actions rotate-key --case ${dir} reactivates it), not deleted: it may be a key an earlier run of this case made and was killed before saving its secret`,
    )
    expect(r.stdout).toContain(
      `No new key was made: ${lost} holds the user's second place (AWS allows two keys). The leaked key is cut off.`,
    )

    // The responder checks it (never used) and deletes it: the re-run makes the new key.
    await seedClients(moto.endpoint()).iam.send(
      new DeleteAccessKeyCommand({ UserName: u.userName, AccessKeyId: lost }),
    )
    const again = await runFir(args, opts)
    expect(again.code, again.stderr).toBe(0)
    const keys = await keysOf(u.userName)
    const newId = Object.keys(keys).find((k) => k !== u.accessKeyId)!
    expect(keys).toEqual({ [u.accessKeyId]: 'Inactive', [newId]: 'Active' })
    expect(again.stdout).toContain(`New key ${newId}: secret written to secrets/u-killed-${newId}.json`)
    const verify = await runFir(['case', 'verify', '--case', 'cases/KK'], { cwd })
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)

    const back = await runFir(
      ['restore', '--actions', 'rotate-key', '--yes', '--json', '--case', 'cases/KK'],
      opts,
    )
    expect(back.code, back.stderr).toBe(0)
    expect(back.json.result.results.map((x: { outcome: string }) => x.outcome)).toEqual(['undone'])
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Active', [newId]: 'Active' })
  })
})

describe('fir creds rotate-key: a run killed while writing the new secret (built CLI)', () => {
  const killAt = (at: string) => ({
    NODE_OPTIONS: `--require ${join(import.meta.dirname, '../support/kill-at.cjs')}`,
    FIR_TEST_KILL_AT: at,
  })
  const args = (user: string, id: string) => [
    'creds',
    'rotate-key',
    '--user',
    user,
    '--case',
    `cases/${id}`,
    '--yes',
  ]

  it('killed before renaming the secret into place: verify says to keep the temporary, the next command puts it in place, a re-run finishes with that key', {
    timeout: 120_000,
  }, async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'u-unrenamed')
    const { cwd, dir } = await newCase('KR')
    const opts = { cwd, endpoint: moto.endpoint() }
    const killed = await runFir(args(u.userName, 'KR'), { ...opts, env: killAt('rename:*') })
    expect(killed.signal).toBe('SIGKILL')
    const newId = Object.keys(await keysOf(u.userName)).find((k) => k !== u.accessKeyId)!
    const [temp] = await readdir(join(dir, 'secrets'))
    expect(temp).toMatch(/^\.[0-9a-f]{12}\.tmp$/)
    const rel = `secrets/u-unrenamed-${newId}.json`
    const verify = await runFir(['case', 'verify', '--case', 'cases/KR', '--json'], { cwd })
    expect(verify.code, verify.stdout).toBe(0)
    // Before: "secrets/.….tmp was left by an interrupted fir run; it is not part of the case record (remove it)".
    expect(verify.json.warnings.join('\n')).toContain(
      `secrets/${temp} is ${rel}, the secret file the journal records (the same SHA-256)`,
    )
    expect(verify.json.warnings.join('\n')).not.toContain('remove it')
    // A dry run leaves it where it is, and says where the secret is (not "deleted since").
    const dry = await runFir([...args(u.userName, 'KR'), '--dry-run'], opts)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain(
      `its secret is in ${join(dir, 'secrets', temp!)} (0600; a run was interrupted before renaming it`,
    )

    // Before: the temporary was swept ("removed what an interrupted fir run had left"), the re-run
    // deactivated the old key and left the new one active with nobody holding its secret.
    const again = await runFir(args(u.userName, 'KR'), opts)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr).toContain(`finished writing ${rel} (a rotated key's secret)`)
    expect(again.stdout).toContain(`its secret is in ${rel} (0600, in the case folder), written then.`)
    expect(await readdir(join(dir, 'secrets'))).toEqual([`u-unrenamed-${newId}.json`])
    expect((await stat(join(dir, rel))).mode & 0o777).toBe(0o600)
    const body = JSON.parse(await readFile(join(dir, rel), 'utf8'))
    expect(body.AccessKey).toMatchObject({ AccessKeyId: newId, SecretAccessKey: expect.any(String) })
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [newId]: 'Active' })
  })

  it('killed before the secret reached the disk: the re-run deactivates that key (maybe lost), never leaves it active as the replacement', {
    timeout: 120_000,
  }, async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'u-unwritten')
    const { cwd, dir } = await newCase('KW')
    const opts = { cwd, endpoint: moto.endpoint() }
    const killed = await runFir(args(u.userName, 'KW'), { ...opts, env: killAt('open:.????????????.tmp') })
    expect(killed.signal).toBe('SIGKILL')
    const lost = Object.keys(await keysOf(u.userName)).find((k) => k !== u.accessKeyId)!
    expect(await readdir(join(dir, 'secrets'))).toEqual([])

    // Before: "No new key made now: … its secret file is not in the case", the old key deactivated
    // and the lost key left active as the replacement (a playbook resume said only "applied").
    const again = await runFir([...args(u.userName, 'KW'), '--json'], opts)
    expect(again.code, again.stderr).toBe(4)
    expect(again.json.result).toMatchObject({
      newAccessKeyId: null,
      maybeLostKeyIds: [lost],
      maybeLostKeysActive: [],
      newKeyBlockedBy: [lost],
    })
    expect(await keysOf(u.userName)).toEqual({ [u.accessKeyId]: 'Inactive', [lost]: 'Inactive' })
  })
})

describe('fir creds rotate-key: a rotation that stops part way (built CLI)', () => {
  it('names the new key and its secret file, and the command that finishes the rotation', async () => {
    const u = await seedUserWithKey(moto.endpoint(), 'u-partial')
    const { cwd, dir } = await newCase('KP')
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'UpdateAccessKey', fault: 'access-denied', count: 1 }],
    }).start()
    try {
      const args = ['creds', 'rotate-key', '--user', u.userName, '--case', 'cases/KP', '--yes']
      const r = await runFir([...args, '--endpoint-url', proxy.endpoint], { cwd })
      expect(r.code, r.stderr).toBe(4)
      const newId = Object.keys(await keysOf(u.userName)).find((k) => k !== u.accessKeyId)!
      // Before: only the table's `denied`; the new key and its secret file went unmentioned.
      expect(r.stdout).toContain(
        `New key ${newId}: secret written to secrets/u-partial-${newId}.json (0600, in the case folder).`,
      )
      expect(r.stdout).toContain(
        `The rotation stopped part way (the old key ${u.accessKeyId} is now Active). Run it again to finish it; it makes no other key:\n  fir creds rotate-key --user u-partial --access-key ${u.accessKeyId} --yes --endpoint-url ${proxy.endpoint} --case ${dir}`,
      )
    } finally {
      await proxy.stop()
    }
  })
})

describe('fir creds revoke-sessions (built CLI)', () => {
  let role: string
  beforeAll(async () => {
    role = (await seedRole(moto.endpoint(), { name: 'victim-role-rs' })).name
  })

  it('with TZ=Asia/Tokyo writes a UTC TokenIssueTime within a minute of now; dry run and no --yes change nothing', async () => {
    const { cwd } = await newCase('R-1')
    const args = ['creds', 'revoke-sessions', '--role', role, '--case', 'cases/R-1']
    const iam = seedClients(moto.endpoint()).iam
    const policies = async () =>
      (await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? []
    expect((await runFir([...args, '--dry-run'], { cwd, endpoint: moto.endpoint() })).code).toBe(0)
    expect((await runFir(args, { cwd, endpoint: moto.endpoint() })).code).toBe(5)
    expect(await policies()).toEqual([])

    const r = await runFir([...args, '--yes'], { cwd, endpoint: moto.endpoint(), env: { TZ: 'Asia/Tokyo' } })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/chained into other roles/)
    expect(r.stdout).toMatch(/long-term access keys/)
    const doc = await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: 'fir-revoke-R-1' }))
    const text = decodeURIComponent(doc.PolicyDocument!)
    const cutoff: string = JSON.parse(text).Statement[0].Condition.DateLessThan['aws:TokenIssueTime']
    expect(cutoff).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(Math.abs(Date.parse(cutoff) - Date.now())).toBeLessThan(60_000)
    expect(JSON.parse(text).Statement[0]).toMatchObject({ Effect: 'Deny', Action: ['*'], Resource: ['*'] })
  })

  it('a second run keeps the first cutoff and says so; --renew moves it to now; restore removes the revocation', async () => {
    const renewRole = (await seedRole(moto.endpoint(), { name: 'victim-role-renew' })).name
    const { cwd } = await newCase('R-3')
    const iam = seedClients(moto.endpoint()).iam
    const cutoff = async () => {
      const doc = await iam.send(
        new GetRolePolicyCommand({ RoleName: renewRole, PolicyName: 'fir-revoke-R-3' }),
      )
      return JSON.parse(decodeURIComponent(doc.PolicyDocument!)).Statement[0].Condition.DateLessThan[
        'aws:TokenIssueTime'
      ] as string
    }
    const args = ['creds', 'revoke-sessions', '--role', renewRole, '--case', 'cases/R-3', '--yes']
    const opts = { cwd, endpoint: moto.endpoint() }
    expect((await runFir(args, opts)).code).toBe(0)
    const first = await cutoff()
    await new Promise((r) => setTimeout(r, 1100)) // the cutoff has whole seconds
    // Run as a cross-account response is: the hint must carry these, or pasted it acts elsewhere.
    const flags = [
      '--region',
      'us-east-1',
      '--profile',
      'ir',
      '--role-arn',
      `arn:aws:iam::${TEST_ACCOUNT}:role/responder`,
      '--endpoint-url',
      moto.endpoint(),
    ]
    const again = await runFir([...args, ...flags], opts)
    expect(again.code, again.stderr).toBe(0)
    expect(await cutoff()).toBe(first)
    expect(again.stdout).toContain('already-applied')
    // Before: `… --role <role> --case DIR --renew --yes`, without the AWS flags.
    expect(again.stdout).toContain(
      `The cutoff stays where an earlier run set it: sessions issued since then are not denied. To deny them too: fir creds revoke-sessions --role ${renewRole} --renew --yes ${flags.join(' ')} --case ${join(cwd, 'cases', 'R-3')}`,
    )
    // Before: no way to move it but removing the revocation first (old sessions valid meanwhile).
    const renewed = await runFir([...args, '--renew', '--json'], opts)
    expect(renewed.code, renewed.stderr).toBe(0)
    expect(renewed.json.result.results[0].outcome).toBe('applied')
    const second = await cutoff()
    expect(Date.parse(second)).toBeGreaterThan(Date.parse(first))
    // Restore puts back the state before fir's first revocation: no policy.
    const restore = await runFir(
      ['restore', '--case', 'cases/R-3', '--actions', 'sessions', '--yes', '--json'],
      opts,
    )
    expect(restore.code, restore.stderr).toBe(0)
    expect(
      restore.json.result.results.map((r: { afterText: string; outcome: string }) => [
        r.outcome,
        r.afterText,
      ]),
    ).toEqual([['undone', 'no fir-revoke-R-3 policy']])
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: renewRole }))).PolicyNames).toEqual([])
    // --help says what restore just did (it said "after --renew, undo puts back the earlier cutoff").
    const help = await runFir(['creds', 'revoke-sessions', '--help'])
    expect(help.code).toBe(0)
    const text = help.stdout.replace(/\s+/g, ' ')
    expect(text).not.toMatch(/puts back the earlier cutoff/)
    expect(text).toContain(
      "it removes the revocation, renewed or not, leaving the role as it was before fir's first one",
    )
  })

  it('a role the account does not have is named as such, with the account, and no advice about regions (IAM is global)', async () => {
    const { cwd } = await newCase('R-norole')
    const r = await runFir(
      ['creds', 'revoke-sessions', '--role', 'nosuch-role', '--case', 'cases/R-norole', '--yes', '--json'],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(r.code).toBe(2)
    expect(r.json.error.message).toBe(
      `unable to read role nosuch-role: account ${TEST_ACCOUNT} has no IAM role named nosuch-role (IAM is global: the region plays no part)`,
    )
    expect(r.json.error.actions[0]).toBe(
      "check the name; the account's roles: aws iam list-roles --query 'Roles[].RoleName'",
    )
    expect(r.json.error.actions.join('\n')).not.toMatch(/region/)
  })

  it('refuses a service-linked role clearly (exit 2)', async () => {
    await seedClients(moto.endpoint()).iam.send(
      new CreateRoleCommand({
        RoleName: 'AWSServiceRoleForThing',
        Path: '/aws-service-role/thing.amazonaws.com/',
        AssumeRolePolicyDocument: JSON.stringify(LAMBDA_TRUST),
      }),
    )
    const { cwd } = await newCase('R-2')
    const r = await runFir(
      [
        'creds',
        'revoke-sessions',
        '--role',
        'AWSServiceRoleForThing',
        '--case',
        'cases/R-2',
        '--yes',
        '--json',
      ],
      {
        cwd,
        endpoint: moto.endpoint(),
      },
    )
    expect(r.code).toBe(2)
    expect(r.json.error.message).toMatch(/service-linked role/)
  })
})

describe('fir creds rotate-secret (built CLI)', () => {
  it('refuses when rotation is not configured and says how; rotates once when it is', async () => {
    const sm = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    await sm.send(new CreateSecretCommand({ Name: 'plain/secret', SecretString: 'value-never-shown-1' }))
    const { cwd, dir } = await newCase('S-1')
    const refused = await runFir(
      ['creds', 'rotate-secret', 'plain/secret', '--case', 'cases/S-1', '--yes', '--json'],
      {
        cwd,
        endpoint: moto.endpoint(),
      },
    )
    expect(refused.code).toBe(2)
    expect(refused.json.error.message).toMatch(/rotation is not configured/)
    expect(refused.json.error.actions.join('\n')).toMatch(/--rotation-lambda-arn/)

    const role = await seedRole(moto.endpoint(), { name: 'rotator-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'rotator', roleArn: role.arn })
    await sm.send(new CreateSecretCommand({ Name: 'db/secret', SecretString: 'value-never-shown-2' }))
    await sm.send(
      new RotateSecretCommand({
        SecretId: 'db/secret',
        RotationLambdaARN: fn.arn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    )
    // A rotation function the case holds as compromised is named as such (not before it does).
    const plan = await runFir(
      ['creds', 'rotate-secret', 'db/secret', '--case', 'cases/S-1', '--dry-run', '--json'],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(plan.json.warnings.join('\n')).not.toMatch(/function this case/)
    const sealed = await runFir(['snapshot', 'rotator', '--case', 'cases/S-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect([0, 4], sealed.stderr).toContain(sealed.code)
    const stagesBefore = (await sm.send(new DescribeSecretCommand({ SecretId: 'db/secret' })))
      .VersionIdsToStages
    const r = await runFir(
      ['creds', 'rotate-secret', 'db/secret', '--case', 'cases/S-1', '--yes', '--json'],
      {
        cwd,
        endpoint: moto.endpoint(),
      },
    )
    expect(r.code).toBe(0)
    expect(r.json.result.results[0].outcome).toBe('applied')
    expect(r.json.warnings.join('\n')).toMatch(/may itself be compromised/)
    expect(r.json.warnings[0]).toMatch(
      /^the rotation function rotator is a function this case snapshotted as possibly compromised: RotateSecret runs its code and gives it the new value\. /,
    )
    expect(r.json.result.results[0].notes.join('\n')).toContain(
      'the rotation function rotator is a function this case snapshotted',
    )
    expect(r.json.warnings.join('\n')).toMatch(/cannot be undone/)
    const stagesAfter = (await sm.send(new DescribeSecretCommand({ SecretId: 'db/secret' })))
      .VersionIdsToStages
    expect(Object.keys(stagesAfter ?? {}).length).toBeGreaterThan(Object.keys(stagesBefore ?? {}).length)
    // moto's rotation function moves no stage: do what a rotation function finishing does, else the
    // rotation is not confirmed and a re-run requests it again.
    const requested = r.json.result.results[0].after.requestedVersionId
    await sm.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'db/secret',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: requested,
        RemoveFromVersionId: r.json.result.results[0].before.currentVersionId,
      }),
    )
    const again = await runFir(
      ['creds', 'rotate-secret', 'db/secret', '--case', 'cases/S-1', '--yes', '--json'],
      {
        cwd,
        endpoint: moto.endpoint(),
      },
    )
    expect(again.json.result.results[0].outcome).toBe('already-applied')
    expect(await caseText(dir)).not.toContain('value-never-shown')
  })
})
