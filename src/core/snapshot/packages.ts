import { join } from 'node:path'
import type { AwsClients } from '../../aws/clients.js'
import { base64Sha256ToHex, sha256File } from '../common/hash.js'
import { trackTemporary } from '../common/interrupt.js'
import type { Gap } from '../context.js'
import { type ArchiveListing, listArchive } from './archive.js'
import { discardPartial, downloadResumable, type Location, type LocationSource } from './download.js'
import type { SnapshotRun } from './run.js'
import type { CodeChange, CodeCheck } from './types.js'

/**
 * A package's location as the Lambda call that gave it says: `object` is that call's CodeSha256;
 * a location fetched again also says when (`at`, UTC) and where its answer is stored (`file`).
 */
export interface PackageLocation extends Location {
  at?: string
  file?: string
}

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
  /**
   * The location the package was downloaded from served other code than the CodeSha256 asked for
   * (the code changed while fir read it); `file` is the stored answer that gave that location.
   */
  change?: CodeChange & { file?: string }
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
 * what Lambda reports. A mismatch is kept and reported, never hidden. The bytes are checked against
 * the CodeSha256 of the call that gave the location they came from: when a location fetched again
 * came with another CodeSha256 (the code changed while fir read it), the package is that code's,
 * and `change` says so.
 */
export async function storePackage(
  run: SnapshotRun,
  request: {
    kind: 'code' | 'layers'
    aws: AwsClients
    codeSha256: string | undefined
    /** What the package belongs to, for gaps and the manifest: `f:3`, a layer version ARN. */
    label: string
    /** The call that yields the location (a failed download's gap names the GET of its location). */
    call: string
    location: LocationSource<PackageLocation>
    sink?: Gap[]
  },
): Promise<StoredPackage> {
  const packages = run.cache<StoredPackage>('packages')
  const key = `${request.kind}:${request.codeSha256 ?? request.label}`
  let own = false
  const got = await packages.get(key, () => {
    own = true
    return download(run, request)
  })
  if (own || !got.change) return got
  // That download ended on other code (it changed while it was read): this request's location
  // (a published version's, which cannot change) may still serve the package asked for.
  return packages.get(`${key}\u0000${request.label}`, () => download(run, request))
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
  const asked = request.codeSha256 ? base64Sha256ToHex(request.codeSha256) : undefined
  let outcome: Awaited<ReturnType<typeof downloadResumable<PackageLocation>>>
  try {
    outcome = await downloadResumable(request.aws, partial, request.location)
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
    return { check: 'not-downloaded', ...(asked ? { expectedSha256: asked } : {}), gap }
  }
  // Checked against the CodeSha256 of the call that gave the location the bytes came from.
  const served = outcome.location
  const change =
    request.codeSha256 !== undefined && served.object !== undefined && served.object !== request.codeSha256
      ? {
          from: request.codeSha256,
          to: served.object,
          ...(served.at ? { at: served.at } : {}),
          ...(served.file ? { file: served.file } : {}),
        }
      : undefined
  const reported = served.object ?? request.codeSha256
  const expected = reported ? base64Sha256ToHex(reported) : undefined
  const { sha256: actual } = await sha256File(partial)
  const adopted = run.cache<Adopted>('adopted')
  const stored = await adopted.get(`${request.kind}:${actual}`, async () => {
    const file = `${request.kind}/${actual}.zip`
    const entry = await run.set.adoptFile(file, partial, {
      call: `${request.call} → GET Code.Location`,
      target: request.label,
      url: stripQuery(served.url),
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
      `fir: ${request.label}: download resumed ${outcome.resumes}×, location refetched ${outcome.refetches}×${
        outcome.restarts > 0 ? `, started again ${outcome.restarts}× (the location served other code)` : ''
      }`,
    )
  }
  const matches = expected !== undefined && expected === actual
  return {
    check: matches ? (change ? 'changed' : 'match') : 'mismatch',
    ...(expected ? { expectedSha256: expected } : {}),
    actualSha256: actual,
    bytes: stored.bytes,
    file: stored.file,
    listingFile: stored.listingFile,
    listing: stored.listing,
    ...(change ? { change } : {}),
  }
}
