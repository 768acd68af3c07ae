import { describe, expect, it } from 'vitest'
import type { JournalEntry } from '../../../src/core/case/journal.js'
import { keyUsedFromStolenAddress } from '../../../src/core/credentials/role-use.js'
import { type AdviceInput, limitsOf, recommend, type SweepFollowUp } from '../../../src/core/report/advice.js'
import { type FunctionExposure, viewJournal } from '../../../src/core/report/journal-view.js'
import type { FindingView, RoleFacts } from '../../../src/core/report/model.js'

function timelineFinding(title: string, tags: string[]): FindingView {
  return {
    source: 'timeline',
    level: 'high',
    title,
    kind: 'rule-id',
    target: 'arn:aws:sts::123456789012:assumed-role/r/f',
    detail: 'sts:GetCallerIdentity by the role from 203.0.113.45',
    count: 6,
    failed: 0,
    first: '2026-11-26T20:56:28.000Z',
    firstDisplay: '2026-11-26 20:56:28 UTC',
    last: null,
    lastDisplay: null,
    observedDisplay: 'time not recorded',
    references: [],
    tags,
    roles: ['arn:aws:iam::123456789012:role/r'],
  }
}

function input(timelineFindings: FindingView[]): AdviceInput {
  return {
    functions: [],
    roles: [],
    snapshotFindings: [],
    timelineFindings,
    journal: viewJournal([]),
    snapshotPresent: true,
    timelinePresent: true,
    timelineSources: ['api'],
    timelineSourceKinds: ['api'],
    timelineTotalEvents: 100,
    chainedAssumeRoles: [],
    keysFromStolenAddress: [],
    secretsRead: [],
    keySecrets: [],
    sweeps: [],
    accessOpened: [],
  }
}

/** A final journal entry of one action (only what the journal view reads). */
function journaled(seq: number, action: string, target: string, outcome: string): JournalEntry {
  return {
    seq,
    at: `2026-11-29T13:0${seq}:00.000Z`,
    actor: { arn: null, osUser: 'r', host: 'h', command: [] },
    action,
    target,
    params: {},
    outcome,
    prev: '0',
    hash: '0',
  } as unknown as JournalEntry
}

/** A function's facts with only what the advice reads. */
function functionFacts(name: string, exposure: string[] = []): AdviceInput['functions'][number] {
  return {
    name,
    secrets: [],
    accessKeyIds: [],
    earlierAccessKeyIds: [],
    exposure,
    layers: [],
  } as unknown as AdviceInput['functions'][number]
}

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:payments-webhook'

describe('recommendations', () => {
  it('recommend restoring logging only when logging was tampered with, not for any defense-evasion tag', () => {
    // The stolen-role drill: stolen credentials are tagged defense-evasion (T1078), no log was touched.
    const stolen = timelineFinding('Function Role Credentials Used Outside Lambda', [
      'attack.credential-access',
      'attack.defense-evasion',
      'attack.t1078.004',
      'attack.t1552',
    ])
    expect(recommend(input([stolen])).map((r) => r.title)).not.toContain(
      'Restore logging the attacker disabled',
    )
    const deleted = timelineFinding('CloudWatch Log Group Or Stream Deleted', [
      'attack.defense-evasion',
      'attack.t1070',
    ])
    const stopped = timelineFinding('CloudTrail Logging Stopped Or Trail Deleted', [
      'attack.defense-evasion',
      'attack.t1562.008',
    ])
    for (const f of [deleted, stopped]) {
      const rec = recommend(input([stolen, f])).find(
        (r) => r.title === 'Restore logging the attacker disabled',
      )
      expect(rec?.because).toEqual([`${f.title} (6)`])
    }
  })

  it('recommend rotating a key used from where the role was stolen to, until fir rotated its user', () => {
    const leaked = {
      accessKeyId: 'AKIARZPUZDIKKKHME4PR',
      userName: 'ci-deployer',
      sourceIps: ['203.0.113.45'],
    }
    const title =
      'Rotate the long-term access key used from the address that used the stolen role credentials'
    const rec = recommend({ ...input([]), keysFromStolenAddress: [leaked] }).find((r) => r.title === title)
    expect(rec?.priority).toBe(1)
    expect(rec?.because).toEqual(['AKIARZPUZDIKKKHME4PR (user ci-deployer) from 203.0.113.45'])
    expect(rec?.command).toBe('fir creds rotate-key --user ci-deployer --access-key AKIARZPUZDIKKKHME4PR')
    const rotation = (outcome: string, user: string) =>
      journaled(1, 'credentials.rotate-key', `arn:aws:iam::123456789012:user/${user}`, outcome)
    const titles = (entries: JournalEntry[]) =>
      recommend({ ...input([]), journal: viewJournal(entries), keysFromStolenAddress: [leaked] }).map(
        (r) => r.title,
      )
    expect(titles([rotation('applied', 'ci-deployer')])).not.toContain(title)
    expect(titles([rotation('failed', 'ci-deployer')])).toContain(title)
    expect(titles([rotation('applied', 'backup-admin')])).toContain(title)
    // The target names the key rotated out (`<user ARN>#<key id>`): still the user's rotation.
    expect(titles([rotation('applied', 'ci-deployer#AKIARZPUZDIKKKHME4PR')])).not.toContain(title)
    expect(titles([rotation('applied', 'backup-admin#AKIARZPUZDIKKKHME4PR')])).toContain(title)
  })
})

describe('recommendations after a restore', () => {
  const entry = (seq: number, action: string, outcome: string) =>
    journaled(seq, action, FUNCTION_ARN, outcome)
  const code = timelineFinding('Lambda Function Code Overwritten', ['attack.persistence'])
  const fn = { ...functionFacts('payments-webhook'), arn: FUNCTION_ARN, region: 'us-east-1' }

  it('says to lift the throttle only while it is in force, not after it was undone', () => {
    const throttled = recommend({
      ...input([code]),
      functions: [fn],
      journal: viewJournal([entry(1, 'containment.throttle', 'applied')]),
    }).find((r) => r.title.startsWith('Redeploy'))
    expect(throttled).toMatchObject({
      title: 'Redeploy the code from a trusted build before lifting the throttle',
      // The ARN: the name alone would be looked for in the responder's default region.
      command: `fir restore ${FUNCTION_ARN} --actions throttle`,
    })
    expect(throttled?.because).toContain('throttle in force')
    const restored = recommend({
      ...input([code]),
      functions: [fn],
      journal: viewJournal([
        entry(1, 'containment.throttle', 'applied'),
        entry(2, 'containment.throttle', 'undone'),
      ]),
    }).find((r) => r.title.startsWith('Redeploy'))
    expect(restored).toMatchObject({ title: 'Redeploy the code from a trusted build', command: null })
    expect(restored?.because).not.toContain('throttle in force')
  })
})

describe('a throttle and event sources AWS denied', () => {
  it('asks now to make them, with the contain command for those alone, and the status says the function is not throttled', () => {
    // Before: no recommendation named them (only a URL or statement still open had one), and the
    // status did not say the function was not throttled.
    const entry = (seq: number, action: string, outcome: string) =>
      journaled(seq, action, FUNCTION_ARN, outcome)
    const journal = viewJournal([
      entry(1, 'containment.event-sources', 'denied'),
      entry(2, 'containment.throttle', 'denied'),
      entry(3, 'containment.url', 'applied'),
    ])
    expect(journal.status.detail).toContain(
      'payments-webhook: not contained — not throttled, so new invocations still run (Throttle: reserved concurrency 0 was denied); its event source mappings (no snapshot says which were enabled).',
    )
    const rec = recommend({
      ...input([]),
      functions: [{ ...functionFacts('payments-webhook'), arn: FUNCTION_ARN }],
      journal,
      caseDir: '/cases/IR-1',
    }).find((r) => r.title === 'Throttle payments-webhook and disable its event sources')
    expect(rec).toMatchObject({
      priority: 1,
      priorityLabel: 'Now',
      because: ['Disable event source mappings was denied', 'Throttle: reserved concurrency 0 was denied'],
      command: `fir contain ${FUNCTION_ARN} --actions event-sources,throttle --case /cases/IR-1`,
    })
    expect(rec?.detail).toMatch(
      /^Containment could not make Disable event source mappings and Throttle: reserved concurrency 0: its event source mappings still deliver events to it and it is not throttled, so new invocations still run\./,
    )
    // Made by a later run: nothing left to ask.
    const later = viewJournal([
      entry(1, 'containment.event-sources', 'denied'),
      entry(2, 'containment.throttle', 'denied'),
      entry(4, 'containment.event-sources', 'applied'),
      entry(5, 'containment.throttle', 'applied'),
    ])
    expect(recommend({ ...input([]), journal: later }).map((r) => r.command)).not.toContainEqual(
      expect.stringContaining('--actions event-sources,throttle'),
    )
    expect(later.status.detail).not.toContain('not throttled')
  })
})

/** A function whose snapshot showed a public URL. */
function publicFunction(arn: string): {
  facts: AdviceInput['functions'][number]
  exposure: FunctionExposure
} {
  const name = arn.split(':').at(-1)!
  return {
    facts: { ...functionFacts(name, ['function URL with AuthType NONE']), arn, label: name },
    exposure: {
      arn,
      name,
      label: name,
      items: [{ kind: 'function-url', what: 'function URL open to anyone (AuthType NONE)', public: true }],
    },
  }
}

describe('public access after a restore', () => {
  it('asks to remove public access again once the URL measure was undone', () => {
    const { facts: exposed, exposure } = publicFunction(FUNCTION_ARN)
    const at = (seq: number, outcome: string) => journaled(seq, 'containment.url', FUNCTION_ARN, outcome)
    const titles = (entries: JournalEntry[]) =>
      recommend({
        ...input([]),
        functions: [exposed],
        journal: viewJournal(entries, { functions: [exposure] }),
      }).map((r) => r.title)
    expect(titles([at(1, 'applied')])).toContain(
      'Keep the function behind AWS_IAM until a reviewed resource policy replaces the public one',
    )
    expect(titles([at(1, 'applied'), at(2, 'undone')])).toContain('Remove public access to the function')
  })
})

describe('revoking the role sessions', () => {
  const role = {
    arn: 'arn:aws:iam::123456789012:role/invoice-export-role',
    name: 'invoice-export-role',
    functions: ['invoice-export'],
    riskyPermissions: [],
    why: [],
    current: true,
    policyGaps: [],
    permissionsUnknown: null,
    sessionsRevoked: false,
  }
  const revoke = (findings: FindingView[]) =>
    recommend({ ...input(findings), roles: [role] }).find((r) => r.title.startsWith('Revoke the sessions'))
  /** A finding whose events are calls by a session of the role. */
  const ofRole = (title: string, tags: string[], arn = role.arn): FindingView => ({
    ...timelineFinding(title, tags),
    target: `arn:aws:sts::123456789012:assumed-role/${arn.split('/').at(-1)}/invoice-export`,
    roles: [arn],
  })

  it('is urgent when a finding shows the role used or reachable, a precaution otherwise', () => {
    const stolen = revoke([
      ofRole('Function Role Credentials Used Outside Lambda', ['attack.credential-access']),
    ])
    expect(stolen).toMatchObject({
      priority: 1,
      command: 'fir creds revoke-sessions --role invoice-export-role',
    })
    expect(stolen?.because).toContain('Function Role Credentials Used Outside Lambda (6)')
    expect(
      revoke([timelineFinding('Lambda Function Code Overwritten', ['attack.persistence'])])?.priority,
    ).toBe(1)
    // A leaked user key made an administrator: nothing says the role's credentials were taken.
    const keyOnly = revoke([
      timelineFinding('Administrator Permissions Granted To An IAM Identity', [
        'attack.privilege_escalation',
      ]),
      timelineFinding('Access Key Created For Another User', ['attack.persistence', 'attack.t1098.001']),
    ])
    expect(keyOnly?.priority).toBe(2)
    expect(keyOnly?.detail).toMatch(
      /^No finding shows the credentials of invoice-export-role used or exposed/,
    )
    expect(keyOnly?.because).toEqual(['1 function(s) run with invoice-export-role'])
  })

  it('cites only the findings about each role: those whose events name it, by account and name', () => {
    const arnOf = (name: string, account = '123456789012') => `arn:aws:iam::${account}:role/${name}`
    const earlier = {
      ...role,
      arn: arnOf('invoice-export-a'),
      name: 'invoice-export-a',
      current: false,
      why: ['earlier $LATEST role of invoice-export, recorded by CreateFunction at … by deployer'],
    }
    const swappedTo = { ...earlier, arn: arnOf('invoice-export-c'), name: 'invoice-export-c' }
    const findings = [
      ofRole('Function Role Credentials Used Outside Lambda', ['attack.credential-access']),
      // A same-named role of another account is another role.
      ofRole(
        'Function Role Credentials Used Outside Lambda From Another Account',
        [],
        arnOf(role.name, '999999999999'),
      ),
      // The calls set the function's role to the current one and to another.
      {
        ...timelineFinding('Lambda Function Layers Or Execution Role Changed', ['attack.persistence']),
        target: 'arn:aws:iam::123456789012:user/deployer, arn:aws:iam::123456789012:user/mallory',
        roles: [role.arn, swappedTo.arn],
      },
    ]
    const recs = recommend({ ...input(findings), roles: [role, earlier, swappedTo] })
    const becauseOf = (name: string) => recs.find((r) => r.title === `Revoke the sessions of role ${name}`)
    // Before: every role's recommendation listed every finding of the function as its reasons.
    expect(becauseOf(role.name)).toMatchObject({
      priority: 1,
      because: [
        '1 function(s) run with invoice-export-role',
        'Function Role Credentials Used Outside Lambda (6)',
        'Lambda Function Layers Or Execution Role Changed (6)',
      ],
    })
    expect(becauseOf(swappedTo.name)).toMatchObject({
      priority: 1,
      because: [
        `invoice-export-c: ${earlier.why[0]}`,
        'Lambda Function Layers Or Execution Role Changed (6)',
      ],
    })
    // No finding is about the earlier role: none is cited, and it is a precaution.
    expect(becauseOf(earlier.name)).toMatchObject({
      priority: 2,
      because: [`invoice-export-a: ${earlier.why[0]}`],
    })
  })
})

describe('keyUsedFromStolenAddress', () => {
  const event = (over: Record<string, unknown>) => ({
    name: 'UpdateFunctionCode',
    actor: { arn: 'arn:aws:iam::123456789012:user/deploy/ci-deployer', accessKeyId: 'AKIARZPUZDIKKKHME4PR' },
    sourceIp: '203.0.113.45',
    findings: [{ rule: 'fir-timeline-call-from-stolen-credentials-address', level: 'high' }],
    ...over,
  })

  it('names the long-term key and its user of an event the correlation flagged', () => {
    expect(keyUsedFromStolenAddress(event({}))).toEqual({
      accessKeyId: 'AKIARZPUZDIKKKHME4PR',
      userName: 'ci-deployer',
      sourceIp: '203.0.113.45',
    })
  })

  it('ignores other findings, session keys, and user names IAM could not have made', () => {
    expect(keyUsedFromStolenAddress(event({ findings: [{ rule: 'other' }] }))).toBeNull()
    expect(
      keyUsedFromStolenAddress(
        event({
          actor: { arn: 'arn:aws:sts::123456789012:assumed-role/r/s', accessKeyId: 'ASIAEXAMPLE000000001' },
        }),
      ),
    ).toBeNull()
    const hostile = keyUsedFromStolenAddress(
      event({
        actor: { arn: 'arn:aws:iam::123456789012:user/x;curl evil|sh', accessKeyId: 'AKIARZPUZDIKKKHME4PR' },
      }),
    )
    expect(hostile).toEqual({ accessKeyId: 'AKIARZPUZDIKKKHME4PR', userName: null, sourceIp: '203.0.113.45' })
  })
})

describe('the environment-secrets recommendation', () => {
  const rotate = /^Rotate the secret values found in the environment/
  it('comes from secrets in the environment, not from a finding whose text mentions credentials', () => {
    const risky: FindingView = {
      ...timelineFinding(
        "Role r grants iam:CreateAccessKey on *: create access keys for an IAM user: long-term credentials that outlive the role's sessions",
        [],
      ),
      source: 'snapshot',
      kind: 'risky-permission',
    }
    const secret: FindingView = {
      ...risky,
      kind: 'secret-in-environment',
      title: 'Secret in the environment of f',
    }
    const titles = (findings: FindingView[]) =>
      recommend({ ...input([]), snapshotFindings: findings }).map((r) => r.title)
    expect(titles([risky]).some((t) => rotate.test(t))).toBe(false)
    // Nor does a risky permission make revoking the role's sessions urgent: it says what the role
    // could do, not that its credentials were used.
    const role: AdviceInput['roles'][number] = {
      name: 'r',
      arn: 'arn:aws:iam::123456789012:role/r',
      functions: ['f'],
      riskyPermissions: [],
      why: [],
      current: true,
      policyGaps: [],
      permissionsUnknown: null,
      sessionsRevoked: false,
    }
    const revoke = recommend({
      ...input([]),
      snapshotFindings: [risky],
      roles: [role],
    }).find((r) => r.title === 'Revoke the sessions of role r')
    expect(revoke?.priority).toBe(2)
    expect(titles([risky, secret]).some((t) => rotate.test(t))).toBe(true)
  })
})

describe('public access of two functions', () => {
  it('asks to remove the public access of the function containment left open, and to keep the other closed', () => {
    // Before: contain fb made the advice say "Containment set the URL to AWS_IAM" for both, and no
    // "Now: remove public access" for fa, whose URL was still open.
    const fa = publicFunction('arn:aws:lambda:us-east-1:123456789012:function:fa')
    const fb = publicFunction('arn:aws:lambda:us-east-1:123456789012:function:fb')
    const recs = recommend({
      ...input([]),
      functions: [fa.facts, fb.facts],
      journal: viewJournal([journaled(1, 'containment.url', fb.exposure.arn, 'applied')], {
        functions: [fa.exposure, fb.exposure],
      }),
    })
    const now = recs.find((r) => r.title === 'Remove public access to the function')
    expect(now).toMatchObject({
      priority: 1,
      command: `fir contain ${fa.exposure.arn} --actions url,permissions`,
    })
    expect(now?.because).toEqual(['fa: function URL with AuthType NONE'])
    const keep = recs.find((r) => r.title.startsWith('Keep the function behind AWS_IAM'))
    expect(keep?.priority).toBe(2)
    expect(keep?.detail).toMatch(
      /^Containment closed the public access of fb \(function URL auth set to AWS_IAM\)\./,
    )
    expect(keep?.because).toEqual(['fb: function URL with AuthType NONE'])
  })
})

describe('what the attacker created', () => {
  const opened = timelineFinding('Lambda Function Policy Opened To Everyone Or Another Account', [
    'attack.persistence',
  ])
  const key = timelineFinding('Access Key Created For Another User', ['attack.persistence'])
  const exposure = publicFunction(FUNCTION_ARN).exposure

  it('says containment closed the public access the attacker opened, while it is in force', () => {
    // Before: "Now: Remove what the attacker created" cited the AddPermission finding as open.
    const recs = (entries: JournalEntry[]) =>
      recommend({
        ...input([opened, key]),
        journal: viewJournal(entries, { functions: [exposure] }),
      })
    const closed = recs([journaled(1, 'containment.permissions', FUNCTION_ARN, 'applied')])
    expect(closed.find((r) => r.title.startsWith('Remove what the attacker created'))?.because).toEqual([
      'Access Key Created For Another User (6)',
    ])
    expect(
      closed.find((r) => r.title === 'Remove for good the public access the attacker opened'),
    ).toMatchObject({
      priority: 2,
      because: ['Lambda Function Policy Opened To Everyone Or Another Account (6)'],
    })
    const reopened = recs([
      journaled(1, 'containment.permissions', FUNCTION_ARN, 'applied'),
      journaled(2, 'containment.permissions', FUNCTION_ARN, 'undone'),
    ])
    expect(reopened.find((r) => r.title.startsWith('Remove what the attacker created'))?.because).toEqual([
      'Lambda Function Policy Opened To Everyone Or Another Account (6)',
      'Access Key Created For Another User (6)',
    ])
  })
})

describe('what the attacker only tried to create', () => {
  it('asks to remove, restore or redeploy only what at least one call went through for', () => {
    // Before: "Now: Remove what the attacker created… The timeline shows calls that create lasting
    // access" for CreateAccessKey calls that were all denied (and likewise logging, code).
    const tried = (title: string, failed: number) => ({
      ...timelineFinding(title, ['attack.persistence']),
      failed,
    })
    const recs = recommend(
      input([
        tried('Access Key Created For Another User', 6),
        tried('CloudTrail StopLogging', 6),
        tried('Lambda UpdateFunctionCode From Outside', 6),
        tried('IAM CreateUser', 2),
      ]),
    )
    expect(recs.find((r) => r.title.startsWith('Remove what the attacker created'))?.because).toEqual([
      'IAM CreateUser (6)',
    ])
    expect(recs.map((r) => r.title)).not.toContain('Restore logging the attacker disabled')
    expect(recs.map((r) => r.title)).not.toContain('Redeploy the code from a trusted build')
  })
})

describe('public access the attacker opened to another function', () => {
  const G1 = 'arn:aws:lambda:us-east-1:123456789012:function:g1'
  const OTHER1 = 'arn:aws:lambda:us-east-1:123456789012:function:other1'
  const opened = timelineFinding('Lambda Function Policy Opened To Everyone Or Another Account', [
    'attack.persistence',
  ])
  const url = timelineFinding('Lambda Function URL Without Authentication', ['attack.persistence'])
  const event = (kind: 'resource-policy' | 'function-url', functionName: string) => ({
    kind,
    functionName,
    region: 'us-east-1',
    eventName: kind === 'function-url' ? 'CreateFunctionUrlConfig' : 'AddPermission20150331v2',
    eventId: `e-${kind}`,
    time: '2026-11-29T12:00:00.000Z',
  })
  const recs = (functionName: string) => {
    const g1 = publicFunction(G1)
    return recommend({
      ...input([opened, url]),
      functions: [g1.facts],
      accessOpened: [event('resource-policy', functionName), event('function-url', functionName)],
      journal: viewJournal(
        [
          journaled(1, 'containment.url', G1, 'applied'),
          journaled(2, 'containment.permissions', G1, 'applied'),
        ],
        { functions: [g1.exposure] },
      ),
    })
  }

  it('keeps it a Now item naming the function it targeted, which containment never touched', () => {
    // Before: "Soon: Remove for good the public access the attacker opened. Containment closed it
    // and it is closed now" (g1 contained) while other1's URL was AuthType NONE.
    const r = recs('other1')
    expect(r.find((x) => x.title === 'Remove for good the public access the attacker opened')).toBeUndefined()
    expect(r.find((x) => x.title.startsWith('Close the public access the attacker opened'))).toMatchObject({
      priority: 1,
      title: 'Close the public access the attacker opened to other1',
      command: 'fir contain other1 --actions url,permissions',
      because: [
        'Lambda Function Policy Opened To Everyone Or Another Account (6)',
        'Lambda Function URL Without Authentication (6)',
        'other1: AddPermission20150331v2 at 2026-11-29T12:00:00.000Z',
        'other1: CreateFunctionUrlConfig (AuthType NONE) at 2026-11-29T12:00:00.000Z',
      ],
    })
    // Given as an ARN, the function is matched by name and region: still other1, still open.
    expect(recs(OTHER1).find((x) => x.title.startsWith('Close the public access'))?.command).toBe(
      `fir contain ${OTHER1} --actions url,permissions`,
    )
  })

  it('one item, not the same command twice, when the function is public and the timeline shows it opened', () => {
    // Before: "Remove public access to the function" and "Close the public access the attacker
    // opened to g1", both Now, both `fir contain <g1> --actions url,permissions`.
    const g1 = publicFunction(G1)
    const r = recommend({
      ...input([opened, url]),
      functions: [g1.facts],
      accessOpened: [event('resource-policy', 'g1'), event('function-url', 'g1')],
      caseDir: '/cases/INC 7',
    })
    const closing = r.filter((x) => x.command?.includes('--actions url,permissions'))
    expect(closing).toHaveLength(1)
    expect(closing[0]).toMatchObject({
      priority: 1,
      title: 'Remove public access to the function',
      command: `fir contain ${G1} --actions url,permissions --case '/cases/INC 7'`,
    })
    expect(closing[0]!.detail).toContain('The timeline shows g1 opened to the public')
    expect(closing[0]!.because).toContain(
      'g1: CreateFunctionUrlConfig (AuthType NONE) at 2026-11-29T12:00:00.000Z',
    )
  })

  it('says it is closed when the targeted function is the one containment keeps closed', () => {
    const r = recs('g1')
    expect(r.find((x) => x.title.startsWith('Close the public access'))).toBeUndefined()
    expect(
      r.find((x) => x.title === 'Remove for good the public access the attacker opened')?.because,
    ).toEqual([
      'Lambda Function Policy Opened To Everyone Or Another Account (6)',
      'Lambda Function URL Without Authentication (6)',
    ])
  })
})

describe('public access containment half closed', () => {
  it('cites only the ways in still open, and names the function, not its last qualifier', () => {
    // Before: "Now: Remove public access" cited the URL finding after the URL was set to AWS_IAM,
    // and "Containment closed the public access of fq:prod" named one qualifier of several.
    const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:fq'
    const finding = (kind: string, title: string): FindingView => ({
      ...timelineFinding(title, []),
      source: 'snapshot',
      kind,
      target: ARN,
      count: 1,
    })
    const exposure: FunctionExposure = {
      arn: ARN,
      name: 'fq',
      label: 'fq',
      items: [
        { kind: 'function-url', what: 'function URL open to anyone (AuthType NONE)', public: true },
        { kind: 'resource-policy', what: 'resource-policy statement pub open to everyone', public: true },
      ],
    }
    const facts = (qualifier: string) =>
      ({
        ...functionFacts('fq', ['function URL with AuthType NONE']),
        arn: ARN,
        label: `fq:${qualifier}`,
      }) as AdviceInput['functions'][number]
    const base = {
      ...input([]),
      functions: [facts('$LATEST'), facts('prod')],
      snapshotFindings: [
        finding('public-url', 'Function URL https://x has AuthType NONE'),
        finding('public-statement', 'Statement pub allows anyone to invoke'),
      ],
    }
    const half = recommend({
      ...base,
      journal: viewJournal([journaled(1, 'containment.url', ARN, 'applied')], { functions: [exposure] }),
    })
    expect(half.find((r) => r.title === 'Remove public access to the function')?.because).toEqual([
      'Statement pub allows anyone to invoke',
    ])
    const closed = recommend({
      ...base,
      journal: viewJournal(
        [
          journaled(1, 'containment.url', ARN, 'applied'),
          journaled(2, 'containment.permissions', ARN, 'applied'),
        ],
        { functions: [exposure] },
      ),
    })
    expect(closed.find((r) => r.title.startsWith('Keep the function behind AWS_IAM'))?.detail).toMatch(
      /^Containment closed the public access of fq \(function URL auth set to AWS_IAM, public resource-policy statements removed\)\./,
    )
  })
})

describe('session limits per role', () => {
  it('names the roles revoked and the roles not revoked', () => {
    // Before: lrA revoked, lrB not, and the limits said only "Chained sessions are not revoked".
    const role = (name: string, sessionsRevoked: boolean) =>
      ({
        arn: `arn:aws:iam::123456789012:role/${name}`,
        name,
        functions: [name === 'lrA' ? 'la1' : 'lb1'],
        riskyPermissions: [],
        why: [],
        current: true,
        policyGaps: [],
        permissionsUnknown: null,
        sessionsRevoked,
      }) as RoleFacts
    const limits = limitsOf({
      ...input([]),
      roles: [role('lrA', true), role('lrB', false)],
      journal: viewJournal([
        journaled(1, 'containment.sessions', 'arn:aws:iam::123456789012:role/lrA', 'applied'),
      ]),
    })
    expect(limits.find((l) => l.title === 'Chained sessions are not revoked')?.detail).toMatch(
      /own sessions \(revoked in this case: lrA\)\./,
    )
    expect(limits.find((l) => l.title === 'Stolen role credentials were not revoked')?.detail).toBe(
      'No session revocation of lrB is in force: temporary credentials already issued to it stay valid until they expire.',
    )
  })
})

describe('limits after a restore', () => {
  const entry = (seq: number, action: string, target: string, outcome: string) =>
    journaled(seq, action, target, outcome)
  const ROLE_ARN = 'arn:aws:iam::123456789012:role/payments-webhook-role'

  it('name only the measures in force now: a lifted revocation is no revocation', () => {
    const limits = (entries: JournalEntry[]) =>
      limitsOf({ ...input([]), journal: viewJournal(entries) }).map((l) => l.title)
    const contained = [
      entry(1, 'containment.throttle', FUNCTION_ARN, 'applied'),
      entry(2, 'credentials.revoke-sessions', ROLE_ARN, 'applied'),
    ]
    expect(limits(contained)).toEqual(
      expect.arrayContaining(['Chained sessions are not revoked', 'In-flight invocations may still run']),
    )
    // Before: both limits stayed after restore (applied once was enough), as if still in force.
    const restored = [
      ...contained,
      entry(3, 'containment.throttle', FUNCTION_ARN, 'undone'),
      entry(4, 'containment.sessions', ROLE_ARN, 'undone'),
    ]
    expect(limits(restored)).not.toContain('In-flight invocations may still run')
    expect(limits(restored)).not.toContain('Chained sessions are not revoked')
    const lifted = limitsOf({ ...input([]), journal: viewJournal(restored) }).find(
      (l) => l.title === 'Stolen role credentials were not revoked',
    )
    expect(lifted?.detail).toMatch(/^The session revocation this case put on the role was lifted/)
  })
})

describe('a role a restore found deleted', () => {
  it('is neither to revoke nor said to have its revocation lifted', () => {
    // Before: "Revoke the sessions of role gone-role" (fir creds revoke-sessions, which cannot
    // succeed) and "The session revocation this case put on gone-role was lifted …: temporary
    // credentials … are valid again".
    const arn = 'arn:aws:iam::123456789012:role/gone-role'
    const role = {
      arn,
      name: 'gone-role',
      functions: ['gone-fn'],
      riskyPermissions: [],
      why: [],
      current: true,
      policyGaps: [],
      permissionsUnknown: null,
      sessionsRevoked: false,
    } as RoleFacts
    const undone = journaled(3, 'containment.sessions', arn, 'undone')
    const i = {
      ...input([timelineFinding('Role session used outside Lambda', [])]),
      roles: [role],
      journal: viewJournal([
        journaled(1, 'containment.sessions', arn, 'started'),
        journaled(2, 'containment.sessions', arn, 'applied'),
        { ...undone, params: { undoOf: 1, noChange: true, gone: true } },
      ]),
    }
    expect(recommend(i).map((r) => r.title)).not.toContain('Revoke the sessions of role gone-role')
    const limits = limitsOf(i)
    expect(limits.map((l) => l.title)).not.toContain('Stolen role credentials were not revoked')
    expect(limits.find((l) => l.title === 'Role deleted since containment')?.detail).toBe(
      'Role gone-role was deleted since this case revoked its sessions (a restore found it gone, the revocation with it): there was nothing left to lift, and a deleted role grants its sessions nothing; one created again under the name is another role, with no revocation.',
    )
  })
})

describe('secrets the role read', () => {
  const rotated = (seq: number, arn: string) => journaled(seq, 'credentials.rotate-secret', arn, 'applied')
  const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/fa/db-AbC123'
  const OTHER = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/other-XyZ789'
  const advice = (entries: JournalEntry[]) => {
    const i = { ...input([]), secretsRead: ['prod/fa/db'], journal: viewJournal(entries) }
    return {
      rec: recommend(i).find(
        (r) => r.title === 'Rotate the Secrets Manager secrets the role’s credentials read',
      ),
      limit: limitsOf(i).find((l) => l.title === 'Secrets were not rotated'),
    }
  }

  it('asks to rotate each secret the timeline shows read until that secret is rotated', () => {
    // Before: no recommendation (a regex over finding titles the shipped rules never match), and
    // none once any other secret was rotated.
    const none = advice([])
    expect(none.rec).toMatchObject({
      priority: 1,
      because: ['prod/fa/db: read with the role’s credentials'],
      command: 'fir creds rotate-secret prod/fa/db',
    })
    expect(none.limit?.detail).toMatch(/^Not rotated in this case: prod\/fa\/db \(read with/)
    const other = advice([rotated(1, OTHER)])
    expect(other.rec?.because).toEqual(['prod/fa/db: read with the role’s credentials'])
    expect(other.limit).toBeDefined()
    const done = advice([rotated(1, SECRET)])
    expect(done.rec).toBeUndefined()
    expect(done.limit).toBeUndefined()
  })

  it("names a secret of another account by its ARN, never a same-named one of the caller's", () => {
    const command = (label: string) =>
      recommend({ ...input([]), secretsRead: [label] }).find((r) =>
        r.title.startsWith('Rotate the Secrets Manager'),
      )?.command
    expect(command('db-pass (eu-west-1, account 210987654321)')).toBe(
      'fir creds rotate-secret arn:aws:secretsmanager:eu-west-1:210987654321:secret:db-pass --region eu-west-1',
    )
    expect(command('db-pass (us-east-1)')).toBe('fir creds rotate-secret db-pass --region us-east-1')
    expect(command('db-pass (account 210987654321)')).toBe(
      "fir creds rotate-secret '<the ARN of db-pass in account 210987654321>'",
    )
  })
})

describe('access keys and their secrets in the environment', () => {
  const KEY = 'AKIAIOSFODNN7INVOICE'
  /** A rotate-key journaled applied, with the after state rotate-key writes. */
  const rotation = (seq: number, user: string, key: string): JournalEntry => ({
    ...journaled(seq, 'credentials.rotate-key', `arn:aws:iam::123456789012:user/${user}#${key}`, 'applied'),
    after: {
      userName: user,
      oldKeyId: key,
      keys: [
        { id: key, status: 'Inactive' },
        { id: `${key.slice(0, -1)}N`, status: 'Active' },
      ],
      firKeyIds: [`${key.slice(0, -1)}N`],
    },
  })
  const fn = {
    ...functionFacts('invoice-export'),
    arn: 'arn:aws:lambda:us-east-1:123456789012:function:invoice-export',
    label: 'invoice-export',
    accessKeyIds: [KEY],
    secrets: ['UPLOAD_KEY_SECRET = ‹redacted len=40 sha256:0123abcd› (aws-secret-access-key)'],
  } as unknown as AdviceInput['functions'][number]
  const pair = { function: 'invoice-export', arn: fn.arn, variable: 'UPLOAD_KEY_SECRET', accessKeyId: KEY }
  const secretFinding: FindingView = {
    ...timelineFinding(
      'Environment variable UPLOAD_KEY_SECRET of invoice-export holds a secret (aws-secret-access-key): ‹redacted len=40 sha256:0123abcd›',
      [],
    ),
    source: 'snapshot',
    kind: 'secret-in-environment',
    target: fn.arn,
  }
  const advice = (entries: JournalEntry[]) => {
    const i = {
      ...input([]),
      functions: [fn],
      snapshotFindings: [secretFinding],
      keySecrets: [pair],
      journal: viewJournal(entries),
    }
    return {
      recs: recommend(i).map((r) => r.title),
      limits: limitsOf(i),
    }
  }

  it('keeps asking to rotate the environment’s key after another user’s key was rotated', () => {
    // Before: any applied rotate-key hid the recommendation and the limit for this key.
    const { recs, limits } = advice([rotation(1, 'fb-deployer', 'AKIAIOSFODNN7FBDEPLO')])
    expect(recs).toContain('Rotate the long-term access key found in the environment')
    expect(limits.find((l) => l.title === 'Long-term access keys were not rotated')?.detail).toBe(
      `${KEY}, found in the environment, was not rotated or deactivated in this case: access keys (AKIA…) do not expire on their own.`,
    )
  })

  it('asks once to rotate a key found in the environment that also signed flagged calls, with both reasons and its user', () => {
    // Before: "Rotate the long-term access key found in the environment" (fir creds rotate-key
    // --user <user> --access-key <id>) and "Cut off the long-term access key that made the flagged
    // calls" (--user invoice-uploader --access-key AKIA…INVOICE): two recommendations, one key.
    const flagged = {
      accessKeyId: KEY,
      userName: 'invoice-uploader',
      sourceIps: ['198.51.100.77'],
      findings: ['Lambda Function Policy Opened To Everyone'],
    }
    const recs = recommend({ ...input([]), functions: [fn], keysOfFlaggedCalls: [flagged] })
    const keyRecs = recs.filter((r) => r.command?.startsWith('fir creds rotate-key'))
    expect(keyRecs).toEqual([
      expect.objectContaining({
        priority: 1,
        title: 'Rotate the long-term access key found in the environment',
        because: [
          `${KEY} (invoice-export)`,
          `${KEY} (user invoice-uploader) from 198.51.100.77: Lambda Function Policy Opened To Everyone`,
        ],
        command: `fir creds rotate-key --user invoice-uploader --access-key ${KEY}`,
      }),
    ])
    expect(keyRecs[0]!.detail).toContain(
      'The timeline shows this key signing calls a detection flagged high or critical.',
    )
    // Used from the stolen credentials' address too: still one, saying so.
    const stolen = recommend({
      ...input([]),
      functions: [fn],
      keysFromStolenAddress: [
        { accessKeyId: KEY, userName: 'invoice-uploader', sourceIps: ['203.0.113.45'] },
      ],
    }).filter((r) => r.command?.startsWith('fir creds rotate-key'))
    expect(stolen.map((r) => [r.title, r.command])).toEqual([
      [
        'Rotate the long-term access key found in the environment',
        `fir creds rotate-key --user invoice-uploader --access-key ${KEY}`,
      ],
    ])
    expect(stolen[0]!.detail).toContain('also signed calls with this key from the same address')
    // Its user known from any call it signed in the timeline fills the command; unknown, the key does.
    const used = recommend({ ...input([]), functions: [fn], keyUsers: new Map([[KEY, 'invoice-uploader']]) })
    expect(used.find((r) => r.title.startsWith('Rotate the long-term'))?.command).toBe(
      `fir creds rotate-key --user invoice-uploader --access-key ${KEY}`,
    )
    expect(
      recommend({ ...input([]), functions: [fn] }).find((r) => r.title.startsWith('Rotate the long-term'))
        ?.command,
    ).toBe(`fir creds rotate-key --user <user> --access-key ${KEY}`)
  })

  it('does not ask to rotate the secret of a key the case rotated, and says it is handled', () => {
    // Before (the leaked-key drill): "Now: Rotate the secret values found in the environment of
    // invoice-export (1)" and "Secrets were not rotated" for the secret of the key just rotated.
    const open = advice([])
    expect(open.recs).toContain('Rotate the secret values found in the environment of invoice-export (1)')
    const { recs, limits } = advice([rotation(1, 'invoice-uploader', KEY)])
    expect(recs.filter((t) => t.startsWith('Rotate'))).toEqual([])
    expect(limits.map((l) => l.title)).not.toContain('Secrets were not rotated')
    expect(limits.map((l) => l.title)).not.toContain('Long-term access keys were not rotated')
    expect(
      limits.find((l) => l.title === 'The environment still holds the secret of a key this case cut off')
        ?.detail,
    ).toMatch(
      /^UPLOAD_KEY_SECRET \(invoice-export\) is the secret of access key AKIAIOSFODNN7INVOICE, rotated in this case: it no longer signs requests/,
    )
  })
})

describe('a rotation denied part way', () => {
  it('gives the old key the fate the state it left says: rotated, not "no key was rotated"', () => {
    // Before: DeleteAccessKey denied after the new key was made and the old one deactivated, and
    // the limits said "No key was rotated in this case" (the denied entry's after state ignored).
    const OLD = 'AKIARZPUZDIKOFSNVQAJ'
    const NEW = 'AKIARZPUZDIKGMSN5UZC'
    const denied: JournalEntry = {
      ...journaled(1, 'credentials.rotate-key', `arn:aws:iam::123456789012:user/kd1#${OLD}`, 'denied'),
      after: {
        userName: 'kd1',
        oldKeyId: OLD,
        keys: [
          { id: OLD, status: 'Inactive' },
          { id: NEW, status: 'Active' },
        ],
        firKeyIds: [NEW],
      },
    }
    const journal = viewJournal([denied])
    expect(journal.keyFates.get(OLD)).toBe('rotated')
    const limits = limitsOf({ ...input([]), journal }).map((l) => l.title)
    expect(limits).not.toContain('Long-term access keys were not rotated')
    // Denied before anything was made: the key is as it was.
    const nothing = viewJournal([
      {
        ...denied,
        after: { userName: 'kd1', oldKeyId: OLD, keys: [{ id: OLD, status: 'Active' }], firKeyIds: [] },
      },
    ])
    expect(nothing.keyFates.has(OLD)).toBe(false)
  })
})

describe('what the timeline read', () => {
  it('asks for trail logs only when no source read them: the Athena table and Lake hold data events', () => {
    const titles = (kinds: string[]) => ({
      recs: recommend({ ...input([]), timelineSourceKinds: kinds }).map((r) => r.title),
      limit: limitsOf({ ...input([]), timelineSourceKinds: kinds }).find(
        (l) => l.title === 'What the timeline can show',
      )?.detail,
    })
    expect(titles(['api']).recs).toContain('Add trail logs to the timeline for data events')
    expect(titles(['api']).limit).toContain('LookupEvents covers management events of the last 90 days only')
    for (const kinds of [['athena'], ['lake'], ['s3'], ['api', 'file']]) {
      expect(titles(kinds).recs, kinds.join()).not.toContain('Add trail logs to the timeline for data events')
      expect(titles(kinds).limit, kinds.join()).toContain(
        'in the trail logs read only where the trail records them',
      )
    }
    expect(titles(['athena']).limit).not.toContain('LookupEvents')
  })
})

describe('the functions a sweep matched', () => {
  const ME = '111122223333'
  const fn = (name: string, account = ME, sealedIn: string | null = null) => ({
    arn: `arn:aws:lambda:us-east-1:${account}:function:${name}`,
    account,
    region: 'us-east-1',
    label: `${name} ($LATEST)`,
    why: 'role-name: runs with role arn:aws:iam::111122223333:role/R',
    sealedIn,
  })
  const sweep = (functions: SweepFollowUp['functions'], at = '2026-03-14 11:00:00 UTC'): SweepFollowUp => ({
    file: 'sweeps/20260314T110000.000Z.json',
    matchesIn: 'sweeps/20260314T110000.000Z.json',
    atDisplay: at,
    indicators: ['role name R'],
    account: ME,
    partition: 'aws',
    assumeRole: 'IncidentResponder',
    functions,
  })
  const recs = (sweeps: SweepFollowUp[]) =>
    recommend({ ...input([]), sweeps }).filter((r) => /the sweeps? of/.test(r.title))

  it('asks, soon, once a sweep, to seal those not sealed in the account it ran from, with their ARNs', () => {
    const [rec, ...rest] = recs([sweep([fn('a'), fn("b'; rm -rf ~"), fn('c', ME, '20260314T110200.000Z')])])
    expect(rest).toEqual([])
    expect(rec!.priorityLabel).toBe('Soon')
    expect(rec!.detail).toContain('matched 3 functions this case does not contain, 2 of them not sealed')
    // Each ARN is one shell word, whatever the function's name holds.
    expect(rec!.command).toBe(
      `fir snapshot arn:aws:lambda:us-east-1:${ME}:function:a 'arn:aws:lambda:us-east-1:${ME}:function:b'\\''; rm -rf ~'`,
    )
    expect(rec!.because).toHaveLength(3)
    expect(rec!.because[2]).toContain('(sealed in evidence/20260314T110200.000Z)')
  })

  it('names no ARN past three, asks to contain once all are sealed, and adds --role-arn for another account', () => {
    const many = recs([sweep(['a', 'b', 'c', 'd', 'e'].map((n) => fn(n)))])[0]!
    expect(many.command).toBe('fir snapshot <function ARN>…')
    expect(many.because).toHaveLength(5)
    expect(many.because[4]).toBe('and 1 more (see sweeps/20260314T110000.000Z.json)')

    const sealed = recs([sweep([fn('a', ME, 'S1')])])[0]!
    expect(sealed.command).toBe(`fir contain arn:aws:lambda:us-east-1:${ME}:function:a`)
    expect(sealed.detail).toContain('matched a function this case does not contain.')

    const other = recs([sweep([fn('x', '444455556666')])])[0]!
    expect(other.command).toBeNull()
    expect(other.detail).toContain(
      `Account 444455556666 is not the account the sweep ran from (${ME}): for its functions, add --role-arn arn:aws:iam::444455556666:role/IncidentResponder to those commands.`,
    )
  })

  it('is one item for every sweep, naming each, with each function once; none without functions left to contain', () => {
    // Before: one item a sweep, the same advice repeated under two titles, and a function two
    // sweeps matched counted twice.
    expect(recs([])).toEqual([])
    const second = {
      ...sweep([fn('b'), fn('a', ME, 'S2')], '2026-03-15 08:00:00 UTC'),
      file: 'sweeps/20260315T080000.000Z.json',
      matchesIn: 'sweeps/20260315T080000.000Z.json',
      indicators: ['layer L'],
    }
    const two = recs([sweep([fn('a')]), second])
    expect(two.map((r) => r.title)).toEqual([
      'Review and contain the other functions the sweeps of 2026-03-14 11:00:00 UTC and 2026-03-15 08:00:00 UTC matched',
    ])
    const rec = two[0]!
    expect(rec.detail).toContain(
      'The sweeps of 2026-03-14 11:00:00 UTC (role name R) and 2026-03-15 08:00:00 UTC (layer L) matched 2 functions this case does not contain, 1 of them not sealed.',
    )
    expect(rec.detail).toContain(
      'Every match is in sweeps/20260314T110000.000Z.json and sweeps/20260315T080000.000Z.json.',
    )
    expect(rec.because).toEqual([
      `a ($LATEST) in ${ME} us-east-1: role-name: runs with role arn:aws:iam::111122223333:role/R (sealed in evidence/S2)`,
      `b ($LATEST) in ${ME} us-east-1: role-name: runs with role arn:aws:iam::111122223333:role/R (not sealed)`,
    ])
    expect(rec.command).toBe(`fir snapshot arn:aws:lambda:us-east-1:${ME}:function:b`)
  })
})
