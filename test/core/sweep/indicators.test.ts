import { describe, expect, it } from 'vitest'
import type { InventoryFunction } from '../../../src/aws/lambda-inventory.js'
import { sha256Hex } from '../../../src/core/common/hash.js'
import { redactor } from '../../../src/core/common/redact.js'
import { matchInventory, parseIndicators } from '../../../src/core/sweep/indicators.js'
import { publicReasons } from '../../../src/core/sweep/public.js'
import { parseRegions } from '../../../src/core/sweep/regions.js'

const CODE_B64 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='
const CODE_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

function fn(over: Partial<InventoryFunction> = {}): InventoryFunction {
  return {
    name: 'payments',
    arn: 'arn:aws:lambda:eu-west-1:111122223333:function:payments',
    version: '$LATEST',
    role: 'arn:aws:iam::111122223333:role/service-role/Pay-Role',
    codeSha256: CODE_B64,
    layers: ['arn:aws:lambda:eu-west-1:999988887777:layer:shared-utils:7'],
    environment: { DB_PASSWORD: 'leaked-value-123', STAGE: 'prod' },
    ...over,
  }
}

describe('sweep indicators', () => {
  it('matches each indicator and says why (role names without case, layers with or without version)', () => {
    const ind = parseIndicators({
      roleName: ['pay-role'],
      layerArn: ['arn:aws:lambda:eu-west-1:999988887777:layer:shared-utils'],
      codeSha256: [CODE_B64],
      envValueSha256: [sha256Hex('leaked-value-123')],
    })
    expect(ind.codeSha256).toEqual([CODE_HEX])
    const reasons = matchInventory(fn(), ind)
    expect(reasons.map((r) => r.indicator)).toEqual([
      'role-name',
      'layer-arn',
      'code-sha256',
      'env-value-sha256',
    ])
    expect(reasons[3]!.detail).toMatch(/DB_PASSWORD holds the leaked value/)
    expect(reasons[3]!.detail).not.toContain('leaked-value-123')
    // The matching value is now scrubbed from every output.
    expect(redactor.scrub('x leaked-value-123 y')).not.toContain('leaked-value-123')
  })

  it('does not match a different role, layer version, code or value', () => {
    const ind = parseIndicators({
      roleName: ['pay-role-2'],
      layerArn: ['arn:aws:lambda:eu-west-1:999988887777:layer:shared-utils:6'],
      codeSha256: ['0'.repeat(64)],
      envValueSha256: [sha256Hex('other')],
    })
    expect(matchInventory(fn(), ind)).toEqual([])
  })

  it('accepts a role ARN for --role-name and comma-separated lists', () => {
    const ind = parseIndicators({ roleName: ['arn:aws:iam::1:role/a/b/x,y'] })
    expect(ind.roleNames).toEqual(['x', 'y'])
  })

  it('refuses malformed indicators and never echoes a value passed as --env-value-sha256', () => {
    expect(() => parseIndicators({})).toThrow(/no indicator/)
    expect(() => parseIndicators({ roleName: ["x' OR 1"] })).toThrow(/not an IAM role name/)
    expect(() => parseIndicators({ layerArn: ['arn:aws:lambda:x'] })).toThrow(/not a Lambda layer ARN/)
    expect(() => parseIndicators({ codeSha256: ['abc'] })).toThrow(/not a SHA-256/)
    try {
      parseIndicators({ envValueSha256: ['sk_live_0123456789abcdefghij'] })
      expect.unreachable()
    } catch (err) {
      expect((err as Error).message).toMatch(/not 64 hex digits/)
      expect((err as Error).message).not.toContain('sk_live')
    }
  })

  it('explains public exposure: URL AuthType NONE, and open policy statements only', () => {
    const policy = JSON.stringify({
      Statement: [
        { Sid: 'open', Effect: 'Allow', Principal: '*', Action: 'lambda:InvokeFunction', Resource: '*' },
        {
          Sid: 's3',
          Effect: 'Allow',
          Principal: { Service: 's3.amazonaws.com' },
          Action: 'lambda:InvokeFunction',
          Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::b' } },
        },
        {
          Sid: 'own',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::111122223333:root' },
          Action: 'lambda:*',
        },
        {
          Sid: 'other',
          Effect: 'Allow',
          Principal: { AWS: '444455556666' },
          Action: 'lambda:InvokeFunction',
        },
      ],
    })
    const reasons = publicReasons(
      [
        { url: 'https://abc.lambda-url.eu-west-1.on.aws/', authType: 'NONE', arn: 'x' },
        { url: 'https://def.lambda-url.eu-west-1.on.aws/', authType: 'AWS_IAM', arn: 'y' },
      ],
      policy,
      { account: '111122223333' },
    )
    expect(reasons.map((r) => r.detail)).toEqual([
      'function URL https://abc.lambda-url.eu-west-1.on.aws/ has AuthType NONE',
      'resource policy statement open allows "*"',
      'resource policy statement other allows {"AWS":"444455556666"}',
    ])
  })

  it('reads --regions', () => {
    expect(parseRegions('all', 'us-east-1').all).toBe(true)
    expect(parseRegions('all', 'us-east-1').regions).toContain('af-south-1')
    expect(parseRegions(' eu-west-1,us-east-1,eu-west-1 ', 'x').regions).toEqual(['eu-west-1', 'us-east-1'])
    expect(() => parseRegions("us-east-1'", 'x')).toThrow(/not an AWS region name/)
  })
})
