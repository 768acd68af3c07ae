import { join } from 'node:path'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { describe, expect, it } from 'vitest'
import { initCase, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { seedCompromisedFunction, seedFunction, seedRole } from '../support/seed.js'

const moto = useMoto()

describe('fir creds keys and creds secrets on a snapshot (built CLI)', () => {
  it('with no key found, says whether the case holds a snapshot at all (it said to snapshot first either way)', async () => {
    const cwd = await tempDir()
    await initCase('CK-0', { cwd })
    const none = await runFir(['creds', 'keys', '--case', 'cases/CK-0'], { cwd, endpoint: moto.endpoint() })
    expect(none.stdout).toContain('this case holds no snapshot yet (run `fir snapshot <function>` first)')
    const role = await seedRole(moto.endpoint(), { name: 'ck0-role' })
    await seedFunction(moto.endpoint(), { name: 'ck0-fn', roleArn: role.arn })
    const snap = await runFir(['snapshot', 'ck0-fn', '--case', 'cases/CK-0'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect([0, 4]).toContain(snap.code)
    const after = await runFir(['creds', 'keys', '--case', 'cases/CK-0'], { cwd, endpoint: moto.endpoint() })
    expect(after.code).toBe(0)
    expect(after.stdout).toContain(
      "No long-term access keys (AKIA…) in the 1 evidence set of this case: no snapshot found one in a function's environment.",
    )
  })

  it('finds the leaked key’s owner and proposes the rotation; reads the role’s grants from the snapshot', {
    timeout: 180_000,
  }, async () => {
    const s = await seedCompromisedFunction(moto.endpoint(), { logEvents: false })
    const sm = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: moto.endpoint(),
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    await sm.send(new CreateSecretCommand({ Name: 'prod/orders-db', SecretString: 'x-never-printed' }))
    const cwd = await tempDir()
    await initCase('CK-1', { cwd })
    const snap = await runFir(['snapshot', s.functionName, '--case', 'cases/CK-1'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect([0, 4]).toContain(snap.code)

    const keys = await runFir(['creds', 'keys', '--case', 'cases/CK-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(keys.code).toBe(0)
    expect(keys.json.result.keys).toEqual([
      expect.objectContaining({
        accessKeyId: s.secrets.accessKeyId,
        owner: s.secrets.userName,
        status: 'Active',
        foundIn: [expect.objectContaining({ function: s.functionName })],
      }),
    ])
    expect(keys.json.result.keys[0].proposal).toContain(
      `fir creds rotate-key --user ${s.secrets.userName} --access-key ${s.secrets.accessKeyId}`,
    )
    // The proposal repeats the AWS flags given: pasted, it acts where this run did.
    const flags = ['--region', 'us-east-1', '--profile', 'ir', '--endpoint-url', moto.endpoint()]
    const flagged = await runFir(['creds', 'keys', '--case', 'cases/CK-1', ...flags], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(flagged.stdout).toContain(
      `\nNext:\n  fir creds rotate-key --user ${s.secrets.userName} --access-key ${s.secrets.accessKeyId} ${flags.join(' ')} --case ${join(cwd, 'cases/CK-1')}\n`,
    )
    const human = await runFir(['creds', 'keys', '--case', 'cases/CK-1'], { cwd, endpoint: moto.endpoint() })
    expect(human.stdout).toContain(s.secrets.accessKeyId)
    expect(human.stdout).not.toContain(s.secrets.secretAccessKey)

    const secrets = await runFir(['creds', 'secrets', '--case', 'cases/CK-1', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(secrets.code).toBe(0)
    expect(secrets.json.result.timeline).toBe(false)
    expect(secrets.json.result.roles).toEqual([
      expect.objectContaining({
        role: s.role.name,
        functions: [s.functionName],
        read: [],
        exposure: expect.objectContaining({
          source: 'snapshot',
          everySecret: true,
          secrets: ['prod/orders-db'],
        }),
      }),
    ])
    expect(secrets.json.result.notes.join('\n')).toMatch(/no timeline/)
  })
})
