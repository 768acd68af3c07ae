import { describe, expect, it } from 'vitest'
import { parseFunctionRef } from '../../../src/core/snapshot/targets.js'
import { UsageError } from '../../../src/errors.js'

describe('parseFunctionRef', () => {
  it('reads names, name:qualifier, partial and full ARNs (a full ARN sets region and account)', () => {
    expect(parseFunctionRef('orders')).toMatchObject({ name: 'orders' })
    expect(parseFunctionRef('orders:live')).toMatchObject({ name: 'orders', qualifier: 'live' })
    expect(parseFunctionRef('123456789012:function:orders')).toMatchObject({
      name: 'orders',
      account: '123456789012',
    })
    expect(parseFunctionRef('arn:aws:lambda:eu-west-1:123456789012:function:orders:7')).toMatchObject({
      name: 'orders',
      region: 'eu-west-1',
      account: '123456789012',
      qualifier: '7',
    })
  })

  it('refuses anything else with a usage error', () => {
    for (const bad of [
      '',
      'a/b',
      '../x',
      'arn:aws:s3:::bucket',
      'arn:aws:lambda:us-east-1:123456789012:layer:x:1',
      'a:b:c',
      'x\u001b[31m',
    ]) {
      expect(() => parseFunctionRef(bad), bad).toThrow(UsageError)
    }
  })
})
