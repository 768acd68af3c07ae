import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

/** Lowercase-hex SHA-256 of a string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Lowercase-hex SHA-256 and size of a file, streamed. */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return { sha256: hash.digest('hex'), bytes }
}

/** Lambda's CodeSha256 form (base64 SHA-256) converted to lowercase hex; undefined when malformed. */
export function base64Sha256ToHex(b64: string): string | undefined {
  const buf = Buffer.from(b64, 'base64')
  return buf.length === 32 ? buf.toString('hex') : undefined
}
