import { BlockList, isIP } from 'node:net'

/** NO_PROXY's entries: `no_proxy` (curl's and Python's first choice) else `NO_PROXY`, comma-separated. */
export function noProxyEntries(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.no_proxy || env.NO_PROXY || '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
}

const bare = (host: string) =>
  host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase()

/** `host:port` split where the port is explicit (`[v6]:port` too); a bare IPv6 address has none. */
function splitPort(entry: string): { host: string; port?: number } {
  const v6 = entry.match(/^\[([^\]]+)\](?::(\d+))?$/)
  if (v6) return { host: v6[1]!, ...(v6[2] ? { port: Number(v6[2]) } : {}) }
  const m = entry.match(/^([^:]+):(\d+)$/)
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: entry }
}

/** Whether the IP address `ip` is in the CIDR range `range` (`10.0.0.0/8`, `fd00::/8`). */
function inRange(ip: string, range: string): boolean {
  const [net, bitsText] = range.split('/') as [string, string]
  const family = isIP(net)
  const bits = Number(bitsText)
  if (family === 0 || family !== isIP(ip) || !/^\d+$/.test(bitsText) || bits > (family === 4 ? 32 : 128))
    return false
  const list = new BlockList()
  const type = family === 4 ? 'ipv4' : 'ipv6'
  list.addSubnet(net, bits, type)
  return list.check(ip, type)
}

/**
 * The NO_PROXY entry that names `url`'s host, else undefined. Matched as curl and the AWS CLI
 * (botocore, through Python's urllib) match it, case-insensitively, a trailing dot ignored:
 * - `*`: every host.
 * - a name, with or without a leading `.`: that host and every host under it — `amazonaws.com`
 *   and `.amazonaws.com` match `amazonaws.com` and `lambda.us-east-1.amazonaws.com`, never
 *   `notamazonaws.com`. `*.amazonaws.com` is taken as `.amazonaws.com` (curl and Python match it
 *   with nothing; Go and most Node tools take it so, and no other reading is meant).
 * - `name:port`: as the name, for that port only (the URL's, else 443 for https:, 80 for http:).
 * - an IP address (IPv6 with or without brackets) or a CIDR range (`10.0.0.0/8`, curl 7.86 and
 *   later): a URL whose host is that address or in that range. Host names are never resolved.
 */
export function noProxyMatch(url: URL, entries: readonly string[]): string | undefined {
  const host = bare(url.hostname)
  const port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443
  const ip = isIP(host) !== 0
  return entries.find((entry) => {
    if (entry === '*') return true
    if (entry.includes('/')) return ip && inRange(host, entry)
    const named = splitPort(entry)
    if (named.port !== undefined && named.port !== port) return false
    const name = bare(named.host.replace(/^\*?\./, ''))
    if (!name) return false
    if (isIP(name) !== 0 || ip)
      return ip && isIP(name) !== 0 && inRange(host, `${name}/${isIP(name) === 4 ? 32 : 128}`)
    return host === name || host.endsWith(`.${name}`)
  })
}
