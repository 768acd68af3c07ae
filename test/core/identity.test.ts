import { describe, expect, it } from 'vitest'
import { isFunctionOrQualifier } from '../../src/core/identity.js'

describe('isFunctionOrQualifier', () => {
  const fn = 'arn:aws:lambda:us-east-1:123456789012:function:esmfn'
  it('is the function, its versions, its aliases and $LATEST, in any partition', () => {
    for (const arn of [fn, `${fn}:prod`, `${fn}:3`, `${fn}:$LATEST`, fn.replace('arn:aws:', 'arn:aws-cn:')])
      expect(isFunctionOrQualifier(arn, fn), arn).toBe(true)
    expect(isFunctionOrQualifier(fn, `${fn}:prod`)).toBe(true)
  })
  it('is not a function whose name starts with its name, nor one of another region or account', () => {
    for (const arn of [
      `${fn}-two`,
      `${fn}-two:prod`,
      fn.replace('us-east-1', 'eu-west-1'),
      fn.replace('123456789012', '999988887777'),
      'arn:aws:lambda:us-east-1:123456789012:layer:esmfn:1',
      '',
    ])
      expect(isFunctionOrQualifier(arn, fn), arn).toBe(false)
  })
})
