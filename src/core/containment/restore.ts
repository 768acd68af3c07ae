import { UsageError } from '../../errors.js'
import { SealedEvidenceChangedError } from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { canonicalJson } from '../common/canonical-json.js'
import { arg, firCommand } from '../common/suggest.js'
import { escapeTerminal } from '../common/text.js'
import { newestVersion } from '../common/version.js'
import type { FirContext } from '../context.js'
import { roleNameGiven } from '../credentials/revoke-sessions.js'
import { parseArn } from '../identity.js'
import { functionRoles } from '../snapshot/function-roles.js'
import { snapshotsFor } from '../snapshot/snapshot.js'
import { stepById, unknownChanges } from '../steps/registry.js'
import { runUndos, type UndoCall } from '../steps/runner.js'
import type { StepResult, UndoRecord } from '../steps/step.js'
import { isUndoEntry, pendingUndos } from '../steps/undo-records.js'
import { DEFAULT_RESTORE_ACTIONS, RESTORE_ACTIONS, type RestoreAction, stepIdsFor } from './actions.js'
import { parseFunctionRef, regionalAws } from './function-target.js'
import type { PermissionsState, PolicyStatementRef } from './permissions.js'
import { recreatedWarnings } from './recreated.js'
import { sameUrl, type UrlState } from './url.js'

export interface RestoreOptions {
  /**
   * Only changes made to this function (name, partial or full ARN; a name is the function in the
   * context's region); default every change in the case. A function the case journaled no change
   * for is refused (UsageError).
   */
  function?: string
  /** Named actions; default {@link DEFAULT_RESTORE_ACTIONS}. Naming `sessions` / `rotate-key` opts in. */
  actions?: readonly RestoreAction[]
  dryRun?: boolean
  confirmed?: boolean
  onPlan?: (rows: StepResult[]) => void
}

export interface RestoreResult {
  dryRun: boolean
  /** Changes of steps this fir does not have (a newer fir's): named in a warning, left as they are. */
  unknownChanges: number
  actions: RestoreAction[]
  plans: StepResult[]
  results: StepResult[]
  warnings: string[]
}

const WARN_SESSIONS =
  'removing the session revocation makes stolen tokens issued before the cutoff valid again (until they expire)'
/** The steps whose undo puts settings back on the function itself (not on its role or keys). */
const FUNCTION_SETTINGS = new Set(
  (['event-sources', 'throttle', 'url', 'permissions', 'recycle'] as const).flatMap(stepIdsFor),
)

const WARN_KEY = 'reactivating a rotated access key makes the leaked key valid again'

/** The function a journaled change was made to, and its region, from the params contain journals with it. */
interface ChangedFunction {
  name: string
  region: string
  arn: string
}

function changedFunction(params: unknown): ChangedFunction | undefined {
  const p = params as Record<string, unknown> | null
  if (!p || typeof p.function !== 'string') return undefined
  const arn = typeof p.functionArn === 'string' ? p.functionArn : ''
  const region = typeof p.region === 'string' && p.region ? p.region : (parseArn(arn)?.region ?? '')
  return { name: p.function, region, arn }
}

/**
 * Whether a journaled change was made to `<function>` as the responder names it: a full ARN is
 * matched exactly; a name or partial ARN in `region` (--region, as contain resolved it), since a
 * function of the same name in another region is another function.
 */
function sameFunction(changed: ChangedFunction, fn: string, region: string): boolean {
  if (fn.startsWith('arn:')) return changed.arn === fn
  const ref = parseFunctionRef(fn)
  return (
    changed.name === ref.name &&
    changed.region === region &&
    (!ref.account || changed.arn.includes(`:${ref.account}:`))
  )
}

/**
 * Refuses a `<function>` the case journaled no change for (a mistyped name, or the right name in
 * another region): "nothing to undo" would let the responder believe the function was restored.
 */
function assertJournaled(ctx: FirContext, fn: string, region: string, steps: ReadonlySet<string>): void {
  const changed = new Map<string, ChangedFunction>()
  for (const e of ctx.case.journal.all()) {
    if (!steps.has(e.action)) continue
    const c = changedFunction(e.params)
    if (!c) continue
    if (sameFunction(c, fn, region)) return
    changed.set(`${c.name}\u0000${c.region}`, c)
  }
  const list = [...changed.values()]
  const where = fn.startsWith('arn:') ? '' : ` in region ${region}`
  const elsewhere = list.filter((c) => !fn.startsWith('arn:') && c.name === parseFunctionRef(fn).name)
  throw new UsageError(
    `unable to restore ${escapeTerminal(fn)}: case ${escapeTerminal(ctx.case.meta.id)} journaled no change to function ${escapeTerminal(fn)}${where}; ${
      list.length
        ? `it changed ${list.map((c) => `${escapeTerminal(c.name)} (${c.region || 'region unknown'})`).join(', ')}`
        : 'it changed no function'
    }`,
    {
      actions: [
        ...elsewhere.map((c) => `to restore ${c.name} in ${c.region}: add --region ${c.region}`),
        'check the function name (fir case show lists what the case changed)',
        'or run fir restore without a function to undo every change of the case',
      ],
    },
  )
}

function isSameChanged(a: ChangedFunction, b: ChangedFunction): boolean {
  return a.name === b.name && a.region === b.region && a.arn === b.arn
}

/** Every function a pending change was journaled for (see UndoRecord.journaledFor). */
function functionsOf(record: UndoRecord): ChangedFunction[] {
  const out: ChangedFunction[] = []
  for (const params of record.journaledFor ?? [record.params]) {
    const c = changedFunction(params)
    if (c && !out.some((x) => isSameChanged(x, c))) out.push(c)
  }
  return out
}

/**
 * The params a pending change is in force for that name `fn` (see UndoRecord.heldFor), each once:
 * what a restore of `fn` that keeps the change releases.
 */
function heldForFunction(record: UndoRecord, fn: string, region: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const params of record.heldFor ?? []) {
    const c = changedFunction(params)
    if (c && sameFunction(c, fn, region) && !out.some((p) => canonicalJson(p) === canonicalJson(params)))
      out.push(params)
  }
  return out
}

/**
 * The role a pending change was also journaled for by name, without a function (`fir creds
 * revoke-sessions`, or its playbook action): the responder asked for it for the whole role.
 */
function roleAskedByName(record: UndoRecord): string | undefined {
  const byName = (record.journaledFor ?? [record.params]).find(
    (p) => changedFunction(p) === undefined && typeof p.role === 'string',
  )
  return byName?.role as string | undefined
}

/**
 * The execution roles of `fn` as the case knows them, lower-cased: those its journaled changes name
 * (its sessions containment) and those its sealed snapshots recorded (as contain takes them).
 * Evidence changed since it was sealed is passed over: restore goes by the journal, and this only
 * decides which revocations of a whole role the restore of `fn` names as kept.
 */
async function rolesOfFunction(ctx: FirContext, fn: string, region: string): Promise<Set<string>> {
  const roles = new Set<string>()
  const arns = new Set<string>()
  for (const e of ctx.case.journal.all()) {
    const c = changedFunction(e.params)
    if (!c || !sameFunction(c, fn, region)) continue
    const role = (e.params as { role?: unknown }).role
    if (typeof role === 'string') roles.add(roleNameGiven(role).toLowerCase())
    if (c.arn) arns.add(c.arn)
  }
  for (const arn of arns) {
    try {
      for (const r of await functionRoles(
        ctx.case.dir,
        snapshotsFor(ctx.case.dir, ctx.case.journal.all(), arn),
      ))
        roles.add(r.name.toLowerCase())
    } catch (err) {
      if (!(err instanceof SealedEvidenceChangedError)) throw err
    }
  }
  return roles
}

/**
 * What a restore of a function says of a revocation asked for the whole role by name (see
 * roleAskedByName), whether or not the function's containment made it too: it keeps it, and the
 * one restore that lifts it.
 */
function keptByNameNote(ctx: FirContext, role: string): string {
  const lift = firCommand(['restore', '--actions', 'sessions'], ctx.aws, { caseDir: ctx.case.dir })
  return `kept: fir creds revoke-sessions revoked the sessions of role ${escapeTerminal(role)} in this case, for every user of the role, and no restore of a function lifts it; to lift it (with every other session revocation of the case): ${lift}`
}

/**
 * Undoes the case's changes, newest first, from the journal alone. By default event-sources,
 * throttle, url, permissions and recycle; the session revocation and rotated keys only when named
 * (with a warning). Where the current state was changed by someone else since, the conflict is
 * reported and that part is left alone.
 */
export async function restoreCase(ctx: FirContext, options: RestoreOptions): Promise<RestoreResult> {
  const named = options.actions !== undefined
  const actions = [...(options.actions ?? DEFAULT_RESTORE_ACTIONS)]
  const wanted = new Set(actions.flatMap(stepIdsFor))
  const known = new Set(RESTORE_ACTIONS.flatMap(stepIdsFor).concat(['credentials.rotate-secret']))
  const fn = options.function
  const region = ctx.aws.region
  const unknown = unknownChanges(ctx.case.journal.all()).filter(
    (r) => fn === undefined || functionsOf(r).some((c) => sameFunction(c, fn, region)),
  )
  if (fn !== undefined) assertJournaled(ctx, fn, region, new Set([...known, ...unknown.map((r) => r.step)]))
  const pending = pendingUndos(ctx.case.journal.all(), known)
  const served = new Map(pending.map((r) => [r, functionsOf(r)]))
  const forFunction = (r: UndoRecord) =>
    fn === undefined || served.get(r)!.some((c) => sameFunction(c, fn, region))
  // A revocation asked for a role of the function by name, not made for the function: the
  // restore names it as kept, as it does any change it leaves, rather than pass it over in silence.
  // The function's roles (its sealed snapshots read) only when some pending change was asked by name.
  const roles =
    fn === undefined || !pending.some((r) => roleAskedByName(r) !== undefined)
      ? new Set<string>()
      : await rolesOfFunction(ctx, fn, region)
  const byName = (r: UndoRecord) => {
    const role = roleAskedByName(r)
    return role !== undefined && roles.has(roleNameGiven(role).toLowerCase())
  }
  const records = pending.filter((r) => forFunction(r) || byName(r))
  const names = (list: Record<string, unknown>[] | undefined, c: ChangedFunction) =>
    (list ?? []).some((p) => {
      const x = changedFunction(p)
      return x !== undefined && isSameChanged(x, c)
    })
  /**
   * Another function of the case still contained: `besides` itself is in force for it (its
   * session revocation, applied or already-applied and not released by a restore of it, whatever
   * other actions contained it), or a change of its own is not undone yet — unless a restore of it
   * released `besides` (its own revocation was restored: it keeps it for no one, else two
   * functions each still throttled would keep it for the other for good).
   */
  const stillContained = (c: ChangedFunction, besides: UndoRecord) =>
    names(besides.heldFor, c) ||
    (!names(besides.releasedFor, c) &&
      pending.some((r) => r !== besides && served.get(r)!.some((x) => isSameChanged(x, c))))
  const calls: UndoCall[] = []
  for (const record of records) {
    const step = stepById(record.step)
    if (!step) continue
    // Restoring one function leaves a change that still serves another function of the case (a
    // shared role's session revocation): undoing it would expose that one without a word.
    const others =
      fn === undefined
        ? []
        : served.get(record)!.filter((c) => !sameFunction(c, fn, region) && stillContained(c, record))
    // A revocation asked for the whole role by name is not one function's to lift, selected or not.
    const role = fn === undefined ? undefined : roleAskedByName(record)
    // Kept for the others, it is no longer held for this function: restoring them lifts it.
    const release = fn === undefined ? [] : heldForFunction(record, fn, region)
    if (fn !== undefined && role !== undefined) {
      calls.push({
        step,
        record,
        skip: keptByNameNote(ctx, role),
        ...(wanted.has(step.id) ? { release } : {}),
      })
      continue
    }
    if (others.length > 0 && wanted.has(step.id)) {
      const names = others.map((c) => escapeTerminal(c.name)).join(', ')
      calls.push({
        step,
        record,
        skip: `kept: it also contains ${names} (contained in this case); restore ${others.length > 1 ? 'them' : 'it'} too, or run fir restore without a function`,
        release,
      })
      continue
    }
    const impossible = step.cannotUndo(ctx, record)
    if (impossible !== null) {
      calls.push({ step, record, skip: impossible })
    } else if (!wanted.has(step.id)) {
      const name = step.id === 'credentials.rotate-key' ? 'rotate-key' : step.id.split('.')[1]
      const how =
        step.undoPolicy === 'named'
          ? `kept: restore undoes it only when named (--actions ${name === 'revoke-sessions' ? 'sessions' : name})`
          : `not selected by --actions`
      if (step.undoPolicy === 'named' || named) calls.push({ step, record, skip: how })
    } else {
      calls.push({ step, record })
    }
  }
  const warnings: string[] = []
  if (unknown.length > 0) warnings.push(unknownWarning(ctx, unknown))
  // Before anything is confirmed: a function that looks deleted and re-created since is another's.
  const touched: ChangedFunction[] = []
  for (const c of calls) {
    if (c.skip !== undefined || !FUNCTION_SETTINGS.has(c.step.id)) continue
    for (const f of functionsOf(c.record)) if (!touched.some((x) => isSameChanged(x, f))) touched.push(f)
  }
  warnings.push(...(await recreatedWarnings(ctx, touched, (r) => regionalAws(ctx, r))))
  // Only for what this run would undo: a revocation kept (skipped) makes nothing valid again.
  const undoing = calls.filter((c) => c.skip === undefined).map((c) => c.record.step)
  if (actions.includes('sessions') && undoing.some((s) => s.endsWith('sessions')))
    warnings.push(WARN_SESSIONS)
  if (actions.includes('rotate-key') && undoing.includes('credentials.rotate-key')) warnings.push(WARN_KEY)
  for (const w of warnings) ctx.log.warn(w)
  const what = options.function ? `restore ${options.function}` : 'restore the case'
  // What this run journals comes after: what earlier restores left is read from before it.
  const journaled = ctx.case.journal.all().length
  const run = await runUndos(ctx, calls, {
    what,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.confirmed ? { confirmed: true } : {}),
    ...(options.onPlan ? { onPlan: options.onPlan } : {}),
  })
  if (!run.dryRun) {
    const removed = statementsStillRemoved(pending, run.results, calls)
    const earlier = leftByEarlierRestores(ctx.case.journal.all().slice(0, journaled))
    for (const w of [
      reopenedWarning(ctx, run.results, calls, removed, earlier),
      conflictWarning(run.results),
    ]) {
      if (!w) continue
      ctx.log.warn(w)
      warnings.push(w)
    }
  }
  return {
    dryRun: run.dryRun,
    unknownChanges: unknown.length,
    actions,
    plans: run.plans,
    results: run.results,
    warnings,
  }
}

/**
 * The changes of steps this fir does not have (a newer fir's, see unknownChanges): left as they
 * are, named, with what to do. Restore never reads past them in silence: "every change undone"
 * would be false.
 */
function unknownWarning(ctx: FirContext, unknown: readonly UndoRecord[]): string {
  const versions = ctx.case.journal
    .all()
    .filter((e) => unknown.some((r) => r.startedSeq === e.seq))
    .flatMap((e) => (typeof e.actor?.fir === 'string' ? [e.actor.fir] : []))
  const newest = newestVersion(versions)
  const list = unknown
    .map((r) => `${escapeTerminal(r.step)} on ${escapeTerminal(r.target)} (journal #${r.startedSeq})`)
    .join(', ')
  const n = unknown.length
  return `not undone: ${n === 1 ? 'a change' : `${n} changes`} this fir (${escapeTerminal(ctx.firVersion)}) has no step for, made by ${newest ? `fir ${escapeTerminal(newest)}` : 'a newer fir'}: ${list}. ${n === 1 ? 'It is' : 'They are'} left as ${n === 1 ? 'it is' : 'they are'}, perhaps still in force; run fir restore again with ${newest ? `fir ${escapeTerminal(newest)} or later` : 'the fir that made them'}`
}

/**
 * Whether a function's public resource-policy statements are still removed after this restore, as
 * far as the journal and this run know: the case's containment.permissions change of it removed
 * every one and is still pending, and this run left it in place (kept, not selected) or put no
 * public statement back. A URL set back to AuthType NONE then answers nobody outside the account:
 * AWS requires the resource policy to grant public access too.
 */
function statementsStillRemoved(
  pending: readonly UndoRecord[],
  results: readonly StepResult[],
  calls: readonly UndoCall[],
): (fn: ChangedFunction) => boolean {
  const hasPublic = (state: unknown) =>
    ((state as PermissionsState | null)?.statements ?? []).some((x) => x.public)
  return (fn) =>
    pending.some((record) => {
      if (record.step !== 'containment.permissions' || record.after == null || hasPublic(record.after))
        return false
      if (!functionsOf(record).some((c) => isSameChanged(c, fn))) return false
      const i = calls.findIndex((c) => c.record === record)
      const r = i === -1 ? undefined : results[i]
      // Left as it is (kept, or not selected); else what the undo left in place, when it says.
      if (r === undefined || r.outcome === 'skipped') return true
      return r.after != null && !hasPublic(r.after)
    })
}

/**
 * What the earlier restores of each change still pending left in place and journaled, by the seq
 * of the change's `started` entry: the `after` of the last undo outcome of it (`failed`, `denied`
 * or `conflict`; an `undone` one closes the change). Such a restore warned of what it reopened. A
 * restore killed between its change and its outcome journaled nothing of what it put back, and
 * warned of nothing.
 */
function leftByEarlierRestores(entries: readonly JournalEntry[]): Map<number, unknown> {
  const left = new Map<number, unknown>()
  for (const e of entries) {
    if (!isUndoEntry(e) || e.after === undefined) continue
    if (e.outcome !== 'failed' && e.outcome !== 'denied' && e.outcome !== 'conflict') continue
    const of = (e.params as { undoOf?: unknown }).undoOf
    if (typeof of === 'number') left.set(of, e.after)
  }
  return left
}

/**
 * The function URLs a containment.url change closed: AuthType NONE in its prior, set to another
 * AuthType in the state it left (its after state; a URL a failed change left NONE was not closed).
 */
function urlsClosed(record: UndoRecord): UrlState['configs'] {
  const after = (record.after as UrlState | undefined)?.configs
  return ((record.prior as UrlState | undefined)?.configs ?? []).filter(
    (p) =>
      p.authType === 'NONE' &&
      (after === undefined || after.some((a) => sameUrl(a, p) && a.authType !== 'NONE')),
  )
}

const statementKey = (x: PolicyStatementRef) => `${x.qualifier}|${x.sid}`

/**
 * The public statements a containment.permissions change removed: public in its prior, not in the
 * state it left (as its undo's comparison takes them).
 */
function statementsRemovedBy(record: UndoRecord): PolicyStatementRef[] {
  const left = new Set(((record.after as PermissionsState | undefined)?.statements ?? []).map(statementKey))
  return ((record.prior as PermissionsState | undefined)?.statements ?? []).filter(
    (x) => x.public && !left.has(statementKey(x)),
  )
}

/**
 * What this restore found open to the outside again, function by function, of what containment
 * had closed: URLs it had closed back at AuthType NONE (while public statements grant access to
 * them), public statements it had removed back in the resource policy — less what an earlier
 * restore journaled it had put back (it named that). Judged from the journal (the state the change
 * left, `earlier`), not from what this run read before its undo: a restore killed after its change
 * (no outcome journaled) reopened the function and said nothing, and its re-run finds the undo
 * made (`already-undone`, the state it read already open). Restoring is the responder's call;
 * saying so keeps a function from going public again unnoticed while its code may still be
 * compromised.
 */
function reopenedWarning(
  ctx: FirContext,
  results: readonly StepResult[],
  calls: readonly UndoCall[],
  statementsRemoved: (fn: ChangedFunction) => boolean,
  earlier: ReadonlyMap<number, unknown>,
): string | undefined {
  // By function (ARN, else name and region): the same name in two regions is two functions.
  const opened = new Map<string, { fn: ChangedFunction | undefined; label: string; what: string[] }>()
  results.forEach((r, i) => {
    // A failed or denied undo may have put back part of what it meant to (URLs set back,
    // statements re-added, before or after the one AWS refused): its `after` is what is in place.
    // An already-undone one found it in place (a function deleted since has no state: nothing).
    if (
      r.outcome !== 'undone' &&
      r.outcome !== 'already-undone' &&
      r.outcome !== 'conflict' &&
      r.outcome !== 'failed' &&
      r.outcome !== 'denied'
    )
      return
    const record = calls[i]?.record
    if (!record || r.after == null) return
    const fn = changedFunction(record.params)
    // Open already when an earlier restore journaled what it left: that one named it.
    const known = earlier.has(record.startedSeq) ? earlier.get(record.startedSeq) : record.after
    const label = fn?.name ?? (r.label || r.target)
    const key = fn ? fn.arn || `${fn.name}@${fn.region}` : label
    const add = (what: string) => {
      const o = opened.get(key) ?? { fn, label, what: [] }
      o.what.push(what)
      opened.set(key, o)
    }
    // A URL with AuthType NONE whose public statements the case still keeps removed opens nothing.
    if (r.step === 'containment.url' && !(fn && statementsRemoved(fn))) {
      const closed = urlsClosed(record)
      const wasOpen = ((known as UrlState | undefined)?.configs ?? []).filter((c) => c.authType === 'NONE')
      // Only a URL containment closed: the same config (qualifier and address). One made or
      // opened since (another URL, already NONE) is no part of what containment had closed.
      const open = ((r.after as UrlState).configs ?? [])
        .filter(
          (c) =>
            c.authType === 'NONE' && closed.some((p) => sameUrl(p, c)) && !wasOpen.some((p) => sameUrl(p, c)),
        )
        .map((c) => c.qualifier ?? '$LATEST')
      if (open.length > 0)
        add(`function URL${open.length > 1 ? 's' : ''} of ${open.join(', ')} with AuthType NONE`)
    } else if (r.step === 'containment.permissions') {
      const removed = new Set(statementsRemovedBy(record).map(statementKey))
      const there = new Set(((known as PermissionsState | undefined)?.statements ?? []).map(statementKey))
      const back = ((r.after as PermissionsState).statements ?? []).filter(
        (x) => x.public && removed.has(statementKey(x)) && !there.has(statementKey(x)),
      )
      if (back.length > 0)
        add(`public statement${back.length > 1 ? 's' : ''} ${back.map((x) => x.sid).join(', ')}`)
    }
  })
  if (opened.size === 0) return undefined
  const entries = [...opened.values()]
  const regions = new Set(entries.map((o) => o.fn?.region ?? ''))
  const list = entries.map(
    (o) =>
      `${escapeTerminal(o.label)}${regions.size > 1 && o.fn?.region ? ` in ${o.fn.region}` : ''} (${o.what.map((w) => escapeTerminal(w)).join('; ')})`,
  )
  const commands = entries.map((o) => {
    const words = ['contain', arg(o.fn?.arn || o.label), '--actions', 'url,permissions', '--yes']
    const region = o.fn?.region
    return `\`${escapeTerminal(firCommand(words, ctx.aws, { caseDir: ctx.case.dir, ...(region ? { region } : {}) }))}\``
  })
  return `reachable from outside the account again: ${list.join(', ')}. Restore put back what containment had closed; if the code is not known clean, close it again: ${commands.join(' and ')}`
}

/**
 * A conflict is no failed call (not a gap, exit 0), but what it left is not restored: names each
 * and what to do, and says so plainly when nothing at all was restored.
 */
function conflictWarning(results: readonly StepResult[]): string | undefined {
  const conflicts = results.filter((r) => r.outcome === 'conflict')
  if (conflicts.length === 0) return undefined
  // A conflict row may have restored its other parts (a statement re-added, another left).
  const restored = results.some(
    (r) =>
      r.outcome === 'undone' ||
      (r.outcome === 'conflict' && canonicalJson(r.before) !== canonicalJson(r.after)),
  )
  const list = conflicts.map((r) => `${r.step} on ${escapeTerminal(r.label || r.target)}`).join(', ')
  const [it, itIs, each] = conflicts.length > 1 ? ['them', 'they are', 'each'] : ['it', 'it is', 'it']
  return `${restored ? 'not restored' : 'nothing was restored'} (conflict): ${list}; someone changed ${it} since fir did, so fir left ${it} as ${itIs} (the notes say what differs). Set ${each} as it should be by hand, or put back the state fir left and run fir restore again`
}
