import { describe, expect, it } from 'vitest'
import { Needle, Prefilter, Relatedness, stringNamesFunction } from '../../../src/core/timeline/related.js'
import { generateCorpus } from '../../support/trail-generator.js'

const target = { functionName: 'orders-api', roleName: 'orders-api-role', region: 'eu-west-1' }
const firIds = ['11111111-2222-4333-a444-555555555555']
const corpus = generateCorpus({
  seed: 7,
  records: 3000,
  start: new Date('2025-03-01T00:00:00Z'),
  end: new Date('2025-03-02T00:00:00Z'),
  target,
  related: 200,
  firRequestIds: firIds,
})
const rel = new Relatedness(
  {
    functionName: 'orders-api',
    region: 'eu-west-1',
    account: corpus.account,
    roles: [{ name: 'orders-api-role', arn: `arn:aws:iam::${corpus.account}:role/orders-api-role` }],
  },
  new Set(firIds),
)

describe('Relatedness', () => {
  it('finds every related record of the corpus and nothing else (decoys included)', () => {
    const found = new Map<string, string[]>()
    for (const r of corpus.records) {
      const reasons = rel.reasons(r)
      if (reasons.length > 0) found.set(r.eventID, reasons)
    }
    expect([...corpus.related.keys()].filter((id) => !found.has(id))).toEqual([])
    expect([...found.keys()].filter((id) => !corpus.related.has(id))).toEqual([])
    for (const id of corpus.decoys) expect(found.has(id)).toBe(false)
  })

  it('says why', () => {
    const byName = (name: string) =>
      corpus.records.filter((r) => r.eventName === name && corpus.related.has(r.eventID))
    expect(rel.reasons(byName('UpdateFunctionConfiguration20150331v2')[0]!)).toEqual([
      'function',
      'role-swap',
    ])
    expect(rel.reasons(byName('PutRolePolicy')[0]!)).toEqual(['role-change'])
    // IAM names are case-insensitive: AttachRolePolicy names the role in capitals.
    expect(rel.reasons(byName('AttachRolePolicy')[0]!)).toEqual(['role-change'])
    expect(byName('AssumeRole').every((r) => rel.reasons(r).includes('assume-role'))).toBe(true)
    expect(byName('ListSecrets').every((r) => rel.reasons(r).includes('role-credentials'))).toBe(true)
    const fir = corpus.records.find((r) => r.requestID === firIds[0])!
    expect(rel.reasons(fir)).toContain('fir')
    expect(
      rel.reasons({
        eventName: 'CreateFunction20150331',
        eventSource: 'lambda.amazonaws.com',
        requestParameters: {
          functionName: 'evil',
          role: `arn:aws:iam::${corpus.account}:role/orders-api-role`,
        },
      }),
    ).toEqual(['role-passed'])
  })

  it('names the function only as a whole name, ARN, qualified ARN or log group', () => {
    const yes = [
      'orders-api',
      'orders-api:prod',
      'arn:aws:lambda:eu-west-1:111122223333:function:orders-api',
      'arn:aws:lambda:eu-west-1:111122223333:function:orders-api:3',
      '111122223333:function:orders-api',
      '/aws/lambda/orders-api',
      '{"Resource":"arn:aws:lambda:eu-west-1:111122223333:function:orders-api"}',
    ]
    const no = [
      'orders-api-v2',
      'arn:aws:lambda:eu-west-1:111122223333:function:orders-api-v2',
      '/aws/lambda/orders-api-v2',
      'my-orders-api',
      'arn:aws:lambda:eu-west-1:999988887777:function:orders-api',
    ]
    for (const s of yes) expect(stringNamesFunction(s, 'orders-api', '111122223333'), s).toBe(true)
    for (const s of no) expect(stringNamesFunction(s, 'orders-api', '111122223333'), s).toBe(false)
  })
})

describe('Relatedness with the account known', () => {
  // An organisation trail: prod (111122223333) and dev (999988887777) reuse the same names.
  const prod = '111122223333'
  const dev = '999988887777'
  const r = new Relatedness({
    functionName: 'orders-api',
    region: 'us-east-1',
    account: prod,
    roles: [{ name: 'orders-api-role', arn: `arn:aws:iam::${prod}:role/orders-api-role` }],
  })
  const session = (account: string, recipient: string) => ({
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    recipientAccountId: recipient,
    userIdentity: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${account}:assumed-role/orders-api-role/orders-api`,
      accountId: account,
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/orders-api-role` },
      },
    },
  })
  const putRolePolicy = (recipient?: string) => ({
    eventSource: 'iam.amazonaws.com',
    eventName: 'PutRolePolicy',
    ...(recipient ? { recipientAccountId: recipient } : {}),
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${recipient ?? dev}:user/alice` },
    requestParameters: { roleName: 'orders-api-role', policyName: 'p', policyDocument: '{}' },
  })
  const updateConfig = (recipient: string, functionName: string) => ({
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionConfiguration20150331v2',
    recipientAccountId: recipient,
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${recipient}:user/alice` },
    requestParameters: { functionName, role: `arn:aws:iam::${recipient}:role/evil` },
  })

  it("leaves out another account's events that reuse the function's and role's names", () => {
    expect(r.reasons(session(dev, dev))).toEqual([])
    // A session ARN of the other account, even without an issuer (some events have none).
    const bare = session(dev, dev)
    delete (bare.userIdentity as { sessionContext?: unknown }).sessionContext
    expect(r.reasons(bare)).toEqual([])
    expect(r.reasons(putRolePolicy(dev))).toEqual([])
    expect(r.reasons(updateConfig(dev, 'orders-api'))).toEqual([])
    expect(r.reasons(updateConfig(dev, 'orders-api:prod'))).toEqual([])
    expect(
      r.reasons({
        ...updateConfig(dev, 'x'),
        requestParameters: { logGroupName: '/aws/lambda/orders-api' },
      }),
    ).toEqual([])
  })

  it("keeps the same events in the function's account, and its role's sessions used anywhere", () => {
    expect(r.reasons(session(prod, prod))).toEqual(['role-credentials'])
    // Stolen credentials used against another account: recorded there, still the role's session.
    expect(r.reasons(session(prod, dev))).toEqual(['role-credentials'])
    expect(r.reasons(putRolePolicy(prod))).toEqual(['role-change'])
    // An event without recipientAccountId is not ruled out.
    expect(r.reasons(putRolePolicy())).toEqual(['role-change'])
    expect(r.reasons(updateConfig(prod, 'orders-api'))).toEqual(['function', 'role-swap'])
    // The function named by its ARN in an event of another account (a cross-account call).
    expect(r.reasons(updateConfig(dev, `arn:aws:lambda:us-east-1:${prod}:function:orders-api`))).toEqual([
      'function',
      'role-swap',
    ])
  })

  it("compares a session with its role's ARN when only the role's account is known", () => {
    const byRole = new Relatedness({
      functionName: 'orders-api',
      roles: [{ name: 'orders-api-role', arn: `arn:aws:iam::${prod}:role/orders-api-role` }],
    })
    expect(byRole.reasons(session(dev, dev))).toEqual([])
    expect(byRole.reasons(session(prod, prod))).toEqual(['role-credentials'])
  })
})

describe('Relatedness with the region known', () => {
  // Lambda functions are regional: victim in eu-west-1 is another function than victim in us-east-1.
  const acct = '111122223333'
  const roleArn = `arn:aws:iam::${acct}:role/victim-role`
  const policyArn = `arn:aws:iam::${acct}:policy/app/victim-managed`
  const arnIn = (region: string) => `arn:aws:lambda:${region}:${acct}:function:victim`
  const r = new Relatedness({
    functionName: 'victim',
    region: 'us-east-1',
    account: acct,
    roles: [{ name: 'victim-role', arn: roleArn }],
    policyArns: [policyArn],
  })
  const lambdaCall = (awsRegion: string | undefined, request: Record<string, unknown>) => ({
    eventSource: 'lambda.amazonaws.com',
    eventName: 'UpdateFunctionCode20150331v2',
    ...(awsRegion ? { awsRegion } : {}),
    recipientAccountId: acct,
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${acct}:user/mallory` },
    requestParameters: request,
  })
  const roleSession = (awsRegion: string) => ({
    eventSource: 'lambda.amazonaws.com',
    eventName: 'GetFunction20150331v2',
    awsRegion,
    recipientAccountId: acct,
    userIdentity: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${acct}:assumed-role/victim-role/victim`,
      sessionContext: { sessionIssuer: { type: 'Role', arn: roleArn } },
    },
    // The same-named function of eu-west-1: the call relates by its credentials only.
    requestParameters: { functionName: 'victim' },
  })

  it("leaves out a same-named function of another region: its full ARN anywhere, a bare name in that region's records", () => {
    // The tester's two records, and the other forms of a name in a record of eu-west-1.
    expect(r.reasons(lambdaCall('eu-west-1', { functionName: arnIn('eu-west-1') }))).toEqual([])
    expect(r.reasons(lambdaCall('us-east-1', { functionName: arnIn('eu-west-1') }))).toEqual([])
    expect(r.reasons(lambdaCall('eu-west-1', { functionName: 'victim' }))).toEqual([])
    expect(r.reasons(lambdaCall('eu-west-1', { functionName: 'victim:prod' }))).toEqual([])
    expect(r.reasons(lambdaCall('eu-west-1', { functionName: `${acct}:function:victim` }))).toEqual([])
    expect(r.reasons(lambdaCall('eu-west-1', { logGroupName: '/aws/lambda/victim' }))).toEqual([])
    expect(r.reasons(lambdaCall(undefined, { functionName: arnIn('eu-west-1') }))).toEqual([])
    // A role swap of the other function is no swap of this one; passing this role to it still counts.
    expect(
      r.reasons({
        ...lambdaCall('eu-west-1', { functionName: 'victim', role: roleArn }),
        eventName: 'UpdateFunctionConfiguration20150331v2',
      }),
    ).toEqual(['role-passed'])
  })

  it("keeps the function's names in its region, its full ARN in any region, and a record without awsRegion", () => {
    for (const request of [
      { functionName: 'victim' },
      { functionName: 'victim:prod' },
      { functionName: arnIn('us-east-1') },
      { functionName: `${arnIn('us-east-1')}:3` },
      { functionName: `${acct}:function:victim` },
      { logGroupName: '/aws/lambda/victim' },
    ]) {
      expect(r.reasons(lambdaCall('us-east-1', request)), JSON.stringify(request)).toEqual(['function'])
      expect(r.reasons(lambdaCall(undefined, request)), JSON.stringify(request)).toEqual(['function'])
    }
    // Named by its full ARN in a record of another region (a cross-region reference).
    expect(r.reasons(lambdaCall('eu-west-1', { functionName: arnIn('us-east-1') }))).toEqual(['function'])
    // A policy's wildcard region covers it; a wildcard of other regions does not.
    const policy = (resource: string) => ({
      eventSource: 'iam.amazonaws.com',
      eventName: 'PutUserPolicy',
      awsRegion: 'eu-west-1',
      recipientAccountId: acct,
      requestParameters: { userName: 'u', policyDocument: `{"Resource":"${resource}"}` },
    })
    expect(r.reasons(policy(`arn:aws:lambda:*:${acct}:function:victim`))).toEqual(['function'])
    expect(r.reasons(policy(`arn:aws:lambda:us-*:${acct}:function:victim`))).toEqual(['function'])
    expect(r.reasons(policy(`arn:aws:lambda:eu-*:${acct}:function:victim`))).toEqual([])
  })

  it('does not limit the role to the region: its sessions, AssumeRole and changes relate from any region', () => {
    expect(r.reasons(roleSession('eu-west-1'))).toEqual(['role-credentials'])
    // The byte pre-filter knows nothing of regions: it passes what relatedness keeps.
    expect(
      Prefilter.for(r, new Set()).mayMatch(Buffer.from(JSON.stringify(roleSession('eu-west-1'))), false),
    ).toBe(true)
    expect(r.reasons(roleSession('us-east-1'))).toEqual(['function', 'role-credentials'])
    expect(
      r.reasons({
        eventSource: 'sts.amazonaws.com',
        eventName: 'AssumeRole',
        awsRegion: 'ap-southeast-2',
        recipientAccountId: acct,
        requestParameters: { roleArn, roleSessionName: 'victim' },
      }),
    ).toEqual(['assume-role'])
    // A function of eu-west-1: IAM records its role's changes in us-east-1 and STS anywhere.
    const eu = new Relatedness({
      functionName: 'victim',
      region: 'eu-west-1',
      account: acct,
      roles: [{ name: 'victim-role', arn: roleArn }],
      policyArns: [policyArn],
    })
    const iam = (eventName: string, requestParameters: Record<string, unknown>) => ({
      eventSource: 'iam.amazonaws.com',
      eventName,
      awsRegion: 'us-east-1',
      recipientAccountId: acct,
      requestParameters,
    })
    expect(eu.reasons(iam('PutRolePolicy', { roleName: 'victim-role', policyName: 'p' }))).toEqual([
      'role-change',
    ])
    expect(eu.reasons(iam('CreatePolicyVersion', { policyArn, setAsDefault: true }))).toEqual(['role-change'])
    expect(eu.reasons(roleSession('us-east-1'))).toEqual(['role-credentials'])
  })

  it('relates the same records as before when the region is not known', () => {
    const anywhere = new Relatedness({ functionName: 'victim', account: acct, roles: [] })
    expect(anywhere.reasons(lambdaCall('eu-west-1', { functionName: arnIn('eu-west-1') }))).toEqual([
      'function',
    ])
    expect(anywhere.reasons(lambdaCall('eu-west-1', { functionName: 'victim' }))).toEqual(['function'])
  })

  it('names the function by region in stringNamesFunction', () => {
    const names = (s: string, inRegionOnly: boolean) =>
      stringNamesFunction(s, 'victim', acct, false, 'us-east-1', inRegionOnly)
    expect(names(arnIn('us-east-1'), false)).toBe(true)
    expect(names(arnIn('us-east-1'), true)).toBe(true)
    expect(names(arnIn('eu-west-1'), false)).toBe(false)
    expect(names(`arn:aws-cn:lambda:cn-north-1:${acct}:function:victim`, false)).toBe(false)
    for (const s of ['victim', 'victim:1', `${acct}:function:victim`, '/aws/lambda/victim']) {
      expect(names(s, false), s).toBe(true)
      expect(names(s, true), s).toBe(false)
    }
    // The region is read from the ARN itself, not from another ARN earlier in the string.
    expect(names(`arn:aws:lambda:eu-west-1:${acct}:function:x ${acct}:function:victim`, false)).toBe(true)
    expect(names(`arn:aws:lambda:us-east-1:${acct}:function:x ${arnIn('eu-west-1')}`, false)).toBe(false)
  })
})

describe('Prefilter', () => {
  const pre = Prefilter.for(rel, new Set(firIds))
  it('never rules out a buffer that holds a related record, compact or pretty, trail or LookupEvents', () => {
    for (const r of corpus.records) {
      if (!corpus.related.has(r.eventID)) continue
      expect(pre.mayMatch(Buffer.from(JSON.stringify({ Records: [r] }))), r.eventName).toBe(true)
      expect(pre.mayMatch(Buffer.from(JSON.stringify(r, null, 2)))).toBe(true)
      expect(
        pre.mayMatch(Buffer.from(JSON.stringify({ Events: [{ CloudTrailEvent: JSON.stringify(r) }] }))),
      ).toBe(true)
    }
  })

  it('rules out most unrelated records', () => {
    const unrelated = corpus.records.filter(
      (r) => !corpus.related.has(r.eventID) && !corpus.decoys.has(r.eventID),
    )
    const passed = unrelated.filter((r) => pre.mayMatch(Buffer.from(JSON.stringify(r))))
    expect(passed.length).toBe(0)
  })

  it('finds a role name in any case after roleName, and many fir request ids', () => {
    const p = new Prefilter(
      [],
      ['orders-api-role'],
      new Set(Array.from({ length: 20 }, (_, i) => `req-${i}`)),
    )
    expect(p.mayMatch(Buffer.from('{"requestParameters":{"roleName":"ORDERS-API-ROLE"}}'))).toBe(true)
    expect(p.mayMatch(Buffer.from('{"roleName" : "Orders-Api-Role"}'))).toBe(true)
    expect(p.mayMatch(Buffer.from('{"roleName":"orders-api-role-old"}'))).toBe(false)
    expect(p.mayMatch(Buffer.from('{"requestID":"req-13","x":1}'))).toBe(true)
    expect(p.mayMatch(Buffer.from('{"requestID":"req-130"}'))).toBe(false)
  })
})

describe('Prefilter and relatedness agree', () => {
  const pre = Prefilter.for(rel, new Set(firIds))
  const session = (role: string, issuerArn = `arn:aws:iam::${corpus.account}:role/${role}`) =>
    JSON.stringify({
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      eventTime: '2025-03-01T12:00:00Z',
      recipientAccountId: corpus.account,
      userIdentity: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::${corpus.account}:assumed-role/${role}/attacker`,
        sessionContext: { sessionIssuer: { type: 'Role', arn: issuerArn, userName: role } },
      },
    })
  const lookupEvents = (text: string) => JSON.stringify({ Events: [{ CloudTrailEvent: text }] })
  const both = (text: string) => {
    const kept = rel.reasons(JSON.parse(text)).length > 0
    return { kept, passed: pre.mayMatch(Buffer.from(text), false) }
  }

  it('finds the role in another letter case in a session or role ARN, in a file without its lower-case name', () => {
    for (const role of ['ORDERS-API-ROLE', 'Orders-Api-Role', 'oRDERS-api-ROLE']) {
      expect(both(session(role)), role).toEqual({ kept: true, passed: true })
      expect(pre.mayMatch(Buffer.from(lookupEvents(session(role)))), role).toBe(true)
    }
    const assume = JSON.stringify({
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      requestParameters: { roleArn: `arn:aws:iam::${corpus.account}:role/service-role/ORDERS-API-ROLE` },
    })
    expect(both(assume)).toEqual({ kept: true, passed: true })
    // Another role whose name starts the same is not one.
    expect(both(session('ORDERS-API-ROLE-OLD'))).toEqual({ kept: false, passed: false })
    expect(both(session('XORDERS-API-ROLE'))).toEqual({ kept: false, passed: false })
  })

  it('does not rule out a name spelt with a JSON escape, and still rules out CloudTrail’s own escapes', () => {
    const update = (functionName: string) =>
      `{"eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionCode20150331v2","eventTime":"2025-03-01T12:00:00Z","requestParameters":{"functionName":"${functionName}"}}`
    const escaped = [
      update('orders\\u002dapi'),
      update('\\u006frders-api'),
      session('ROLE').replaceAll('ROLE', 'orders\\u002Dapi\\u002drole'),
      session('ORDERS-API-ROLE').replaceAll('/', '\\/'),
      JSON.stringify(JSON.parse(update('orders-api'))).replace('"orders-api"', '"orders-ap\\u0069"'),
    ]
    for (const text of escaped) {
      expect(both(text), text).toEqual({ kept: true, passed: true })
      // Escaped once more inside LookupEvents output: \\u002d.
      expect(pre.mayMatch(Buffer.from(lookupEvents(text))), text).toBe(true)
    }
    // CloudTrail escapes = < > & ' (\u003d…): a record holding only those is still ruled out.
    const gson = update('report\\u003d1\\u003c2\\u0026\\u0027')
    expect(both(gson)).toEqual({ kept: false, passed: false })
  })

  it('never rules out a related record of the corpus spelt in another case or with escapes', () => {
    const escapeSome = (text: string) =>
      text.replace(/orders-api/g, (m) =>
        m.replace(/[a-z-]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
      )
    const related = corpus.records.filter((r) => corpus.related.has(r.eventID))
    let checked = 0
    for (const r of related) {
      const text = JSON.stringify(r)
      for (const variant of [
        text.replace(/orders-api-role/gi, 'ORDERS-API-ROLE'),
        text.replace(/orders-api-role/gi, 'Orders-Api-Role'),
        escapeSome(text),
        text.replaceAll('/', '\\/'),
      ]) {
        if (rel.reasons(JSON.parse(variant)).length === 0) continue
        checked++
        expect(pre.mayMatch(Buffer.from(variant)), variant).toBe(true)
      }
    }
    expect(checked).toBeGreaterThan(related.length * 2)
  })
})

describe('Needle', () => {
  it('finds a literal through its rarest piece, at either end of the buffer, and not half of it', () => {
    const n = new Needle('orders-api-role')
    expect(n.indexIn(Buffer.from('orders-api-role'))).toBe(0)
    expect(n.indexIn(Buffer.from('xx orders-api-role'))).toBe(3)
    expect(n.indexIn(Buffer.from('ders-api-role orders-api-role'))).toBe(14)
    expect(n.indexIn(Buffer.from('orders-api-rol'))).toBe(-1)
    expect(n.indexIn(Buffer.from('rs-api-role'))).toBe(-1)
    expect(n.indexIn(Buffer.from('orders-api-role orders-api-role'), 1)).toBe(16)
    expect(new Needle('abc').indexIn(Buffer.from('xxabc'))).toBe(2)
    // its piece is six bytes: `Name` of every eventName is passed over, roleName found
    const hay = Buffer.from(`${'{"eventName":"GetRole","userName":"x"},'.repeat(500)}{"roleName":"r"}`)
    expect(new Needle('roleName').indexIn(hay)).toBe(hay.indexOf('roleName'))
    expect(new Needle('roleName').indexIn(hay, hay.indexOf('roleName') + 1)).toBe(-1)
    for (const text of ['requestID', 'roleName', 'a-b-c-d-e-f-g', 'ZZZZZZZZZ']) {
      const needle = new Needle(text)
      const hay = Buffer.from(`${'x'.repeat(7)}${text}${'y'.repeat(3)}`)
      expect(needle.indexIn(hay), text).toBe(7)
    }
  })
})
