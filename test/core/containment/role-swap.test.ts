import { describe, expect, it } from 'vitest'
import type { FunctionTarget } from '../../../src/core/containment/function-target.js'
import {
  addRecordedRole,
  type RecordedRole,
  swappedRoles,
  versionRoles,
} from '../../../src/core/containment/role-swap.js'

const arn = (name: string) => `arn:aws:iam::123456789012:role/${name}`
const target = (role: string): FunctionTarget => ({
  name: 'fn',
  arn: 'arn:aws:lambda:us-east-1:123456789012:function:fn',
  region: 'us-east-1',
  account: '123456789012',
  roleArn: arn(role),
  roleName: role,
})
const recorded = (...rows: [qualifier: string, role: string, set: string][]) => {
  const roles: RecordedRole[] = []
  for (const [qualifier, name, set] of rows) addRecordedRole(roles, { arn: arn(name), name, qualifier }, set)
  return roles
}

describe('the roles a function runs with besides $LATEST’s, like with like', () => {
  it("a swap is $LATEST's recorded role against $LATEST's live one; a version still on the old role is said apart", () => {
    const rec = recorded(['$LATEST', 'old', 'S2'], ['1', 'old', 'S2'], ['$LATEST', 'old', 'S1'])
    const live = [{ version: '1', role: arn('old') }]
    expect(swappedRoles(target('evil'), rec)).toEqual([{ arn: arn('old'), name: 'old', sets: ['S2', 'S1'] }])
    expect(versionRoles(target('evil'), rec, live)).toEqual([
      { arn: arn('old'), name: 'old', versions: ['1'], gone: [], sets: ['S2'] },
    ])
    // No swap: $LATEST runs with what the snapshots recorded for it.
    expect(swappedRoles(target('OLD'), rec)).toEqual([])
    expect(versionRoles(target('old'), rec, live)).toEqual([])
  })

  it("a version's recorded role against that version live: gone when it is not there or runs with another role", () => {
    const rec = recorded(['$LATEST', 'now', 'S1'], ['1', 'a', 'S1'], ['2', 'b', 'S1'], ['3', 'c', 'S1'])
    const live = [
      { version: '1', role: arn('a') },
      // Version 2 with another role: the function was made again; the recorded version 2 is gone.
      { version: '2', role: arn('d') },
      { version: '10', role: arn('a') },
      { version: '4', role: arn('now') },
    ]
    expect(swappedRoles(target('now'), rec)).toEqual([])
    expect(versionRoles(target('now'), rec, live)).toEqual([
      { arn: arn('a'), name: 'a', versions: ['1', '10'], gone: [], sets: ['S1'] },
      { arn: arn('d'), name: 'd', versions: ['2'], gone: [], sets: [] },
      { arn: arn('b'), name: 'b', versions: [], gone: ['2'], sets: ['S1'] },
      { arn: arn('c'), name: 'c', versions: [], gone: ['3'], sets: ['S1'] },
    ])
  })

  it('without the live versions (the read failed), the versions are taken as the snapshots recorded them', () => {
    const rec = recorded(['1', 'a', 'S2'], ['1', 'a', 'S1'], ['2', 'now', 'S1'])
    expect(versionRoles(target('now'), rec, null)).toEqual([
      { arn: arn('a'), name: 'a', versions: ['1'], gone: [], sets: ['S2', 'S1'] },
    ])
  })
})
