import { describe, expect, it } from 'vitest'
import { isRoleName } from '../../../src/core/common/iam-name.js'

describe('isRoleName', () => {
  it('takes 1 to 64 letters, digits and +=,.@_- and nothing else', () => {
    expect(isRoleName('orders-api_role+=,.@1')).toBe(true)
    expect(isRoleName('a'.repeat(64))).toBe(true)
    expect(isRoleName('a'.repeat(65))).toBe(false)
    expect(isRoleName('')).toBe(false)
    expect(isRoleName('path/role')).toBe(false)
    expect(isRoleName('role name')).toBe(false)
    expect(isRoleName("role'; DROP")).toBe(false)
    expect(isRoleName('rôle')).toBe(false)
  })
})
