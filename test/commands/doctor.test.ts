import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../src/core/case/case-folder.js'
import { runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { FaultProxy } from '../support/fault-proxy.js'
import { freePort } from '../support/moto.js'
import { seedRole, TEST_ACCOUNT } from '../support/seed.js'

const moto = useMoto()

describe('fir doctor (built CLI against moto)', () => {
  it('reports identity, region, endpoint and clock skew, and lists every command', async () => {
    const r = await runFir(['doctor', '--json'], { endpoint: moto.endpoint() })
    expect([0, 4]).toContain(r.code)
    expect(r.json.status).toBe(r.code)
    expect(r.json.result.identity.account).toMatch(/^\d{12}$/)
    expect(r.json.result.region).toBe('us-east-1')
    expect(r.json.result.endpoint).toBe(moto.endpoint())
    expect(r.json.result.emulatorOnly).toBe(true)
    expect(typeof r.json.result.clockSkewSeconds).toBe('number')
    expect(r.json.result.commands.map((c: { command: string }) => c.command)).toContain('case verify')
    const human = await runFir(['doctor'], { endpoint: moto.endpoint() })
    expect(human.stdout).toMatch(/caller\s+arn:aws:/)
    expect(human.stdout).toMatch(
      /^clock {5}AWS's clock (is \d+ s (ahead of|behind)|agrees with) this machine's/m,
    )
    expect(human.stdout).toMatch(/^proxy {5}none \(straight to the endpoint\)$/m)
    // moto's caller is no IAM principal it knows and it cannot simulate: every action is
    // unchecked, and the table says how many instead of listing hundreds of "unknown"s.
    expect(r.json.result.permissionCheck).toBe('unavailable')
    expect(human.stdout).toMatch(/^Permissions: not checked \(/m)
    type Row = {
      command: string
      ready: string
      actions: { action: string; optional: boolean; status: string }[]
    }
    const rows: Row[] = r.json.result.commands
    const snapshot = rows.find((c) => c.command === 'snapshot')!
    // sts:GetCallerIdentity answered a moment ago: known, not "not checked".
    const required = snapshot.actions.filter(
      (a) => !a.optional && a.action !== 'sts:GetCallerIdentity',
    ).length
    expect(human.stdout).toMatch(
      new RegExp(`^snapshot +unknown +not checked: ${required} required, \\d+ optional$`, 'm'),
    )
    for (const c of rows)
      for (const a of c.actions.filter((x) => x.action === 'sts:GetCallerIdentity'))
        expect(a.status, c.command).toBe('allowed')
    // doctor needs nothing more than the call that just worked: its own row is ready, not
    // "unknown — not checked: 1 required".
    expect(rows.find((c) => c.command === 'doctor')!.ready).toBe('allowed')
    expect(human.stdout).toMatch(/^doctor +allowed +not checked: \d+ optional$/m)
    // timeline's actions are all optional (each source needs its own) and none was checked: nothing
    // says the caller holds any of them. Before: "allowed".
    const timeline = rows.find((c) => c.command === 'timeline')!
    expect(timeline.actions.every((a) => a.optional && a.status === 'unknown')).toBe(true)
    expect(timeline.ready).toBe('unknown')
    expect(human.stdout).toMatch(/^timeline +unknown \(only optional actions\) +not checked: \d+ optional$/m)
    // A command that needs no IAM action at all is ready, checked or not.
    expect(human.stdout).toMatch(/^case verify +allowed +-$/m)
    // The fallback's gap names the call it made for this caller (a user: its policies), not iam:GetUser.
    expect(human.stdout + human.stderr).toMatch(/\[iam:ListUserPolicies\]/)
    expect(Math.max(...human.stdout.split('\n').map((l) => l.length))).toBeLessThan(200)
    // A gap names the HTTP status of an answer that is not AWS's, on one line, without the SDK's
    // advice to inspect a hidden field.
    expect(human.stdout + human.stderr).toMatch(
      /iam:SimulatePrincipalPolicy\]: service-error: the endpoint answered HTTP 500 with a body that is not an AWS response$/m,
    )
    expect(human.stdout + human.stderr).not.toMatch(/\$response|Deserialization/)
  })

  it("groups what a role lacks by denied, not granted and optional, from the role's own policies", async () => {
    await seedRole(moto.endpoint(), {
      name: 'doctor-limited',
      trust: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
      },
      inline: {
        read: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['lambda:Get*', 'lambda:List*', 'sts:GetCallerIdentity', 'iam:Get*', 'iam:List*'],
              Resource: '*',
            },
            { Effect: 'Deny', Action: 'lambda:PutFunctionConcurrency', Resource: '*' },
          ],
        },
      },
    })
    const args = ['doctor', '--role-arn', `arn:aws:iam::${TEST_ACCOUNT}:role/doctor-limited`]
    const r = await runFir(args, { endpoint: moto.endpoint() })
    expect(r.stdout).toMatch(/^Permissions \(checked by reading the caller's policies;/m)
    const row = (command: string) => r.stdout.split('\n').find((l) => l.startsWith(`${command} `)) ?? ''
    expect(row('snapshot')).toMatch(/^snapshot +allowed +not granted \(optional\): logs:FilterLogEvents,/)
    expect(row('contain')).toMatch(
      /^contain +denied +denied: lambda:PutFunctionConcurrency; not granted: lambda:UpdateEventSourceMapping, .*, … \+\d+ more; not granted \(optional\): organizations:DescribeOrganization, logs:FilterLogEvents, .*, … \+\d+ more$/,
    )
    expect(row('creds revoke-sessions')).toMatch(/not-granted +not granted: iam:PutRolePolicy$/)
    expect(row('case verify')).toMatch(/^case verify +allowed +-$/)
  })

  it('says which IAM action is missing when AWS denies the identity call', async () => {
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'GetCallerIdentity', fault: 'access-denied' }],
    }).start()
    try {
      const r = await runFir(['doctor', '--json'], { endpoint: proxy.endpoint })
      expect(r.code).toBe(2)
      expect(r.json.error.code).toBe('access-denied')
      expect(r.json.error.actions[0]).toContain('sts:GetCallerIdentity')
    } finally {
      await proxy.stop()
    }
  })

  it('prints the region, endpoint and proxy it knows before saying the endpoint cannot be reached', async () => {
    // A loopback port nothing listens on.
    const closed = `http://127.0.0.1:${await freePort()}`
    // One attempt a call: the SDK's retries of a refused connection only add their back-off.
    const once = { endpoint: moto.endpoint(), env: { FIR_MAX_ATTEMPTS: '1' } }
    const r = await runFir(['doctor', '--endpoint-url', closed, '--json'], once)
    expect(r.code).toBe(2)
    expect(r.json.status).toBe(2)
    expect(r.json.error.code).toBe('unreachable')
    // Before: the error alone.
    expect(r.json.result).toEqual({
      region: 'us-east-1',
      endpoint: closed,
      serviceEndpoints: {},
      proxy: null,
      proxiesUnused: [],
      emulatorOnly: true,
      clockSkewSeconds: null,
    })
    const human = await runFir(['doctor', '--endpoint-url', closed], once)
    expect(human.code).toBe(2)
    expect(human.stdout).toBe(
      [
        'region    us-east-1',
        `endpoint  ${closed}  (emulator-only: loopback, dummy credentials)`,
        'proxy     none (straight to the endpoint)',
        'clock     unknown: no response from AWS has come back to measure it by',
        '',
      ].join('\n'),
    )
    expect(human.stderr).toMatch(
      /^error: unable to identify the AWS caller: the AWS endpoint could not be reached/,
    )
  })

  it('explains missing credentials instead of crashing', async () => {
    const r = await runFir(['doctor'], {
      endpoint: moto.endpoint(),
      env: { FIR_EMULATOR_ONLY: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/no AWS credentials were found/)
    expect(r.stderr).toMatch(/--profile/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('refuses an endpoint typed without its scheme as bad usage, saying to add http://', async () => {
    // Before: in emulator-only mode, a TypeError's stack trace and exit 1.
    const r = await runFir(['doctor', '--endpoint-url', '127.0.0.1:5194', '--json'], {
      endpoint: moto.endpoint(),
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('')
    expect(r.json.error).toEqual({
      code: 'usage',
      message: 'unable to use endpoint "127.0.0.1:5194": --endpoint-url has no scheme',
      actions: ['add http://: --endpoint-url http://127.0.0.1:5194'],
    })
  })

  it('rejects an unknown region name', async () => {
    const r = await runFir(['doctor', '--region', 'atlantis', '--json'], { endpoint: moto.endpoint() })
    expect(r.code).toBe(2)
    expect(r.json.error.message).toContain('not an AWS region name')
  })
})

/**
 * Outside emulator-only mode, with shared files of the test's own making: a profile that holds the
 * emulator's dummy keys, and the environment's dummy keys set too. Every call goes to moto.
 */
describe('fir doctor with named profiles (real credential chain, dummy keys, moto)', () => {
  async function profileFiles(): Promise<{ home: string; config: string; credentials: string }> {
    const home = await tempDir('fir-profile-home-')
    const config = join(home, 'config')
    await writeFile(
      config,
      '[profile ir]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n[sso-session corp]\nsso_region = us-east-1\n',
    )
    return { home, config, credentials: join(home, 'credentials') }
  }
  const realChain = (files: { home: string; config: string; credentials: string }, extra = {}) => ({
    FIR_EMULATOR_ONLY: undefined,
    HOME: files.home,
    AWS_CONFIG_FILE: files.config,
    AWS_SHARED_CREDENTIALS_FILE: files.credentials,
    ...extra,
  })

  it('says a --profile that no shared file defines is not configured, names the files and the profiles there', async () => {
    const files = await profileFiles()
    for (const region of ['us-east-1', undefined]) {
      const r = await runFir(['doctor', '--profile', 'nosuch', '--json'], {
        endpoint: moto.endpoint(),
        env: realChain(files, { AWS_REGION: region }),
      })
      expect(r.code, r.stdout + r.stderr).toBe(2)
      expect(r.json.error.code).toBe('unknown-profile')
      expect(r.json.error.message).toBe(
        `unable to use profile nosuch: it is not in ${files.config} or ${files.credentials} (no such file)`,
      )
      // The sso-session section is no profile.
      expect(r.json.error.actions[0]).toBe('the profiles there: ir; pass --profile with one of them')
    }
    const human = await runFir(['doctor', '--profile', 'nosuch'], {
      endpoint: moto.endpoint(),
      env: realChain(files),
    })
    expect(human.stderr).toMatch(/^error: unable to use profile nosuch: it is not in /)
    expect(human.stderr).not.toMatch(/no AWS credentials|unable to choose an AWS region/)
  })

  it('says the same of AWS_PROFILE naming a missing profile, and offers to unset it', async () => {
    const files = await profileFiles()
    const r = await runFir(['doctor', '--json'], {
      endpoint: moto.endpoint(),
      env: realChain(files, { AWS_PROFILE: 'nosuch' }),
    })
    expect(r.code).toBe(2)
    expect(r.json.error.message).toMatch(/^unable to use profile nosuch \(from AWS_PROFILE\): it is not in /)
    expect(r.json.error.actions.join('\n')).toMatch(/set AWS_PROFILE to one/)
    expect(r.json.error.actions.join('\n')).toMatch(/unset AWS_PROFILE/)
    // A profile that exists is used.
    const ok = await runFir(['doctor', '--profile', 'ir', '--json'], {
      endpoint: moto.endpoint(),
      env: realChain(files, { AWS_PROFILE: 'nosuch' }),
    })
    expect([0, 4]).toContain(ok.code)
    expect(ok.json.result.identity.account).toBe(TEST_ACCOUNT)
  })
  it("refuses on a tabletop drill's case, naming the drill, without running the credential chain or changing the case", async () => {
    const files = await profileFiles()
    const marker = join(files.home, 'credential_process_ran')
    await writeFile(
      files.config,
      `[default]\nregion = us-east-1\ncredential_process = /bin/sh -c "touch ${marker}; echo '{\\"Version\\":1,\\"AccessKeyId\\":\\"AKIAEVIL\\",\\"SecretAccessKey\\":\\"x\\"}'"\n`,
    )
    const caseDir = join(await tempDir(), 'drill')
    const handle = await CaseHandle.init('tabletop-leaked-key', { dir: caseDir, firVersion: 'test' })
    await handle.journal.append({
      action: 'tabletop.start',
      target: 'leaked-key-in-environment',
      params: { scenario: 'leaked-key-in-environment' },
      outcome: 'recorded',
    })
    await handle.close()
    const journal = await readFile(join(caseDir, 'journal.jsonl'), 'utf8')
    // The responder's own chain (no environment keys, no emulator-only), as after the drill.
    const env = realChain(files, { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined })
    const r = await runFir(['doctor', '--case', caseDir, '--json'], { env })
    expect(r.code, r.stdout + r.stderr).toBe(2)
    expect(r.json.error.message).toMatch(
      /^unable to send a sts request to sts\.us-east-1\.amazonaws\.com: this case is a tabletop drill \(scenario leaked-key-in-environment\), and a drill never reaches AWS/,
    )
    expect(r.json.error.actions[0]).toBe('run the drill again: fir tabletop run leaked-key-in-environment')
    expect(existsSync(marker)).toBe(false)
    expect(await readFile(join(caseDir, 'journal.jsonl'), 'utf8')).toBe(journal)
    // The drill's case from FIR_CASE, as a responder exports it: refused the same way. Before: the
    // credential chain ran and doctor called STS.
    const fromEnv = await runFir(['doctor', '--json'], { env: { ...env, FIR_CASE: caseDir } })
    expect(fromEnv.code, fromEnv.stdout + fromEnv.stderr).toBe(2)
    expect(fromEnv.json.error.message).toMatch(
      /this case is a tabletop drill \(scenario leaked-key-in-environment\)/,
    )
    expect(existsSync(marker)).toBe(false)
    // Another case is a case like any: its id names the session, and doctor runs.
    const other = await CaseHandle.init('INC-DOCTOR', { dir: join(await tempDir(), 'c'), firVersion: 'test' })
    await other.close()
    const ok = await runFir(['doctor', '--profile', 'ir', '--case', other.dir, '--json'], {
      endpoint: moto.endpoint(),
      env: realChain(await profileFiles()),
    })
    expect([0, 4], ok.stderr).toContain(ok.code)
    expect(ok.json.result.identity.account).toBe(TEST_ACCOUNT)
  })

  it("says in one warning of fir's own that environment keys are ignored for the profile", async () => {
    const files = await profileFiles()
    // testEnv sets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (dummy ones).
    const r = await runFir(['doctor', '--profile', 'ir', '--json'], {
      endpoint: moto.endpoint(),
      env: realChain(files),
    })
    expect([0, 4]).toContain(r.code)
    const line =
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set too: fir uses profile ir (--profile) and ignores them (unset them to silence this)'
    expect(r.json.warnings).toContain(line)
    expect(r.stderr).toContain(`warning: ${line}\n`)
    expect(r.stderr).not.toMatch(
      /@aws-sdk|Multiple credential sources|AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY pair/,
    )
  })
})
