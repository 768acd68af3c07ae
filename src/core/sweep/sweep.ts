import { join } from 'node:path'
import type { AwsClients } from '../../aws/clients.js'
import { gapReason, isUnrecognizedCredentials } from '../../aws/errors.js'
import { listAliasNames } from '../../aws/lambda-containment.js'
import {
  getFunctionPolicyText,
  type InventoryFunction,
  listFunctionUrls,
  listFunctionVersions,
  paceRequests,
} from '../../aws/lambda-inventory.js'
import { listOrgAccounts } from '../../aws/organizations.js'
import { getCallerIdentity } from '../../aws/sts.js'
import { FirError, UsageError } from '../../errors.js'
import type { CaseHandle } from '../case/case-folder.js'
import { recordArtifact, safeSegment } from '../case/evidence-store.js'
import { setActorArn } from '../case/journal.js'
import { writeFileAtomic } from '../common/fs-safe.js'
import { atInterrupt } from '../common/interrupt.js'
import { scrubAndCut } from '../common/redact.js'
import { compactUtc, jsonText } from '../common/text.js'
import type { FirContext } from '../context.js'
import { accountOrganisation, callerIdentity, parseArn } from '../identity.js'
import { statementsOf } from '../permissions.js'
import { usesOrganisationCondition } from '../snapshot/exposure.js'
import { isConfigurationGap, whyFromGaps } from '../snapshot/gap-text.js'
import { type FunctionSummary, snapshotFunctions } from '../snapshot/snapshot.js'
import {
  type IndicatorKind,
  type Indicators,
  type LeakedVariable,
  leakedVariables,
  type MatchReason,
  matchInventory,
} from './indicators.js'
import { AccountPacer, maxPerSecond, runQueue } from './pacer.js'
import { publicReasons, type QualifiedPolicy } from './public.js'
import {
  LEAKED_VALUES_DIR,
  mergeNotChecked,
  type NotChecked,
  SWEEP_ACTION,
  SWEEP_SEAL_ACTION,
  SWEEP_START_ACTION,
  unqualifiedArn,
} from './recorded.js'
import { isOptInRegion } from './regions.js'

export interface SweepOptions {
  /** Take the accounts from AWS Organizations (ACTIVE accounts only). */
  org: boolean
  /** Or these account ids. */
  accounts?: string[]
  regions: string[]
  /**
   * `--regions all`: an opt-in region an account has not enabled (AWS does not recognise the
   * credentials there) is skipped, not a gap. Any other failure there (an expired token, the
   * network) is a gap: the region was never read.
   */
  allRegions: boolean
  /** The role assumed in each account: arn:<partition>:iam::<account>:role/<assumeRole>. */
  assumeRole: string
  indicators: Indicators
  /** Seal every match with a snapshot (per account, with that account's credentials). */
  snapshot: boolean
  /** Account-regions walked at once. */
  concurrency: number
  /** Requests per second per account (sliding one-second window). */
  ratePerAccount: number
  /** Seals one account-region's matches (default: a snapshot with that account's credentials). */
  seal?: SealFn
}

/** What a sweep's seal holds of one function it was asked to seal. */
export interface SealedFunction {
  /** The function's ARN, as the sweep asked for it. */
  arn: string
  /**
   * captured: its configuration and everything else read is in the set; captured-with-gaps: its
   * configuration is, some other reads failed; not-captured: its configuration (lambda:GetFunction)
   * could not be read, so the set holds nothing of its settings.
   */
  state: 'captured' | 'captured-with-gaps' | 'not-captured'
  /** Unless captured: `<reason> (<call>)` of the first failed read, the others counted. */
  why?: string
}

export type SealFn = (
  ctx: FirContext,
  functions: string[],
) => Promise<{ set: string; manifestSha256: string; functions: SealedFunction[] }>

/** `fir snapshot` of the functions, in the account and region of `ctx.aws`. */
export const snapshotSeal: SealFn = async (ctx, functions) => {
  const r = await snapshotFunctions(ctx, { functions })
  return {
    set: r.set,
    manifestSha256: r.manifestSha256,
    functions: functions.map((arn) => sealedFunction(arn, r.functions)),
  }
}

/**
 * What a snapshot holds of a function it was asked for (by its unqualified ARN), from its summary:
 * not captured when GetFunction of its configuration failed (or it has no summary), captured with
 * gaps when another read failed.
 */
export function sealedFunction(arn: string, summaries: readonly FunctionSummary[]): SealedFunction {
  const p = parseArn(arn)
  const name = p?.resource.replace(/^function:/, '')
  const f = summaries.find((s) => s.name === name && s.region === p?.region && s.account === p?.account)
  if (!f) return { arn, state: 'not-captured', why: 'the snapshot holds no summary of it (see the gaps)' }
  const config = whyFromGaps(f.gaps.filter((g) => isConfigurationGap(g, f.qualifier)))
  if (config) return { arn, state: 'not-captured', why: config }
  const why = whyFromGaps(f.gaps)
  return why ? { arn, state: 'captured-with-gaps', why } : { arn, state: 'captured' }
}

/** One function version that matched, with every reason. */
export interface SweepMatch {
  account: string
  accountName: string
  region: string
  function: string
  version: string
  arn: string
  role: string
  runtime?: string
  reasons: MatchReason[]
}

export interface SweptAccount {
  id: string
  name: string
  /**
   * swept: every region answered and every function was checked for every indicator; partial: some
   * regions are gaps, or some functions could not be checked for an indicator (`notChecked`);
   * denied: no access at all.
   */
  status: 'swept' | 'partial' | 'denied'
  /** How fir got in: the assumed role, or the caller's own credentials (its own account). */
  via: string
  regionsSwept: string[]
  regionsSkipped: string[]
  functionVersions: number
  /** The functions of the account it could not check for an indicator (no match says nothing of them). */
  notChecked: NotChecked[]
  requests: number
  maxRequestsPerSecond: number
}

export interface SweepResult {
  caller: { arn: string; account: string }
  assumeRole: string
  indicators: Indicators
  regions: string[]
  accounts: SweptAccount[]
  inactiveAccounts: { id: string; name: string; status: string }[]
  /**
   * Why no account was swept, when none was: the organisation listed none, or none ACTIVE. No
   * call failed (not a gap); "no match" then says nothing about the functions (a warning).
   */
  nothingSwept?: string
  matches: SweepMatch[]
  functionVersionsSeen: number
  /**
   * The functions, over every account, it could not check for an indicator: "no match" says
   * nothing of them, so a sweep with any is no clean result.
   */
  notChecked: NotChecked[]
  /**
   * The seals of `--snapshot`, as they were made. The sweep's file is written before sealing: there
   * it is [], and each seal's outcome is journaled (`sweep.seal`) as it is known.
   */
  snapshots: {
    account: string
    region: string
    functions: string[]
    set?: string
    manifestSha256?: string
    error?: string
    /** What the set holds of each function (absent when the snapshot failed: `error`). */
    sealed?: SealedFunction[]
  }[]
  /**
   * What `--snapshot` is to seal, one evidence set an account and region, recorded before sealing
   * starts; absent without `--snapshot` (or matches, or with `--dry-run`). A group with no
   * `sweep.seal` entry was not sealed: the sweep was stopped first.
   */
  sealPlan?: { account: string; region: string; functions: string[] }[]
  /**
   * The evidence set holding the environment values `--env-value-sha256` matched (sealLeakedValues),
   * from which every later command of the case learns them and redacts them; absent when none
   * matched. Names the set and counts the variables: the values never leave evidence/.
   */
  leakedValues?: { set: string; manifestSha256: string; variables: number }
  startedAt: string
  finishedAt: string
  wallMs: number
  /** fir's own CPU time during the sweep (user + system): with wallMs, shows whether it waited or worked. */
  cpuMs: number
  /** The sweep's result file in the case, recorded by hash. */
  file: string
  limits: { concurrency: number; ratePerAccount: number }
}

const ACCOUNT_RE = /^\d{12}$/

function accountLabel(id: string, name: string): string {
  return name ? `account ${id} (${name})` : `account ${id}`
}

function failureCall(err: unknown, fallback: string): string {
  if (err instanceof FirError && /sts:AssumeRole/.test(err.message)) return 'sts:AssumeRole'
  return fallback
}

function failureReason(err: unknown): string {
  if (err instanceof FirError) return scrubAndCut(`${err.code}: ${err.message}`, 500, '')
  return gapReason(err)
}

/** Accounts the sweep walks: the organisation's ACTIVE accounts, or the ids given. */
async function resolveAccounts(
  ctx: FirContext,
  opts: SweepOptions,
): Promise<{ accounts: { id: string; name: string }[]; inactive: SweepResult['inactiveAccounts'] }> {
  if (opts.org) {
    const all = await listOrgAccounts(ctx.aws)
    const active = all.filter((a) => a.status === 'ACTIVE')
    return {
      accounts: active.map((a) => ({ id: a.id, name: a.name })),
      inactive: all
        .filter((a) => a.status !== 'ACTIVE')
        .map((a) => ({ id: a.id, name: a.name, status: a.status })),
    }
  }
  const ids = [...new Set(opts.accounts ?? [])]
  if (ids.length === 0) {
    throw new UsageError('unable to sweep: no accounts were named', {
      actions: [
        'pass --org (every ACTIVE account of the organisation) or --accounts 111122223333,444455556666',
      ],
    })
  }
  for (const id of ids) {
    if (!ACCOUNT_RE.test(id)) {
      throw new UsageError(`unable to read --accounts: ${JSON.stringify(id)} is not a 12-digit account id`, {
        actions: ['pass --accounts 111122223333,444455556666'],
      })
    }
  }
  return { accounts: ids.map((id) => ({ id, name: '' })), inactive: [] }
}

/**
 * How a sweep gets into its accounts, for its headlines: the role assumed, except in the caller's
 * own account, which is read with the caller's own credentials.
 */
export function sweptAs(accountIds: readonly string[], callerAccount: string, role: string): string {
  const own = accountIds.includes(callerAccount)
  if (own && accountIds.length === 1) return `with the caller's own credentials (account ${callerAccount})`
  return own
    ? `as role ${role} (account ${callerAccount}: with the caller's own credentials)`
    : `as role ${role}`
}

/**
 * Sweeps the organisation: in every account (the named role assumed; the caller's own account
 * with its own credentials) and every region, lists every function version and reports each one
 * an indicator matches, with why. Regions run in parallel (bounded), each account's requests are
 * paced, and an account or region that cannot be read is a gap. Reads only; with `snapshot`, seals
 * the matches. The sweep and its match count are journaled; the result is kept in the case.
 *
 * IAM: organizations:ListAccounts (--org), sts:AssumeRole on the role in each account, and in each
 * account lambda:ListFunctions (+ lambda:GetPolicy, lambda:ListAliases, lambda:ListFunctionUrlConfigs with --public).
 */
export async function runSweep(ctx: FirContext, opts: SweepOptions): Promise<SweepResult> {
  const started = performance.now()
  const cpuStart = process.cpuUsage()
  const startedAt = new Date().toISOString()
  const caller = await callerIdentity(ctx.aws)
  const partition = parseArn(caller.arn)?.partition ?? 'aws'
  const { accounts, inactive } = await resolveAccounts(ctx, opts)
  const nothingSwept =
    accounts.length > 0
      ? undefined
      : inactive.length === 0
        ? 'organizations:ListAccounts listed no account'
        : `none of the ${inactive.length} account(s) organizations:ListAccounts listed is ACTIVE (${inactive.map((a) => `${a.id} ${a.status || 'no status'}`).join(', ')})`
  if (nothingSwept)
    ctx.log.warn(
      `nothing was swept: ${nothingSwept}, so no function was checked and "no match" says nothing. Run from the organisation's management or delegated administrator account (--role-arn), or name the accounts with --accounts`,
    )

  const sweepTarget = opts.org ? 'organization' : accounts.map((a) => a.id).join(',')
  await ctx.case.journal.append({
    action: SWEEP_START_ACTION,
    target: sweepTarget,
    params: {
      org: opts.org,
      accounts: accounts.map((a) => a.id),
      regions: opts.regions,
      assumeRole: opts.assumeRole,
      indicators: opts.indicators,
      snapshot: opts.snapshot,
      concurrency: opts.concurrency,
      ratePerAccount: opts.ratePerAccount,
    },
    outcome: 'recorded',
  })
  ctx.log.info(
    `fir: sweeping ${accounts.length} account(s) × ${opts.regions.length} region(s) ${sweptAs(
      accounts.map((a) => a.id),
      caller.account,
      opts.assumeRole,
    )} (${opts.concurrency} at once, ≤ ${opts.ratePerAccount} requests/s per account)`,
  )

  interface AccountState {
    id: string
    name: string
    via: string
    clients?: AwsClients
    /** Who the account's calls are made as (GetCallerIdentity there): its journal entries' actor. */
    principal?: string
    pacer: AccountPacer
    denied: boolean
    regionsSwept: string[]
    regionsSkipped: string[]
    regionGaps: number
    functionVersions: number
    /** By indicator: the functions (`region/name`) it could not be checked on, and the calls that failed. */
    notChecked: Map<IndicatorKind, { functions: Set<string>; calls: Set<string> }>
  }
  const states: AccountState[] = accounts.map((a) => ({
    ...a,
    via:
      a.id === caller.account
        ? `caller ${caller.arn}`
        : `arn:${partition}:iam::${a.id}:role/${opts.assumeRole}`,
    pacer: new AccountPacer(opts.ratePerAccount),
    denied: false,
    regionsSwept: [],
    regionsSkipped: [],
    regionGaps: 0,
    functionVersions: 0,
    notChecked: new Map(),
  }))
  const matches: SweepMatch[] = []
  const leaked: LeakedValueGroup[] = []
  // A function an indicator could not be checked on: a gap says why, this counts it.
  const notChecked = (st: AccountState, indicator: IndicatorKind, fn: string, call: string) => {
    const n = st.notChecked.get(indicator) ?? { functions: new Set<string>(), calls: new Set<string>() }
    n.functions.add(fn)
    n.calls.add(call)
    st.notChecked.set(indicator, n)
  }
  let done = 0
  const total = states.length * opts.regions.length
  const progress = () =>
    ctx.log.progress(
      `sweep: ${done}/${total} account-regions, ${matches.length} match(es), ${ctx.gaps.list.length} gap(s)`,
    )

  // Get into each account once (one AssumeRole, credentials shared by its regions).
  const enter = async (st: AccountState): Promise<boolean> => {
    const own = st.id === caller.account
    st.clients = own ? ctx.aws : ctx.aws.forRole(st.via)
    // Every request made with the account's credentials counts against its limit; in the caller's
    // own account only Lambda's, since the caller's STS client also assumes the other accounts' roles.
    paceRequests(st.clients, () => st.pacer.take(), { sts: !own })
    try {
      const who = await getCallerIdentity(st.clients)
      if (who.account && who.account !== st.id) {
        throw new FirError(
          'wrong-account',
          `unable to sweep ${accountLabel(st.id, st.name)}: the credentials are for account ${who.account}`,
        )
      }
      st.principal = who.arn || undefined
    } catch (err) {
      st.denied = true
      done += opts.regions.length
      ctx.gaps.add({
        what: accountLabel(st.id, st.name),
        call: failureCall(err, 'sts:GetCallerIdentity'),
        reason: failureReason(err),
      })
      progress()
      return false
    }
    return true
  }

  const sweepRegion = async (st: AccountState, region: string): Promise<void> => {
    const aws = st.clients!.forRegion(region)
    paceRequests(aws, () => st.pacer.take(), { sts: st.id !== caller.account })
    // Every page is kept as it comes: a failure on a later page loses none of those before it.
    const versions: InventoryFunction[] = []
    let pages = 0
    try {
      await listFunctionVersions(aws, {
        onPage: (page) => {
          versions.push(...page)
          pages++
        },
      })
      st.regionsSwept.push(region)
    } catch (err) {
      if (pages === 0 && opts.allRegions && isOptInRegion(region) && isUnrecognizedCredentials(err)) {
        st.regionsSkipped.push(region)
      } else {
        st.regionGaps++
        ctx.gaps.add({
          what: `${accountLabel(st.id, st.name)} region ${region}${pages > 0 ? ` functions after page ${pages} (pages 1-${pages} kept and checked)` : ''}`,
          call: failureCall(err, 'lambda:ListFunctions'),
          reason: failureReason(err),
        })
      }
      if (pages === 0) {
        done++
        progress()
        return
      }
    }
    st.functionVersions += versions.length
    const byFunction = new Map<string, InventoryFunction[]>()
    for (const v of versions) byFunction.set(v.name, [...(byFunction.get(v.name) ?? []), v])
    for (const [name, fnVersions] of byFunction) {
      let open: MatchReason[] = []
      if (opts.indicators.public) {
        // The call under way: a gap names the one that failed.
        let call = 'lambda:ListFunctionUrlConfigs'
        try {
          const { urls, unqualifiedOnly } = await listFunctionUrls(aws, name)
          if (unqualifiedOnly) {
            ctx.gaps.add({
              what: `${accountLabel(st.id, st.name)} region ${region} alias function URLs (only unqualified URLs were read)`,
              call: 'lambda:ListFunctionUrlConfigs',
              reason: 'unimplemented: the endpoint does not serve ListFunctionUrlConfigs',
            })
          }
          // Each published version and alias has a policy of its own: a public statement there
          // opens that qualifier's ARN, and the function's own policy does not show it.
          call = 'lambda:ListAliases'
          const qualifiers = [
            ...fnVersions.map((v) => v.version).filter((v) => v !== '$LATEST'),
            ...(await listAliasNames(aws, name)),
          ]
          call = 'lambda:GetPolicy'
          const policies: QualifiedPolicy[] = [{ text: await getFunctionPolicyText(aws, name) }]
          for (const qualifier of qualifiers)
            policies.push({ qualifier, text: await getFunctionPolicyText(aws, name, qualifier) })
          const organisation = policies.some((p) => statementsOf(p.text).some(usesOrganisationCondition))
            ? await accountOrganisation(ctx, st.clients!, st.id)
            : undefined
          open = publicReasons(urls, policies, { account: st.id, ...(organisation ? { organisation } : {}) })
        } catch (err) {
          ctx.gaps.add({
            what: `${accountLabel(st.id, st.name)} region ${region} function ${name} (public exposure)`,
            call: failureCall(err, call),
            reason: failureReason(err),
          })
          notChecked(st, 'public', `${region}/${name}`, failureCall(err, call))
        }
      }
      for (const v of fnVersions) {
        if (v.environmentError && opts.indicators.envValueSha256.length > 0) {
          ctx.gaps.add({
            what: `${accountLabel(st.id, st.name)} region ${region} function ${name}:${v.version} environment`,
            call: 'kms:Decrypt',
            reason: v.environmentError,
          })
          notChecked(st, 'env-value-sha256', `${region}/${name}`, 'kms:Decrypt')
        }
        const values = leakedVariables(v, opts.indicators)
        if (values.length > 0) leaked.push({ account: st.id, region, arn: v.arn, variables: values })
        // Public exposure belongs to the function (its URLs and policy), reported on $LATEST.
        const reasons = [...matchInventory(v, opts.indicators), ...(v.version === '$LATEST' ? open : [])]
        if (reasons.length > 0) {
          matches.push({
            account: st.id,
            accountName: st.name,
            region,
            function: v.name,
            version: v.version,
            arn: v.arn,
            role: v.role,
            ...(v.runtime ? { runtime: v.runtime } : {}),
            reasons,
          })
        }
      }
    }
    done++
    progress()
  }

  // One queue: an account's regions start as soon as its role is assumed, alongside other accounts.
  type Work = { st: AccountState; region?: string }
  await runQueue<Work>(
    states.map((st) => ({ st })),
    opts.concurrency,
    async ({ st, region }, push) => {
      if (region === undefined) {
        if (await enter(st)) push(...opts.regions.map((r) => ({ st, region: r })))
      } else await sweepRegion(st, region)
    },
  )
  if (total > 0) ctx.log.progress('')

  matches.sort(
    (a, b) =>
      a.account.localeCompare(b.account) ||
      a.region.localeCompare(b.region) ||
      a.function.localeCompare(b.function) ||
      a.version.localeCompare(b.version, undefined, { numeric: true }),
  )

  const file = `sweeps/${compactUtc(new Date(startedAt))}.json`
  // Before anything else is written: the values are the one thing later commands need to redact.
  const leakedValues = leaked.length > 0 ? await sealLeakedValues(ctx, leaked, file, sweepTarget) : undefined

  // The account-regions --snapshot seals, one evidence set each.
  const groups = new Map<string, { st: AccountState; region: string; functions: Set<string> }>()
  if (opts.snapshot && !ctx.dryRun) {
    for (const m of matches) {
      const st = states.find((s) => s.id === m.account)!
      const key = `${m.account}/${m.region}`
      const g = groups.get(key) ?? { st, region: m.region, functions: new Set<string>() }
      g.functions.add(unqualifiedArn(m.arn))
      groups.set(key, g)
    }
  }
  const plan = [...groups.values()].map((g) => ({
    g,
    account: g.st.id,
    region: g.region,
    functions: [...g.functions].sort(),
  }))

  const finishedAt = new Date().toISOString()
  const accountNotChecked = (st: AccountState): NotChecked[] =>
    mergeNotChecked([
      [...st.notChecked].map(([indicator, n]) => ({
        indicator,
        functions: n.functions.size,
        calls: [...n.calls],
      })),
    ])
  const result: SweepResult = {
    caller: { arn: caller.arn, account: caller.account },
    assumeRole: opts.assumeRole,
    indicators: opts.indicators,
    regions: opts.regions,
    accounts: states.map((st) => ({
      id: st.id,
      name: st.name,
      status: st.denied ? 'denied' : st.regionGaps > 0 || st.notChecked.size > 0 ? 'partial' : 'swept',
      via: st.via,
      regionsSwept: st.regionsSwept.sort(),
      regionsSkipped: st.regionsSkipped.sort(),
      functionVersions: st.functionVersions,
      notChecked: accountNotChecked(st),
      requests: st.pacer.history.length,
      maxRequestsPerSecond: maxPerSecond(st.pacer.history),
    })),
    inactiveAccounts: inactive,
    ...(nothingSwept ? { nothingSwept } : {}),
    matches,
    functionVersionsSeen: states.reduce((n, st) => n + st.functionVersions, 0),
    notChecked: mergeNotChecked(states.map(accountNotChecked)),
    snapshots: [],
    ...(plan.length > 0
      ? { sealPlan: plan.map(({ account, region, functions }) => ({ account, region, functions })) }
      : {}),
    ...(leakedValues ? { leakedValues } : {}),
    startedAt,
    finishedAt,
    wallMs: Math.round(performance.now() - started),
    cpuMs: Math.round(((cu) => (cu.user + cu.system) / 1000)(process.cpuUsage(cpuStart))),
    file,
    limits: { concurrency: opts.concurrency, ratePerAccount: opts.ratePerAccount },
  }
  // The walk is recorded before anything is sealed: sealing takes minutes, and a sweep stopped
  // meanwhile (Ctrl-C, a seal that cannot finish) keeps its matches and gaps. Each seal's outcome
  // is journaled as it is known (recordSweepSeal); a planned one with none was not sealed.
  await recordSweep(ctx.case, result, {
    target: sweepTarget,
    gapCount: ctx.gaps.list.length,
  })
  if (plan.length === 0) return result

  const seal = opts.seal ?? snapshotSeal
  const untrack = atInterrupt(
    `kept the sweep's ${result.matches.length} match(es) in ${file}: \`fir case show\` says which were not sealed`,
    () => undefined,
  )
  try {
    for (const { g, functions } of plan) {
      const where = `${accountLabel(g.st.id, g.st.name)} region ${g.region}`
      ctx.log.info(`fir: sealing ${functions.length} function(s) in ${where}`)
      // The journal's actor is who made the calls an entry records: each seal is made as its
      // own account's principal (the caller's identity is cached, so it is not stamped again).
      setActorArn(g.st.principal ?? (g.st.id === caller.account ? caller.arn : g.st.via))
      const gapsBefore = ctx.gaps.list.length
      let outcome: SweepResult['snapshots'][number]
      try {
        const sealed = await seal(
          { ...ctx, aws: g.st.clients!.forRegion(g.region), gaps: ctx.gaps.scoped(where) },
          functions,
        )
        outcome = {
          account: g.st.id,
          region: g.region,
          functions,
          set: sealed.set,
          manifestSha256: sealed.manifestSha256,
          sealed: sealed.functions,
        }
      } catch (err) {
        const reason = failureReason(err)
        outcome = { account: g.st.id, region: g.region, functions, error: reason }
        ctx.gaps.add({
          what: `snapshot of ${functions.length} function(s) in ${where}`,
          call: 'fir snapshot',
          reason,
        })
      }
      result.snapshots.push(outcome)
      await recordSweepSeal(ctx.case, file, outcome, ctx.gaps.list.length - gapsBefore)
    }
  } finally {
    untrack()
    // The sweep itself is the caller's.
    setActorArn(caller.arn)
  }
  const end = performance.now()
  return {
    ...result,
    finishedAt: new Date().toISOString(),
    wallMs: Math.round(end - started),
    cpuMs: Math.round(((cu) => (cu.user + cu.system) / 1000)(process.cpuUsage(cpuStart))),
  }
}

/** The variables of one function version whose values `--env-value-sha256` matched. */
export interface LeakedValueGroup {
  account: string
  region: string
  /** The function version's ARN. */
  arn: string
  variables: LeakedVariable[]
}

/**
 * Seals the environment values a sweep's `--env-value-sha256` matched in an evidence set of their
 * own: `sweep-leaked-values/<account>/<region>.json` (each function version's ARN, the variable, the
 * value's SHA-256 and the value), hashed, sealed and journaled like any set, and verified by
 * `fir case verify`. The journal keeps only the hashes, so without it a later command of the case
 * (the report, the timeline, exports) could not know the value to redact it: registerCaseSecrets
 * registers the values of this set whose SHA-256 the case's sweeps declared leaked. No
 * summary.json: it is no snapshot of the functions, and nothing reads it as one. Returns the set,
 * its manifest's SHA-256 and how many variables it holds.
 */
export async function sealLeakedValues(
  ctx: Pick<FirContext, 'case' | 'log'>,
  groups: readonly LeakedValueGroup[],
  sweepFile: string,
  target: string,
): Promise<NonNullable<SweepResult['leakedValues']>> {
  const set = await ctx.case.newEvidenceSet()
  const byRegion = new Map<string, LeakedValueGroup[]>()
  for (const g of groups) {
    const key = `${g.account}\u0000${g.region}`
    byRegion.set(key, [...(byRegion.get(key) ?? []), g])
  }
  let variables = 0
  for (const list of byRegion.values()) {
    const { account, region } = list[0]!
    const matched = list.flatMap((g) =>
      g.variables.map((v) => ({ functionArn: g.arn, variable: v.name, sha256: v.sha256, value: v.value })),
    )
    variables += matched.length
    await set.writeJson(
      `${LEAKED_VALUES_DIR}/${safeSegment(account)}/${safeSegment(region)}.json`,
      { account, region, sweep: sweepFile, matched },
      { call: 'lambda:ListFunctions', target: account, region },
    )
  }
  const sealed = await set.seal({ sweep: sweepFile }, target)
  ctx.log.info(`fir: sealed the ${variables} matched environment value(s) in evidence/${set.name}`)
  return { set: set.name, manifestSha256: sealed.sha256, variables }
}

/**
 * Keeps a sweep's result in the case: writes `result.file` (`sweeps/<UTC>.json`, never over an
 * existing one), records it by hash (`case.artifact`, so `fir case verify` checks it) and journals
 * the sweep (action `sweep`) with its parameters, counts, matched functions and the file's SHA-256,
 * which `fir case show` and `fir report` check before they read the file (sweep/recorded.ts).
 * Called once the walk is done, before `--snapshot` seals anything: the file's `sealPlan` names
 * what is to be sealed, and each seal's outcome is journaled after it (recordSweepSeal).
 */
export async function recordSweep(
  handle: Pick<CaseHandle, 'dir' | 'journal'>,
  result: SweepResult,
  o: { target: string; gapCount: number },
): Promise<void> {
  await writeFileAtomic(join(handle.dir, result.file), `${jsonText(result, 2)}\n`, {
    once: true,
  })
  const artifact = await recordArtifact(handle.dir, handle.journal, result.file)
  await handle.journal.append({
    action: SWEEP_ACTION,
    target: o.target,
    params: {
      accounts: result.accounts.length,
      accountsDenied: result.accounts.filter((a) => a.status === 'denied').map((a) => a.id),
      regions: result.regions,
      assumeRole: result.assumeRole,
      indicators: result.indicators,
      matchCount: result.matches.length,
      matchedFunctions: [...new Set(result.matches.map((m) => unqualifiedArn(m.arn)))],
      gapCount: o.gapCount,
      functionVersionsSeen: result.functionVersionsSeen,
      notChecked: result.notChecked,
      file: result.file,
      fileSha256: artifact.sha256,
      wallMs: result.wallMs,
    },
    outcome: 'recorded',
  })
}

/**
 * Journals the outcome of one seal of a sweep's `--snapshot` (action `sweep.seal`): the sweep's
 * file, the account and region, the functions, and the set sealed (with what it holds of each) or
 * why it failed, and the gaps it added. The sweep's file is written once, before sealing: these
 * entries complete it (readRecordedSweeps reads them as the file's `snapshots`).
 */
export async function recordSweepSeal(
  handle: Pick<CaseHandle, 'journal'>,
  file: string,
  outcome: SweepResult['snapshots'][number],
  gapCount: number,
): Promise<void> {
  await handle.journal.append({
    action: SWEEP_SEAL_ACTION,
    target: `${outcome.account}/${outcome.region}`,
    params: { file, ...outcome, gapCount },
    // A failed seal changed nothing: no change for case show to list (its error is in the params).
    outcome: 'recorded',
  })
}
