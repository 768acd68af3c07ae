import { beforeAll, describe, expect, it } from 'vitest'
import { verifyCase } from '../../src/core/case/verify.js'
import {
  awsState,
  expectEachStepOnce,
  KILLABLE,
  killAt,
  prepare,
  readJournal,
  STEPS,
} from '../core/playbook/resume-support.js'
import { runFir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'

const moto = useMoto()

/**
 * `fir playbook resume` after SIGKILL at each step of lambda-compromise ends in the same AWS state
 * as an uninterrupted run, with each step applied or already-applied exactly once.
 */
describe('fir playbook resume after SIGKILL (built CLI, moto)', () => {
  let baseline: Record<string, unknown>

  beforeAll(async () => {
    const { cwd, dir, args } = await prepare(moto.endpoint())
    const r = await runFir(['playbook', 'run', 'lambda-compromise', ...args], {
      cwd,
      endpoint: moto.endpoint(),
      timeoutMs: 300_000,
    })
    expect([0, 4], r.stderr).toContain(r.code)
    expectEachStepOnce(await readJournal(dir))
    baseline = await awsState(moto.endpoint())
    // the uninterrupted run did change things: these are what resume must reproduce
    expect(baseline).toMatchObject({
      reservedConcurrency: 0,
      // the key the intruder made for backup-admin is deactivated; no new one is made for the user
      backupAdminKeys: ['Inactive'],
      ciDeployerKeys: ['Active', 'Inactive'],
      rolePolicies: { 'fir-revoke-RESUME-1': expect.stringContaining('aws:TokenIssueTime') },
    })
    expect(String(baseline.description)).toMatch(/fir/)
  }, 600_000)

  for (const step of KILLABLE) {
    it(`killed when step ${step} has started, resumed: same AWS state, every step finished once`, async () => {
      const { cwd, dir, result: killed } = await killAt(moto.endpoint(), step)
      expect(killed.signal).toBe('SIGKILL')
      const before = await readJournal(dir)
      expect(
        before.some((e) => e.action === 'playbook.step' && e.params.step === step && e.outcome === 'started'),
      ).toBe(true)
      expect(before.some((e) => e.action === 'playbook.run' && e.outcome === 'applied')).toBe(false)
      const resumed = await runFir(['playbook', 'resume', '--case', dir, '--yes', '--json'], {
        cwd,
        endpoint: moto.endpoint(),
        timeoutMs: 300_000,
      })
      expect([0, 4], resumed.stderr).toContain(resumed.code)
      expect(resumed.json.result.resumed).toBe(true)
      // Gaps of steps finished before the kill still count (exit 4), each said to be the earlier
      // attempt's, with a warning saying why; the re-run step's come from its new attempt only.
      const gaps = resumed.json.gaps as { what: string }[]
      expect(resumed.code).toBe(gaps.length > 0 ? 4 : 0)
      const earlier = gaps.flatMap(
        (g) => /^step (\S+), finished in an earlier attempt \(/.exec(g.what)?.[1] ?? [],
      )
      for (const id of earlier) expect(STEPS.indexOf(id)).toBeLessThan(STEPS.indexOf(step))
      if (earlier.length > 0)
        expect((resumed.json.warnings as string[]).join('\n')).toMatch(/hit in an earlier attempt by steps? /)
      const journal = await readJournal(dir)
      expect(journal.filter((e) => e.action === 'playbook.resume').map((e) => e.params.from)).toEqual([step])
      expectEachStepOnce(journal, step)
      expect(await awsState(moto.endpoint())).toEqual(baseline)
      expect((await verifyCase(dir)).problems).toEqual([])
    }, 600_000)
  }
})
