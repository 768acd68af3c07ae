import { createReadStream } from 'node:fs'
import type {
  GetObjectLockConfigurationCommandOutput,
  HeadObjectCommandOutput,
  PutObjectCommandOutput,
} from '@aws-sdk/client-s3'
import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

/** s3:GetBucketObjectLockConfiguration (ObjectLockConfigurationNotFoundError when the bucket has none). */
export async function getObjectLockConfiguration(
  aws: AwsClients,
  bucket: string,
): Promise<GetObjectLockConfigurationCommandOutput> {
  try {
    return await aws.s3.send(new (sdk.s3().GetObjectLockConfigurationCommand)({ Bucket: bucket }))
  } catch (err) {
    throw toFirError(
      err,
      's3:GetBucketObjectLockConfiguration',
      `read the Object Lock configuration of ${bucket}`,
    )
  }
}

/** Whether an error from getObjectLockConfiguration means "this bucket has no Object Lock". */
export function isNoObjectLock(err: unknown): boolean {
  const cause = (err as { cause?: { name?: string } })?.cause
  return cause?.name === 'ObjectLockConfigurationNotFoundError'
}

export interface LockedPut {
  bucket: string
  key: string
  file: string
  bytes: number
  /** Lowercase hex SHA-256 of the file; sent as ChecksumSHA256 so S3 verifies what it stores. */
  sha256: string
  mode: 'COMPLIANCE' | 'GOVERNANCE'
  retainUntil: Date
  contentType?: string
}

/** s3:PutObject of a local file under Object Lock retention, streamed, with an S3-side SHA-256 check. */
export async function putLockedObject(aws: AwsClients, put: LockedPut): Promise<PutObjectCommandOutput> {
  try {
    return await aws.s3.send(
      new (sdk.s3().PutObjectCommand)({
        Bucket: put.bucket,
        Key: put.key,
        Body: createReadStream(put.file),
        ContentLength: put.bytes,
        ContentType: put.contentType ?? 'application/octet-stream',
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: Buffer.from(put.sha256, 'hex').toString('base64'),
        ObjectLockMode: put.mode,
        ObjectLockRetainUntilDate: put.retainUntil,
      }),
    )
  } catch (err) {
    throw toFirError(err, 's3:PutObject', `copy evidence to s3://${put.bucket}/${put.key}`)
  }
}

/** s3:HeadObject (retention mode and date included when the caller may read them). */
export async function headObject(
  aws: AwsClients,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<HeadObjectCommandOutput> {
  try {
    return await aws.s3.send(
      new (sdk.s3().HeadObjectCommand)({
        Bucket: bucket,
        Key: key,
        ...(versionId ? { VersionId: versionId } : {}),
      }),
    )
  } catch (err) {
    throw toFirError(err, 's3:GetObject', `read s3://${bucket}/${key}`)
  }
}
