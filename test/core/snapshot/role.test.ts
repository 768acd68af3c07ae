import { describe, expect, it } from 'vitest'
import { isQuarantinePolicy, roleNameOf } from '../../../src/core/snapshot/role.js'

describe('role helpers', () => {
  it("recognises AWS's compromised-key quarantine policy only when AWS owns it", () => {
    expect(isQuarantinePolicy('arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2')).toBe(true)
    expect(isQuarantinePolicy('arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3')).toBe(true)
    expect(isQuarantinePolicy('arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine')).toBe(true)
    // A customer policy with the same name is not AWS's marker.
    expect(isQuarantinePolicy('arn:aws:iam::123456789012:policy/AWSCompromisedKeyQuarantineV2')).toBe(false)
    expect(isQuarantinePolicy('arn:aws:iam::aws:policy/ReadOnlyAccess')).toBe(false)
  })

  it('takes the role name from an ARN with a path', () => {
    expect(roleNameOf('arn:aws:iam::123456789012:role/service-role/orders-api-role')).toBe('orders-api-role')
    expect(roleNameOf('arn:aws:iam::123456789012:role/plain')).toBe('plain')
  })
})
