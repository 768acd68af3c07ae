import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

export interface AthenaExecution {
  id: string
  /** QUEUED | RUNNING | SUCCEEDED | FAILED | CANCELLED */
  state: string
  reason?: string
  bytesScanned?: number
  outputLocation?: string
  engineMs?: number
}

export interface AthenaPage {
  columns: string[]
  /** Each row's cells; undefined for SQL NULL (a Datum without VarCharValue). */
  rows: (string | undefined)[][]
  nextToken?: string
  /** The page as received, for the case's raw/ folder. */
  raw: unknown
}

/**
 * StartQueryExecution with ExecutionParameters bound to the `?` placeholders. `clientRequestToken`
 * (32-128 characters) makes the start idempotent: Athena starts one query for it however often
 * the request is sent, and it names the query fir asked for before its id is known.
 */
export async function startAthenaQuery(
  aws: AwsClients,
  q: {
    sql: string
    parameters: string[]
    database?: string
    outputLocation?: string
    workgroup?: string
    clientRequestToken?: string
  },
): Promise<string> {
  try {
    const out = await aws.athena.send(
      new (sdk.athena().StartQueryExecutionCommand)({
        QueryString: q.sql,
        ...(q.clientRequestToken ? { ClientRequestToken: q.clientRequestToken } : {}),
        ...(q.parameters.length > 0 ? { ExecutionParameters: q.parameters } : {}),
        ...(q.database ? { QueryExecutionContext: { Database: q.database } } : {}),
        ...(q.outputLocation ? { ResultConfiguration: { OutputLocation: q.outputLocation } } : {}),
        ...(q.workgroup ? { WorkGroup: q.workgroup } : {}),
      }),
    )
    if (!out.QueryExecutionId) throw new Error('StartQueryExecution returned no QueryExecutionId')
    return out.QueryExecutionId
  } catch (err) {
    throw toFirError(err, 'athena:StartQueryExecution', 'start the Athena query')
  }
}

/** StopQueryExecution: Athena cancels a queued or running query (a finished one is left as it is). */
export async function stopAthenaQuery(aws: AwsClients, id: string): Promise<void> {
  try {
    await aws.athena.send(new (sdk.athena().StopQueryExecutionCommand)({ QueryExecutionId: id }))
  } catch (err) {
    throw toFirError(err, 'athena:StopQueryExecution', `stop Athena query ${id}`)
  }
}

export async function getAthenaExecution(aws: AwsClients, id: string): Promise<AthenaExecution> {
  try {
    const out = await aws.athena.send(new (sdk.athena().GetQueryExecutionCommand)({ QueryExecutionId: id }))
    const q = out.QueryExecution
    return {
      id,
      state: String(q?.Status?.State ?? 'UNKNOWN'),
      reason: q?.Status?.StateChangeReason ?? q?.Status?.AthenaError?.ErrorMessage,
      bytesScanned: q?.Statistics?.DataScannedInBytes,
      outputLocation: q?.ResultConfiguration?.OutputLocation,
      engineMs: q?.Statistics?.EngineExecutionTimeInMillis,
    }
  } catch (err) {
    throw toFirError(err, 'athena:GetQueryExecution', `read the state of Athena query ${id}`)
  }
}

/** One page of a finished query's results (up to 1000 rows). */
export async function getAthenaResultsPage(
  aws: AwsClients,
  id: string,
  nextToken?: string,
): Promise<AthenaPage> {
  try {
    const out = await aws.athena.send(
      new (sdk.athena().GetQueryResultsCommand)({
        QueryExecutionId: id,
        NextToken: nextToken,
        MaxResults: 1000,
      }),
    )
    const columns = (out.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '')
    const rows = (out.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue))
    const { $metadata: _m, ...raw } = out
    return { columns, rows, nextToken: out.NextToken, raw }
  } catch (err) {
    throw toFirError(err, 'athena:GetQueryResults', `read the results of Athena query ${id}`)
  }
}
