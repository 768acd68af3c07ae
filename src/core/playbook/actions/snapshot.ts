import { readSealedJson } from '../../case/evidence-store.js'
import { compactUtc } from '../../common/text.js'
import { parseArn } from '../../identity.js'
import { functionRoles } from '../../snapshot/function-roles.js'
import { latestSnapshotFor, snapshotFunctions, snapshotsFor } from '../../snapshot/snapshot.js'
import type { Finding, FunctionSummary, SnapshotResult } from '../../snapshot/types.js'
import type { ActionImpl, ActionOutcome, StepRun } from '../runner.js'

function outputsOf(f: FunctionSummary, set: string, extra: Record<string, unknown>): Record<string, unknown> {
  const layers = f.layers.map((l) => l.arn)
  return {
    functionName: f.name,
    functionArn: f.arn,
    region: f.region,
    account: f.account,
    roleArn: f.role,
    roleName: f.roleName,
    accessKeyIds: f.accessKeyIds.filter((id) => id.startsWith('AKIA')),
    secretNames: f.secrets.map((s) => s.name),
    layers,
    foreignLayers: layers.filter((arn) => {
      const account = parseArn(arn)?.account
      return account !== undefined && account !== 'aws' && account !== f.account
    }),
    publicExposure: f.exposure.some((e) => e.kind !== 'service-principal'),
    exposure: f.exposure.map((e) => e.summary),
    evidenceSet: `evidence/${set}`,
    ...extra,
  }
}

/**
 * The names of every execution role the case's sealed snapshots recorded the function running with
 * (functionRoles): `$LATEST`'s first, a role swapped since and each published version's after it.
 */
async function roleNamesOf(run: StepRun, f: FunctionSummary): Promise<string[]> {
  const { dir } = run.ctx.case
  const names = (await functionRoles(dir, snapshotsFor(dir, run.ctx.case.journal.all(), f.arn))).map(
    (r) => r.name,
  )
  if (f.roleName && !names.some((n) => n.toLowerCase() === f.roleName!.toLowerCase())) names.push(f.roleName)
  return names
}

/** A snapshot of the function this run already sealed before it was interrupted, if any. */
async function earlierInRun(
  run: StepRun,
  fn: string,
): Promise<Awaited<ReturnType<typeof latestSnapshotFor>>> {
  if (!run.interrupted) return undefined
  const prev = await latestSnapshotFor(run.ctx.case.dir, run.ctx.case.journal.all(), fn)
  return prev && prev.set >= compactUtc(new Date(run.firstStartedAt)) ? prev : undefined
}

/** The outputs of a sealed set that are not in a function's summary: its hash and findings. */
function setOutputs(
  f: FunctionSummary,
  manifestSha256: string,
  findings: Pick<Finding, 'target' | 'title'>[],
): Record<string, unknown> {
  const mine = findings.filter((x) => x.target === f.arn || x.target === f.role)
  return { manifestSha256, findings: findings.length, findingTitles: [...new Set(mine.map((x) => x.title))] }
}

/**
 * The findings a set sealed earlier in the run recorded (its findings.json), checked against the
 * set's manifest (as latestSnapshotFor read it): a file changed since the seal is refused (exit 3).
 */
async function earlierFindings(
  run: StepRun,
  prev: NonNullable<Awaited<ReturnType<typeof latestSnapshotFor>>>,
): Promise<Finding[]> {
  const parsed = await readSealedJson(run.ctx.case.dir, prev.set, prev.manifest, 'findings.json', prev.dir)
  if (Array.isArray(parsed)) return parsed as Finding[]
  if (parsed && typeof parsed === 'object') return Object.values(parsed) as Finding[]
  return []
}

function summaryOf(r: SnapshotResult): string {
  return `sealed evidence/${r.set} (${r.files} files, ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'})`
}

/**
 * `snapshot.function`: seals the function into a new evidence set. Reads only. A run resumed after
 * a crash reuses the set it had already sealed instead of taking a second one.
 * IAM: the `fir snapshot` row.
 */
export const snapshotFunctionAction: ActionImpl = async (run, params): Promise<ActionOutcome> => {
  const fn = String(params.function)
  const prev = await earlierInRun(run, fn)
  if (prev) {
    // The same outputs and gaps as when it sealed: later steps may read any of them, and a resumed
    // run still counts the gaps.
    for (const g of prev.gaps) run.ctx.gaps.add(g)
    for (const g of prev.summary.gaps ?? []) run.ctx.gaps.add(g)
    const findings = await earlierFindings(run, prev)
    return {
      outcome: 'already-applied',
      summary: `evidence/${prev.set} was sealed by this run before it was interrupted`,
      outputs: outputsOf(prev.summary, prev.set, {
        ...setOutputs(prev.summary, prev.manifestSha256, findings),
        roleNames: await roleNamesOf(run, prev.summary),
      }),
    }
  }
  const r = await snapshotFunctions(run.ctx, {
    functions: [fn],
    ...(params.qualifier ? { qualifier: String(params.qualifier) } : {}),
  })
  const f = r.functions[0]!
  return {
    outcome: 'applied',
    summary: summaryOf(r),
    outputs: outputsOf(f, r.set, {
      ...setOutputs(f, r.manifestSha256, r.findings),
      roleNames: await roleNamesOf(run, f),
    }),
  }
}

/** `snapshot.all-using-role`: seals every function in the region running with the role. IAM: the `fir snapshot` row. */
export const snapshotAllUsingRoleAction: ActionImpl = async (run, params) => {
  const r = await snapshotFunctions(run.ctx, { functions: [], allUsingRole: String(params.role) })
  return {
    outcome: 'applied',
    summary: `${summaryOf(r)}: ${r.functions.map((f) => f.name).join(', ') || 'no function uses the role'}`,
    outputs: {
      functions: r.functions.map((f) => f.name),
      functionArns: r.functions.map((f) => f.arn),
      evidenceSet: `evidence/${r.set}`,
      manifestSha256: r.manifestSha256,
      findings: r.findings.length,
    },
  }
}
