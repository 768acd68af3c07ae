import { createWriteStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3'
import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

/** One object of a trail bucket listing. */
export interface TrailObject {
  key: string
  size: number
}

/**
 * s3:ListBucket of the "folders" directly under a prefix (ListObjectsV2 with Delimiter '/'),
 * every page. Returns the common prefixes, each ending in '/'.
 */
export async function listPrefixes(aws: AwsClients, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = []
  let token: string | undefined
  do {
    try {
      const page = await aws.s3.send(
        new (sdk.s3().ListObjectsV2Command)({
          Bucket: bucket,
          Prefix: prefix,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      )
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix)
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } catch (err) {
      throw toFirError(err, 's3:ListBucket', `list s3://${bucket}/${prefix}`)
    }
  } while (token)
  return out
}

/** s3:ListBucket of every object under a prefix, page by page (a page is never lost to a later failure). */
export async function* listObjects(
  aws: AwsClients,
  bucket: string,
  prefix: string,
): AsyncGenerator<TrailObject[]> {
  let token: string | undefined
  do {
    let page: ListObjectsV2CommandOutput
    try {
      page = await aws.s3.send(
        new (sdk.s3().ListObjectsV2Command)({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      )
    } catch (err) {
      throw toFirError(err, 's3:ListBucket', `list s3://${bucket}/${prefix}`)
    }
    const objects: TrailObject[] = []
    for (const o of page.Contents ?? []) if (o.Key) objects.push({ key: o.Key, size: o.Size ?? 0 })
    yield objects
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
}

async function openObject(
  aws: AwsClients,
  bucket: string,
  key: string,
): Promise<{ body: Readable; length?: number }> {
  try {
    const out = await aws.s3.send(new (sdk.s3().GetObjectCommand)({ Bucket: bucket, Key: key }))
    return { body: out.Body as Readable, length: out.ContentLength }
  } catch (err) {
    throw toFirError(err, 's3:GetObject', `read s3://${bucket}/${key}`)
  }
}

/**
 * s3:GetObject into memory, as one freshly allocated buffer (its ArrayBuffer is not shared, so it
 * can be handed to a worker thread without copying).
 */
export async function getObjectBytes(aws: AwsClients, bucket: string, key: string): Promise<Uint8Array> {
  const { body, length } = await openObject(aws, bucket, key)
  const chunks: Buffer[] = []
  let total = 0
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      total += chunk.length
    }
  } catch (err) {
    throw toFirError(err, 's3:GetObject', `read s3://${bucket}/${key}`)
  }
  if (length !== undefined && total !== length) {
    throw toFirError(
      Object.assign(new Error(`got ${total} of ${length} bytes`), { name: 'TruncatedBody' }),
      's3:GetObject',
      `read s3://${bucket}/${key}`,
    )
  }
  const out = new Uint8Array(new ArrayBuffer(total))
  let pos = 0
  for (const c of chunks) {
    out.set(c, pos)
    pos += c.length
  }
  return out
}

/** s3:GetObject streamed to a local file (large objects). */
export async function getObjectToFile(
  aws: AwsClients,
  bucket: string,
  key: string,
  path: string,
): Promise<number> {
  const { body } = await openObject(aws, bucket, key)
  let bytes = 0
  body.on('data', (c: Buffer) => {
    bytes += c.length
  })
  try {
    await pipeline(body, createWriteStream(path, { mode: 0o600 }))
  } catch (err) {
    throw toFirError(err, 's3:GetObject', `read s3://${bucket}/${key}`)
  }
  return bytes
}
