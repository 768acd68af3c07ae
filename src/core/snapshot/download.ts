import { createWriteStream } from 'node:fs'
import { rm, stat, truncate } from 'node:fs/promises'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { AwsClients } from '../../aws/clients.js'
import { DownloadError, openLocation } from '../../aws/download.js'
import { isFirError } from '../../errors.js'
import { ensureDir, FILE_MODE } from '../common/fs-safe.js'

/**
 * A presigned location and what it serves: `object` names the bytes behind it (the CodeSha256 of
 * the configuration that gave the location). Two locations for different objects are different
 * downloads: bytes of one are never resumed into the other.
 */
export interface Location {
  url: string
  object?: string
}

/** Gives a fresh presigned location; `attempt` > 0 means the previous one was refused or expired. */
export type LocationSource<L extends Location = Location> = (attempt: number) => Promise<L>

export interface DownloadOutcome<L extends Location = Location> {
  bytes: number
  via: 'https' | 's3-endpoint'
  /** How many times the transfer resumed from a partial file (Range). */
  resumes: number
  /** How many times the location was fetched again (expired or refused). */
  refetches: number
  /** The location the bytes on disk came from, all of them. */
  location: L
  /** How many times partial bytes were discarded because a refetched location served another object. */
  restarts: number
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch {
    return 0
  }
}

/**
 * Downloads a code package or layer into `partialPath`, streaming (memory stays flat for 250 MB
 * layers). A dropped connection resumes from the bytes already on disk with a Range request; a
 * 403/400 (the presigned URL expired: it lives 10 minutes) fetches a new location and goes on,
 * resuming only when the new location serves the same object: one for another object (the code
 * was replaced meanwhile) starts again from byte 0, for the first bytes of one package and the
 * rest of another are a package that never existed. The caller hashes and adopts the finished
 * file, and checks it against the object of `location`.
 */
export async function downloadResumable<L extends Location>(
  aws: AwsClients,
  partialPath: string,
  source: LocationSource<L>,
  options: { maxAttempts?: number } = {},
): Promise<DownloadOutcome<L>> {
  const maxAttempts = options.maxAttempts ?? 5
  await ensureDir(dirname(partialPath))
  let refetches = 0
  let resumes = 0
  let restarts = 0
  let location = await source(0)
  let lastError: unknown
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const have = await sizeOf(partialPath)
    if (attempt > 0 && have > 0) resumes++
    try {
      const opened = await openLocation(aws, location.url, have)
      if (opened.offset === 0 && have > 0) await truncate(partialPath, 0)
      await pipeline(
        opened.body,
        createWriteStream(partialPath, { flags: opened.offset > 0 ? 'a' : 'w', mode: FILE_MODE }),
      )
      const size = await sizeOf(partialPath)
      if (opened.totalBytes !== undefined && size < opened.totalBytes) {
        lastError = new Error(`the transfer ended at ${size} of ${opened.totalBytes} bytes`)
        continue
      }
      return { bytes: size, via: opened.via, resumes, refetches, location, restarts }
    } catch (err) {
      lastError = err
      // A FirError that is not a download failure (the loopback guard) will not heal by retrying.
      const failure = err instanceof DownloadError ? err.failure : isFirError(err) ? 'other' : 'network'
      if (failure === 'expired') {
        refetches++
        const fresh = await source(refetches)
        if (fresh.object !== location.object && (await sizeOf(partialPath)) > 0) {
          await truncate(partialPath, 0)
          restarts++
        }
        location = fresh
        continue
      }
      if (failure === 'range') {
        await truncate(partialPath, 0).catch(() => undefined)
        continue
      }
      if (failure === 'network') continue
      throw err
    }
  }
  throw lastError instanceof Error
    ? lastError
    : new DownloadError(`unable to download after ${maxAttempts} attempts`, 'network')
}

/** Removes a leftover partial file. */
export async function discardPartial(path: string): Promise<void> {
  await rm(path, { force: true })
}
