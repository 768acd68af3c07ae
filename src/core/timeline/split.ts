/**
 * Splits a JSON byte stream into CloudTrail records without parsing it all at once, so a file of
 * any size is read in bounded memory: the elements of a top-level `Records` or `Events` array, of
 * a top-level array, or each top-level document of a JSON Lines stream (a document larger than
 * `maxDocument` is refused). A UTF-8 byte order mark is skipped at the start of the stream and of
 * a line between documents, nowhere else.
 */
export class RecordSplitter {
  private depth = 0
  private inString = false
  private escape = false
  private capturing = false
  private key = ''
  private lastKey = ''
  private topIsObject = false
  /** Depth at which record objects start; -1 until known. */
  private recordDepth = -1
  private inRecord = false
  /** Bytes kept from earlier chunks for the record or document in progress. */
  private parts: Buffer[] = []
  private partsBytes = 0
  private keeping = false
  private keepStartInChunk = 0
  /** The object in progress is a whole top-level document (no records array seen yet). */
  private inDocument = false
  /** Top-level JSON values begun ({ or [). */
  values = 0
  /** Stretches of text between top-level values that are not JSON (each skipped as invalid). */
  junk = 0
  /**
   * Elements of a records array that are not objects (`5`, `"x"`, `null`, `[1]`): not CloudTrail
   * records, counted as a whole file's reading counts them (they were passed over unseen).
   */
  notRecords = 0
  /** In a records array, between a non-object element's first byte and the comma after it. */
  private inOther = false
  private inJunk = false
  /** Bytes of the stretch of junk in progress (an endless one, /dev/zero, must end the read). */
  private junkBytes = 0
  private readonly bom = new LeadingBom()
  /**
   * Bytes of a UTF-8 BOM seen at the start of a line between top-level values (JSON Lines files
   * concatenated, `cat a.jsonl b.jsonl`, each begun with one); -1 when not at such a line's start.
   */
  private lineBom = -1

  constructor(
    private readonly onRecord: (slice: Buffer, kind: 'record' | 'document') => void,
    private readonly maxDocument = 64 * 1024 * 1024,
  ) {}

  feed(data: Buffer): void {
    const chunk = this.bom.skip(data)
    this.keepStartInChunk = 0
    const n = chunk.length
    for (let i = 0; i < n; i++) {
      const c = chunk[i]!
      if (this.inString) {
        if (this.escape) {
          this.escape = false
          continue
        }
        if (c === 0x5c) {
          this.escape = true
          continue
        }
        if (c === 0x22) {
          this.inString = false
          if (this.capturing) {
            this.lastKey = this.key
            this.capturing = false
          }
          continue
        }
        if (this.capturing && this.key.length < 32) this.key += String.fromCharCode(c)
        else if (this.depth === 0) this.junkByte() // a string in junk
        continue
      }
      if (this.depth === this.recordDepth && this.depth > 0 && !this.inRecord && !isSpace(c)) {
        if (c === 0x2c /* , */ || c === 0x5d /* ] */) this.inOther = false
        else if (c !== 0x7b && !this.inOther) {
          this.notRecords++
          this.inOther = true
        }
      }
      if (this.depth === 0) {
        // Checked only here, not for every byte: a line's start is between top-level values.
        if (this.lineBom >= 0) {
          if (c === UTF8_BOM[this.lineBom]) {
            if (++this.lineBom === UTF8_BOM.length) this.lineBom = -1
            continue
          }
          // The start of a BOM and then something else: those bytes are not JSON.
          for (; this.lineBom > 0; this.lineBom--) this.junkAtTop()
          this.lineBom = -1
        }
        if (!isSpace(c)) {
          if (c === 0x7b || c === 0x5b) {
            this.values++
            this.inJunk = false
          } else this.junkAtTop()
        } else if (c === 0x0a) this.lineBom = 0
      }
      switch (c) {
        case 0x22: // "
          this.inString = true
          this.capturing = this.depth === 1 && this.topIsObject
          this.key = ''
          break
        case 0x7b: // {
          if (this.depth === 0) {
            this.topIsObject = true
            this.recordDepth = -1
            this.lastKey = ''
            this.inDocument = true
            this.startKeeping(chunk, i)
          } else if (this.depth === this.recordDepth && !this.inRecord) {
            this.inRecord = true
            this.startKeeping(chunk, i)
          }
          this.depth++
          break
        case 0x5b: // [
          if (this.depth === 0) {
            this.topIsObject = false
            this.recordDepth = 1
          } else if (
            this.depth === 1 &&
            this.topIsObject &&
            this.recordDepth === -1 &&
            (this.lastKey === 'Records' || this.lastKey === 'Events')
          ) {
            // A trail file or LookupEvents output: records are the array's elements.
            this.recordDepth = 2
            this.inDocument = false
            this.stopKeeping()
          }
          this.depth++
          break
        case 0x7d: // }
        case 0x5d: // ]
          this.depth--
          if (this.depth < 0) throw new SplitError('unbalanced brackets')
          if (this.inRecord && this.depth === this.recordDepth && c === 0x7d) {
            this.inRecord = false
            this.emit(chunk, i, 'record')
          } else if (this.depth === 0 && this.inDocument && c === 0x7d) {
            this.inDocument = false
            this.emit(chunk, i, 'document')
          }
          break
      }
    }
    if (this.keeping) {
      this.parts.push(chunk.subarray(this.keepStartInChunk))
      this.partsBytes += n - this.keepStartInChunk
      if (this.partsBytes > this.maxDocument) {
        throw new SplitError(
          `a single record or document is larger than ${this.maxDocument} bytes`,
          'too-large',
        )
      }
    }
  }

  /** Call at the end of the stream: throws when it ended inside a record or document. */
  end(): void {
    if (this.bom.held.length > 0) throw new SplitError('not valid JSON: it does not start with { or [')
    for (; this.lineBom > 0; this.lineBom--) this.junkAtTop()
    if (this.depth !== 0 || this.inString) throw new SplitError('the JSON ends in the middle (truncated)')
  }

  /** A byte between top-level values that is not JSON. */
  private junkAtTop(): void {
    // What does not start with a JSON value is not read on (a device such as /dev/zero never
    // ends), nor is a stretch of junk after one that is larger than any document.
    if (this.values === 0) throw new SplitError('not valid JSON: it does not start with { or [')
    if (!this.inJunk) {
      this.junk++
      this.inJunk = true
      this.junkBytes = 0
    }
    this.junkByte()
  }

  /** One more byte of the stretch of junk in progress: more than any document may hold ends the read. */
  private junkByte(): void {
    if (++this.junkBytes > this.maxDocument)
      throw new SplitError(`more than ${this.maxDocument} bytes that are not JSON`)
  }

  private startKeeping(_chunk: Buffer, i: number): void {
    this.keeping = true
    this.keepStartInChunk = i
    this.parts = []
    this.partsBytes = 0
  }

  private stopKeeping(): void {
    this.keeping = false
    this.parts = []
    this.partsBytes = 0
  }

  private emit(chunk: Buffer, i: number, kind: 'record' | 'document'): void {
    const tail = chunk.subarray(this.keepStartInChunk, i + 1)
    const slice = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail])
    this.stopKeeping()
    this.onRecord(slice, kind)
  }
}

const EMPTY = Buffer.alloc(0)
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf])

/** The bytes after a leading UTF-8 byte order mark (the bytes themselves when they have none). */
export function withoutBom(bytes: Buffer): Buffer {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes
}

/**
 * Skips a UTF-8 byte order mark at the start of a stream (JSON has none, but editors and some
 * exports write one; a whole file read with it is read without it), even one cut between chunks.
 */
export class LeadingBom {
  /** The stream's first bytes while they may still be a BOM; undefined once past the start. */
  private head: Buffer | undefined = EMPTY

  /** The chunk without a leading BOM: empty while the bytes so far may be the start of one. */
  skip(chunk: Buffer): Buffer {
    if (!this.head) return chunk
    const head = this.head.length > 0 ? Buffer.concat([this.head, chunk]) : chunk
    if (head.length < 3 && UTF8_BOM.subarray(0, head.length).equals(head)) {
      this.head = Buffer.from(head)
      return EMPTY
    }
    this.head = undefined
    return withoutBom(head)
  }

  /** Bytes held back at the end of the stream: the first bytes of a BOM and nothing after them. */
  get held(): Buffer {
    return this.head ?? EMPTY
  }
}

export class SplitError extends Error {
  constructor(
    message: string,
    readonly reason: 'invalid-json' | 'too-large' = 'invalid-json',
  ) {
    super(message)
  }
}

const TRAIL_HEAD = Buffer.from('{"Records":[')
const RECORD_SEPARATOR = Buffer.from('},{"eventVersion":')

/**
 * The records of a trail file as CloudTrail writes it — `{"Records":[{"eventVersion":…},…]}`,
 * minified — as byte slices, one a record, found without a JSON tokenizer: the file is cut where
 * `},{"eventVersion":` occurs. A cut inside a string or a nested object leaves a slice that is
 * not one complete JSON value, so the caller parses every slice and, if any fails, reads the file
 * the general way (decodeText); a file of any other shape gives undefined here.
 */
export function splitTrailFile(bytes: Buffer): Buffer[] | undefined {
  let end = bytes.length
  while (end > 0 && isSpace(bytes[end - 1]!)) end--
  if (end < TRAIL_HEAD.length + 2 || bytes[end - 1] !== 0x7d || bytes[end - 2] !== 0x5d) return undefined
  if (bytes.compare(TRAIL_HEAD, 0, TRAIL_HEAD.length, 0, TRAIL_HEAD.length) !== 0) return undefined
  const first = TRAIL_HEAD.length
  const last = end - 2 // the closing ]
  if (last === first) return []
  if (bytes[first] !== 0x7b || bytes[last - 1] !== 0x7d) return undefined
  const out: Buffer[] = []
  let start = first
  for (let cut = bytes.indexOf(RECORD_SEPARATOR, start); cut !== -1 && cut < last; ) {
    out.push(bytes.subarray(start, cut + 1))
    start = cut + 2
    cut = bytes.indexOf(RECORD_SEPARATOR, start)
  }
  out.push(bytes.subarray(start, last))
  return out
}

/** JSON's white space. */
export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}
