import { join } from 'node:path'
import { keyOwnerForRotation } from '../../credentials/keys.js'
import { revokeRoleSessions, roleNameGiven } from '../../credentials/revoke-sessions.js'
import { rotateAccessKey } from '../../credentials/rotate-key.js'
import { rotateSecret } from '../../credentials/rotate-secret.js'
import type { StepResult } from '../../steps/step.js'
import type { ActionImpl } from '../runner.js'
import { outcomeOf } from './outcome.js'

/**
 * `credentials.revoke-sessions`: the TokenIssueTime deny on each role (`role`, and `roles`: several,
 * such as a snapshot's roleNames — one of those deleted since is skipped, named, not refused), one
 * journaled change a role. `cutoff` is the earliest of the roles' cutoffs: sessions issued before it
 * are denied on every one. IAM: the `fir creds revoke-sessions` row.
 */
export const revokeSessionsAction: ActionImpl = async (run, params) => {
  const targets: { role: string; recorded: boolean }[] = []
  const add = (role: string, recorded: boolean) => {
    // IAM role names are unique whatever their case.
    const name = roleNameGiven(role).toLowerCase()
    if (!targets.some((t) => roleNameGiven(t.role).toLowerCase() === name)) targets.push({ role, recorded })
  }
  if (params.role !== undefined) add(String(params.role), false)
  for (const role of (params.roles as string[] | undefined) ?? []) add(role, true)
  const rows: StepResult[] = []
  const revoked: string[] = []
  const cutoffs: string[] = []
  let policyName: unknown
  for (const t of targets) {
    const r = await revokeRoleSessions(run.ctx, {
      role: t.role,
      ...(t.recorded ? { recorded: true } : {}),
      confirmed: true,
    })
    rows.push(...r.results)
    const done = r.results.find((x) => x.outcome === 'applied' || x.outcome === 'already-applied')
    if (!done) continue
    revoked.push(r.role)
    policyName ??= done.outputs.policyName
    if (typeof done.outputs.cutoff === 'string') cutoffs.push(done.outputs.cutoff)
  }
  const names = targets.map((t) => roleNameGiven(t.role))
  const what = `revoke the sessions of role${names.length === 1 ? '' : 's'} ${names.join(', ') || 'none'}`
  const { outcome, partial } = outcomeOf(rows, what)
  // Each role by its own outcome; a skipped one (deleted since) with why.
  const parts = rows.map(
    (r) =>
      `${names.length > 1 ? `${r.label} ` : ''}${r.outcome}${r.outcome === 'skipped' && r.notes[0] ? ` (${r.notes[0]})` : ''}`,
  )
  const summary = rows.length ? `${what}: ${parts.join(', ')}` : `${what}: nothing to do`
  return {
    outcome,
    ...(partial ? { partial } : {}),
    summary,
    outputs: { policyName, cutoff: cutoffs.sort()[0], roles: revoked },
  }
}

function list(params: Record<string, unknown>, one: string, many: string): string[] {
  const values = [
    ...((params[many] as string[] | undefined) ?? []),
    ...(params[one] !== undefined ? [String(params[one])] : []),
  ]
  return [...new Set(values)]
}

/**
 * `credentials.rotate-key`: for each key, finds its user (iam:GetAccessKeyLastUsed; a key of
 * another account is refused, naming that account) unless `user` is given, then creates a new key
 * (none with replace: false) and deactivates the old one (deletes it with deleteOld). A key that
 * may be one an earlier run of the case made and was killed before journaling (its secret lost),
 * or may be someone else's, is deactivated, never deleted, and the summary names it.
 * IAM: the `fir creds rotate-key` row.
 */
export const rotateKeyAction: ActionImpl = async (run, params) => {
  const keys = list(params, 'accessKey', 'accessKeys')
  const user = params.user !== undefined ? String(params.user) : undefined
  const targets: { user: string; accessKey?: string }[] = []
  if (keys.length === 0 && user) targets.push({ user })
  for (const key of keys) {
    targets.push({ user: user ?? (await keyOwnerForRotation(run.ctx, key)), accessKey: key })
  }
  const rows: StepResult[] = []
  const rotated: string[] = []
  const newIds: string[] = []
  const files: string[] = []
  const maybeLost: string[] = []
  const madeKeys: string[] = []
  for (const t of targets) {
    const replace = params.replace !== false
    const r = await rotateAccessKey(run.ctx, {
      ...t,
      deleteOld: params.deleteOld === true,
      ...(replace ? {} : { replace: false }),
      confirmed: true,
    })
    rows.push(...r.results)
    const out = r.results[0]?.outputs ?? {}
    const cutOff = out.oldStatus === 'Inactive' || out.oldStatus === 'deleted'
    if (typeof out.oldAccessKeyId === 'string' && cutOff && (!replace || r.newAccessKeyId))
      rotated.push(out.oldAccessKeyId)
    if (r.newAccessKeyId) newIds.push(r.newAccessKeyId)
    if (r.secretFile) files.push(r.secretFile)
    // Where the new key's secret is: the one thing the responder must act on next.
    if (r.newAccessKeyId && r.secretFile)
      madeKeys.push(
        `${r.newKeyMadeNow ? 'new key' : 'new key (made by an earlier run of this case)'} ${r.newAccessKeyId}: its secret is in ${join(run.ctx.case.dir, r.secretFile)} (0600); deploy it where the old key was used, then delete the file`,
      )
    maybeLost.push(...r.maybeLostKeyIds.filter((id) => !r.maybeLostKeysActive.includes(id)))
  }
  const { outcome, summary, partial } = outcomeOf(
    rows,
    `rotate ${targets.map((t) => t.accessKey ?? `the key of ${t.user}`).join(', ') || 'no key'}`,
  )
  // A key that may be one fir made and lost the secret of (a killed run): deactivated, and said so.
  const deactivated = maybeLost.length
    ? `; deactivated ${maybeLost.join(', ')} (reversible): it may be a key an earlier run of this case made and was killed before saving its secret (then nothing can use it), or someone else's; check its last use, then delete it or reactivate it`
    : ''
  return {
    outcome,
    ...(partial ? { partial } : {}),
    summary: [summary, ...madeKeys].join('; ') + deactivated,
    outputs: { rotated, newAccessKeyIds: newIds, secretFiles: files },
  }
}

/** `credentials.rotate-secret`: RotateSecret for each secret (cannot be undone). IAM: the `fir creds rotate-secret` row. */
export const rotateSecretAction: ActionImpl = async (run, params) => {
  const secrets = list(params, 'secret', 'secrets')
  const rows: StepResult[] = []
  const rotated: string[] = []
  const versions: string[] = []
  for (const secretId of secrets) {
    const r = await rotateSecret(run.ctx, { secretId, confirmed: true })
    rows.push(...r.results)
    for (const x of r.results) {
      if (x.outcome === 'applied' || x.outcome === 'already-applied') rotated.push(secretId)
      const v = x.outputs.requestedVersionId
      if (typeof v === 'string') versions.push(v)
    }
  }
  const { outcome, summary, partial } = outcomeOf(rows, `rotate ${secrets.join(', ') || 'no secret'}`)
  return { outcome, ...(partial ? { partial } : {}), summary, outputs: { rotated, versionIds: versions } }
}
