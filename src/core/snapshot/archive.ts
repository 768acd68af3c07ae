import { createHash } from 'node:crypto'
import { type FileHandle, open } from 'node:fs/promises'
import yauzl, { type Entry, type ZipFile } from 'yauzl'

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
  /** The entry it is about (display form, escaped later), if any. */
  entry?: string
  detail: string
}

export interface ArchiveEntry {
  /** The name decoded for display (UTF-8 when valid, else Latin-1). */
  name: string
  /** The raw name bytes, base64, when they are not plain printable UTF-8. */
  rawName?: string
  compressedSize: number
  uncompressedSize: number
  crc32: string
  method: number
  /** Unix mode from the external attributes (octal), when made by Unix. */
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
  maxEntries: number
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
  maxHashBytes: 256 * 1024 * 1024,
  maxTotalHashBytes: 1024 * 1024 * 1024,
  bombRatio: 100,
  bombMinBytes: 1024 * 1024,
  bombTotalBytes: 1024 * 1024 * 1024,
}

const S_IFMT = 0o170000
const S_IFLNK = 0o120000
const S_IFDIR = 0o040000

function decodeName(raw: Buffer): { name: string; rawName?: string } {
  let name: string
  let clean = true
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(raw)
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

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(
      path,
      {
        lazyEntries: true,
        decodeStrings: false,
        validateEntrySizes: true,
        strictFileNames: false,
        autoClose: false,
      },
      (err, zip) => (err || !zip ? reject(err ?? new Error('no archive')) : resolve(zip)),
    )
  })
}

function readEntryBytes(
  zip: ZipFile,
  entry: Entry,
  sink: (chunk: Buffer) => boolean | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) {
        reject(err ?? new Error('no stream'))
        return
      }
      stream.on('data', (chunk: Buffer) => {
        if (sink(chunk) === false) {
          stream.destroy()
          resolve()
        }
      })
      stream.on('end', () => resolve())
      stream.on('error', reject)
    })
  })
}

/** The file name in the local header at `offset`, or undefined when no local header is there. */
async function localName(file: FileHandle, offset: number): Promise<Buffer | undefined> {
  const head = Buffer.alloc(30)
  const { bytesRead } = await file.read(head, 0, 30, offset)
  if (bytesRead < 30 || head.readUInt32LE(0) !== 0x04034b50) return undefined
  const name = Buffer.alloc(head.readUInt16LE(26))
  const got = await file.read(name, 0, name.length, offset + 30)
  return got.bytesRead === name.length ? name : undefined
}

/**
 * Lists a zip archive without extracting it: every entry's raw name, sizes, CRC, mode and (for
 * entries that are not bombs) SHA-256, streamed in memory. Flags zip-slip names (in the central
 * directory and the local headers), names the two disagree on or used twice, symlinks, zip bombs
 * by ratio or total size, encrypted entries and a corrupt central directory. Never throws
 * for a bad archive: the problem is in the listing.
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
  let zip: ZipFile | undefined
  try {
    zip = await openZip(path)
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
  const z = zip
  // The local file headers are read beside yauzl (which reads names from the central directory
  // only): an extractor that reads the archive front to back takes names from them.
  let headers: FileHandle | undefined
  try {
    headers = await open(path, 'r')
  } catch {
    // Opened a moment ago by yauzl: a failure here leaves the local names unchecked.
  }
  const seen = new Set<string>()
  try {
    await new Promise<void>((resolve, reject) => {
      z.on('error', reject)
      z.on('end', () => resolve())
      z.on('entry', (entry: Entry) => {
        handleEntry(entry).then(() => {
          if (entries.length >= limits.maxEntries) {
            problems.push({
              kind: 'too-many-entries',
              detail: `more than ${limits.maxEntries} entries; the listing stops there`,
            })
            resolve()
          } else z.readEntry()
        }, reject)
      })
      z.readEntry()
    })
  } catch (err) {
    error = (err as Error).message
    problems.push({
      kind: 'corrupt',
      detail: `the archive is damaged after ${entries.length} entries: ${error}`,
    })
  } finally {
    z.close()
    await headers?.close()
  }

  async function handleEntry(entry: Entry): Promise<void> {
    const rawName = entry.fileName as unknown as Buffer
    const { name, rawName: rawB64 } = decodeName(
      Buffer.isBuffer(rawName) ? rawName : Buffer.from(String(rawName)),
    )
    const madeBy = entry.versionMadeBy >> 8
    const unixMode = madeBy === 3 || madeBy === 19 ? entry.externalFileAttributes >>> 16 : 0
    const type: ArchiveEntry['type'] =
      unixMode && (unixMode & S_IFMT) === S_IFLNK
        ? 'symlink'
        : name.endsWith('/') || (unixMode && (unixMode & S_IFMT) === S_IFDIR)
          ? 'directory'
          : 'file'
    const e: ArchiveEntry = {
      name,
      ...(rawB64 ? { rawName: rawB64 } : {}),
      compressedSize: entry.compressedSize,
      uncompressedSize: entry.uncompressedSize,
      crc32: (entry.crc32 >>> 0).toString(16).padStart(8, '0'),
      method: entry.compressionMethod,
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
    const local = headers ? await localName(headers, entry.relativeOffsetOfLocalHeader) : undefined
    const central = Buffer.isBuffer(rawName) ? rawName : Buffer.from(String(rawName))
    if (local && !local.equals(central)) {
      const shown = decodeName(local).name
      problems.push({
        kind: 'ambiguous-name',
        entry: name,
        detail: `its local file header names it ${JSON.stringify(shown)}: an extractor that reads local headers writes that name`,
      })
      const localSlip = zipSlipReason(shown)
      if (localSlip)
        problems.push({ kind: 'zip-slip', entry: shown, detail: `local header name ${localSlip}` })
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
    if (entry.isEncrypted()) {
      problems.push({
        kind: 'encrypted',
        entry: name,
        detail: 'the entry is encrypted; its content cannot be hashed',
      })
      e.notHashed = 'encrypted'
      return
    }
    if (type === 'directory') return
    if (type === 'symlink') {
      const chunks: Buffer[] = []
      let size = 0
      try {
        await readEntryBytes(z, entry, (c) => {
          chunks.push(c)
          size += c.length
          return size < 4096
        })
        e.linkTarget = Buffer.concat(chunks).subarray(0, 4096).toString('utf8')
      } catch (err) {
        e.notHashed = `unreadable: ${(err as Error).message}`
      }
      const target = e.linkTarget ?? ''
      const outside = target.startsWith('/') || target.split('/').includes('..')
      problems.push({
        kind: 'symlink',
        entry: name,
        detail: `symbolic link to ${JSON.stringify(target)}${outside ? ' (outside the archive)' : ''}`,
      })
      return
    }
    if (bomb) {
      e.notHashed = 'zip bomb: not decompressed'
      return
    }
    if (
      entry.uncompressedSize > limits.maxHashBytes ||
      hashed + entry.uncompressedSize > limits.maxTotalHashBytes
    ) {
      e.notHashed = 'too large to hash within the listing limits'
      return
    }
    if (!entry.canDecodeFileData()) {
      e.notHashed = `compression method ${entry.compressionMethod} is not supported`
      return
    }
    const hash = createHash('sha256')
    try {
      await readEntryBytes(z, entry, (c) => {
        hash.update(c)
        return undefined
      })
      e.sha256 = hash.digest('hex')
      hashed += entry.uncompressedSize
    } catch (err) {
      e.notHashed = `unreadable: ${(err as Error).message}`
      problems.push({
        kind: 'corrupt',
        entry: name,
        detail: `the entry cannot be read: ${(err as Error).message}`,
      })
    }
  }

  if (uncompressed > limits.bombTotalBytes) {
    problems.push({
      kind: 'zip-bomb',
      detail: `declares ${uncompressed} bytes uncompressed in total (over ${limits.bombTotalBytes}; Lambda's own limit is 250 MB)`,
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
