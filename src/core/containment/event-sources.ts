import type { AwsClients } from '../../aws/clients.js'
import { type EventSourceMappingConfiguration, listEventSourceMappings } from '../../aws/lambda.js'
import { getEventSourceMapping, setEventSourceMappingEnabled } from '../../aws/lambda-containment.js'
import { holdsRedaction, protectArn, redactor } from '../common/redact.js'
import { isFunctionOrQualifier } from '../identity.js'
import { defineStep, type UndoComparison } from '../steps/define-step.js'
import { changeEach, notAllChanged } from './each.js'
import { type FunctionParams, regionalAws } from './function-target.js'

export interface MappingState {
  uuid: string
  eventSourceArn: string
  functionArn: string
  /** Enabled, Disabled, Enabling, Disabling, Creating, Updating, Deleting; 'absent' when gone. */
  state: string
}

export interface EventSourcesState {
  mappings: MappingState[]
}

const ON = new Set(['Enabled', 'Enabling'])
const OFF = new Set(['Disabled', 'Disabling'])
/**
 * A mapping being created or updated ends Enabled or Disabled, and Lambda refuses to change it
 * until then (ResourceInUseException): read it again until it settles. One still settling after
 * that is taken as enabled (fir tries to disable it; a refusal is a gap, never "already applied").
 */
const SETTLING = new Set(['Creating', 'Updating'])
const SETTLE_WAIT_MS = 30_000
const SETTLE_POLL_MS = 1_000

/** Enabled, or may end enabled: what containment disables. */
function mayRun(state: string): boolean {
  return ON.has(state) || SETTLING.has(state)
}

/** The mappings, each read again (up to SETTLE_WAIT_MS) while it is being created or updated. */
async function settled(
  aws: AwsClients,
  mappings: MappingState[],
  waitMs = SETTLE_WAIT_MS,
): Promise<MappingState[]> {
  const deadline = Date.now() + waitMs
  const out: MappingState[] = []
  for (const m of mappings) {
    let state = m.state
    while (SETTLING.has(state)) {
      const now = await getEventSourceMapping(aws, m.uuid)
      state = now ? (now.State ?? 'unknown') : 'absent'
      if (!SETTLING.has(state) || Date.now() >= deadline) break
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS))
    }
    if (state !== 'absent') out.push(state === m.state ? m : { ...m, state })
  }
  return out
}

function describe(s: EventSourcesState): string {
  if (s.mappings.length === 0) return 'no event source mappings'
  const on = s.mappings.filter((m) => ON.has(m.state)).length
  const settling = s.mappings.filter((m) => SETTLING.has(m.state)).length
  return `${on} of ${s.mappings.length} mapping${s.mappings.length === 1 ? '' : 's'} enabled${settling ? `, ${settling} being created or updated` : ''}`
}

function compareForUndo(
  current: EventSourcesState,
  record: { prior: EventSourcesState },
): UndoComparison<EventSourcesState> {
  const conflicts: string[] = []
  const deleted: string[] = []
  let changes = 0
  const result: MappingState[] = []
  for (const p of record.prior.mappings) {
    if (holdsRedaction(p.uuid) || holdsRedaction(p.state)) {
      // Journaled by a fir that did not protect them: which mapping it was, or whether it ran, is
      // not known, so it is neither re-enabled nor said to be deleted.
      conflicts.push(
        `mapping ${p.uuid} (${p.eventSourceArn}): the journal keeps its id or state redacted (a secret value stood in it), so fir cannot tell which mapping it was or whether it ran; left as it is: re-enable it by hand if the case's snapshot (evidence/) shows it enabled`,
      )
      continue
    }
    if (!ON.has(p.state)) continue
    const now = current.mappings.find((m) => m.uuid === p.uuid)
    if (now && OFF.has(now.state)) {
      changes++
      result.push({ ...now, state: 'Enabled' })
    } else if (now && ON.has(now.state)) {
      result.push(now)
    } else if (!now || now.state === 'Deleting') {
      // Deleted since: nothing to re-enable, and no one can put it back (a new mapping gets a new
      // UUID). Not a conflict: the others are re-enabled and the undo is done.
      deleted.push(
        `mapping ${p.uuid} (${p.eventSourceArn}) ${now ? 'is being deleted' : 'was deleted'} since fir disabled it; nothing to re-enable`,
      )
      if (now) result.push(now)
    } else {
      conflicts.push(`mapping ${p.uuid} (${p.eventSourceArn}) is ${now.state}; fir disabled it and left it`)
      result.push(now)
    }
  }
  for (const m of current.mappings) if (!result.some((r) => r.uuid === m.uuid)) result.push(m)
  // A mapping enabled now that fir did not disable (created or enabled by hand since) is left as it
  // is; a contain run again disables it, superseding this change so that restore re-enables it too.
  const madeSince = current.mappings
    .filter((m) => mayRun(m.state))
    .flatMap((m) => {
      const p = record.prior.mappings.find((x) => x.uuid === m.uuid)
      if (p && ON.has(p.state)) return []
      const since = p ? `enabled since fir's change (it was ${p.state})` : "created since fir's change"
      return [`mapping ${m.uuid} (${m.eventSourceArn}) is ${m.state}, ${since}; left as it is`]
    })
  return { result: { mappings: result }, changes, conflicts, madeSince: [...deleted, ...madeSince] }
}

/**
 * containment.event-sources — disables every enabled event source mapping of the function (its
 * versions and aliases too), first, so queued messages stay in their queues instead of draining
 * to a dead-letter queue while the function is throttled.
 * IAM: lambda:ListEventSourceMappings, lambda:GetEventSourceMapping, lambda:UpdateEventSourceMapping.
 * Undo: re-enables exactly the mappings it disabled (never one that was disabled before). A mapping
 * enabled since (created or enabled by hand) is left as it is and named; a contain run again
 * disables it, and restore then re-enables it with those the first contain disabled. A mapping it
 * disabled that was deleted since is named (nothing to re-enable), not a conflict.
 */
export const eventSourcesStep = defineStep<FunctionParams, EventSourcesState>({
  id: 'containment.event-sources',
  title: 'Disable event source mappings',
  iamActions: [
    'lambda:ListEventSourceMappings',
    'lambda:GetEventSourceMapping',
    'lambda:UpdateEventSourceMapping',
  ],
  undoIamActions: [
    'lambda:ListEventSourceMappings',
    'lambda:GetEventSourceMapping',
    'lambda:UpdateEventSourceMapping',
  ],
  undoPolicy: 'default',
  async read(ctx, params) {
    const aws = regionalAws(ctx, params.region)
    // The region's mappings, kept when attached to the function or one of its versions or aliases
    // (the snapshot lists them alike).
    const list: EventSourceMappingConfiguration[] = []
    await listEventSourceMappings(aws, (page) => {
      for (const m of page.EventSourceMappings ?? [])
        if (isFunctionOrQualifier(m.FunctionArn ?? '', params.functionArn)) list.push(m)
    })
    const listed = list
      .map((m) => ({
        uuid: m.UUID ?? '',
        eventSourceArn: m.EventSourceArn ?? '',
        functionArn: m.FunctionArn ?? '',
        state: m.State ?? 'unknown',
      }))
      .sort((a, b) => a.uuid.localeCompare(b.uuid))
    // What names a mapping, and its state (Lambda's word): undo finds it by them.
    for (const m of listed) {
      // AWS makes the id, and the state is Lambda's word: spared even when a secret is one.
      for (const id of [m.uuid, m.state]) redactor.protect(id, { evenIfSecret: true })
      protectArn(m.eventSourceArn)
    }
    const mappings = await settled(aws, listed)
    return { target: params.functionArn, label: params.function, state: { mappings } }
  },
  intend: (_ctx, _params, current) => ({
    mappings: current.mappings.map((m) => (mayRun(m.state) ? { ...m, state: 'Disabled' } : m)),
  }),
  isApplied: (_ctx, _params, current) => !current.mappings.some((m) => mayRun(m.state)),
  async change(ctx, params, current) {
    const aws = regionalAws(ctx, params.region)
    const on = current.mappings.filter((m) => mayRun(m.state))
    // One mapping Lambda refuses to disable must not leave the others draining: try each, then report.
    const { results, refused } = await changeEach(
      on,
      (m) => `mapping ${m.uuid} (${m.eventSourceArn})`,
      async (m) => (await setEventSourceMappingEnabled(aws, m.uuid, false)).State ?? 'Disabling',
    )
    if (refused.length > 0) {
      throw notAllChanged(
        { verb: 'disable', things: `event source mappings of function ${params.function}`, made: 'disabled' },
        refused,
        on.length - refused.length,
      )
    }
    const disabled = new Map(on.map((m, i) => [m.uuid, results[i]!]))
    return {
      mappings: current.mappings.map((m) =>
        disabled.has(m.uuid) ? { ...m, state: disabled.get(m.uuid)! } : m,
      ),
    }
  },
  describe,
  nothingToChange: (s) => (s.mappings.length === 0 ? 'no event source mappings' : null),
  outputs: (_params, state) => ({ mappings: state.mappings.map((m) => m.uuid) }),
  compareForUndo,
  async revert(ctx, record, current) {
    const aws = regionalAws(ctx, record.params.region)
    const after = new Map(current.mappings.map((m) => [m.uuid, m]))
    for (const p of record.prior.mappings) {
      if (!ON.has(p.state)) continue
      const now = after.get(p.uuid)
      if (!now || !OFF.has(now.state)) continue
      const out = await setEventSourceMappingEnabled(aws, p.uuid, true)
      after.set(p.uuid, { ...now, state: out.State ?? 'Enabling' })
    }
    return { mappings: [...after.values()] }
  },
})
