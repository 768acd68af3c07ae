import { describe, expect, it } from 'vitest'
import { runFir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { FaultProxy } from '../support/fault-proxy.js'

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
    expect(human.stdout).toMatch(/clock\s+AWS is [+-]\d+ s from this machine/)
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

  it('rejects an unknown region name', async () => {
    const r = await runFir(['doctor', '--region', 'atlantis', '--json'], { endpoint: moto.endpoint() })
    expect(r.code).toBe(2)
    expect(r.json.error.message).toContain('not an AWS region name')
  })
})
