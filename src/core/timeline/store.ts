import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Journal } from '../case/journal.js'
import { ensureDir, FILE_MODE, fsyncDir, tempPathFor } from '../common/fs-safe.js'

/**
 * Writes a file atomically as a stream: a temporary file beside it, buffered writes, fsync, then a
 * rename over the old file (a re-run replaces the file only once the new one is complete).
 */
export class AtomicFileWriter {
  private handle: FileHandle | undefined
  private tmp = ''
  private chunks: Buffer[] = []
  private pending = 0
  private readonly hash = createHash('sha256')
  bytes = 0

  constructor(
    readonly path: string,
    private readonly bufferBytes = 1 << 20,
  ) {}

  async open(): Promise<this> {
    await ensureDir(dirname(this.path))
    this.tmp = tempPathFor(this.path)
    this.handle = await open(this.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE)
    return this
  }

  async write(data: string | Buffer): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    this.chunks.push(buf)
    this.pending += buf.length
    if (this.pending >= this.bufferBytes) await this.flush()
  }

  private async flush(): Promise<void> {
    if (this.chunks.length === 0) return
    const chunks = this.chunks
    this.chunks = []
    this.bytes += this.pending
    this.pending = 0
    for (const c of chunks) this.hash.update(c)
    await this.handle!.writev(chunks)
  }

  /** Flushes, fsyncs and renames into place; returns the file's SHA-256 (hashed as written). */
  async commit(): Promise<{ sha256: string; bytes: number }> {
    await this.flush()
    await this.handle!.sync()
    await this.handle!.close()
    this.handle = undefined
    await rename(this.tmp, this.path)
    await fsyncDir(dirname(this.path))
    return { sha256: this.hash.digest('hex'), bytes: this.bytes }
  }

  async abort(): Promise<void> {
    if (this.handle) await this.handle.close().catch(() => undefined)
    this.handle = undefined
    if (this.tmp) await rm(this.tmp, { force: true })
  }
}

/**
 * Journals a case file fir has just written and hashed as it wrote it: the same `case.artifact`
 * entry recordArtifact makes (so `fir case verify` checks the file), without reading a large file
 * (an account-wide events.jsonl runs to gigabytes) a second time.
 */
export async function recordWrittenArtifact(
  journal: Journal,
  rel: string,
  written: { sha256: string; bytes: number },
): Promise<void> {
  await journal.append({
    action: 'case.artifact',
    target: rel,
    params: { path: rel, sha256: written.sha256, bytes: written.bytes },
    outcome: 'recorded',
  })
}
