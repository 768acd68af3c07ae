import { createHash } from 'node:crypto'
import { type FileHandle, open } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { crc32, createInflateRaw } from 'node:zlib'
import {
  type CentralRecord,
  type LocalHeader,
  readCentralDirectory,
  readLocalHeader,
} from './zip-directory.js'

/** A problem with a code archive (DESIGN §3: hostile archives are listed, never extracted). */
export interface ArchiveProblem {
  kind:
    | 'zip-slip'
    | 'symlink'
    | 'zip-bomb'
    | 'corrupt'
    | 'encrypted'
    | 'too-many-entries'
    /**
     * Two records that disagree on what a file is called (two entries of one name, a local header
     * naming another file than the central directory): what lands on disk depends on the
     * extractor, and a check of one record says nothing of the other.
     */
    | 'ambiguous-name'
    /**
     * Declared sizes that disagree with each other or with the data (a stored entry whose two
     * sizes differ, a local header declaring other sizes): extractors then disagree on the bytes,
     * and a lie of this kind stops stricter readers, so it hides what follows from them.
     */
    | 'size-mismatch'
    /**
     * A CRC-32 that disagrees with the entry's data or with the other record's: extractors that
     * check it (unzip against the local header's, Python's zipfile against the central
     * directory's) refuse the entry, so the bytes hashed are not what they would write, and a
     * package spliced or damaged inside an entry's data looks whole by its sizes alone.
     */
    | 'crc-mismatch'
  /** The entry it is about (display form, escaped later), if any. */
  entry?: string
  detail: string
  /** Set when entries after this point were not read at all: hostile entries there go unseen. */
  unread?: true
}

export interface ArchiveEntry {
  /** The name decoded for display (UTF-8 when valid, else Latin-1). */
  name: string
  /** The raw name bytes, base64, when they are not plain printable UTF-8. */
  rawName?: string
  compressedSize: number
  uncompressedSize: number
  /** The CRC-32 its central directory record declares (hex); checked against the data when hashed. */
  crc32: string
  method: number
  /**
   * Unix mode from the external attributes (octal): made by a host that keeps one there, or any
   * host's attributes that carry the symlink type.
   */
  mode?: string
  type: 'file' | 'directory' | 'symlink'
  /** SHA-256 of the entry's bytes, streamed from the archive (never written to disk). */
  sha256?: string
  /** Why no hash: a bomb, too large, encrypted, or unreadable. */
  notHashed?: string
  /** A symlink's target (read from the archive, at most 4 KiB). */
  linkTarget?: string
}

export interface ArchiveListing {
  format: 'zip'
  entries: ArchiveEntry[]
  totals: { entries: number; compressed: number; uncompressed: number; ratio: number | null }
  problems: ArchiveProblem[]
  /** Set when the archive could not be read to the end (the entries before it are kept). */
  error?: string
}

export interface ListingLimits {
  /** Entries listed (and hashed); the names after them are only checked. */
  maxEntries: number
  /** Central directory records read in all, listed or only checked (zip-slip names, symlinks). */
  maxScannedEntries: number
  /** Hostile entries past `maxEntries` reported one by one; the rest are counted. */
  maxReportedBeyond: number
  /** Entries larger than this (uncompressed) are not hashed. */
  maxHashBytes: number
  /** Stop hashing after this many uncompressed bytes in total. */
  maxTotalHashBytes: number
  /** Compression ratio above which an entry counts as a bomb (with at least `bombMinBytes`). */
  bombRatio: number
  bombMinBytes: number
  /** Declared uncompressed total above which the archive counts as a bomb by size. */
  bombTotalBytes: number
}

export const DEFAULT_LISTING_LIMITS: ListingLimits = {
  maxEntries: 100_000,
  maxScannedEntries: 1_000_000,
  maxReportedBeyond: 10_000,
  maxHashBytes: 256 * 1024 * 1024,
  maxTotalHashBytes: 1024 * 1024 * 1024,
  bombRatio: 100,
  bombMinBytes: 1024 * 1024,
  bombTotalBytes: 1024 * 1024 * 1024,
}

const S_IFMT = 0o170000
const S_IFLNK = 0o120000
const S_IFDIR = 0o040000

/**
 * Hosts ("version made by", high byte) whose zips keep a Unix mode in the upper 16 bits of the
 * external attributes: those Info-ZIP's unzip reads it from (VMS, Unix, Atari ST, QDOS, Acorn,
 * BeOS, Tandem, AtheOS; a symlink on VMS, Unix, Atari ST, BeOS and AtheOS) and Mac OS X, which
 * Go's archive/zip reads as Unix.
 */
const UNIX_MODE_HOSTS = new Set([2, 3, 5, 12, 13, 16, 17, 19, 30])

/**
 * The Unix mode an extractor may take from a record's external attributes: the upper 16 bits when
 * the host keeps a mode there; on any other host only when they carry the symlink type, which
 * Info-ZIP honours on an MS-DOS host when the owner bits match the DOS bits (7-Zip on any host
 * with its Unix flag). An ordinary Windows zip has its attributes in the low byte, zeros above.
 */
function unixModeOf(r: CentralRecord): number {
  const upper = r.externalAttributes >>> 16
  if (UNIX_MODE_HOSTS.has(r.versionMadeBy >> 8)) return upper
  return (upper & S_IFMT) === S_IFLNK ? upper : 0
}

const isLink = (mode: number) => (mode & S_IFMT) === S_IFLNK

const crcHex = (crc: number) => (crc >>> 0).toString(16).padStart(8, '0')

const UTF8 = new TextDecoder('utf-8', { fatal: true })

function decodeName(raw: Buffer): { name: string; rawName?: string } {
  let name: string
  let clean = true
  try {
    name = UTF8.decode(raw)
  } catch {
    name = raw.toString('latin1')
    clean = false
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) clean = false
  return clean ? { name } : { name, rawName: raw.toString('base64') }
}

/** Why a name would write outside the extraction folder: `..` segments, absolute, backslashes. */
export function zipSlipReason(name: string): string | undefined {
  if (name.includes('\\')) return 'contains a backslash (a path separator on Windows)'
  if (name.startsWith('/')) return 'is an absolute path'
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter'
  if (name.split('/').some((seg) => seg === '..')) return "has a '..' segment"
  if (name.includes('\u0000')) return 'contains a NUL byte'
  return undefined
}

/** A symlink entry's problem: where it points, and whether that is outside the archive. */
function symlinkProblem(name: string, target: string | undefined, note = ''): ArchiveProblem {
  const to = target ?? ''
  const outside = to.startsWith('/') || to.split('/').includes('..')
  return {
    kind: 'symlink',
    entry: name,
    detail: `symbolic link to ${JSON.stringify(to)}${outside ? ' (outside the archive)' : ''}${note}`,
  }
}

/**
 * Streams an entry's data (at most `limit` bytes out) to `sink` until it returns false. Stored
 * data is the `length` bytes at `at`; deflated data is inflated on the way, and never past
 * `limit`, so a declared size cannot be outgrown. Returns the bytes produced, or `overflow` when
 * the data holds more than `limit`.
 */
async function readEntryData(
  file: FileHandle,
  at: number,
  length: number,
  method: number,
  limit: number,
  sink: (chunk: Buffer) => boolean | undefined,
): Promise<{ bytes: number; overflow: boolean }> {
  async function* stored(): AsyncGenerator<Buffer> {
    for (let done = 0; done < length; ) {
      const buf = Buffer.alloc(Math.min(64 * 1024, length - done))
      const { bytesRead } = await file.read(buf, 0, buf.length, at + done)
      if (bytesRead === 0) throw new Error('the file ends inside the entry')
      done += bytesRead
      yield buf.subarray(0, bytesRead)
    }
  }
  let bytes = 0
  let overflow = false
  let stopped = false
  const take = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of chunks) {
      const room = limit - bytes
      bytes += Math.min(chunk.length, room)
      const enough = sink(chunk.length > room ? chunk.subarray(0, room) : chunk) === false
      if (chunk.length > room) overflow = true
      if (enough || overflow) {
        stopped = true
        return
      }
    }
  }
  if (method === 0) {
    await take(stored())
    return { bytes, overflow }
  }
  try {
    await pipeline(Readable.from(stored()), createInflateRaw(), take)
  } catch (err) {
    // Returning early from the last stage aborts the pipeline: that is no error of the archive.
    if (!stopped) throw err
  }
  return { bytes, overflow }
}

/**
 * Lists a zip archive without extracting it: every central directory record's raw name, sizes,
 * CRC, mode and (for entries that are not bombs) SHA-256, streamed in memory. Flags zip-slip
 * names (in the central directory and the local headers), names the two disagree on or used
 * twice, symlinks, zip bombs by ratio or total size, encrypted entries, sizes that disagree (a
 * stored entry whose sizes differ, a local header declaring other sizes, data longer or shorter
 * than declared), CRC-32s that disagree (with the data, computed while hashing, or between the
 * two records) and a directory that disagrees with its end record or is damaged. No lie in one
 * record or in the end record stops the listing before the directory's last record. Past
 * `maxEntries` nothing more is listed, but the names and types of the records after it are still
 * checked (up to `maxScannedEntries`), so a long directory hides no zip-slip name or symlink
 * behind its padding. Never throws for a bad archive: the problem is in the listing.
 */
export async function listArchive(
  path: string,
  limits: ListingLimits = DEFAULT_LISTING_LIMITS,
): Promise<ArchiveListing> {
  const entries: ArchiveEntry[] = []
  const problems: ArchiveProblem[] = []
  let compressed = 0
  let uncompressed = 0
  let hashed = 0
  let error: string | undefined
  let file: FileHandle
  try {
    file = await open(path, 'r')
  } catch (err) {
    error = (err as Error).message
    problems.push({ kind: 'corrupt', detail: `not a readable zip archive: ${error}` })
    return {
      format: 'zip',
      entries,
      totals: { entries: 0, compressed: 0, uncompressed: 0, ratio: null },
      problems,
      error,
    }
  }
  const fileSize = (await file.stat()).size
  // Records past the listing limit: only their names and types are checked, and only the hostile
  // ones kept (up to `maxReportedBeyond`), so a directory of a million entries costs no memory.
  const hostileBeyond: CentralRecord[] = []
  let unreportedBeyond = 0
  let uncompressedBeyond = 0
  const checkBeyond = (r: CentralRecord): void => {
    uncompressedBeyond += r.uncompressedSize
    if (!zipSlipReason(decodeName(r.name).name) && !isLink(unixModeOf(r))) return
    if (hostileBeyond.length < limits.maxReportedBeyond) hostileBeyond.push(r)
    else unreportedBeyond++
  }
  try {
    const directory = await readCentralDirectory(file, fileSize, {
      maxRecords: limits.maxEntries,
      maxScanned: Math.max(limits.maxScannedEntries, limits.maxEntries),
      beyond: checkBeyond,
    })
    if ('unreadable' in directory) {
      error = directory.unreadable
      problems.push({ kind: 'corrupt', detail: `not a readable zip archive: ${error}` })
    } else {
      for (const detail of directory.problems) problems.push({ kind: 'corrupt', detail })
      if (directory.damaged) error = directory.damaged
      const seen = new Set<string>()
      for (const record of directory.records) {
        await listEntry(record, directory.shift, seen)
      }
      const { beyond } = directory
      if (beyond) {
        const past = ' (past the listing limit: not listed or hashed)'
        for (const r of hostileBeyond) {
          const { name } = decodeName(r.name)
          const slip = zipSlipReason(name)
          if (slip) problems.push({ kind: 'zip-slip', entry: name, detail: `entry name ${slip}${past}` })
          if (isLink(unixModeOf(r))) {
            const local = await readLocalHeader(file, r.localHeaderOffset + directory.shift)
            problems.push(symlinkProblem(name, local && (await linkTarget(r, local)).target, past))
          }
        }
        const checked = `the names and types of the ${beyond.scanned} after them were still checked for zip-slip names and symlinks (their local headers, duplicate names and contents were not)`
        const unreported =
          unreportedBeyond > 0
            ? `; the first ${limits.maxReportedBeyond} hostile ones are reported, ${unreportedBeyond} more are not`
            : ''
        problems.push(
          beyond.more
            ? {
                kind: 'too-many-entries',
                detail: `more than ${limits.maxScannedEntries} entries (the end record declares ${directory.declared.entries}): the first ${limits.maxEntries} are listed and hashed, ${checked}${unreported}; the entries after entry ${limits.maxEntries + beyond.scanned} were not read at all, so hostile entries there go unseen`,
                unread: true,
              }
            : {
                kind: 'too-many-entries',
                detail: `${limits.maxEntries + beyond.scanned} entries, more than the ${limits.maxEntries} listed and hashed: ${checked}${unreported}`,
              },
        )
      }
    }
  } finally {
    await file.close()
  }

  /** A symlink's target, read from its data (at most 4 KiB), or why it cannot be read. */
  async function linkTarget(
    entry: CentralRecord,
    local: LocalHeader,
  ): Promise<{ target?: string; unreadable?: string }> {
    if (entry.method !== 0 && entry.method !== 8) return {}
    if (local.dataAt + entry.compressedSize > fileSize) return {}
    const chunks: Buffer[] = []
    try {
      await readEntryData(file, local.dataAt, entry.compressedSize, entry.method, 4096, (c) => {
        chunks.push(c)
        return undefined
      })
      return { target: Buffer.concat(chunks).toString('utf8') }
    } catch (err) {
      return { unreadable: (err as Error).message }
    }
  }

  async function listEntry(entry: CentralRecord, shift: number, seen: Set<string>): Promise<void> {
    const { name, rawName: rawB64 } = decodeName(entry.name)
    const unixMode = unixModeOf(entry)
    const type: ArchiveEntry['type'] = isLink(unixMode)
      ? 'symlink'
      : name.endsWith('/') || (unixMode && (unixMode & S_IFMT) === S_IFDIR)
        ? 'directory'
        : 'file'
    const e: ArchiveEntry = {
      name,
      ...(rawB64 ? { rawName: rawB64 } : {}),
      compressedSize: entry.compressedSize,
      uncompressedSize: entry.uncompressedSize,
      crc32: crcHex(entry.crc32),
      method: entry.method,
      ...(unixMode ? { mode: unixMode.toString(8) } : {}),
      type,
    }
    entries.push(e)
    compressed += entry.compressedSize
    uncompressed += entry.uncompressedSize
    const slip = zipSlipReason(name)
    if (slip) problems.push({ kind: 'zip-slip', entry: name, detail: `entry name ${slip}` })
    const key = rawB64 ?? name
    if (seen.has(key)) {
      problems.push({
        kind: 'ambiguous-name',
        entry: name,
        detail: 'a second entry of this name: which one an extractor keeps depends on the extractor',
      })
    }
    seen.add(key)
    // Bit 0: encrypted; bit 6: strong encryption.
    const encrypted = (entry.flags & 0x41) !== 0
    // Stored data is its own length: declared sizes that differ leave it to each extractor to
    // pick one (yauzl refuses the whole archive), so what is hashed here need not be what runs.
    let sizesDisagree = false
    if (entry.method === 0 && entry.compressedSize !== entry.uncompressedSize + (encrypted ? 12 : 0)) {
      sizesDisagree = true
      problems.push({
        kind: 'size-mismatch',
        entry: name,
        detail: `stored uncompressed, yet the central directory declares ${entry.compressedSize} bytes stored and ${entry.uncompressedSize} bytes uncompressed`,
      })
    }
    if (entry.problem) {
      problems.push({
        kind: 'corrupt',
        entry: name,
        detail: `its central directory record: ${entry.problem}`,
      })
    }
    // The local file headers are read beside the central directory: an extractor that reads the
    // archive front to back takes names and sizes from them.
    const local = await readLocalHeader(file, entry.localHeaderOffset + shift)
    if (local && !local.name.equals(entry.name)) {
      const shown = decodeName(local.name).name
      problems.push({
        kind: 'ambiguous-name',
        entry: name,
        detail: `its local file header names it ${JSON.stringify(shown)}: an extractor that reads local headers writes that name`,
      })
      const localSlip = zipSlipReason(shown)
      if (localSlip)
        problems.push({ kind: 'zip-slip', entry: shown, detail: `local header name ${localSlip}` })
    }
    // Bit 3: the sizes follow the data and the local header holds zeros; 0xffffffff: in zip64.
    const differs = (a: number, b: number) => a !== 0xffffffff && a !== b
    if (
      local &&
      !sizesDisagree &&
      (local.flags & 0x08) === 0 &&
      (differs(local.compressedSize, entry.compressedSize) ||
        differs(local.uncompressedSize, entry.uncompressedSize))
    ) {
      sizesDisagree = true
      problems.push({
        kind: 'size-mismatch',
        entry: name,
        detail: `its local file header declares ${local.compressedSize} bytes compressed and ${local.uncompressedSize} uncompressed, the central directory ${entry.compressedSize} and ${entry.uncompressedSize}`,
      })
    }
    // unzip checks the data against the local header's CRC-32, Python's zipfile against the
    // central directory's: when the two differ, one of them refuses what the other writes.
    let crcDisagrees = false
    if (local && (local.flags & 0x08) === 0 && local.crc32 !== entry.crc32) {
      crcDisagrees = true
      problems.push({
        kind: 'crc-mismatch',
        entry: name,
        detail: `its local file header declares CRC-32 ${crcHex(local.crc32)}, the central directory ${crcHex(entry.crc32)}`,
      })
    }
    const ratio = entry.compressedSize > 0 ? entry.uncompressedSize / entry.compressedSize : 0
    const bomb = entry.uncompressedSize >= limits.bombMinBytes && ratio > limits.bombRatio
    if (bomb) {
      problems.push({
        kind: 'zip-bomb',
        entry: name,
        detail: `expands ${Math.round(ratio)}:1 (${entry.compressedSize} → ${entry.uncompressedSize} bytes)`,
      })
    }
    if (encrypted) {
      problems.push({
        kind: 'encrypted',
        entry: name,
        detail: 'the entry is encrypted; its content cannot be hashed',
      })
      e.notHashed = 'encrypted'
      return
    }
    if (type === 'directory') return
    let unreadable: string | undefined
    if (!local) {
      unreadable = `no local file header at byte ${entry.localHeaderOffset + shift}, where its central directory record points`
    } else if (local.dataAt + entry.compressedSize > fileSize) {
      unreadable = `its ${entry.compressedSize} bytes of data run past the end of the file`
    }
    if (unreadable) {
      e.notHashed = `unreadable: ${unreadable}`
      problems.push({ kind: 'corrupt', entry: name, detail: `the entry cannot be read: ${unreadable}` })
    }
    const decodable = entry.method === 0 || entry.method === 8
    if (!unreadable && !decodable) e.notHashed = `compression method ${entry.method} is not supported`
    if (type === 'symlink') {
      if (local && !unreadable && decodable) {
        const link = await linkTarget(entry, local)
        if (link.target !== undefined) e.linkTarget = link.target
        if (link.unreadable) e.notHashed = `unreadable: ${link.unreadable}`
      }
      problems.push(symlinkProblem(name, e.linkTarget))
      return
    }
    if (!local || unreadable || !decodable) return
    if (bomb) {
      e.notHashed = 'zip bomb: not decompressed'
      return
    }
    // Stored data is hashed as it lies in the file (its compressed size), deflated data up to its
    // declared size and no further.
    const size = entry.method === 0 ? entry.compressedSize : entry.uncompressedSize
    if (size > limits.maxHashBytes || hashed + size > limits.maxTotalHashBytes) {
      e.notHashed = 'too large to hash within the listing limits'
      return
    }
    const hash = createHash('sha256')
    let crc = 0
    try {
      const { bytes, overflow } = await readEntryData(
        file,
        local.dataAt,
        entry.compressedSize,
        entry.method,
        size,
        (c) => {
          hash.update(c)
          crc = crc32(c, crc)
          return undefined
        },
      )
      hashed += bytes
      const sizeHolds = !overflow && bytes === size
      if (!sizesDisagree && !sizeHolds) {
        problems.push({
          kind: 'size-mismatch',
          entry: name,
          detail: overflow
            ? `inflates to more than the ${size} bytes its central directory record declares (not inflated further)`
            : `holds ${bytes} bytes, its central directory record declares ${size}`,
        })
      }
      // Checked only where the sizes hold: a size lie is the problem already, and its bytes are
      // one reading of the entry among others.
      if (!sizesDisagree && sizeHolds && !crcDisagrees && crc !== entry.crc32) {
        problems.push({
          kind: 'crc-mismatch',
          entry: name,
          detail: `its data has CRC-32 ${crcHex(crc)}, its central directory record declares ${crcHex(entry.crc32)}: extractors that check it (unzip, Python's zipfile) refuse the entry, so the SHA-256 listed is of bytes they do not write`,
        })
      }
      if (overflow) e.notHashed = `larger than the ${size} bytes declared: not inflated further`
      else e.sha256 = hash.digest('hex')
    } catch (err) {
      e.notHashed = `unreadable: ${(err as Error).message}`
      problems.push({
        kind: 'corrupt',
        entry: name,
        detail: `the entry cannot be read: ${(err as Error).message}`,
      })
    }
  }

  // Entries past the listing limit count towards the declared total: a bomb may hide there too.
  const declaredTotal = uncompressed + uncompressedBeyond
  if (declaredTotal > limits.bombTotalBytes) {
    problems.push({
      kind: 'zip-bomb',
      detail: `declares ${declaredTotal} bytes uncompressed in total (over ${limits.bombTotalBytes}; Lambda's own limit is 250 MB)`,
    })
  } else if (
    compressed > 0 &&
    uncompressed / compressed > limits.bombRatio &&
    uncompressed >= 10 * limits.bombMinBytes &&
    !problems.some((p) => p.kind === 'zip-bomb')
  ) {
    problems.push({
      kind: 'zip-bomb',
      detail: `expands ${Math.round(uncompressed / compressed)}:1 overall (${compressed} → ${uncompressed} bytes)`,
    })
  }
  return {
    format: 'zip',
    entries,
    totals: {
      entries: entries.length,
      compressed,
      uncompressed,
      ratio: compressed > 0 ? Math.round((uncompressed / compressed) * 10) / 10 : null,
    },
    problems,
    ...(error ? { error } : {}),
  }
}
