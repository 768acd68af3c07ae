import { ACTION_SPECS, type ActionSpec } from '../action-specs.js'
import type { ActionImpl, ActionRegistry } from '../runner.js'
import { caseNoteAction } from './case-note.js'
import { containAction, restoreAction } from './containment.js'
import { revokeSessionsAction, rotateKeyAction, rotateSecretAction } from './credentials.js'
import { reportAction } from './report.js'
import { snapshotAllUsingRoleAction, snapshotFunctionAction } from './snapshot.js'
import { timelineAction } from './timeline.js'

/** The code behind each action id (an explicit table: no self-registration). */
const IMPLEMENTATIONS: Record<string, ActionImpl> = {
  'snapshot.function': snapshotFunctionAction,
  'snapshot.all-using-role': snapshotAllUsingRoleAction,
  'containment.contain': containAction,
  'containment.restore': restoreAction,
  'credentials.revoke-sessions': revokeSessionsAction,
  'credentials.rotate-key': rotateKeyAction,
  'credentials.rotate-secret': rotateSecretAction,
  'timeline.collect': timelineAction,
  'report.render': reportAction,
  'case.note': caseNoteAction,
}

/** Every action this build of fir can perform, with its spec. */
export function builtinActions(): ActionRegistry {
  const registry = new Map<string, { spec: ActionSpec; run: ActionImpl }>()
  for (const spec of ACTION_SPECS) {
    const run = IMPLEMENTATIONS[spec.id]
    if (run) registry.set(spec.id, { spec, run })
  }
  return registry
}
