import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { GapsOnlyError } from '../../../errors.js'
import { exists } from '../../common/fs-safe.js'
import {
  accessKeyCreated,
  keyUsedFromStolenAddress,
  type RoleUseEvent,
  roleOfActor,
  STOLEN_ADDRESS_RULE,
} from '../../credentials/role-use.js'
import { secretsReadByRoles } from '../../credentials/secrets-read.js'
import { collectTimeline, EVENTS_FILE } from '../../timeline/collect.js'
import type { ActionImpl } from '../runner.js'

/**
 * From events.jsonl: the access keys created (CreateAccessKey, no error) with one of the roles'
 * sessions, and the long-term keys used from an address where the role's credentials were used
 * outside Lambda (see keyUsedFromStolenAddress).
 */
async function keysOfTheIntrusion(
  caseDir: string,
  roles: string[],
): Promise<{ created: string[]; fromStolenAddress: string[] }> {
  const path = join(caseDir, EVENTS_FILE)
  const created = new Set<string>()
  const fromStolenAddress = new Set<string>()
  if (await exists(path)) {
    const rl = createInterface({
      input: createReadStream(path, 'utf8'),
      crlfDelay: Number.POSITIVE_INFINITY,
    })
    for await (const line of rl) {
      const maybeCreated = roles.length > 0 && line.includes('CreateAccessKey')
      if (!maybeCreated && !line.includes(STOLEN_ADDRESS_RULE)) continue
      let e: RoleUseEvent
      try {
        e = JSON.parse(line)
      } catch {
        continue
      }
      const key = accessKeyCreated(e)
      const role = roleOfActor(e.actor?.arn)?.role
      if (key && role && roles.includes(role)) created.add(key.accessKeyId)
      const used = keyUsedFromStolenAddress(e)
      if (used) fromStolenAddress.add(used.accessKeyId)
    }
  }
  // A key the role's session created is the created-keys step's (rotating it twice would leave
  // its user with two keys).
  for (const key of created) fromStolenAddress.delete(key)
  return { created: [...created].sort(), fromStolenAddress: [...fromStolenAddress].sort() }
}

/**
 * `timeline.collect`: the CloudTrail timeline of the function (or of the account), with the
 * detections, written to timeline/. Its outputs name the secrets read and the access keys created
 * with the function role's credentials, and the long-term keys used from where those credentials
 * were used outside Lambda, for the rotation steps after it. Reads only. A run that could read
 * nothing (every source failed: each a gap) stored nothing, so nothing is known of what the timeline
 * would show: the step fails with GapsOnlyError (the run goes on; the steps whose `if` reads these
 * outputs are skipped as unknown), never `applied` with empty outputs that read as "nothing found".
 * One that stored events, some sources failing, is applied with its gaps.
 * IAM: the `fir timeline` row.
 */
export const timelineAction: ActionImpl = async (run, params) => {
  const sources = [
    ...((params.sources as string[] | undefined) ?? []),
    ...(params.source ? [String(params.source)] : []),
  ]
  const { summary } = await collectTimeline(run.ctx, {
    ...(params.function ? { function: String(params.function) } : {}),
    // A name is the function in the run's --region, as the playbook's other steps take it.
    ...(run.ctx.aws.given.region ? { region: run.ctx.aws.given.region } : {}),
    ...(params.since ? { since: String(params.since) } : {}),
    ...(params.until ? { until: String(params.until) } : {}),
    ...(sources.length ? { sources } : {}),
    ...(params.regions ? { regions: String(params.regions) } : {}),
  })
  if (summary.notStored) {
    // Outputs read from the case's timeline now would be an earlier run's, or nothing.
    throw new GapsOnlyError(`unable to collect the timeline: nothing was read (${summary.notStored})`)
  }
  const roles = summary.function?.roles.map((r) => r.name) ?? []
  const secrets = await secretsReadByRoles(run.ctx, roles.length ? { roles } : {})
  // Ids the rotate-secrets step can name them by (a label such as `db (us-east-1)` is for people).
  const secretsRead = [...new Set(secrets.roles.flatMap((r) => r.read.map((u) => u.id)))].sort()
  const allRoles = roles.length ? roles : secrets.roles.map((r) => r.role)
  const keys = await keysOfTheIntrusion(run.ctx.case.dir, allRoles)
  const accessKeysCreated = keys.created
  const accessKeysFromAttackerAddress = keys.fromStolenAddress
  return {
    outcome: 'applied',
    summary: `${summary.events.kept} events kept, ${summary.findings.total} detection${summary.findings.total === 1 ? '' : 's'}${secretsRead.length ? `, ${secretsRead.length} secret(s) read with the role` : ''}${accessKeysCreated.length ? `, ${accessKeysCreated.length} key(s) created with the role` : ''}${accessKeysFromAttackerAddress.length ? `, ${accessKeysFromAttackerAddress.length} long-term key(s) used from the address that used the role` : ''}`,
    outputs: {
      events: summary.events.kept,
      findings: summary.findings.total,
      findingTitles: summary.findings.byRule.map((r) => r.title),
      secretsRead,
      accessKeysCreated,
      accessKeysFromAttackerAddress,
    },
  }
}
