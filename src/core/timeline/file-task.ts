import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { inheritedDescriptor } from '../common/paths.js'
import type { RulePack } from './detections.js'
import {
  acceptRecord,
  asBuffer,
  checkGzipCrc,
  type DecodedInput,
  decodeText,
  foreignInput,
  gunzipDeferred,
  InflateScratch,
  InflateTooLarge,
  InputRefused,
  isGzip,
  refusedInput,
} from './input.js'
import {
  buildEvent,
  type KeptLine,
  keptLine,
  oneLineText,
  type RawBytesKnown,
  selectRecord,
} from './process.js'
import {
  mayHoldIamEvents,
  Prefilter,
  Relatedness,
  type RelatedReason,
  type TimelineTarget,
} from './related.js'
import { isSpace, LeadingBom, RecordSplitter, SplitError, splitTrailFile, withoutBom } from './split.js'
import type { SkipReason, TimeWindow } from './types.js'

type Rec = Record<string, unknown>

/**
 * The deepest nesting of objects and arrays a kept record may have. CloudTrail's deepest records
 * (request parameters of a few APIs) are about 15 levels deep; this leaves room and keeps every
 * recursive step that follows (serialising, exports, rules) well inside the smallest stack.
 */
export const MAX_RECORD_DEPTH = 200

/** Whether objects and arrays nest deeper than `limit` in `value` (it stops looking at the limit). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false
  if (limit === 0) return true
  if (Array.isArray(value)) {
    for (const v of value)
      if (v !== null && typeof v === 'object' && nestedDeeperThan(v, limit - 1)) return true
    return false
  }
  for (const k in value) {
    const v = (value as Rec)[k]
    if (v !== null && typeof v === 'object' && nestedDeeperThan(v, limit - 1)) return true
  }
  return false
}

/** Inputs larger than this (on disk or as downloaded) are streamed record by record. */
export const STREAM_THRESHOLD_BYTES = 48 * 1024 * 1024

/**
 * A streamed gzip input that has inflated to more than BOMB_MIN_BYTES and more than BOMB_RATIO
 * times the bytes read is a gzip bomb (deflate reaches about 1000:1 on repeated bytes; CloudTrail's
 * JSON compresses about 10:1): it is cut short rather than read for minutes.
 */
const BOMB_RATIO = 200
const BOMB_MIN_BYTES = 256 * 1024 * 1024

/** One input for the file pipeline: a local path (read by the worker) or bytes already fetched. */
export interface FileTask {
  seq: number
  /** The path or s3:// URI shown in the summary. */
  display: string
  origin: 'file' | 's3'
  path?: string
  data?: Uint8Array
  /** Size in bytes (on disk or as downloaded) when known (-1 or absent: the worker looks). */
  size?: number
  /**
   * A pipe or device named as a source (`--source <(zcat …)`, `/dev/stdin`): no size, no seeking,
   * and its bytes can be read only once, so it is always streamed (memory stays bounded).
   */
  pipe?: boolean
  /**
   * Where the input's bytes are also written, as read (a pipe: it cannot be read again, and the
   * case keeps what was analysed). The file must not exist.
   */
  copyTo?: string
}

/**
 * `related`: a function is given; the worker pre-filters bytes, parses only what can match, and
 * returns the related raw records (the main thread builds the events).
 * `all`: an account-wide hunt; the worker normalises every event in the window, runs the
 * stateless rules and returns ready lines, plus the records the detector must see.
 */
export type PipelineMode = 'related' | 'all'

export interface PipelineSetup {
  mode: PipelineMode
  window: TimeWindow
  target: TimelineTarget | null
  firRequestIds: string[]
  ruleDirs: string[]
  /** Whether the run has AWS's address ranges (`--aws-ip-ranges`; unsaid: may have): see loadRulePack. */
  awsIpRanges?: boolean
  /**
   * Account-wide hunts: worker threads keep their events in their own spool and write sorted runs
   * into this folder, which the main thread merges at the end (the main thread would otherwise
   * receive, hold and sort every line itself).
   */
  spoolDir?: string
  /** Memory each worker's spool may hold before it writes a sorted run. */
  spoolBytesPerThread?: number
}

export interface RelatedRecord {
  t: number
  id: string
  reasons: RelatedReason[]
  record: Rec
}

/** What one input gave; large inputs send their events in several parts before this. */
export interface FileResult {
  seq: number
  display: string
  origin: 'file' | 's3'
  bytes: number
  uncompressedBytes: number
  /** CloudTrail records read (parsed) from the input. */
  records: number
  kept: number
  outsideWindow: number
  unrelated: number
  skipped: Partial<Record<SkipReason, number>>
  refused?: { reason: SkipReason; message: string }
  /** A streamed input that failed after some of its records were read (they are kept): why. */
  cutShort?: { reason: SkipReason; message: string }
  /** The pre-filter showed nothing in the input can relate: it was not parsed. */
  prefiltered: boolean
  format?: DecodedInput['format']
  lines: KeptLine[]
  related: RelatedRecord[]
}

export interface FilePart {
  origin: 'file' | 's3'
  lines: KeptLine[]
  related: RelatedRecord[]
}

/** The per-thread state of the file pipeline: relatedness, pre-filter, rules. */
export class FileProcessor {
  private readonly relatedness: Relatedness | null
  private readonly prefilter: Prefilter | null
  private readonly firIds: ReadonlySet<string>
  private scratch = Buffer.allocUnsafeSlow(1 << 20)
  /** A function's run keeps parsed records only (no raw bytes): its inputs inflate into one buffer. */
  private readonly inflated: InflateScratch | undefined

  constructor(
    readonly setup: PipelineSetup,
    private readonly pack: RulePack | null,
    /** Where ready lines go instead of the result (a worker's own spool). */
    private readonly lineSink?: (line: KeptLine) => void,
  ) {
    this.firIds = new Set(setup.firRequestIds)
    this.relatedness = setup.target ? new Relatedness(setup.target, this.firIds) : null
    this.prefilter =
      this.relatedness && setup.mode === 'related' ? Prefilter.for(this.relatedness, this.firIds) : null
    this.inflated = setup.mode === 'related' ? new InflateScratch() : undefined
  }

  /** `rawKnown`: what is known of rawBytes already (see keptLine). */
  private take(
    record: Rec,
    result: FileResult,
    sink: FilePart,
    rawBytes?: Buffer,
    rawKnown: RawBytesKnown = undefined,
  ): void {
    result.records++
    const sel = selectRecord(record, this.setup.window, this.relatedness)
    if (sel === 'outside-window') {
      result.outsideWindow++
      return
    }
    if (sel === 'unrelated') {
      result.unrelated++
      return
    }
    // JSON.parse reads any depth; what stores, exports and matches an event recurses, and a record
    // nested thousands deep overflowed the stack and ended the run (exit 1). It is bad input, as a
    // record without a time is: skipped, and not counted as read (every record read is kept,
    // outside the window or unrelated: the summary's counts add up).
    if (nestedDeeperThan(record, MAX_RECORD_DEPTH)) {
      result.records--
      result.skipped['too-deep'] = (result.skipped['too-deep'] ?? 0) + 1
      return
    }
    result.kept++
    if (this.setup.mode === 'related') {
      sink.related.push({ t: sel.t, id: sel.id, reasons: sel.reasons, record })
      return
    }
    const { event, detector, malformed } = buildEvent(
      record,
      result.origin,
      sel.t,
      sel.id,
      this.firIds,
      this.pack,
    )
    const line = keptLine(event, sel.t, detector, rawBytes, rawKnown, malformed)
    if (this.lineSink) this.lineSink(line)
    else sink.lines.push(line)
  }

  /** Processes one input: read whole when small (trail files are), streamed when large. */
  async process(task: FileTask, emit: (part: FilePart) => void): Promise<FileResult> {
    if (task.path === undefined || task.data) return this.wholeOrStream(task, emit)
    if (task.pipe || (task.size ?? -1) > STREAM_THRESHOLD_BYTES) return this.processStream(task, emit)
    // Open once and read into this thread's scratch buffer: a file that fills it is large, and is
    // streamed instead (no fstat per file: most trail files are a few kilobytes).
    let data: Buffer | undefined
    let fd: number | undefined
    try {
      fd = openSync(task.path, 'r')
      let off = 0
      for (;;) {
        if (off === this.scratch.length) {
          if (off >= STREAM_THRESHOLD_BYTES) {
            closeSync(fd)
            fd = undefined
            return this.processStream(task, emit)
          }
          const bigger = Buffer.allocUnsafeSlow(Math.min(STREAM_THRESHOLD_BYTES, this.scratch.length * 2))
          this.scratch.copy(bigger, 0, 0, off)
          this.scratch = bigger
        }
        const want = this.scratch.length - off
        const n = readSync(fd, this.scratch, off, want, off)
        off += n
        // A regular file's short read is its end: no extra read to see 0.
        if (n === 0 || n < want) break
      }
      data = this.scratch.subarray(0, off)
    } catch {
      data = undefined // processWhole reports the unreadable file
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
    return this.wholeOrStream(data ? { ...task, data } : task, emit)
  }

  /** processWhole, or processStream when the input inflates to more than is read whole. */
  private async wholeOrStream(task: FileTask, emit: (part: FilePart) => void): Promise<FileResult> {
    const result = this.readWhole(task, true)
    // The bytes read (this thread's scratch buffer, or the download) are the stream's source.
    return result === 'stream' ? this.processStream(task, emit) : result
  }

  /**
   * Processes one input read whole (the usual case: trail files are small). One that inflates to
   * more than WHOLE_INFLATE_MAX is refused as too large (process() streams it instead).
   */
  processWhole(task: FileTask): FileResult {
    return this.readWhole(task, false) as FileResult
  }

  private readWhole(task: FileTask, mayStream: boolean): FileResult | 'stream' {
    const result = emptyResult(task)
    let buf: Uint8Array
    try {
      buf = task.data ?? readFileSync(task.path!)
    } catch (err) {
      return {
        ...result,
        ...refusedInput(new InputRefused('unreadable', (err as Error).message), 0),
        records: 0,
      }
    }
    result.bytes = buf.length
    let bytes: Buffer
    let expectedCrc: number | undefined
    try {
      if (isGzip(buf)) ({ data: bytes, expectedCrc } = gunzipDeferred(buf, this.inflated))
      else bytes = asBuffer(buf)
    } catch (err) {
      if (mayStream && err instanceof InflateTooLarge) return 'stream'
      const r = refusedInput(err, 0)
      result.skipped = r.skipped
      result.refused = r.refused
      return result
    }
    result.uncompressedBytes = bytes.length
    const iamPossible = mayHoldIamEvents(task.display)
    // Only what may be a log is ruled out unparsed: anything else (a wrong file, JSON that holds no
    // record, junk in place of a log) goes on to be refused as what it is, as an account-wide hunt
    // refuses it, not counted as read and unrelated.
    if (
      this.prefilter &&
      startsLikeJson(bytes) &&
      !this.prefilter.mayMatch(bytes, iamPossible) &&
      mayHoldRecords(bytes)
    ) {
      // Nothing in it can relate (its deflate stream and length were checked; the CRC-32 guards
      // data that is used, below).
      result.prefiltered = true
      return result
    }
    let decoded: DecodedInput
    let raw: (Buffer | undefined)[] | undefined
    let rawKnown: RawBytesKnown
    try {
      checkGzipCrc(bytes, expectedCrc)
      // A trail file's records are parsed one by one: a hunt stores each one's bytes as read; a
      // function's run parses only the records that pass the pre-filter themselves (most of a
      // file that passes is other calls), the others count as read and unrelated, as in a
      // streamed input.
      const prefilter = this.prefilter
      const trail =
        this.setup.mode === 'all'
          ? decodeTrailRecords(bytes)
          : prefilter
            ? decodeTrailRecords(bytes, (slice) => prefilter.mayMatch(slice, iamPossible))
            : undefined
      if (trail) {
        ;({ decoded, raw, known: rawKnown } = trail)
        result.records += trail.ruledOut
        result.unrelated += trail.ruledOut
      } else decoded = decodeText(bytes.toString('utf8'))
    } catch (err) {
      const r = refusedInput(misnamedGzip(err, task.display, buf), bytes.length)
      result.skipped = r.skipped
      result.refused = r.refused
      return result
    }
    result.skipped = decoded.skipped
    result.format = decoded.format
    const records = decoded.records
    for (let i = 0; i < records.length; i++) this.take(records[i]!, result, result, raw?.[i], rawKnown)
    return result
  }

  /**
   * Processes a large input as a stream, record by record, in bounded memory; `emit` receives
   * the events in parts as they are found.
   */
  async processStream(task: FileTask, emit: (part: FilePart) => void, partSize = 2000): Promise<FileResult> {
    const result = emptyResult(task)
    let part: FilePart = { origin: task.origin, lines: [], related: [] }
    const flush = () => {
      if (part.lines.length + part.related.length === 0) return
      emit(part)
      part = { origin: task.origin, lines: [], related: [] }
    }
    const decoded: DecodedInput = { records: [], skipped: result.skipped }
    const lineMode = /\.(jsonl|ndjson)(\.gz)?$/i.test(task.display)
    const iamPossible = mayHoldIamEvents(task.display)
    // A document with a Records array was read (JSON Lines of trail files): what is skipped is items.
    let trailDocuments = false
    const onSlice = (slice: Buffer, kind: 'record' | 'document') => {
      if (this.prefilter && !this.prefilter.mayMatch(slice, iamPossible) && mayHoldRecords(slice)) {
        result.records++
        result.unrelated++
        return
      }
      let value: unknown
      try {
        value = JSON.parse(slice.toString('utf8'))
      } catch {
        result.skipped['invalid-json'] = (result.skipped['invalid-json'] ?? 0) + 1
        return
      }
      if (
        kind === 'document' &&
        value &&
        typeof value === 'object' &&
        Array.isArray((value as Rec).Records)
      ) {
        trailDocuments = true
        for (const item of (value as Rec).Records as unknown[]) acceptRecord(item, decoded)
      } else acceptRecord(value, decoded)
      for (const record of decoded.records) this.take(record, result, part)
      decoded.records.length = 0
      if (part.lines.length + part.related.length >= partSize) flush()
    }
    const splitter = new RecordSplitter(onSlice)
    const lineBom = new LeadingBom()
    let pending: Buffer = Buffer.alloc(0)
    let copy: number | undefined
    try {
      // 0600 as every file in a case (FILE_MODE of common/fs-safe.ts, which loads node:crypto: a
      // worker thread starts without it).
      if (task.copyTo) copy = openSync(task.copyTo, 'wx', 0o600)
      const stream = await decompressedStream(task.data ?? task.path!, (chunk) => {
        result.bytes += chunk.length
        if (copy !== undefined) writeSync(copy, chunk)
      })
      for await (const raw of stream) {
        result.uncompressedBytes += raw.length
        if (
          result.uncompressedBytes > BOMB_MIN_BYTES &&
          result.uncompressedBytes > BOMB_RATIO * result.bytes
        ) {
          throw new SplitError(
            `it inflates to more than ${BOMB_RATIO} times its size (${result.bytes} bytes read gave ${result.uncompressedBytes}): a gzip bomb, not a log`,
            'too-large',
          )
        }
        if (lineMode) {
          const data = lineBom.skip(raw)
          pending = this.feedLines(pending.length ? Buffer.concat([pending, data]) : data, onSlice)
        } else splitter.feed(raw)
      }
      if (lineMode) {
        pending = Buffer.concat([lineBom.held, pending])
        if (pending.length > 0) this.feedLines(Buffer.concat([pending, Buffer.from('\n')]), onSlice)
      } else {
        splitter.end()
        // What the whole-input reader refuses (decodeText) is refused here too, not passed over.
        // (One that does not start with a JSON value was refused as soon as that was seen.)
        if (splitter.values === 0) throw new SplitError('the file is empty')
        if (splitter.junk > 0)
          result.skipped['invalid-json'] = (result.skipped['invalid-json'] ?? 0) + splitter.junk
        if (splitter.notRecords > 0)
          result.skipped['not-cloudtrail'] = (result.skipped['not-cloudtrail'] ?? 0) + splitter.notRecords
      }
      // As the whole-input reader does: what holds no record and nothing of CloudTrail's is
      // refused as not CloudTrail, not read as an empty log (its items are the refusal's detail),
      // inside a Records or Events array too.
      const foreign = foreignInput(
        result.records,
        result.skipped,
        lineMode ? 'the JSON Lines file' : 'the JSON',
        lineMode && !trailDocuments ? 'line' : 'item',
      )
      if (foreign) {
        result.skipped = {}
        throw new InputRefused('not-cloudtrail', foreign)
      }
    } catch (err) {
      // zlib's errors carry a Z_ code; anything else is not the gzip's fault (an error a record
      // raised was once called corrupt-gzip, on a plain JSON pipe).
      const code = (err as { code?: unknown }).code
      const reason: SkipReason =
        err instanceof SplitError || err instanceof InputRefused
          ? err.reason
          : typeof code === 'string' && code.startsWith('Z_')
            ? 'corrupt-gzip'
            : 'unreadable'
      result.skipped[reason] = (result.skipped[reason] ?? 0) + 1
      if (result.records === 0) result.refused = { reason, message: (err as Error).message }
      else result.cutShort = { reason, message: (err as Error).message }
    }
    if (copy !== undefined) closeSync(copy)
    flush()
    result.format = lineMode ? 'jsonl' : decoded.format
    return result
  }

  private feedLines(buf: Buffer, onSlice: (slice: Buffer, kind: 'record' | 'document') => void): Buffer {
    let start = 0
    for (;;) {
      const nl = buf.indexOf(0x0a, start)
      if (nl === -1) break
      // Each line may begin with a BOM (JSON Lines files concatenated, each begun with one).
      const line = withoutBom(buf.subarray(start, nl))
      start = nl + 1
      if (line.length > 0 && !line.every(isSpace)) onSlice(line, 'document')
    }
    if (buf.length - start > 64 * 1024 * 1024) {
      throw new SplitError('a single JSON line is larger than 64 MiB', 'too-large')
    }
    return buf.subarray(start)
  }
}

const EVENT_TIME = Buffer.from('eventTime')

/**
 * Whether bytes may hold a CloudTrail record: every record has an `eventTime` (a LookupEvents
 * item too, in its CloudTrailEvent string: `\"eventTime\"`). Bytes without one are decoded rather
 * than ruled out by the pre-filter, and what is not a record is refused or skipped as such (a key
 * spelt with JSON escapes costs a parse, never a record). A trail file has it in its first record.
 */
function mayHoldRecords(bytes: Buffer): boolean {
  return bytes.indexOf(EVENT_TIME) !== -1
}

/** Whether the first byte that is not white space (a UTF-8 byte order mark skipped) opens a JSON value. */
function startsLikeJson(bytes: Buffer): boolean {
  const text = withoutBom(bytes)
  let i = 0
  while (i < text.length && isSpace(text[i]!)) i++
  return text[i] === 0x7b || text[i] === 0x5b
}

/**
 * A trail file's records parsed one by one, with each record's bytes (see splitTrailFile; `raw[i]`
 * are the bytes of `decoded.records[i]`), and how many records `keep` ruled out unparsed;
 * undefined when the file is not in CloudTrail's own minified shape or a parsed slice does not
 * parse (the caller then decodes the whole text). Records are accepted, and a file of no record
 * refused (InputRefused), exactly as decodeText would. `known`: the whole file is one line of ASCII
 * or of valid UTF-8, so every record's bytes are (checked once for the file rather than for each
 * of its records).
 */
function decodeTrailRecords(
  bytes: Buffer,
  keep?: (slice: Buffer) => boolean,
):
  | { decoded: DecodedInput; raw: (Buffer | undefined)[]; ruledOut: number; known: RawBytesKnown }
  | undefined {
  // Slices `keep` rules out are not parsed, so nothing would show one that spans two documents
  // (JSON Lines of trail files: `…]}\n{"Records":[…`), and it would count as one record: each line
  // is split as a trail file of its own (CloudTrail's minified file has no raw line break).
  const slices = keep ? splitTrailLines(bytes) : splitTrailFile(bytes)
  if (!slices) return undefined
  const decoded: DecodedInput = { records: [], skipped: {}, format: 'trail' }
  const raw: (Buffer | undefined)[] = []
  const known = keep ? undefined : oneLineText(bytes)
  let ruledOut = 0
  for (const slice of slices) {
    // Only what may be a record is ruled out unparsed (as in a streamed input): an item that is not
    // one is counted as such, and a Records array of nothing else is refused, not read as unrelated.
    if (keep && !keep(slice) && mayHoldRecords(slice)) {
      ruledOut++
      continue
    }
    let value: unknown
    try {
      value = JSON.parse(slice.toString('utf8'))
    } catch {
      return undefined
    }
    const before = decoded.records.length
    acceptRecord(value, decoded)
    for (let i = before; i < decoded.records.length; i++)
      raw.push(decoded.records[i] === value ? slice : undefined)
  }
  // As decodeText refuses it (InputRefused, which the caller reports).
  const foreign = foreignInput(
    decoded.records.length + ruledOut,
    decoded.skipped,
    'the Records array',
    'item',
  )
  if (foreign) throw new InputRefused('not-cloudtrail', foreign)
  return { decoded, raw, ruledOut, known }
}

/** splitTrailFile of each line (one line: the file itself); undefined when any line is not a trail file. */
function splitTrailLines(bytes: Buffer): Buffer[] | undefined {
  let nl = bytes.indexOf(0x0a)
  if (nl === -1) return splitTrailFile(bytes)
  const out: Buffer[] = []
  for (let start = 0; start < bytes.length; nl = bytes.indexOf(0x0a, start)) {
    const end = nl === -1 ? bytes.length : nl
    const line = bytes.subarray(start, end)
    start = end + 1
    if (line.every(isSpace)) continue
    const slices = splitTrailFile(line)
    if (!slices) return undefined
    for (const s of slices) out.push(s)
  }
  return out
}

/**
 * A file named .gz whose bytes are neither gzip nor JSON is refused as corrupt gzip, which says
 * more than "not valid JSON" (it is read as text first: a log saved under the wrong name is read).
 */
function misnamedGzip(err: unknown, display: string, buf: Uint8Array): unknown {
  if (!(err instanceof InputRefused) || err.reason !== 'invalid-json') return err
  if (!/\.gz$/i.test(display) || isGzip(buf)) return err
  return new InputRefused(
    'corrupt-gzip',
    `named .gz but its bytes are not gzip data (nor JSON: ${err.message})`,
  )
}

/**
 * A read stream on a path. A descriptor fir was handed that is a socket (Node.js and other
 * runtimes give a child its stdin as one) cannot be opened by name (ENXIO), and a file read of it
 * fails with EAGAIN whenever the writer is slower than fir: it is read as the socket it is.
 */
async function openInput(path: string): Promise<Readable> {
  const fd = inheritedDescriptor(path)
  let socket = false
  try {
    socket = fd !== undefined && fstatSync(fd).isSocket()
  } catch {
    // Not open here: the path is opened by name and its error reported.
  }
  return socket
    ? new (await import('node:net')).Socket({ fd: fd!, readable: true, writable: false, allowHalfOpen: true })
    : createReadStream(path, { highWaterMark: 1024 * 1024 })
}

/**
 * A file's bytes as a stream, gunzipped when they start with gzip's magic bytes. The file is opened
 * and read once (a pipe cannot be read twice): its first bytes decide, then go on with the rest.
 * `read` is given each chunk as it comes from the file; a read or gzip error ends the stream with it.
 */
async function decompressedStream(
  source: string | Uint8Array,
  read: (chunk: Buffer) => void,
): Promise<AsyncIterable<Buffer>> {
  // Loaded here: most runs stream nothing, and a worker thread starts sooner without them.
  const { pipeline, Readable } = await import('node:stream')
  const input = typeof source === 'string' ? await openInput(source) : Readable.from([asBuffer(source)])
  const chunks = input[Symbol.asyncIterator]()
  let head = Buffer.alloc(0)
  let done = false
  while (head.length < 2 && !done) {
    const r = await chunks.next()
    if (r.done) done = true
    else {
      read(r.value)
      head = head.length ? Buffer.concat([head, r.value]) : r.value
    }
  }
  const all = Readable.from(
    (async function* () {
      try {
        if (head.length > 0) yield head
        if (done) return
        for (;;) {
          const r = await chunks.next()
          if (r.done) return
          read(r.value)
          yield r.value as Buffer
        }
      } finally {
        // Ended early (a refused record, an error further on): the file is closed now, not at GC.
        await chunks.return?.()
      }
    })(),
    { objectMode: false },
  )
  if (!isGzip(head)) return all
  // pipeline: an error on either side destroys both, and the reader below sees it.
  return pipeline(all, createGunzip({ chunkSize: 1024 * 1024 }), () => undefined)
}

/**
 * A result as it travels back from a worker: empty lists, zero counts and what the main thread
 * already knows (display, origin) left out — most inputs are ruled out whole, and posting a full
 * object for each cost more than reading it.
 */
export type CompactResult = Partial<FileResult> & { seq: number }

export function compactResult(r: FileResult): CompactResult {
  const out: CompactResult = { seq: r.seq }
  // for…in, not Object.entries: no key/value arrays for each of thousands of results.
  for (const k in r) {
    if (k === 'seq' || k === 'display' || k === 'origin') continue
    const v = (r as unknown as Record<string, unknown>)[k]
    if (v === 0 || v === false || v === undefined) continue
    if (Array.isArray(v) && v.length === 0) continue
    if (k === 'skipped' && isEmpty(v as object)) continue
    ;(out as Record<string, unknown>)[k] = v
  }
  return out
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false
  return true
}

export function expandResult(c: CompactResult, task: { display: string; origin: 'file' | 's3' }): FileResult {
  return { ...emptyResult({ ...task, seq: c.seq }), ...c, display: task.display, origin: task.origin }
}

/** What an input gave before anything was read from it (and what compactResult leaves out). */
function emptyResult(task: Pick<FileTask, 'seq' | 'display' | 'origin'>): FileResult {
  return {
    seq: task.seq,
    display: task.display,
    origin: task.origin,
    bytes: 0,
    uncompressedBytes: 0,
    records: 0,
    kept: 0,
    outsideWindow: 0,
    unrelated: 0,
    skipped: {},
    prefiltered: false,
    lines: [],
    related: [],
  }
}
