import type { FilterLogEventsCommandOutput } from '@aws-sdk/client-cloudwatch-logs'
import type { AwsClients } from './clients.js'
import { RepeatedPageMarkerError, toFirError } from './errors.js'
import { sdk } from './sdk.js'

export interface LogWindow {
  logGroupName: string
  startTime: Date
  endTime: Date
  /** Stop after this many events (attack floods can be huge). */
  maxEvents: number
}

/**
 * logs:FilterLogEvents over a window, page by page (each page handed to `onPage` as received), until
 * the window is exhausted or `maxEvents` events were read. Returns the number of events read and
 * whether the bound stopped it early. A `nextToken` CloudWatch Logs hands back twice throws
 * RepeatedPageMarkerError, after the pages received were handed on: the window was not read whole.
 */
export async function filterLogEvents(
  aws: AwsClients,
  window: LogWindow,
  onPage: (page: FilterLogEventsCommandOutput, index: number) => Promise<void> | void,
  pace?: () => Promise<void>,
): Promise<{ events: number; pages: number; truncated: boolean }> {
  let nextToken: string | undefined
  let events = 0
  let pages = 0
  const seen = new Set<string>()
  try {
    do {
      await pace?.()
      const page = await aws.logs.send(
        new (sdk.logs().FilterLogEventsCommand)({
          logGroupName: window.logGroupName,
          startTime: window.startTime.getTime(),
          endTime: window.endTime.getTime(),
          limit: Math.min(10_000, Math.max(1, window.maxEvents - events)),
          nextToken,
        }),
      )
      await onPage(page, pages++)
      events += page.events?.length ?? 0
      nextToken = page.nextToken
      // A token that repeats would loop forever: stop, and say the events are incomplete rather
      // than let them pass for the whole window.
      if (nextToken !== undefined) {
        if (seen.has(nextToken)) throw new RepeatedPageMarkerError('CloudWatch Logs', pages)
        seen.add(nextToken)
      }
    } while (nextToken && events < window.maxEvents)
  } catch (err) {
    throw toFirError(err, 'logs:FilterLogEvents', `read log group ${window.logGroupName}`)
  }
  return { events, pages, truncated: Boolean(nextToken) && events >= window.maxEvents }
}
