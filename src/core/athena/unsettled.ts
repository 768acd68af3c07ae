import type { JournalEntry } from '../case/journal.js'
import { type CommandWord, flag, plainAwsCliCommand } from '../common/suggest.js'
import { escapeTerminal } from '../common/text.js'
import type { Dialect } from './sql.js'

/** The AWS CLI words that stop a query fir started (`source`: Lake's event data store). */
export function stopQueryWords(engine: Dialect, source: string, queryId: string): CommandWord[] {
  return engine === 'athena'
    ? ['athena', 'stop-query-execution', flag('--query-execution-id', queryId)]
    : ['cloudtrail', 'cancel-query', flag('--event-data-store', source), flag('--query-id', queryId)]
}

/** The AWS CLI words that list the queries where one fir was starting, its id unknown, would be. */
export function findQueryWords(engine: Dialect, source: string, workgroup?: string): CommandWord[] {
  return engine === 'athena'
    ? ['athena', 'list-query-executions', ...(workgroup ? [flag('--work-group', workgroup)] : [])]
    : ['cloudtrail', 'list-queries', flag('--event-data-store', source), '--query-status', 'RUNNING']
}

/** A query a timeline sent that may still run on AWS (and bill): see {@link unsettledQueries}. */
export interface UnsettledQuery {
  engine: Dialect
  source: string
  region: string
  /** When it was journaled: its start, or the stop fir could not confirm. */
  at: string
  /** Undefined when fir never learnt it (interrupted while the start call was out). */
  queryId?: string
  /** Athena's ClientRequestToken of the start, when one was sent. */
  clientRequestToken?: string
  /** An AWS CLI command that stops it (its id known), else that lists where it would be. */
  command: string
}

const QUERY_ACTIONS = new Set(['timeline.query.start', 'timeline.query.stop', 'timeline.query'])

/**
 * The queries whose start is journaled (timeline.query.start, sent or about to be) with no end
 * (timeline.query) and no confirmed stop (timeline.query.stop recorded): fir was interrupted, or
 * killed, while they ran, or could not stop them (an end journaled after a stop that was not
 * confirmed — fir gave up on the query — does not settle it). Matched by query id, else by Athena's
 * ClientRequestToken; a Lake start whose id never came back (Lake takes no token) is matched by its
 * target, the latest one only.
 */
export function unsettledQueries(entries: readonly JournalEntry[]): UnsettledQuery[] {
  const open = new Map<string, UnsettledQuery>()
  /** Ids of the queries whose stop was journaled (started or failed) and never confirmed. */
  const stopUnconfirmed = new Set<string>()
  for (const e of entries) {
    if (!QUERY_ACTIONS.has(e.action)) continue
    const p = (e.params ?? {}) as Record<string, unknown>
    const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined)
    const engine: Dialect = p.engine === 'lake' ? 'lake' : 'athena'
    const source = text(p.source) ?? e.target.replace(/^[a-z]+:/, '')
    const region = text(p.region) ?? ''
    const queryId = text(p.queryId)
    const token = text(p.clientRequestToken)
    const startKey = token ? `token:${token}` : `target:${e.target}`
    if (e.action === 'timeline.query.start') {
      const words = queryId
        ? stopQueryWords(engine, source, queryId)
        : findQueryWords(engine, source, text(p.workgroup))
      open.delete(startKey)
      open.set(queryId ? `id:${queryId}` : startKey, {
        engine,
        source,
        region,
        at: e.at,
        ...(queryId ? { queryId } : {}),
        ...(token ? { clientRequestToken: token } : {}),
        command: plainAwsCliCommand(words, region),
      })
    } else if (e.action === 'timeline.query.stop') {
      if (!queryId) continue
      if (e.outcome === 'recorded') {
        open.delete(`id:${queryId}`)
        stopUnconfirmed.delete(queryId)
      } else stopUnconfirmed.add(queryId)
    } else {
      // The run's end settles a query fir saw end; one it gave up on stays open until its stop is
      // confirmed.
      if (queryId && stopUnconfirmed.has(queryId)) continue
      if (queryId) open.delete(`id:${queryId}`)
      open.delete(startKey)
    }
  }
  return [...open.values()]
}

/** `fir case show`'s lines for the queries that may still run on AWS, and bill (escaped for a terminal). */
export function unsettledQueryLines(queries: UnsettledQuery[]): string[] {
  return queries.map((q) => {
    const label = q.engine === 'athena' ? 'Athena' : 'CloudTrail Lake'
    const what = q.queryId
      ? `${label} query ${escapeTerminal(q.queryId)}`
      : `the ${label} query${q.clientRequestToken ? ` with ClientRequestToken ${escapeTerminal(q.clientRequestToken)}` : ''}`
    const how = q.queryId
      ? `stop it with ${escapeTerminal(q.command)}`
      : `fir never learnt its id: find it with ${escapeTerminal(q.command)} and stop it`
    return `  ${what} on ${escapeTerminal(q.source)} (${q.at}) may still be running: fir journaled no end and no confirmed stop; ${how}`
  })
}
