/**
 * Worker-thread entry of the timeline file pipeline: reads, gunzips, pre-filters and parses the
 * inputs it is given and posts back what they hold. One input at a time; large inputs stream.
 */
import { parentPort, workerData } from 'node:worker_threads'
import {
  type CompactResult,
  compactResult,
  FileProcessor,
  type FileTask,
  type PipelineSetup,
} from './file-task.js'

export type WorkerRequest = { type: 'tasks'; tasks: FileTask[] } | { type: 'stop' }

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'part'; seq: number; part: import('./file-task.js').FilePart }
  | { type: 'results'; results: CompactResult[] }
  | { type: 'fatal'; message: string }

async function main(): Promise<void> {
  const port = parentPort
  if (!port) return
  const setup = workerData as PipelineSetup
  let processor: FileProcessor
  try {
    const pack =
      setup.mode === 'all' ? await (await import('./detections.js')).loadRulePack(setup.ruleDirs) : null
    processor = new FileProcessor(setup, pack)
  } catch (err) {
    port.postMessage({ type: 'fatal', message: (err as Error).message } satisfies WorkerMessage)
    return
  }
  let chain = Promise.resolve()
  port.on('message', (msg: WorkerRequest) => {
    if (msg.type === 'stop') {
      port.close()
      return
    }
    chain = chain.then(async () => {
      // One message per batch: posting a result per small file costs more than the file.
      const results: CompactResult[] = []
      for (const task of msg.tasks) {
        try {
          const result = await processor.process(task, (part) =>
            port.postMessage({ type: 'part', seq: task.seq, part } satisfies WorkerMessage),
          )
          results.push(compactResult(result))
        } catch (err) {
          port.postMessage({ type: 'fatal', message: `${task.display}: ${(err as Error).stack ?? err}` })
          return
        }
      }
      port.postMessage({ type: 'results', results } satisfies WorkerMessage)
    })
  })
  port.postMessage({ type: 'ready' } satisfies WorkerMessage)
}

void main()
