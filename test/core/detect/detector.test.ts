import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type CompiledRule,
  createDetector,
  evaluate,
  loadBuiltinRules,
  loadRuleDir,
  roleNameOf,
} from '../../../src/core/detect/index.js'
import { FirError } from '../../../src/errors.js'
import { fixtures, ruleFrom, sharedData } from './helpers.js'

const pack = await loadBuiltinRules()
const byFile = (name: string) => pack.find((r) => path.basename(r.file) === name)!
const ipRanges = JSON.parse(readFileSync(path.join(fixtures, 'ip-ranges.sample.json'), 'utf8'))

const ROLE = 'arn:aws:iam::111122223333:role/service-role/orders-role'
const session = (over: Record<string, unknown> = {}) => ({
  eventSource: 's3.amazonaws.com',
  eventName: 'ListBuckets',
  eventTime: '2026-11-20T10:00:00Z',
  sourceIPAddress: '203.0.113.7',
  userAgent: 'aws-cli/2.15.0 Python/3.11.6',
  userIdentity: {
    type: 'AssumedRole',
    arn: 'arn:aws:sts::111122223333:assumed-role/orders-role/orders-api',
    sessionContext: { sessionIssuer: { type: 'Role', arn: ROLE, userName: 'orders-role' } },
  },
  ...over,
})
const ids = (findings: Array<{ rule: string }>) => findings.map((f) => f.rule)

describe('secret-read bursts (fir.burst)', () => {
  const rule = byFile('secretsmanager_secret_read_burst.yml')
  const read = (minute: number, secret: string, actor = 'arn:aws:sts::1:assumed-role/r/s', second = 0) => ({
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: 'GetSecretValue',
    eventTime: new Date(Date.UTC(2026, 10, 20, 10, minute, second)).toISOString(),
    userIdentity: { arn: actor },
    requestParameters: { secretId: secret },
  })
  const run = (records: unknown[]) => {
    const d = createDetector([rule])
    return records.map((r) => d.evaluate(r).length)
  }

  it('fires once, on the read that reaches 10 distinct secrets within 10 minutes', () => {
    const d = createDetector([rule])
    const counts: number[] = []
    let detail: unknown
    for (let i = 0; i < 14; i++) {
      const f = d.evaluate(read(i % 10 === i ? i : 9, `s-${i}`))
      counts.push(f.length)
      if (f.length) detail = f[0]!.detail
    }
    expect(counts).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    expect(detail).toEqual({
      count: 10,
      distinct: true,
      window: '10m',
      first: '2026-11-20T10:00:00.000Z',
      last: '2026-11-20T10:09:00.000Z',
      groupBy: { 'userIdentity.arn': 'arn:aws:sts::1:assumed-role/r/s' },
    })
    expect(d.flush()).toEqual([])
  })

  it('counts distinct secrets: one secret read many times is not a burst', () => {
    expect(
      run(Array.from({ length: 50 }, (_, i) => read(0, 'same', undefined, i))).every((n) => n === 0),
    ).toBe(true)
  })

  it('keeps principals apart', () => {
    const records = Array.from({ length: 18 }, (_, i) => read(i % 9, `s-${i}`, i % 2 ? 'arn:a' : 'arn:b'))
    expect(run(records).every((n) => n === 0)).toBe(true)
  })

  it('slides the window: reads spread over more than 10 minutes are not a burst', () => {
    expect(run(Array.from({ length: 30 }, (_, i) => read(i * 2, `s-${i}`)))).not.toContain(1)
  })

  it('finds a burst in records that arrive out of order, once', () => {
    const records = Array.from({ length: 12 }, (_, i) => read(i % 6, `s-${i}`)).reverse()
    expect(run(records).reduce((a, b) => a + b, 0)).toBe(1)
  })

  it('reports a second burst after a quiet period', () => {
    const first = Array.from({ length: 10 }, (_, i) => read(i, `a-${i}`))
    const second = Array.from({ length: 10 }, (_, i) => read(40 + i, `b-${i}`))
    expect(run([...first, ...second]).reduce((a, b) => a + b, 0)).toBe(2)
  })

  it('ignores records without a usable eventTime', () => {
    const records = Array.from({ length: 12 }, (_, i) => ({ ...read(0, `s-${i}`), eventTime: 'yesterday' }))
    expect(run(records)).not.toContain(1)
  })

  it('flush() forgets a partial burst', () => {
    const d = createDetector([rule])
    for (let i = 0; i < 9; i++) d.evaluate(read(i, `s-${i}`))
    d.flush()
    expect(d.evaluate(read(9, 's-9'))).toEqual([])
  })
})

describe('function-role scope (fir.scope)', () => {
  const outside = byFile('lambda_role_session_outside_lambda.yml')
  const assumed = byFile('lambda_role_assumed_not_by_lambda.yml')

  it('does not fire for a role it does not know to be a function role', () => {
    expect(createDetector([outside]).evaluate(session())).toEqual([])
  })

  it('takes function roles from options, by ARN or by name', () => {
    expect(ids(createDetector([outside], { functionRoles: [ROLE] }).evaluate(session()))).toEqual([
      outside.id,
    ])
    expect(ids(createDetector([outside], { functionRoles: ['Orders-Role'] }).evaluate(session()))).toEqual([
      outside.id,
    ])
  })

  it('learns function roles from CreateFunction and from Lambda’s own AssumeRole in the stream', () => {
    const d = createDetector([outside])
    d.evaluate({
      eventSource: 'lambda.amazonaws.com',
      eventName: 'CreateFunction20150331',
      requestParameters: { functionName: 'orders-api', role: ROLE },
    })
    expect(ids(d.evaluate(session()))).toEqual([outside.id])

    const d2 = createDetector([outside, assumed])
    d2.evaluate({
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' },
      requestParameters: { roleArn: ROLE, roleSessionName: 'orders-api' },
    })
    expect(ids(d2.evaluate(session()))).toEqual([outside.id])
  })

  it("takes a role known by ARN for its account's only (an organisation trail reuses role names)", () => {
    const other = (over: Record<string, unknown> = {}) =>
      session({
        userIdentity: {
          type: 'AssumedRole',
          arn: 'arn:aws:sts::999988887777:assumed-role/orders-role/orders-api',
          sessionContext: {
            sessionIssuer: {
              type: 'Role',
              arn: 'arn:aws:iam::999988887777:role/service-role/orders-role',
              userName: 'orders-role',
            },
          },
        },
        ...over,
      })
    // Learnt from Lambda's AssumeRole in 111122223333, as an account-wide hunt learns it.
    const d = createDetector([outside])
    d.evaluate({
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' },
      requestParameters: { roleArn: ROLE, roleSessionName: 'orders-api' },
    })
    expect(d.evaluate(other())).toEqual([])
    expect(ids(d.evaluate(session()))).toEqual([outside.id])
    expect(createDetector([outside], { functionRoles: [ROLE] }).evaluate(other())).toEqual([])
    // Known by name alone, a role is matched in any account.
    expect(ids(createDetector([outside], { functionRoles: ['orders-role'] }).evaluate(other()))).toEqual([
      outside.id,
    ])
  })

  it('does not learn from a CreateFunction that failed', () => {
    const d = createDetector([outside])
    d.evaluate({
      eventSource: 'lambda.amazonaws.com',
      eventName: 'CreateFunction20150331',
      errorCode: 'AccessDenied',
      requestParameters: { functionName: 'x', role: ROLE },
    })
    expect(d.evaluate(session())).toEqual([])
  })

  it('reads role names from role ARNs with paths, assumed-role ARNs and bare names', () => {
    expect(roleNameOf(ROLE)).toBe('orders-role')
    expect(roleNameOf('arn:aws:iam::1:role/Orders')).toBe('orders')
    expect(roleNameOf('arn:aws:sts::1:assumed-role/orders-role/orders-api')).toBe('orders-role')
    expect(roleNameOf('orders-role')).toBe('orders-role')
    expect(roleNameOf('arn:aws:iam::1:user/alice')).toBeUndefined()
  })
})

describe('AWS ip-ranges context (fir.context)', () => {
  const rule = byFile('lambda_role_session_outside_aws_ip_ranges.yml')
  const opts = { functionRoles: [ROLE], awsIpRanges: ipRanges }

  it('is inactive without ip-ranges.json', () => {
    expect(createDetector([rule], { functionRoles: [ROLE] }).evaluate(session())).toEqual([])
  })

  it('fires for addresses outside the ranges and says which address', () => {
    const [finding] = createDetector([rule], opts).evaluate(session())
    expect(finding).toMatchObject({
      rule: rule.id,
      level: 'high',
      detail: { outsideAwsIpRanges: '203.0.113.7' },
    })
    expect(createDetector([rule], opts).evaluate(session({ sourceIPAddress: '2001:db8::1' }))).toHaveLength(1)
  })

  it('stays silent for AWS addresses, service names and garbage', () => {
    const d = createDetector([rule], opts)
    for (const ip of [
      '3.5.200.1',
      '3.6.0.0',
      '52.94.3.255',
      '2600:1f18:1::9',
      '::ffff:3.5.0.1',
      'AWS Internal',
      '',
      '999.1.1.1',
    ]) {
      expect(d.evaluate(session({ sourceIPAddress: ip })), ip).toEqual([])
    }
  })

  it('refuses a file that is not ip-ranges.json with a usage error', () => {
    const err = (() => {
      try {
        createDetector([rule], { awsIpRanges: { hello: 'world' } as never })
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(FirError)
    expect((err as FirError).message).toMatch(/^unable to read the AWS IP ranges: not an AWS ip-ranges.json/)
    expect((err as FirError).actions[0]).toMatch(/--aws-ip-ranges/)
  })
})

describe('evaluate() and the eventName index', () => {
  it('returns findings in rule order with id, title, level and tags', () => {
    const f = evaluate(pack, {
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      requestParameters: { name: 'main' },
    })
    expect(f).toEqual([
      {
        rule: byFile('cloudtrail_logging_stopped_or_deleted.yml').id,
        title: 'CloudTrail Logging Stopped Or Trail Deleted',
        level: 'high',
        tags: ['attack.defense-evasion', 'attack.t1562.008'],
      },
    ])
  })

  it('tolerates records that are not objects or have odd eventNames', () => {
    for (const r of [null, 42, 'text', [], {}, { eventName: 7 }, { eventName: ['StopLogging'] }]) {
      expect(() => evaluate(pack, r)).not.toThrow()
    }
    const rule = ruleFrom('sel:\n  eventName: StopLogging\ncondition: sel')
    expect(evaluate([rule], { eventName: ['x', 'StopLogging'] })).toHaveLength(1)
  })

  it('gives the same answers as testing every rule, on a varied corpus', async () => {
    const sigma = path.join(sharedData, 'sigma', 'rules')
    const extra = (await loadRuleDir(sigma).catch(() => ({ rules: [] as CompiledRule[] }))).rules
    const rules = [...pack, ...extra].filter((r) => !r.needsDetector)
    const names = new Set<string>([
      '',
      'UpdateFunctionCode20150331v2',
      'updatefunctioncode',
      'AddPermission20150331',
    ])
    for (const r of rules)
      for (const n of [...(r.eventNames?.exact ?? []), ...(r.eventNames?.prefixes ?? [])]) names.add(n)
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const nameList = [...names]
    const sources = [
      'lambda.amazonaws.com',
      'iam.amazonaws.com',
      'cloudtrail.amazonaws.com',
      's3.amazonaws.com',
      'ec2.amazonaws.com',
    ]
    let fired = 0
    for (let i = 0; i < 3000; i++) {
      const base = nameList[rand(nameList.length)]!
      const name = rand(3) === 0 ? base.toUpperCase() : rand(2) ? base : `${base}20150331v2`
      const record = {
        eventName: name,
        eventSource: sources[rand(sources.length)],
        errorCode: rand(4) === 0 ? 'AccessDenied' : undefined,
        userIdentity: {
          type: rand(2) ? 'AssumedRole' : 'IAMUser',
          userName: 'u',
          arn: 'arn:aws:iam::1:user/u',
        },
        requestParameters: {
          userName: rand(2) ? 'u' : 'v',
          role: rand(2) ? 'arn:aws:iam::1:role/r' : undefined,
          authType: 'NONE',
        },
      }
      const brute = rules.filter((r) => r.matches(record)).map((r) => r.id)
      expect(ids(evaluate(rules, record))).toEqual(brute)
      fired += brute.length
    }
    expect(fired).toBeGreaterThan(50)
  })
})
