import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** An answer: `body` as JSON, or `html` as it is (what an endpoint that is not AWS sends). */
export interface Reply {
  status?: number
  body?: unknown
  html?: string
}
/** Answers a request; a promise holds the answer back until it settles (a call left hanging). */
export type Handler = (body: Record<string, unknown>) => Reply | Promise<Reply>

/**
 * A loopback stand-in for a JSON 1.1 AWS service (CloudTrail Lake, Athena) that answers each
 * X-Amz-Target operation from recorded responses. Every request is kept for assertions.
 */
export class ReplayServer {
  /** Every request: its operation, body, and the region it was signed for. */
  readonly requests: { operation: string; body: Record<string, unknown>; region: string }[] = []
  private server: Server | undefined

  constructor(private readonly handlers: Record<string, Handler>) {}

  get endpoint(): string {
    const addr = this.server?.address() as AddressInfo
    return `http://127.0.0.1:${addr.port}`
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', async () => {
        const target = String(req.headers['x-amz-target'] ?? '')
        const operation = target.split('.').at(-1) ?? ''
        const body = chunks.length
          ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
          : {}
        const scope = String(req.headers.authorization ?? '').match(/Credential=[^/]+\/\d{8}\/([^/]+)\//)
        this.requests.push({ operation, body, region: scope?.[1] ?? '' })
        const h = this.handlers[operation]
        const out = h
          ? await h(body)
          : { status: 400, body: { __type: 'UnknownOperationException', message: operation } }
        if (out.html !== undefined) {
          res.writeHead(out.status ?? 200, { 'content-type': 'text/html; charset=utf-8' })
          res.end(out.html)
          return
        }
        res.writeHead(out.status ?? 200, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': `replay-${this.requests.length}`,
          ...(out.status && out.status >= 400
            ? { 'x-amzn-errortype': String((out.body as { __type?: string }).__type) }
            : {}),
        })
        res.end(JSON.stringify(out.body))
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    return this
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()))
  }
}
