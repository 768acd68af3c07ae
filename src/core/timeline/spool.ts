import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { totalmem } from 'node:os'
import { join } from 'node:path'
import { canonicalJson } from '../common/canonical-json.js'
import { trackTemporary } from '../common/interrupt.js'
import { asBuffer } from './input.js'
import { eventTimeMs } from './normalise.js'
import { type KeptLine, keptLineSize, RAW_OPEN } from './process.js'

/**
 * One stored event in sort order, as the spool gives it back. Lines stay bytes (UTF-8): most go
 * straight to the output without being decoded.
 */
export interface SpooledLine {
  t: number
  id: string
  rank: number
  line: Buffer
  hasFindings: boolean
  /** Marks for the merge-time detector (DETECTOR_* flags; scoped rules' role names). */
  detectorFlags: number
  scopeRoles: string
  /** A field of the record has another type than CloudTrail gives it (see malformedFields). */
  malformed: boolean
}

/**
 * A key's flags: bit 0 rules fired (hasFindings), bit 3 a malformed field, the others the
 * detector's (DETECTOR_LEARN 2, DETECTOR_ANY 4).
 */
const HAS_FINDINGS = 1
const MALFORMED = 8
const NOT_DETECTOR = HAS_FINDINGS | MALFORMED

interface Key {
  t: number
  id: string
  rank: number
}

type ArenaKey = Key & { flags: number; scope: string; start: number; len: number }

/** An arena as it travels between threads: its buffer (transferable) and its keys, packed. */
export interface ArenaTransfer {
  buf: Uint8Array
  keys: PackedKeys
}

/**
 * Arena keys as they travel between threads: typed arrays and one string rather than an object
 * a key (cloning half a million small objects cost more than the rest of the hand-over).
 */
export interface PackedKeys {
  /** Time of each key (ms since the epoch). */
  t: Float64Array
  /** start, len, flags, rank of each key. */
  m: Int32Array
  /** Each key's id then its scope roles, all concatenated. */
  text: string
  /** Where each id (2i) and scope (2i + 1) ends in `text`. */
  ends: Int32Array
}

export function packKeys(keys: readonly ArenaKey[]): PackedKeys {
  const n = keys.length
  const t = new Float64Array(n)
  const m = new Int32Array(n * 4)
  const ends = new Int32Array(n * 2)
  let text = ''
  for (let i = 0; i < n; i++) {
    const k = keys[i]!
    t[i] = k.t
    m[i * 4] = k.start
    m[i * 4 + 1] = k.len
    m[i * 4 + 2] = k.flags
    m[i * 4 + 3] = k.rank
    text += k.id
    ends[i * 2] = text.length
    text += k.scope
    ends[i * 2 + 1] = text.length
  }
  return { t, m, text, ends }
}

export function unpackKeys(p: PackedKeys): ArenaKey[] {
  const n = p.t.length
  const out: ArenaKey[] = new Array(n)
  let at = 0
  for (let i = 0; i < n; i++) {
    const idEnd = p.ends[i * 2]!
    const scopeEnd = p.ends[i * 2 + 1]!
    out[i] = {
      t: p.t[i]!,
      id: p.text.slice(at, idEnd),
      rank: p.m[i * 4 + 3]!,
      flags: p.m[i * 4 + 2]!,
      scope: scopeEnd > idEnd ? p.text.slice(idEnd, scopeEnd) : '',
      start: p.m[i * 4]!,
      len: p.m[i * 4 + 1]!,
    }
    at = scopeEnd
  }
  return out
}

/** The buffers a transfer can move rather than copy: the arena's and its keys'. */
export function transferList(t: ArenaTransfer): ArrayBuffer[] {
  return [
    t.buf.buffer as ArrayBuffer,
    t.keys.t.buffer as ArrayBuffer,
    t.keys.m.buffer as ArrayBuffer,
    t.keys.ends.buffer as ArrayBuffer,
  ]
}

function compare(a: Key, b: Key): number {
  return a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.rank - b.rank
}

/**
 * The memory a run may hold events in before sorted runs go to disk, all threads together:
 * FIR_TIMELINE_SPOOL_MB, else 256 MiB (a sixteenth of the machine's memory on small machines).
 * A bound that does not grow with the input. Bigger is not faster everywhere: fresh memory is
 * expensive to touch on some virtual machines, while arenas of this size are reused run after run.
 */
export function spoolBudgetBytes(): number {
  const env = process.env.FIR_TIMELINE_SPOOL_MB
  if (env && /^\d+$/.test(env)) return Number(env) * 1024 * 1024
  return Math.min(256, Math.max(32, Math.floor(totalmem() / 16 / 1024 / 1024))) * 1024 * 1024
}

const DEFAULT_LIMIT = 128 * 1024 * 1024
const NL = Buffer.from('\n')

/** JSON with every non-ASCII character escaped: its byte length is its length. */
function asciiJson(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/**
 * Lines kept off the JavaScript heap: UTF-8 bytes packed in one buffer, keys beside them. Events
 * of an account-wide hunt are large and many; as heap strings they would be copied by every
 * garbage collection until written.
 */
export class Arena {
  buf: Buffer
  pos = 0
  keys: ArenaKey[] = []

  constructor(size: number, reuse?: ArrayBuffer) {
    this.buf = reuse && reuse.byteLength >= size ? Buffer.from(reuse) : Buffer.allocUnsafeSlow(size)
  }

  fits(bytes: number): boolean {
    return this.pos + bytes <= this.buf.length
  }

  private ensure(bytes: number): void {
    if (this.fits(bytes)) return
    // A line larger than the arena: grow (rare: a single huge record).
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + bytes))
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  push(item: KeptLine): void {
    const raw = item.rawBytes
    // keptLineSize counts the line a byte a character: exact for ASCII, too little for other text.
    this.ensure(keptLineSize(item))
    const start = this.pos
    // Encoded as UTF-8. (Written a byte a character and checked for ASCII afterwards, a line whose
    // other characters all had an ASCII low byte — 中, U+202E, 😀, Ā — passed the check as wrong
    // bytes.) A write stops where the buffer ends: one that ends within a character's length of
    // the end may be short, and is measured and written again into a larger buffer.
    let written = this.buf.write(item.line, start, 'utf8')
    if (this.buf.length - (start + written) < 4) {
      const bytes = Buffer.byteLength(item.line)
      if (bytes > written) {
        this.ensure(bytes)
        written = this.buf.write(item.line, start, 'utf8')
      }
    }
    this.pos = start + written
    if (raw) {
      this.ensure(RAW_OPEN.length + raw.length + 1)
      // TypedArray#set, not Buffer#copy: copy's argument handling cost more than the bytes (about
      // half a second of a hunt's million copies, measured).
      this.buf.set(RAW_OPEN, this.pos)
      this.pos += RAW_OPEN.length
      this.buf.set(raw, this.pos)
      this.pos += raw.length
      this.buf[this.pos++] = 0x7d // }
    }
    this.keys.push({
      t: item.t,
      id: item.id,
      rank: item.rank,
      flags:
        (item.levels.length > 0 ? HAS_FINDINGS : 0) | (item.malformed ? MALFORMED : 0) | item.detector.flags,
      scope: item.detector.scopeRoles,
      start,
      len: this.pos - start,
    })
  }

  clear(): void {
    this.pos = 0
    this.keys.length = 0
  }

  sortedKeys(): Arena['keys'] {
    return this.keys.sort(compare)
  }

  line(k: Arena['keys'][number]): Buffer {
    return this.buf.subarray(k.start, k.start + k.len)
  }

  /** Sorted, ready to travel to another thread (the buffer is transferred, not copied). */
  transfer(): ArenaTransfer {
    return { buf: this.buf.subarray(0, this.pos), keys: packKeys(this.sortedKeys()) }
  }
}

/**
 * Holds the events of a run until they can be written in order: in memory up to `limitBytes`,
 * then as sorted runs on disk, merged at the end (an external sort), so an account-wide hunt over
 * any number of events runs in bounded memory. Events sort by time, then id (a total order, so
 * re-runs write identical files), then source preference; copies of one event (the same id at the
 * same time, e.g. from LookupEvents and a trail file) are dropped as they meet.
 *
 * Two arenas of half the limit each: one fills while the other is written.
 */
export class EventSpool {
  private arenas: Arena[] = []
  private current: Arena | undefined
  private runs: string[] = []
  private dir: string | undefined
  private spilling: Promise<void> = Promise.resolve()
  private spillCount = 0
  private untrack = () => {}
  private readonly copies = new Copies()
  count = 0

  /** Copies of an event dropped by sorted(). */
  get duplicates(): number {
    return this.copies.duplicates
  }

  /** Records kept though another record had their time and eventID (see Copies). */
  get conflicts(): Copies['conflicts'] {
    return this.copies.conflicts
  }

  /**
   * `tmpParent`: a folder to make the spool's own temporary folder in (removed by dispose); or
   * `{ dir, prefix }`: write runs into an existing folder that someone else removes (the worker
   * threads of a run spill into the main spool's folder).
   */
  constructor(
    private readonly tmpParent: string | { dir: string; prefix: string },
    private readonly limitBytes = DEFAULT_LIMIT,
  ) {
    if (typeof tmpParent !== 'string') this.dir = tmpParent.dir
  }

  /** The spool's folder, made on first use. */
  async folder(): Promise<string> {
    if (typeof this.tmpParent === 'string' && !this.dir) {
      this.dir = await mkdtemp(join(this.tmpParent, '.spool-'))
      this.untrack = trackTemporary(this.dir)
    }
    return this.dir!
  }

  /** Adds a sorted run another spool wrote (a worker thread's). */
  addRunFile(path: string, count: number): void {
    this.runs.push(path)
    this.count += count
  }

  private arena(): Arena {
    if (!this.current) {
      // Small at first (a function's timeline holds few events), doubling up to half the limit.
      this.current = new Arena(Math.max(64, Math.min(1 << 20, Math.floor(this.limitBytes / 2))))
      this.arenas.push(this.current)
    }
    return this.current
  }

  add(item: KeptLine): void {
    this.count++
    const bytes = keptLineSize(item)
    let arena = this.arena()
    if (!arena.fits(bytes)) {
      const half = Math.floor(this.limitBytes / 2)
      if (arena.buf.length < half) {
        // Still growing: double in place.
        const bigger = Buffer.allocUnsafeSlow(
          Math.min(half, Math.max(arena.buf.length * 2, arena.pos + bytes)),
        )
        arena.buf.copy(bigger, 0, 0, arena.pos)
        arena.buf = bigger
      }
      if (!arena.fits(bytes) && arena.keys.length > 0) {
        this.spillArena(arena)
        // The other arena, once its own spill is done (callers wait on drained() between inputs).
        const free = this.arenas.find((a) => a !== arena && a.keys.length === 0)
        arena = free ?? new Arena(half)
        if (!free) this.arenas.push(arena)
        this.current = arena
      }
    }
    arena.push(item)
  }

  private spillArena(arena: Arena): void {
    const n = this.spillCount++
    this.spilling = this.spilling.then(async () => {
      await this.writeRun(arena, n)
      arena.clear()
      // Keep at most two arenas around.
      if (this.arenas.length > 2 && arena !== this.current)
        this.arenas = this.arenas.filter((a) => a !== arena)
    })
  }

  /** Hands over what is in memory (a worker thread at the end of its work: no disk round trip). */
  async takeArenas(): Promise<ArenaTransfer[]> {
    await this.spilling
    const out: ArenaTransfer[] = []
    for (const a of this.arenas) {
      if (a.keys.length === 0) continue
      out.push({ buf: a.buf, keys: packKeys(a.keys.splice(0)) })
      a.pos = 0
    }
    this.arenas = []
    this.current = undefined
    return out
  }

  /** Adopts another spool's arena (from takeArenas, e.g. transferred from a worker thread). */
  adoptArena(t: ArenaTransfer, count: number): void {
    const a = new Arena(0)
    a.buf = asBuffer(t.buf)
    a.keys = unpackKeys(t.keys)
    a.pos = a.buf.length
    this.arenas.push(a)
    this.count += count
  }

  /** Writes what is in memory as one more run (a worker thread at the end of its work). */
  async spillAll(): Promise<string[]> {
    for (const a of this.arenas) if (a.keys.length > 0) this.spillArena(a)
    await this.spilling
    return [...this.runs]
  }

  /** Resolves when spilled runs are on disk (callers wait on it to apply backpressure). */
  drained(): Promise<void> {
    return this.spilling
  }

  get spilledRuns(): number {
    return this.runs.length
  }

  private async writeRun(arena: Arena, n: number): Promise<void> {
    const dir = await this.folder()
    const prefix = typeof this.tmpParent === 'string' ? '' : this.tmpParent.prefix
    const path = join(dir, `${prefix}run-${n}.tsv`)
    const handle = await open(path, 'wx', 0o600)
    try {
      const keys = arena.sortedKeys()
      // Rows go out with writev: a header buffer per batch, the lines straight from the arena.
      for (let i = 0; i < keys.length; i += 256) {
        const batch = keys.slice(i, i + 256)
        const headers = batch.map(
          (k) => `${k.t}\t${k.rank}\t${k.flags}\t${asciiJson(k.scope)}\t${asciiJson(k.id)}\t`,
        )
        const head = Buffer.from(headers.join(''), 'latin1')
        const iov: Buffer[] = []
        let off = 0
        batch.forEach((k, j) => {
          const h = headers[j]!.length
          iov.push(head.subarray(off, off + h), arena.line(k), NL)
          off += h
        })
        await handle.writev(iov)
      }
    } finally {
      await handle.close()
    }
    this.runs.push(path)
  }

  /** Every event once, in order, in batches (one await a batch, not one an event). */
  async *sortedBatches(): AsyncGenerator<SpooledLine[]> {
    await this.spilling
    const memory = this.arenas.filter((a) => a.keys.length > 0)
    const sources: Cursor[] = [
      ...this.runs.map((p) => new Cursor(readRunBatches(p))),
      ...memory.map((a) => new Cursor(arenaBatches(a))),
    ]
    await Promise.all(sources.map((c) => c.fill()))
    let out: SpooledLine[] = []
    for (;;) {
      let best = -1
      let bestItem: SpooledLine | undefined
      for (let i = 0; i < sources.length; i++) {
        const h = sources[i]!.head()
        if (h && (!bestItem || compare(h, bestItem) < 0)) {
          best = i
          bestItem = h
        }
      }
      if (!bestItem) break
      const cursor = sources[best]!
      cursor.advance()
      if (cursor.exhaustedBatch()) await cursor.fill()
      if (!this.copies.keep(bestItem)) continue
      out.push(bestItem)
      if (out.length >= 512) {
        this.copies.detach()
        yield out
        out = []
      }
    }
    if (out.length > 0) yield out
  }

  /** Every event once, in order. */
  async *sorted(): AsyncGenerator<SpooledLine> {
    for await (const batch of this.sortedBatches()) yield* batch
  }

  /** Removes the spool's folder; lines handed out by sorted() must not be used after this. */
  async dispose(): Promise<void> {
    for (const a of this.arenas) a.clear()
    this.arenas = []
    if (this.dir && typeof this.tmpParent === 'string') await rm(this.dir, { recursive: true, force: true })
    this.untrack()
  }
}

/** A position in one sorted source, read a batch at a time. */
class Cursor {
  private batch: SpooledLine[] = []
  private i = 0
  private done = false

  constructor(private readonly source: AsyncIterator<SpooledLine[]>) {}

  async fill(): Promise<void> {
    while (!this.done && this.i >= this.batch.length) {
      const r = await this.source.next()
      if (r.done) this.done = true
      else {
        this.batch = r.value
        this.i = 0
      }
    }
  }

  head(): SpooledLine | undefined {
    return this.i < this.batch.length ? this.batch[this.i] : undefined
  }

  advance(): void {
    this.i++
  }

  exhaustedBatch(): boolean {
    return this.i >= this.batch.length && !this.done
  }
}

async function* arenaBatches(arena: Arena): AsyncGenerator<SpooledLine[]> {
  const keys = arena.sortedKeys()
  for (let i = 0; i < keys.length; i += 1024) {
    yield keys.slice(i, i + 1024).map((k) => spooledLine(arena.buf, k))
  }
}

/** Reads a run back a chunk of rows at a time, event lines as bytes (views of the chunk read). */
async function* readRunBatches(path: string): AsyncGenerator<SpooledLine[]> {
  let rest: Buffer = Buffer.alloc(0)
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const rows: SpooledLine[] = []
    let start = 0
    if (rest.length > 0) {
      // Only the row cut by the chunk boundary is copied.
      const nl = chunk.indexOf(0x0a)
      if (nl === -1) {
        rest = Buffer.concat([rest, chunk])
        continue
      }
      const joined = Buffer.concat([rest, chunk.subarray(0, nl)])
      rows.push(parseRow(joined, 0, joined.length))
      start = nl + 1
    }
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      rows.push(parseRow(chunk, start, nl))
      start = nl + 1
    }
    rest = chunk.subarray(start)
    if (rows.length > 0) yield rows
  }
  if (rest.length > 0) yield [parseRow(rest, 0, rest.length)]
}

function parseRow(buf: Buffer, start: number, end: number): SpooledLine {
  const a = buf.indexOf(0x09, start)
  const b = buf.indexOf(0x09, a + 1)
  const c = buf.indexOf(0x09, b + 1)
  // Role names and the id are JSON-encoded, so they hold no tab.
  const d = buf.indexOf(0x09, c + 1)
  const e = buf.indexOf(0x09, d + 1)
  const flags = Number(buf.toString('latin1', b + 1, c))
  return {
    t: Number(buf.toString('latin1', start, a)),
    rank: Number(buf.toString('latin1', a + 1, b)),
    hasFindings: (flags & HAS_FINDINGS) !== 0,
    detectorFlags: flags & ~NOT_DETECTOR,
    malformed: (flags & MALFORMED) !== 0,
    scopeRoles: d - c > 3 ? (JSON.parse(buf.toString('latin1', c + 1, d)) as string) : '',
    id: JSON.parse(buf.toString('latin1', d + 1, e)) as string,
    line: buf.subarray(e + 1, end),
  }
}

/**
 * An arena waiting in the ReorderBuffer, its keys left packed: unpacked, tens of thousands of key
 * objects stayed alive across garbage collections until released, and copying them made the main
 * thread's collections several times dearer than the worker threads'.
 */
interface ArenaCursor {
  buf: Buffer
  keys: PackedKeys
  i: number
}

/** The id of packed key `i`. */
function idAt(p: PackedKeys, i: number): string {
  return p.text.slice(i === 0 ? 0 : p.ends[i * 2 - 1]!, p.ends[i * 2]!)
}

/** Packed key `i` as the spool hands its line out: a view of the arena's buffer. */
function packedLine(buf: Buffer, p: PackedKeys, i: number): SpooledLine {
  const idEnd = p.ends[i * 2]!
  const scopeEnd = p.ends[i * 2 + 1]!
  const start = p.m[i * 4]!
  const flags = p.m[i * 4 + 2]!
  return {
    t: p.t[i]!,
    id: idAt(p, i),
    rank: p.m[i * 4 + 3]!,
    line: buf.subarray(start, start + p.m[i * 4 + 1]!),
    hasFindings: (flags & HAS_FINDINGS) !== 0,
    detectorFlags: flags & ~NOT_DETECTOR,
    malformed: (flags & MALFORMED) !== 0,
    scopeRoles: scopeEnd > idEnd ? p.text.slice(idEnd, scopeEnd) : '',
  }
}

/** An arena's whole buffer, once every line in it is out (see ReorderBuffer.takeFreed). */
function wholeBuffer(buf: Buffer): ArrayBuffer | undefined {
  const ab = buf.buffer
  return ab instanceof ArrayBuffer && buf.byteOffset === 0 ? ab : undefined
}

/** compare() of the two cursors' heads, read from their packed keys (ids only on a tie). */
function headBefore(a: ArenaCursor, b: ArenaCursor): boolean {
  const ta = a.keys.t[a.i]!
  const tb = b.keys.t[b.i]!
  if (ta !== tb) return ta < tb
  const ia = idAt(a.keys, a.i)
  const ib = idAt(b.keys, b.i)
  if (ia !== ib) return ia < ib
  return a.keys.m[a.i * 4 + 3]! < b.keys.m[b.i * 4 + 3]!
}

/** An arena row as the spool hands it out: its line a view of the arena's buffer. */
function spooledLine(buf: Buffer, k: ArenaKey): SpooledLine {
  return {
    t: k.t,
    id: k.id,
    rank: k.rank,
    line: buf.subarray(k.start, k.start + k.len),
    hasFindings: (k.flags & HAS_FINDINGS) !== 0,
    detectorFlags: k.flags & ~NOT_DETECTOR,
    malformed: (k.flags & MALFORMED) !== 0,
    scopeRoles: k.scope,
  }
}

/**
 * The ordered path of an account-wide hunt over trail files. Files are read in delivery order and
 * each batch comes back from its worker thread as a sorted arena; an event is released, in order,
 * once no file still unread or being read can hold an earlier one (the caller's watermark: the
 * earliest pending delivery time, less an allowance). Memory holds only the events between the
 * watermark and the newest file read; nothing is written to disk but the output itself.
 *
 * The watermark is an expectation, not a guarantee (CloudTrail delivers most events within
 * minutes, never promises it): an event that arrives after a later one was released sets `late`,
 * and the caller reads the inputs again the classic way (EventSpool's external sort).
 */
export class ReorderBuffer {
  private readonly heap: ArenaCursor[] = []
  private last: Key | undefined
  private freed: ArrayBuffer[] = []
  /** Bytes of the arenas held. */
  bytes = 0
  count = 0
  late = false
  private readonly copies = new Copies()

  /** Copies of an event dropped by release(). */
  get duplicates(): number {
    return this.copies.duplicates
  }

  /** Records kept though another record had their time and eventID (see Copies). */
  get conflicts(): Copies['conflicts'] {
    return this.copies.conflicts
  }

  add(t: ArenaTransfer): void {
    const n = t.keys.t.length
    if (n === 0) return
    const buf = asBuffer(t.buf)
    this.count += n
    if (this.last && compare({ t: t.keys.t[0]!, id: idAt(t.keys, 0), rank: t.keys.m[3]! }, this.last) < 0)
      this.late = true
    this.bytes += buf.length
    this.push({ buf, keys: t.keys, i: 0 })
  }

  /**
   * Releases, in order, the events earlier than `before` (ms since the epoch; Infinity for all),
   * or while more than `holdBytes` are held; copies of one event (same time and id) once.
   */
  release(before: number, holdBytes = Number.POSITIVE_INFINITY): SpooledLine[] {
    const out: SpooledLine[] = []
    while (this.heap.length > 0) {
      const top = this.heap[0]!
      if (top.keys.t[top.i]! >= before && this.bytes <= holdBytes) break
      const line = packedLine(top.buf, top.keys, top.i)
      top.i++
      if (top.i >= top.keys.t.length) {
        this.bytes -= top.buf.length
        const ab = wholeBuffer(top.buf)
        if (ab) this.freed.push(ab)
        this.pop()
      } else this.siftDown(0)
      // Only its time, id and rank are read (by add): the line's bytes may be overwritten.
      this.last = line
      if (this.copies.keep(line)) out.push(line)
    }
    // The arenas of released lines are reused once the caller has written them.
    this.copies.detach()
    return out
  }

  /**
   * The buffers of arenas whose lines have all been released: free for reuse once those lines
   * are written (fresh memory is slow to touch on some machines; these pages are warm).
   */
  takeFreed(): ArrayBuffer[] {
    return this.freed.splice(0)
  }

  private push(c: ArenaCursor): void {
    const h = this.heap
    h.push(c)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!headBefore(h[i]!, h[parent]!)) break
      ;[h[i], h[parent]] = [h[parent]!, h[i]!]
      i = parent
    }
  }

  private pop(): void {
    const h = this.heap
    const lastItem = h.pop()!
    if (h.length === 0) return
    h[0] = lastItem
    this.siftDown(0)
  }

  private siftDown(i: number): void {
    const h = this.heap
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && headBefore(h[l]!, h[m]!)) m = l
      if (r < h.length && headBefore(h[r]!, h[m]!)) m = r
      if (m === i) return
      ;[h[i], h[m]] = [h[m]!, h[i]!]
      i = m
    }
  }
}

/**
 * Copies of one event as the merge meets them (they sort next to each other: the same time and
 * eventID). A copy is the same record read twice (overlapping files, LookupEvents and a trail
 * file): dropped. Two records that claim one eventID but say different things (another call,
 * caller, address, parameters or response) are not copies of one event: an altered copy of a trail
 * file or a forged record would otherwise replace the real one, which of the two depending on the
 * order the sources were named. Both are kept, and counted as conflicts.
 *
 * Every record of one time and eventID is compared with every distinct record of that group kept
 * so far, not only with the line before it: with the real record, an altered copy and the real
 * record again, the second real one is a copy whatever the order of --source. Only the group being
 * read is held (the first line, and a fingerprint of each distinct record once a group has two
 * lines), so memory does not grow with the run.
 */
export class Copies {
  duplicates = 0
  /** How many records were kept beside another with their time and eventID; the first few ids. */
  readonly conflicts = { count: 0, ids: [] as string[] }
  private t = Number.NaN
  private id = ''
  /** The group's first line (a byte-equal copy of it is dropped without parsing). */
  private line: Buffer | undefined
  /** Fingerprints of the group's distinct records (see recordFingerprint), once it has two lines. */
  private seen: Set<string> | undefined

  /** Whether `item`, the next line in order, is kept (false: a copy of a record already kept). */
  keep(item: { t: number; id: string; line: Buffer }): boolean {
    if (this.line === undefined || this.t !== item.t || this.id !== item.id) {
      this.t = item.t
      this.id = item.id
      this.line = item.line
      this.seen = undefined
      return true
    }
    if (this.line.equals(item.line)) {
      this.duplicates++
      return false
    }
    if (!this.seen) {
      this.seen = new Set([recordFingerprint(this.line)])
      this.line = Buffer.from(this.line)
    }
    const fingerprint = recordFingerprint(item.line)
    if (this.seen.has(fingerprint)) {
      this.duplicates++
      return false
    }
    if (this.seen.size < MAX_GROUP_RECORDS) this.seen.add(fingerprint)
    this.conflicts.count++
    if (this.conflicts.ids.length < 5 && !this.conflicts.ids.includes(item.id))
      this.conflicts.ids.push(item.id)
    return true
  }

  /** The lines handed out may be overwritten once written: the group's first line is kept as a copy. */
  detach(): void {
    if (this.line && !this.seen) this.line = Buffer.from(this.line)
  }
}

/**
 * Distinct records of one time and eventID whose fingerprints a group holds: past it (a file of
 * forged records, all claiming one id), a later copy of one not held is kept, and counted as a
 * conflict, rather than memory growing without bound.
 */
const MAX_GROUP_RECORDS = 10_000

/**
 * What makes two stored lines of one eventID the same CloudTrail record (Copies keeps one), hashed:
 * the SHA-256 of its `raw` record in canonical JSON (RFC 8785), whatever the order of its keys (a
 * LookupEvents copy of a trail file's record differs in origin and layout), or of its bytes when
 * it does not parse (then only a byte-equal line matches). Every field counts: a copy that differs
 * only in its user agent, MFA flag or session context decides what the rules flag (a call from
 * outside Lambda), and keeping whichever copy was named first made the findings depend on the
 * order of --source. Only the eventTime is read for what it means, the instant it names: a trail
 * file's `2025-03-01T10:00:00Z` and another source's `2025-03-01T10:00:00.000Z` are one time (the
 * merge groups lines by that instant), and the same record spelt both ways was counted as a conflict.
 */
export function recordFingerprint(line: Buffer): string {
  try {
    return `r${createHash('sha256')
      .update(canonicalJson(rawOf(line)))
      .digest('base64')}`
  } catch {
    return `b${createHash('sha256').update(line).digest('base64')}`
  }
}

function rawOf(line: Buffer): unknown {
  const raw = (JSON.parse(line.toString()) as { raw?: unknown }).raw ?? null
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw
  const t = eventTimeMs(raw as Record<string, unknown>)
  return Number.isNaN(t) ? raw : { ...raw, eventTime: new Date(t).toISOString() }
}
