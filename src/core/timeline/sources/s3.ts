import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AwsClients } from '../../../aws/clients.js'
import { classifyFailure, gapReason } from '../../../aws/errors.js'
import {
  getObjectBytes,
  getObjectToFile,
  listObjects,
  listPrefixes,
  type TrailObject,
} from '../../../aws/trail-files.js'
import { UsageError } from '../../../errors.js'
import type { Gap, Gaps } from '../../context.js'
import { type FileTask, STREAM_THRESHOLD_BYTES } from '../file-task.js'
import type { TimeWindow } from '../types.js'
import { deliveryFolders, deliveryMayHold, deliverySpan, deliveryTimeOf, spanYears } from '../window.js'

export interface S3Location {
  bucket: string
  prefix: string
}

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri)
  if (!m) {
    throw new UsageError(`unable to use source ${JSON.stringify(uri)}: it is not an s3://bucket/prefix URI`, {
      actions: ['pass --source s3://my-trail-bucket or s3://my-trail-bucket/prefix'],
    })
  }
  return { bucket: m[1]!, prefix: m[2] ?? '' }
}

export interface S3Stats {
  listed: number
  selected: number
  outsideWindow: number
  digestFiles: number
  listCalls: number
  failed: number
}

const ACCOUNT = /^\d{12}$/
const ORG = /^o-[a-z0-9]{10,32}$/

function segmentOf(prefix: string): string {
  const parts = prefix.split('/').filter(Boolean)
  return parts.at(-1) ?? ''
}

/**
 * The `…/CloudTrail/<region>/` prefixes to read under a source prefix, walking CloudTrail's layout
 * `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/YYYY/MM/DD/` from wherever the given
 * prefix stops. Only the target account (when known) and the chosen regions (when given) are kept.
 */
export async function regionPrefixes(
  aws: AwsClients,
  loc: S3Location,
  options: { account?: string; regions?: string[] },
): Promise<string[]> {
  let prefix = loc.prefix
  if (prefix && !prefix.endsWith('/')) prefix += '/'
  const tail = prefix.split('/').filter(Boolean)
  const at = tail.lastIndexOf('AWSLogs')
  const after = at >= 0 ? tail.slice(at + 1) : undefined
  // Already at a region: …/CloudTrail/<region>/
  if (after && after.at(-2) === 'CloudTrail' && after.length >= 3) return [prefix]
  let accountPrefixes: string[]
  if (after === undefined) {
    accountPrefixes = await accountsUnder(aws, loc.bucket, `${prefix}AWSLogs/`)
  } else if (after.length === 0) {
    accountPrefixes = await accountsUnder(aws, loc.bucket, prefix)
  } else if (after.length === 1 && ORG.test(after[0]!)) {
    accountPrefixes = await accountsUnder(aws, loc.bucket, prefix)
  } else if (after.at(-1) === 'CloudTrail') {
    accountPrefixes = [prefix.slice(0, -'CloudTrail/'.length)]
  } else {
    accountPrefixes = [prefix]
  }
  if (options.account) accountPrefixes = accountPrefixes.filter((p) => segmentOf(p) === options.account)
  const out: string[] = []
  for (const acct of accountPrefixes) {
    for (const regionPrefix of await listPrefixes(aws, loc.bucket, `${acct}CloudTrail/`)) {
      const region = segmentOf(regionPrefix)
      if (options.regions && !options.regions.includes(region)) continue
      out.push(regionPrefix)
    }
  }
  return out
}

async function accountsUnder(aws: AwsClients, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = []
  for (const p of await listPrefixes(aws, bucket, prefix)) {
    const seg = segmentOf(p)
    if (ACCOUNT.test(seg)) out.push(p)
    else if (ORG.test(seg))
      out.push(...(await listPrefixes(aws, bucket, p)).filter((q) => ACCOUNT.test(segmentOf(q))))
  }
  return out
}

/**
 * A span of more years than this is listed through the year folders the region has (one call)
 * rather than by trying a prefix for each year (a window to 3000 is nearly a thousand of them).
 */
export const MAX_YEAR_PREFIXES = 20

/**
 * The trail files of the window, listed by date folder (whole years and months where the window
 * covers them, days at its edges: see deliveryFolders; the date in the key is delivery time, so a
 * margin around the window is read) and pruned by the delivery time in each file name. No day of
 * the window is left unlisted: a folder that cannot be listed is a gap.
 */
export async function* windowObjects(
  aws: AwsClients,
  bucket: string,
  regionPrefixList: string[],
  window: TimeWindow,
  now: number,
  stats: S3Stats,
  gaps: Gaps,
): AsyncGenerator<TrailObject> {
  const span = deliverySpan(window, now)
  const years = spanYears(span)
  for (const regionPrefix of regionPrefixList) {
    let folders: string[]
    if (years.length <= MAX_YEAR_PREFIXES) folders = deliveryFolders(span, years)
    else {
      try {
        const present = (await listPrefixes(aws, bucket, regionPrefix))
          .map(segmentOf)
          .filter((seg) => /^\d{4}$/.test(seg))
          .map(Number)
        stats.listCalls++
        folders = deliveryFolders(span, present)
      } catch (err) {
        gaps.add(listingGap(`s3://${bucket}/${regionPrefix}`, err))
        continue
      }
    }
    for (const folder of folders) {
      const prefix = `${regionPrefix}${folder}`
      try {
        for await (const page of listObjects(aws, bucket, prefix)) {
          stats.listCalls++
          for (const obj of page) {
            stats.listed++
            const name = obj.key.slice(obj.key.lastIndexOf('/') + 1)
            if (/CloudTrail-Digest/.test(obj.key)) {
              stats.digestFiles++
              continue
            }
            const delivered = deliveryTimeOf(name)
            if (delivered !== undefined && !deliveryMayHold(window, delivered)) {
              stats.outsideWindow++
              continue
            }
            stats.selected++
            yield obj
          }
        }
      } catch (err) {
        gaps.add(listingGap(`s3://${bucket}/${prefix}`, err))
      }
    }
  }
}

/**
 * Downloads trail files with bounded concurrency and yields them as pipeline tasks, as they
 * arrive. Small files travel as bytes (handed to a worker without copying); large ones are
 * streamed to a temporary file and read from there. A file that cannot be read is a gap.
 */
export async function* downloadTasks(
  aws: AwsClients,
  bucket: string,
  objects: AsyncIterable<TrailObject>,
  nextSeq: () => number,
  stats: S3Stats,
  gaps: Gaps,
  /** Temporary folders made for large files; the caller removes them once the pipeline is done. */
  tempDirs: string[],
  concurrency = 8,
): AsyncGenerator<FileTask> {
  let tmp: string | undefined
  const inflight = new Map<number, Promise<{ id: number; task?: FileTask }>>()
  let id = 0
  const start = (obj: TrailObject) => {
    const myId = id++
    const display = `s3://${bucket}/${obj.key}`
    const p = (async () => {
      try {
        if (obj.size > STREAM_THRESHOLD_BYTES) {
          if (!tmp) {
            tmp = await mkdtemp(join(tmpdir(), 'fir-timeline-'))
            tempDirs.push(tmp)
          }
          const path = join(tmp, `${myId}${obj.key.endsWith('.gz') ? '.json.gz' : '.json'}`)
          const size = await getObjectToFile(aws, bucket, obj.key, path)
          return { id: myId, task: { seq: nextSeq(), display, origin: 's3' as const, path, size } }
        }
        const data = await getObjectBytes(aws, bucket, obj.key)
        return { id: myId, task: { seq: nextSeq(), display, origin: 's3' as const, data, size: data.length } }
      } catch (err) {
        stats.failed++
        const cause = (err as { cause?: unknown }).cause ?? err
        gaps.add({ what: display, call: 's3:GetObject', reason: gapReason(cause) })
        if (classifyFailure(cause) === 'credentials') throw err
        return { id: myId }
      }
    })()
    inflight.set(myId, p)
  }
  try {
    for await (const obj of objects) {
      start(obj)
      if (inflight.size >= concurrency) {
        const done = await Promise.race(inflight.values())
        inflight.delete(done.id)
        if (done.task) yield done.task
      }
    }
    while (inflight.size > 0) {
      const done = await Promise.race(inflight.values())
      inflight.delete(done.id)
      if (done.task) yield done.task
    }
  } finally {
    await Promise.allSettled(inflight.values())
  }
}

/** The gap of a trail-bucket listing that failed (after the SDK's retries). */
export function listingGap(uri: string, err: unknown): Gap {
  const cause = (err as { cause?: unknown }).cause ?? err
  return { what: `trail files under ${uri}`, call: 's3:ListBucket', reason: gapReason(cause) }
}
