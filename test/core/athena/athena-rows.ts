import { COLUMNS, type Dialect } from '../../../src/core/athena/sql.js'

type Rec = Record<string, unknown>

function at(record: Rec, path: string[]): unknown {
  let node: unknown = record
  for (const k of path) {
    if (!node || typeof node !== 'object') return undefined
    node = (node as Rec)[k]
  }
  return node
}

/**
 * What Athena returns for fir's SELECT over the CloudTrail table (JsonSerDe) for one record: struct
 * fields as text, JSON-typed STRING columns as the record's JSON text, booleans as 'true'/'false',
 * `resources` as json_format(CAST(array(row) AS JSON)) with the table's lower-case field names, and
 * NULL (no VarCharValue) for anything absent or JSON null.
 */
export function athenaCells(record: Rec): (string | undefined)[] {
  return COLUMNS.filter((c) => c.athena).map((c) => {
    const v = at(record, c.path)
    if (v === undefined || v === null) return undefined
    if (c.kind === 'resources') {
      return JSON.stringify(
        (v as Rec[]).map((r) => ({
          arn: r.ARN ?? null,
          accountid: r.accountId ?? null,
          type: r.type ?? null,
        })),
      )
    }
    if (c.kind === 'json') return JSON.stringify(v)
    return typeof v === 'string' ? v : JSON.stringify(v)
  })
}

/** The moto result payload (POST /moto-api/static/athena/query-results) for these records. */
export function motoAthenaResults(records: Rec[], account = '123456789012', region = 'us-east-1'): unknown {
  const names = COLUMNS.filter((c) => c.athena).map((c) => c.alias)
  const header = { Data: names.map((n) => ({ VarCharValue: n })) }
  const rows = records.map((r) => ({
    Data: athenaCells(r).map((v) => (v === undefined ? {} : { VarCharValue: v })),
  }))
  return {
    account_id: account,
    region,
    results: [
      {
        rows: [header, ...rows],
        column_info: names.map((n) => ({
          CatalogName: 'hive',
          SchemaName: '',
          TableName: '',
          Name: n,
          Label: n,
          Type: 'varchar',
          Precision: 2147483647,
          Scale: 0,
          Nullable: 'UNKNOWN',
          CaseSensitive: true,
        })),
      },
    ],
  }
}

export function dialectColumns(dialect: Dialect): string[] {
  return COLUMNS.filter((c) => c[dialect]).map((c) => c.alias)
}
