import type { AwsClients } from '../../aws/clients.js'
import { listAliasNames, listVersions } from '../../aws/lambda-containment.js'
import { FirError } from '../../errors.js'
import { SealedEvidenceChangedError } from '../case/evidence-store.js'
import { escapeTerminal } from '../common/text.js'
import type { FirContext } from '../context.js'
import { latestSnapshotFor } from '../snapshot/snapshot.js'
import type { FunctionSummary } from '../snapshot/types.js'

/** A function a restore is about to put settings back on, as its changes were journaled. */
export interface RestoredFunction {
  name: string
  region: string
  arn: string
}

/**
 * Why the function there now is probably not the one the case sealed and contained, or null when
 * nothing says so. Lambda gives a function no identity beyond its name, and deleting it deletes
 * its versions and aliases with it, while no version can ever change and Lambda keeps them until
 * they are deleted one by one. So: a version the snapshot recorded that is there now with other
 * code or another LastModified is another function's (a re-creation that started numbering again);
 * and none of the recorded versions and aliases left at all is what a delete and re-create leaves
 * (in AWS a re-created function numbers its versions on from the old ones). Version pruning keeps
 * the versions aliases point at, so the second is a strong sign only with both kinds gone.
 */
export function recreationSign(
  recorded: Pick<FunctionSummary, 'versions' | 'aliases'>,
  live: { versions: { version: string; codeSha256?: string; lastModified?: string }[]; aliases: string[] },
): string | null {
  const byNumber = new Map(live.versions.map((v) => [v.version, v]))
  for (const v of recorded.versions) {
    const now = byNumber.get(v.version)
    if (!now) continue
    const other =
      (v.codeSha256 !== undefined && now.codeSha256 !== undefined && v.codeSha256 !== now.codeSha256) ||
      (v.lastModified !== undefined &&
        now.lastModified !== undefined &&
        !sameInstant(v.lastModified, now.lastModified))
    if (other)
      return `its version ${v.version} is not the version ${v.version} the snapshot sealed (a published version never changes)`
  }
  if (recorded.versions.length + recorded.aliases.length === 0) return null
  const liveAliases = new Set(live.aliases)
  const versionsLeft = recorded.versions.some((v) => byNumber.has(v.version))
  const aliasesLeft = recorded.aliases.some((a) => liveAliases.has(a.name))
  if (versionsLeft || aliasesLeft) return null
  const gone = [
    ...(recorded.versions.length > 0
      ? [
          `version${recorded.versions.length > 1 ? 's' : ''} ${recorded.versions.map((v) => v.version).join(', ')}`,
        ]
      : []),
    ...(recorded.aliases.length > 0
      ? [`alias${recorded.aliases.length > 1 ? 'es' : ''} ${recorded.aliases.map((a) => a.name).join(', ')}`]
      : []),
  ]
  return `none of the ${gone.join(' and ')} the snapshot sealed exist${recorded.versions.length + recorded.aliases.length > 1 ? '' : 's'} now (deleting a function deletes them all)`
}

/** Two LastModified values naming one instant (`…+0000` and `…Z` spellings alike), else equal text. */
function sameInstant(a: string, b: string): boolean {
  const ta = Date.parse(a.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
  const tb = Date.parse(b.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
  return Number.isNaN(ta) || Number.isNaN(tb) ? a === b : ta === tb
}

/**
 * Restore's check that each function it is about to change is still the function the case
 * contained (see recreationSign): a warning per function that looks deleted and re-created since,
 * before anything is confirmed. Restore goes by the journal alone, so nothing here stops it: a
 * function without a sealed snapshot, with no versions or aliases recorded, already deleted, or
 * whose versions cannot be listed now (denied…) is passed over, and so is damaged evidence (the
 * commands that go by evidence refuse it; restore does not need it).
 * IAM: lambda:ListVersionsByFunction, lambda:ListAliases.
 */
export async function recreatedWarnings(
  ctx: FirContext,
  functions: readonly RestoredFunction[],
  awsFor: (region: string) => AwsClients,
): Promise<string[]> {
  const warnings: string[] = []
  for (const fn of functions) {
    if (!fn.arn) continue
    let recorded: FunctionSummary | undefined
    let set = ''
    try {
      const snapshot = await latestSnapshotFor(ctx.case.dir, ctx.case.journal.all(), fn.arn)
      recorded = snapshot?.summary
      set = snapshot?.set ?? ''
    } catch (err) {
      if (err instanceof SealedEvidenceChangedError) continue
      throw err
    }
    if (!recorded || recorded.versions.length + recorded.aliases.length === 0) continue
    const aws = awsFor(fn.region)
    let live: Parameters<typeof recreationSign>[1]
    try {
      const [versions, aliases] = await Promise.all([
        listVersions(aws, fn.name),
        listAliasNames(aws, fn.name),
      ])
      live = {
        versions: versions
          .filter((v) => v.Version && v.Version !== '$LATEST')
          .map((v) => ({
            version: v.Version!,
            ...(v.CodeSha256 ? { codeSha256: v.CodeSha256 } : {}),
            ...(v.LastModified ? { lastModified: v.LastModified } : {}),
          })),
        aliases,
      }
    } catch (err) {
      if (err instanceof FirError) continue // deleted (the undo says so), or not readable: not known
      throw err
    }
    const sign = recreationSign(recorded, live)
    if (sign === null) continue
    warnings.push(
      `function ${escapeTerminal(fn.name)}${fn.region ? ` in ${fn.region}` : ''} may not be the function this case contained: ${escapeTerminal(sign)} (evidence set ${escapeTerminal(set)}). It was probably deleted and re-created under the same name since; restoring puts the old function's settings on the new one (its throttle lifted, public statements re-added). Check with its owner before you confirm, or restore only some parts with --actions`,
    )
  }
  return warnings
}
