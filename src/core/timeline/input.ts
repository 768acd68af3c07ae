import { constants as bufferConstants } from 'node:buffer'
import { constants, crc32, gunzipSync, InflateRaw, inflateRawSync } from 'node:zlib'
import { jsonSyntaxProblem } from '../common/json-syntax.js'
import { eventTimeMs } from './normalise.js'
import type { SkipReason } from './types.js'

type Rec = Record<string, unknown>

/** Records found in one input, and what was skipped in it (by reason). */
export interface DecodedInput {
  records: Rec[]
  skipped: Partial<Record<SkipReason, number>>
  /** Set when the whole input was refused (the reason is also counted in `skipped`). */
  refused?: { reason: SkipReason; message: string }
  /** The input's shape, for the run summary. */
  format?: 'trail' | 'lookup-events' | 'array' | 'jsonl' | 'record'
}

export class InputRefused extends Error {
  constructor(
    readonly reason: SkipReason,
    message: string,
  ) {
    super(message)
  }
}

/**
 * The most a whole input (read into memory at once) may inflate to. A trail file is a few
 * megabytes; a small gzip file can inflate a thousandfold (a gzip bomb: 3 MB of spaces made 3 GB,
 * and the run died out of memory). What inflates to more is read as a stream, in bounded memory.
 */
export const WHOLE_INFLATE_MAX = 128 * 1024 * 1024

/** A gzip input inflates to more than the whole-input reader takes (see WHOLE_INFLATE_MAX). */
export class InflateTooLarge extends InputRefused {
  constructor(limit: number) {
    super('too-large', `it inflates to more than ${limit} bytes`)
  }
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b
}

/**
 * Gunzips a whole buffer. Faster than zlib.gunzipSync for many small files (it inflates the
 * deflate body directly) yet as strict: the header is checked, then the CRC-32 and the length in
 * the trailer. Anything unusual (several members) goes to zlib's own gunzip. Data that inflates
 * to more than WHOLE_INFLATE_MAX is refused (InflateTooLarge): read such an input as a stream.
 */
export function gunzipStrict(buf: Uint8Array): Buffer {
  const { data, expectedCrc } = gunzipDeferred(buf)
  if (expectedCrc !== undefined && crc32(data) !== expectedCrc) {
    throw new InputRefused('corrupt-gzip', 'the gzip CRC-32 check failed')
  }
  return data
}

/** Throws InputRefused('corrupt-gzip') unless `data` has the CRC-32 the gzip trailer announced. */
export function checkGzipCrc(data: Buffer, expectedCrc: number | undefined): void {
  if (expectedCrc !== undefined && crc32(data) !== expectedCrc) {
    throw new InputRefused('corrupt-gzip', 'the gzip CRC-32 check failed')
  }
}

/** The same bytes as a Buffer, not copied (bytes from another thread or a download arrive as Uint8Array). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** The most an inflater allocates before it has seen the data (a gzip trailer's length can lie). */
const FIRST_OUTPUT_MAX = 64 * 1024 * 1024
/** The largest buffer an InflateScratch keeps between inputs (a larger input gets its own). */
const SCRATCH_KEEP_MAX = 64 * 1024 * 1024

/**
 * Where an inflater may write, reused from one input to the next: the data it returns is then a
 * view of this buffer, valid until the next input inflated into it (for callers that do not keep
 * the bytes, e.g. a function-scoped run, which keeps parsed records only).
 */
export class InflateScratch {
  private buf: Buffer = Buffer.allocUnsafeSlow(1 << 20)

  /** A buffer of at least `size` bytes: this one (grown up to SCRATCH_KEEP_MAX), else a new one. */
  take(size: number): Buffer {
    if (size <= this.buf.length) return this.buf
    if (size > SCRATCH_KEEP_MAX) return Buffer.allocUnsafeSlow(size)
    this.buf = Buffer.allocUnsafeSlow(Math.min(SCRATCH_KEEP_MAX, Math.max(size, this.buf.length * 2)))
    return this.buf
  }
}

/** The native half of a zlib stream, as zlib's own synchronous calls drive it. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void
  reset(): void
  close(): void
  onerror: (message: string, errno: number) => void
}

/**
 * A raw-deflate inflater that keeps one zlib stream for the thread and resets it between inputs.
 * zlib.inflateRawSync builds a stream object (a Transform, its buffers and listeners) and a native
 * context for every call, which costs about as much as inflating a 50 KB trail file, and a run
 * reads thousands. Node has no public reusable synchronous inflater, so this drives the stream's
 * native handle the way zlib's own synchronous functions do (`_handle.writeSync`, results in
 * `_writeState`, errors through `onerror`); where that handle is not there (another runtime or
 * version), every call goes to inflateRawSync.
 */
export class RawInflater {
  private handle: ZlibHandle | undefined
  private state: Uint32Array | undefined
  private failure: string | undefined

  /** `reuse: false`: every call goes to inflateRawSync (the path taken where there is no handle). */
  constructor(private readonly reuse = true) {
    this.open()
  }

  /** Whether inputs go through the one reused stream (the fast path) rather than inflateRawSync. */
  get reusing(): boolean {
    return this.handle !== undefined
  }

  private open(): void {
    this.handle = undefined
    if (!this.reuse) return
    const stream = new InflateRaw() as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown }
    const handle = stream._handle
    const state = stream._writeState
    if (
      !handle ||
      typeof handle.writeSync !== 'function' ||
      typeof handle.reset !== 'function' ||
      typeof handle.close !== 'function' ||
      !(state instanceof Uint32Array) ||
      state.length !== 2
    )
      return
    // zlib reports a failed write through this callback (the stream object is left alone).
    handle.onerror = (message: string) => {
      this.failure = message
    }
    this.handle = handle as ZlibHandle
    this.state = state
  }

  /**
   * Inflates the raw deflate stream at the start of `input` (bytes after its end are left alone).
   * `sizeHint`: the expected output size; `into`: write there instead of a new buffer. Returns the
   * data and how many input bytes the stream took. Throws Error(zlib's message) on bad data.
   */
  inflate(
    input: Buffer,
    sizeHint: number,
    into?: InflateScratch,
    maxOutput = WHOLE_INFLATE_MAX,
  ): { data: Buffer; used: number } {
    const handle = this.handle
    const state = this.state
    // One byte more than allowed: output that fills it is too large.
    const limit = Math.min(maxOutput + 1, bufferConstants.MAX_LENGTH)
    if (!handle || !state) {
      const chunkSize = Math.min(Math.max(sizeHint + 1024, 16 * 1024), FIRST_OUTPUT_MAX)
      let res: { buffer: Buffer; engine: { bytesWritten: number } }
      try {
        res = inflateRawSync(input, {
          info: true,
          finishFlush: constants.Z_FINISH,
          chunkSize,
          maxOutputLength: maxOutput,
        }) as unknown as typeof res
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
          throw new InflateTooLarge(maxOutput)
        throw err
      }
      return { data: res.buffer, used: res.engine.bytesWritten }
    }
    const alloc = (size: number) => (into ? into.take(size) : Buffer.allocUnsafe(size))
    // One byte more than announced: a stream as long as announced ends in one call.
    let out = alloc(Math.min(sizeHint + 1, FIRST_OUTPUT_MAX, limit))
    let produced = 0
    let used = 0
    try {
      this.failure = undefined
      handle.reset()
      for (;;) {
        if (this.failure !== undefined) throw new Error(this.failure)
        const room = Math.min(Math.min(out.length, limit) - produced, 0xffffffff)
        const inLen = Math.min(input.length - used, 0xffffffff)
        handle.writeSync(constants.Z_FINISH, input, used, inLen, out, produced, room)
        if (this.failure !== undefined) throw new Error(this.failure)
        produced += room - state[0]!
        used += inLen - state[1]!
        // Room left: the stream ended. Output full: it may go on (as in zlib's own loop).
        if (state[0] !== 0) break
        if (produced >= limit) throw new InflateTooLarge(maxOutput)
        const bigger = alloc(Math.min(out.length * 2, limit))
        out.copy(bigger, 0, 0, produced)
        out = bigger
      }
    } catch (err) {
      // A stream that failed is not trusted again: the next input gets a fresh one.
      handle.close()
      this.open()
      throw err
    }
    return { data: out.subarray(0, produced), used }
  }
}

let inflater: RawInflater | undefined

/** Whether this runtime gives the thread's reused inflate stream (see RawInflater). */
export function inflatesOnReusedStream(): boolean {
  inflater ??= new RawInflater()
  return inflater.reusing
}

/**
 * Gunzips like gunzipStrict (header, complete deflate stream, length) but leaves the CRC-32 to the
 * caller (`expectedCrc`; undefined when zlib already checked it): the pre-filter rules most files
 * out on bytes alone, and only the data that is used needs the checksum. With `into`, the data is
 * a view of that scratch buffer (valid until the next input inflated into it).
 */
export function gunzipDeferred(
  buf: Uint8Array,
  into?: InflateScratch,
): { data: Buffer; expectedCrc: number | undefined } {
  if (buf.length < 18 || !isGzip(buf) || buf[2] !== 8)
    throw new InputRefused('corrupt-gzip', 'not a gzip stream')
  const flags = buf[3]!
  if (flags & 0xe0) throw new InputRefused('corrupt-gzip', 'reserved gzip header flags are set')
  let pos = 10
  if (flags & 0x04) {
    if (pos + 2 > buf.length) throw new InputRefused('corrupt-gzip', 'truncated gzip header')
    pos += 2 + (buf[pos]! | (buf[pos + 1]! << 8))
  }
  if (flags & 0x08) while (pos < buf.length && buf[pos++] !== 0);
  if (flags & 0x10) while (pos < buf.length && buf[pos++] !== 0);
  if (flags & 0x02) pos += 2
  if (pos >= buf.length - 8) throw new InputRefused('corrupt-gzip', 'truncated gzip header')
  const input = asBuffer(buf)
  let out: Buffer
  let used: number
  try {
    // Sized from the trailer's length: one output buffer, no growing, no concatenating copy.
    inflater ??= new RawInflater()
    ;({ data: out, used } = inflater.inflate(input.subarray(pos), input.readUInt32LE(input.length - 4), into))
  } catch (err) {
    if (err instanceof InflateTooLarge) throw err
    throw new InputRefused('corrupt-gzip', `the gzip data is damaged: ${(err as Error).message}`)
  }
  const end = pos + used
  if (end + 8 > input.length)
    throw new InputRefused('corrupt-gzip', 'the gzip stream is truncated (no trailer)')
  if (end + 8 < input.length) {
    // Several gzip members (concatenated files): let zlib walk them.
    try {
      return { data: gunzipSync(input, { maxOutputLength: WHOLE_INFLATE_MAX }), expectedCrc: undefined }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        throw new InflateTooLarge(WHOLE_INFLATE_MAX)
      throw new InputRefused('corrupt-gzip', `the gzip data is damaged: ${(err as Error).message}`)
    }
  }
  const crc = input.readUInt32LE(end)
  const size = input.readUInt32LE(end + 4)
  if (size !== out.length >>> 0) throw new InputRefused('corrupt-gzip', 'the gzip length check failed')
  return { data: out, expectedCrc: crc }
}

/** The uncompressed size a gzip file's trailer announces (mod 4 GiB). */
export function gzipAnnouncedSize(buf: Uint8Array): number {
  if (buf.length < 4) return 0
  return Buffer.from(buf.buffer, buf.byteOffset + buf.byteLength - 4, 4).readUInt32LE(0)
}

function firstNonSpace(text: string): string {
  for (let i = 0; i < text.length && i < 4096; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xfeff) return text[i]!
  }
  return ''
}

/** Whether text is nothing but JSON's white space. */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false
  }
  return true
}

function bump(skipped: Partial<Record<SkipReason, number>>, reason: SkipReason, n = 1): void {
  skipped[reason] = (skipped[reason] ?? 0) + n
}

/** Is this object a CloudTrail digest file (log file validation), not a log? */
function isDigest(o: Rec): boolean {
  return 'digestStartTime' in o || 'digestS3Object' in o || ('logFiles' in o && 'digestEndTime' in o)
}

function looksLikeRecord(o: Rec): boolean {
  return 'eventVersion' in o || 'eventName' in o || 'eventSource' in o || 'eventID' in o || 'eventType' in o
}

/**
 * Checks one candidate record: a CloudTrail record is pushed; anything else is counted by reason.
 * LookupEvents items (`CloudTrailEvent` as a JSON string) are unwrapped.
 */
export function acceptRecord(item: unknown, out: DecodedInput): void {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    bump(out.skipped, 'not-cloudtrail')
    return
  }
  let rec = item as Rec
  if (typeof rec.CloudTrailEvent === 'string') {
    try {
      const inner = JSON.parse(rec.CloudTrailEvent) as unknown
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
        bump(out.skipped, 'not-cloudtrail')
        return
      }
      rec = inner as Rec
    } catch {
      bump(out.skipped, 'invalid-json')
      return
    }
  }
  if (rec.eventType === 'AwsCloudTrailInsight' || 'insightDetails' in rec) {
    bump(out.skipped, 'insights-record')
    return
  }
  if (isDigest(rec)) {
    bump(out.skipped, 'digest-file')
    return
  }
  if (!looksLikeRecord(rec) || (typeof rec.eventName !== 'string' && typeof rec.eventSource !== 'string')) {
    bump(out.skipped, 'not-cloudtrail')
    return
  }
  if (Number.isNaN(eventTimeMs(rec))) {
    bump(out.skipped, 'no-event-time')
    return
  }
  out.records.push(rec)
}

/**
 * Why an input is refused as not CloudTrail, if it is: it gave no record, and every item in it was
 * skipped as not CloudTrail (or, in JSON Lines, not JSON) — another tool's findings, not a log. It
 * is refused as one object of them is, rather than read as a log with nothing in it (a run over it
 * alone replaced the timeline with an empty one). A `Records` or `Events` wrapper does not make
 * its items records (`{"Records":[{"x":1}]}` was read as an empty log, the same items in a bare
 * array refused). An empty one (`[]`, `{"Records":[]}`: an empty delivery) is an empty log; an
 * item CloudTrail wrote (an Insights record, a record without a time) says it is a log. Looked at
 * once an input.
 */
export function foreignInput(
  records: number,
  skipped: DecodedInput['skipped'],
  what: string,
  unit: 'item' | 'line',
): string | undefined {
  if (records > 0 || !skipped['not-cloudtrail']) return undefined
  let items = 0
  for (const k in skipped) {
    if (k !== 'not-cloudtrail' && k !== 'invalid-json') return undefined
    items += skipped[k as SkipReason] ?? 0
  }
  return `${what} holds no CloudTrail record: ${items === 1 ? `1 ${unit}, not a record` : `${items} ${unit}s, none a record`} (no eventName, eventSource or other record field)`
}

/** Throws InputRefused('not-cloudtrail') when foreignInput says why. */
function refuseForeign(out: DecodedInput, what: string, unit: 'item' | 'line'): void {
  const why = foreignInput(out.records.length, out.skipped, what, unit)
  if (why) throw new InputRefused('not-cloudtrail', why)
}

function fromDocument(doc: unknown, out: DecodedInput): void {
  if (Array.isArray(doc)) {
    out.format = 'array'
    for (const item of doc) acceptRecord(item, out)
    refuseForeign(out, 'the JSON array', 'item')
    return
  }
  if (doc === null || typeof doc !== 'object')
    throw new InputRefused('not-cloudtrail', 'the JSON is not an object or array')
  const o = doc as Rec
  if (Array.isArray(o.Records)) {
    out.format = 'trail'
    for (const item of o.Records) acceptRecord(item, out)
    refuseForeign(out, 'the Records array', 'item')
    return
  }
  if (Array.isArray(o.Events)) {
    out.format = 'lookup-events'
    for (const item of o.Events) acceptRecord(item, out)
    refuseForeign(out, 'the Events array', 'item')
    return
  }
  if (isDigest(o))
    throw new InputRefused('digest-file', 'a CloudTrail digest file (log file validation), not a log')
  if (looksLikeRecord(o) || typeof o.CloudTrailEvent === 'string') {
    out.format = 'record'
    acceptRecord(o, out)
    return
  }
  throw new InputRefused(
    'not-cloudtrail',
    'the JSON holds no CloudTrail records (no Records, Events or record fields)',
  )
}

function fromJsonLines(text: string, out: DecodedInput): void {
  let parsedAny = false
  let trailLines = false
  let start = 0
  while (start < text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    // A line may begin with a BOM (JSON Lines files concatenated, each begun with one); white
    // space around a document is JSON's own (JSON.parse takes it), as a streamed input's reader has it.
    const line = text.charCodeAt(start) === 0xfeff ? text.slice(start + 1, end) : text.slice(start, end)
    start = end + 1
    if (isBlank(line)) continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      if (!parsedAny) throw new InputRefused('invalid-json', jsonSyntaxProblem(text))
      bump(out.skipped, 'invalid-json')
      continue
    }
    parsedAny = true
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Array.isArray((value as Rec).Records)
    ) {
      trailLines = true
      for (const item of (value as Rec).Records as unknown[]) acceptRecord(item, out)
    } else acceptRecord(value, out)
  }
  if (!parsedAny) throw new InputRefused('invalid-json', jsonSyntaxProblem(text))
  refuseForeign(out, 'the JSON Lines file', trailLines ? 'item' : 'line')
  out.format = 'jsonl'
}

/**
 * Decodes one input's text: a trail file `{"Records":[…]}`, LookupEvents output `{"Events":[…]}`,
 * a bare array of records, one record, or JSON Lines of any of those. Throws InputRefused when the
 * whole input is unusable; bad records inside a usable input are counted and skipped.
 */
export function decodeText(input: string): DecodedInput {
  const out: DecodedInput = { records: [], skipped: {} }
  // A UTF-8 byte order mark is no JSON: JSON.parse refuses it (a pretty-printed file with one was
  // refused, a one-line file read as JSON Lines).
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input
  const first = firstNonSpace(text)
  if (first !== '{' && first !== '[') {
    throw new InputRefused(
      'invalid-json',
      first === '' ? 'the file is empty' : 'not valid JSON: it does not start with { or [',
    )
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    // JSON Lines: one document per line.
    if (first === '{') {
      fromJsonLines(text, out)
      return out
    }
    // Not V8's message: it quotes the text, which may hold a secret (jsonSyntaxProblem).
    throw new InputRefused('invalid-json', jsonSyntaxProblem(text))
  }
  fromDocument(doc, out)
  return out
}

/** Decodes a whole input's bytes (gzip or not). Never throws: refusals come back in `refused`. */
export function decodeBytes(buf: Uint8Array): DecodedInput & { uncompressedBytes: number } {
  let bytes: Buffer
  try {
    bytes = isGzip(buf) ? gunzipStrict(buf) : asBuffer(buf)
  } catch (err) {
    return refusedInput(err, 0)
  }
  try {
    return { ...decodeText(bytes.toString('utf8')), uncompressedBytes: bytes.length }
  } catch (err) {
    return refusedInput(err, bytes.length)
  }
}

export function refusedInput(
  err: unknown,
  uncompressedBytes: number,
): DecodedInput & { uncompressedBytes: number } {
  if (err instanceof InputRefused) {
    return {
      records: [],
      skipped: { [err.reason]: 1 },
      refused: { reason: err.reason, message: err.message },
      uncompressedBytes,
    }
  }
  const message = (err as Error)?.message ?? String(err)
  return {
    records: [],
    skipped: { unreadable: 1 },
    refused: { reason: 'unreadable', message },
    uncompressedBytes,
  }
}
