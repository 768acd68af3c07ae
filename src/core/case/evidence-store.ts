import { createHash } from 'node:crypto'
import { constants, createWriteStream } from 'node:fs'
import { chmod, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join, posix } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { UsageError } from '../../errors.js'
import { ensureDir, exists, FILE_MODE, fsyncDir, tempPathFor, writeFileAtomic } from '../common/fs-safe.js'
import { sha256File, sha256Hex } from '../common/hash.js'
import { compactUtc, shellArg } from '../common/text.js'
import type { Journal } from './journal.js'

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

/** Makes a path segment safe for the case folder: no separators, no dot-dot, no control characters. */
export function safeSegment(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._$@=+-]/g, '_').replace(/^\.+/, '_')
  return cleaned.length === 0 ? '_' : cleaned.slice(0, 200)
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
 * is written; `seal` writes manifest.json and journals its SHA-256, after which the set is closed.
 */
export class EvidenceSet {
  private readonly files = new Map<string, ManifestFile>()
  private sealed = false

  private constructor(
    readonly caseDir: string,
    readonly name: string,
    private readonly journal: Journal,
    private readonly firVersion: string,
  ) {}

  get dir(): string {
    return join(this.caseDir, EVIDENCE_DIR, this.name)
  }

  static async create(
    caseDir: string,
    journal: Journal,
    firVersion: string,
    now = new Date(),
  ): Promise<EvidenceSet> {
    let name = compactUtc(now)
    let n = 1
    while (await exists(join(caseDir, EVIDENCE_DIR, name))) name = `${compactUtc(now)}-${++n}`
    const set = new EvidenceSet(caseDir, name, journal, firVersion)
    await ensureDir(set.dir)
    return set
  }

  has(rel: string): boolean {
    return this.files.has(posix.normalize(rel))
  }

  list(): ManifestFile[] {
    return [...this.files.values()]
  }

  private claim(rel: string): string {
    if (this.sealed) throw new Error(`evidence set ${this.name} is sealed`)
    const norm = checkRelative(rel)
    if (this.files.has(norm)) throw new Error(`evidence file ${norm} was already written in set ${this.name}`)
    return norm
  }

  private record(norm: string, sha256: string, bytes: number, source: EvidenceSource): ManifestFile {
    const entry: ManifestFile = { path: norm, sha256, bytes, source, at: new Date().toISOString() }
    this.files.set(norm, entry)
    return entry
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

  async writeBytes(rel: string, data: string | Uint8Array, source: EvidenceSource): Promise<ManifestFile> {
    const norm = this.claim(rel)
    await writeFileAtomic(join(this.dir, norm), data, { once: true })
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length
    return this.record(norm, sha256Hex(data), bytes, source)
  }

  /** Streams bytes to disk (hashing as they pass), then renames into place. */
  async writeStream(rel: string, stream: Readable, source: EvidenceSource): Promise<ManifestFile> {
    const norm = this.claim(rel)
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
      if (await exists(dest)) throw new Error(`refusing to overwrite ${dest}: it is write-once`)
      await rename(tmp, dest)
      await fsyncDir(dirname(dest))
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
    return this.record(norm, hash.digest('hex'), bytes, source)
  }

  /** Moves a finished download (e.g. a resumed `.partial` file) into the set, hashing it. */
  async adoptFile(rel: string, finishedPath: string, source: EvidenceSource): Promise<ManifestFile> {
    const norm = this.claim(rel)
    const dest = join(this.dir, norm)
    await ensureDir(dirname(dest))
    if (await exists(dest)) throw new Error(`refusing to overwrite ${dest}: it is write-once`)
    await chmod(finishedPath, FILE_MODE)
    const { sha256, bytes } = await sha256File(finishedPath)
    await rename(finishedPath, dest)
    await fsyncDir(dirname(dest))
    return this.record(norm, sha256, bytes, source)
  }

  /** A scratch path inside the set for a resumable download (not in the manifest until adopted). */
  partialPath(rel: string): string {
    return join(this.dir, `${checkRelative(rel)}.partial`)
  }

  /** Writes manifest.json and journals its hash; the set is closed after this. */
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
    await this.journal.append({
      action: 'evidence.seal',
      target,
      params: { set: this.name, manifestSha256: sha256, files: manifest.files.length },
      outcome: 'recorded',
    })
    return { manifest, sha256 }
  }
}

export async function readManifest(caseDir: string, set: string): Promise<Manifest> {
  const path = join(caseDir, EVIDENCE_DIR, set, MANIFEST_FILE)
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Manifest
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
