import type { AwsClients } from '../../aws/clients.js'
import { batchGetImage, parseEcrImageUri } from '../../aws/ecr.js'
import {
  type AliasConfiguration,
  environmentError,
  type FunctionConfiguration,
  type GetFunctionCommandOutput,
  type GetFunctionUrlConfigCommandOutput,
  type GetLayerVersionCommandOutput,
  getCodeSigningConfig,
  getFunction,
  getFunctionCodeSigningConfig,
  getFunctionConcurrency,
  getFunctionUrlConfig,
  getLayerVersion,
  getPolicy,
  listAliases,
  listFunctionEventInvokeConfigs,
  listProvisionedConcurrencyConfigs,
  listVersionsByFunction,
  type ProvisionedConcurrencyConfigListItem,
} from '../../aws/lambda.js'
import { describeOrganization } from '../../aws/organizations.js'
import { safeSegment } from '../case/evidence-store.js'
import { protectArn, protectFunctionIdentifiers, redactor } from '../common/redact.js'
import { escapeTerminal, firstFew } from '../common/text.js'
import type { Gap } from '../context.js'
import { type AccountOrganisation, organisationFrom } from '../identity.js'
import type { ArchiveProblem } from './archive.js'
import { collectLogs, invokeCoverage, regionCoverage } from './coverage.js'
import { collectEventSources } from './event-sources.js'
import {
  analyseExposure,
  policyStatements,
  type QualifierExposureInput,
  usesOrganisationCondition,
} from './exposure.js'
import { foreignLayerPublisher } from './layers.js'
import { mapLimit } from './pacing.js'
import { type StoredPackage, storePackage } from './packages.js'
import type { Fetched } from './recorder.js'
import { collectRole, type RoleFacts, roleNameOf } from './role.js'
import type { SnapshotRun } from './run.js'
import { scanEnvironments } from './secrets.js'
import type {
  AliasSummary,
  EnvironmentError,
  FindingLevel,
  FunctionSummary,
  ImageSummary,
  LayerSummary,
  ProvisionedConcurrencySummary,
  UnreadConfiguration,
  UnreadPolicy,
  UrlSummary,
  VersionSummary,
} from './types.js'

/** A function to snapshot, resolved: its name, region, clients and folder in the set. */
export interface SnapshotTarget {
  name: string
  region: string
  account: string
  aws: AwsClients
  /** Folder in the set: `functions/<name>` (`functions/<name>@<region>` when names repeat). */
  dir: string
  /** The qualifier the summary describes (from an ARN, or --qualifier). */
  qualifier?: string
  /**
   * GetFunction calls already made while resolving, by qualifier: the response (stored by the
   * caller), or the gap its failure is (recorded by the caller).
   */
  prefetched: Map<string, { value: GetFunctionCommandOutput; at: number; file: string } | { gap: Gap }>
}

/** A qualifier's configuration, from a GetFunction answer or from ListVersionsByFunction. */
interface KnownConfig {
  qualifier: string
  config: FunctionConfiguration
  /** The stored GetFunction answer it comes from; none when it comes from the version list. */
  file?: string
}

/** A fresh presigned location is reused for this long before another GetFunction (it lives 10 min). */
const LOCATION_FRESH_MS = 5 * 60_000

interface QualifierData {
  qualifier: string
  fn?: GetFunctionCommandOutput
  fnFile?: string
  /** GetFunction of the qualifier failed: the gap it is. */
  fnGap?: Gap
  policy?: string
  policyFile?: string
  /** GetPolicy of the qualifier failed (not "no policy"): the gap it is. */
  policyGap?: Gap
  url?: GetFunctionUrlConfigCommandOutput
  urlFile?: string
  code?: StoredPackage
}

const ARCHIVE_LEVEL: Record<ArchiveProblem['kind'], FindingLevel> = {
  'zip-slip': 'high',
  symlink: 'medium',
  'zip-bomb': 'high',
  corrupt: 'medium',
  encrypted: 'medium',
  // The entries past the listing limit are not listed or hashed (their names are still checked):
  // high when even the names stop (`unread`), as hostile entries may hide there.
  'too-many-entries': 'medium',
  'ambiguous-name': 'high',
  // A size lie is made, not an accident of a zip tool: it blinds readers to the entries after it.
  'size-mismatch': 'high',
  // Like a size lie: the declared CRC-32 is not the data's, so strict readers refuse the entry
  // (Python's extractall stops there, hiding what follows) while the hash is of other bytes.
  'crc-mismatch': 'high',
}

/** What a problem about the archive as a whole (no entry) says of it, by kind. */
const ARCHIVE_SAYS: Partial<Record<ArchiveProblem['kind'], string>> = {
  'zip-bomb': 'is a zip bomb',
  corrupt: 'has a corrupt or lying central directory',
  'too-many-entries': 'has too many entries to list',
}

/** One hostile-archive finding: the problems of one kind in one package. */
export interface ArchiveFinding {
  problem: ArchiveProblem['kind']
  level: FindingLevel
  title: string
  problems: ArchiveProblem[]
}

/**
 * The hostile-archive findings of one package, one per kind of problem. A title counts the
 * entries flagged (naming the first three, and how many more) apart from what is said of the
 * archive as a whole, which is no entry.
 */
/** An entry name as a title shows it: at most {@link TITLE_NAME_MAX} characters, then `…`. */
const TITLE_NAME_MAX = 120
function cutName(name: string): string {
  const chars = [...name]
  return chars.length > TITLE_NAME_MAX ? `${chars.slice(0, TITLE_NAME_MAX).join('')}…` : name
}

export function archiveFindings(file: string, fn: string, problems: ArchiveProblem[]): ArchiveFinding[] {
  const byKind = new Map<ArchiveProblem['kind'], ArchiveProblem[]>()
  for (const p of problems) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p])
  return [...byKind].map(([kind, all]) => {
    const entries = all.filter((p) => p.entry !== undefined)
    const whole = all.filter((p) => p.entry === undefined)
    const more = (n: number) => (n > 0 ? ` and ${n} more` : '')
    const parts: string[] = []
    if (entries.length > 0) {
      // A name is cut in the title (a hostile one can be 64 KB, one terminal line): the listing and
      // the finding's problems keep it whole.
      const names = entries.slice(0, 3).map((p) => JSON.stringify(escapeTerminal(cutName(p.entry ?? ''))))
      parts.push(
        `has ${entries.length} ${kind} entr${entries.length === 1 ? 'y' : 'ies'}: ${names.join(', ')}${more(entries.length - 3)}`,
      )
    }
    if (whole.length > 0) {
      const says = ARCHIVE_SAYS[kind] ?? `has a ${kind} problem`
      parts.push(
        `${entries.length > 0 ? `${says} as a whole` : says}: ${escapeTerminal(whole[0]!.detail)}${more(whole.length - 1)}`,
      )
    }
    const level: FindingLevel = all.some((p) => p.unread)
      ? 'high'
      : kind === 'symlink' && all.some((p) => p.detail.includes('outside the archive'))
        ? 'high'
        : ARCHIVE_LEVEL[kind]
    return {
      problem: kind,
      level,
      title: `Package ${file} of ${fn} ${parts.join('; ')} (listed, not extracted)`,
      problems: all,
    }
  })
}

/**
 * Collects one function into the set (DESIGN §3): GetFunction for $LATEST, every version and
 * every alias; each distinct code package, fetched just in time and checked against CodeSha256;
 * the resource policy of every qualifier; URL configs of $LATEST and every alias; the event source
 * mappings of the function, its versions and aliases (from the region's, listed once); reserved
 * and provisioned concurrency; event invoke configs; code signing; every layer version with its
 * content; the image manifest of every distinct image the qualifiers run; the log group's recent
 * events; the execution role(s); trail coverage of its region. A qualifier whose GetFunction failed
 * is read (environment, layers, role) from ListVersionsByFunction's configuration. Lambda calls
 * share the run's token bucket and versions are walked with bounded concurrency. Returns the summary entry; findings go to the run.
 */
export async function collectFunction(run: SnapshotRun, target: SnapshotTarget): Promise<FunctionSummary> {
  const { aws, name, region, dir } = target
  const gaps: Gap[] = []
  const arn = `arn:aws:lambda:${region}:${target.account}:function:${name}`
  const rec = run.rec
  const spec = (call: string, what: string, file: string, extra: { absentOk?: boolean } = {}) => ({
    call,
    target: arn,
    what: `${what} of ${name}`,
    file: `${dir}/${file}`,
    region,
    paced: true,
    sink: gaps,
    ...extra,
  })
  const qualifiers = new Map<string, QualifierData>()
  const data = (q: string): QualifierData => {
    let d = qualifiers.get(q)
    if (!d) {
      d = { qualifier: q }
      qualifiers.set(q, d)
    }
    return d
  }
  const regionCov = regionCoverage(run, region)

  // GetFunction of a qualifier (unless fetched while resolving), then its package, just in time.
  const fetchQualifier = async (q: string): Promise<void> => {
    const d = data(q)
    const pre = target.prefetched.get(q)
    let fetchedAt = Date.now()
    // It failed seconds ago: asking again would fail alike and list the same gap twice.
    if (pre && 'gap' in pre) {
      d.fnGap = pre.gap
      return
    }
    if (pre) {
      d.fn = pre.value
      d.fnFile = pre.file
      fetchedAt = pre.at
    } else {
      const r = await rec.one(
        spec(
          'lambda:GetFunction',
          `configuration and code location (${q})`,
          `get-function.${safeSegment(q)}.json`,
        ),
        () => getFunction(aws, name, q),
      )
      if (r.status !== 'stored') {
        if (r.status === 'gap') d.fnGap = r.gap
        return
      }
      d.fn = r.value
      d.fnFile = r.file
    }
    d.code = await packageOf(run, target, arn, q, d.fn, fetchedAt, gaps)
  }

  const policyOf = async (q: string): Promise<void> => {
    const r = await rec.one(
      spec('lambda:GetPolicy', `resource policy (${q})`, `get-policy.${safeSegment(q)}.json`, {
        absentOk: true,
      }),
      () => getPolicy(aws, name, q),
    )
    if (r.status === 'stored') {
      data(q).policy = r.value.Policy
      data(q).policyFile = r.file
    } else if (r.status === 'gap') data(q).policyGap = r.gap
  }
  const urlOf = async (q: string): Promise<void> => {
    const r = await rec.one(
      spec(
        'lambda:GetFunctionUrlConfig',
        `function URL config (${q})`,
        `get-function-url-config.${safeSegment(q)}.json`,
        {
          absentOk: true,
        },
      ),
      () => getFunctionUrlConfig(aws, name, q),
    )
    if (r.status === 'stored') {
      data(q).url = r.value
      data(q).urlFile = r.file
    }
  }

  // $LATEST first: its package is downloaded while its location is fresh. Its role and log group
  // do not wait for the versions: they run alongside.
  const latestDone = fetchQualifier('$LATEST')
  const latestConfig = latestDone.then(() => data('$LATEST').fn?.Configuration)
  const latestRole = latestConfig.then((c) => (c?.Role ? collectRole(run, c.Role) : undefined))
  const logsDone = latestConfig.then((c) =>
    collectLogs(run, { arn, name, region, dir }, c?.LoggingConfig?.LogGroup ?? `/aws/lambda/${name}`, gaps),
  )
  // Both are awaited further down. A failure before then (a bug) must not be an unhandled
  // rejection, which ends the process before the set is sealed; the await still throws it.
  latestRole.catch(() => undefined)
  logsDone.catch(() => undefined)
  const [versionsRes, aliasesRes, , , eventSources, concurrencyRes, pcRes, , cscRes] = await Promise.all([
    rec.pages<{ Versions?: FunctionConfiguration[] }>(
      spec('lambda:ListVersionsByFunction', 'versions', 'list-versions-by-function'),
      (onPage, pace) => listVersionsByFunction(aws, name, onPage, pace),
    ),
    rec.pages<{ Aliases?: AliasConfiguration[] }>(
      spec('lambda:ListAliases', 'aliases', 'list-aliases'),
      (onPage, pace) => listAliases(aws, name, onPage, pace),
    ),
    policyOf('$LATEST'),
    urlOf('$LATEST'),
    collectEventSources(run, region, arn, gaps),
    rec.one(
      spec('lambda:GetFunctionConcurrency', 'reserved concurrency', 'get-function-concurrency.json'),
      () => getFunctionConcurrency(aws, name),
    ),
    rec.pages<{ ProvisionedConcurrencyConfigs?: ProvisionedConcurrencyConfigListItem[] }>(
      spec(
        'lambda:ListProvisionedConcurrencyConfigs',
        'provisioned concurrency',
        'list-provisioned-concurrency-configs',
      ),
      (onPage, pace) => listProvisionedConcurrencyConfigs(aws, name, onPage, pace),
    ),
    rec.pages(
      spec(
        'lambda:ListFunctionEventInvokeConfigs',
        'event invoke configs',
        'list-function-event-invoke-configs',
      ),
      (onPage, pace) => listFunctionEventInvokeConfigs(aws, name, onPage, pace),
    ),
    rec.one(
      spec(
        'lambda:GetFunctionCodeSigningConfig',
        'code signing config',
        'get-function-code-signing-config.json',
      ),
      () => getFunctionCodeSigningConfig(aws, name),
    ),
    latestDone,
  ])

  const versionConfigs = new Map(
    versionsRes.pages.flatMap((p) => p.Versions ?? []).map((v) => [v.Version ?? '', v] as const),
  )
  // Once each (the map's keys): a page Lambda handed back twice (a repeated page marker) lists
  // them again.
  const versions = [...versionConfigs.keys()].filter((v) => v !== '' && v !== '$LATEST')
  const aliases = [
    ...new Map(
      aliasesRes.pages.flatMap((p) => p.Aliases ?? []).map((a) => [a.Name ?? '', a] as const),
    ).values(),
  ]

  // Every version: GetFunction (then its package, if it is a new one) and its resource policy;
  // every alias: GetFunction, resource policy and URL config. Bounded, and paced by the bucket.
  await Promise.all([
    mapLimit(versions, run.settings.versionConcurrency, async (v) => {
      await Promise.all([fetchQualifier(v), policyOf(v)])
    }),
    mapLimit(aliases, run.settings.versionConcurrency, async (a) => {
      if (!a.Name) return
      await Promise.all([fetchQualifier(a.Name), policyOf(a.Name), urlOf(a.Name)])
    }),
  ])

  const csc = cscRes.status === 'stored' ? cscRes.value.CodeSigningConfigArn : undefined
  if (csc) {
    await rec.one(
      spec('lambda:GetCodeSigningConfig', 'code signing config details', 'get-code-signing-config.json'),
      () => getCodeSigningConfig(aws, csc),
    )
  }

  const focusName = target.qualifier ?? run.settings.qualifier ?? '$LATEST'
  const focus = qualifiers.get(focusName) ?? qualifiers.get('$LATEST')
  const focusConfig = focus?.fn?.Configuration

  // The configuration of every qualifier: GetFunction's; when that failed, the one
  // ListVersionsByFunction returned for the version (for an alias: for the version it points at).
  // Environment, layers and role are all in it; the code location is not.
  const aliasVersion = new Map(aliases.map((a) => [a.Name ?? '', a.FunctionVersion] as const))
  const answered = (d: QualifierData | undefined) =>
    d?.fn?.Configuration ? { config: d.fn.Configuration, ...(d.fnFile ? { file: d.fnFile } : {}) } : undefined
  const listed = (v: string) => {
    const config = versionConfigs.get(v)
    return config ? { config } : undefined
  }
  const configs: KnownConfig[] = []
  // Qualifiers whose configuration is known from neither: their environment is unknown.
  const unread: { qualifier: string; reason: string }[] = []
  for (const d of qualifiers.values()) {
    const v = aliasVersion.get(d.qualifier)
    const known =
      answered(d) ?? listed(d.qualifier) ?? (v ? (answered(qualifiers.get(v)) ?? listed(v)) : undefined)
    if (known) configs.push({ qualifier: d.qualifier, ...known })
    else
      unread.push({
        qualifier: d.qualifier,
        reason: d.fnGap?.reason ?? 'GetFunction returned no configuration',
      })
  }
  // Evidence of what was read: the GetFunction answers, and the version list's pages when a
  // configuration came from them.
  const configFiles = [
    ...new Set([
      ...configs.map((c) => c.file ?? ''),
      ...(configs.some((c) => !c.file) ? versionsRes.files : []),
    ]),
  ].filter(Boolean)

  // Layers of every qualifier: metadata and content, once per layer version per run. Each names
  // the qualifiers that run it; the summarised qualifier's come first, in its configured order.
  const layerQualifiers = new Map<string, string[]>()
  const focusKnown = configs.find((c) => c.qualifier === focus?.qualifier)
  for (const c of [...(focusKnown ? [focusKnown] : []), ...configs]) {
    for (const l of c.config.Layers ?? []) if (l.Arn) layerQualifiers.set(l.Arn, [])
  }
  for (const c of configs) {
    for (const l of c.config.Layers ?? []) {
      const qs = l.Arn ? layerQualifiers.get(l.Arn) : undefined
      if (qs && !qs.includes(c.qualifier)) qs.push(c.qualifier)
    }
  }
  const layerArns = [...layerQualifiers.keys()]
  const layers = await Promise.all(layerArns.map((l) => collectLayer(run, l, gaps)))

  // Image functions: the resolved digest of every qualifier's image (only GetFunction gives it),
  // and each distinct manifest where ECR lets us read it, as each distinct CodeSha256 of a zip.
  const imageOf = new Map<string, { imageUri: string; digest?: string; qualifiers: string[] }>()
  for (const d of [...(focus ? [focus] : []), ...qualifiers.values()]) {
    const code = d.fn?.Code
    if (d.fn?.Configuration?.PackageType !== 'Image' && code?.RepositoryType !== 'ECR') continue
    const uri = code?.ImageUri ?? code?.ResolvedImageUri
    if (!uri) {
      rec.gap(
        {
          what: `image of ${name}:${d.qualifier}`,
          call: 'lambda:GetFunction',
          reason: 'other: GetFunction returned no Code.ImageUri for an image function',
        },
        gaps,
      )
      continue
    }
    const key = code?.ResolvedImageUri ?? uri
    const hit = imageOf.get(key)
    if (hit) {
      if (!hit.qualifiers.includes(d.qualifier)) hit.qualifiers.push(d.qualifier)
      continue
    }
    const digest = code?.ResolvedImageUri?.split('@')[1]
    if (!digest) {
      rec.gap(
        {
          what: `image digest of ${name}:${d.qualifier}`,
          call: 'lambda:GetFunction',
          reason: `other: GetFunction returned no Code.ResolvedImageUri for ${uri}`,
        },
        gaps,
      )
    }
    imageOf.set(key, { imageUri: uri, ...(digest ? { digest } : {}), qualifiers: [d.qualifier] })
  }
  const images: ImageSummary[] = await Promise.all(
    [...imageOf.values()].map(async (i) => {
      const read = i.digest ? await collectImage(run, i.imageUri, i.digest, gaps) : undefined
      // ECR no longer holds what runs: a fact about the function, not a failure to read it.
      if (read?.inEcr === false) {
        run.addFinding({
          kind: 'image-missing',
          level: 'medium',
          title: `The image ${name} (${i.qualifiers.join(', ')}) runs is no longer in ECR: ${i.imageUri} @ ${i.digest} (${read.why}); Lambda runs its own copy, but the image cannot be examined from ECR (deleted, by a lifecycle policy or by someone hiding what ran)`,
          target: arn,
          key: i.digest ?? i.imageUri,
          detail: { imageUri: i.imageUri, digest: i.digest, qualifiers: i.qualifiers, ecr: read.why },
          evidence: [
            ...(read.file ? [read.file] : []),
            ...i.qualifiers.map((q) => qualifiers.get(q)?.fnFile ?? '').filter(Boolean),
          ],
        })
      }
      return { ...i, inEcr: read?.inEcr ?? null }
    }),
  )
  const imageUri = focusConfig?.PackageType === 'Image' ? focus?.fn?.Code?.ImageUri : undefined
  const imageDigest =
    focusConfig?.PackageType === 'Image' ? focus?.fn?.Code?.ResolvedImageUri?.split('@')[1] : undefined

  // The execution role(s): a version running with another role (a role swap) is collected too.
  const roleArns = [...new Set(configs.map((c) => c.config.Role).filter((r): r is string => Boolean(r)))]
  await latestRole
  const roles = new Map<string, RoleFacts>()
  await Promise.all(roleArns.map(async (r) => roles.set(r, await collectRole(run, r))))
  const focusRole = focusConfig?.Role ? roles.get(focusConfig.Role) : undefined
  const logs = await logsDone

  // The function's public identifiers, protected before its secrets are registered (and anything
  // of it journaled): a secret equal to its name, or a part of it, must not cut them (DESIGN §1).
  for (const c of configs) protectFunctionIdentifiers(c.config)
  for (const m of eventSources) {
    redactor.protect(m.uuid ?? '', { evenIfSecret: true })
    protectArn(m.source)
  }
  for (const a of aliases) redactor.protect(a.Name ?? '')
  for (const d of qualifiers.values()) redactor.protect(d.url?.FunctionUrl ?? '', { evenIfSecret: true })
  // Findings: secrets and keys in environments, exposure, package integrity, hostile archives.
  const envScan = scanEnvironments(
    configs.map((c) => {
      const env = c.config.Environment
      const error = environmentError(env)
      return { qualifier: c.qualifier, variables: env?.Variables, ...(error ? { error } : {}) }
    }),
    run.leakedValues,
  )
  // An environment neither GetFunction nor the version list returned is unknown, as one Lambda
  // could not decrypt is: said with why, never "none found". Its gap is the failed GetFunction's.
  const environmentErrors: EnvironmentError[] = [...envScan.unreadable]
  // Their layers are unknown likewise: said apart, as the layers of what was read are listed.
  const unreadConfigurations: UnreadConfiguration[] = []
  for (const u of unread) {
    const hit = environmentErrors.find((x) => x.error === u.reason)
    if (hit) hit.qualifiers.push(u.qualifier)
    else environmentErrors.push({ error: u.reason, qualifiers: [u.qualifier] })
    const same = unreadConfigurations.find((x) => x.reason === u.reason)
    if (same) same.qualifiers.push(u.qualifier)
    else unreadConfigurations.push({ reason: u.reason, qualifiers: [u.qualifier] })
  }
  // An environment Lambda could not decrypt was not read: its secrets are unknown, not absent.
  for (const u of envScan.unreadable) {
    rec.gap(
      {
        what: `environment variables (${firstFew(u.qualifiers)}) of ${name}`,
        call: 'kms:Decrypt',
        reason: `${/AccessDenied/i.test(u.error) ? 'denied' : 'other'}: ${u.error}`,
      },
      gaps,
    )
  }
  const envEvidence = configFiles
  for (const s of envScan.secrets) {
    run.addFinding({
      kind: 'secret-in-environment',
      level: 'high',
      title: `Environment variable ${s.name} of ${name} holds a secret (${s.kind}): ${s.redacted}`,
      target: arn,
      key: `${s.name}\u0000${s.redacted}`,
      detail: { variable: s.name, redacted: s.redacted, kind: s.kind, qualifiers: s.qualifiers },
      evidence: envEvidence,
    })
  }
  for (const k of envScan.accessKeys) {
    run.addFinding({
      kind: 'access-key-in-environment',
      level: k.pairedWith ? 'critical' : 'high',
      title: `Environment variable ${k.name} of ${name} holds access key id ${k.accessKeyId}${k.pairedWith ? ` with its secret in ${k.pairedWith}: a usable long-term key` : ''}`,
      target: arn,
      key: `${k.name}\u0000${k.accessKeyId}`,
      detail: {
        variable: k.name,
        accessKeyId: k.accessKeyId,
        qualifiers: k.qualifiers,
        ...(k.pairedWith ? { secretIn: k.pairedWith } : {}),
      },
      evidence: envEvidence,
    })
  }

  // A layer another account published runs that account's code inside the function.
  for (const layerArn of layerArns) {
    const owner = foreignLayerPublisher(layerArn, target.account)
    if (!owner) continue
    run.addFinding({
      kind: 'foreign-layer',
      level: 'medium',
      title: `${name} runs layer ${layerArn}, published by account ${owner}, not this one: that account controls code inside the function (check it is a publisher you trust)`,
      target: arn,
      key: layerArn,
      detail: {
        layer: layerArn,
        account: owner,
        qualifiers: layerQualifiers.get(layerArn) ?? [],
      },
      evidence: envEvidence,
    })
  }

  const exposureInputs: QualifierExposureInput[] = [...qualifiers.values()].map((d) => ({
    qualifier: d.qualifier,
    ...(d.policy ? { policy: d.policy } : {}),
    ...(d.url ? { url: d.url } : {}),
  }))
  // A PrincipalOrgID narrows a statement only to the account's own organisation: ask which it is.
  const organisation = [...qualifiers.values()]
    .flatMap((d) => policyStatements(d.policy))
    .some(usesOrganisationCondition)
    ? await organisationOf(run)
    : undefined
  const exposure = analyseExposure(exposureInputs, {
    account: target.account,
    ...(organisation ? { organisation } : {}),
  })
  // Qualifiers whose resource policy was not read may grant more: said with why, the summarised
  // qualifier's first, so exposure found elsewhere never reads as all there is.
  const unreadPolicies: UnreadPolicy[] = []
  const byFocus = [...qualifiers.values()].sort(
    (a, b) => Number(b.qualifier === focusName) - Number(a.qualifier === focusName),
  )
  for (const d of byFocus) {
    if (!d.policyGap) continue
    const same = unreadPolicies.find((x) => x.reason === d.policyGap?.reason)
    if (same) same.qualifiers.push(d.qualifier)
    else unreadPolicies.push({ reason: d.policyGap.reason, qualifiers: [d.qualifier] })
  }
  const policyFiles = [...qualifiers.values()]
    .flatMap((d) => [d.policyFile ?? '', d.urlFile ?? ''])
    .filter(Boolean)
  for (const e of exposure) {
    run.addFinding({
      kind:
        e.kind === 'function-url'
          ? 'public-url'
          : e.kind === 'resource-policy'
            ? 'public-statement'
            : 'unscoped-service-statement',
      level: e.level,
      title: `${name}: ${e.summary}`,
      target: arn,
      key: e.url ?? JSON.stringify([e.sid, e.principal, e.actions]),
      detail: { ...e },
      evidence: policyFiles,
    })
  }

  // One integrity finding per (reported, received) pair, naming every qualifier that shows it.
  const mismatches = new Map<
    string,
    { pkg: StoredPackage; qualifiers: string[]; files: string[]; reported?: string }
  >()
  for (const d of qualifiers.values()) {
    const c = d.code
    if (c?.check !== 'mismatch') continue
    const k = `${c.expectedSha256}\u0000${c.actualSha256}`
    const hit = mismatches.get(k)
    if (hit) {
      hit.qualifiers.push(d.qualifier)
      if (d.fnFile) hit.files.push(d.fnFile)
    } else {
      mismatches.set(k, {
        pkg: c,
        qualifiers: [d.qualifier],
        files: [d.fnFile ?? '', c.change?.file ?? '', c.file ?? ''].filter(Boolean),
        // Checked against the CodeSha256 of the GetFunction that gave the location downloaded.
        ...((c.change?.to ?? d.fn?.Configuration?.CodeSha256)
          ? { reported: c.change?.to ?? d.fn?.Configuration?.CodeSha256 }
          : {}),
      })
    }
  }
  for (const [k, m] of mismatches) {
    run.addFinding({
      kind: 'code-integrity',
      level: 'high',
      title: `The package downloaded for ${name} (${m.qualifiers.join(', ')}) does not match its CodeSha256: ${m.pkg.expectedSha256?.slice(0, 12) ?? 'malformed'}… reported, ${m.pkg.actualSha256?.slice(0, 12)}… received`,
      target: arn,
      key: k,
      detail: {
        qualifiers: m.qualifiers,
        codeSha256: m.reported,
        expectedSha256: m.pkg.expectedSha256,
        actualSha256: m.pkg.actualSha256,
        file: m.pkg.file,
      },
      evidence: m.files,
    })
  }
  // The code changed while fir read it (a redeploy or an attacker's UpdateFunctionCode during the
  // incident): a fact of its own, one finding per change, naming every qualifier that saw it.
  const changes = new Map<
    string,
    {
      change: NonNullable<StoredPackage['change']>
      pkg: StoredPackage
      qualifiers: string[]
      files: string[]
    }
  >()
  for (const d of qualifiers.values()) {
    const change = d.code?.change
    if (!change) continue
    const k = `${change.from}\u0000${change.to}`
    const hit = changes.get(k)
    if (hit) hit.qualifiers.push(d.qualifier)
    else changes.set(k, { change, pkg: d.code!, qualifiers: [d.qualifier], files: [] })
    changes.get(k)!.files.push(d.fnFile ?? '', change.file ?? '', d.code!.file ?? '')
  }
  for (const [k, { change, pkg, qualifiers: qs, files }] of changes) {
    const kept =
      pkg.check === 'changed'
        ? `the package of ${change.to} is kept whole (it matches)`
        : `the package downloaded for ${change.to} does not match it (see the integrity finding)`
    run.addFinding({
      kind: 'code-changed',
      level: 'high',
      title: `The code of ${name} (${qs.join(', ')}) changed while fir read it: CodeSha256 ${change.from} became ${change.to}${change.at ? ` (GetFunction at ${change.at})` : ''}; ${kept}, the package of ${change.from} could not be read whole`,
      target: arn,
      key: k,
      detail: {
        qualifiers: qs,
        from: change.from,
        to: change.to,
        ...(change.at ? { at: change.at } : {}),
        ...(pkg.file ? { file: pkg.file } : {}),
      },
      evidence: files.filter(Boolean),
    })
  }
  const archives = new Map<string, { pkg: StoredPackage; qualifiers: string[] }>()
  for (const d of qualifiers.values()) {
    if (!d.code?.listing || !d.code.file) continue
    const hit = archives.get(d.code.file)
    if (hit) hit.qualifiers.push(d.qualifier)
    else archives.set(d.code.file, { pkg: d.code, qualifiers: [d.qualifier] })
  }
  for (const l of layers) {
    if (l.pkg?.listing && l.pkg.file && !archives.has(l.pkg.file))
      archives.set(l.pkg.file, { pkg: l.pkg, qualifiers: [l.summary.arn] })
  }
  for (const [file, { pkg, qualifiers: qs }] of archives) {
    for (const f of archiveFindings(file, name, pkg.listing?.problems ?? [])) {
      run.addFinding({
        kind: 'hostile-archive',
        level: f.level,
        title: f.title,
        target: arn,
        key: `${file}\u0000${f.problem}`,
        detail: {
          archive: file,
          problem: f.problem,
          qualifiers: qs,
          problems: f.problems.slice(0, 50),
          count: f.problems.length,
        },
        evidence: [file, pkg.listingFile ?? ''].filter(Boolean),
      })
    }
  }

  const coverage = invokeCoverage(await regionCov, arn)
  if (coverage.lambdaDataEvents === 'not-recorded') {
    run.addFinding({
      kind: 'trail-coverage',
      level: 'low',
      title: `No logging trail records Invoke (Lambda data events) of ${name}: who invoked it cannot be shown`,
      target: arn,
      key: 'no-data-events',
      detail: { region },
      evidence: (await regionCov).files,
    })
  }

  const versionSummaries: VersionSummary[] = versions.map((v) => {
    const d = qualifiers.get(v)
    const c = d?.fn?.Configuration ?? versionConfigs.get(v)
    return {
      version: v,
      ...(c?.CodeSha256 ? { codeSha256: c.CodeSha256 } : {}),
      ...(c?.LastModified ? { lastModified: c.LastModified } : {}),
      ...(c?.Description ? { description: c.Description } : {}),
      ...(c?.Role ? { role: c.Role } : {}),
      code: c?.PackageType === 'Image' ? 'image' : (d?.code?.check ?? 'not-downloaded'),
      ...(!d?.fn?.Configuration && c ? { configuration: 'version-list' as const } : {}),
    }
  })
  const aliasSummaries: AliasSummary[] = aliases.map((a) => ({
    name: a.Name ?? '',
    ...(a.FunctionVersion ? { version: a.FunctionVersion } : {}),
    ...(a.RoutingConfig?.AdditionalVersionWeights
      ? { routing: a.RoutingConfig.AdditionalVersionWeights }
      : {}),
    ...(a.Description ? { description: a.Description } : {}),
  }))
  // Every URL config, the summarised qualifier's first, then $LATEST's and the aliases' in listed
  // order: each alias's may have another AuthType than $LATEST's.
  const urls = new Map<string, UrlSummary>()
  const urlOrder = [
    ...new Set([focus?.qualifier ?? '$LATEST', '$LATEST', ...aliases.map((a) => a.Name ?? '')]),
  ]
  for (const q of urlOrder) {
    const config = qualifiers.get(q)?.url
    const u = config?.FunctionUrl
    if (!u) continue
    const hit = urls.get(u)
    if (hit) hit.qualifiers.push(q)
    else urls.set(u, { url: u, ...(config.AuthType ? { authType: config.AuthType } : {}), qualifiers: [q] })
  }
  const focusUrl = focus?.url?.FunctionUrl ? (urls.get(focus.url.FunctionUrl) ?? null) : null
  const reserved =
    concurrencyRes.status === 'stored' ? (concurrencyRes.value.ReservedConcurrentExecutions ?? null) : null
  const provisioned: ProvisionedConcurrencySummary[] | null =
    pcRes.status === 'stored'
      ? pcRes.pages
          .flatMap((p) => p.ProvisionedConcurrencyConfigs ?? [])
          .map((c) => ({
            qualifier: c.FunctionArn?.split(':')[7] ?? '?',
            ...(c.RequestedProvisionedConcurrentExecutions !== undefined
              ? { requested: c.RequestedProvisionedConcurrentExecutions }
              : {}),
            ...(c.AllocatedProvisionedConcurrentExecutions !== undefined
              ? { allocated: c.AllocatedProvisionedConcurrentExecutions }
              : {}),
            ...(c.AvailableProvisionedConcurrentExecutions !== undefined
              ? { available: c.AvailableProvisionedConcurrentExecutions }
              : {}),
            ...(c.Status ? { status: c.Status } : {}),
          }))
      : null
  return {
    name,
    arn,
    region,
    account: target.account,
    qualifier: focus?.qualifier ?? '$LATEST',
    ...(focusConfig?.Runtime ? { runtime: focusConfig.Runtime } : {}),
    ...(focusConfig?.PackageType ? { packageType: focusConfig.PackageType } : {}),
    ...(focusConfig?.LastModified ? { lastModified: focusConfig.LastModified } : {}),
    ...(focusConfig?.CodeSha256 ? { codeSha256: focusConfig.CodeSha256 } : {}),
    code: focusConfig?.PackageType === 'Image' ? 'image' : (focus?.code?.check ?? 'not-downloaded'),
    ...(focus?.code?.change
      ? {
          codeChange: {
            from: focus.code.change.from,
            to: focus.code.change.to,
            ...(focus.code.change.at ? { at: focus.code.change.at } : {}),
          },
        }
      : {}),
    ...(focus?.code?.file ? { codeFile: focus.code.file } : {}),
    ...(imageUri ? { imageUri } : {}),
    ...(imageDigest ? { imageDigest } : {}),
    images,
    ...(focusConfig?.Role ? { role: focusConfig.Role, roleName: roleNameOf(focusConfig.Role) } : {}),
    ...(focusConfig?.Description ? { description: focusConfig.Description } : {}),
    versions: versionSummaries,
    aliases: aliasSummaries,
    layers: layers.map((l) => ({ ...l.summary, qualifiers: layerQualifiers.get(l.summary.arn) ?? [] })),
    unreadConfigurations,
    url: focusUrl,
    urls: [...urls.values()],
    exposure,
    unreadPolicies,
    secrets: envScan.secrets,
    accessKeyIds: [...new Set(envScan.accessKeys.map((k) => k.accessKeyId))],
    environmentErrors,
    riskyPermissions: focusRole?.risky ?? [],
    reservedConcurrency: reserved,
    provisionedConcurrency: provisioned,
    eventSourceMappings: eventSources,
    logGroup: { name: logs.name, events: logs.events, truncated: logs.truncated, present: logs.present },
    trailCoverage: coverage,
    quarantined: [...roles.values()].some((r) => r.quarantinePolicy !== undefined),
    gaps: [...gaps, ...[...roles.values()].flatMap((r) => r.gaps)],
  }
}

/**
 * The package of one qualifier: a fresh location (refetched when older than 5 min or refused), each
 * with the CodeSha256 of the GetFunction that gave it, so a location for code that changed meanwhile
 * is never resumed into and its bytes are checked against their own CodeSha256.
 */
function packageOf(
  run: SnapshotRun,
  target: SnapshotTarget,
  arn: string,
  qualifier: string,
  fn: GetFunctionCommandOutput,
  fetchedAt: number,
  gaps: Gap[],
): Promise<StoredPackage | undefined> {
  const config = fn.Configuration
  if (config?.PackageType === 'Image' || fn.Code?.RepositoryType === 'ECR') return Promise.resolve(undefined)
  let refetches = 0
  return storePackage(run, {
    kind: 'code',
    aws: target.aws,
    codeSha256: config?.CodeSha256,
    label: `${target.name}:${qualifier}`,
    call: 'lambda:GetFunction',
    sink: gaps,
    location: async (attempt) => {
      const location = fn.Code?.Location
      if (attempt === 0 && location && Date.now() - fetchedAt < LOCATION_FRESH_MS)
        return { url: location, ...(config?.CodeSha256 ? { object: config.CodeSha256 } : {}) }
      // The presigned location expired (or was refused): ask Lambda for a new one.
      refetches++
      const r: Fetched<GetFunctionCommandOutput> = await run.rec.one(
        {
          call: 'lambda:GetFunction',
          target: arn,
          what: `fresh code location of ${target.name}:${qualifier}`,
          file: `${target.dir}/get-function.${safeSegment(qualifier)}.refetch-${refetches}.json`,
          region: target.region,
          paced: true,
          sink: gaps,
        },
        () => getFunction(target.aws, target.name, qualifier),
      )
      const at = run.ctx.clock.now().toISOString()
      if (r.status !== 'stored' || !r.value.Code?.Location)
        throw new Error('Lambda returned no Code.Location')
      const object = r.value.Configuration?.CodeSha256
      return { url: r.value.Code.Location, ...(object ? { object } : {}), at, file: r.file }
    },
  })
}

interface LayerResult {
  /** Without qualifiers: a layer version is collected once per run, for every function using it. */
  summary: Omit<LayerSummary, 'qualifiers'>
  pkg?: StoredPackage
}

/** GetLayerVersion and the layer's content (streamed, hashed, resumable), once per version ARN. */
function collectLayer(run: SnapshotRun, layerVersionArn: string, sink: Gap[]): Promise<LayerResult> {
  return run.cache<LayerResult>('layers').get(layerVersionArn, async () => {
    const m = layerVersionArn.match(/^(arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):layer:([^:]+)):(\d+)$/)
    if (!m) {
      run.rec.gap(
        {
          what: `layer ${layerVersionArn}`,
          call: 'lambda:GetLayerVersion',
          reason: 'other: not a layer version ARN',
        },
        sink,
      )
      return { summary: { arn: layerVersionArn, code: 'not-downloaded' } }
    }
    const [, layerArn, layerRegion, layerAccount, layerName, version] = m
    const client = run.clients(layerRegion!)
    // A layer version is its ARN's: the same name and version in another region or account is another.
    const dir = `layers/${safeSegment(layerAccount!)}/${layerRegion}/${safeSegment(layerName!)}/${version}`
    const r = await run.rec.one(
      {
        call: 'lambda:GetLayerVersion',
        target: layerVersionArn,
        what: `layer ${layerName}:${version} (${layerRegion}, account ${layerAccount})`,
        file: `${dir}/get-layer-version.json`,
        region: layerRegion,
        paced: true,
        sink,
      },
      // A name works in the caller's own account; another account's layer is named by its ARN.
      () =>
        getLayerVersion(client, (sameAccount(run, layerAccount!) ? layerName : layerArn)!, Number(version)),
    )
    if (r.status !== 'stored') return { summary: { arn: layerVersionArn, code: 'not-downloaded' } }
    const content = r.value.Content
    const base: LayerResult['summary'] = {
      arn: layerVersionArn,
      ...(content?.CodeSha256 ? { codeSha256: content.CodeSha256 } : {}),
      ...(content?.CodeSize !== undefined ? { codeSize: content.CodeSize } : {}),
      code: 'not-downloaded',
    }
    const location = content?.Location
    if (!location || !/^https?:\/\//.test(location)) {
      run.rec.gap(
        {
          what: `layer content of ${layerVersionArn}`,
          call: 'lambda:GetLayerVersion',
          reason: `unavailable: Content.Location is ${JSON.stringify(location ?? null)}, not a downloadable URL`,
        },
        sink,
      )
      return { summary: base }
    }
    let refetched = 0
    const pkg = await storePackage(run, {
      kind: 'layers',
      aws: client,
      codeSha256: content?.CodeSha256,
      label: layerVersionArn,
      call: 'lambda:GetLayerVersion',
      sink,
      location: async (attempt) => {
        if (attempt === 0)
          return { url: location, ...(content?.CodeSha256 ? { object: content.CodeSha256 } : {}) }
        refetched++
        const again = await run.rec.one(
          {
            call: 'lambda:GetLayerVersion',
            target: layerVersionArn,
            what: `fresh content location of layer ${layerName}:${version} (${layerRegion}, account ${layerAccount})`,
            file: `${dir}/get-layer-version.refetch-${refetched}.json`,
            region: layerRegion,
            paced: true,
            sink,
          },
          () =>
            getLayerVersion(
              client,
              (sameAccount(run, layerAccount!) ? layerName : layerArn)!,
              Number(version),
            ),
        )
        const at = run.ctx.clock.now().toISOString()
        const fresh =
          again.status === 'stored' ? (again.value as GetLayerVersionCommandOutput).Content : undefined
        if (again.status !== 'stored' || !fresh?.Location)
          throw new Error('Lambda returned no Content.Location')
        // A layer version cannot change; should a location come for other content all the same,
        // it is a download of its own, never resumed into, and said below.
        return {
          url: fresh.Location,
          ...(fresh.CodeSha256 ? { object: fresh.CodeSha256 } : {}),
          at,
          file: again.file,
        }
      },
    })
    if (pkg.change) {
      run.addFinding({
        kind: 'code-changed',
        level: 'high',
        title: `The content of layer ${layerName}:${version} changed while fir read it: CodeSha256 ${pkg.change.from} became ${pkg.change.to}${pkg.change.at ? ` (GetLayerVersion at ${pkg.change.at})` : ''}; the content of ${pkg.change.to} is kept, that of ${pkg.change.from} could not be read whole`,
        target: layerVersionArn,
        key: `${pkg.change.from}\u0000${pkg.change.to}`,
        detail: {
          layer: layerVersionArn,
          from: pkg.change.from,
          to: pkg.change.to,
          ...(pkg.change.at ? { at: pkg.change.at } : {}),
          file: pkg.file,
        },
        evidence: [r.file, pkg.change.file ?? '', pkg.file ?? ''].filter(Boolean),
      })
    }
    if (pkg.check === 'mismatch') {
      run.addFinding({
        kind: 'code-integrity',
        level: 'high',
        title: `The content downloaded for layer ${layerName}:${version} does not match its CodeSha256`,
        target: layerVersionArn,
        key: `${pkg.expectedSha256}\u0000${pkg.actualSha256}`,
        detail: {
          layer: layerVersionArn,
          expectedSha256: pkg.expectedSha256,
          actualSha256: pkg.actualSha256,
          file: pkg.file,
        },
        evidence: [r.file, pkg.file ?? ''].filter(Boolean),
      })
    }
    return { summary: { ...base, code: pkg.check, ...(pkg.file ? { file: pkg.file } : {}) }, pkg }
  })
}

function sameAccount(run: SnapshotRun, account: string): boolean {
  return run.callerAccount === account
}

/** What ECR said of an image digest: whether it holds it (null: not read, a gap says why). */
interface ImageRead {
  inEcr: boolean | null
  /** The stored BatchGetImage answer. */
  file?: string
  /** ECR's failures, when it does not hold the image. */
  why?: string
}

/**
 * The image manifest (ECR BatchGetImage) of an image function's resolved digest, once per digest.
 * ECR answering ImageNotFound, or RepositoryNotFoundException (the repository was deleted, and the
 * image with it), is a fact; any other failure is a gap.
 */
function collectImage(run: SnapshotRun, imageUri: string, digest: string, sink: Gap[]): Promise<ImageRead> {
  return run.cache<ImageRead>('images').get(digest, async () => {
    const parsed = parseEcrImageUri(imageUri)
    if (!parsed) {
      run.rec.gap(
        {
          what: `image manifest of ${imageUri}`,
          call: 'ecr:BatchGetImage',
          reason: 'other: not an ECR image URI',
        },
        sink,
      )
      return { inEcr: null }
    }
    const r = await run.rec.one(
      {
        call: 'ecr:BatchGetImage',
        target: `${imageUri}@${digest}`,
        what: `image manifest of ${parsed.repository}@${digest}`,
        file: `images/${safeSegment(parsed.registryId)}/${safeSegment(parsed.repository)}/${safeSegment(digest)}.batch-get-image.json`,
        region: parsed.region,
        // ECR answers a repository that is gone with RepositoryNotFoundException (not-found).
        absentOk: true,
        sink,
      },
      () => batchGetImage(run.clients(parsed.region), parsed.registryId, parsed.repository, digest),
    )
    if (r.status === 'absent') return { inEcr: false, why: r.reason.replace(/^not-found: /, '') }
    if (r.status !== 'stored') return { inEcr: null }
    if ((r.value.images ?? []).length > 0) return { inEcr: true, file: r.file }
    const failures = r.value.failures ?? []
    const why = failures.map((f) => `${f.failureCode}: ${f.failureReason}`).join('; ') || 'no image returned'
    if (failures.length > 0 && failures.every((f) => f.failureCode === 'ImageNotFound'))
      return { inEcr: false, file: r.file, why }
    run.rec.gap(
      {
        what: `image manifest of ${parsed.repository}@${digest}`,
        call: 'ecr:BatchGetImage',
        reason: `other: ${why}`,
      },
      sink,
    )
    return { inEcr: null, file: r.file }
  })
}

/** The organisation of the caller's account: asked once per run, its answer stored as evidence. */
function organisationOf(run: SnapshotRun): Promise<AccountOrganisation> {
  return run.cache<AccountOrganisation>('organisation').get('', async () => {
    const r = await run.rec.one(
      {
        call: 'organizations:DescribeOrganization',
        target: run.callerAccount,
        what: `organisation of account ${run.callerAccount} (to check aws:PrincipalOrgID conditions)`,
        file: 'caller/describe-organization.json',
        absentOk: true,
      },
      () => describeOrganization(run.ctx.aws),
    )
    if (r.status === 'stored') return organisationFrom(r.value)
    return r.status === 'absent' ? { state: 'none' } : { state: 'unknown', reason: r.gap.reason }
  })
}
