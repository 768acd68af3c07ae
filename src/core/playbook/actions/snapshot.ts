import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EVIDENCE_DIR, sealedSets } from '../../case/evidence-store.js'
import { compactUtc } from '../../common/text.js'
import type { Gap } from '../../context.js'
import { parseArn } from '../../identity.js'
import { latestSnapshotFor, snapshotFunctions } from '../../snapshot/snapshot.js'
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

/** A snapshot of the function this run already sealed before it was interrupted, if any. */
async function earlierInRun(
  run: StepRun,
  fn: string,
): Promise<{ set: string; summary: FunctionSummary } | undefined> {
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

/** What a set sealed earlier in the run recorded: the manifest hash the journal holds, its findings. */
async function earlierSetOutputs(
  run: StepRun,
  set: string,
  f: FunctionSummary,
): Promise<Record<string, unknown>> {
  const sealed = sealedSets(run.ctx.case.journal.all()).find((s) => s.name === set)
  let findings: Finding[] = []
  try {
    const text = await readFile(join(run.ctx.case.dir, EVIDENCE_DIR, set, 'findings.json'), 'utf8')
    const parsed = JSON.parse(text) as unknown
    if (Array.isArray(parsed)) findings = parsed as Finding[]
    else if (parsed && typeof parsed === 'object') findings = Object.values(parsed) as Finding[]
  } catch {
    // Unreadable: `case verify` names it; the step still gives the set's other outputs.
  }
  // The gaps the snapshot hit are the step's, as when it sealed: a resumed run still counts them.
  try {
    const text = await readFile(join(run.ctx.case.dir, EVIDENCE_DIR, set, 'summary.json'), 'utf8')
    const gaps = (JSON.parse(text) as { gaps?: unknown }).gaps
    if (Array.isArray(gaps)) for (const g of gaps as Gap[]) run.ctx.gaps.add(g)
  } catch {
    // Unreadable: `case verify` names it.
  }
  for (const g of f.gaps ?? []) run.ctx.gaps.add(g)
  return setOutputs(f, sealed?.manifestSha256 ?? '', findings)
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
    return {
      outcome: 'already-applied',
      summary: `evidence/${prev.set} was sealed by this run before it was interrupted`,
      // The same outputs as when it was sealed: later steps may read any of them.
      outputs: outputsOf(prev.summary, prev.set, await earlierSetOutputs(run, prev.set, prev.summary)),
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
    outputs: outputsOf(f, r.set, setOutputs(f, r.manifestSha256, r.findings)),
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
