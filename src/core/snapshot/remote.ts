import { join } from 'node:path'
import type { AwsClients } from '../../aws/clients.js'
import { getObjectLockConfiguration, isNoObjectLock, putLockedObject } from '../../aws/s3.js'
import { UsageError } from '../../errors.js'
import type { EvidenceSet, ManifestFile } from '../case/evidence-store.js'
import { scrubAndCut } from '../common/redact.js'
import type { Gap } from '../context.js'
import { mapLimit } from './pacing.js'
import type { RemoteCopy } from './types.js'

/** `s3://bucket/prefix` of --evidence-bucket. */
export interface EvidenceBucket {
  bucket: string
  prefix: string
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/** Parses `s3://bucket[/prefix]`; a bad value is a usage error. */
export function parseEvidenceBucket(uri: string): EvidenceBucket {
  const m = uri.match(/^s3:\/\/([^/]+)\/?(.*)$/)
  if (!m || !BUCKET_NAME.test(m[1]!) || m[1]!.includes('..')) {
    throw new UsageError(
      `unable to use evidence bucket ${JSON.stringify(uri)}: it is not s3://bucket/prefix`,
      {
        actions: ['pass --evidence-bucket like s3://ir-evidence-123456789012/cases'],
      },
    )
  }
  const prefix = m[2]!.replace(/^\/+|\/+$/g, '')
  if (prefix.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new UsageError(
      `unable to use evidence bucket prefix ${JSON.stringify(prefix)}: no '.' or '..' segments`,
      {
        actions: ['choose a plain prefix such as cases/INC-1'],
      },
    )
  }
  return { bucket: m[1]!, prefix }
}

/**
 * Refuses a bucket without Object Lock (DESIGN §2): evidence copied there could be deleted or
 * overwritten. Checked before anything is collected.
 */
export async function assertObjectLock(aws: AwsClients, target: EvidenceBucket): Promise<void> {
  let enabled: string | undefined
  try {
    const out = await getObjectLockConfiguration(aws, target.bucket)
    enabled = out.ObjectLockConfiguration?.ObjectLockEnabled
  } catch (err) {
    if (!isNoObjectLock(err)) throw err
  }
  if (enabled !== 'Enabled') {
    throw new UsageError(
      `unable to use evidence bucket ${target.bucket}: Object Lock is not enabled on it, so copies could be deleted or overwritten`,
      {
        actions: [
          'use a bucket created with Object Lock enabled (aws s3api create-bucket … --object-lock-enabled-for-bucket)',
          'or run without --evidence-bucket and copy the case folder yourself',
        ],
      },
    )
  }
}

function keyFor(target: EvidenceBucket, set: string, path: string): string {
  return [target.prefix, set, path].filter(Boolean).join('/')
}

/**
 * Copies every file of the set to the bucket under Object Lock retention (mode and retain-until
 * date per object), streamed, with S3 checking each object's SHA-256. Returns the copies (version
 * ids included) for the manifest; a failed upload is a gap, the others go on.
 */
export async function uploadSetFiles(
  aws: AwsClients,
  set: EvidenceSet,
  files: ManifestFile[],
  target: EvidenceBucket,
  retention: { mode: 'COMPLIANCE' | 'GOVERNANCE'; until: Date },
  addGap: (gap: Gap) => void,
): Promise<RemoteCopy> {
  const objects: RemoteCopy['objects'] = []
  await mapLimit(files, 4, async (f) => {
    const key = keyFor(target, set.name, f.path)
    try {
      const out = await putLockedObject(aws, {
        bucket: target.bucket,
        key,
        file: join(set.dir, f.path),
        bytes: f.bytes,
        sha256: f.sha256,
        mode: retention.mode,
        retainUntil: retention.until,
        contentType: f.path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      })
      objects.push({
        path: f.path,
        key,
        ...(out.VersionId ? { versionId: out.VersionId } : {}),
        ...(out.ETag ? { etag: out.ETag } : {}),
      })
    } catch (err) {
      addGap({
        what: `copy of ${f.path} to s3://${target.bucket}/${key}`,
        call: 's3:PutObject',
        reason: scrubAndCut((err as Error).message, 500, ''),
      })
    }
  })
  objects.sort((a, b) => a.path.localeCompare(b.path))
  return {
    bucket: target.bucket,
    prefix: target.prefix,
    mode: retention.mode,
    retainUntil: retention.until.toISOString(),
    objects,
  }
}

/** Copies the sealed manifest itself (after the set is sealed). */
export async function uploadManifest(
  aws: AwsClients,
  set: EvidenceSet,
  target: EvidenceBucket,
  manifest: { sha256: string; bytes: number },
  retention: { mode: 'COMPLIANCE' | 'GOVERNANCE'; until: Date },
): Promise<{ key: string; versionId?: string }> {
  const key = keyFor(target, set.name, 'manifest.json')
  const out = await putLockedObject(aws, {
    bucket: target.bucket,
    key,
    file: join(set.dir, 'manifest.json'),
    bytes: manifest.bytes,
    sha256: manifest.sha256,
    mode: retention.mode,
    retainUntil: retention.until,
    contentType: 'application/json',
  })
  return { key, ...(out.VersionId ? { versionId: out.VersionId } : {}) }
}
