import { describe, expect, it } from 'vitest'
import { cloudTrailDdl } from '../../src/core/athena/ddl.js'
import { athenaTable, COLUMNS } from '../../src/core/athena/sql.js'
import { UsageError } from '../../src/errors.js'
import { runFir } from '../support/cli.js'

/** The field paths a CREATE TABLE column list declares (structs flattened with dots, arrays as their element). */
function declaredPaths(ddl: string): Set<string> {
  const body = ddl.slice(ddl.indexOf('(') + 1, ddl.indexOf('\n)\nPARTITIONED BY'))
  const src = body.replace(/\s+/g, ' ')
  let i = 0
  const out = new Set<string>()
  const ident = () => {
    const m = /^\s*`?([A-Za-z_][A-Za-z0-9_]*)`?\s*:?\s*/.exec(src.slice(i))!
    i += m[0].length
    return m[1]!.toLowerCase()
  }
  const type = (prefix: string) => {
    const m = /^\s*(STRUCT|ARRAY|MAP|STRING|BOOLEAN|BIGINT|INT)\s*/i.exec(src.slice(i))!
    i += m[0].length
    const kind = m[1]!.toUpperCase()
    if (kind === 'STRUCT') {
      i++ // <
      for (;;) {
        const name = ident()
        out.add(`${prefix}.${name}`)
        type(`${prefix}.${name}`)
        const sep = /^\s*([,>])\s*/.exec(src.slice(i))!
        i += sep[0].length
        if (sep[1] === '>') break
      }
    } else if (kind === 'ARRAY') {
      i++
      type(prefix)
      i += /^\s*>\s*/.exec(src.slice(i))![0].length
    } else if (kind === 'MAP') {
      i += /^<\s*STRING\s*,\s*STRING\s*>\s*/i.exec(src.slice(i))![0].length
    }
  }
  for (;;) {
    const name = ident()
    out.add(name)
    type(name)
    const sep = /^\s*,\s*/.exec(src.slice(i))
    if (!sep) break
    i += sep[0].length
  }
  return out
}

describe('fir athena ddl', () => {
  it('prints the CloudTrail table with partition projection on account, region and date', async () => {
    const r = await runFir([
      'athena',
      'ddl',
      '--table',
      'security.org_trail',
      '--bucket-location',
      's3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/',
      '--accounts',
      '111122223333,444455556666',
      '--regions',
      'us-east-1,eu-west-1',
      '--start-date',
      '2025/01/01',
    ])
    expect(r.code).toBe(0)
    const ddl = r.stdout
    expect(ddl).toMatch(/^CREATE EXTERNAL TABLE IF NOT EXISTS `security`\.`org_trail` \(/)
    expect(ddl).toContain('PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)')
    expect(ddl).toContain("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'")
    expect(ddl).toContain("STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'")
    expect(ddl).toContain("LOCATION 's3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/'")
    expect(ddl).toContain("'projection.account.type'='enum'")
    expect(ddl).toContain("'projection.account.values'='111122223333,444455556666'")
    expect(ddl).toContain("'projection.region.values'='us-east-1,eu-west-1'")
    expect(ddl).toContain("'projection.timestamp.format'='yyyy/MM/dd'")
    expect(ddl).toContain("'projection.timestamp.range'='2025/01/01,NOW'")
    // Athena's own placeholders, spelled without a JS template literal.
    const slot = (name: string) => `\${${name}}`
    expect(ddl).toContain(
      `'storage.location.template'='s3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/${slot('account')}/CloudTrail/${slot('region')}/${slot('timestamp')}'`,
    )
  })

  it('injects the account partition when no accounts are named (queries name them)', async () => {
    const r = await runFir(['athena', 'ddl', '--bucket-location', 's3://trail-bucket/logs/AWSLogs', '--json'])
    expect(r.code).toBe(0)
    expect(r.json.result.accountProjection).toBe('injected')
    expect(r.json.result.location).toBe('s3://trail-bucket/logs/AWSLogs/')
    expect(r.json.result.ddl).not.toContain('projection.account.values')
    expect(r.json.result.ddl).toContain("'projection.region.values'='us-east-1,us-east-2,")
  })

  it('declares every column and struct field fir selects from the table', () => {
    const paths = declaredPaths(cloudTrailDdl({ table: 'a.b', bucketLocation: 's3://bkt/AWSLogs/' }).ddl)
    expect(paths.has('useridentity.sessioncontext.sessionissuer.arn')).toBe(true)
    for (const c of COLUMNS) {
      if (!c.athena) continue
      const path = /^json_format\(CAST\((.+) AS JSON\)\)$/.exec(c.athena)?.[1] ?? c.athena
      expect(paths.has(path), `${c.alias}: ${path}`).toBe(true)
    }
  })

  it("a refused table names --table, the flag of fir athena ddl (not the timeline's --athena-table)", () => {
    const refusal = (() => {
      try {
        cloudTrailDdl({ table: 'a.b.c', bucketLocation: 's3://bkt/AWSLogs/' })
      } catch (err) {
        return err as UsageError
      }
      throw new Error('a.b.c was accepted')
    })()
    expect(refusal).toBeInstanceOf(UsageError)
    expect(refusal.message).toMatch(/DB\.TABLE/)
    // Before: "pass --athena-table cloudtrail.org_trail", a flag fir athena ddl does not have.
    expect(refusal.actions.join(' ')).not.toContain('--athena-table')
    expect(refusal.actions[0]).toMatch(/^pass --table DB\.TABLE/)
    // The timeline's own refusal still names its flag.
    expect(() => athenaTable('a.b.c')).toThrow(
      expect.objectContaining({ actions: [expect.stringMatching(/^pass --athena-table DB\.TABLE/)] }),
    )
  })

  it('refuses a location, table, account or date that could break the statement', async () => {
    for (const [flag, value, msg] of [
      ['--bucket-location', "s3://bkt/AWSLogs/'; DROP TABLE x; --", /bucket-location/],
      ['--bucket-location', 's3://bkt/somewhere/', /bucket-location/],
      ['--table', 'db.t`x', /DB\.TABLE/],
      ['--accounts', '11112222333x', /12-digit/],
      ['--start-date', "2025/01/01',NOW'", /YYYY\/MM\/DD/],
      ['--start-date', '2025/02/29', /2025\/02\/29 is not a date/],
      ['--start-date', '2024/04/31', /is not a date/],
      ['--regions', "us-east-1'", /region name/],
    ] as const) {
      const args = ['athena', 'ddl', '--bucket-location', 's3://bkt/AWSLogs/', flag, value, '--json']
      const r = await runFir(args)
      expect(r.code, value).toBe(2)
      expect(r.json.error.message).toMatch(msg)
    }
  })
})
