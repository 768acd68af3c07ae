import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { firErrorFromData } from '../../errors.js'
import {
  expandResult,
  type FilePart,
  FileProcessor,
  type FileResult,
  type FileTask,
  type PipelineSetup,
  STREAM_THRESHOLD_BYTES,
} from './file-task.js'
import type { ArenaTransfer } from './spool.js'
import type { WorkerMessage } from './worker.js'

export interface PoolHandlers {
  onPart(seq: number, part: FilePart): void
  onResult(result: FileResult): void
  /** Awaited before each new batch (backpressure: e.g. while the spool writes to disk). */
  ready?: () => Promise<void>
  /**
   * Ordered mode (account-wide hunts over trail files in delivery order): each batch's events
   * come back as one sorted arena, given here before the batch's results; `overflow` counts
   * events that did not fit it (the caller must then read again the classic way).
   */
  onArena?: (arena: ArenaTransfer, overflow: number) => void
  /**
   * How many tasks the iterable gives, when known: batches are then sized from what is left
   * (large first, smaller towards the end) instead of 32 at a time.
   */
  expected?: number
}

/** How many worker threads to use: one a core, unless FIR_TIMELINE_WORKERS says otherwise (0 = none). */
export function defaultPoolSize(): number {
  const env = process.env.FIR_TIMELINE_WORKERS
  if (env !== undefined && env !== '' && /^\d+$/.test(env)) return Number(env)
  return availableParallelism()
}

const WORKER_URL = new URL('./worker.js', import.meta.url)

/** Worker threads are available when the compiled worker sits beside this module (not under a TS runner). */
export function workersAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER_URL))
}

interface Slot {
  worker: Worker
  pending: Map<number, { task: FileTask; done: () => void }>
  failed?: Error
  /** Set while the thread is still starting (a pool with a main lane does not wait for it). */
  starting?: Promise<void>
}

export interface PoolOptions {
  /** The thread's module (tests start stand-ins). */
  workerUrl?: URL
  /**
   * The main thread reads too, as one of the `size` lanes: it starts at once, while the other
   * threads start, and one thread fewer is started. For runs whose main thread has little else to
   * do (a function's timeline over local files: few events come back); it yields to the event loop
   * between inputs, so messages, progress and interrupts are still served.
   */
  mainLane?: boolean
}

/** How long the main lane reads before it lets the event loop run. */
const MAIN_LANE_SLICE_MS = 4

/**
 * The error a thread's fatal message reports: a FirError as it was thrown there (its class, code,
 * exit code and next steps: bad input stays bad input), anything else as a bug.
 */
export function fatalError(msg: Extract<WorkerMessage, { type: 'fatal' }>): Error {
  return msg.error ? firErrorFromData(msg.error) : new Error(msg.message)
}

/** Resolves when a starting worker says it is ready; rejects when it reports a fatal error, fails or exits. */
function readyOf(worker: Worker): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
      if (err) reject(err)
      else resolve()
    }
    const onMessage = (msg: WorkerMessage) => {
      if (msg.type === 'ready') done()
      else if (msg.type === 'fatal') done(fatalError(msg))
    }
    const onError = (err: Error) => done(err)
    const onExit = (code: number) =>
      done(new Error(`a timeline worker thread exited (code ${code}) while starting`))
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
  })
}

/**
 * The file pipeline's thread pool: inputs are handed out in small batches (two in flight per
 * worker, so a worker never waits for the next one), results come back as they finish. With no
 * workers (size 0, or when running from TypeScript sources) the same processor runs inline.
 */
export class FilePool {
  private constructor(
    private readonly slots: Slot[],
    private readonly inline: FileProcessor | null,
  ) {}

  /** Worker threads (a main lane is not counted). */
  get threads(): number {
    return this.slots.length
  }

  /** Threads that read inputs: the worker threads, and the main thread when it is a lane beside them. */
  get readers(): number {
    return this.slots.length + (this.inline && this.slots.length > 0 ? 1 : 0)
  }

  /**
   * Starts `size` worker threads (none: the processor runs inline). If any thread fails to start,
   * the ones that did are stopped before the error is thrown: none is left running. With
   * `mainLane`, the main thread is one of the `size` lanes and the pool is returned at once: the
   * others join the run as they become ready. A thread that fails to start fails the run, unless
   * every input had been handed out before it was ready (the run no longer needed it).
   */
  static async start(
    setup: PipelineSetup,
    size = defaultPoolSize(),
    options: PoolOptions = {},
  ): Promise<FilePool> {
    const workerUrl = options.workerUrl ?? WORKER_URL
    const inline = async () => {
      const pack =
        setup.mode === 'all'
          ? await (await import('./detections.js')).loadRulePack(setup.ruleDirs, {
              awsIpRanges: setup.awsIpRanges,
            })
          : null
      return new FileProcessor(setup, pack)
    }
    if (size <= 0 || !workersAvailable()) return new FilePool([], await inline())
    if (options.mainLane) {
      const processor = await inline()
      const slots: Slot[] = []
      for (let i = 1; i < size; i++) {
        const worker = new Worker(workerUrl, { workerData: setup })
        const starting = readyOf(worker)
        starting.catch(() => undefined)
        slots.push({ worker, pending: new Map(), starting })
      }
      return new FilePool(slots, processor)
    }
    const workers: Worker[] = []
    const stopAll = () => Promise.all(workers.map((w) => w.terminate())).catch(() => undefined)
    let started: PromiseSettledResult<void>[]
    try {
      for (let i = 0; i < size; i++) workers.push(new Worker(workerUrl, { workerData: setup }))
      started = await Promise.allSettled(workers.map(readyOf))
    } catch (err) {
      await stopAll()
      throw err
    }
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) {
      await stopAll()
      throw failed.reason
    }
    return new FilePool(
      workers.map((worker) => ({ worker, pending: new Map() })),
      null,
    )
  }

  /** Runs every task; resolves when all results are in. */
  async run(tasks: AsyncIterable<FileTask> | Iterable<FileTask>, handlers: PoolHandlers): Promise<void> {
    const iterator =
      Symbol.asyncIterator in tasks
        ? (tasks as AsyncIterable<FileTask>)[Symbol.asyncIterator]()
        : (tasks as Iterable<FileTask>)[Symbol.iterator]()
    let exhausted = false
    // Resolves when every task has been handed out: a thread still starting then has nothing to join.
    let handedOut!: () => void
    const allHandedOut = new Promise<void>((resolve) => {
      handedOut = resolve
    })
    const next = async (): Promise<FileTask | undefined> => {
      if (exhausted) return undefined
      const r = await iterator.next()
      if (r.done) {
        exhausted = true
        handedOut()
        return undefined
      }
      return r.value
    }
    if (this.inline && this.slots.length === 0) {
      for (let task = await next(); task; task = await next()) {
        const seq = task.seq
        const result = await this.inline.process(task, (part) => handlers.onPart(seq, part))
        handlers.onResult(result)
        await handlers.ready?.()
      }
      return
    }
    // Batches: several small local files per message, one fetched body per message. With a known
    // count (and no ordered arenas, whose size follows the batch), a batch is what is left divided
    // by twice the lanes (guided self-scheduling): a few dozen messages instead of hundreds — each
    // one wakes a thread — and the threads still finish together.
    let given = 0
    const inline = this.inline
    const lanes = this.slots.length * 2 + (inline ? 1 : 0)
    const batchSize = () =>
      handlers.expected === undefined || handlers.onArena
        ? 32
        : Math.max(16, Math.min(1024, Math.ceil((handlers.expected - given) / (lanes * 2))))
    const nextBatch = async (): Promise<FileTask[]> => {
      const batch: FileTask[] = []
      const size = batchSize()
      while (batch.length < size) {
        const task = await next()
        if (!task) break
        batch.push(task)
        given++
        if (task.data || (task.size ?? 0) > STREAM_THRESHOLD_BYTES) break
      }
      return batch
    }
    // Set when a lane fails: the others stop taking batches.
    let stopped = false
    const mainLane = async (processor: FileProcessor) => {
      let slice = performance.now()
      for (let batch = await nextBatch(); batch.length > 0 && !stopped; batch = await nextBatch()) {
        await handlers.ready?.()
        for (const task of batch) {
          if (stopped) return
          const seq = task.seq
          handlers.onResult(await processor.process(task, (part) => handlers.onPart(seq, part)))
          if (performance.now() - slice >= MAIN_LANE_SLICE_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve))
            slice = performance.now()
          }
        }
      }
    }
    const runSlot = async (slot: Slot) => {
      if (slot.starting) {
        const joined = await Promise.race([slot.starting.then(() => true), allHandedOut.then(() => false)])
        if (!joined) return
        slot.starting = undefined
      }
      const onMessage = (msg: WorkerMessage) => {
        if (msg.type === 'part') handlers.onPart(msg.seq, msg.part)
        else if (msg.type === 'results') {
          // An ordered batch always comes back with its arena (empty when it held no event).
          if (msg.arena) handlers.onArena?.(msg.arena, msg.overflow ?? 0)
          for (const result of msg.results) {
            const pending = slot.pending.get(result.seq)
            if (!pending) continue
            slot.pending.delete(result.seq)
            handlers.onResult(expandResult(result, pending.task))
            pending.done()
          }
        } else if (msg.type === 'fatal') {
          slot.failed = fatalError(msg)
          for (const p of slot.pending.values()) p.done()
        }
      }
      const onError = (err: Error) => {
        slot.failed = err
        for (const p of slot.pending.values()) p.done()
      }
      slot.worker.on('message', onMessage)
      slot.worker.on('error', onError)
      try {
        const lane = async () => {
          for (let batch = await nextBatch(); batch.length > 0 && !stopped; batch = await nextBatch()) {
            if (slot.failed) throw slot.failed
            await handlers.ready?.()
            const waits = batch.map(
              (task) => new Promise<void>((done) => slot.pending.set(task.seq, { task, done })),
            )
            const transfer = batch.flatMap((t) =>
              t.data && t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength
                ? [t.data.buffer as ArrayBuffer]
                : [],
            )
            slot.worker.postMessage(
              { type: 'tasks', tasks: batch, ordered: handlers.onArena !== undefined },
              transfer,
            )
            await Promise.all(waits)
            if (slot.failed) throw slot.failed
          }
        }
        // Two lanes per worker keep its queue from running dry between batches.
        await Promise.all([lane(), lane()])
      } finally {
        slot.worker.off('message', onMessage)
        slot.worker.off('error', onError)
      }
    }
    const main = inline
      ? mainLane(inline).catch((err) => {
          stopped = true
          throw err
        })
      : undefined
    main?.catch(() => undefined)
    try {
      await Promise.all(this.slots.map(runSlot))
    } catch (err) {
      // A thread failed: the main lane stops at its next input (it is not left reading), the
      // threads are stopped by close().
      stopped = true
      await main?.catch(() => undefined)
      throw err
    }
    await main
  }

  /**
   * Account-wide runs: asks every worker to write what its spool still holds and returns the
   * sorted run files the workers wrote, with how many events they hold.
   */
  async finish(): Promise<{ runs: string[]; count: number; arenas: ArenaTransfer[] }> {
    const all = await Promise.all(
      this.slots.map(async (slot) => {
        await slot.starting
        return new Promise<{ runs: string[]; count: number; arenas: ArenaTransfer[] }>((resolve, reject) => {
          const onMessage = (msg: WorkerMessage) => {
            if (msg.type === 'runs') {
              slot.worker.off('message', onMessage)
              resolve({ runs: msg.runs, count: msg.count, arenas: msg.arenas })
            } else if (msg.type === 'fatal') reject(fatalError(msg))
          }
          slot.worker.on('message', onMessage)
          slot.worker.postMessage({ type: 'finish' })
        })
      }),
    )
    return {
      runs: all.flatMap((a) => a.runs),
      count: all.reduce((n, a) => n + a.count, 0),
      arenas: all.flatMap((a) => a.arenas),
    }
  }

  private nextRecycle = 0

  /** Hands an ordered batch's arena buffer back to a worker (round robin) for reuse. */
  recycle(buf: ArrayBuffer): void {
    if (this.slots.length === 0) return
    const slot = this.slots[this.nextRecycle++ % this.slots.length]!
    slot.worker.postMessage({ type: 'recycle', buf }, [buf])
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
  }
}
