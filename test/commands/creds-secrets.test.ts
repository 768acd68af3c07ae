import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CreateSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { describe, expect, it } from 'vitest'
import { initCase, runFir, runShell, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { seedFunction, seedRole, TEST_ACCOUNT } from '../support/seed.js'

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

/** A command line fir printed, pasted into bash (`fir` is the built CLI there). */
const paste = (line: string, cwd: string) =>
  runShell(line, { cwd, endpoint: moto.endpoint(), env: { AWS_DEFAULT_REGION: 'us-east-1' } })

describe('fir creds secrets: a secret id that starts with "-" (built CLI)', () => {
  it('is proposed so that the command, pasted, rotates that secret: after `--`, or `--secret-id=…` for the AWS CLI', async () => {
    // Before: `fir creds rotate-secret -h --case …` (help, nothing rotated) and
    // `fir creds rotate-secret --endpoint-url=http://evil.example/ --case …` (a flag, a usage error).
    const role = await seedRole(moto.endpoint(), { name: 'dash-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'dash-rotator', roleArn: role.arn })
    const sm = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    for (const name of ['-h', '--json'])
      await sm.send(new CreateSecretCommand({ Name: name, SecretString: `v${name}` }))
    await sm.send(
      new RotateSecretCommand({
        SecretId: '-h',
        RotationLambdaARN: fn.arn,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    )
    const cwd = await tempDir()
    await initCase('SR-DASH', { cwd })
    const dir = join(cwd, 'cases', 'SR-DASH')
    await mkdir(join(dir, 'timeline'), { recursive: true })
    const evil = '--endpoint-url=http://evil.example/'
    const read = (id: string, secretId: string) =>
      event(id, {
        actor: {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/dash-role/dash-rotator`,
          sessionName: 'dash-rotator',
        },
        requestParameters: { secretId },
      })
    await writeFile(
      join(dir, 'timeline', 'events.jsonl'),
      `${[read('d1', '-h'), read('d2', '--json'), read('d3', evil)].map((e) => JSON.stringify(e)).join('\n')}\n`,
    )
    const secrets = () =>
      runFir(['creds', 'secrets', '--case', 'cases/SR-DASH', '--role', 'dash-role', '--json'], {
        cwd,
        endpoint: moto.endpoint(),
      })
    const listed = await secrets()
    expect(listed.code, listed.stderr).toBe(0)
    const proposals: string[] = listed.json.result.roles[0].proposals
    expect(proposals.sort()).toEqual(
      [
        `fir creds rotate-secret --case ${dir} -- -h`,
        `fir creds rotate-secret --case ${dir} -- --json`,
        `fir creds rotate-secret --case ${dir} -- ${evil}`,
      ].sort(),
    )
    // Pasted (with --yes and --json before `--`, where flags go), each acts on its secret.
    const run = (secret: string) =>
      paste(
        proposals
          .find((p) => p.endsWith(` -- ${secret}`))!
          .replace('rotate-secret ', 'rotate-secret --yes --json '),
        cwd,
      )
    const rotated = await run('-h')
    expect(rotated.code, rotated.stderr).toBe(0)
    const row = JSON.parse(rotated.stdout).result.results[0]
    expect(row.outcome).toBe('applied')
    expect(row.target).toContain('-h')
    // A secret without rotation configured: refused for that secret, not a flag or help.
    const json = await run('--json')
    expect(json.code, json.stderr).toBe(2)
    expect(JSON.parse(json.stdout).error.message).toMatch(
      /^unable to rotate secret --json: rotation is not configured/,
    )
    // No such secret: the id reached Secrets Manager (the emulator, not evil.example) as given.
    const flagLike = await run(evil)
    expect(flagLike.code, flagLike.stderr).toBe(2)
    expect(JSON.parse(flagLike.stdout).error.message).toContain(evil)
    // The id after `--` is the argument even where it is a flag of fir's: no JSON without --json.
    const human = await paste(proposals.find((p) => p.endsWith(' -- --json'))!, cwd)
    expect(human.code).toBe(2)
    expect(human.stdout).toBe('')
    expect(human.stderr).toContain('unable to rotate secret --json: rotation is not configured')
    // Read again since this case rotated it: AWS's own command is proposed, --secret-id=-h.
    const later = { ...read('d4', '-h'), time: new Date(Date.now() + 60_000).toISOString() }
    await writeFile(join(dir, 'timeline', 'events.jsonl'), `${JSON.stringify(later)}\n`)
    const again = await secrets()
    const aws = again.json.result.roles[0].proposals.find((p: string) => p.startsWith('aws '))
    expect(aws).toBe('aws secretsmanager rotate-secret --secret-id=-h')
    // Pasted where the AWS CLI is installed, it rotates that secret (with `--secret-id -h` the AWS
    // CLI says the option expects one argument). The emulator named outright: never AWS itself.
    if (spawnSync('aws', ['--version']).status === 0) {
      const cli = await paste(`${aws} --endpoint-url ${moto.endpoint()}`, cwd)
      expect(cli.code, cli.stderr).toBe(0)
      expect(JSON.parse(cli.stdout).Name).toBe('-h')
    }
  })
})
