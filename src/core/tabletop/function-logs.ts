import { createHash } from 'node:crypto'

/** One invocation the story makes of a function: when, and the request id its trail record carries. */
export interface Invocation {
  functionName: string
  time: Date
  requestId: string
}

/** A log stream as Lambda writes it: one execution environment, its START/END/REPORT lines. */
export interface LogStreamSeed {
  logGroupName: string
  logStreamName: string
  events: { timestamp: number; message: string }[]
}

/** How a function's log group ends up: its streams, or deleted by a story event (and not re-created). */
export interface FunctionLogPlan {
  logGroupName: string
  streams: LogStreamSeed[]
  /** When the story deleted the group, if it did (invocations after that re-create it). */
  deletedAt?: Date
}

/** A warm execution environment serves invocations closer together than this; later ones start a new one. */
const WARM_MS = 30 * 60_000

/** CloudWatch Logs takes events up to 14 days old only; older invocations leave no log lines. */
const MAX_AGE_MS = 14 * 86_400_000

export function logGroupNameOf(functionName: string): string {
  return `/aws/lambda/${functionName}`
}

function hashHex(s: string): string {
  return createHash('sha256').update(s).digest('hex')
}

/** A stable number in [0, 1) from a string: durations and memory look varied but reseed identically. */
function unit(s: string): number {
  return Number.parseInt(hashHex(s).slice(0, 8), 16) / 0x1_0000_0000
}

function day(t: number): string {
  return new Date(t).toISOString().slice(0, 10).replaceAll('-', '/')
}

/**
 * The log streams Lambda would have written for the story's invocations of each function: a new
 * execution environment (stream `YYYY/MM/DD/[$LATEST]<hex>`, with an Init Duration) after a quiet
 * spell, START / END / REPORT lines per request with the trail record's request id. A group the
 * story deleted (`deletedAt`) keeps only what was invoked after the deletion.
 */
export function planFunctionLogs(
  functions: { name: string; memorySize?: number }[],
  invocations: Invocation[],
  deleted: Map<string, Date>,
  now: Date,
): FunctionLogPlan[] {
  return functions.map((fn) => {
    const logGroupName = logGroupNameOf(fn.name)
    const deletedAt = deleted.get(logGroupName)
    const floor = Math.max(now.getTime() - MAX_AGE_MS, deletedAt ? deletedAt.getTime() + 1 : 0)
    const mine = invocations
      .filter((i) => i.functionName === fn.name && i.time.getTime() >= floor && i.time <= now)
      .sort((a, b) => a.time.getTime() - b.time.getTime())
    const memory = fn.memorySize ?? 128
    const streams: LogStreamSeed[] = []
    let current: LogStreamSeed | undefined
    let freeAt = 0
    for (const inv of mine) {
      const at = inv.time.getTime()
      const cold = !current || at - freeAt > WARM_MS
      let start = at + 5 + Math.round(unit(`${inv.requestId}/lag`) * 40)
      if (cold) {
        current = {
          logGroupName,
          logStreamName: `${day(at)}/[$LATEST]${hashHex(`${fn.name}/${inv.requestId}`).slice(0, 32)}`,
          events: [],
        }
        streams.push(current)
      }
      const stream = current as LogStreamSeed
      // One environment runs one request at a time: a request that arrives while it is busy waits.
      start = Math.max(start, freeAt + 1)
      const init = cold ? 150 + unit(`${inv.requestId}/init`) * 350 : 0
      const duration = 40 + unit(`${inv.requestId}/duration`) * 1800
      const end = start + Math.ceil(duration)
      const used = Math.min(memory, Math.round(memory * (0.18 + unit(`${inv.requestId}/memory`) * 0.3)))
      const id = inv.requestId
      stream.events.push(
        { timestamp: start, message: `START RequestId: ${id} Version: $LATEST\n` },
        { timestamp: end, message: `END RequestId: ${id}\n` },
        {
          timestamp: end,
          message:
            `REPORT RequestId: ${id}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.ceil(duration)} ms\t` +
            `Memory Size: ${memory} MB\tMax Memory Used: ${used} MB\t${cold ? `Init Duration: ${init.toFixed(2)} ms\t` : ''}\n`,
        },
      )
      freeAt = end
    }
    return { logGroupName, streams, ...(deletedAt ? { deletedAt } : {}) }
  })
}
