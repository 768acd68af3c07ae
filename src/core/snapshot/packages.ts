import { join } from 'node:path'
import type { AwsClients } from '../../aws/clients.js'
import { base64Sha256ToHex, sha256File } from '../common/hash.js'
import { trackTemporary } from '../common/interrupt.js'
import type { Gap } from '../context.js'
import { type ArchiveListing, listArchive } from './archive.js'
import { discardPartial, downloadResumable, type LocationSource } from './download.js'
import type { SnapshotRun } from './run.js'
import type { CodeCheck } from './types.js'

/** A package (function code or layer content) as stored in the set. */
export interface StoredPackage {
  check: CodeCheck
  /** CodeSha256 as Lambda reports it, in hex (when it is a well-formed base64 SHA-256). */
  expectedSha256?: string
  /** SHA-256 of the bytes downloaded. */
  actualSha256?: string
  bytes?: number
  /** Relative path of the package in the set. */
  file?: string
  listingFile?: string
  listing?: ArchiveListing
  gap?: Gap
}

interface Adopted {
  file: string
  listingFile: string
  listing: ArchiveListing
  bytes: number
}

/**
 * The call a failed download is: the HTTP GET of the presigned location the Lambda call returned
 * (`code download (GetFunction's Code.Location)`), not that Lambda call, which succeeded.
 */
function downloadCall(request: { kind: 'code' | 'layers'; call: string }): string {
  const action = request.call.split(':').at(-1)
  return request.kind === 'code'
    ? `code download (${action}'s Code.Location)`
    : `layer download (${action}'s Content.Location)`
}

function stripQuery(location: string): string {
  try {
    const u = new URL(location)
    return `${u.origin}${u.pathname}`
  } catch {
    return '(unparseable location)'
  }
}

/**
 * Downloads a package once per distinct CodeSha256 (`kind` folder: `code` or `layers`), streams it to
 * disk, hashes it, stores it under its actual SHA-256 (`code/<sha256>.zip`, once per distinct bytes)
 * with an archive listing beside it (`code/<sha256>.listing.json`), and says whether the bytes match
 * what Lambda reports. A mismatch is kept and reported, never hidden.
 */
export function storePackage(
  run: SnapshotRun,
  request: {
    kind: 'code' | 'layers'
    aws: AwsClients
    codeSha256: string | undefined
    /** What the package belongs to, for gaps and the manifest: `f:3`, a layer version ARN. */
    label: string
    /** The call that yields the location (a failed download's gap names the GET of its location). */
    call: string
    location: LocationSource
    sink?: Gap[]
  },
): Promise<StoredPackage> {
  const key = `${request.kind}:${request.codeSha256 ?? request.label}`
  return run.cache<StoredPackage>('packages').get(key, () => download(run, request))
}

async function download(
  run: SnapshotRun,
  request: Parameters<typeof storePackage>[1],
): Promise<StoredPackage> {
  const partial = run.set.partialPath()
  // Ctrl-C or SIGTERM mid-download removes the partial file (hundreds of megabytes for a layer);
  // one a killed run left is swept when the case is next opened.
  const untrack = trackTemporary(partial)
  try {
    return await downloadInto(run, request, partial)
  } finally {
    untrack()
    // Adopted into the set, or not needed: either way nothing of it stays.
    await discardPartial(partial)
  }
}

async function downloadInto(
  run: SnapshotRun,
  request: Parameters<typeof storePackage>[1],
  partial: string,
): Promise<StoredPackage> {
  const expected = request.codeSha256 ? base64Sha256ToHex(request.codeSha256) : undefined
  let lastLocation = ''
  const source: LocationSource = async (attempt) => {
    lastLocation = await request.location(attempt)
    return lastLocation
  }
  let outcome: Awaited<ReturnType<typeof downloadResumable>>
  try {
    outcome = await downloadResumable(request.aws, partial, source)
  } catch (err) {
    const gap = run.rec.gap(
      {
        what: `${request.kind === 'code' ? 'code package' : 'layer content'} of ${request.label}`,
        call: downloadCall(request),
        reason: `${(err as { failure?: string }).failure ?? 'failed'}: ${(err as Error).message}`.slice(
          0,
          500,
        ),
      },
      request.sink,
    )
    return { check: 'not-downloaded', ...(expected ? { expectedSha256: expected } : {}), gap }
  }
  const { sha256: actual } = await sha256File(partial)
  const adopted = run.cache<Adopted>('adopted')
  const stored = await adopted.get(`${request.kind}:${actual}`, async () => {
    const file = `${request.kind}/${actual}.zip`
    const entry = await run.set.adoptFile(file, partial, {
      call: `${request.call} → GET Code.Location`,
      target: request.label,
      url: stripQuery(lastLocation),
    })
    const listing = await listArchive(join(run.set.dir, file))
    const listingFile = `${request.kind}/${actual}.listing.json`
    await run.set.writeJson(
      listingFile,
      { archive: file, sha256: actual, bytes: entry.bytes, ...listing },
      {
        call: 'fir:list-archive',
        target: file,
      },
    )
    return { file, listingFile, listing, bytes: entry.bytes }
  })
  // Another download produced the same bytes first: this copy is redundant (download() removes it).
  if (outcome.refetches > 0 || outcome.resumes > 0) {
    run.ctx.log.info(
      `fir: ${request.label}: download resumed ${outcome.resumes}×, location refetched ${outcome.refetches}×`,
    )
  }
  return {
    check: expected !== undefined && expected === actual ? 'match' : 'mismatch',
    ...(expected ? { expectedSha256: expected } : {}),
    actualSha256: actual,
    bytes: stored.bytes,
    file: stored.file,
    listingFile: stored.listingFile,
    listing: stored.listing,
  }
}
