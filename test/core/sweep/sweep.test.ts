import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Indicators } from '../../../src/core/sweep/indicators.js'
import { runSweep, type SweepOptions } from '../../../src/core/sweep/sweep.js'
import { useMoto } from '../../support/emulator.js'
import { testContext } from '../athena/context.js'
import { clientsIn, createFunction, ensureRole, MANAGEMENT_ACCOUNT } from './org-fixture.js'

const moto = useMoto()
// An account reached by AssumeRole whose id sorts before the caller's: its matches seal first.
const OTHER = '100000000001'

const indicators: Indicators = {
  roleNames: ['pay-role'],
  layerArns: [],
  codeSha256: [],
  envValueSha256: [],
  public: false,
}

function options(extra: Partial<SweepOptions>): SweepOptions {
  return {
    org: false,
    accounts: [MANAGEMENT_ACCOUNT],
    regions: ['us-east-1'],
    allRegions: false,
    assumeRole: 'OrganizationAccountAccessRole',
    indicators,
    snapshot: false,
    concurrency: 4,
    ratePerAccount: 15,
    ...extra,
  }
}

type Entry = { action: string; actor: { arn: string | null }; params: Record<string, unknown> }

async function journal(dir: string): Promise<Entry[]> {
  return (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
}

describe('runSweep (core, against moto)', () => {
  beforeAll(async () => {
    for (const account of [MANAGEMENT_ACCOUNT, OTHER]) {
      const c = await clientsIn(moto.endpoint(), account, 'us-east-1')
      await createFunction(c, `fn-${account}`, await ensureRole(c.iam, 'pay-role', account))
    }
  })

  it("journals each account's snapshot as that account's principal, and names the account and region of its gaps", async () => {
    const { ctx, dir } = await testContext(moto.endpoint())
    const r = await runSweep(ctx, options({ accounts: [MANAGEMENT_ACCOUNT, OTHER], snapshot: true }))
    expect(r.snapshots.map((s) => [s.account, s.error])).toEqual([
      [OTHER, undefined],
      [MANAGEMENT_ACCOUNT, undefined],
    ])
    const entries = await journal(dir)
    const caller = r.caller.arn
    expect(caller).toContain(`::${MANAGEMENT_ACCOUNT}:`)
    const assumed = `arn:aws:sts::${OTHER}:assumed-role/OrganizationAccountAccessRole/`
    for (const s of r.snapshots) {
      const seal = entries.find((e) => e.action === 'evidence.seal' && e.params.set === s.set)!
      const snapshot = entries.find((e) => e.action === 'snapshot' && e.params.set === s.set)!
      for (const e of [seal, snapshot]) {
        if (s.account === OTHER) expect(e.actor.arn).toContain(assumed)
        else expect(e.actor.arn, `${e.action} of the caller's own account`).toBe(caller)
      }
    }
    expect(entries.find((e) => e.action === 'sweep')!.actor.arn).toBe(caller)

    // moto serves no provisioned-concurrency route: the snapshots' gaps say which account and
    // region they are in (before: "provisioned concurrency of fn-…", nowhere named).
    const snapshotGaps = ctx.gaps.list.filter((g) => g.what.includes('fn-'))
    expect(snapshotGaps.length).toBeGreaterThan(0)
    for (const g of snapshotGaps) expect(g.what).toMatch(/^account \d{12} region us-east-1: /)
    expect(snapshotGaps.some((g) => g.what.startsWith(`account ${OTHER} region us-east-1: `))).toBe(true)
    // Each set's summary holds its own gaps, not those of the other account's set.
    for (const s of r.snapshots) {
      const summary = JSON.parse(await readFile(join(dir, 'evidence', s.set!, 'summary.json'), 'utf8'))
      expect(summary.gaps.length).toBeGreaterThan(0)
      expect(summary.gaps.map((g: { what: string }) => g.what).join(' ')).not.toContain(
        `fn-${s.account === OTHER ? MANAGEMENT_ACCOUNT : OTHER}`,
      )
    }
  })
})
