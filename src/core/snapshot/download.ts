import { createWriteStream } from 'node:fs'
import { rm, stat, truncate } from 'node:fs/promises'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { AwsClients } from '../../aws/clients.js'
import { DownloadError, openLocation } from '../../aws/download.js'
import { isFirError } from '../../errors.js'
import { ensureDir, FILE_MODE } from '../common/fs-safe.js'

/** Gives a fresh presigned location; `attempt` > 0 means the previous one was refused or expired. */
export type LocationSource = (attempt: number) => Promise<string>

export interface DownloadOutcome {
  bytes: number
  via: 'https' | 's3-endpoint'
  /** How many times the transfer resumed from a partial file (Range). */
  resumes: number
  /** How many times the location was fetched again (expired or refused). */
  refetches: number
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
 * 403/400 (the presigned URL expired: it lives 10 minutes) fetches a new location and goes on.
 * The caller hashes and adopts the finished file.
 */
export async function downloadResumable(
  aws: AwsClients,
  partialPath: string,
  source: LocationSource,
  options: { maxAttempts?: number } = {},
): Promise<DownloadOutcome> {
  const maxAttempts = options.maxAttempts ?? 5
  await ensureDir(dirname(partialPath))
  let refetches = 0
  let resumes = 0
  let location = await source(0)
  let lastError: unknown
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const have = await sizeOf(partialPath)
    if (attempt > 0 && have > 0) resumes++
    try {
      const opened = await openLocation(aws, location, have)
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
      return { bytes: size, via: opened.via, resumes, refetches }
    } catch (err) {
      lastError = err
      // A FirError that is not a download failure (the loopback guard) will not heal by retrying.
      const failure = err instanceof DownloadError ? err.failure : isFirError(err) ? 'other' : 'network'
      if (failure === 'expired') {
        refetches++
        location = await source(refetches)
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
