import type { FirContext } from '../context.js'
import { qualifierRoles } from '../snapshot/function-roles.js'
import { roleNameOf } from '../snapshot/role.js'
import { latestSnapshotFor, snapshotFunctions, snapshotsFor } from '../snapshot/snapshot.js'
import type { SnapshotPort } from './contain.js'
import type { FunctionTarget } from './function-target.js'
import { addRecordedRole, type RecordedRole } from './role-swap.js'

function setName(value: unknown): string | null {
  if (!value) return null
  if (typeof value === 'string') return value
  const v = value as { name?: unknown; set?: unknown; dir?: unknown }
  if (typeof v.name === 'string') return v.name
  if (typeof v.set === 'string') return v.set
  if (v.set && typeof (v.set as { name?: unknown }).name === 'string') return (v.set as { name: string }).name
  if (typeof v.dir === 'string') return v.dir.split('/').at(-1) ?? v.dir
  return 'existing'
}

/** Contain's snapshot-first rule (DESIGN §4) on the snapshot module. */
export const snapshotPort: SnapshotPort = {
  async existing(ctx: FirContext, target: FunctionTarget) {
    return setName(await latestSnapshotFor(ctx.case.dir, ctx.case.journal.all(), target.arn))
  },
  async roles(ctx: FirContext, target: FunctionTarget) {
    const roles: RecordedRole[] = []
    const read = new Set<string>()
    for await (const s of snapshotsFor(ctx.case.dir, ctx.case.journal.all(), target.arn)) {
      // A set that holds the function at several qualifiers recorded each one's role once.
      if (read.has(s.set)) continue
      read.add(s.set)
      for (const [qualifier, arn] of await qualifierRoles(ctx.case.dir, s)) {
        const name = roleNameOf(arn)
        if (name) addRecordedRole(roles, { arn, name, qualifier }, s.set)
      }
    }
    return roles
  },
  async take(ctx: FirContext, target: FunctionTarget) {
    const result = await snapshotFunctions(ctx, { functions: [target.arn] })
    return setName(result) ?? 'unknown'
  },
}
