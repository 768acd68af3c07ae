/**
 * IP addresses and CIDR ranges for the `cidr` modifier and for fir's AWS ip-ranges context.
 * IPv4 addresses are numbers, IPv6 addresses bigints; an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * is treated as the IPv4 address it carries.
 */
export type IpAddress = { v: 4; n: number } | { v: 6; n: bigint }

export interface CidrRange {
  v: 4 | 6
  start: number | bigint
  end: number | bigint
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

export function parseIpv4(text: string): number | undefined {
  const m = V4.exec(text)
  if (!m) return undefined
  let n = 0
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!
    // Leading zeros are ambiguous (octal in some parsers); refuse them rather than guess.
    if (part.length > 1 && part.startsWith('0')) return undefined
    const octet = Number(part)
    if (octet > 255) return undefined
    n = n * 256 + octet
  }
  return n
}

export function parseIpv6(input: string): bigint | undefined {
  let text = input
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1)
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return undefined
  let tail: number[] = []
  const lastColon = text.lastIndexOf(':')
  const last = text.slice(lastColon + 1)
  if (last.includes('.')) {
    // An embedded IPv4 tail (::ffff:192.0.2.1) stands for the last two groups.
    const v4 = parseIpv4(last)
    if (v4 === undefined) return undefined
    tail = [Math.floor(v4 / 65536), v4 % 65536]
    text = text.slice(0, lastColon + 1)
    if (!text.endsWith('::')) text = text.slice(0, -1)
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string) => (s === '' ? [] : s.split(':'))
  const head = groups(halves[0]!)
  const rest = halves.length === 2 ? groups(halves[1]!) : []
  const want = 8 - tail.length
  let all: string[]
  if (halves.length === 2) {
    const fill = want - head.length - rest.length
    if (fill < 1) return undefined
    all = [...head, ...Array<string>(fill).fill('0'), ...rest]
  } else {
    all = head
  }
  if (all.length !== want) return undefined
  let n = 0n
  for (const g of all) {
    if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return undefined
    n = (n << 16n) | BigInt(Number.parseInt(g, 16))
  }
  for (const t of tail) n = (n << 16n) | BigInt(t)
  return n
}

const MAPPED_PREFIX = 0xffffn << 32n

export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text)
  if (v4 !== undefined) return { v: 4, n: v4 }
  const v6 = parseIpv6(text)
  if (v6 === undefined) return undefined
  if (v6 >> 32n === 0xffffn) return { v: 4, n: Number(v6 - MAPPED_PREFIX) }
  return { v: 6, n: v6 }
}

export function parseCidr(text: string): CidrRange | undefined {
  const slash = text.indexOf('/')
  const addr = slash >= 0 ? text.slice(0, slash) : text
  const bitsText = slash >= 0 ? text.slice(slash + 1) : undefined
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return undefined
  const v4 = parseIpv4(addr)
  if (v4 !== undefined) {
    const bits = bitsText === undefined ? 32 : Number(bitsText)
    if (bits > 32) return undefined
    const size = 2 ** (32 - bits)
    const start = Math.floor(v4 / size) * size
    return { v: 4, start, end: start + size - 1 }
  }
  const v6 = parseIpv6(addr)
  if (v6 === undefined) return undefined
  const bits = bitsText === undefined ? 128 : Number(bitsText)
  if (bits > 128) return undefined
  const hostBits = BigInt(128 - bits)
  const start = (v6 >> hostBits) << hostBits
  return { v: 6, start, end: start + (1n << hostBits) - 1n }
}

export function inRange(ip: IpAddress, range: CidrRange): boolean {
  if (ip.v !== range.v) return false
  return ip.n >= range.start && ip.n <= range.end
}

/**
 * A set of ranges merged into sorted, disjoint intervals, looked up by binary search: AWS publishes
 * thousands of prefixes and the lookup runs once per candidate event.
 */
export class IpRangeSet {
  private readonly v4: Array<[number, number]>
  private readonly v6: Array<[bigint, bigint]>
  readonly size: number

  constructor(ranges: Iterable<CidrRange>) {
    const v4: Array<[number, number]> = []
    const v6: Array<[bigint, bigint]> = []
    let size = 0
    for (const r of ranges) {
      size++
      if (r.v === 4) v4.push([r.start as number, r.end as number])
      else v6.push([r.start as bigint, r.end as bigint])
    }
    this.v4 = merge(v4, 1)
    this.v6 = merge(v6, 1n)
    this.size = size
  }

  has(ip: IpAddress): boolean {
    return ip.v === 4 ? search(this.v4, ip.n) : search(this.v6, ip.n)
  }
}

function merge<T extends number | bigint>(list: Array<[T, T]>, one: T): Array<[T, T]> {
  list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const out: Array<[T, T]> = []
  for (const [s, e] of list) {
    const prev = out[out.length - 1]
    // biome-ignore lint/suspicious/noExplicitAny: number | bigint arithmetic of one kind
    if (prev && (s as any) <= (prev[1] as any) + (one as any)) {
      if (e > prev[1]) prev[1] = e
    } else out.push([s, e])
  }
  return out
}

function search<T extends number | bigint>(list: Array<[T, T]>, n: T): boolean {
  let lo = 0
  let hi = list.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const [s, e] = list[mid]!
    if (n < s) hi = mid - 1
    else if (n > e) lo = mid + 1
    else return true
  }
  return false
}

/** The parts of AWS's ip-ranges.json that fir reads (https://ip-ranges.amazonaws.com/ip-ranges.json). */
export interface AwsIpRanges {
  syncToken?: string
  createDate?: string
  prefixes?: Array<{ ip_prefix?: string; region?: string; service?: string }>
  ipv6_prefixes?: Array<{ ipv6_prefix?: string; region?: string; service?: string }>
}

/** Builds the lookup set from a parsed ip-ranges.json; throws on a document that is not one. */
export function awsRangeSet(doc: AwsIpRanges): IpRangeSet {
  if (
    doc === null ||
    typeof doc !== 'object' ||
    (!Array.isArray(doc.prefixes) && !Array.isArray(doc.ipv6_prefixes))
  ) {
    throw new TypeError('not an AWS ip-ranges.json document: no "prefixes" or "ipv6_prefixes" array')
  }
  const ranges: CidrRange[] = []
  for (const p of doc.prefixes ?? []) {
    const r = typeof p?.ip_prefix === 'string' ? parseCidr(p.ip_prefix) : undefined
    if (r) ranges.push(r)
  }
  for (const p of doc.ipv6_prefixes ?? []) {
    const r = typeof p?.ipv6_prefix === 'string' ? parseCidr(p.ipv6_prefix) : undefined
    if (r) ranges.push(r)
  }
  return new IpRangeSet(ranges)
}
