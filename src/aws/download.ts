import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Readable } from 'node:stream'
import { HttpsProxyAgent } from 'https-proxy-agent'
import { FirError } from '../errors.js'
import { type AwsClients, assertLoopback, isLoopbackHost, proxyDecision } from './clients.js'
import { classifyFailure, errorName, httpStatus } from './errors.js'
import { sdk } from './sdk.js'

/** Why a download of a presigned location failed, for the caller's retry decision. */
export type DownloadFailure = 'expired' | 'denied' | 'not-found' | 'range' | 'network' | 'other'

/** A failed download of a code or layer location; `failure` says whether a refetch or resume can help. */
export class DownloadError extends FirError {
  constructor(
    message: string,
    readonly failure: DownloadFailure,
    readonly status?: number,
    cause?: unknown,
  ) {
    super('download-failed', message, {
      cause,
      actions: ['run the snapshot again; if it keeps failing, check network access and HTTPS_PROXY'],
    })
  }
}

/** An open download: the body, where it starts in the object, and the object's full size when known. */
export interface OpenedLocation {
  body: Readable
  /** The byte offset the body starts at (0 when the server ignored a Range request). */
  offset: number
  totalBytes?: number
  via: 'https' | 's3-endpoint'
}

const S3_VIRTUAL_HOST =
  /^([a-z0-9][a-z0-9.-]*[a-z0-9])\.s3(?:[.-][a-z0-9-]+)?(?:\.dualstack)?\.amazonaws\.com$/i
const S3_PATH_HOST = /^s3(?:[.-][a-z0-9-]+)?(?:\.dualstack)?\.amazonaws\.com$/i

/** Bucket, key and version of an S3 URL (virtual-hosted or path-style), or undefined. */
export function parseS3Url(url: URL): { bucket: string; key: string; versionId?: string } | undefined {
  const versionId = url.searchParams.get('versionId') ?? undefined
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''))
  const virtual = url.hostname.match(S3_VIRTUAL_HOST)
  if (virtual?.[1] && path) return { bucket: virtual[1], key: path, ...(versionId ? { versionId } : {}) }
  if (S3_PATH_HOST.test(url.hostname)) {
    const slash = path.indexOf('/')
    if (slash > 0)
      return { bucket: path.slice(0, slash), key: path.slice(slash + 1), ...(versionId ? { versionId } : {}) }
  }
  return undefined
}

function isPresigned(url: URL): boolean {
  return url.searchParams.has('X-Amz-Signature') || url.searchParams.has('Signature')
}

function proxyAgentFor(url: URL): HttpsProxyAgent<string> | undefined {
  const { proxy } = proxyDecision(url.href)
  return proxy ? new HttpsProxyAgent(proxy) : undefined
}

function totalFromContentRange(value: string | undefined): number | undefined {
  const m = value?.match(/\/(\d+)\s*$/)
  return m ? Number(m[1]) : undefined
}

/**
 * Opens a code or layer location for reading, from byte `offset` on (a Range request, for resuming).
 * With a custom endpoint (an emulator), an unsigned S3 location is read path-style from that
 * endpoint through the S3 client (DESIGN §8); otherwise it is a plain HTTPS GET of the presigned URL,
 * through HTTPS_PROXY when set, after the loopback guard.
 */
export async function openLocation(
  aws: AwsClients,
  location: string,
  offset = 0,
  timeoutMs = 60_000,
): Promise<OpenedLocation> {
  let url: URL
  try {
    url = new URL(location)
  } catch (err) {
    throw new DownloadError(`unable to download ${location}: it is not a URL`, 'other', undefined, err)
  }
  const s3 = aws.endpointFor('s3') && !isPresigned(url) ? parseS3Url(url) : undefined
  if (s3) return openViaS3(aws, s3, offset)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DownloadError(`unable to download ${location}: only http(s) locations can be fetched`, 'other')
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new DownloadError(`unable to download ${url.host}: refusing plain http outside loopback`, 'other')
  }
  assertLoopback(url, aws.emulatorOnly)
  return openViaHttps(url, offset, timeoutMs)
}

async function openViaS3(
  aws: AwsClients,
  s3: { bucket: string; key: string; versionId?: string },
  offset: number,
): Promise<OpenedLocation> {
  try {
    const out = await aws.s3.send(
      new (sdk.s3().GetObjectCommand)({
        Bucket: s3.bucket,
        Key: s3.key,
        ...(s3.versionId ? { VersionId: s3.versionId } : {}),
        ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
      }),
    )
    const partial = out.ContentRange !== undefined
    return {
      body: out.Body as Readable,
      offset: partial ? offset : 0,
      totalBytes: partial ? totalFromContentRange(out.ContentRange) : out.ContentLength,
      via: 's3-endpoint',
    }
  } catch (err) {
    const status = httpStatus(err)
    const kind = classifyFailure(err)
    // A refused read of a code location is treated like an expired presigned URL: the caller
    // asks Lambda for a fresh location and tries again (and gives up after a few attempts).
    const failure: DownloadFailure =
      status === 416
        ? 'range'
        : kind === 'denied'
          ? 'expired'
          : kind === 'not-found'
            ? 'not-found'
            : kind === 'network'
              ? 'network'
              : 'other'
    throw new DownloadError(
      `unable to download s3://${s3.bucket}/${s3.key} from the endpoint: ${errorName(err)}: ${(err as Error)?.message ?? ''}`,
      failure,
      status,
      err,
    )
  }
}

function openViaHttps(url: URL, offset: number, timeoutMs: number): Promise<OpenedLocation> {
  const agent = proxyAgentFor(url)
  const doRequest = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = doRequest(
      url,
      {
        method: 'GET',
        headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
        ...(agent ? { agent } : {}),
        timeout: timeoutMs,
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0
        if (status === 200 || status === 206) {
          const partial = status === 206
          const length = res.headers['content-length'] ? Number(res.headers['content-length']) : undefined
          resolve({
            body: res,
            offset: partial ? offset : 0,
            totalBytes: partial ? totalFromContentRange(res.headers['content-range']) : length,
            via: 'https',
          })
          return
        }
        res.resume()
        const failure: DownloadFailure =
          status === 403 || status === 400
            ? 'expired'
            : status === 404
              ? 'not-found'
              : status === 416
                ? 'range'
                : 'other'
        reject(new DownloadError(`unable to download from ${url.host}: HTTP ${status}`, failure, status))
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no response from ${url.host} within ${timeoutMs} ms`)))
    req.on('error', (err) =>
      reject(
        new DownloadError(`unable to download from ${url.host}: ${err.message}`, 'network', undefined, err),
      ),
    )
    req.end()
  })
}
