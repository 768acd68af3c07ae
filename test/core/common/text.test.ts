import { describe, expect, it } from 'vitest'
import { counted } from '../../../src/core/common/text.js'

describe('counted', () => {
  it('puts the noun in the number the count needs', () => {
    expect(counted(1, 'evidence set')).toBe('1 evidence set')
    expect(counted(0, 'evidence set')).toBe('0 evidence sets')
    expect(counted(3, 'journal entry', 'journal entries')).toBe('3 journal entries')
    expect(counted(1, 'journal entry', 'journal entries')).toBe('1 journal entry')
  })
})
