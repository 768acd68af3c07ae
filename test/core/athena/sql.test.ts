import { describe, expect, it } from 'vitest'
import {
  athenaTable,
  buildQuery,
  COLUMNS,
  eventDataStoreId,
  type QuerySpec,
  sqlLiteral,
} from '../../../src/core/athena/sql.js'
import { lex, shape } from './sql-lexer.js'

const since = new Date('2026-11-20T10:00:00Z')
const until = new Date('2026-11-27T18:30:00Z')
const EDS = 'eds-0123456789abcdef'

function spec(over: Partial<QuerySpec> = {}): QuerySpec {
  return {
    dialect: 'athena',
    source: over.dialect === 'lake' ? EDS : 'cloudtrail.org_trail',
    since,
    until,
    accounts: ['111122223333'],
    regions: ['eu-west-1', 'us-east-1'],
    terms: { functionNames: ['payments-webhook'], roles: [{ name: 'Pay-Role', account: '111122223333' }] },
    ...over,
  }
}

const HOSTILE = [
  "x' OR '1'='1",
  "fn'); DROP TABLE cloudtrail.org_trail; --",
  'fn -- comment',
  'fn; SELECT 1',
  "fn'--",
  'fünction-名前-🦊',
  'fn\u202eevil',
  "''''",
  '?',
  '" OR "a"="a',
  '*/ /*',
  '\\',
]

describe('SQL builder: one query over the CloudTrail table', () => {
  it('filters on the projected account, region and date partitions, with a delivery margin', () => {
    const q = buildQuery(spec())
    expect(q.sql).toContain('FROM "cloudtrail"."org_trail"')
    expect(q.sql).toMatch(
      /WHERE account IN \(\?\)\n\s+AND region IN \(\?, \?\)\n\s+AND "timestamp" BETWEEN \? AND \?/,
    )
    expect(q.partitions).toEqual({
      accounts: ['111122223333'],
      regions: ['eu-west-1', 'us-east-1'],
      from: '2026/11/19',
      to: '2026/11/28',
    })
    expect(q.parameters.slice(0, 7)).toEqual([
      "'111122223333'",
      "'eu-west-1'",
      "'us-east-1'",
      "'2026/11/19'",
      "'2026/11/28'",
      "'2026-11-20T10:00:00Z'",
      "'2026-11-27T18:30:00Z'",
    ])
    // Every placeholder has exactly one parameter.
    expect(lex(q.sql).filter((t) => t.kind === 'param')).toHaveLength(q.parameters.length)
    // The rendered statement is the same statement with the values inline.
    expect(q.rendered).toContain("account IN ('111122223333')")
    expect(q.rendered).toContain(`"timestamp" BETWEEN '2026/11/19' AND '2026/11/28'`)
  })

  it('selects the relatedness terms: function, role sessions and issuer, calls naming the role, policies, fir', () => {
    const q = buildQuery(
      spec({
        terms: {
          functionNames: ['payments-webhook'],
          roles: [{ name: 'Pay-Role', account: '111122223333' }],
          policyArns: ['arn:aws:iam::111122223333:policy/pay-extra'],
          requestIds: ['req-1', 'req-2'],
        },
      }),
    )
    expect(q.rendered).toContain("strpos(requestparameters, 'payments-webhook') > 0")
    expect(q.rendered).toContain("strpos(responseelements, 'payments-webhook') > 0")
    expect(q.rendered).toContain(
      "cardinality(filter(resources, r -> strpos(r.arn, 'payments-webhook') > 0)) > 0",
    )
    // Role names compare without case (as IAM does), in every partition.
    expect(q.rendered).toContain(
      "strpos(lower(useridentity.arn), ':sts::111122223333:assumed-role/pay-role/') > 0",
    )
    expect(q.rendered).toContain("lower(useridentity.sessioncontext.sessionissuer.username) = 'pay-role'")
    expect(q.rendered).toContain("strpos(lower(requestparameters), 'pay-role') > 0")
    expect(q.rendered).toContain(
      "strpos(requestparameters, 'arn:aws:iam::111122223333:policy/pay-extra') > 0",
    )
    expect(q.rendered).toContain("requestid IN ('req-1', 'req-2')")
    expect(q.sql).toMatch(/ORDER BY eventtime, eventid$/)
  })

  it('without a function, keeps every event of the window (no relatedness clause)', () => {
    const q = buildQuery(spec({ terms: undefined }))
    expect(q.sql).not.toContain('strpos')
    expect(q.parameters).toHaveLength(7)
  })

  it('selects every column needed to rebuild a record, one alias each', () => {
    const q = buildQuery(spec())
    const aliases = COLUMNS.filter((c) => c.athena).map((c) => c.alias)
    expect(new Set(aliases).size).toBe(aliases.length)
    for (const a of aliases) expect(q.sql).toMatch(new RegExp(`AS ${a}[,\\n]`))
  })

  for (const dialect of ['athena', 'lake'] as const) {
    const terms = (v: string) => ({
      functionNames: [v],
      roles: [{ name: 'pay-role', account: '111122223333' }],
      policyArns: [v],
      requestIds: [v],
    })

    it(`${dialect}: a function name or indicator holding ' -- ; \\ or unicode cannot change the query`, () => {
      const base = buildQuery(spec({ dialect, terms: terms('fn') }))
      for (const h of HOSTILE) {
        const q = buildQuery(spec({ dialect, terms: terms(h) }))
        // Same tokens, only literal contents differ; and the literal holds the value exactly.
        expect(shape(q.rendered), h).toEqual(shape(base.rendered))
        const literals = lex(q.rendered)
          .filter((t) => t.kind === 'string')
          .map((t) => t.value)
        expect(literals.filter((v) => v === h)).toHaveLength(5)
        if (dialect === 'athena') {
          // The statement sent does not depend on the value at all: it travels as a parameter.
          expect(q.sql).toBe(base.sql)
          expect(q.parameters).toContain(sqlLiteral(h))
          for (const p of q.parameters) expect(lex(p)).toHaveLength(1)
        } else {
          expect(q.parameters).toEqual([])
          expect(shape(q.sql)).toEqual(shape(base.sql))
        }
      }
    })

    it(`${dialect}: a newline or other control character in a value is refused`, () => {
      for (const bad of ['fn\nSELECT 1', 'fn\r', 'fn\u0000', 'fn\u001b[31m', 'fn\u2028', 'fn\ud800']) {
        expect(() => buildQuery(spec({ dialect, terms: terms(bad) }))).toThrow(/control characters/)
      }
    })
  }

  it('refuses identifiers that are not DB.TABLE or an event data store id', () => {
    for (const bad of ['cloudtrail', 'a.b.c', 'db.t;DROP', 'db."t"', 'db.t --', 'db.t\n', 'dв.t', '1db.t']) {
      expect(() => athenaTable(bad), bad).toThrow(/DB\.TABLE/)
    }
    expect(athenaTable('Security.CloudTrail_Logs').quoted).toBe('"security"."cloudtrail_logs"')
    for (const bad of ['eds; x', "eds'", 'ab', 'arn:aws:cloudtrail:us-east-1:1:eventdatastore/x y']) {
      expect(() => eventDataStoreId(bad), bad).toThrow(/event data store/)
    }
    expect(
      eventDataStoreId(
        'arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE',
      ),
    ).toBe('EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE')
  })

  it('refuses bad accounts, regions, role names and windows', () => {
    expect(() => buildQuery(spec({ accounts: ["1111'22223333"] }))).toThrow(/account id/)
    expect(() => buildQuery(spec({ regions: ["us-east-1'"] }))).toThrow(/region name/)
    expect(() =>
      buildQuery(spec({ terms: { functionNames: [], roles: [{ name: "x'", account: '111122223333' }] } })),
    ).toThrow(/role name/)
    expect(() => buildQuery(spec({ until: new Date('2026-11-01T00:00:00Z') }))).toThrow(/before --since/)
    expect(() => buildQuery(spec({ accounts: [] }))).toThrow(/at least one account/)
  })

  it('lake: FROM the event data store, eventTime range, account and region filters, JSON for maps', () => {
    const q = buildQuery(
      spec({
        dialect: 'lake',
        source: 'arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/eds-0123456789abcdef',
      }),
    )
    expect(q.sql).toContain('\nFROM eds-0123456789abcdef\n')
    expect(q.sql).toContain("WHERE eventTime >= '2026-11-20 10:00:00' AND eventTime <= '2026-11-27 18:30:00'")
    expect(q.sql).toContain("AND recipientAccountId IN ('111122223333')")
    expect(q.sql).toContain("AND awsRegion IN ('eu-west-1', 'us-east-1')")
    expect(q.sql).toContain("strpos(json_format(CAST(requestParameters AS JSON)), 'payments-webhook') > 0")
    expect(q.sql).toContain(
      "strpos(lower(userIdentity.arn), ':sts::111122223333:assumed-role/pay-role/') > 0",
    )
    expect(q.sql).toContain("lower(userIdentity.sessionContext.sessionIssuer.userName) = 'pay-role'")
    expect(q.sql).toContain('userIdentity.sessionContext.sessionIssuer.arn AS si_arn')
    expect(q.sql).toMatch(/ORDER BY eventTime, eventID$/)
    expect(q.rendered).toBe(q.sql)
  })
})
