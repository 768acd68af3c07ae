import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { parseS3Url } from '../../../src/aws/download.js'
import { downloadResumable } from '../../../src/core/snapshot/download.js'
import { EmulatorSafetyError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'

const body = randomBytes(256 * 1024)
/** Another object (the code after a redeploy), served at /other. */
const other = randomBytes(256 * 1024)
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** A file server that misbehaves on purpose: drops, refuses, ignores Range — per path. */
let server: Server
let base = ''
const seen: { path: string; range?: string }[] = []
const dropped = new Set<string>()

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x')
  const range = req.headers.range
  seen.push({ path: url.pathname, ...(range ? { range } : {}) })
  const start = range ? Number(range.match(/bytes=(\d+)-/)?.[1] ?? 0) : 0
  if (url.pathname === '/expired') {
    res
      .writeHead(403, { 'content-type': 'application/xml' })
      .end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>')
    return
  }
  if (url.pathname === '/drop-once' && !dropped.has('drop-once')) {
    dropped.add('drop-once')
    res.writeHead(200, { 'content-length': String(body.length) })
    // Dropped once the bytes are with the kernel: a loaded machine must not cut them shorter.
    res.write(body.subarray(0, 100_000), () => setTimeout(() => res.socket?.destroy(), 200))
    return
  }
  // The first GET is cut part way; the next (a resume) finds the location expired.
  if (url.pathname.startsWith('/cut-then-expired')) {
    if (dropped.has(url.pathname)) {
      res
        .writeHead(403, { 'content-type': 'application/xml' })
        .end('<Error><Code>AccessDenied</Code></Error>')
      return
    }
    dropped.add(url.pathname)
    res.writeHead(200, { 'content-length': String(body.length) })
    res.write(body.subarray(0, 100_000), () => setTimeout(() => res.socket?.destroy(), 200))
    return
  }
  if (url.pathname === '/other') {
    const from = Math.min(start, other.length)
    if (from > 0) {
      res.writeHead(206, {
        'content-length': String(other.length - from),
        'content-range': `bytes ${from}-${other.length - 1}/${other.length}`,
      })
      res.end(other.subarray(from))
      return
    }
    res.writeHead(200, { 'content-length': String(other.length) }).end(other)
    return
  }
  if (url.pathname === '/ignore-range' && !dropped.has('ignore-range')) {
    dropped.add('ignore-range')
    res.writeHead(200, { 'content-length': String(body.length) })
    // Dropped once the bytes are with the kernel: a loaded machine must not cut them shorter.
    res.write(body.subarray(0, 50_000), () => setTimeout(() => res.socket?.destroy(), 20))
    return
  }
  if (url.pathname === '/ignore-range') {
    // Answers the resumed request with the whole body (200), as some servers do.
    res.writeHead(200, { 'content-length': String(body.length) }).end(body)
    return
  }
  if (start > 0) {
    res.writeHead(206, {
      'content-length': String(body.length - start),
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
    })
    res.end(body.subarray(start))
    return
  }
  res.writeHead(200, { 'content-length': String(body.length) }).end(body)
}

let aws: AwsClients
beforeAll(async () => {
  server = createServer(handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  aws = await AwsClients.create({ emulatorOnly: true, endpoint: base, region: 'us-east-1' })
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
})

describe('downloadResumable', () => {
  it('resumes a dropped transfer with a Range request and ends with the exact bytes', async () => {
    const dir = await tempDir('fir-dl-')
    const path = join(dir, 'x.partial')
    const out = await downloadResumable(aws, path, async () => ({ url: `${base}/drop-once` }))
    expect(out.resumes).toBe(1)
    expect(sha(await readFile(path))).toBe(sha(body))
    // It resumes from what reached the disk: all 100,000 bytes sent, or fewer when the drop came
    // while some were still on their way to the file (a loaded machine).
    const ranges = seen.filter((s) => s.path === '/drop-once').map((s) => s.range)
    expect(ranges).toHaveLength(2)
    expect(ranges[0]).toBeUndefined()
    const from = Number(ranges[1]?.match(/^bytes=(\d+)-$/)?.[1])
    expect(from).toBeGreaterThan(0)
    expect(from).toBeLessThanOrEqual(100_000)
  })

  it('fetches a new location when the presigned one is refused (expired)', async () => {
    const dir = await tempDir('fir-dl-')
    const path = join(dir, 'x.partial')
    const asked: number[] = []
    const out = await downloadResumable(aws, path, async (attempt) => {
      asked.push(attempt)
      return { url: attempt === 0 ? `${base}/expired` : `${base}/fresh` }
    })
    expect(asked).toEqual([0, 1])
    expect(out.refetches).toBe(1)
    expect(sha(await readFile(path))).toBe(sha(body))
  })

  it('resumes across a refetched location of the same object', async () => {
    const dir = await tempDir('fir-dl-')
    const path = join(dir, 'x.partial')
    const out = await downloadResumable(aws, path, async (attempt) => ({
      url: attempt === 0 ? `${base}/cut-then-expired-same` : `${base}/fresh`,
      object: 'A',
    }))
    expect(out).toMatchObject({ refetches: 1, restarts: 0, location: { object: 'A' } })
    expect(sha(await readFile(path))).toBe(sha(body))
    expect(seen.filter((s) => s.path === '/fresh').at(-1)?.range).toMatch(/^bytes=[1-9]\d*-$/)
  })

  it('never resumes into a refetched location of another object: it starts again from byte 0', async () => {
    const dir = await tempDir('fir-dl-')
    const path = join(dir, 'x.partial')
    const out = await downloadResumable(aws, path, async (attempt) =>
      attempt === 0
        ? { url: `${base}/cut-then-expired-other`, object: 'A' }
        : { url: `${base}/other`, object: 'B' },
    )
    expect(out).toMatchObject({ refetches: 1, restarts: 1, location: { object: 'B' } })
    // The other object whole, not the first one's bytes with the other's rest.
    expect(sha(await readFile(path))).toBe(sha(other))
    expect(seen.filter((s) => s.path === '/other')).toEqual([{ path: '/other' }])
  })

  it('starts over when the server ignores Range, never appending a second copy', async () => {
    const dir = await tempDir('fir-dl-')
    const path = join(dir, 'x.partial')
    await downloadResumable(aws, path, async () => ({ url: `${base}/ignore-range` }))
    const got = await readFile(path)
    expect(got.length).toBe(body.length)
    expect(sha(got)).toBe(sha(body))
  })

  it('gives up on a location that stays refused', async () => {
    const dir = await tempDir('fir-dl-')
    await expect(
      downloadResumable(aws, join(dir, 'x.partial'), async () => ({ url: `${base}/expired` }), {
        maxAttempts: 3,
      }),
    ).rejects.toThrow(/HTTP 403/)
  })

  it('refuses a non-loopback location in emulator-only mode before sending anything', async () => {
    const dir = await tempDir('fir-dl-')
    const before = seen.length
    await expect(
      downloadResumable(aws, join(dir, 'x.partial'), async () => ({
        url: 'https://prod-04-2014-tasks.s3.us-east-1.amazonaws.com/snapshots/x?X-Amz-Signature=abc',
      })),
    ).rejects.toBeInstanceOf(EmulatorSafetyError)
    expect(seen.length).toBe(before)
  })
})

describe('parseS3Url', () => {
  it('reads virtual-hosted and path-style S3 URLs (bucket, key, version)', () => {
    expect(
      parseS3Url(new URL('https://awslambda-us-east-1-tasks.s3.us-east-1.amazonaws.com/code/a%20b.zip')),
    ).toEqual({
      bucket: 'awslambda-us-east-1-tasks',
      key: 'code/a b.zip',
    })
    expect(parseS3Url(new URL('https://s3.eu-west-1.amazonaws.com/bkt/k/x.zip?versionId=v1'))).toEqual({
      bucket: 'bkt',
      key: 'k/x.zip',
      versionId: 'v1',
    })
    expect(parseS3Url(new URL('https://example.com/x.zip'))).toBeUndefined()
  })
})
