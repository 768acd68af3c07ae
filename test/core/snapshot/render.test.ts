import { describe, expect, it } from 'vitest'
import type { Gap } from '../../../src/core/context.js'
import { renderSnapshot } from '../../../src/core/snapshot/render.js'
import type { FunctionSummary, SnapshotResult } from '../../../src/core/snapshot/types.js'
import { nothingFound } from '../../support/function-summary.js'

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:orders-api'

/** A function the snapshot read completely: nothing reserved, published, mapped or exposed. */
function fn(gaps: Gap[] = []): FunctionSummary {
  return {
    name: 'orders-api',
    arn: ARN,
    region: 'us-east-1',
    account: '123456789012',
    qualifier: '$LATEST',
    runtime: 'python3.12',
    packageType: 'Zip',
    code: 'match',
    codeSha256: 'mARb5UWKrnm5qkj9gUxbjSHGVU76lfRUAZCfCqOZ5yI=',
    role: 'arn:aws:iam::123456789012:role/orders-api-role',
    roleName: 'orders-api-role',
    ...nothingFound(),
    logGroup: { name: '/aws/lambda/orders-api', events: 0, truncated: false, present: null },
    trailCoverage: { lambdaDataEvents: 'recorded', trails: [] },
    gaps,
  }
}

function render(f: FunctionSummary): string {
  const result: SnapshotResult = {
    set: '20260314T091203.000Z',
    dir: '/tmp/case/evidence/20260314T091203.000Z',
    manifestSha256: '0'.repeat(64),
    files: 12,
    takenBy: { arn: 'arn:aws:sts::123456789012:assumed-role/ir/alice', account: '123456789012' },
    takenAt: '2026-03-14T09:12:03.000Z',
    functions: [f],
    findings: [],
    gaps: f.gaps,
  }
  return renderSnapshot(result)
}

/** The value printed after a row label (`  concurrency   unreserved` → `unreserved`). */
function row(out: string, label: string): string | undefined {
  return out
    .split('\n')
    .find((l) => l.startsWith(`  ${label.padEnd(14)}`))
    ?.slice(2 + 14)
}

/** The line under a block heading (`  risky permissions:` → its first entry). */
function under(out: string, heading: string): string | undefined {
  const lines = out.split('\n')
  return lines[lines.indexOf(`  ${heading}`) + 1]?.trim()
}

const denied = (what: string, call: string): Gap => ({
  what: `${what} of orders-api`,
  call,
  reason: `denied: AccessDeniedException: User is not authorized to perform: ${call}`,
})

describe('renderSnapshot: a fact the snapshot could not read is unknown, never "none"', () => {
  it('prints the facts of a complete snapshot as read', () => {
    const f = fn()
    f.logGroup.present = true
    const out = render(f)
    expect(row(out, 'concurrency')).toBe('unreserved')
    expect(row(out, 'versions')).toBe('none published')
    expect(row(out, 'aliases')).toBe('none')
    expect(row(out, 'layers')).toBe('none')
    expect(row(out, 'url')).toBe('none')
    expect(row(out, 'event sources')).toBe('none')
    expect(row(out, 'log group')).toBe('/aws/lambda/orders-api: 0 events kept')
    expect(under(out, 'risky permissions:')).toBe('none found')
    expect(under(out, 'exposure:')).toBe('none found')
    expect(under(out, 'secrets in environment (redacted):')).toBe('none found')
    f.reservedConcurrency = 0
    expect(row(render(f), 'concurrency')).toBe('reserved 0')
  })

  it('a failed GetFunctionConcurrency is "unknown: <reason>", not "unreserved" (null is what both leave)', () => {
    const denial = fn([denied('reserved concurrency', 'lambda:GetFunctionConcurrency')])
    expect(row(render(denial), 'concurrency')).toBe(
      'unknown: denied: AccessDeniedException: User is not authorized to perform: lambda:GetFunctionConcurrency',
    )
    // A reason that does not name the call gets the call appended.
    const throttled = fn([
      {
        what: 'reserved concurrency of orders-api',
        call: 'lambda:GetFunctionConcurrency',
        reason: 'throttled',
      },
    ])
    expect(row(render(throttled), 'concurrency')).toBe('unknown: throttled (lambda:GetFunctionConcurrency)')
  })

  it('every list read that failed says unknown with its reason: versions, aliases, URL, mappings, log group', () => {
    const out = render(
      fn([
        denied('versions', 'lambda:ListVersionsByFunction'),
        denied('aliases', 'lambda:ListAliases'),
        denied('function URL config ($LATEST)', 'lambda:GetFunctionUrlConfig'),
        denied('event source mappings', 'lambda:ListEventSourceMappings'),
        {
          what: 'log events of /aws/lambda/orders-api (last 24 h)',
          call: 'logs:FilterLogEvents',
          reason: 'server-error: ServiceUnavailableException: try again',
        },
      ]),
    )
    expect(row(out, 'versions')).toMatch(/^unknown: denied: .*lambda:ListVersionsByFunction$/)
    expect(row(out, 'aliases')).toMatch(/^unknown: denied: .*lambda:ListAliases$/)
    expect(row(out, 'url')).toMatch(/^unknown: denied: .*lambda:GetFunctionUrlConfig$/)
    expect(row(out, 'event sources')).toMatch(/^unknown: denied: .*lambda:ListEventSourceMappings$/)
    expect(row(out, 'log group')).toBe(
      '/aws/lambda/orders-api: unknown: server-error: ServiceUnavailableException: try again (logs:FilterLogEvents)',
    )
    expect(under(out, 'exposure:')).toMatch(
      /^none found in what was read; unknown: denied: .*lambda:GetFunctionUrlConfig$/,
    )
  })

  it('role policies not read leave risky permissions unknown; GetFunction not read leaves layers and environment unknown', () => {
    const out = render(
      fn([
        {
          what: 'inline policies of role orders-api-role',
          call: 'iam:ListRolePolicies',
          reason: 'denied: AccessDenied: User is not authorized to perform: iam:ListRolePolicies',
        },
        denied('configuration and code location ($LATEST)', 'lambda:GetFunction'),
      ]),
    )
    expect(under(out, 'risky permissions:')).toBe(
      'none found in what was read; unknown: denied: AccessDenied: User is not authorized to perform: iam:ListRolePolicies',
    )
    expect(row(out, 'layers')).toMatch(/^unknown: denied: .*lambda:GetFunction$/)
    expect(under(out, 'secrets in environment (redacted):')).toMatch(
      /^unknown: denied: .*lambda:GetFunction$/,
    )
  })

  it('an environment Lambda did not return is unknown with its error; "none found" is said only of what was read', () => {
    const error = 'KMSAccessDeniedException: Lambda was unable to decrypt the environment variables'
    const f = fn()
    f.environmentErrors = [{ error, qualifiers: ['$LATEST', '1'] }]
    const lines = render(f).split('\n')
    const at = lines.indexOf('  secrets in environment (redacted):')
    expect(lines.slice(at + 1, at + 3)).toEqual([
      `    unknown: Lambda did not return the environment (${error})  ($LATEST, 1)`,
      '  findings      none',
    ])
    // Another version's environment was not read; $LATEST's was, and held nothing.
    f.environmentErrors = [{ error, qualifiers: ['1', '2', '3', '4', '5', '6'] }]
    const other = render(f).split('\n')
    expect(other.slice(at + 1, at + 3)).toEqual([
      '    none found in what was read',
      `    unknown: Lambda did not return the environment (${error})  (1, 2, 3, 4, 5 and 1 more)`,
    ])
  })

  it('what was not read is said after what was found too: risky permissions and exposure, with the qualifiers whose policy was not read', () => {
    const policyGone =
      'not-found: ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:123456789012:function:orders-api:live'
    const f = fn([
      {
        what: 'inline policies of role orders-api-role',
        call: 'iam:ListRolePolicies',
        reason: 'denied: AccessDenied: User is not authorized to perform: iam:ListRolePolicies',
      },
      { what: 'resource policy (live) of orders-api', call: 'lambda:GetPolicy', reason: policyGone },
      { what: 'resource policy (5) of orders-api', call: 'lambda:GetPolicy', reason: policyGone },
    ])
    f.qualifier = 'live'
    f.riskyPermissions = [
      {
        action: 'iam:PassRole',
        resource: '*',
        policy: 'arn:aws:iam::123456789012:policy/deploy',
        statement: { Sid: 'Pass', Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' },
        level: 'high',
        conditioned: false,
      },
    ]
    f.exposure = [
      {
        kind: 'resource-policy',
        qualifiers: ['$LATEST', '1'],
        level: 'critical',
        summary: 'statement pub allows any principal (*)',
        sid: 'pub',
        principal: '*',
      },
    ]
    f.unreadPolicies = [{ reason: policyGone, qualifiers: ['live', '5'] }]
    const lines = render(f).split('\n')
    const risky = lines.indexOf('  risky permissions:')
    expect(lines.slice(risky + 1, risky + 3)).toEqual([
      '    [high] iam:PassRole on *  (arn:aws:iam::123456789012:policy/deploy statement Pass)',
      '    others unknown: denied: AccessDenied: User is not authorized to perform: iam:ListRolePolicies',
    ])
    const exposure = lines.indexOf('  exposure:')
    expect(lines.slice(exposure + 1, exposure + 4)).toEqual([
      '    [critical] statement pub allows any principal (*)  ($LATEST, 1)',
      `    others unknown: ${policyGone} (lambda:GetPolicy); and 1 more gap  (policy not read: live, 5)`,
      '  secrets in environment (redacted):',
    ])
    // Nothing found: the same qualifiers, after "none found in what was read".
    f.exposure = []
    expect(under(render(f), 'exposure:')).toBe(
      `none found in what was read; unknown: ${policyGone} (lambda:GetPolicy); and 1 more gap  (policy not read: live, 5)`,
    )
  })

  it('a role not read (GetFunction denied) leaves risky permissions unknown, not "none found"', () => {
    const f = fn([denied('configuration and code location ($LATEST)', 'lambda:GetFunction')])
    delete f.role
    delete f.roleName
    expect(under(render(f), 'risky permissions:')).toBe(
      'unknown: no execution role is known (denied: AccessDeniedException: User is not authorized to perform: lambda:GetFunction)',
    )
  })

  it('escapes the reason (an error message can carry attacker-chosen names)', () => {
    const out = render(
      fn([
        {
          what: 'reserved concurrency of orders-api',
          call: 'lambda:GetFunctionConcurrency',
          reason: 'failed: \u001b[31mred\u001b[0m',
        },
      ]),
    )
    expect(out).not.toContain('\u001b')
    expect(row(out, 'concurrency')).toMatch(/^unknown: failed: .*red/)
  })
})

describe('renderSnapshot: versions', () => {
  it('shows the last 10 versions and says how many earlier ones are not shown', () => {
    const f = fn()
    f.versions = Array.from({ length: 12 }, (_, i) => ({ version: String(i + 1), code: 'match' as const }))
    expect(row(render(f), 'versions')).toBe(
      '12: 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 (the last 10; 2 earlier not shown)',
    )
    f.versions = f.versions.slice(0, 10)
    expect(row(render(f), 'versions')).toBe('10: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10')
  })
})

describe('renderSnapshot: layers', () => {
  const layer = (name: string, qualifiers: string[]) => ({
    arn: `arn:aws:lambda:us-east-1:123456789012:layer:${name}:1`,
    code: 'not-downloaded' as const,
    qualifiers,
  })
  it("lists the summarised qualifier's layers, and apart the layers only other qualifiers run, naming them", () => {
    const f = fn()
    f.qualifier = '1'
    f.layers = [layer('good', ['$LATEST', '1', '2', 'live']), layer('evil', ['2', 'live'])]
    const out = render(f)
    expect(row(out, 'layers')).toBe('arn:aws:lambda:us-east-1:123456789012:layer:good:1 (not-downloaded)')
    expect(row(out, 'other layers')).toBe(
      'arn:aws:lambda:us-east-1:123456789012:layer:evil:1 (not-downloaded; 2, live)',
    )
    f.qualifier = 'live'
    const live = render(f)
    expect(row(live, 'layers')).toContain(':layer:evil:1')
    expect(row(live, 'other layers')).toBeUndefined()
  })

  it('says the layers of a qualifier whose configuration was not read are unknown, never leaves them out', () => {
    const reason = 'denied: AccessDeniedException: User is not authorized to perform: lambda:GetFunction'
    const f = fn()
    f.layers = [layer('good', ['$LATEST'])]
    f.unreadConfigurations = [{ reason, qualifiers: ['live', '2'] }]
    const out = render(f)
    expect(row(out, 'layers')).toBe('arn:aws:lambda:us-east-1:123456789012:layer:good:1 (not-downloaded)')
    expect(row(out, 'other layers')).toBe(`unknown: configuration not read (${reason}) (live, 2)`)
    // Beside the layers other qualifiers were read to run.
    f.layers.push(layer('evil', ['3']))
    expect(row(render(f), 'other layers')).toBe(
      `arn:aws:lambda:us-east-1:123456789012:layer:evil:1 (not-downloaded; 3), unknown: configuration not read (${reason}) (live, 2)`,
    )
    // The summarised qualifier's own, when GetFunction answered without a configuration (no gap).
    f.qualifier = 'live'
    f.layers = []
    f.unreadConfigurations = [{ reason: 'GetFunction returned no configuration', qualifiers: ['live'] }]
    const live = render(f)
    expect(row(live, 'layers')).toBe(
      'unknown: configuration not read (GetFunction returned no configuration)',
    )
    expect(row(live, 'other layers')).toBeUndefined()
  })
})
