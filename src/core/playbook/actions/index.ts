import { ACTION_SPECS } from '../action-specs.js'
import type { ActionImpl, ActionRegistry } from '../runner.js'
import { caseNoteAction } from './case-note.js'

/** The code behind each action id (an explicit table: no self-registration). */
const IMPLEMENTATIONS: Record<string, ActionImpl> = {
  'case.note': caseNoteAction,
}

/** Every action this build of fir can perform, with its spec. */
export function builtinActions(): ActionRegistry {
  const registry = new Map<string, { spec: (typeof ACTION_SPECS)[number]; run: ActionImpl }>()
  for (const spec of ACTION_SPECS) {
    const run = IMPLEMENTATIONS[spec.id]
    if (run) registry.set(spec.id, { spec, run })
  }
  return registry
}
