import type { FirContext } from '../context.js'
import { rolesBySet } from '../snapshot/function-roles.js'
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
    // A set that holds the function at several qualifiers recorded each one's role once.
    const snapshots = snapshotsFor(ctx.case.dir, ctx.case.journal.all(), target.arn)
    for await (const { snap, roles: recorded } of rolesBySet(ctx.case.dir, snapshots)) {
      for (const [qualifier, arn] of recorded) {
        const name = roleNameOf(arn)
        if (name) addRecordedRole(roles, { arn, name, qualifier }, snap.set)
      }
    }
    return roles
  },
  async take(ctx: FirContext, target: FunctionTarget) {
    const result = await snapshotFunctions(ctx, { functions: [target.arn] })
    return setName(result) ?? 'unknown'
  },
}
