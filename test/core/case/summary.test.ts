import { appendFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import type { NewEntry } from '../../../src/core/case/journal.js'
import { SHOWN_SWEEP_MATCHES, summariseCase } from '../../../src/core/case/summary.js'
import { tempDir } from '../../support/cli.js'
import {
  ACCOUNT,
  addSampleSweep,
  buildSampleCase,
  HOSTILE_FUNCTION,
  OTHER_ACCOUNT,
  REGION,
} from '../../support/sample-case.js'

describe('summariseCase: sweeps', () => {
  it("lists each sweep with its facts and first matches, and uses no file whose hash is not the journal's", async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), timeline: false, notes: false })
    const { file } = await addSampleSweep(sample.dir, { extra: 25 })
    const s = await summariseCase(sample.dir)
    expect(s.sweeps).toHaveLength(1)
    const w = s.sweeps[0]!
    expect(w).toMatchObject({
      file,
      fileProblem: null,
      at: '2026-03-14T11:00:00.000Z',
      callerAccount: ACCOUNT,
      indicators: ['role name orders-api-role', 'environment value sha256:5e884898…'],
      accounts: 3,
      accountsSwept: [`${ACCOUNT} (orders-prod)`],
      accountsPartial: [`${OTHER_ACCOUNT} (analytics-prod)`],
      accountsDenied: ['333344445555 (sandbox)'],
      regions: [REGION, 'eu-west-1', 'us-west-2'],
      functionVersionsSeen: 400,
      matchCount: 30,
      gapCount: 3,
      moreMatches: 30 - SHOWN_SWEEP_MATCHES,
    })
    expect(w.matches).toHaveLength(SHOWN_SWEEP_MATCHES)
    expect(w.matches[3]).toMatchObject({
      account: OTHER_ACCOUNT,
      accountName: 'analytics-prod',
      region: 'eu-west-1',
      function: HOSTILE_FUNCTION,
      version: '$LATEST',
      why: `role-name: runs with role arn:aws:iam::${OTHER_ACCOUNT}:role/orders-api-role`,
      sealedIn: null,
      sealError: 'denied: AccessDeniedException: lambda:GetFunction',
    })
    expect(w.matches[4]).toMatchObject({ function: 'reports-job', sealedIn: '20260314T110200.000Z' })

    await appendFile(join(sample.dir, file), ' ')
    const changed = (await summariseCase(sample.dir)).sweeps[0]!
    expect(changed.fileProblem).toBe(
      `${file} was changed after fir wrote it (its SHA-256 is journaled): its matches are not shown; run fir case verify`,
    )
    expect(changed.matches).toEqual([])
    expect(changed.matchCount).toBe(30)
    expect(changed.matchedFunctions).toHaveLength(29)
  })
})

describe('summariseCase: the timeline', () => {
  it('counts findings only from a findings.json as recorded; one missing or changed is named, not "none"', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false })
    const whole = (await summariseCase(sample.dir)).timeline!
    expect(whole.problems).toEqual([])
    expect(Object.values(whole.findings ?? {}).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    // A run killed before it wrote findings.json (or a file changed since): not "findings none".
    await rm(join(sample.dir, 'timeline', 'findings.json'))
    const cut = (await summariseCase(sample.dir)).timeline!
    expect(cut.findings).toBeNull()
    expect(cut.problems).toEqual(['timeline/findings.json is missing'])
    await appendFile(join(sample.dir, 'timeline', 'events.jsonl'), '{"planted":true}\n')
    expect((await summariseCase(sample.dir)).timeline!.problems).toEqual([
      'timeline/events.jsonl was changed after fir recorded it',
      'timeline/findings.json is missing',
    ])
    // Deleted: a timeline the journal recorded is lost evidence, not "none yet".
    await rm(join(sample.dir, 'timeline', 'events.jsonl'))
    expect((await summariseCase(sample.dir)).timeline).toEqual({
      events: null,
      findings: null,
      problems: ['timeline/events.jsonl is missing', 'timeline/findings.json is missing'],
      conflicting: null,
    })
  })
})

describe('summariseCase: the changes', () => {
  const FN = 'arn:aws:lambda:us-east-1:123456789012:function:f18'
  const params = { function: 'f18', functionArn: FN, region: 'us-east-1' }

  it('lists a change cut off mid-step (started, no outcome) with what settles it, and a denied plan', async () => {
    // Before: "0 change outcomes", Actions (0) none — the throttle, made on AWS, was not listed.
    const dir = join(await tempDir(), 'c')
    const handle = await CaseHandle.init('C-18', { dir, firVersion: 't' })
    try {
      // url: crashed once, then a re-run finished it (settled, not listed as interrupted).
      await handle.journal.append({ action: 'containment.url', target: FN, params, outcome: 'started' })
      await handle.journal.append({ action: 'containment.url', target: FN, params, outcome: 'started' })
      await handle.journal.append({ action: 'containment.url', target: FN, params, outcome: 'applied' })
      await handle.journal.append({
        action: 'containment.permissions',
        target: FN,
        params,
        outcome: 'denied',
        error: { code: 'access-denied', message: 'no lambda:GetPolicy' },
      })
      await handle.journal.append({
        action: 'containment.throttle',
        target: FN,
        params,
        outcome: 'started',
        prior: { reserved: 5 },
        undo: { intendedAfter: { reserved: 0 } },
      })
    } finally {
      await handle.close()
    }
    const { changes } = (await summariseCase(dir)).journal
    expect(changes.map((c) => [c.action, c.outcome, c.note ?? null])).toEqual([
      ['containment.url', 'applied', null],
      ['containment.permissions', 'denied', null],
      [
        'containment.throttle',
        'started',
        `no outcome was journaled (the run was interrupted): the change may be in force; run fir contain ${FN} --actions throttle --case ${dir} again to finish it`,
      ],
    ])
  })
})

describe('summariseCase: interrupted changes', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/fa-role'
  const FN = 'arn:aws:lambda:eu-west-1:123456789012:function:fa'
  const actor = (...command: string[]) => ({
    arn: null,
    osUser: 'ir',
    host: 'h',
    command: ['fir', ...command],
  })

  /** The case folder of the last changesOf. */
  let dir = ''
  async function changesOf(entries: NewEntry[]) {
    dir = join(await tempDir(), 'c')
    const handle = await CaseHandle.init('C-19', { dir, firVersion: 't' })
    try {
      for (const e of entries) await handle.journal.append(e)
    } finally {
      await handle.close()
    }
    return (await summariseCase(dir)).journal.changes
  }

  it('a killed revoke-sessions is settled by a later contain of a function with that role (one change)', async () => {
    // Before: still listed as interrupted, with a command to finish it, after contain had read
    // the role and journaled the revocation policy applied.
    const changes = await changesOf([
      {
        action: 'credentials.revoke-sessions',
        target: ROLE,
        params: { role: 'fa-role' },
        outcome: 'started',
      },
      { action: 'containment.sessions', target: ROLE, params: { functionArn: FN }, outcome: 'started' },
      { action: 'containment.sessions', target: ROLE, params: { functionArn: FN }, outcome: 'applied' },
    ])
    expect(changes.map((c) => [c.action, c.outcome, c.note ?? null])).toEqual([
      ['containment.sessions', 'applied', null],
    ])
  })

  it("the command that finishes a cut-off change keeps the run's --renew, --delete-old and AWS flags, and names the case", async () => {
    // Before: `fir creds revoke-sessions --role fa-role` — run as printed it kept the old cutoff
    // (no --renew), and acted in the default profile's account against AWS, not this endpoint.
    const changes = await changesOf([
      {
        action: 'credentials.revoke-sessions',
        target: ROLE,
        params: { role: 'fa-role', renew: true },
        outcome: 'started',
        actor: actor(
          'creds',
          'revoke-sessions',
          '--role',
          'fa-role',
          '--renew',
          '--profile',
          'ir team',
          '--endpoint-url=http://127.0.0.1:5000',
          '--region',
          'eu-west-1',
          '--case',
          'cases/x',
        ),
      },
      {
        action: 'credentials.rotate-key',
        target: 'arn:aws:iam::123456789012:user/ci#AKIAIOSFODNN7EXAMPLE',
        params: { user: 'ci', accessKey: 'AKIAIOSFODNN7EXAMPLE', deleteOld: true },
        outcome: 'started',
        actor: actor(
          'creds',
          'rotate-key',
          '--user',
          'ci',
          '--delete-old',
          '--role-arn',
          'arn:aws:iam::1:role/IR',
        ),
      },
    ])
    expect(changes.map((c) => c.note)).toEqual([
      `no outcome was journaled (the run was interrupted): the change may be in force; run fir creds revoke-sessions --role fa-role --renew --profile 'ir team' --endpoint-url http://127.0.0.1:5000 --region eu-west-1 --case ${dir} again to finish it`,
      `no outcome was journaled (the run was interrupted): the change may be in force; run fir creds rotate-key --user ci --access-key AKIAIOSFODNN7EXAMPLE --delete-old --role-arn arn:aws:iam::1:role/IR --case ${dir} again to finish it`,
    ])
  })
})
