import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { KeptLine } from './process.js'

/** One stored event in sort order, as the spool gives it back. */
export interface SpooledLine {
  t: number
  id: string
  rank: number
  line: string
  hasFindings: boolean
}

function compare(
  a: { t: number; id: string; rank: number },
  b: { t: number; id: string; rank: number },
): number {
  return a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.rank - b.rank
}

const DEFAULT_LIMIT = Number(process.env.FIR_TIMELINE_SPOOL_MB ?? 128) * 1024 * 1024

/**
 * Holds the events of a run until they can be written in order: in memory up to `limitBytes`,
 * then as sorted runs on disk, merged at the end (an external sort), so an account-wide hunt over
 * any number of events runs in bounded memory. Events sort by time, then id (a total order, so
 * re-runs write identical files), then source preference; copies of one event (the same id at the
 * same time, e.g. from LookupEvents and a trail file) are dropped as they meet.
 */
export class EventSpool {
  private buffer: SpooledLine[] = []
  private bufferBytes = 0
  private runs: string[] = []
  private dir: string | undefined
  private spilling: Promise<void> = Promise.resolve()
  duplicates = 0
  count = 0

  constructor(
    private readonly tmpParent: string,
    private readonly limitBytes = DEFAULT_LIMIT,
  ) {}

  add(item: KeptLine): void {
    this.count++
    this.buffer.push({
      t: item.t,
      id: item.id,
      rank: item.rank,
      line: item.line,
      hasFindings: item.levels.length > 0,
    })
    this.bufferBytes += item.line.length + item.id.length + 48
    if (this.bufferBytes >= this.limitBytes) {
      const batch = this.buffer
      this.buffer = []
      this.bufferBytes = 0
      this.spilling = this.spilling.then(() => this.spill(batch))
    }
  }

  /** Resolves when spilled runs are on disk (callers wait on it to apply backpressure). */
  drained(): Promise<void> {
    return this.spilling
  }

  get spilledRuns(): number {
    return this.runs.length
  }

  private async spill(batch: SpooledLine[]): Promise<void> {
    batch.sort(compare)
    this.dir ??= await mkdtemp(join(this.tmpParent, '.spool-'))
    const path = join(this.dir, `run-${this.runs.length}.tsv`)
    const out = createWriteStream(path, { mode: 0o600 })
    for (const e of batch) {
      const row = `${e.t}\t${e.rank}\t${e.hasFindings ? 1 : 0}\t${JSON.stringify(e.id)}\t${e.line}\n`
      if (!out.write(row)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'close')
    this.runs.push(path)
  }

  /** Every event once, in order. */
  async *sorted(): AsyncGenerator<SpooledLine> {
    await this.spilling
    this.buffer.sort(compare)
    const sources: AsyncIterator<SpooledLine>[] = [
      ...this.runs.map((p) => readRun(p)),
      (async function* (b: SpooledLine[]) {
        yield* b
      })(this.buffer),
    ]
    const heads: (SpooledLine | undefined)[] = await Promise.all(
      sources.map(async (s) => (await s.next()).value as SpooledLine | undefined),
    )
    let last: SpooledLine | undefined
    for (;;) {
      let best = -1
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]
        if (h && (best === -1 || compare(h, heads[best]!) < 0)) best = i
      }
      if (best === -1) break
      const item = heads[best]!
      const r = await sources[best]!.next()
      heads[best] = r.done ? undefined : r.value
      if (last && last.t === item.t && last.id === item.id) {
        this.duplicates++
        continue
      }
      last = item
      yield item
    }
    this.buffer = []
  }

  async dispose(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true })
  }
}

async function* readRun(path: string): AsyncGenerator<SpooledLine> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })
  for await (const row of rl) {
    const a = row.indexOf('\t')
    const b = row.indexOf('\t', a + 1)
    const c = row.indexOf('\t', b + 1)
    // The id is JSON-encoded, so it holds no tab.
    const d = row.indexOf('\t', c + 1)
    yield {
      t: Number(row.slice(0, a)),
      rank: Number(row.slice(a + 1, b)),
      hasFindings: row.slice(b + 1, c) === '1',
      id: JSON.parse(row.slice(c + 1, d)) as string,
      line: row.slice(d + 1),
    }
  }
}
