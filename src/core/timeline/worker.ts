/**
 * Worker-thread entry of the timeline file pipeline: reads, gunzips, pre-filters and parses the
 * inputs it is given and posts back what they hold. One input at a time; large inputs stream.
 */
import { type MessagePort, parentPort, threadId, workerData } from 'node:worker_threads'
import { type FirErrorData, firErrorData, isFirError } from '../../errors.js'
import {
  type CompactResult,
  compactResult,
  FileProcessor,
  type FileTask,
  type PipelineSetup,
} from './file-task.js'
import type { Arena, ArenaTransfer } from './spool.js'

/**
 * `ordered`: an account-wide hunt read in delivery order; the batch's events come back as one
 * sorted arena with its results (see ReorderBuffer) instead of waiting in this thread's spool.
 */
export type WorkerRequest =
  | { type: 'tasks'; tasks: FileTask[]; ordered?: boolean }
  | { type: 'finish' }
  | { type: 'stop' }
  /** An ordered batch's arena buffer, written out and handed back for the next batch. */
  | { type: 'recycle'; buf: ArrayBuffer }

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'part'; seq: number; part: import('./file-task.js').FilePart }
  | { type: 'results'; results: CompactResult[]; arena?: ArenaTransfer; overflow?: number }
  | { type: 'runs'; runs: string[]; count: number; arenas: ArenaTransfer[] }
  /** `error`: what was thrown, when it was a FirError (fatalError makes it again in the main thread). */
  | { type: 'fatal'; message: string; error?: FirErrorData }

/**
 * Reports a failure that ends this thread's work. A FirError (bad input: a rule folder that went
 * missing) travels as itself, so the run exits as it would have in the main thread; anything else
 * is a bug, reported with `where` and its stack when given.
 */
function postFatal(port: MessagePort, err: unknown, where?: string): void {
  if (isFirError(err)) {
    try {
      port.postMessage({
        type: 'fatal',
        message: err.message,
        error: firErrorData(err),
      } satisfies WorkerMessage)
      return
    } catch {
      // A field that does not clone: the message alone, as for any error.
    }
  }
  const message =
    where !== undefined
      ? `${where}: ${(err as Error)?.stack ?? err}`
      : ((err as Error)?.message ?? String(err))
  port.postMessage({ type: 'fatal', message } satisfies WorkerMessage)
}

/** The most an ordered batch's arena holds (trail files are small; a batch is about 32 of them). */
const ORDERED_BATCH_BYTES = 96 * 1024 * 1024

async function main(): Promise<void> {
  const port = parentPort
  if (!port) return
  const setup = workerData as PipelineSetup
  let processor: FileProcessor
  // The arena of the batch being read in ordered mode (else lines go to the spool).
  let batchArena: Arena | undefined
  let overflowed = 0
  const free: ArrayBuffer[] = []
  // Account-wide: this thread's lines wait in its own spool (sorted runs in the run's spool folder).
  // A function's run has none: the spool module is not even loaded (a thread starts sooner).
  const spoolDir = setup.spoolDir
  const spooling = spoolDir ? await import('./spool.js') : undefined
  const spool = spooling
    ? new spooling.EventSpool(
        { dir: spoolDir!, prefix: `w${threadId}-` },
        setup.spoolBytesPerThread ?? 64 << 20,
      )
    : undefined
  try {
    const pack =
      setup.mode === 'all'
        ? await (await import('./detections.js')).loadRulePack(setup.ruleDirs, {
            awsIpRanges: setup.awsIpRanges,
          })
        : null
    processor = new FileProcessor(
      setup,
      pack,
      spool
        ? (line) => {
            if (batchArena && batchArena.pos < ORDERED_BATCH_BYTES) {
              batchArena.push(line)
              return
            }
            // An ordered batch this large is not what trail files give: the caller reads again.
            if (batchArena) overflowed++
            spool.add(line)
          }
        : undefined,
    )
  } catch (err) {
    postFatal(port, err)
    return
  }
  let chain = Promise.resolve()
  port.on('message', (msg: WorkerRequest) => {
    if (msg.type === 'stop') {
      port.close()
      return
    }
    if (msg.type === 'recycle') {
      if (free.length < 4) free.push(msg.buf)
      return
    }
    if (msg.type === 'finish') {
      chain = chain.then(async () => {
        // What is still in memory goes to the main thread as it is (transferred, not copied).
        const arenas = spool ? await spool.takeArenas() : []
        const runs = spool ? await spool.spillAll() : []
        port.postMessage({ type: 'runs', runs, count: spool?.count ?? 0, arenas } satisfies WorkerMessage, [
          ...new Set(arenas.flatMap((a) => spooling!.transferList(a))),
        ])
      })
      return
    }
    chain = chain.then(async () => {
      // One message per batch: posting a result per small file costs more than the file.
      const results: CompactResult[] = []
      const arena = msg.ordered && spooling ? new spooling.Arena(4 << 20, free.pop()) : undefined
      batchArena = arena
      for (const task of msg.tasks) {
        try {
          const result = await processor.process(task, (part) =>
            port.postMessage({ type: 'part', seq: task.seq, part } satisfies WorkerMessage),
          )
          results.push(compactResult(result))
          // Memory stays bounded: wait while the spool writes a run.
          if (spool) await spool.drained()
        } catch (err) {
          postFatal(port, err, task.display)
          return
        }
      }
      batchArena = undefined
      if (!arena) {
        port.postMessage({ type: 'results', results } satisfies WorkerMessage)
        return
      }
      const sorted = arena.transfer()
      const overflow = overflowed
      overflowed = 0
      port.postMessage(
        { type: 'results', results, arena: sorted, overflow } satisfies WorkerMessage,
        spooling!.transferList(sorted),
      )
    })
  })
  port.postMessage({ type: 'ready' } satisfies WorkerMessage)
}

void main()
