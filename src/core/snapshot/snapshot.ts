import { join } from 'node:path'
import { UsageError } from '../../errors.js'
import {
  MANIFEST_FILE,
  type Manifest,
  readSealedJson,
  readSealedManifest,
  safeSegment,
  sealedSets,
} from '../case/evidence-store.js'
import type { JournalEntry } from '../case/journal.js'
import { sha256File } from '../common/hash.js'
import { scrubAndCut } from '../common/redact.js'
import type { FirContext, Gap } from '../context.js'
import { callerIdentity, unqualifiedFunctionArn } from '../identity.js'
import { collectFunction, type SnapshotTarget } from './function.js'
import { mapLimit, RegionPacers } from './pacing.js'
import { Recorder } from './recorder.js'
import {
  assertObjectLock,
  type EvidenceBucket,
  parseEvidenceBucket,
  uploadManifest,
  uploadSetFiles,
} from './remote.js'
import { SnapshotRun } from './run.js'
import { type ResolvedTarget, resolveTargets } from './targets.js'
import type {
  Finding,
  FunctionSummary,
  RemoteCopy,
  SnapshotOptions,
  SnapshotResult,
  SnapshotSummary,
} from './types.js'

export type { Finding, FunctionSummary, SnapshotOptions, SnapshotResult, SnapshotSummary } from './types.js'

const LEVEL_ORDER = ['critical', 'high', 'medium', 'low', 'informational']

function positiveNumber(value: number | undefined, fallback: number, flag: string, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`unable to use ${flag} ${value}: it must be a number above 0 and at most ${max}`, {
      actions: [`pass ${flag} within (0, ${max}]`],
    })
  }
  return value
}

/**
 * Seals the named functions (and, with `allUsingRole`, every function running with that role) as
 * one dated evidence set (DESIGN §3): every API response stored verbatim, one file per call; code
 * packages and layer contents as downloaded, checked against CodeSha256; the execution roles and
 * their policies; log events and trail coverage; who took it and when; `findings.json` and
 * `summary.json` (secrets redacted). With `evidenceBucket`, the set is also copied under Object
 * Lock and the copies recorded in the manifest. Failed sub-calls become gaps (the command exits 4);
 * a function that does not exist is a usage error before anything is written.
 *
 * Reads only (IAM: see COMMAND_PERMISSIONS['snapshot']); changes nothing in AWS except, with
 * `evidenceBucket`, putting objects into that bucket.
 */
export async function snapshotFunctions(ctx: FirContext, opts: SnapshotOptions): Promise<SnapshotResult> {
  if (opts.functions.length === 0 && !opts.allUsingRole) {
    throw new UsageError('unable to snapshot: no function given', {
      actions: ['name one or more functions, or pass --all-using-role ROLE'],
    })
  }
  const lambdaRps = positiveNumber(opts.lambdaRps ?? envNumber('FIR_LAMBDA_RPS'), 10, '--lambda-rps', 10_000)
  const retentionDays = Math.round(positiveNumber(opts.retentionDays, 365, '--retention-days', 36_500))
  const settings = {
    ...(opts.qualifier ? { qualifier: opts.qualifier } : {}),
    logHours: positiveNumber(opts.logHours, 24, '--log-hours', 24 * 366),
    logLimit: Math.round(positiveNumber(opts.logLimit, 10_000, '--log-limit', 1_000_000)),
    versionConcurrency: Math.round(positiveNumber(opts.versionConcurrency, 8, 'version concurrency', 64)),
    functionConcurrency: Math.round(positiveNumber(opts.functionConcurrency, 4, 'function concurrency', 64)),
  }
  const aws = ctx.aws
  const requestsBefore = aws.requestLog.length

  let bucket: EvidenceBucket | undefined
  if (opts.evidenceBucket) {
    bucket = parseEvidenceBucket(opts.evidenceBucket)
    await assertObjectLock(aws, bucket)
  }

  const identity = await callerIdentity(aws)
  const pacers = new RegionPacers(lambdaRps)
  const { targets, discovery, notes } = await resolveTargets(aws, pacers, opts, identity.account)
  for (const note of notes) ctx.log.info(`fir: note: ${note}`)
  if (targets.length === 0 && opts.functions.length === 0) {
    const failedEverywhere = discovery.every((d) => d.error !== undefined)
    if (!failedEverywhere) {
      throw new UsageError(
        `unable to snapshot functions using role ${opts.allUsingRole}: no function in ${discovery.map((d) => d.region).join(', ')} runs with it`,
        { actions: ['check the role name, or pass --regions with the regions where its functions run'] },
      )
    }
  }

  const takenAt = ctx.clock.awsNow()
  const set = await ctx.case.newEvidenceSet()
  const rec = new Recorder(set, ctx.gaps, pacers)
  const run = new SnapshotRun(ctx, set, rec, settings, new RegionPacers(4), takenAt, identity.account)

  await set.writeJson(
    'caller/get-caller-identity.json',
    { Account: identity.account, Arn: identity.arn, UserId: identity.userId },
    { call: 'sts:GetCallerIdentity', target: identity.arn },
  )
  for (const d of discovery) {
    const spec = {
      call: 'lambda:ListFunctions',
      target: d.region,
      what: `functions of ${d.region} (to find those using role ${opts.allUsingRole})`,
      file: `discovery/${safeSegment(d.region)}/list-functions`,
      region: d.region,
    }
    for (const [i, page] of d.pages.entries())
      await rec.store({ ...spec, file: `${spec.file}.page-${i + 1}.json` }, page)
    if (d.error) rec.failed(spec, d.error)
  }

  const dirs = targetDirs(targets)
  const snapshotTargets: (SnapshotTarget & { check: ResolvedTarget['check'] })[] = targets.map((t, i) => ({
    name: t.name,
    region: t.region,
    account: t.account,
    aws: aws.forRegion(t.region),
    dir: dirs[i]!,
    ...(t.qualifier ? { qualifier: t.qualifier } : {}),
    prefetched: new Map(),
    check: t.check,
  }))

  ctx.log.info(
    `fir: snapshot ${set.name}: ${snapshotTargets.length} function(s), Lambda calls paced at ${lambdaRps}/s per region`,
  )
  const bugs: unknown[] = []
  const summaries = await mapLimit(snapshotTargets, settings.functionConcurrency, async (t, i) => {
    ctx.log.progress(`fir: collecting ${t.name} (${i + 1}/${snapshotTargets.length})`)
    try {
      const pre = await storeCheck(rec, t)
      const s = await collectFunction(run, t)
      return { ...s, gaps: [...pre, ...s.gaps] }
    } catch (err) {
      // A bug must not lose what was collected: the set is still sealed, then the error surfaces.
      bugs.push(err)
      rec.gap({
        what: `the rest of function ${t.name}`,
        call: 'fir',
        reason: `bug: ${(err as Error)?.message ?? err}`,
      })
      return undefined
    }
  })
  const functions = summaries.filter((s): s is FunctionSummary => s !== undefined)

  const findings = [...run.findings].sort(
    (a, b) => LEVEL_ORDER.indexOf(a.level) - LEVEL_ORDER.indexOf(b.level) || a.id.localeCompare(b.id),
  )
  const summary: SnapshotSummary = {
    takenBy: { arn: identity.arn, account: identity.account },
    takenAt: takenAt.toISOString(),
    region: aws.region,
    firVersion: ctx.firVersion,
    set: set.name,
    functions,
    gaps: ctx.gaps.list,
  }
  await set.writeJson('findings.json', findings as unknown as Record<string, unknown>, {
    call: 'fir:findings',
    target: set.name,
  })
  await set.writeJson('summary.json', summary, { call: 'fir:summary', target: set.name })
  await set.writeJson('calls.json', { calls: rec.calls }, { call: 'fir:calls', target: set.name })

  let remote: RemoteCopy | undefined
  const retention = {
    mode: opts.retentionMode ?? ('COMPLIANCE' as const),
    until: new Date(takenAt.getTime() + retentionDays * 86_400_000),
  }
  if (bucket) {
    ctx.log.info(
      `fir: copying ${set.list().length} files to s3://${bucket.bucket}/${bucket.prefix} under Object Lock`,
    )
    remote = await uploadSetFiles(aws, set, set.list(), bucket, retention, (g) => rec.gap(g))
  }
  const target = functions.map((f) => f.arn).join(',') || snapshotTargets.map((t) => t.name).join(',')
  const sealed = await set.seal(remote ? { remote } : {}, target)

  if (bucket && remote) {
    const { bytes } = await sha256File(join(set.dir, MANIFEST_FILE))
    try {
      remote.manifest = await uploadManifest(aws, set, bucket, { sha256: sealed.sha256, bytes }, retention)
      await ctx.case.journal.append({
        action: 'evidence.remote-copy',
        target: `s3://${bucket.bucket}/${remote.manifest.key}`,
        params: {
          set: set.name,
          bucket: bucket.bucket,
          key: remote.manifest.key,
          versionId: remote.manifest.versionId ?? null,
          manifestSha256: sealed.sha256,
          mode: retention.mode,
          retainUntil: remote.retainUntil,
          objects: remote.objects.length,
        },
        outcome: 'recorded',
      })
    } catch (err) {
      rec.gap({
        what: `copy of manifest.json to s3://${bucket.bucket}`,
        call: 's3:PutObject',
        reason: scrubAndCut((err as Error).message, 500, ''),
      })
    }
  }

  const requestIds = aws.requestLog
    .slice(requestsBefore)
    .map((r) => r.requestId)
    .filter((id): id is string => Boolean(id))
  await ctx.case.journal.append({
    action: 'snapshot',
    target,
    params: {
      set: set.name,
      manifestSha256: sealed.sha256,
      functions: functions.map((f) => f.arn),
      files: sealed.manifest.files.length,
      findings: findings.length,
      gaps: ctx.gaps.list.length,
      ...(opts.allUsingRole ? { allUsingRole: opts.allUsingRole } : {}),
      ...(bucket ? { evidenceBucket: `s3://${bucket.bucket}/${bucket.prefix}` } : {}),
    },
    outcome: 'recorded',
    requestIds,
  })
  if (bugs.length > 0) throw bugs[0]

  return {
    set: set.name,
    dir: set.dir,
    manifestSha256: sealed.sha256,
    files: sealed.manifest.files.length,
    takenBy: summary.takenBy,
    takenAt: summary.takenAt,
    functions,
    findings,
    gaps: ctx.gaps.list,
    ...(remote ? { remote } : {}),
  }
}

/**
 * Each target's folder in the set: its name, `name@region` when the name is in several regions,
 * `name@region@qualifier` when one function is a target for several qualifiers (each is collected
 * whole: two targets never share a folder).
 */
function targetDirs(targets: readonly ResolvedTarget[]): string[] {
  const count = (key: (t: ResolvedTarget) => string) => {
    const m = new Map<string, number>()
    for (const t of targets) m.set(key(t), (m.get(key(t)) ?? 0) + 1)
    return (t: ResolvedTarget) => m.get(key(t))!
  }
  const byName = count((t) => t.name)
  const byRegion = count((t) => `${t.name}@${t.region}`)
  return targets.map((t) => {
    const name =
      byRegion(t) > 1
        ? `${t.name}@${t.region}@${t.qualifier ?? '$LATEST'}`
        : byName(t) > 1
          ? `${t.name}@${t.region}`
          : t.name
    return `functions/${safeSegment(name)}`
  })
}

/**
 * Stores the GetFunction that checked a named function exists (it is the function's first
 * evidence, and `collectFunction` reuses it); a failed check is a gap of that function, and
 * `collectFunction` does not make that call again.
 */
async function storeCheck(
  rec: Recorder,
  t: SnapshotTarget & { check: ResolvedTarget['check'] },
): Promise<Gap[]> {
  if (!t.check) return []
  const spec = {
    call: 'lambda:GetFunction',
    target: `arn:aws:lambda:${t.region}:${t.account}:function:${t.name}`,
    what: `configuration and code location (${t.check.qualifier}) of ${t.name}`,
    file: `${t.dir}/get-function.${safeSegment(t.check.qualifier)}.json`,
    region: t.region,
  }
  if (!t.check.value) {
    const sink: Gap[] = []
    const failed = rec.failed({ ...spec, sink }, t.check.error)
    if (failed.status === 'gap') t.prefetched.set(t.check.qualifier, { gap: failed.gap })
    return sink
  }
  await rec.store(spec, t.check.value)
  t.prefetched.set(t.check.qualifier, { value: t.check.value, at: t.check.at, file: spec.file })
  return []
}

function envNumber(name: string): number | undefined {
  const v = process.env[name]
  return v === undefined || v === '' ? undefined : Number(v)
}

/** A sealed snapshot of one function: what latestSnapshotFor and snapshotsFor give. */
export interface FunctionSnapshot {
  set: string
  /** The set's folder (its final name, or the unfinished one of a crash after the seal). */
  dir: string
  manifestSha256: string
  manifest: Manifest
  summary: FunctionSummary
  gaps: Gap[]
}

/**
 * Every snapshot in the case that holds `functionName` (a name or an ARN, with or without
 * qualifier), newest seal first: per set, each of the function's summary entries (a set holds one
 * per qualifier taken), with the set's name and folder, the manifest hash its seal journaled and the gaps the
 * snapshot hit. Only sets the journal seals count, each with the manifest the journal sealed: a
 * folder no seal names (an interrupted run's, a hand-made one) is no snapshot, whatever its name.
 * A summary changed since its seal is refused (exit 3) when it is reached, and so is a sealed set
 * gone or changed before the one found (exit 3): it may be the latest snapshot of the function.
 */
export async function* snapshotsFor(
  caseDir: string,
  journal: readonly JournalEntry[],
  functionName: string,
): AsyncGenerator<FunctionSnapshot> {
  const wantedArn = functionName.startsWith('arn:') ? unqualifiedFunctionArn(functionName) : undefined
  const partial = functionName.match(/^\d{12}:function:([^:]+)/)
  const wantedName = partial ? partial[1]! : functionName.split(':')[0]!
  for (const set of sealedSets(journal).reverse()) {
    // Refused when gone or changed since it was sealed (exit 3); not JSON as sealed: no snapshot to go by.
    const { manifest, dir } = await readSealedManifest(caseDir, set)
    const summary = (await readSealedJson(caseDir, set.name, manifest, 'summary.json', dir)) as
      | SnapshotSummary
      | undefined
    if (!summary || typeof summary !== 'object') continue
    const hits = (Array.isArray(summary.functions) ? summary.functions : []).filter((f) =>
      wantedArn ? f.arn === wantedArn : f.name === wantedName,
    )
    const gaps = Array.isArray(summary.gaps) ? summary.gaps : []
    for (const hit of hits)
      yield { set: set.name, dir, manifestSha256: set.manifestSha256, manifest, summary: hit, gaps }
  }
}

/** The newest snapshot in the case that holds `functionName` (see snapshotsFor); undefined when none. */
export async function latestSnapshotFor(
  caseDir: string,
  journal: readonly JournalEntry[],
  functionName: string,
): Promise<FunctionSnapshot | undefined> {
  for await (const snapshot of snapshotsFor(caseDir, journal, functionName)) return snapshot
  return undefined
}

/** Findings of a snapshot by level, for summaries. */
export function countByLevel(findings: Finding[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const f of findings) out[f.level] = (out[f.level] ?? 0) + 1
  return out
}
