import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { exists } from '../../common/fs-safe.js'
import { accessKeyCreated, type RoleUseEvent, roleOfActor } from '../../credentials/role-use.js'
import { secretsReadByRoles } from '../../credentials/secrets-read.js'
import { collectTimeline, EVENTS_FILE } from '../../timeline/collect.js'
import type { ActionImpl } from '../runner.js'

/** Access keys created (CreateAccessKey, no error) with one of the roles' sessions, from events.jsonl. */
async function keysCreatedByRoles(caseDir: string, roles: string[]): Promise<string[]> {
  const path = join(caseDir, EVENTS_FILE)
  if (roles.length === 0 || !(await exists(path))) return []
  const out = new Set<string>()
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY })
  for await (const line of rl) {
    if (!line.includes('CreateAccessKey')) continue
    let e: RoleUseEvent
    try {
      e = JSON.parse(line)
    } catch {
      continue
    }
    const key = accessKeyCreated(e)
    const role = roleOfActor(e.actor?.arn)?.role
    if (key && role && roles.includes(role)) out.add(key.accessKeyId)
  }
  return [...out].sort()
}

/**
 * `timeline.collect`: the CloudTrail timeline of the function (or of the account), with the
 * detections, written to timeline/. Its outputs name the secrets read and the access keys created
 * with the function role's credentials, for the rotation steps after it. Reads only.
 * IAM: the `fir timeline` row.
 */
export const timelineAction: ActionImpl = async (run, params) => {
  const sources = [
    ...((params.sources as string[] | undefined) ?? []),
    ...(params.source ? [String(params.source)] : []),
  ]
  const { summary } = await collectTimeline(run.ctx, {
    ...(params.function ? { function: String(params.function) } : {}),
    ...(params.since ? { since: String(params.since) } : {}),
    ...(params.until ? { until: String(params.until) } : {}),
    ...(sources.length ? { sources } : {}),
    ...(params.regions ? { regions: String(params.regions) } : {}),
  })
  const roles = summary.function?.roles.map((r) => r.name) ?? []
  const secrets = await secretsReadByRoles(run.ctx, roles.length ? { roles } : {})
  const secretsRead = [...new Set(secrets.roles.flatMap((r) => r.read.map((u) => u.secret)))].sort()
  const allRoles = roles.length ? roles : secrets.roles.map((r) => r.role)
  const accessKeysCreated = await keysCreatedByRoles(run.ctx.case.dir, allRoles)
  return {
    outcome: 'applied',
    summary: `${summary.events.kept} events kept, ${summary.findings.total} detection${summary.findings.total === 1 ? '' : 's'}${secretsRead.length ? `, ${secretsRead.length} secret(s) read with the role` : ''}${accessKeysCreated.length ? `, ${accessKeysCreated.length} key(s) created with the role` : ''}`,
    outputs: {
      events: summary.events.kept,
      findings: summary.findings.total,
      findingTitles: summary.findings.byRule.map((r) => r.title),
      secretsRead,
      accessKeysCreated,
    },
  }
}
