import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AddPermissionCommand, CreateAliasCommand, PublishVersionCommand } from '@aws-sdk/client-lambda'
import { beforeAll, describe, expect, it } from 'vitest'
import { summariseCase } from '../../src/core/case/summary.js'
import { buildReportModel } from '../../src/core/report/build.js'
import {
  accountOfAccessKey,
  clientsIn,
  createFunction,
  createOrganisation,
  ensureRole,
  MANAGEMENT_ACCOUNT,
  makePublic,
} from '../core/sweep/org-fixture.js'
import { initCase, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { FaultProxy } from '../support/fault-proxy.js'

const moto = useMoto()
const REGIONS = ['us-east-1', 'eu-west-1']

let members: string[] = []
let closed: string[] = []
const runningR: string[] = []
const publicFns: string[] = []

async function newCase(id: string): Promise<string> {
  return initCase(id, { dir: join(await tempDir(), id) })
}

describe('fir sweep (built CLI against moto: an organisation of three member accounts)', () => {
  beforeAll(async () => {
    const endpoint = moto.endpoint()
    ;({ members, closed } = await createOrganisation(endpoint, 3, 1))
    for (const account of [...members, MANAGEMENT_ACCOUNT]) {
      for (const region of REGIONS) {
        // The management account only holds functions in us-east-1.
        if (account === MANAGEMENT_ACCOUNT && region !== 'us-east-1') continue
        const c = await clientsIn(endpoint, account, region)
        const r = await ensureRole(c.iam, 'R', account)
        const other = await ensureRole(c.iam, 'R-other', account)
        runningR.push(await createFunction(c, `app-${region}`, r))
        await createFunction(c, `decoy-${region}`, other)
        if (account === members[0] && region === 'eu-west-1') {
          await createFunction(c, 'public-web', other)
          await makePublic(c, 'public-web')
          publicFns.push(`arn:aws:lambda:${region}:${account}:function:public-web`)
        }
      }
    }
    // A closed account holds a function with R too: it must not be swept.
    const c = await clientsIn(endpoint, closed[0]!, 'us-east-1')
    await createFunction(c, 'in-closed-account', await ensureRole(c.iam, 'R', closed[0]!))
  })

  it('finds every function running R in every account and region, and no other', async () => {
    const dir = await newCase('sweep-1')
    const r = await runFir(
      ['sweep', '--org', '--role-name', 'R', '--regions', REGIONS.join(','), '--case', dir, '--json'],
      { endpoint: moto.endpoint() },
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.code).toBe(0)
    expect(r.json.status).toBe(0)
    const res = r.json.result
    const found = res.matches.map((m: { arn: string }) => m.arn.replace(/:\$LATEST$/, '')).sort()
    expect(found).toEqual([...runningR].sort())
    expect(runningR).toHaveLength(7)
    for (const m of res.matches) {
      expect(m.reasons).toEqual([{ indicator: 'role-name', detail: expect.stringContaining(':role/R') }])
      expect(REGIONS).toContain(m.region)
      expect(m.arn).toContain(`:${m.account}:function:`)
    }
    const ids = res.accounts.map((a: { id: string }) => a.id).sort()
    expect(ids).toEqual([...members, MANAGEMENT_ACCOUNT].sort())
    expect(res.inactiveAccounts.map((a: { id: string }) => a.id)).toEqual(closed)
    for (const a of res.accounts) {
      expect(a.status).toBe('swept')
      expect(a.maxRequestsPerSecond).toBeLessThanOrEqual(10)
    }
    const mgmt = res.accounts.find((a: { id: string }) => a.id === MANAGEMENT_ACCOUNT)
    expect(mgmt.via).toMatch(/^caller /)
    const member = res.accounts.find((a: { id: string }) => a.id === members[0])
    expect(member.via).toBe(`arn:aws:iam::${members[0]}:role/OrganizationAccountAccessRole`)

    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const entry = journal.find((e) => e.action === 'sweep')
    expect(entry.params.matchCount).toBe(7)
    expect(entry.params.indicators.roleNames).toEqual(['R'])
    const saved = JSON.parse(await readFile(join(dir, res.file), 'utf8'))
    expect(saved.matches).toHaveLength(7)
    const verify = await runFir(['case', 'verify', '--case', dir, '--json'])
    expect(verify.code).toBe(0)
    // What case show and the report read of it: the file checked against the journal, every match.
    const shown = (await summariseCase(dir)).sweeps
    expect(shown).toHaveLength(1)
    expect(shown[0]).toMatchObject({
      file: res.file,
      fileProblem: null,
      callerAccount: MANAGEMENT_ACCOUNT,
      indicators: ['role name R'],
      accounts: 4,
      matchCount: 7,
    })
    expect(shown[0]!.matches.map((m) => m.arn)).toEqual(res.matches.map((m: { arn: string }) => m.arn))
    const model = await buildReportModel(dir, { verify: false })
    expect(model.scope.sweeps[0]!.matchCountText).toBe('7 function versions (7 functions)')
    expect(model.recommendations.items.map((r) => r.title)).toContain(
      `Review and contain the other functions the sweep of ${model.scope.sweeps[0]!.atDisplay} matched`,
    )

    const human = await runFir(
      ['sweep', '--org', '--role-name', 'R', '--regions', REGIONS.join(','), '--case', dir],
      { endpoint: moto.endpoint() },
    )
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/account\s+region\s+function\s+version\s+why/)
    // The management account (the caller's) is read with the caller's own credentials, not the role.
    expect(human.stdout).toContain(
      `region(s) as role OrganizationAccountAccessRole (account ${MANAGEMENT_ACCOUNT}: with the caller's own credentials)`,
    )
    const own = await runFir(
      [
        'sweep',
        '--accounts',
        MANAGEMENT_ACCOUNT,
        '--role-name',
        'R',
        '--regions',
        'us-east-1',
        '--case',
        dir,
      ],
      { endpoint: moto.endpoint() },
    )
    expect(own.stdout).toContain(
      `region(s) with the caller's own credentials (account ${MANAGEMENT_ACCOUNT})`,
    )
    expect(own.stdout + own.stderr).not.toContain('as role')
    expect(human.stdout).toContain(`${members[1]}  eu-west-1  app-eu-west-1`)
  })

  it('reports a denied account as a named gap (exit 4) and still sweeps the others', async () => {
    const dir = await newCase('sweep-2')
    const denied = members[1]!
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: (req) => accountOfAccessKey(req.accessKeyId) === denied, fault: 'access-denied' }],
    }).start()
    try {
      const r = await runFir(
        ['sweep', '--org', '--role-name', 'R', '--regions', REGIONS.join(','), '--case', dir, '--json'],
        { endpoint: proxy.endpoint },
      )
      expect(r.code).toBe(4)
      expect(r.json.status).toBe(4)
      expect(r.json.gaps).toHaveLength(1)
      expect(r.json.gaps[0].what).toBe(`account ${denied} (member-1)`)
      expect(r.json.gaps[0].reason).toMatch(/denied|AccessDenied/)
      const res = r.json.result
      expect(res.accounts.find((a: { id: string }) => a.id === denied).status).toBe('denied')
      const found = res.matches.map((m: { arn: string }) => m.arn.replace(/:\$LATEST$/, '')).sort()
      expect(found).toEqual(runningR.filter((a) => !a.includes(`:${denied}:`)).sort())
      // The proxy really saw that account's requests (and denied them), nothing was sent past it.
      expect(proxy.records.some((x) => x.faulted && accountOfAccessKey(x.accessKeyId) === denied)).toBe(true)
    } finally {
      await proxy.stop()
    }
  })

  it('reports one denied region of an account as a gap for that region only', async () => {
    const dir = await newCase('sweep-3')
    const target = members[2]!
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [
        {
          match: (req) =>
            req.service === 'lambda' &&
            req.region === 'eu-west-1' &&
            accountOfAccessKey(req.accessKeyId) === target,
          fault: 'access-denied',
        },
      ],
    }).start()
    try {
      const r = await runFir(
        ['sweep', '--org', '--role-name', 'R', '--regions', REGIONS.join(','), '--case', dir, '--json'],
        { endpoint: proxy.endpoint },
      )
      expect(r.code).toBe(4)
      expect(r.json.gaps.map((g: { what: string; call: string }) => [g.what, g.call])).toEqual([
        [`account ${target} (member-2) region eu-west-1`, 'lambda:ListFunctions'],
      ])
      const acct = r.json.result.accounts.find((a: { id: string }) => a.id === target)
      expect(acct.status).toBe('partial')
      expect(acct.regionsSwept).toEqual(['us-east-1'])
    } finally {
      await proxy.stop()
    }
  })

  it('never reads "No function matched." as clean when accounts were denied or read in part', async () => {
    const dir = await newCase('sweep-unread')
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: (req) => req.service === 'lambda', fault: 'access-denied' }],
    }).start()
    try {
      const all = await runFir(
        ['sweep', '--org', '--role-name', 'R', '--regions', REGIONS.join(','), '--case', dir],
        { endpoint: proxy.endpoint },
      )
      expect(all.code).toBe(4)
      expect(all.stdout).toContain(
        'No function matched, but no account was read in full (see the gaps): this is not a clean result.',
      )
      expect(all.stdout).not.toMatch(/^No function matched\.$/m)
    } finally {
      await proxy.stop()
    }
    const one = await new FaultProxy(moto.endpoint(), {
      rules: [
        {
          match: (req) => req.service === 'lambda' && accountOfAccessKey(req.accessKeyId) === members[0],
          fault: 'access-denied',
        },
      ],
    }).start()
    try {
      const r = await runFir(
        ['sweep', '--org', '--role-name', 'NO-SUCH-ROLE', '--regions', REGIONS.join(','), '--case', dir],
        { endpoint: one.endpoint },
      )
      expect(r.code).toBe(4)
      expect(r.stdout).toMatch(
        /No function matched in what was read; 1 of \d+ account\(s\) were not read in full \(see the gaps\): this is not a clean result\./,
      )
    } finally {
      await one.stop()
    }
  })

  it('finds public functions (URL AuthType NONE) with --public, and explains', async () => {
    const dir = await newCase('sweep-4')
    const r = await runFir(
      [
        'sweep',
        '--accounts',
        members.join(','),
        '--public',
        '--regions',
        REGIONS.join(','),
        '--case',
        dir,
        '--json',
      ],
      { endpoint: moto.endpoint() },
    )
    // moto has no ListFunctionUrlConfigs route: fir falls back to the unqualified URL and says
    // (one gap per account-region) that alias URLs were not read.
    expect(r.code).toBe(4)
    expect(r.json.gaps).toHaveLength(members.length * REGIONS.length)
    for (const g of r.json.gaps) expect(g.call).toBe('lambda:ListFunctionUrlConfigs')
    const found = r.json.result.matches.map((m: { arn: string }) => m.arn.replace(/:\$LATEST$/, ''))
    expect(found).toEqual(publicFns)
    const why = r.json.result.matches[0].reasons.map((x: { detail: string }) => x.detail).join(' ')
    expect(why).toMatch(/AuthType NONE/)
    expect(why).toMatch(/public-url/)

    // A dry run exits 0 or 2 (DESIGN §1), as contain's does; the gaps are still listed. Before: 4.
    const dry = await runFir(
      [
        'sweep',
        '--accounts',
        members.join(','),
        '--public',
        '--snapshot',
        '--dry-run',
        '--regions',
        REGIONS.join(','),
        '--case',
        dir,
        '--json',
      ],
      { endpoint: moto.endpoint() },
    )
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.json.status).toBe(0)
    expect(dry.json.gaps).toHaveLength(members.length * REGIONS.length)
    expect(dry.json.result.snapshots).toEqual([])
    const dryHuman = await runFir(
      ['sweep', '--accounts', members[0]!, '--public', '--dry-run', '--regions', 'us-east-1', '--case', dir],
      { endpoint: moto.endpoint() },
    )
    expect(dryHuman.code, dryHuman.stderr).toBe(0)
    expect(dryHuman.stdout + dryHuman.stderr).toContain('lambda:ListFunctionUrlConfigs')
  })

  it("--snapshot seals the matches of each account with that account's credentials", async () => {
    const dir = await newCase('sweep-snap')
    const account = members[0]!
    const r = await runFir(
      [
        'sweep',
        '--accounts',
        account,
        '--regions',
        'us-east-1',
        '--role-name',
        'R',
        '--snapshot',
        '--case',
        dir,
        '--json',
      ],
      { endpoint: moto.endpoint() },
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
    // moto serves no code bytes and no provisioned-concurrency routes: those parts are gaps (exit 4).
    expect([0, 4]).toContain(r.code)
    const res = r.json.result
    expect(res.matches.map((m: { function: string }) => m.function)).toEqual(['app-us-east-1'])
    expect(res.snapshots).toHaveLength(1)
    const snap = res.snapshots[0]
    expect(snap).toMatchObject({
      account,
      region: 'us-east-1',
      functions: [`arn:aws:lambda:us-east-1:${account}:function:app-us-east-1`],
    })
    expect(snap.error).toBeUndefined()
    const summary = JSON.parse(await readFile(join(dir, 'evidence', snap.set, 'summary.json'), 'utf8'))
    // Taken in the member account, as the assumed role.
    expect(summary.takenBy.account).toBe(account)
    expect(summary.takenBy.arn).toContain(`:sts::${account}:assumed-role/OrganizationAccountAccessRole/`)
    expect(summary.functions.map((f: { name: string }) => f.name)).toEqual(['app-us-east-1'])
    const verify = await runFir(['case', 'verify', '--case', dir, '--json'])
    expect(verify.code).toBe(0)
    // The sweep itself is journaled as the caller, before the snapshot's own entries.
    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const sweep = journal.find((e) => e.action === 'sweep')
    expect(sweep.actor.arn).not.toContain('assumed-role/OrganizationAccountAccessRole')
    expect(journal.some((e) => e.action === 'evidence.seal')).toBe(true)

    const dry = await runFir(
      [
        'sweep',
        '--accounts',
        account,
        '--regions',
        'us-east-1',
        '--role-name',
        'R',
        '--snapshot',
        '--dry-run',
        '--case',
        dir,
        '--json',
      ],
      { endpoint: moto.endpoint() },
    )
    expect(dry.code).toBe(0)
    expect(dry.json.result.snapshots).toEqual([])
  })

  it("says what to do when the caller may not list the organisation's accounts", async () => {
    const dir = await newCase('sweep-org-denied')
    const proxy = await new FaultProxy(moto.endpoint(), {
      rules: [{ match: 'ListAccounts', fault: 'access-denied' }],
    }).start()
    try {
      const r = await runFir(
        ['sweep', '--org', '--role-name', 'R', '--regions', 'us-east-1', '--case', dir, '--json'],
        {
          endpoint: proxy.endpoint,
        },
      )
      expect(r.code).toBe(2)
      expect(r.json.error.code).toBe('access-denied')
      expect(r.json.error.message).toContain('organizations:ListAccounts')
      expect(r.json.error.actions.join(' ')).toMatch(/--accounts/)
    } finally {
      await proxy.stop()
    }
  })

  it('an organisation that lists no account (or none ACTIVE) is "nothing swept", a warning, never "No function matched."', async () => {
    const sweepThrough = async (id: string, body: (text: string) => string) => {
      const dir = await newCase(id)
      const proxy = await new FaultProxy(moto.endpoint(), {
        rewrites: [{ match: 'ListAccounts', body }],
      }).start()
      try {
        const args = ['sweep', '--org', '--role-name', 'R', '--regions', 'us-east-1', '--case', dir]
        const json = await runFir([...args, '--json'], { endpoint: proxy.endpoint })
        const human = await runFir(args, { endpoint: proxy.endpoint })
        return { json, human }
      } finally {
        await proxy.stop()
      }
    }
    // ListAccounts answered, with nothing in it: no call failed, so no gap and exit 0 — but a warning.
    const empty = await sweepThrough('sweep-org-empty', () => JSON.stringify({ Accounts: [] }))
    expect(empty.json.code, empty.json.stderr).toBe(0)
    expect(empty.json.json.gaps).toEqual([])
    expect(empty.json.json.result.accounts).toEqual([])
    expect(empty.json.json.warnings).toEqual([
      expect.stringMatching(/^nothing was swept: organizations:ListAccounts listed no account/),
    ])
    expect(empty.human.code).toBe(0)
    expect(empty.human.stdout).toMatch(/^No account swept: organizations:ListAccounts listed no account/)
    expect(empty.human.stdout).not.toMatch(/No function matched/)
    expect(empty.human.stderr).toMatch(/warning: nothing was swept/)

    const suspended = await sweepThrough('sweep-org-inactive', (text) =>
      text.replace(/"(State|Status)": ?"ACTIVE"/g, '"$1": "SUSPENDED"'),
    )
    expect(suspended.json.code).toBe(0)
    expect(suspended.json.json.warnings).toEqual([
      expect.stringMatching(
        /^nothing was swept: none of the \d+ account\(s\) organizations:ListAccounts listed is ACTIVE/,
      ),
    ])
    expect(suspended.human.stdout).toMatch(/^No account swept: none of the \d+ account\(s\)/)
    expect(suspended.human.stdout).not.toMatch(/No function matched/)
  })

  it('rejects bad input with a clear message and never echoes a non-hash --env-value-sha256', async () => {
    const dir = await newCase('sweep-5')
    const leaked = 'hunter2-super-secret-value'
    const r = await runFir(['sweep', '--org', '--env-value-sha256', leaked, '--case', dir], {
      endpoint: moto.endpoint(),
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/not 64 hex digits/)
    expect(r.stderr + r.stdout).not.toContain(leaked)
    const none = await runFir(['sweep', '--org', '--case', dir, '--json'], { endpoint: moto.endpoint() })
    expect(none.code).toBe(2)
    expect(none.json.error.message).toMatch(/no indicator/)
    const both = await runFir(['sweep', '--role-name', 'R', '--case', dir, '--json'], {
      endpoint: moto.endpoint(),
    })
    expect(both.code).toBe(2)
    expect(both.json.error.message).toMatch(/exactly one of --org or --accounts/)
  })

  it("--public reads the policy of every version and alias: a public statement there is not in the function's own", async () => {
    // A region no other test sweeps: this function is seen here only.
    const region = 'ap-southeast-2'
    const account = members[1]!
    const c = await clientsIn(moto.endpoint(), account, region)
    await createFunction(c, 'alias-open', await ensureRole(c.iam, 'R-alias', account))
    const version = (await c.lambda.send(new PublishVersionCommand({ FunctionName: 'alias-open' }))).Version!
    await c.lambda.send(
      new CreateAliasCommand({ FunctionName: 'alias-open', Name: 'live', FunctionVersion: version }),
    )
    await c.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'alias-open',
        StatementId: 'open-live',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
        Qualifier: 'live',
      }),
    )
    // moto keeps one policy for a function and all its qualifiers; AWS keeps one each. The proxy
    // shows each policy as AWS would: the alias's statement in the alias's policy only.
    const onlyOwn = (qualifier: string) => (text: string) => {
      const out = JSON.parse(text) as { Policy: string }
      const policy = JSON.parse(out.Policy) as { Statement: { Resource: string }[] }
      policy.Statement = policy.Statement.filter(
        (st) => st.Resource.endsWith(':live') === (qualifier === 'live'),
      )
      return JSON.stringify({ ...out, Policy: JSON.stringify(policy) })
    }
    const proxy = await new FaultProxy(moto.endpoint(), {
      rewrites: [
        {
          match: (q) => q.operation === 'GetPolicy' && q.query?.get('Qualifier') === 'live',
          body: onlyOwn('live'),
        },
        {
          match: (q) => q.operation === 'GetPolicy' && q.query?.get('Qualifier') !== 'live',
          body: onlyOwn(''),
        },
      ],
    }).start()
    try {
      const dir = await newCase('sweep-alias')
      const r = await runFir(
        ['sweep', '--accounts', account, '--public', '--regions', region, '--case', dir, '--json'],
        { endpoint: proxy.endpoint },
      )
      expect([0, 4]).toContain(r.code) // moto serves no ListFunctionUrlConfigs: a gap
      expect(r.json.result.matches.map((m: { function: string }) => m.function)).toEqual(['alias-open'])
      expect(r.json.result.matches[0].reasons.map((x: { detail: string }) => x.detail)).toEqual([
        'resource policy statement open-live (alias live) allows "*"',
      ])
      const asked = proxy.records
        .filter((x) => x.operation === 'GetPolicy')
        .map((x) => x.query?.get('Qualifier'))
      expect(asked).toEqual([null, version, 'live'])
    } finally {
      await proxy.stop()
    }
  })
})
