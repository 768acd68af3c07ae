import { createHash } from 'node:crypto'
import { constants, createWriteStream } from 'node:fs'
import { chmod, lstat, open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, posix } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { IntegrityError, UsageError } from '../../errors.js'
import {
  ensureDir,
  exists,
  FILE_MODE,
  fsyncDir,
  partialPathIn,
  tempPathFor,
  WriteOnceError,
  writeFileAtomic,
} from '../common/fs-safe.js'
import { sha256File, sha256Hex } from '../common/hash.js'
import { trackTemporary } from '../common/interrupt.js'
import { parseJson } from '../common/json-syntax.js'
import { compactUtc, shellArg } from '../common/text.js'
import { refuseLinkedCaseFolders } from './folders.js'
import type { Journal, JournalEntry } from './journal.js'

/** Where a stored file came from: the API call (service:Operation), its target and request id. */
export interface EvidenceSource {
  call: string
  target?: string
  region?: string
  requestId?: string
  url?: string
}

export interface ManifestFile {
  path: string
  sha256: string
  bytes: number
  source: EvidenceSource
  at: string
}

export interface Manifest {
  set: string
  created: string
  sealed: string
  firVersion: string
  files: ManifestFile[]
  [extra: string]: unknown
}

export const MANIFEST_FILE = 'manifest.json'
export const EVIDENCE_DIR = 'evidence'
/**
 * A set is built in `evidence/.unfinished-<name>/` and gets its final name only once its seal is
 * journaled: a set under its final name is sealed, and a crash at any point leaves either an
 * unfinished folder (never evidence) or a journaled seal naming the folder to finish.
 */
export const UNFINISHED_SET_PREFIX = '.unfinished-'

/** The folder a set named `name` is built in until it is sealed. */
export function unfinishedSetDir(caseDir: string, name: string): string {
  return join(caseDir, EVIDENCE_DIR, `${UNFINISHED_SET_PREFIX}${name}`)
}

/** Whether anything (a folder, a file, a link, even to nothing) is at `path`. */
async function taken(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined
}

const SEGMENT_SAFE = /^[A-Za-z0-9._$@=+-]$/
const SEGMENT_MAX = 200

/**
 * Makes a path segment safe for the case folder: no separators, no dot-dot, no control characters,
 * at most 200 characters. Distinct values give distinct segments (a role `x,y` and a role `x_y` must
 * not share a folder), and a value already safe is kept as it is (`orders-api`, `$LATEST`): every
 * other byte of its UTF-8 form is percent-encoded (`,` → `%2C`, `%` → `%25`), leading dots too
 * (`..` → `%2E%2E`); a longer result is cut and ends in `~` and 16 hex of a SHA-256 of the whole
 * value (`~` is in no encoding), so names that share a long prefix stay apart. `''` is `%`.
 */
export function safeSegment(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte)
    out += SEGMENT_SAFE.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  out = out.replace(/^\.+/, (dots) => '%2E'.repeat(dots.length))
  if (out.length === 0) return '%'
  // A lone surrogate has no UTF-8 form (Buffer writes U+FFFD for any): the hash keeps such values
  // apart, taken over the UTF-16 code units for that reason.
  if (out.length <= SEGMENT_MAX && !/\p{Cs}/u.test(value)) return out
  // The cut never leaves half an escape.
  const head = out.slice(0, SEGMENT_MAX - 17).replace(/%[0-9A-F]?$/, '')
  return `${head}~${sha256Hex(Buffer.from(value, 'utf16le')).slice(0, 16)}`
}

function checkRelative(rel: string): string {
  const norm = posix.normalize(rel)
  if (norm.startsWith('/') || norm.startsWith('..') || norm.includes('/../') || norm === MANIFEST_FILE) {
    throw new Error(`evidence path ${JSON.stringify(rel)} is not a plain relative path`)
  }
  return norm
}

/**
 * One dated evidence set (`evidence/<UTC timestamp>/`): files are written once, each hashed as it
 * is written, into the set's unfinished folder; `seal` writes manifest.json, journals its SHA-256,
 * then moves the set to its final name, after which it is closed.
 */
export class EvidenceSet {
  private readonly files = new Map<string, ManifestFile>()
  /** Paths being written: a second write of one is refused at once, not raced on disk. */
  private readonly writing = new Set<string>()
  private sealed = false
  private placed = false
  /**
   * Stops the unfinished folder being removed on an interruption: until its seal is journaled the
   * set is no evidence, and Ctrl-C removes it rather than leave it in the case for good.
   */
  private untrack: () => void = () => {}

  private constructor(
    readonly caseDir: string,
    readonly name: string,
    private readonly journal: Journal,
    private readonly firVersion: string,
  ) {}

  /** Where the set's files are: its unfinished folder until it is sealed, then evidence/<name>. */
  get dir(): string {
    return this.placed
      ? join(this.caseDir, EVIDENCE_DIR, this.name)
      : unfinishedSetDir(this.caseDir, this.name)
  }

  static async create(
    caseDir: string,
    journal: Journal,
    firVersion: string,
    now = new Date(),
  ): Promise<EvidenceSet> {
    await refuseLinkedCaseFolders(caseDir)
    // A name no set has, on disk (sealed, unfinished) or in the journal (a sealed set since lost).
    const journaled = new Set(sealedSets(journal.all()).map((s) => s.name))
    const inUse = async (name: string) =>
      journaled.has(name) ||
      (await taken(join(caseDir, EVIDENCE_DIR, name))) ||
      (await taken(unfinishedSetDir(caseDir, name)))
    let name = compactUtc(now)
    let n = 1
    while (await inUse(name)) name = `${compactUtc(now)}-${++n}`
    const set = new EvidenceSet(caseDir, name, journal, firVersion)
    await ensureDir(set.dir)
    set.untrack = trackTemporary(set.dir)
    return set
  }

  has(rel: string): boolean {
    return this.files.has(posix.normalize(rel))
  }

  list(): ManifestFile[] {
    return [...this.files.values()]
  }

  /**
   * Writes `rel` once: `write` puts the file in place and returns its hash and size, which the
   * manifest records. The path is held while it is written, and freed again if the write fails.
   */
  private async writeOnce(
    rel: string,
    source: EvidenceSource,
    write: (norm: string) => Promise<{ sha256: string; bytes: number }>,
  ): Promise<ManifestFile> {
    if (this.sealed) throw new Error(`evidence set ${this.name} is sealed`)
    const norm = checkRelative(rel)
    if (this.files.has(norm) || this.writing.has(norm))
      throw new WriteOnceError(`evidence file ${norm} was already written in set ${this.name}`)
    this.writing.add(norm)
    try {
      const { sha256, bytes } = await write(norm)
      const entry: ManifestFile = { path: norm, sha256, bytes, source, at: new Date().toISOString() }
      this.files.set(norm, entry)
      return entry
    } finally {
      this.writing.delete(norm)
    }
  }

  /** Stores an API response as JSON (AWS field names kept; the SDK's $metadata dropped). */
  async writeJson(rel: string, body: unknown, source: EvidenceSource): Promise<ManifestFile> {
    let doc = body ?? null
    if (doc && typeof doc === 'object' && !Array.isArray(doc) && '$metadata' in doc) {
      const { $metadata: _meta, ...rest } = doc as Record<string, unknown>
      doc = rest
    }
    return this.writeBytes(rel, `${JSON.stringify(doc, null, 2)}\n`, source)
  }

  writeBytes(rel: string, data: string | Uint8Array, source: EvidenceSource): Promise<ManifestFile> {
    return this.writeOnce(rel, source, async (norm) => {
      await writeFileAtomic(join(this.dir, norm), data, { once: true })
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length
      return { sha256: sha256Hex(data), bytes }
    })
  }

  /** Streams bytes to disk (hashing as they pass), then renames into place. */
  writeStream(rel: string, stream: Readable, source: EvidenceSource): Promise<ManifestFile> {
    return this.writeOnce(rel, source, async (norm) => {
      const dest = join(this.dir, norm)
      await ensureDir(dirname(dest))
      const tmp = tempPathFor(dest)
      const hash = createHash('sha256')
      let bytes = 0
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        bytes += chunk.length
      })
      try {
        await pipeline(stream, createWriteStream(tmp, { mode: FILE_MODE, flags: 'wx' }))
        const handle = await open(tmp, constants.O_RDONLY)
        await handle.sync()
        await handle.close()
        if (await exists(dest)) throw new WriteOnceError(`refusing to overwrite ${dest}: it is write-once`)
        await rename(tmp, dest)
        await fsyncDir(dirname(dest))
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
      return { sha256: hash.digest('hex'), bytes }
    })
  }

  /** Moves a finished download (e.g. a resumed `.partial` file) into the set, hashing it. */
  adoptFile(rel: string, finishedPath: string, source: EvidenceSource): Promise<ManifestFile> {
    return this.writeOnce(rel, source, async (norm) => {
      const dest = join(this.dir, norm)
      await ensureDir(dirname(dest))
      if (await exists(dest)) throw new WriteOnceError(`refusing to overwrite ${dest}: it is write-once`)
      await chmod(finishedPath, FILE_MODE)
      const hashed = await sha256File(finishedPath)
      await rename(finishedPath, dest)
      await fsyncDir(dirname(dest))
      return hashed
    })
  }

  /**
   * A new scratch file for a resumable download, adopted into the set once whole. It lies beside
   * the sets, in evidence/, not in this one: a set holds evidence only, and what an interrupted or
   * killed run leaves of a download is removed like any temporary (trackTemporary,
   * sweepTemporaries), which a set's own files never are.
   */
  partialPath(): string {
    return partialPathIn(join(this.caseDir, EVIDENCE_DIR))
  }

  /**
   * Writes manifest.json, journals its hash, then gives the set its final name; the set is closed
   * after this. A crash after the journal line and before the rename is finished by the next
   * command that opens the case (completeInterruptedSeals).
   */
  async seal(
    extra: Record<string, unknown> = {},
    target = '',
  ): Promise<{ manifest: Manifest; sha256: string }> {
    if (this.sealed) throw new Error(`evidence set ${this.name} is already sealed`)
    this.sealed = true
    const manifest: Manifest = {
      set: this.name,
      created: this.name,
      sealed: new Date().toISOString(),
      firVersion: this.firVersion,
      ...extra,
      files: [...this.files.values()],
    }
    const text = `${JSON.stringify(manifest, null, 2)}\n`
    await writeFileAtomic(join(this.dir, MANIFEST_FILE), text, { once: true })
    const sha256 = sha256Hex(text)
    // From here the set may be sealed (a line written as the signal comes): never removed.
    this.untrack()
    await this.journal.append({
      action: 'evidence.seal',
      target,
      params: { set: this.name, manifestSha256: sha256, files: manifest.files.length },
      outcome: 'recorded',
    })
    await placeSealedSet(this.caseDir, this.name)
    this.placed = true
    return { manifest, sha256 }
  }
}

/** Moves a sealed set from its unfinished folder to evidence/<name>, never over anything there. */
async function placeSealedSet(caseDir: string, name: string): Promise<void> {
  const to = join(caseDir, EVIDENCE_DIR, name)
  if (await taken(to))
    throw new Error(`refusing to replace ${to} with the set just sealed: evidence is write-once`)
  await rename(unfinishedSetDir(caseDir, name), to)
  await fsyncDir(join(caseDir, EVIDENCE_DIR))
}

/** A set the journal seals (`evidence.seal`): its name and its manifest's SHA-256 as journaled. */
export interface SealedSetRef {
  name: string
  manifestSha256: string
  seq: number
}

/**
 * The evidence sets the journal seals, in the order they were sealed (the newest last). Only the
 * journal makes a folder of evidence/ a set: a folder no seal names (a hand-made one, an
 * interrupted run's) is none. Names that are not plain folder names are left out.
 */
export function sealedSets(entries: readonly JournalEntry[]): SealedSetRef[] {
  const out: SealedSetRef[] = []
  for (const e of entries) {
    const name = e.action === 'evidence.seal' ? e.params?.set : undefined
    if (typeof name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) continue
    out.push({ name, manifestSha256: String(e.params.manifestSha256), seq: e.seq })
  }
  return out
}

/** A set the journal seals as a command goes by it: its manifest as sealed, and where the set is. */
export interface SealedManifest {
  manifest: Manifest
  /**
   * The set's folder: evidence/<name>, or its unfinished folder while a crash left it there after
   * its seal was journaled (the next command that writes to the case moves it).
   */
  dir: string
}

/**
 * The manifest of a set the journal seals, exactly as sealed (same SHA-256), and the folder the set
 * is in. A set the journal sealed is evidence: one gone, or replaced by a link or a file, or whose
 * manifest is missing, changed or swapped for a link, is refused (exit 3), naming it and `fir case
 * verify`, as any sealed file is (readSealedFile); skipped, it left a command going by an older
 * snapshot, or by none, as though it were the case's latest. A folder no seal names (a set an
 * interrupted run was building, never sealed) is no set and never comes here (sealedSets).
 */
export async function readSealedManifest(caseDir: string, set: SealedSetRef): Promise<SealedManifest> {
  // Sealed, not yet given its final name (a crash before the rename): checked where it is, as
  // `case verify` checks it, and a changed manifest there is refused like any.
  const dir = (await stillUnfinished(caseDir, set.name))
    ? unfinishedSetDir(caseDir, set.name)
    : join(caseDir, EVIDENCE_DIR, set.name)
  const setRel = `${EVIDENCE_DIR}/${basename(dir)}`
  const st = await lstat(dir).catch(() => undefined)
  if (!st)
    throw new SealedEvidenceChangedError(
      caseDir,
      `${setRel}/`,
      `it is missing (the journal sealed it at entry ${set.seq})`,
    )
  if (st.isSymbolicLink())
    throw new SealedEvidenceChangedError(
      caseDir,
      `${setRel}/`,
      'it is now a symbolic link, not the folder sealed',
    )
  if (!st.isDirectory())
    throw new SealedEvidenceChangedError(caseDir, `${setRel}/`, 'it is no longer a folder')
  const rel = `${setRel}/${MANIFEST_FILE}`
  const path = join(dir, MANIFEST_FILE)
  const file = await lstat(path).catch(() => undefined)
  if (!file) throw new SealedEvidenceChangedError(caseDir, rel, 'it is missing')
  if (file.isSymbolicLink())
    throw new SealedEvidenceChangedError(caseDir, rel, 'it is now a symbolic link, not the file sealed')
  if (!file.isFile()) throw new SealedEvidenceChangedError(caseDir, rel, 'it is no longer a regular file')
  const text = await readFile(path)
  const sha256 = sha256Hex(text)
  if (sha256 !== set.manifestSha256)
    throw new SealedEvidenceChangedError(
      caseDir,
      rel,
      `sha256 ${sha256.slice(0, 12)}…, sealed as ${set.manifestSha256.slice(0, 12)}…`,
    )
  try {
    return { manifest: JSON.parse(text.toString('utf8')) as Manifest, dir }
  } catch {
    throw new SealedEvidenceChangedError(caseDir, rel, 'it is not valid JSON')
  }
}

/** A sealed evidence file or set that is not as the journal sealed it (exit 3): which, and why. */
export class SealedEvidenceChangedError extends IntegrityError {
  constructor(
    caseDir: string,
    /** The case-relative path: `evidence/<set>/manifest.json`, or `evidence/<set>/` for the set. */
    readonly rel: string,
    /** `it is missing`, `sha256 …, sealed as …`… */
    readonly why: string,
  ) {
    super(
      `unable to use evidence ${rel}: it was changed after it was sealed: ${why}; fir goes by evidence only as it was sealed`,
      {
        actions: [
          `run \`fir case verify --case ${shellArg(caseDir)}\` to list every problem`,
          'preserve the case as it is and investigate who changed it; to go on, start a new case (fir case init) and take a new snapshot',
        ],
      },
    )
  }
}

/**
 * A file of a sealed set, read only when it is what was sealed: the regular file its manifest (the
 * one the journal sealed: readSealedManifest) lists, with the SHA-256 and size listed. A command
 * goes by evidence only as it was sealed: a changed, missing or swapped file is refused (exit 3),
 * naming it and `fir case verify` (the report, which does not refuse, shows verify's problems).
 * Undefined when the manifest does not list `rel` (the set holds no such file). `dir`: where the
 * set is, when not evidence/<set> (a sealed set a crash left in its unfinished folder).
 */
export async function readSealedFile(
  caseDir: string,
  set: string,
  manifest: Manifest,
  rel: string,
  dir = join(caseDir, EVIDENCE_DIR, set),
): Promise<Buffer | undefined> {
  const listed = (Array.isArray(manifest.files) ? manifest.files : []).find((f) => f?.path === rel)
  if (!listed) return undefined
  const path = join(dir, rel)
  const st = await lstat(path).catch(() => undefined)
  let why: string | undefined
  let bytes: Buffer | undefined
  if (!st) why = 'it is missing'
  else if (st.isSymbolicLink()) why = 'it is now a symbolic link, not the file sealed'
  else if (!st.isFile()) why = 'it is no longer a regular file'
  else {
    bytes = await readFile(path)
    const sha256 = sha256Hex(bytes)
    if (sha256 !== listed.sha256 || bytes.length !== listed.bytes)
      why = `sha256 ${sha256.slice(0, 12)}… (${bytes.length} bytes), sealed as ${String(listed.sha256).slice(0, 12)}… (${listed.bytes} bytes)`
  }
  if (why === undefined) return bytes
  throw new SealedEvidenceChangedError(caseDir, `${EVIDENCE_DIR}/${set}/${rel}`, why)
}

/**
 * A JSON file of a sealed set (readSealedFile: refused when changed), parsed; undefined when the
 * set holds no such file, or it is not JSON (as sealed: nothing to go by).
 */
export async function readSealedJson(
  caseDir: string,
  set: string,
  manifest: Manifest,
  rel: string,
  dir?: string,
): Promise<unknown> {
  const bytes = await readSealedFile(caseDir, set, manifest, rel, dir)
  if (bytes === undefined) return undefined
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

/**
 * Whether the set `name` is still in its unfinished folder: nothing under its final name, and
 * the unfinished folder there (whatever its manifest holds: `case verify` checks it there).
 */
export async function stillUnfinished(caseDir: string, name: string): Promise<boolean> {
  if (await taken(join(caseDir, EVIDENCE_DIR, name))) return false
  return (await lstat(unfinishedSetDir(caseDir, name)).catch(() => undefined))?.isDirectory() === true
}

/**
 * Whether a sealed set is still in its unfinished folder with the very manifest the journal
 * sealed: a run was interrupted after journaling the seal, before the rename.
 */
export async function sealedButUnplaced(
  caseDir: string,
  name: string,
  manifestSha256: string,
): Promise<boolean> {
  if (!(await stillUnfinished(caseDir, name))) return false
  const text = await readFile(join(unfinishedSetDir(caseDir, name), MANIFEST_FILE)).catch(() => undefined)
  return text !== undefined && sha256Hex(text) === manifestSha256
}

/**
 * Finishes the seals a crash interrupted between the journal line and the rename: each such set is
 * moved to its final name. Call with the case lock held. Returns the sets moved.
 */
export async function completeInterruptedSeals(
  caseDir: string,
  entries: readonly JournalEntry[],
): Promise<string[]> {
  const moved: string[] = []
  for (const set of sealedSets(entries)) {
    if (!(await sealedButUnplaced(caseDir, set.name, set.manifestSha256))) continue
    await placeSealedSet(caseDir, set.name)
    moved.push(set.name)
  }
  return moved
}

export async function readManifest(caseDir: string, set: string): Promise<Manifest> {
  const path = join(caseDir, EVIDENCE_DIR, set, MANIFEST_FILE)
  try {
    return parseJson(await readFile(path, 'utf8')) as Manifest
  } catch (err) {
    throw new UsageError(`unable to read the manifest of evidence set ${set}: ${(err as Error).message}`, {
      actions: [`run \`fir case verify --case ${shellArg(caseDir)}\``],
      cause: err,
    })
  }
}

/** Records a case file outside evidence/ (timeline, report) by hash, so `case verify` can check it. */
export async function recordArtifact(
  caseDir: string,
  journal: Journal,
  rel: string,
): Promise<{ sha256: string; bytes: number }> {
  const { sha256, bytes } = await sha256File(join(caseDir, rel))
  await journal.append({
    action: 'case.artifact',
    target: rel,
    params: { path: rel, sha256, bytes },
    outcome: 'recorded',
  })
  return { sha256, bytes }
}

/** A file the journal records (`case.artifact`): its hash and size, and when it was recorded. */
export interface RecordedArtifact {
  sha256: string
  bytes: number
  at: string
}

/**
 * The files the journal records (`case.artifact`), each with the hash and size of its latest
 * record. A file moved aside (a re-run's timeline/history/) is expected at its new path only.
 * `case verify` checks these, and the report lists them: both read them here.
 */
export function recordedArtifacts(entries: readonly JournalEntry[]): Map<string, RecordedArtifact> {
  const artifacts = new Map<string, RecordedArtifact>()
  for (const e of entries) {
    const params = e.params ?? {}
    if (e.action !== 'case.artifact' || typeof params.path !== 'string') continue
    if (typeof params.movedFrom === 'string') artifacts.delete(params.movedFrom)
    artifacts.set(params.path, {
      sha256: String(params.sha256 ?? ''),
      bytes: Number(params.bytes ?? 0),
      at: e.at,
    })
  }
  return artifacts
}
