import type { LookupAttributeKey } from '@aws-sdk/client-cloudtrail'
import { EmulatorSafetyError, FirError } from '../errors.js'
import type { AwsClients } from './clients.js'
import { classifyFailure, errorName, type FailureKind, gapReason, httpStatus } from './errors.js'
import { sdk } from './sdk.js'

export type { LookupAttributeKey } from '@aws-sdk/client-cloudtrail'

export interface LookupQuery {
  attribute?: { key: LookupAttributeKey; value: string }
  start?: Date
  end?: Date
  maxResults?: number
  nextToken?: string
}

/** One LookupEvents page: the body exactly as received, the events, the token for the next page. */
export interface LookupPage {
  raw: Uint8Array
  /** EventTime: a Date as the SDK gives it, seconds since 1970 in a page read back from its bytes. */
  events: { EventId?: string; EventTime?: Date | number; CloudTrailEvent?: string }[]
  nextToken?: string
  requestId?: string
}

/** A LookupEvents call that failed, with what kind of failure it was (for the caller's retry). */
export class LookupEventsFailure extends FirError {
  constructor(
    readonly kind: FailureKind,
    readonly errorName: string,
    readonly status: number | undefined,
    readonly reason: string,
    cause: unknown,
  ) {
    super('lookup-events-failed', `unable to look up CloudTrail events: ${reason}`, {
      cause,
      actions: [
        'run again: the pages already fetched are kept in the case (timeline/raw/), and the run goes on from them',
      ],
    })
  }
}

async function collect(body: unknown): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body
  if (typeof body === 'string') return Buffer.from(body)
  const chunks: Buffer[] = []
  for await (const c of body as AsyncIterable<Buffer | string>)
    chunks.push(typeof c === 'string' ? Buffer.from(c) : c)
  return Buffer.concat(chunks)
}

/**
 * cloudtrail:LookupEvents, one page, one attempt: the client has the SDK's retries off, because
 * the caller paces requests under the 2 requests/s per region limit and retries pages itself.
 * The raw response body is captured as received (it is kept in the case).
 */
export async function lookupEventsPage(aws: AwsClients, query: LookupQuery): Promise<LookupPage> {
  const command = new (sdk.cloudtrail().LookupEventsCommand)({
    ...(query.attribute
      ? { LookupAttributes: [{ AttributeKey: query.attribute.key, AttributeValue: query.attribute.value }] }
      : {}),
    ...(query.start ? { StartTime: query.start } : {}),
    ...(query.end ? { EndTime: query.end } : {}),
    MaxResults: query.maxResults ?? 50,
    ...(query.nextToken ? { NextToken: query.nextToken } : {}),
  })
  let raw: Uint8Array | undefined
  let requestId: string | undefined
  // biome-ignore lint/suspicious/noExplicitAny: the smithy middleware generics add nothing here
  const stack = command.middlewareStack as any
  stack.add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      const result = (await next(args)) as {
        response: { statusCode?: number; body?: unknown; headers?: Record<string, string> }
      }
      const body = await collect(result.response.body)
      result.response.body = body
      requestId = result.response.headers?.['x-amzn-requestid']
      if ((result.response.statusCode ?? 0) < 300) raw = body
      return result
    },
    { step: 'deserialize', priority: 'low', name: 'firCaptureLookupEventsBody' },
  )
  try {
    const out = await aws.cloudtrailPaced.send(command)
    return {
      raw: raw ?? Buffer.from(JSON.stringify({ Events: out.Events ?? [], NextToken: out.NextToken })),
      events: out.Events ?? [],
      nextToken: out.NextToken,
      requestId: requestId ?? out.$metadata.requestId,
    }
  } catch (err) {
    // A request fir itself refused to send (emulator-only mode) is no failure of AWS's to retry or
    // record as a gap: the run stops with it.
    if (err instanceof EmulatorSafetyError) throw err
    throw new LookupEventsFailure(classifyFailure(err), errorName(err), httpStatus(err), gapReason(err), err)
  }
}
