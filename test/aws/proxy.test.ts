import { afterEach, describe, expect, it, vi } from 'vitest'
import { AwsClients, ProxyRoutingHandler, proxyDecision } from '../../src/aws/clients.js'

const PROXY = 'http://proxy.internal.example:3128'

afterEach(() => {
  vi.unstubAllEnvs()
})

/** The NO_PROXY entry that keeps `url` off HTTPS_PROXY, else null (the proxy is used). */
function bypassedBy(url: string, noProxy: string): string | null {
  vi.stubEnv('HTTPS_PROXY', PROXY)
  vi.stubEnv('no_proxy', undefined)
  vi.stubEnv('NO_PROXY', noProxy)
  const d = proxyDecision(url)
  if (d.proxy !== undefined) return null
  expect(d.bypass?.reason).toBe('no-proxy')
  return d.bypass!.noProxy!
}

describe('NO_PROXY, matched as curl and the AWS CLI match it', () => {
  const lambda = 'https://lambda.us-east-1.amazonaws.com'

  it('a domain, with or without a leading dot or *., names the host and every host under it, and nothing else', () => {
    for (const entry of ['amazonaws.com', '.amazonaws.com', '*.amazonaws.com', ' .AmazonAWS.com. ']) {
      expect(bypassedBy(lambda, `example.org,${entry}`), entry).toBe(entry.trim().toLowerCase())
      expect(bypassedBy('https://amazonaws.com', entry), entry).not.toBeNull()
      expect(bypassedBy('https://notamazonaws.com', entry), entry).toBeNull()
      expect(bypassedBy('https://amazonaws.com.evil.example', entry), entry).toBeNull()
    }
    // Before: `*.amazonaws.com` matched nothing (the proxy was used).
    expect(bypassedBy('https://iam.amazonaws.com', '*.amazonaws.com')).toBe('*.amazonaws.com')
    expect(bypassedBy(lambda, 'lambda.us-east-1.amazonaws.com')).toBe('lambda.us-east-1.amazonaws.com')
    expect(bypassedBy(lambda, 's3.us-east-1.amazonaws.com')).toBeNull()
    expect(
      bypassedBy('https://bucket.s3.us-east-1.amazonaws.com', 's3.us-east-1.amazonaws.com'),
    ).not.toBeNull()
    // A fully qualified host (trailing dot) is the same host.
    expect(bypassedBy('https://lambda.us-east-1.amazonaws.com.', '.amazonaws.com')).toBe('.amazonaws.com')
    expect(bypassedBy(lambda, '*')).toBe('*')
    expect(bypassedBy(lambda, '')).toBeNull()
  })

  it('a port narrows an entry to that port (the default one when the URL has none)', () => {
    // Before: an entry with a port matched no host at all.
    expect(bypassedBy(lambda, 'lambda.us-east-1.amazonaws.com:443')).toBe(
      'lambda.us-east-1.amazonaws.com:443',
    )
    expect(bypassedBy(lambda, '.amazonaws.com:8443')).toBeNull()
    expect(bypassedBy('https://vpce.example:4566', 'vpce.example:4566')).toBe('vpce.example:4566')
    expect(bypassedBy('https://vpce.example:4566', 'vpce.example:443')).toBeNull()
  })

  it('an IP address or a CIDR range names an endpoint given as an address in it; names are never resolved', () => {
    // Before: CIDR ranges and bracketed IPv6 addresses matched nothing.
    expect(bypassedBy('https://10.1.2.3:4566', '192.168.0.0/16,10.0.0.0/8')).toBe('10.0.0.0/8')
    expect(bypassedBy('https://10.1.2.3:4566', '10.1.2.3')).toBe('10.1.2.3')
    expect(bypassedBy('https://10.1.2.3:4566', '10.1.2.4,192.168.0.0/16')).toBeNull()
    expect(bypassedBy('https://[fd00::1]:4566', 'fd00::/8')).toBe('fd00::/8')
    expect(bypassedBy('https://[fd00::1]:4566', 'fd00:0::1')).toBe('fd00:0::1')
    expect(bypassedBy('https://[fd00::1]:4566', '[fd00::1]:4566')).toBe('[fd00::1]:4566')
    expect(bypassedBy('https://vpce.example', '10.0.0.0/8')).toBeNull()
    // Not a range: never a match, never an error.
    for (const bad of ['10.0.0.0/33', '/8', 'vpce.example/8', '10.0.0.0/x'])
      expect(bypassedBy('https://10.1.2.3', bad), bad).toBeNull()
  })

  it('takes no_proxy before NO_PROXY, as curl and Python do', () => {
    vi.stubEnv('HTTPS_PROXY', PROXY)
    vi.stubEnv('no_proxy', '.amazonaws.com')
    vi.stubEnv('NO_PROXY', 'example.org')
    expect(proxyDecision(lambda).bypass).toEqual({ reason: 'no-proxy', noProxy: '.amazonaws.com' })
  })

  it("is checked against AWS's own hosts when no endpoint is set", async () => {
    vi.stubEnv('HTTPS_PROXY', PROXY)
    vi.stubEnv('NO_PROXY', '.s3.us-east-1.amazonaws.com,iam.amazonaws.com')
    for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL_IAM', 'AWS_PROFILE'])
      vi.stubEnv(name, undefined)
    const aws = await AwsClients.create({ region: 'us-east-1', emulatorOnly: false })
    // Before: HTTPS_PROXY for every service: NO_PROXY was checked only against an endpoint set.
    expect(aws.proxyDecisionFor('s3').bypass).toEqual({
      reason: 'no-proxy',
      noProxy: '.s3.us-east-1.amazonaws.com',
    })
    expect(aws.proxyDecisionFor('iam').bypass).toEqual({ reason: 'no-proxy', noProxy: 'iam.amazonaws.com' })
    expect(aws.proxyDecisionFor('lambda').proxy).toBe(PROXY)
  })
})

describe('the proxy variables, read as curl reads them', () => {
  const lambda = 'https://lambda.us-east-1.amazonaws.com'

  it('takes https_proxy before HTTPS_PROXY, as it takes no_proxy before NO_PROXY', () => {
    vi.stubEnv('NO_PROXY', undefined)
    vi.stubEnv('no_proxy', undefined)
    vi.stubEnv('https_proxy', PROXY)
    vi.stubEnv('HTTPS_PROXY', 'http://other-proxy.example:8080')
    // Before: HTTPS_PROXY won, while NO_PROXY was read lowercase first.
    expect(proxyDecision(lambda)).toMatchObject({ proxy: PROXY, configured: PROXY })
    vi.stubEnv('https_proxy', undefined)
    expect(proxyDecision(lambda).proxy).toBe('http://other-proxy.example:8080')
  })

  it('reaches an http:// endpoint directly: HTTP_PROXY and http_proxy are never used (http_proxy is named first)', () => {
    vi.stubEnv('NO_PROXY', undefined)
    vi.stubEnv('no_proxy', undefined)
    vi.stubEnv('https_proxy', PROXY)
    vi.stubEnv('http_proxy', 'http://lower.example:80')
    vi.stubEnv('HTTP_PROXY', 'http://upper.example:80')
    const d = proxyDecision('http://10.1.2.3:4566')
    expect(d.proxy).toBeUndefined()
    expect(d.bypass).toEqual({ reason: 'http-endpoint' })
    expect(d.httpProxy).toBe('http://lower.example:80')
  })
})

describe("the SDK's request handler while HTTPS_PROXY is set", () => {
  it('sends each request through the proxy or straight to its host, as NO_PROXY says for that host', async () => {
    vi.stubEnv('HTTPS_PROXY', PROXY)
    vi.stubEnv('NO_PROXY', '.s3.us-east-1.amazonaws.com,10.0.0.0/8')
    const sent: string[] = []
    const fake = (via: string) =>
      ({
        metadata: { handlerProtocol: 'http/1.1' },
        handle: async (req: { hostname: string }) => {
          sent.push(`${via} ${req.hostname}`)
          return { response: {} }
        },
      }) as unknown as ConstructorParameters<typeof ProxyRoutingHandler>[0]
    const handler = new ProxyRoutingHandler(fake('proxy'), fake('direct'))
    const request = (hostname: string, port?: number) =>
      ({
        protocol: 'https:',
        hostname,
        port,
        method: 'GET',
        path: '/',
        headers: {},
      }) as unknown as Parameters<ProxyRoutingHandler['handle']>[0]
    // One client's calls go to several hosts: a bucket's own host, the regional endpoint.
    await handler.handle(request('evidence.s3.us-east-1.amazonaws.com'))
    await handler.handle(request('s3.us-east-1.amazonaws.com'))
    await handler.handle(request('lambda.us-east-1.amazonaws.com'))
    await handler.handle(request('10.1.2.3', 4566))
    await handler.handle(request('127.0.0.1', 5000))
    expect(sent).toEqual([
      'direct evidence.s3.us-east-1.amazonaws.com',
      'direct s3.us-east-1.amazonaws.com',
      'proxy lambda.us-east-1.amazonaws.com',
      'direct 10.1.2.3',
      'direct 127.0.0.1',
    ])
  })
})
