import type { FileHandle } from 'node:fs/promises'

const END = 0x06054b50
const END64 = 0x06064b50
const END64_LOCATOR = 0x07064b50
const CENTRAL = 0x02014b50
const DIGITAL_SIGNATURE = 0x05054b50
const LOCAL = 0x04034b50
const MAX32 = 0xffffffff

/** One central directory record as it declares itself: nothing in it is trusted. */
export interface CentralRecord {
  /** Where the record starts in the file. */
  at: number
  versionMadeBy: number
  flags: number
  method: number
  crc32: number
  compressedSize: number
  uncompressedSize: number
  externalAttributes: number
  /** The local header's offset as declared (add the directory's `shift` to find it in the file). */
  localHeaderOffset: number
  name: Buffer
  /** Why a field cannot be taken at face value (a malformed extra or zip64 field). */
  problem?: string
}

/** The local file header at an entry's declared offset. */
export interface LocalHeader {
  flags: number
  method: number
  crc32: number
  compressedSize: number
  uncompressedSize: number
  name: Buffer
  /** Where the entry's data starts in the file. */
  dataAt: number
}

/**
 * The central directory, read record by record up to the first thing that is not a record: the
 * end record's entry count, directory size and offset are compared with what is there, never
 * used to stop early, so a lie in them (or in one record's sizes) hides no entry.
 */
export interface CentralDirectory {
  records: CentralRecord[]
  /** Bytes before the archive (a self-extracting stub, or a lying offset): add to local offsets. */
  shift: number
  /** What the end record declares. */
  declared: { entries: number; size: number; offset: number }
  /** Disagreements between the end record and the directory, and damage, said plainly. */
  problems: string[]
  /** Set when the directory is damaged before its end: entries after it may be missing. */
  damaged?: string
  /**
   * Set when the directory holds more than `maxRecords` records: how many after them were read
   * (each offered to `beyond`, none kept), and whether the read stopped at `maxScanned` with
   * records still after it (those are not read at all).
   */
  beyond?: { scanned: number; more: boolean }
}

/** How far the walk goes: records kept in full, and records only offered to a check past them. */
export interface DirectoryLimits {
  /** Records kept (and returned) in full. */
  maxRecords: number
  /** Records read in all, kept or not: a directory claiming millions of entries stays bounded. */
  maxScanned: number
  /** Offered each record read past `maxRecords`, which is then dropped. */
  beyond?: (record: CentralRecord) => void
}

/** Reads a file through a window, so walking thousands of small records is not a read each. */
class Window {
  private start = 0
  private buf = Buffer.alloc(0)

  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  /** The `length` bytes at `at`, or undefined when the file ends before them. */
  async bytes(at: number, length: number): Promise<Buffer | undefined> {
    if (at < 0 || at + length > this.size) return undefined
    if (at < this.start || at + length > this.start + this.buf.length) {
      const want = Math.min(Math.max(length, 64 * 1024), this.size - at)
      const buf = Buffer.alloc(want)
      const { bytesRead } = await this.file.read(buf, 0, want, at)
      if (bytesRead < length) return undefined
      this.start = at
      this.buf = buf.subarray(0, bytesRead)
    }
    return this.buf.subarray(at - this.start, at - this.start + length)
  }

  async u32(at: number): Promise<number | undefined> {
    return (await this.bytes(at, 4))?.readUInt32LE(0)
  }
}

function u64(buf: Buffer, at: number): number {
  return Number(buf.readBigUInt64LE(at))
}

/** The last end record in the file's tail (where yauzl, Info-ZIP and Python all look for it). */
async function findEnd(w: Window): Promise<{ at: number; record: Buffer } | undefined> {
  const tail = Math.min(w.size, 22 + 0xffff)
  const buf = await w.bytes(w.size - tail, tail)
  if (!buf) return undefined
  for (let i = buf.length - 22; i >= 0; i--) {
    if (buf.readUInt32LE(i) === END)
      return { at: w.size - tail + i, record: Buffer.from(buf.subarray(i, i + 22)) }
  }
  return undefined
}

/** Reads the zip64 fields of an extra field block over the record's 32-bit values. */
function applyExtra(r: CentralRecord, extra: Buffer): void {
  for (let i = 0; i < extra.length; ) {
    if (i + 4 > extra.length) {
      r.problem = 'its extra field is cut short'
      return
    }
    const id = extra.readUInt16LE(i)
    const length = extra.readUInt16LE(i + 2)
    if (i + 4 + length > extra.length) {
      r.problem = `its extra field 0x${id.toString(16).padStart(4, '0')} runs past the extra field block`
      return
    }
    if (id === 0x0001) {
      let at = i + 4
      const end = at + length
      for (const field of ['uncompressedSize', 'compressedSize', 'localHeaderOffset'] as const) {
        if (r[field] !== MAX32) continue
        if (at + 8 > end) {
          r.problem = `its zip64 field does not hold the ${field === 'localHeaderOffset' ? 'local header offset' : field.replace('Size', ' size')}`
          return
        }
        r[field] = u64(extra, at)
        at += 8
      }
      return
    }
    i += 4 + length
  }
  if (r.compressedSize === MAX32 || r.uncompressedSize === MAX32 || r.localHeaderOffset === MAX32)
    r.problem = 'it declares a zip64 size or offset (0xffffffff) but holds no zip64 field'
}

/**
 * Finds the end record and walks the central directory of the `size`-byte `file` (DESIGN §3:
 * listed, never extracted). Returns a reason instead when the file has no end record at all (not
 * a zip archive). The first `maxRecords` records are kept; the walk goes on past them, up to
 * `maxScanned` records in all, offering each to `beyond` without keeping it, so a long directory
 * hides no name from the caller's checks and costs no memory per record.
 */
export async function readCentralDirectory(
  file: FileHandle,
  size: number,
  limits: DirectoryLimits,
): Promise<CentralDirectory | { unreadable: string }> {
  const { maxRecords, maxScanned, beyond } = limits
  const w = new Window(file, size)
  const end = await findEnd(w)
  if (!end) {
    return { unreadable: 'no end of central directory record: not a zip archive, or cut short' }
  }
  const problems: string[] = []
  const commentLength = end.record.readUInt16LE(20)
  const after = w.size - end.at - 22
  if (commentLength !== after) {
    problems.push(
      `the end record declares a ${commentLength}-byte comment but ${after} bytes follow it (bytes added after the archive, or a lie that makes strict readers refuse the archive)`,
    )
  }
  const disk = end.record.readUInt16LE(4)
  if (disk !== 0)
    problems.push(`the end record says it is on disk ${disk} of a multi-disk archive (Lambda takes one file)`)
  let declared = {
    entries: end.record.readUInt16LE(10),
    size: end.record.readUInt32LE(12),
    offset: end.record.readUInt32LE(16),
  }
  // The directory ends where the end record (or the zip64 end record before it) begins.
  let directoryEnd = end.at
  if ((await w.u32(end.at - 20)) === END64_LOCATOR) {
    const locator = await w.bytes(end.at - 20, 20)
    const at = locator ? u64(locator, 8) : -1
    const record = at >= 0 && at < end.at ? await w.bytes(at, 56) : undefined
    if (record?.readUInt32LE(0) === END64) {
      declared = { entries: u64(record, 32), size: u64(record, 40), offset: u64(record, 48) }
      directoryEnd = at
    } else {
      problems.push('the zip64 end record the locator points to is not there: the 32-bit end record is used')
    }
  }

  let start = declared.offset
  let shift = 0
  const implied = directoryEnd - declared.size
  // Readers disagree on where the directory starts: yauzl takes the declared offset, Python and
  // Info-ZIP the end record's position less the declared size. Records at either are listed.
  const atDeclared = (await w.u32(start)) === CENTRAL
  const atImplied = implied !== start && (await w.u32(implied)) === CENTRAL
  if (atImplied && !atDeclared) {
    shift = implied - start
    start = implied
    problems.push(
      `the central directory starts at byte ${implied}, not at byte ${declared.offset} where the end record puts it: local headers are looked for ${Math.abs(shift)} bytes ${shift > 0 ? 'later' : 'earlier'} too`,
    )
  } else if (atImplied && implied < start) {
    start = implied
    problems.push(
      `the end record puts the central directory at byte ${declared.offset} but its declared size puts it at byte ${implied}: the records from byte ${implied} on are listed`,
    )
  }

  const records: CentralRecord[] = []
  let at = start
  let damaged: string | undefined
  // Records read: the kept ones, then those only offered to `beyond`.
  let count = 0
  let more = false
  for (;;) {
    const signature = await w.u32(at)
    if (signature !== CENTRAL) {
      const ended =
        at === directoryEnd ||
        ((signature === END || signature === END64 || signature === DIGITAL_SIGNATURE) && at <= directoryEnd)
      if (!ended) {
        damaged =
          count === 0
            ? `no central directory record at byte ${at}, where the end record puts the directory`
            : `the central directory is damaged at byte ${at}, after ${count} entries`
      }
      break
    }
    if (count >= maxScanned) {
      more = true
      break
    }
    const fixed = await w.bytes(at, 46)
    const nameLength = fixed?.readUInt16LE(28) ?? 0
    const variable = fixed ? nameLength + fixed.readUInt16LE(30) + fixed.readUInt16LE(32) : 0
    const rest = fixed && at + 46 + variable <= directoryEnd ? await w.bytes(at + 46, variable) : undefined
    if (!fixed || !rest) {
      damaged = `the central directory record of entry ${count + 1} runs past the directory's end (byte ${directoryEnd})`
      break
    }
    const r: CentralRecord = {
      at,
      versionMadeBy: fixed.readUInt16LE(4),
      flags: fixed.readUInt16LE(8),
      method: fixed.readUInt16LE(10),
      crc32: fixed.readUInt32LE(16),
      compressedSize: fixed.readUInt32LE(20),
      uncompressedSize: fixed.readUInt32LE(24),
      externalAttributes: fixed.readUInt32LE(38),
      localHeaderOffset: fixed.readUInt32LE(42),
      name: Buffer.from(rest.subarray(0, nameLength)),
    }
    applyExtra(r, rest.subarray(nameLength, nameLength + fixed.readUInt16LE(30)))
    if (count < maxRecords) records.push(r)
    else beyond?.(r)
    count++
    at += 46 + variable
  }

  if (damaged) {
    problems.push(
      `${damaged}: the end record declares ${declared.entries} entries; entries after it may be missing from this listing`,
    )
  } else if (!more) {
    if (count !== declared.entries) {
      problems.push(
        `the central directory holds ${count} entries but the end record declares ${declared.entries}${count > declared.entries ? `: a reader that trusts the count misses the last ${count - declared.entries}` : ''}`,
      )
    }
    if (at - start !== declared.size) {
      problems.push(
        `the central directory is ${at - start} bytes but the end record declares ${declared.size}`,
      )
    }
  }
  return {
    records,
    shift,
    declared,
    problems,
    ...(damaged ? { damaged } : {}),
    ...(more || count > records.length ? { beyond: { scanned: count - records.length, more } } : {}),
  }
}

/** The local file header at `at`, or undefined when none is there. */
export async function readLocalHeader(file: FileHandle, at: number): Promise<LocalHeader | undefined> {
  if (at < 0) return undefined
  const head = Buffer.alloc(30)
  const { bytesRead } = await file.read(head, 0, 30, at)
  if (bytesRead < 30 || head.readUInt32LE(0) !== LOCAL) return undefined
  const name = Buffer.alloc(head.readUInt16LE(26))
  const got = await file.read(name, 0, name.length, at + 30)
  if (got.bytesRead !== name.length) return undefined
  return {
    flags: head.readUInt16LE(6),
    method: head.readUInt16LE(8),
    crc32: head.readUInt32LE(14),
    compressedSize: head.readUInt32LE(18),
    uncompressedSize: head.readUInt32LE(22),
    name,
    dataAt: at + 30 + name.length + head.readUInt16LE(28),
  }
}
