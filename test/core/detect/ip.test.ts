import { describe, expect, it } from 'vitest'
import { awsRangeSet, IpRangeSet, parseCidr, parseIp, parseIpv6 } from '../../../src/core/detect/ip.js'

describe('IP parsing', () => {
  it('parses IPv4 and refuses ambiguous or out-of-range forms', () => {
    expect(parseIp('192.0.2.1')).toEqual({ v: 4, n: 0xc0000201 })
    expect(parseIp('255.255.255.255')).toEqual({ v: 4, n: 0xffffffff })
    for (const bad of ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', 'AWS Internal', '']) {
      expect(parseIp(bad), bad).toBeUndefined()
    }
  })

  it('parses IPv6 with ::, embedded IPv4, zones and brackets', () => {
    expect(parseIpv6('::')).toBe(0n)
    expect(parseIpv6('::1')).toBe(1n)
    expect(parseIpv6('2001:db8::')).toBe(0x20010db8n << 96n)
    expect(parseIpv6('2001:DB8:0:0:0:0:0:1')).toBe((0x20010db8n << 96n) + 1n)
    expect(parseIpv6('fe80::1%eth0')).toBe((0xfe80n << 112n) + 1n)
    expect(parseIpv6('[::1]')).toBe(1n)
    expect(parseIpv6('64:ff9b::192.0.2.1')).toBe((0x64ff9bn << 96n) + 0xc0000201n)
    expect(parseIp('::ffff:192.0.2.1')).toEqual({ v: 4, n: 0xc0000201 })
    for (const bad of [
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::1',
      '1:2:3:4:5:6:7',
      '::1.2.3.999',
      ':',
    ]) {
      expect(parseIpv6(bad), bad).toBeUndefined()
    }
  })

  it('parses CIDR ranges, normalising host bits', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ v: 4, start: 0x0a000000, end: 0x0affffff })
    expect(parseCidr('0.0.0.0/0')).toEqual({ v: 4, start: 0, end: 0xffffffff })
    expect(parseCidr('192.0.2.7')).toEqual({ v: 4, start: 0xc0000207, end: 0xc0000207 })
    expect(parseCidr('2001:db8::/32')).toMatchObject({ v: 6, start: 0x20010db8n << 96n })
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/x', 'nope/8'])
      expect(parseCidr(bad), bad).toBeUndefined()
  })
})

describe('IpRangeSet', () => {
  it('merges overlapping ranges and answers membership by binary search', () => {
    const set = new IpRangeSet(
      ['10.0.0.0/9', '10.128.0.0/9', '192.0.2.0/24', '2001:db8::/32'].map((c) => parseCidr(c)!),
    )
    expect(set.has(parseIp('10.255.255.255')!)).toBe(true)
    expect(set.has(parseIp('11.0.0.0')!)).toBe(false)
    expect(set.has(parseIp('192.0.2.200')!)).toBe(true)
    expect(set.has(parseIp('192.0.3.0')!)).toBe(false)
    expect(set.has(parseIp('2001:db8:ffff::1')!)).toBe(true)
    expect(set.has(parseIp('2001:db9::1')!)).toBe(false)
  })

  it('reads the ip-ranges.json layout and rejects other documents', () => {
    const set = awsRangeSet({
      prefixes: [{ ip_prefix: '3.5.0.0/16' }, { ip_prefix: 'junk' }],
      ipv6_prefixes: [],
    })
    expect(set.has(parseIp('3.5.9.9')!)).toBe(true)
    expect(() => awsRangeSet({} as never)).toThrow(/not an AWS ip-ranges.json/)
    expect(() => awsRangeSet(null as never)).toThrow(/not an AWS ip-ranges.json/)
  })
})
