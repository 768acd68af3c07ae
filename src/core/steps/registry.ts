import { eventSourcesStep } from '../containment/event-sources.js'
import { permissionsStep } from '../containment/permissions.js'
import { recycleStep } from '../containment/recycle.js'
import { sessionsStep } from '../containment/sessions.js'
import { throttleStep } from '../containment/throttle.js'
import { urlStep } from '../containment/url.js'
import { revokeSessionsCredStep } from '../credentials/revoke-sessions.js'
import { rotateKeyStep } from '../credentials/rotate-key.js'
import { rotateSecretStep } from '../credentials/rotate-secret.js'
import type { Step } from './step.js'

/** The containment steps, in the order contain runs them (DESIGN §4). */
export const CONTAINMENT_STEPS = [
  eventSourcesStep,
  throttleStep,
  urlStep,
  permissionsStep,
  sessionsStep,
  recycleStep,
] as const

/** Every step fir has, by id (an explicit list: no self-registration). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds steps of different params and states
export const STEPS: readonly Step<any, any>[] = [
  ...CONTAINMENT_STEPS,
  revokeSessionsCredStep,
  rotateKeyStep,
  rotateSecretStep,
]

// biome-ignore lint/suspicious/noExplicitAny: see STEPS
export function stepById(id: string): Step<any, any> | undefined {
  return STEPS.find((s) => s.id === id)
}
