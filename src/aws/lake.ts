import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

export interface LakeQueryState {
  id: string
  /** QUEUED | RUNNING | FINISHED | FAILED | TIMED_OUT | CANCELLED */
  status: string
  error?: string
  bytesScanned?: number
  eventsMatched?: number
  eventsScanned?: number
}

export interface LakePage {
  status: string
  /** Each row: one {column: value} map per selected column, as Lake returns them. */
  rows: Record<string, string>[][]
  nextToken?: string
  bytesScanned?: number
  raw: unknown
}

/** CloudTrail Lake StartQuery (the event data store is named in the SQL's FROM). */
export async function startLakeQuery(aws: AwsClients, sql: string): Promise<string> {
  try {
    const out = await aws.cloudtrail.send(new (sdk.cloudtrail().StartQueryCommand)({ QueryStatement: sql }))
    if (!out.QueryId) throw new Error('StartQuery returned no QueryId')
    return out.QueryId
  } catch (err) {
    throw toFirError(err, 'cloudtrail:StartQuery', 'start the CloudTrail Lake query')
  }
}

/** CloudTrail Lake CancelQuery: cancels a queued or running query. */
export async function cancelLakeQuery(aws: AwsClients, id: string): Promise<void> {
  try {
    await aws.cloudtrail.send(new (sdk.cloudtrail().CancelQueryCommand)({ QueryId: id }))
  } catch (err) {
    throw toFirError(err, 'cloudtrail:CancelQuery', `cancel CloudTrail Lake query ${id}`)
  }
}

export async function describeLakeQuery(aws: AwsClients, id: string): Promise<LakeQueryState> {
  try {
    const out = await aws.cloudtrail.send(new (sdk.cloudtrail().DescribeQueryCommand)({ QueryId: id }))
    return {
      id,
      status: String(out.QueryStatus ?? 'UNKNOWN'),
      error: out.ErrorMessage,
      bytesScanned: out.QueryStatistics?.BytesScanned,
      eventsMatched: out.QueryStatistics?.EventsMatched,
      eventsScanned: out.QueryStatistics?.EventsScanned,
    }
  } catch (err) {
    throw toFirError(err, 'cloudtrail:DescribeQuery', `read the state of CloudTrail Lake query ${id}`)
  }
}

export async function getLakeResultsPage(aws: AwsClients, id: string, nextToken?: string): Promise<LakePage> {
  try {
    const out = await aws.cloudtrail.send(
      new (sdk.cloudtrail().GetQueryResultsCommand)({
        QueryId: id,
        NextToken: nextToken,
        MaxQueryResults: 1000,
      }),
    )
    const { $metadata: _m, ...raw } = out
    return {
      status: String(out.QueryStatus ?? 'UNKNOWN'),
      rows: (out.QueryResultRows ?? []) as Record<string, string>[][],
      nextToken: out.NextToken,
      bytesScanned: out.QueryStatistics?.BytesScanned,
      raw,
    }
  } catch (err) {
    throw toFirError(err, 'cloudtrail:GetQueryResults', `read the results of CloudTrail Lake query ${id}`)
  }
}
