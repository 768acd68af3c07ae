import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { describe, expect, it } from 'vitest'
import { initCase, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { seedRole, TEST_ACCOUNT } from '../support/seed.js'

const moto = useMoto()

function event(id: string, over: Record<string, unknown>) {
  return {
    id,
    time: '2026-11-20T10:00:00.000Z',
    name: 'GetSecretValue',
    rawName: 'GetSecretValue',
    source: 'secretsmanager.amazonaws.com',
    region: 'us-east-1',
    account: TEST_ACCOUNT,
    actor: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/app-role/app-fn`,
      sessionName: 'app-fn',
    },
    sourceIp: '203.0.113.9',
    error: null,
    requestParameters: {},
    ...over,
  }
}

describe('fir creds secrets (built CLI)', () => {
  it('lists secrets read with the role (rotate), apart from those it could read (exposure)', async () => {
    await seedRole(moto.endpoint(), {
      name: 'app-role',
      inline: {
        read: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: `arn:aws:secretsmanager:us-east-1:${TEST_ACCOUNT}:secret:prod/*`,
            },
          ],
        },
      },
    })
    const sm = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    const made: Record<string, string> = {}
    for (const n of ['prod/db', 'prod/api-key', 'prod/stripe', 'dev/db']) {
      made[n] = (await sm.send(new CreateSecretCommand({ Name: n, SecretString: `v-${n}` }))).ARN!
    }
    const cwd = await tempDir()
    await initCase('SR-1', { cwd })
    const dir = join(cwd, 'cases', 'SR-1')
    await mkdir(join(dir, 'timeline'), { recursive: true })
    const events = [
      event('e1', { requestParameters: { secretId: made['prod/db'] } }),
      event('e2', { time: '2026-11-20T11:00:00.000Z', requestParameters: { secretId: 'prod/db' } }),
      event('e3', {
        name: 'BatchGetSecretValue',
        rawName: 'BatchGetSecretValue',
        requestParameters: { secretIdList: ['prod/api-key'] },
      }),
      event('e4', {
        requestParameters: { secretId: 'dev/db' },
        error: { code: 'AccessDeniedException', message: 'no' },
      }),
      event('e5', {
        actor: { type: 'IAMUser', arn: `arn:aws:iam::${TEST_ACCOUNT}:user/ops` },
        requestParameters: { secretId: 'prod/stripe' },
      }),
      event('e6', {
        name: 'PutSecretValue',
        rawName: 'PutSecretValue',
        requestParameters: { secretId: 'prod/stripe' },
      }),
    ]
    await writeFile(
      join(dir, 'timeline', 'events.jsonl'),
      `${events.map((e) => JSON.stringify(e)).join('\n')}\n`,
    )
    const r = await runFir(['creds', 'secrets', '--case', 'cases/SR-1', '--role', 'app-role', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code).toBe(0)
    const role = r.json.result.roles[0]
    expect(role.read.map((u: { secret: string; calls: number }) => [u.secret, u.calls])).toEqual([
      ['prod/api-key', 1],
      ['prod/db', 2],
    ])
    expect(role.attempted.map((u: { secret: string }) => u.secret)).toEqual(['dev/db'])
    expect(role.exposure).toMatchObject({ source: 'live', everySecret: false, secrets: ['prod/stripe'] })
    expect(role.proposals.join('\n')).toContain(`fir creds rotate-secret ${made['prod/db']}`)
    const human = await runFir(['creds', 'secrets', '--case', 'cases/SR-1', '--role', 'app-role'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(human.stdout).toMatch(/Read with its credentials — rotate these \(2\)/)
    expect(human.stdout).toMatch(/Tried and refused: dev\/db/)
    // The rotations proposed repeat the AWS flags given: pasted, they act where this run did.
    const flags = ['--region', 'us-east-1', '--profile', 'ir', '--endpoint-url', moto.endpoint()]
    const flagged = await runFir(
      ['creds', 'secrets', '--case', 'cases/SR-1', '--role', 'app-role', ...flags],
      { cwd, endpoint: moto.endpoint() },
    )
    expect(flagged.stdout).toContain(
      `  → fir creds rotate-secret ${made['prod/db']} ${flags.join(' ')} --case ${dir}\n`,
    )
  })
  it('a --role IAM does not have is "no such role" (exit 2), unless the timeline shows it at work (deleted since)', async () => {
    const cwd = await tempDir()
    await initCase('SR-2', { cwd })
    const dir = join(cwd, 'cases', 'SR-2')
    const r = await runFir(['creds', 'secrets', '--case', 'cases/SR-2', '--role', 'nosuch-role', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code).toBe(2)
    expect(r.json.error.code).toBe('not-found')
    expect(r.json.error.message).toBe(
      `unable to read role nosuch-role: account ${TEST_ACCOUNT} has no IAM role named nosuch-role (IAM is global: the region plays no part)`,
    )
    // The calls of a role deleted since are still what to rotate: listed, with a note, no gap.
    await mkdir(join(dir, 'timeline'), { recursive: true })
    const gone = event('g1', {
      actor: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/gone-role/fn`,
        sessionName: 'fn',
      },
      requestParameters: { secretId: 'prod/db' },
    })
    await writeFile(join(dir, 'timeline', 'events.jsonl'), `${JSON.stringify(gone)}\n`)
    const d = await runFir(['creds', 'secrets', '--case', 'cases/SR-2', '--role', 'gone-role', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(d.code).toBe(0)
    expect(d.json.gaps).toEqual([])
    expect(d.json.result.roles[0].read.map((u: { secret: string }) => u.secret)).toEqual(['prod/db'])
    expect(d.json.result.notes).toContain(
      `role gone-role is no longer in account ${TEST_ACCOUNT} (deleted since the calls in the timeline?): what else it could read is unknown`,
    )
  })
})
