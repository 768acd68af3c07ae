import { basename } from 'node:path'
import { EVIDENCE_DIR, safeSegment } from '../case/evidence-store.js'
import { type EnvironmentIndex, registerCaseSecrets } from '../case/secrets.js'
import { readEarlierTimelines } from '../case/summary.js'
import { verifyCase } from '../case/verify.js'
import { base64Sha256ToHex } from '../common/hash.js'
import { deepMapStrings, redactor, redactValue } from '../common/redact.js'
import { counted, escapeTerminal, firstFew } from '../common/text.js'
import { keySightings, type SightedFunction } from '../credentials/key-sightings.js'
import { revokePolicyName } from '../credentials/revoke-policy.js'
import { noneUrlShortOf } from '../snapshot/exposure.js'
import { isConfigurationGap, unknownFromGaps } from '../snapshot/gap-text.js'
import { foreignLayerPublisher } from '../snapshot/layers.js'
import { environmentUnknown } from '../snapshot/secrets.js'
import { unknownChanges } from '../steps/registry.js'
import { readRecordedSweeps } from '../sweep/recorded.js'
import { drillOf } from '../tabletop/safety.js'
import {
  environmentKeyIds,
  environmentSecretsOf,
  handledKeySecrets,
  type KeySecret,
  limitsOf,
  recommend,
} from './advice.js'
import { buildChart } from './chart.js'
import {
  asArray,
  asRecord,
  asString,
  bytesDisplay,
  compactValue,
  countRows,
  isoOrNull,
  itemName,
  levelLabel,
  levelRank,
  normaliseLevel,
  truncate,
  utcDisplay,
  utcDisplayOrNull,
} from './format.js'
import {
  type ExposureItem,
  type FunctionExposure,
  type KeyFate,
  MAPPING_RUNS,
  type RenderingRun,
  sameWay,
  splitMeasureKey,
  userAtHost,
  viewJournal,
} from './journal-view.js'
import {
  type ConflictingRecords,
  type EvidenceSetView,
  type FindingView,
  type FunctionFacts,
  type GapView,
  type IntegrityView,
  LEVELS,
  type ManifestRow,
  REPORT_SCHEMA,
  type RecommendationView,
  type ReportModel,
  type ResponseStatus,
  type RoleFacts,
} from './model.js'
import { EVENTS_FILE, notAsRecorded, readCase, TIMELINE_FINDINGS_FILE } from './read-case.js'
import {
  describeRoles,
  isRoleTarget,
  type RoleWhy,
  roleAccountOf,
  roleKey,
  rolesInEvidence,
  roleWithWhy,
  snapshottedRoles,
  swapImpact,
} from './roles.js'
import { reportSweeps } from './sweeps.js'
import { type AccessOpened, functionRef, isFunction, scanTimeline } from './timeline-scan.js'

export interface BuildReportOptions {
  /** Key events shown inline (default 200); the rest are counted and left in timeline/events.jsonl. */
  keyEventLimit?: number
  /** Manifest lines shown per evidence set (default 300); the full manifest stays in the case. */
  manifestFileLimit?: number
  /** Matches shown per sweep (default 100); every match stays in the sweep's file. */
  sweepMatchLimit?: number
  /** Re-hash the case like `fir case verify` and show the result (default true). */
  verify?: boolean
  /** The fir version shown as the report's generator. */
  firVersion?: string
  now?: Date
  /**
   * The playbook run and step rendering this report (set by the `report.render` action), so the
   * report says that run is running rather than stopped.
   */
  renderedBy?: RenderingRun
}

/** The roles `$LATEST` runs with now first, then by name. */
function byRoleOrder(a: RoleFacts, b: RoleFacts): number {
  return Number(b.current) - Number(a.current) || a.name.localeCompare(b.name)
}

/** `api: 180 events kept`, `s3://bucket/prefix: 60 of 200 events kept` (a string source as it is). */
function sourceText(v: unknown): string {
  if (typeof v === 'string') return v
  const r = asRecord(v)
  const name = asString(r.name) ?? itemName(v)
  const kept = Number(r.kept)
  const events = Number(r.events)
  if (!Number.isFinite(kept)) return name
  return `${name}: ${Number.isFinite(events) && events !== kept ? `${kept} of ${events}` : kept} events kept`
}

function sourceKind(v: unknown): string {
  const kind = asString(asRecord(v).kind)
  if (kind) return kind
  const s = typeof v === 'string' ? v : (asString(asRecord(v).name) ?? '')
  return s === 'api' ? 'api' : s.startsWith('s3://') ? 's3' : 'file'
}

/**
 * The ways in the timeline shows the attacker opened, for functions no snapshot covers: each a
 * public way in (the event, when), so the status counts the function until a measure closes it.
 */
function timelineExposures(
  opened: readonly AccessOpened[],
  snapshotted: readonly FunctionExposure[],
): FunctionExposure[] {
  const out = new Map<string, FunctionExposure>()
  for (const o of opened) {
    const ref = functionRef(o.functionName, o.region)
    const { name, region } = ref
    if (!name || snapshotted.some((f) => isFunction(f, ref))) continue
    // A function of a snapshotted one's name in another region is named with its region.
    const label = snapshotted.some((f) => f.name === name) && region ? `${name} (${region})` : name
    const f = out.get(`${name}|${region}`) ?? {
      arn: '',
      name,
      ...(region ? { region } : {}),
      label,
      items: [],
    }
    const what =
      o.kind === 'function-url'
        ? `function URL opened to anyone by ${o.eventName} at ${utcDisplay(o.time)} (timeline; not snapshotted)`
        : `public statement added by ${o.eventName} at ${utcDisplay(o.time)} (timeline; not snapshotted)`
    if (!f.items.some((i) => i.kind === o.kind)) f.items.push({ kind: o.kind, what, public: true })
    out.set(`${name}|${region}`, f)
  }
  return [...out.values()]
}

const CODE_CHECK_TEXT: Record<string, string> = {
  match: 'downloaded, matches CodeSha256',
  mismatch: 'MISMATCH: the downloaded bytes differ from CodeSha256',
  changed: 'CODE CHANGED while fir read it: the package of the new code was downloaded and matches it',
  'not-downloaded': 'not downloaded',
  image: 'container image',
}

function codeCheckText(value: unknown): string | null {
  const v = asString(value)
  return v ? (CODE_CHECK_TEXT[v] ?? v) : null
}

/** A gap as recorded in a snapshot summary (DESIGN: `{what, call, reason}`). */
interface GapRecord {
  what: string
  call: string
  reason: string
}

function gapRecords(value: unknown): GapRecord[] {
  return asArray(value).map((g) => {
    const r = asRecord(g)
    return {
      what: asString(r.what) ?? (typeof g === 'string' ? g : ''),
      call: asString(r.call) ?? '',
      reason: asString(r.reason) ?? '',
    }
  })
}

/** `unknown: denied: AccessDeniedException: … (lambda:ListAliases)` for the first gap that matches. */
function unknownText(gaps: GapRecord[], match: (g: GapRecord) => boolean): string | null {
  return unknownFromGaps(gaps.filter(match))
}

/**
 * `3 (code MISMATCH)` for a version whose package did not match, `2 (configuration from the version
 * list; code not read)` for one GetFunction failed for; an object's name otherwise.
 */
function versionText(v: unknown): string {
  const r = asRecord(v)
  const version = asString(r.version)
  if (!version) return itemName(v)
  if (asString(r.configuration) === 'version-list')
    return `${version} (configuration from the version list; code not read)`
  const code = asString(r.code)
  return code === 'mismatch'
    ? `${version} (code MISMATCH)`
    : code === 'changed'
      ? `${version} (code CHANGED while read)`
      : version
}

/** `live → 3`, `live → 3 (routing: 4 10%)`, with the alias description when it has one. */
function aliasText(v: unknown): string {
  const r = asRecord(v)
  const name = asString(r.name)
  if (!name) return itemName(v)
  const version = asString(r.version)
  const routing = Object.entries(asRecord(r.routing))
    .map(
      ([ver, w]) =>
        `${ver} ${Number.isFinite(Number(w)) ? `${Math.round(Number(w) * 1000) / 10}%` : String(w)}`,
    )
    .join(', ')
  const description = asString(r.description)
  return `${name}${version ? ` → ${version}` : ''}${routing ? ` (routing: ${routing})` : ''}${description ? ` — ${truncate(description, 120)}` : ''}`
}

function layerText(v: unknown, gaps: GapRecord[]): string {
  const r = asRecord(v)
  const arn = asString(r.arn)
  if (!arn) return itemName(v)
  const code = asString(r.code)
  // The qualifiers that run the layer (older summaries do not name them).
  const quals = asArray(r.qualifiers).map(String)
  const where = quals.length ? `; ${quals.join(', ')}` : ''
  if (code === 'not-downloaded') {
    // Say why the content is missing when the snapshot recorded it.
    const gap = gaps.find((g) => g.what.includes(arn) && g.reason)
    return `${arn} (content not downloaded${gap ? `: ${truncate(gap.reason, 160)}` : ''}${where})`
  }
  const check = codeCheckText(code)
  return check ? `${arn} (${check}${where})` : quals.length ? `${arn} (${quals.join(', ')})` : arn
}

function urlText(v: unknown): string | null {
  if (v === null || v === undefined) return null
  const r = asRecord(v)
  const url = asString(r.url)
  if (!url) return itemName(v) || null
  const quals = asArray(r.qualifiers).map(String)
  return `${url} (AuthType ${asString(r.authType) ?? '?'}${quals.length ? `; ${quals.join(', ')}` : ''})`
}

/** `10 on live (READY; 10 allocated)`: one provisioned concurrency config. */
function provisionedText(v: unknown): string {
  const r = asRecord(v)
  const qualifier = asString(r.qualifier)
  if (!qualifier) return itemName(v)
  const said = [
    asString(r.status),
    typeof r.allocated === 'number' ? `${r.allocated} allocated` : undefined,
  ].filter(Boolean)
  return `${typeof r.requested === 'number' ? r.requested : '?'} on ${qualifier}${said.length ? ` (${said.join('; ')})` : ''}`
}

function exposureText(v: unknown): string {
  const r = asRecord(v)
  return asString(r.summary) ?? itemName(v)
}

/**
 * A function URL with AuthType NONE in words, from the public grants its snapshot saw (what it
 * lacks to answer anyone: noneUrlShortOf, as the snapshot's summary says it). An older summary
 * without the grants is taken as open.
 */
function urlWayText(grants: unknown): string {
  const short = grants === undefined || grants === null ? null : noneUrlShortOf(asRecord(grants))
  return short === null
    ? 'function URL open to anyone (AuthType NONE)'
    : `function URL with AuthType NONE; ${short}`
}

/**
 * The ways into a function one snapshot entry shows: public URL, policy statements, event sources,
 * the exposure first and in its order; each with what names it in a containment step's state.
 */
function waysInto(entry: Record<string, unknown>): ExposureItem[] {
  const items: ExposureItem[] = asArray(entry.exposure).map((x) => {
    const r = asRecord(x)
    const kind = asString(r.kind) ?? ''
    const sid = asString(r.sid) ?? '(no Sid)'
    const qualifiers = asArray(r.qualifiers).map(String)
    const url = asString(r.url)
    const ref = {
      ...(asString(r.sid) !== null ? { sid } : {}),
      ...(qualifiers.length ? { qualifiers } : {}),
      ...(url ? { url } : {}),
    }
    if (kind === 'function-url') return { kind, what: urlWayText(r.grants), public: true, ref }
    if (kind === 'resource-policy')
      return {
        kind,
        what: `resource-policy statement ${sid} open to everyone or another account`,
        public: true,
        ref,
      }
    return { kind, what: `resource-policy statement ${sid}: ${exposureText(x)}`, public: false, ref }
  })
  for (const m of asArray(entry.eventSourceMappings)) {
    const r = asRecord(m)
    if (!MAPPING_RUNS.has(asString(r.state) ?? '')) continue
    const uuid = asString(r.uuid)
    const source = asString(r.source) ?? uuid ?? 'unknown source'
    const on = asString(r.qualifier) ? ` (on ${asString(r.qualifier)})` : ''
    items.push({
      kind: 'event-source',
      what: `event source ${source}${on} enabled`,
      public: false,
      ...(uuid ? { ref: { uuid } } : {}),
    })
  }
  return items
}

const LOG_CALL = /^logs:/
const TRAIL_CALL = /^cloudtrail:/

function functionFacts(
  entry: Record<string, unknown>,
  setName: string,
  summary: Record<string, unknown>,
  environments: EnvironmentIndex,
): FunctionFacts {
  const arn = asString(entry.arn) ?? ''
  const roleArn = asString(entry.role)
  const roleName = asString(entry.roleName) ?? (roleArn ? (roleArn.split('/').at(-1) ?? null) : null)
  const takenBy = asRecord(summary.takenBy)
  const logGroup = asRecord(entry.logGroup)
  const coverage = asRecord(entry.trailCoverage)
  const reserved = entry.reservedConcurrency
  const name = asString(entry.name) ?? (arn.split(':').at(6) || 'unnamed function')
  const region = asString(entry.region) ?? asString(summary.region) ?? ''
  const qualifier = asString(entry.qualifier) ?? '$LATEST'
  const gaps = gapRecords(entry.gaps)
  // Trail coverage is read once per region; its gaps may be recorded on the set, not the function.
  const setGaps = gapRecords(summary.gaps)
  const gapOf = (call: string | RegExp, pool = gaps) =>
    unknownText(pool, (g) => (typeof call === 'string' ? g.call === call : call.test(g.call)))

  const runtime = asString(entry.runtime)
  const packageType = asString(entry.packageType)
  const codeSha256 = asString(entry.codeSha256)
  const change = asRecord(entry.codeChange)
  const codeChange =
    asString(change.from) && asString(change.to)
      ? { from: asString(change.from)!, to: asString(change.to)!, at: asString(change.at) ?? null }
      : null
  const description = asString(entry.description)
  const lastModified = asString(entry.lastModified)
  // GetFunction of the snapshot's qualifier failed: nothing from its configuration is known.
  const configUnknown =
    unknownText(gaps, (g) => isConfigurationGap(g, qualifier)) ??
    (!runtime && !packageType && !codeSha256 && !roleArn ? gapOf('lambda:GetFunction') : null)
  // The function's folder: `<name>`, `<name>@<region>` when the name is in several regions,
  // `<name>@<region>@<qualifier>` when the set holds it at several qualifiers.
  const envFile = [`${name}@${region}@${qualifier}`, `${name}@${region}`, name]
    .map((n) => `${setName}/functions/${safeSegment(n)}/get-function.${safeSegment(qualifier)}.json`)
    .map((k) => environments.get(k))
    .find(Boolean)
  // Environments of other qualifiers the snapshot did not read (Lambda could not decrypt them, or
  // neither GetFunction nor the version list returned them): their secrets are unknown too.
  const othersUnknown = asArray(entry.environmentErrors)
    .map(asRecord)
    .map((x) => ({
      error: asString(x.error) ?? 'not read',
      qualifiers: asArray(x.qualifiers)
        .map(String)
        .filter((q) => q !== qualifier),
    }))
    .filter((x) => x.qualifiers.length > 0)
    .map((x) => `; ${environmentUnknown(x.error)} for ${x.qualifiers.join(', ')}`)
    .join('')
  const envAbsent = (): string =>
    configUnknown ??
    `${
      envFile?.error
        ? environmentUnknown(envFile.error)
        : envFile
          ? envFile.variables === 0
            ? 'none: the function has no environment variables'
            : `none found in the environment (${counted(envFile.variables, 'variable')} checked)`
          : 'none found in the environment'
    }${othersUnknown}`

  const versions = asArray(entry.versions).map(versionText)
  const aliases = asArray(entry.aliases).map(aliasText)
  const layers = asArray(entry.layers).map((l) => layerText(l, gaps))
  // A qualifier whose configuration was not read runs layers nobody knows (a backdoored layer may
  // sit on one version only): said, with those qualifiers and why, never left out as "none".
  for (const u of asArray(entry.unreadConfigurations).map(asRecord)) {
    const quals = asArray(u.qualifiers).map(String)
    if (quals.length === 0) continue
    layers.push(
      `unknown on ${firstFew(quals)}: configuration not read (${truncate(asString(u.reason) ?? 'no reason recorded', 200)})`,
    )
  }
  const url = urlText(entry.url)
  // Every URL config, the summarised qualifier's first (older summaries hold only `url`).
  const urls = Array.isArray(entry.urls)
    ? entry.urls.map(urlText).filter((u): u is string => u !== null)
    : url
      ? [url]
      : []
  const exposure = asArray(entry.exposure).map(exposureText)
  const secrets = asArray(entry.secrets).map((s) => {
    if (typeof s === 'string') return s
    const r = asRecord(s)
    // Only the name, the redacted form and the kind are shown, whatever else the entry holds.
    const redacted = asString(r.redacted)
    const shown = redacted?.startsWith('‹redacted')
      ? redacted
      : redacted
        ? redactValue(redacted)
        : '‹redacted›'
    return `${asString(r.name) ?? '?'} = ${shown}${asString(r.kind) ? ` (${asString(r.kind)})` : ''}`
  })
  const accessKeyIds = asArray(entry.accessKeyIds).map((k) => String(k))
  const eventSourceMappings = asArray(entry.eventSourceMappings).map((m) => {
    const r = asRecord(m)
    const source = asString(r.source) ?? asString(r.uuid) ?? itemName(m)
    const said = [asString(r.state), asString(r.qualifier) ? `on ${asString(r.qualifier)}` : undefined]
      .filter(Boolean)
      .join(', ')
    return said ? `${source} (${said})` : source
  })
  // A failed GetFunctionConcurrency is recorded as null too: only the gap tells it from "unreserved".
  const concurrencyUnknown = gapOf('lambda:GetFunctionConcurrency')
  const reservedConcurrency = concurrencyUnknown
    ? null
    : reserved === undefined
      ? null
      : reserved === null
        ? 'none (unreserved)'
        : String(reserved)
  const provisionedConcurrency = asArray(entry.provisionedConcurrency).map(provisionedText)
  const logName = asString(logGroup.name)
  const logGroupText = logName
    ? logGroup.present === false
      ? `${logName}: MISSING (deleted, or never created)`
      : logGroup.present === true || logGroup.present === undefined
        ? `${logName}: ${Number(logGroup.events) || 0} event(s) collected${logGroup.truncated ? ' (truncated)' : ''}`
        : null
    : null
  const lambdaDataEvents = asString(coverage.lambdaDataEvents)
  const trails = asArray(coverage.trails).map(String)
  const trailCoverage =
    lambdaDataEvents && lambdaDataEvents !== 'unknown'
      ? `Lambda data events (Invoke): ${lambdaDataEvents.replace('-', ' ')}${trails.length ? ` (trails: ${trails.join(', ')})` : ''}`
      : null
  // The qualifiers whose resource policy the snapshot could not read, with why (older summaries
  // hold only the gaps): exposure there is unknown, whatever was found elsewhere.
  const policiesUnread = asArray(entry.unreadPolicies)
    .map(asRecord)
    .map((u) => ({ quals: asArray(u.qualifiers).map(String), reason: asString(u.reason) }))
    .filter((u) => u.quals.length > 0)
    .map(
      (u) =>
        `unknown on ${firstFew(u.quals)}: resource policy not read (${truncate(u.reason ?? 'no reason recorded', 200)})`,
    )
  const exposureUnknown =
    (policiesUnread.length > 0 ? policiesUnread.join('; ') : null) ??
    gapOf('lambda:GetPolicy') ??
    gapOf('lambda:GetFunctionUrlConfig') ??
    gapOf('lambda:ListFunctionUrlConfigs')

  const account = asString(entry.account) ?? asString(takenBy.account) ?? ''
  return {
    name,
    qualifier,
    label: name,
    arn,
    region,
    account,
    description,
    runtime,
    packageType,
    imageUri: asString(entry.imageUri),
    lastModified,
    lastModifiedDisplay: lastModified ? utcDisplay(lastModified) : null,
    codeSha256,
    codeSha256Hex: (() => {
      if (!codeSha256) return null
      return /^[0-9a-f]{64}$/i.test(codeSha256)
        ? codeSha256.toLowerCase()
        : (base64Sha256ToHex(codeSha256) ?? null)
    })(),
    codeChange,
    codeCheck: (() => {
      const check = codeCheckText(entry.code)
      if (codeChange) {
        const kept =
          entry.code === 'changed'
            ? `the package of ${codeChange.to} was downloaded and matches it`
            : `${check}: the package downloaded for ${codeChange.to} differs from it`
        return `${entry.code === 'changed' ? '' : `${kept}; `}CODE CHANGED while fir read it: CodeSha256 ${codeChange.from} became ${codeChange.to}${codeChange.at ? ` (${utcDisplay(codeChange.at)})` : ''}${entry.code === 'changed' ? `; ${kept}` : ''}; the package of ${codeChange.from} could not be read whole`
      }
      if (entry.code !== 'not-downloaded') return check
      const gap = gaps.find((g) => g.what === `code package of ${name}:${qualifier}` && g.reason)
      return gap ? `${check}: ${truncate(gap.reason, 200)}` : check
    })(),
    roleArn,
    roleName,
    versions,
    aliases,
    layers,
    foreignLayers: asArray(entry.layers)
      .map((l) => asString(asRecord(l).arn) ?? '')
      .filter((a) => foreignLayerPublisher(a, account)),
    url,
    urls,
    exposure,
    exposureUnknown:
      exposure.length === 0 || !exposureUnknown
        ? null
        : policiesUnread.length > 0
          ? exposureUnknown
          : `others ${exposureUnknown}`,
    secrets,
    accessKeyIds,
    earlierAccessKeyIds: [],
    reservedConcurrency,
    provisionedConcurrency,
    eventSourceMappings,
    logGroup: logGroupText,
    logGroupMissing: logGroup.present === false,
    trailCoverage,
    dataEventsRecorded:
      lambdaDataEvents === 'recorded' ? true : lambdaDataEvents === 'not-recorded' ? false : null,
    quarantined: entry.quarantined === true,
    evidenceSet: setName,
    takenAt: isoOrNull(summary.takenAt),
    takenBy: asString(takenBy.arn),
    absent: {
      description: description ? null : (configUnknown ?? 'none'),
      runtime: runtime
        ? null
        : (configUnknown ?? (packageType === 'Image' ? 'none (container image)' : 'not recorded')),
      lastModified: lastModified ? null : (configUnknown ?? 'not recorded'),
      codeSha256: codeSha256 ? null : (configUnknown ?? 'not recorded'),
      roleArn: roleArn ? null : (configUnknown ?? 'not recorded'),
      versions: versions.length
        ? null
        : (gapOf('lambda:ListVersionsByFunction') ?? 'none published ($LATEST only)'),
      aliases: aliases.length ? null : (gapOf('lambda:ListAliases') ?? 'none'),
      layers: layers.length ? null : (configUnknown ?? 'none'),
      url: urls.length
        ? null
        : (gapOf('lambda:GetFunctionUrlConfig') ?? gapOf('lambda:ListFunctionUrlConfigs') ?? 'none'),
      exposure: exposure.length
        ? null
        : exposureUnknown
          ? `none found in what was read; ${exposureUnknown}`
          : 'none found: no public function URL and no resource-policy statement for everyone or another account',
      secrets: secrets.length ? null : envAbsent(),
      accessKeyIds: accessKeyIds.length ? null : envAbsent(),
      reservedConcurrency: reservedConcurrency
        ? null
        : (concurrencyUnknown ?? 'not recorded by this snapshot'),
      provisionedConcurrency: provisionedConcurrency.length
        ? null
        : (gapOf('lambda:ListProvisionedConcurrencyConfigs') ??
          (Array.isArray(entry.provisionedConcurrency)
            ? 'none'
            : entry.provisionedConcurrency === null
              ? 'unknown: not read'
              : 'not recorded by this snapshot')),
      eventSourceMappings: eventSourceMappings.length
        ? null
        : (gapOf('lambda:ListEventSourceMappings') ?? 'none'),
      logGroup: logGroupText
        ? null
        : `${gapOf(LOG_CALL) ?? 'unknown: the snapshot did not record it'}${logName ? ` — ${logName}` : ''}`,
      trailCoverage: trailCoverage
        ? null
        : (gapOf(TRAIL_CALL) ??
          gapOf(TRAIL_CALL, setGaps) ??
          (lambdaDataEvents === 'unknown'
            ? 'unknown: the trails of the region could not be read'
            : 'unknown: the snapshot did not record it')),
    },
  }
}

function snapshotFinding(raw: unknown, takenAt: string | null): FindingView {
  const f = asRecord(raw)
  const level = normaliseLevel(f.level)
  const title = truncate(asString(f.title) ?? asString(f.kind) ?? 'untitled finding', 300)
  // The level is the group the finding is shown in, and a summary the title already says is noise.
  const detail =
    f.detail && typeof f.detail === 'object' && !Array.isArray(f.detail)
      ? Object.fromEntries(
          Object.entries(f.detail as Record<string, unknown>).filter(
            ([k, v]) => k !== 'level' && !(k === 'summary' && typeof v === 'string' && title.includes(v)),
          ),
        )
      : f.detail
  const detailText = detail === undefined || detail === null ? '' : compactValue(detail, 400)
  return {
    source: 'snapshot',
    level,
    title,
    kind: asString(f.kind) ?? 'finding',
    target: asString(f.target) || 'not recorded',
    detail: detailText === '' || detailText === 'none' ? 'no detail recorded' : detailText,
    count: 1,
    failed: 0,
    first: null,
    firstDisplay: null,
    last: null,
    lastDisplay: null,
    observedDisplay: takenAt ? `snapshot ${utcDisplay(takenAt)}` : 'snapshot (time not recorded)',
    references: asArray(f.evidence).map((e) => String(e)),
    tags: asArray(f.tags).map((t) => String(t)),
    roles: asString(f.target)?.includes(':role/') ? [asString(f.target)!] : [],
  }
}

/**
 * The timeline window in words. An open-ended window (no `--until`) ends when the timeline ran,
 * which is not when the report is built: that time comes from the timeline run itself — unless
 * the timeline holds events dated after the run (`future`), which an open window keeps.
 */
function windowView(
  since: string | null,
  until: string | null,
  startedAt: string | null,
  finishedAt: string | null,
  future: { count: number; last: string } | null,
): NonNullable<ReportModel['scope']['window']> {
  const ranAt = startedAt ?? finishedAt
  const ranAtDisplay = utcDisplayOrNull(ranAt)
  // A long run (an S3 trail over months) ends well after it started: say both.
  const longRun =
    startedAt && finishedAt && Date.parse(finishedAt) - Date.parse(startedAt) >= 60_000
      ? `, when the timeline started; it finished ${utcDisplay(finishedAt)}`
      : ', when the timeline ran'
  const from = since ? utcDisplay(since) : 'the earliest event in the sources'
  // CloudTrail records nothing ahead of time: such events are a wrong clock or forged.
  const futureText = future
    ? `${counted(future.count, 'event')} ${future.count === 1 ? 'is' : 'are'} dated after the timeline ran (${utcDisplay((finishedAt ?? startedAt)!)}), the latest ${utcDisplay(future.last)}: a wrong clock or a forged record`
    : ''
  const to = until
    ? `${utcDisplay(until)}${future ? ` (${futureText})` : ''}`
    : future
      ? `open-ended (no --until; ${futureText})`
      : ranAtDisplay
        ? `now (${ranAtDisplay}${longRun})`
        : 'now (open-ended; when the timeline ran is not recorded)'
  return {
    since,
    sinceDisplay: utcDisplayOrNull(since),
    until,
    untilDisplay: utcDisplayOrNull(until),
    ranAt,
    ranAtDisplay,
    text: !since && !until && !ranAtDisplay ? 'not recorded' : `${from} → ${to}`,
  }
}

/** EventIDs named in the text of conflicting records, at most. */
const CONFLICTING_IDS_SHOWN = 10

/**
 * Records that claim the eventID of another record with other content: the timeline run's count
 * and first ids (`events.conflicting`), with every such eventID the scan found. Null when none.
 */
function conflictingRecords(
  run: Record<string, unknown>,
  found: readonly { id: string; records: number }[],
): ConflictingRecords | null {
  const extra = found.reduce((n, x) => n + x.records - 1, 0)
  const count = Math.max(Number(run.count) || 0, extra)
  if (count === 0) return null
  const all = [...new Set([...found.map((x) => x.id), ...asArray(run.ids).map(String)])]
  const ids = all.slice(0, CONFLICTING_IDS_SHOWN)
  // The scan finds every one; without it (no events file) the run named its first few only, and
  // says there may be more as its warning did (more records than ids).
  const more = all.length > ids.length || (found.length === 0 && count > all.length)
  const one = count === 1
  return {
    count,
    ids,
    text: `${counted(count, 'record')} of the timeline ${one ? 'claims' : 'claim'} the eventID of another record but not its content (${ids.join(', ')}${more ? ', …' : ''}): CloudTrail records each event once, under one eventID, so a copy of a log was altered or a record forged. Every version is kept (marked in the key events) and its findings counted once; compare them in ${EVENTS_FILE} and in the sources they came from to find which copy was altered.`,
  }
}

/** The events dated after the timeline run ended, the time a run's events all precede. */
function eventsAfterRun(times: number[], ranUntil: string | null): { count: number; last: string } | null {
  const end = ranUntil ? Date.parse(ranUntil) : Number.NaN
  if (Number.isNaN(end)) return null
  let count = 0
  let last = end
  for (const t of times) {
    if (t <= end) continue
    count++
    if (t > last) last = t
  }
  return count ? { count, last: new Date(last).toISOString() } : null
}

function gapFrom(origin: string, g: unknown): GapView {
  if (typeof g === 'string')
    return { origin, what: truncate(g, 500), call: 'not recorded', reason: 'not recorded' }
  const r = asRecord(g)
  return {
    origin,
    what: truncate(asString(r.what) || compactValue(g, 200), 500),
    call: truncate(asString(r.call) || 'not recorded', 200),
    reason: truncate(asString(r.reason) || 'not recorded', 500),
  }
}

function manifestRows(files: unknown[], limit: number): ManifestRow[] {
  return files.slice(0, limit).map((f) => {
    const r = asRecord(f)
    const bytes = Number(r.bytes)
    const source = asRecord(r.source)
    return {
      path: asString(r.path) ?? '?',
      sha256: asString(r.sha256) ?? '',
      bytes: Number.isFinite(bytes) ? bytes : 0,
      bytesDisplay: bytesDisplay(bytes),
      source:
        [asString(source.call), asString(source.target)].filter(Boolean).join(' ') ||
        compactValue(r.source ?? null, 80),
    }
  })
}

/** Makes every string of the model safe to hand to a template: secrets scrubbed, control characters visible. */
export function sanitiseModel<T>(model: T): T {
  return deepMapStrings(redactor.scrubDeep(model), (s) => escapeTerminal(s, true)) as T
}

/**
 * Builds the report's view model from a case folder. Reads only (no lock needed); whatever the case
 * lacks becomes an honest empty section. Every string is redacted and made visible (control
 * characters escaped) before it is returned.
 */
export async function buildReportModel(
  caseDir: string,
  options: BuildReportOptions = {},
): Promise<ReportModel> {
  const now = options.now ?? new Date()
  const keyEventLimit = options.keyEventLimit ?? 200
  const manifestFileLimit = options.manifestFileLimit ?? 300
  const raw = await readCase(caseDir)
  const { environments, ignored } = await registerCaseSecrets(raw.dir, raw.sets, raw.journal)
  const problems = [...raw.problems, ...ignored]
  const unknown = unknownChanges(raw.journal)
  if (unknown.length > 0) {
    const list = unknown.map((r) => `${r.step} on ${r.target} (journal #${r.startedSeq})`).join(', ')
    problems.push(
      `the journal holds ${counted(unknown.length, 'change')} by a step this fir (${options.firVersion ?? 'unknown'}) does not have, made by a newer fir: ${list}. This report cannot say whether ${unknown.length === 1 ? 'it is' : 'they are'} in force, and its status leaves ${unknown.length === 1 ? 'it' : 'them'} out: make the report with the fir that made ${unknown.length === 1 ? 'it' : 'them'}`,
    )
  }

  // Functions: the latest snapshot of each function and qualifier wins.
  const byFunction = new Map<string, FunctionFacts>()
  // The ways into each function (all its qualifiers), for whether the case contains it.
  const waysIn = new Map<FunctionFacts, ExposureItem[]>()
  // Environment variables that hold the secret of an access key found next to it (the snapshot's
  // access-key-in-environment findings pair them: `secretIn`), by function ARN or name.
  const keySecrets: KeySecret[] = []
  const gaps: GapView[] = []
  // The access key ids each snapshot found, every set's (not only the newest of each function).
  const keysFound: { set: string; functions: SightedFunction[] }[] = []
  for (const set of raw.sets) {
    if (!set.summary) continue
    for (const g of asArray(set.summary.gaps)) gaps.push(gapFrom(`snapshot ${set.name}`, g))
    const found: SightedFunction[] = []
    keysFound.push({ set: set.name, functions: found })
    for (const entry of asArray(set.summary.functions)) {
      const e = asRecord(entry)
      const facts = functionFacts(e, set.name, set.summary, environments)
      byFunction.set(`${facts.arn || facts.name}|${facts.qualifier}`, facts)
      found.push({
        name: facts.name,
        arn: facts.arn,
        qualifier: facts.qualifier,
        accessKeyIds: facts.accessKeyIds,
      })
      waysIn.set(facts, waysInto(e))
      for (const g of asArray(e.gaps)) gaps.push(gapFrom(`snapshot ${facts.name}`, g))
    }
  }
  // Every role of each function (a role swapped since, a published version's), what the evidence
  // holds of each one's policies, and why it is there.
  const roleEvidence = rolesInEvidence(raw.sets)
  const recordedRoles = await snapshottedRoles(raw.dir, raw.sets, problems)
  const described = describeRoles(recordedRoles, [])
  const functions = [...byFunction.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.qualifier.localeCompare(b.qualifier),
  )
  // A key an earlier snapshot found in a function's environment is leaked still when the newest
  // one does not find it there (taken out, or not read): the same sightings as `fir creds keys`.
  for (const [accessKeyId, seen] of keySightings(keysFound))
    for (const x of seen) {
      const f = x.notFoundBy ? byFunction.get(`${x.arn || x.function}|${x.qualifier}`) : undefined
      if (f) f.earlierAccessKeyIds.push({ accessKeyId, set: x.set })
    }
  // A qualifier is named when it is not $LATEST, or when the function is here at several.
  const qualifiersOf = new Map<string, number>()
  for (const f of functions) qualifiersOf.set(f.arn || f.name, (qualifiersOf.get(f.arn || f.name) ?? 0) + 1)
  for (const f of functions)
    if (f.qualifier !== '$LATEST' || (qualifiersOf.get(f.arn || f.name) ?? 0) > 1)
      f.label = `${f.name}:${f.qualifier}`

  // One entry a function (its qualifiers' ways in together): containment acts on the function.
  const exposures = new Map<string, FunctionExposure>()
  for (const f of functions) {
    const id = f.arn || f.name
    const x = exposures.get(id) ?? { arn: f.arn, name: f.name, label: f.name, items: [] }
    for (const i of waysIn.get(f) ?? []) if (!x.items.some((y) => sameWay(y, i))) x.items.push(i)
    exposures.set(id, x)
  }
  const journalOptions = {
    ...(options.renderedBy ? { renderedBy: options.renderedBy } : {}),
    functions: [...exposures.values()],
    caseDir: raw.dir,
  }
  let journal = viewJournal(raw.journal, journalOptions)
  // Org sweeps: each file is read only when it is the one fir wrote (its journaled SHA-256).
  const recordedSweeps = await readRecordedSweeps(caseDir, raw.journal)
  for (const s of recordedSweeps) if (s.fileProblem) problems.push(s.fileProblem)
  // A role's session revocation is one policy, whichever function or command put it there: it is
  // revoked while the journal's view has that measure in force (a restore lifted it, a failed
  // restore did not, a restore that kept it for another function changed nothing).
  const revokedNow = (ofRole: (target: string) => boolean) =>
    [...journal.inForce].some((k) => {
      const { measure, target } = splitMeasureKey(k)
      return measure === 'containment.sessions' && ofRole(target)
    })
  // Each role's test, to say again once the timeline is read (a call may have undone a revocation).
  const roleTests = new Map<RoleFacts, (target: string) => boolean>()
  const roles: RoleFacts[] = []
  const roleByKey = new Map<string, RoleFacts>()
  const roleOf = (key: string, arn: string, name: string, users: FunctionFacts[] = []): RoleFacts => {
    // The role as roleKey keys it: a revocation of a same-named role of another account is not its.
    const bar = key.indexOf('|')
    const keyed = { account: key.slice(0, bar), name: key.slice(bar + 1) }
    const ofRole = (t: string) => isRoleTarget(t, keyed) || users.some((u) => t === u.arn || t === u.name)
    const evidence = roleEvidence.get(key)
    const policyGaps = [...(evidence?.policyGaps ?? [])]
    const role: RoleFacts = {
      arn,
      name,
      functions: [...new Set(users.map((u) => u.label))],
      why: [],
      current: users.some((u) => u.qualifier === '$LATEST'),
      riskyPermissions: [...(evidence?.permissions.values() ?? [])].sort(
        (a, b) =>
          (a.level ? levelRank(a.level) : 9) - (b.level ? levelRank(b.level) : 9) ||
          a.action.localeCompare(b.action),
      ),
      policyGaps,
      permissionsUnknown:
        evidence?.captured || policyGaps.length
          ? null
          : 'not captured in the evidence: no snapshot of this case read this role’s policies, so what it grants is unknown, not none',
      sessionsRevoked: revokedNow(ofRole),
    }
    roles.push(role)
    roleByKey.set(key, role)
    roleTests.set(role, ofRole)
    return role
  }
  /** Why each role is there, as `found` (describeRoles) says, the functions that run with it kept. */
  const explain = (role: RoleFacts, why: RoleWhy | undefined) => {
    if (!why) return
    role.why = [...why.why]
    role.current = why.current
    // A function already named by its qualifiers' labels (`f:$LATEST`, `f:live`) is named once.
    for (const f of why.functions)
      if (!role.functions.some((l) => l === f || l.startsWith(`${f}:`))) role.functions.push(f)
  }
  const roleKeys = new Set([
    ...[...roleEvidence].filter(([, e]) => e.focus).map(([k]) => k),
    ...described.roles.keys(),
  ])
  for (const key of roleKeys) {
    const evidence = roleEvidence.get(key)
    const found = described.roles.get(key)
    const users = functions.filter((f) => {
      const r = f.roleArn ?? f.roleName
      return r !== null && roleKey(r, f.account) === key
    })
    const arn = found?.arn ?? evidence?.arn ?? key
    const name = users[0]?.roleName ?? found?.name ?? evidence?.name ?? arn.split('/').at(-1) ?? arn
    explain(roleOf(key, arn, name, users), found)
  }
  roles.sort(byRoleOrder)

  // Snapshot findings, repeated snapshots counted once.
  const seen = new Set<string>()
  const snapshotFindings: FindingView[] = []
  for (const set of [...raw.sets].reverse()) {
    const takenAt = isoOrNull(set.summary?.takenAt) ?? isoOrNull(set.manifest?.sealed)
    for (const f of set.findings) {
      const r = asRecord(f)
      const detail = asRecord(r.detail)
      const variable = asString(detail.secretIn)
      const accessKeyId = asString(detail.accessKeyId)
      const target = asString(r.target) ?? ''
      const fn = functions.find((x) => x.arn === target || x.name === target)
      if (r.kind === 'access-key-in-environment' && variable && accessKeyId && fn) {
        const pair = { function: fn.name, arn: fn.arn, variable, accessKeyId }
        if (!keySecrets.some((k) => JSON.stringify(k) === JSON.stringify(pair))) keySecrets.push(pair)
      }
      const view = snapshotFinding(f, takenAt)
      const key = `${view.kind}|${view.target}|${view.title}|${view.detail}`
      if (seen.has(key)) continue
      seen.add(key)
      snapshotFindings.push(view)
    }
  }
  snapshotFindings.sort((a, b) => levelRank(a.level) - levelRank(b.level) || a.title.localeCompare(b.title))

  // timeline/summary.json, else what the timeline.collect journal entry says — of the run that
  // stored the timeline: a later run that could read nothing stored nothing (`stored: false`).
  const collected = [...raw.journal]
    .reverse()
    .find((e) => e.action === 'timeline.collect' && asRecord(e.params).stored !== false)
  const ts = raw.timelineSummary ?? asRecord(collected?.params)
  // The execution roles the timeline was collected for (`fir timeline <function> --role`) that no
  // snapshot in the case describes: their sessions are the function's all the same.
  const timelineFunction = asRecord(ts.function)
  const timelineRoles: RoleFacts[] = asArray(timelineFunction.roles)
    .map((x) => asRecord(x))
    .filter(
      (x) => asString(x.name) && !roles.some((r) => r.name.toLowerCase() === asString(x.name)!.toLowerCase()),
    )
    .map((x) => {
      const name = asString(x.name)!
      const arn = asString(x.arn) ?? name
      const ofRole = (t: string) => isRoleTarget(t, { account: roleAccountOf(arn), name })
      const why = asString(x.why)
      const role: RoleFacts = {
        arn,
        name,
        functions: [asString(timelineFunction.name) ?? 'the timeline’s function'],
        why: [`role the timeline was collected for${why ? ` (${why})` : ''}`],
        current: false,
        riskyPermissions: [],
        policyGaps: [],
        permissionsUnknown:
          'not captured in the evidence: no snapshot of this case recorded this role, so what it grants is unknown, not none',
        sessionsRevoked: revokedNow(ofRole),
      }
      roleTests.set(role, ofRole)
      return role
    })
  // Records that claim one eventID with other content, as the run that stored the timeline
  // counted them: the scan then finds every version of each.
  const conflictingRun = asRecord(asRecord(ts.events).conflicting)
  const scan = await scanTimeline(
    raw.eventsPath,
    raw.timelineFindings,
    keyEventLimit,
    [...roles, ...timelineRoles].map((r) => r.name),
    [...new Set(functions.flatMap(environmentKeyIds))],
    revokePolicyName(raw.meta.id),
    Number(conflictingRun.count) > 0,
  )
  const conflicting = conflictingRecords(conflictingRun, scan.conflictingIds)
  // The calls the timeline shows setting a function's role: a swap the snapshots did not see, or
  // a role set back since.
  const { roles: whyNow, swaps: roleSwaps } = describeRoles(recordedRoles, scan.rolesSet)
  for (const [key, why] of whyNow) {
    const known = roleByKey.get(key)
    if (known) explain(known, why)
    else if (why.timelineOnly) {
      // A role the timeline was collected for by name alone is of the function's account.
      const collected = timelineRoles.find((r) => roleKey(r.arn, key.split('|')[0] ?? '') === key)
      if (collected) {
        collected.why = [...why.why, ...collected.why]
        collected.current = why.current
      } else {
        const role = roleOf(key, why.arn, why.name)
        explain(role, why)
        role.permissionsUnknown =
          'not captured in the evidence: only the timeline shows the function set to this role, and no snapshot of this case read it, so what it grants is unknown, not none'
      }
    }
  }
  roles.sort(byRoleOrder)
  if (scan.unreadableLines)
    problems.push(`${EVENTS_FILE}: ${scan.unreadableLines} line(s) are not events and were skipped`)
  // A function the timeline shows the attacker opened to the public, which no snapshot of the case
  // covers, is a live exposure the status counts too (a snapshot's later view, where there is
  // one, says what is open now). A call that undid a measure after fir applied it takes that
  // measure out of those in force, whatever function it is on.
  const openedElsewhere = timelineExposures(scan.accessOpened, [...exposures.values()])
  if (openedElsewhere.length > 0 || scan.measuresUndone.length > 0) {
    journal = viewJournal(raw.journal, {
      ...journalOptions,
      functions: [...journalOptions.functions, ...openedElsewhere],
      undoneBy: scan.measuresUndone,
      reappliedBy: scan.measuresReapplied,
    })
    for (const [role, ofRole] of roleTests) role.sessionsRevoked = revokedNow(ofRole)
  }
  // Sealed sets no longer as sealed: what they held (a snapshot, its findings) is unknown, and so is
  // whatever rests on it.
  const lost = raw.sets.filter((s) => s.notAsSealed !== null).map((s) => `${s.name}: ${s.notAsSealed}`)
  const lostText = lost.length
    ? `the evidence sealed in this case is missing or changed (${lost.join('; ')}), so this report cannot say what it held`
    : ''
  // Recorded timeline files no longer what fir recorded: findings.json and summary.json are left
  // unread (read-case), events.jsonl, the only timeline there is, is read as it is and said to be
  // changed. Whatever rests on them is not established, as for sealed evidence.
  const eventsChanged = scan.eventsRead
    ? notAsRecorded(raw.artifacts, EVENTS_FILE, scan.eventsRead.sha256, scan.eventsRead.bytes)
    : null
  const timelineChanged = [...(eventsChanged ? [eventsChanged] : []), ...raw.timelineChanged]
  const changedText = timelineChanged.length
    ? `the timeline recorded in this case was changed after fir recorded it (${timelineChanged.map((c) => `${c.rel}: ${c.why}`).join('; ')}), so this report cannot say what fir collected`
    : ''
  const timelineChangedView = timelineChanged.length
    ? timelineChanged
        .map((c) =>
          c.rel === EVENTS_FILE
            ? `${c.rel} was changed after fir recorded it (${c.why}): the events below are what the file holds now, not necessarily what fir collected.`
            : `${c.rel} was changed after fir recorded it (${c.why}): it was not read${c.rel === TIMELINE_FINDINGS_FILE ? ' (the findings are those the events carry)' : ''}.`,
        )
        .join(' ')
    : null
  for (const c of timelineChanged)
    problems.push(`${c.rel} was changed after fir recorded it (${c.why}); run fir case verify`)
  const notEstablished = [
    ...(lost.length ? [{ text: lostText, nor: 'which ways into its functions were open' }] : []),
    ...(changedText
      ? [{ text: changedText, nor: 'whether calls in it undid containment or opened access' }]
      : []),
  ]
  if (notEstablished.length)
    journal = { ...journal, status: statusWithoutEvidence(journal.status, notEstablished) }
  // The sweeps' matches are marked contained by the same view the status uses.
  const sweeps = reportSweeps(recordedSweeps, functions, journal.functions, options.sweepMatchLimit ?? 100)
  const timelinePresent = raw.eventsPath !== null
  // Collected, recorded, and gone since: evidence lost, not "never collected".
  const timelineMissing = !timelinePresent && raw.artifacts.has(EVENTS_FILE)
  const noTimeline = timelineMissing
    ? `the timeline collected in this case is missing (${EVENTS_FILE}, recorded in the journal)`
    : 'no timeline was collected'
  const window = asRecord(ts.window)
  const since = isoOrNull(ts.since ?? window.since)
  const until = isoOrNull(ts.until ?? window.until)
  const startedAt = isoOrNull(ts.startedAt)
  const finishedAt = isoOrNull(ts.finishedAt) ?? (collected ? isoOrNull(collected.at) : null)
  const sourceList = asArray(ts.sources)
  const timelineSources = sourceList.map(sourceText)
  const earlierTimelines = (await readEarlierTimelines(caseDir)).map(
    (t) => `${t.folder} (${t.events === null ? 'events unknown' : counted(t.events, 'event')})`,
  )
  const timelineSourceKinds = sourceList.map(sourceKind)
  for (const g of asArray(ts.gaps)) gaps.push(gapFrom('timeline', g))
  const skipped = Object.entries(asRecord(ts.skipped)).filter(([, n]) => Number(n) > 0)
  if (skipped.length) {
    const total = skipped.reduce((n, [, c]) => n + Number(c), 0)
    const files = asArray(ts.problemFiles).map((f) => asString(asRecord(f).file) ?? '?')
    gaps.push({
      origin: 'timeline',
      what: `${total} input record(s) could not be read (${skipped.map(([k, n]) => `${k} ${n}`).join(', ')})`,
      call: 'timeline input',
      reason: files.length
        ? `counted and skipped; in ${truncate(files.slice(0, 3).join(', '), 300)}${files.length > 3 ? ` and ${files.length - 3} more` : ''}`
        : 'counted and skipped',
    })
  }
  // An input that failed part way: what came before it is in the timeline, what came after is not.
  for (const f of asArray(ts.problemFiles)) {
    const cut = asRecord(asRecord(f).cutShort)
    if (!asString(cut.reason)) continue
    gaps.push({
      origin: 'timeline',
      what: `${truncate(asString(asRecord(f).file) ?? '?', 300)} was read only in part: ${counted(Number(cut.afterRecords) || 0, 'record')}, then ${asString(cut.reason)}: ${truncate(asString(cut.message) ?? '', 300)}`,
      call: 'timeline input',
      reason: 'the rest of that input is not in the timeline: fetch it again and re-run fir timeline',
    })
  }
  for (const r of asArray(asRecord(ts.rules).refused)) {
    const rule = asRecord(r)
    gaps.push({
      origin: 'timeline',
      what: `detection rule ${asString(rule.file) ?? '?'} was not loaded`,
      call: 'sigma rule',
      reason: asString(rule.reason) ?? 'refused',
    })
  }
  gaps.push(...journal.gaps)
  for (const name of raw.unsealedSets) {
    gaps.push({
      origin: 'evidence',
      what: `evidence set ${EVIDENCE_DIR}/${name} was never sealed (an interrupted snapshot)`,
      call: 'evidence.seal',
      reason: 'its files are not evidence: they are not in a journaled manifest',
    })
  }
  const gapKeys = new Set<string>()
  const uniqueGaps = gaps.filter((g) => {
    const k = `${g.what}|${g.call}|${g.reason}`
    if (gapKeys.has(k)) return false
    gapKeys.add(k)
    return true
  })

  const allFindings = [...snapshotFindings, ...scan.findingGroups]
  const groups = LEVELS.map((level) => {
    const items = allFindings.filter((f) => f.level === level)
    const count = items.reduce((n, f) => n + f.count, 0)
    return {
      level,
      label: levelLabel(level),
      count,
      countText: `${count} finding${count === 1 ? '' : 's'}`,
      items,
    }
  }).filter((g) => g.items.length > 0)
  const counts = LEVELS.map((level) => ({
    level,
    label: levelLabel(level),
    count: allFindings.filter((f) => f.level === level).reduce((n, f) => n + f.count, 0),
  }))
  const totalFindings = counts.reduce((n, c) => n + c.count, 0)

  const chart = buildChart({
    times: scan.times,
    categoryOf: scan.categoryOf,
    categories: scan.categories,
    findings: scan.findingPoints,
    actions: journal.actions.map((a) => ({
      ms: Date.parse(a.at),
      n: a.n,
      title: `${a.title}: ${a.target} (${a.outcome})`,
    })),
  })

  // Evidence.
  const sets: EvidenceSetView[] = raw.sets.map((set) => {
    const files = asArray(set.manifest?.files)
    const total = files.reduce<number>((n, f) => n + (Number(asRecord(f).bytes) || 0), 0)
    const takenBy = asRecord(set.summary?.takenBy)
    const sealed = isoOrNull(set.manifest?.sealed)
    return {
      name: set.name,
      sealed,
      sealedDisplay: utcDisplayOrNull(sealed),
      manifestSha256: set.manifestSha256,
      takenBy: asString(takenBy.arn),
      functions: asArray(set.summary?.functions).map((f) => asString(asRecord(f).name) ?? '?'),
      fileCount: files.length,
      totalBytes: total,
      totalBytesDisplay: bytesDisplay(total),
      files: manifestRows(files, manifestFileLimit),
      filesShown: Math.min(files.length, manifestFileLimit),
      filesTruncated: files.length > manifestFileLimit,
      manifestPath: `${EVIDENCE_DIR}/${set.name}/manifest.json`,
    }
  })
  const artifacts: ManifestRow[] = [...raw.artifacts.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([path, a]) => ({
      path,
      sha256: a.sha256,
      bytes: a.bytes,
      bytesDisplay: bytesDisplay(a.bytes),
      source: `case.artifact ${utcDisplay(a.at)}`,
    }))
  let integrity: IntegrityView | null = null
  if (options.verify !== false) {
    const v = await verifyCase(caseDir)
    const c = v.checked
    const checked = `${counted(c.journalEntries, 'journal entry', 'journal entries')}, ${counted(c.evidenceSets, 'evidence set')}, ${counted(c.evidenceFiles, 'evidence file')}, ${counted(c.artifacts, 'recorded file')}`
    integrity = {
      ok: v.ok,
      text: v.ok
        ? `Verified at ${utcDisplay(now.toISOString())}: ${checked}; every hash and the journal chain match.${v.journalHead ? ` Journal head ${v.journalHead.seq}:${v.journalHead.hash}: kept with this report, \`fir case verify --expect-head ${v.journalHead.seq}:${v.journalHead.hash}\` later shows whether entries were cut off the journal or its chain rewritten.` : ''}`
        : `Verification at ${utcDisplay(now.toISOString())} FAILED: ${counted(v.problems.length, 'problem')} in ${checked}.`,
      problems: v.problems.slice(0, 50).map((p) => p.message),
    }
  }

  // Summary.
  // The timeline's events count too: a case may hold a timeline and no snapshot.
  const accounts = [
    ...new Set([...functions.map((f) => f.account), ...scan.byAccount.keys()].filter(Boolean)),
  ].sort()
  const regions = [
    ...new Set(
      [...functions.map((f) => f.region), ...scan.byRegion.keys()].filter((r) => r && r !== 'unknown'),
    ),
  ].sort()
  const impact: string[] = []
  // The key secrets whose access key this case cut off (the same for every function).
  const handledKeys = handledKeySecrets(keySecrets, journal.keyFates)
  for (const f of functions) {
    if (f.exposure.length) {
      // What the snapshot saw, less what the case's containment closed since (while in force, or
      // as far as a change that failed part way closed it): a URL set to AWS_IAM, public
      // statements removed. Anything else is still open. (The ways in start with the exposure, in
      // its order; a URL left with AuthType NONE is closed as well by the public statements removed.)
      const ways = waysIn.get(f) ?? []
      const targets = [f.arn, f.name].filter(Boolean)
      const closers = f.exposure.map((_, i) => (ways[i] ? journal.closerOf(targets, ways[i]) : undefined))
      const closed = f.exposure.filter((_, i) => closers[i])
      const open = f.exposure.filter((_, i) => !closers[i])
      const measures = [...new Set(closers.flatMap((c) => c?.did ?? []))]
      // The throttle closes no way in: what is open stays open, but nothing runs while it holds.
      const throttled = journal.functions.some(
        (c) => (f.arn ? c.arn === f.arn : c.name === f.name) && c.measures.includes('containment.throttle'),
      )
      const held = throttled
        ? '; but every invoke is refused while the function is throttled to reserved concurrency 0 (it answers again once the throttle is lifted)'
        : ''
      if (closed.length === 0)
        impact.push(
          `${f.label} is ${throttled ? 'still open' : 'reachable'} from outside the account: ${f.exposure.join('; ')}${held}.`,
        )
      else
        impact.push(
          `${f.label} was reachable from outside the account when snapshotted (${closed.join('; ')}); the case closed it: ${measures.join(', ')}.${open.length ? ` It is still ${throttled ? 'open' : 'reachable'}: ${open.join('; ')}${held}.` : ''}`,
        )
    }
    if (f.secrets.length) {
      // The secret of an access key this case rotated or deactivated no longer signs anything.
      const { names, open, handled } = environmentSecretsOf(f, handledKeys)
      const done = handled.map(
        (k) => `${k.variable} is the secret of access key ${k.accessKeyId}, ${k.fate} in this case`,
      )
      impact.push(
        open.length
          ? `${open.length} secret-looking environment value${open.length === 1 ? '' : 's'} in ${f.label} (${open.join(', ')}) must be treated as exposed${done.length ? `; ${done.join('; ')}` : ''}.`
          : `The secret-looking environment value${names.length === 1 ? '' : 's'} of ${f.label}: ${done.join('; ')} (see the actions taken).`,
      )
    }
    if (f.codeChange)
      impact.push(
        `The code of ${f.label} changed while it was snapshotted: CodeSha256 ${f.codeChange.from} became ${f.codeChange.to}${f.codeChange.at ? ` (${utcDisplay(f.codeChange.at)})` : ''}. Find who deployed it (UpdateFunctionCode in the timeline): a CI deploy, or the intruder. The new package is kept; the one that ran before could not be read whole.`,
      )
    const mismatched = [
      ...(f.codeCheck?.startsWith('MISMATCH') ? ['$LATEST'] : []),
      ...f.versions
        .filter((v) => v.endsWith('(code MISMATCH)'))
        .map((v) => v.replace(' (code MISMATCH)', '')),
    ]
    if (mismatched.length)
      impact.push(
        `The code downloaded for ${f.label} (${mismatched.join(', ')}) does not match the CodeSha256 Lambda reports: the package was changed or the download is not what runs.`,
      )
    if (f.foreignLayers.length)
      impact.push(
        `${f.label} runs code that another account published: ${truncate(f.foreignLayers.join(', '), 200)}.`,
      )
    if (f.logGroupMissing)
      impact.push(
        `The log group of ${f.label} is missing: its invocation logs are gone or were never written.`,
      )
    if (f.accessKeyIds.length) {
      const { done } = keysByFate(f.accessKeyIds, journal.keyFates)
      impact.push(
        `Long-term access key${f.accessKeyIds.length === 1 ? '' : 's'} ${f.accessKeyIds.join(', ')} in the environment of ${f.label}${done ? `: ${done}` : ''}.`,
      )
    }
    if (f.earlierAccessKeyIds.length) {
      const ids = f.earlierAccessKeyIds.map((k) => k.accessKeyId)
      const one = ids.length === 1
      const { open, done } = keysByFate(ids, journal.keyFates)
      const sets = [...new Set(f.earlierAccessKeyIds.map((k) => k.set))]
      impact.push(
        `Long-term access key${one ? '' : 's'} ${ids.join(', ')} ${one ? 'was' : 'were'} in the environment of ${f.label} (evidence set${sets.length === 1 ? '' : 's'} ${sets.join(', ')}) and not found there by its newest snapshot (${f.evidenceSet})${open.length ? `: a key taken out of the environment still works until it is rotated or deactivated` : ''}${done ? `${open.length ? '; ' : ': '}${done}` : ''}.`,
      )
    }
  }
  for (const r of roles) {
    if (r.riskyPermissions.length) {
      const actions = [...new Set(r.riskyPermissions.map((p) => p.action))]
      impact.push(
        `Role ${roleWithWhy(r)} grants ${actions.length} risky action${actions.length === 1 ? '' : 's'} (${truncate(actions.join(', '), 160)}) to whoever holds its credentials.`,
      )
    }
  }
  // A swap in force that a detection flagged, or that the function's creator did not make, is
  // said first: the function's code may run with the attacker's role.
  for (const s of roleSwaps) {
    if (!s.switchedBack && s.flags.length) impact.unshift(swapImpact(s))
    else impact.push(swapImpact(s))
  }
  // The only sign of tampering with the logs the timeline holds: said before what they show.
  if (conflicting) impact.push(conflicting.text)
  if (timelinePresent) {
    if (scan.eventsWithFindings) {
      // The most severe rules first (findingGroups is ordered so), named with their level.
      const named = scan.findingGroups
        .slice(0, 3)
        .map((g) => `${g.title} (${g.level}${g.count > 1 ? `, ${g.count}×` : ''})`)
      const more = scan.findingGroups.length - named.length
      impact.push(
        `${scan.eventsWithFindings} of ${scan.totalEvents} CloudTrail events matched detections (${counted(scan.findingGroups.length, 'rule')}): ${named.join('; ')}${more > 0 ? `; and ${more} more` : ''}.`,
      )
    }
    if (scan.secretsRead.length) {
      // A secret this case already rotated is not asked to be rotated again.
      const rotated = journal.secretsRotated
      const done = scan.secretsRead.filter((n) => rotated.has(n))
      const open = scan.secretsRead.filter((n) => !rotated.has(n))
      // Asked of Secrets Manager, and no state read since shows it done: still to treat as exposed.
      const asked = open.filter((n) => journal.secretsRequested.has(n))
      const todo = open.length
        ? `treat ${open.length === scan.secretsRead.length ? (open.length === 1 ? 'it' : 'them') : truncate(open.join(', '), 200)} as exposed and rotate${done.length || asked.length ? '; ' : ''}`
        : ''
      const askedText = asked.length
        ? `the rotation of ${truncate(asked.join(', '), 200)} was requested in this case, not confirmed (AWSCURRENT unchanged after the request)${done.length ? '; ' : ''}`
        : ''
      const rotatedText = done.length
        ? `${done.length === scan.secretsRead.length ? (done.length === 1 ? 'it was' : 'all were') : `${truncate(done.join(', '), 200)} ${done.length === 1 ? 'was' : 'were'}`} rotated in this case (see the actions taken)`
        : ''
      impact.push(
        `${counted(scan.secretsRead.length, 'secret')} ${scan.secretsRead.length === 1 ? 'was' : 'were'} read with the execution role’s credentials (${truncate(scan.secretsRead.join(', '), 200)}): ${todo}${askedText}${rotatedText}.`,
      )
    }
    if (scan.keysCreated.length) {
      // Each entry is `<key id>[ for user <name>]`.
      const ids = scan.keysCreated.map((k) => k.split(' ')[0]!)
      const { open, done } = keysByFate(ids, journal.keyFates)
      const outlives = open.length
        ? `${open.length === ids.length ? '' : `${truncate(open.join(', '), 200)} ${open.length === 1 ? 'is' : 'are'} `}long-term access that outlives the role’s sessions${done ? '; ' : ''}`
        : ''
      impact.push(
        `${counted(scan.keysCreated.length, 'access key')} ${scan.keysCreated.length === 1 ? 'was' : 'were'} created with the execution role’s credentials (${truncate(scan.keysCreated.join(', '), 200)}): ${outlives}${done}.`,
      )
    }
    // A function's timeline holds only the events related to it: the rest of a key's calls are not there.
    // (summary.json has the function as an object; a timeline.collect entry's params name it.)
    const scopedTo = typeof ts.function === 'string' ? ts.function : asString(asRecord(ts.function).name)
    for (const k of scan.watchedKeyUse) {
      if (k.calls === 0) {
        impact.push(
          `Access key ${k.accessKeyId}, found in the environment, signed no call in this case’s timeline${scopedTo ? ` (it holds only the events related to ${scopedTo}: an account-wide timeline, fir timeline without a function, shows every call the key made)` : ''}.`,
        )
        continue
      }
      const when =
        k.first === k.last ? utcDisplay(k.first!) : `${utcDisplay(k.first!)} to ${utcDisplay(k.last!)}`
      impact.push(
        `Access key ${k.accessKeyId}, found in the environment, signed ${counted(k.calls, 'call')} in the timeline (${when}) from ${truncate(k.sourceIps.join(', '), 200)}${k.failed ? `; ${k.failed} failed or ${k.failed === 1 ? 'was' : 'were'} denied` : ''}${k.changes.length ? `; changes it made: ${truncate(k.changes.join(', '), 200)}` : '; no change'}. Any call not made by its owner is the attacker’s${scopedTo ? ` (only the events related to ${scopedTo} are in this timeline)` : ''}.`,
      )
    }
    if (scan.keysFromStolenAddress.length) {
      const keys = scan.keysFromStolenAddress.map(
        (k) => `${k.accessKeyId}${k.userName ? ` of user ${k.userName}` : ''} from ${k.sourceIps.join(', ')}`,
      )
      const ids = scan.keysFromStolenAddress.map((k) => k.accessKeyId)
      const { open, done } = keysByFate(ids, journal.keyFates)
      const stillOpen = open.length
        ? `, and revoking the role’s sessions does not stop ${open.length === ids.length ? (open.length === 1 ? 'it' : 'them') : truncate(open.join(', '), 200)}`
        : ''
      impact.push(
        `${counted(keys.length, 'long-term access key')} of another identity ${keys.length === 1 ? 'was' : 'were'} used from an address where the execution role’s credentials were used outside Lambda (${truncate(keys.join('; '), 300)}): whoever stole the credentials holds ${keys.length === 1 ? 'it' : 'them'} too${stillOpen}${done ? `; ${done}` : ''}.`,
      )
    }
    const signers = scan.keysOfFlaggedCalls
    if (signers.length) {
      const keys = signers.map(
        (k) =>
          `${k.accessKeyId}${k.userName ? ` of user ${k.userName}` : ''}${k.sourceIps.length ? ` from ${k.sourceIps.join(', ')}` : ''}`,
      )
      const { open, done } = keysByFate(
        signers.map((k) => k.accessKeyId),
        journal.keyFates,
      )
      impact.push(
        `Calls flagged high or critical were signed with ${counted(keys.length, 'long-term access key')} (${truncate(keys.join('; '), 300)})${open.length ? `: ${open.length === keys.length ? (open.length === 1 ? 'it still works' : 'they still work') : `${truncate(open.join(', '), 200)} still work`} unless rotated` : ''}${done ? `; ${done}` : ''}.`,
      )
    }
    if (scan.chainedAssumeRoles.length)
      impact.push(
        `The execution role’s credentials were used to assume other roles: ${scan.chainedAssumeRoles.slice(0, 4).join(', ')}.`,
      )
    if (scan.chainedAssumeRolesRefused.length)
      impact.push(
        `The execution role’s credentials were used to try to assume other roles, and the calls failed or were denied (no session was issued): ${scan.chainedAssumeRolesRefused.slice(0, 4).join(', ')}.`,
      )
    if (scan.errorEvents)
      impact.push(
        `${scan.errorEvents} call${scan.errorEvents === 1 ? '' : 's'} failed or ${scan.errorEvents === 1 ? 'was' : 'were'} denied (attempts that did not succeed).`,
      )
  }
  impact.push(...sweeps.impact)
  if (impact.length === 0) {
    // Say what was looked at: "hold no findings" of a snapshot or a timeline the case does not have
    // reads as a clean result.
    const looked = [functions.length > 0 ? 'the snapshot' : '', timelinePresent ? 'the timeline' : ''].filter(
      Boolean,
    )
    const missing = [functions.length > 0 ? '' : 'no snapshot', timelinePresent ? '' : 'no timeline'].filter(
      Boolean,
    )
    impact.push(
      lost.length
        ? `No impact could be established: ${lostText}${timelinePresent ? ', and the timeline holds no findings' : ''}.`
        : looked.length === 0
          ? 'No impact could be established: the case holds no snapshot and no timeline yet.'
          : `No impact could be established from this case: ${looked.join(' and ')} ${looked.length === 1 ? 'holds' : 'hold'} no findings, exposure, secrets or risky permissions${missing.length ? ` (the case holds ${missing.join(' and ')} yet)` : ''}.`,
    )
  }
  // A sweep that matched nothing is no impact, but says how far the case looked.
  impact.push(...sweeps.unmatched)
  const byLevelText = counts.filter((c) => c.count > 0).map((c) => `${c.count} ${c.level}`)
  const fnText = functions.length
    ? `Lambda function${functions.length === 1 ? '' : 's'} ${[...new Set(functions.map((f) => f.label))].join(', ')}${accounts.length ? ` in account${accounts.length === 1 ? '' : 's'} ${accounts.join(', ')}` : ''}${regions.length ? ` (${regions.join(', ')})` : ''}`
    : lostText || 'no function snapshotted yet'
  const headline = `${asString(raw.meta.title) || raw.meta.id}: ${fnText}. ${totalFindings ? `${counted(totalFindings, 'finding')} (${byLevelText.join(', ')})` : lost.length ? 'No findings could be read from it' : 'No findings'}; ${journal.status.label.toLowerCase()}.${lost.length && functions.length ? ` Beware: ${lostText}.` : ''}${changedText ? ` Beware: ${changedText}.` : ''}`

  const firstIso = scan.firstMs === null ? null : new Date(scan.firstMs).toISOString()
  const lastIso = scan.lastMs === null ? null : new Date(scan.lastMs).toISOString()
  const adviceInput = {
    caseDir: raw.dir,
    functions,
    // A role only the timeline names has its sessions to revoke too.
    roles: [...roles, ...timelineRoles],
    snapshotFindings,
    timelineFindings: scan.findingGroups,
    journal,
    secretsRead: scan.secretsRead,
    keySecrets,
    snapshotPresent: raw.sets.some((s) => s.summary !== null),
    evidenceNotAsSealed: lost,
    timelineNotAsRecorded: timelineChanged.map((c) => `${c.rel}: ${c.why}`),
    timelinePresent,
    timelineMissing,
    timelineSources,
    timelineSourceKinds,
    timelineTotalEvents: scan.totalEvents,
    chainedAssumeRoles: scan.chainedAssumeRoles,
    keysFromStolenAddress: scan.keysFromStolenAddress,
    keysOfFlaggedCalls: scan.keysOfFlaggedCalls,
    keyUsers: new Map(scan.watchedKeyUse.flatMap((k) => (k.userName ? [[k.accessKeyId, k.userName]] : []))),
    sweeps: sweeps.followUps,
    accessOpened: scan.accessOpened,
    roleSwaps,
  }
  const createdBy = asRecord(raw.meta.createdBy)
  const eventsArtifact = raw.artifacts.get(EVENTS_FILE)

  const model: ReportModel = {
    schema: REPORT_SCHEMA,
    generatedAt: now.toISOString(),
    generatedAtDisplay: utcDisplay(now.toISOString()),
    firVersion: options.firVersion ?? 'unknown',
    case: {
      id: raw.meta.id,
      title: asString(raw.meta.title) || raw.meta.id,
      created: raw.meta.created,
      createdDisplay: utcDisplay(raw.meta.created),
      createdBy: userAtHost(createdBy),
      folder: basename(caseDir),
    },
    summary: {
      headline,
      functions: [...new Set(functions.map((f) => f.label))],
      caseOpened: raw.meta.created,
      caseOpenedDisplay: utcDisplay(raw.meta.created),
      firstDetection: scan.firstFinding?.time ?? null,
      firstDetectionDisplay: utcDisplayOrNull(scan.firstFinding?.time),
      firstDetectionTitle: scan.firstFinding?.title ?? null,
      firstDetectionAbsent: scan.firstFinding
        ? null
        : !timelinePresent
          ? `${timelineMissing ? 'unknown' : 'none'}: ${noTimeline}`
          : scan.totalEvents === 0
            ? 'none: the timeline holds no event'
            : `none: no detection matched the ${counted(scan.totalEvents, 'event')} of the timeline`,
      firstActivity: firstIso,
      firstActivityDisplay: utcDisplayOrNull(firstIso),
      lastActivity: lastIso,
      lastActivityDisplay: utcDisplayOrNull(lastIso),
      activityAbsent: firstIso
        ? null
        : timelinePresent
          ? 'none: the timeline holds no event'
          : `unknown: ${noTimeline}`,
      impact,
      counts,
      totalFindings,
      status: journal.status,
    },
    scope: {
      accounts,
      regions,
      functions,
      window:
        since || until || timelinePresent
          ? windowView(
              since,
              until,
              startedAt,
              finishedAt,
              eventsAfterRun(scan.times, finishedAt ?? startedAt),
            )
          : null,
      timelineSources,
      earlierTimelines,
      sweeps: sweeps.views,
      present: functions.length > 0,
      absentReason: functions.length
        ? null
        : lost.length
          ? `No function facts are known: ${lostText}.`
          : 'No snapshot summary is in this case, so no function facts are known. Run fir snapshot <function> to seal one.',
    },
    roles: {
      roles,
      present: roles.length > 0,
      absentReason: roles.length
        ? null
        : lost.length
          ? `No execution role is known: ${lostText}.`
          : 'No execution role is known: no snapshot in this case recorded one.',
    },
    findings: {
      total: totalFindings,
      groups,
      present: allFindings.length > 0,
      absentReason: allFindings.length
        ? null
        : lost.length
          ? `No findings could be read: ${lostText}${timelinePresent ? '; the timeline detections matched nothing' : ''}.`
          : !adviceInput.snapshotPresent && !timelinePresent
            ? 'No findings: neither a snapshot nor a timeline is in this case.'
            : 'No findings: the snapshot checks and the timeline detections matched nothing.',
    },
    timeline: {
      present: timelinePresent,
      absentReason: timelinePresent
        ? null
        : timelineMissing
          ? `The timeline collected in this case is missing: ${EVENTS_FILE}, recorded in the journal, is not in the case folder (see the problems reading the case; run fir case verify). Run fir timeline <function> to collect it again.`
          : 'No timeline was collected in this case. Run fir timeline <function> to collect CloudTrail events.',
      eventsFile: EVENTS_FILE,
      eventsFileSha256: eventsArtifact?.sha256 ?? null,
      notes: asArray(ts.notes).map((n) => compactValue(n, 300)),
      conflicting,
      changed: timelineChangedView,
      totalEvents: scan.totalEvents,
      unreadableLines: scan.unreadableLines,
      first: firstIso,
      firstDisplay: utcDisplayOrNull(firstIso),
      last: lastIso,
      lastDisplay: utcDisplayOrNull(lastIso),
      eventsWithFindings: scan.eventsWithFindings,
      writeEvents: scan.writeEvents,
      errorEvents: scan.errorEvents,
      firEvents: scan.firEvents,
      byCategory: countRows(scan.byCategory, scan.totalEvents),
      byOrigin: countRows(scan.byOrigin, scan.totalEvents),
      byRegion: countRows(scan.byRegion, scan.totalEvents),
      topActors: countRows(scan.byActor, scan.totalEvents, 10),
      topSourceIps: countRows(scan.bySourceIp, scan.totalEvents, 10),
      keyEvents: scan.keyEvents,
      keyEventsTotal: scan.keyEventsTotal,
      keyEventsShown: scan.keyEvents.length,
      keyEventsTruncated: scan.keyEventsTotal > scan.keyEvents.length,
      keyEventLimit,
      chart,
    },
    actions: {
      present: journal.actions.length > 0,
      absentReason: journal.actions.length
        ? null
        : 'fir changed nothing in AWS in this case: the journal holds no change.',
      items: journal.actions,
      byOutcome: journal.byOutcome,
      actedAs: journal.actedAs,
      playbooks: journal.playbooks,
    },
    evidence: {
      present: sets.length > 0,
      absentReason: sets.length ? null : 'No evidence set was sealed in this case.',
      sets,
      totalFiles: sets.reduce((n, s) => n + s.fileCount, 0),
      totalBytes: sets.reduce((n, s) => n + s.totalBytes, 0),
      totalBytesDisplay: bytesDisplay(sets.reduce((n, s) => n + s.totalBytes, 0)),
      artifacts,
      manifestFileLimit,
      integrity,
    },
    gaps: { present: uniqueGaps.length > 0, items: uniqueGaps },
    limits: { items: limitsOf(adviceInput) },
    recommendations: { present: true, items: forDrill(recommend(adviceInput), drillOf(raw.journal)) },
    afterAction: journal.afterAction,
    readProblems: problems,
  }
  return sanitiseModel(model)
}

/**
 * The status when sealed evidence is missing or changed. Contained or partially contained rests on
 * the ways in the snapshot showed: without it the report cannot establish it, and a post-incident
 * report must not claim it, so it is unknown, with what the journal alone shows. Not contained and
 * restored hold whatever the snapshot showed: kept, saying what is missing.
 */
function statusWithoutEvidence(
  status: ResponseStatus,
  /** What is missing or changed (`text`), and what the status cannot say without it (`nor`). */
  reasons: readonly { text: string; nor: string }[],
): ResponseStatus {
  const said = reasons.map((r) => r.text).join('; ')
  const missing = said.charAt(0).toUpperCase() + said.slice(1)
  if (status.code === 'not-contained' || status.code === 'restored')
    return { ...status, detail: `${status.detail} ${missing}.` }
  return {
    ...status,
    code: 'unknown',
    label: 'Unknown',
    detail: `Not established: ${reasons.map((r) => `${r.text}, nor ${r.nor}`).join('; ')}. From the journal alone: ${status.label.toLowerCase()}: ${status.detail}`,
  }
}

/**
 * Splits access keys into those still open and those this case cut off, with the sentence for the
 * latter (as the secrets line says which were rotated): `it was deactivated in this case (see the
 * actions taken)`, `all were rotated …`, or `AKIA…1 was rotated, AKIA…2 deleted …`.
 */
function keysByFate(
  ids: readonly string[],
  fates: ReadonlyMap<string, KeyFate>,
): { open: string[]; done: string } {
  const open = ids.filter((id) => !fates.has(id))
  const cut = ids.filter((id) => fates.has(id))
  if (cut.length === 0) return { open, done: '' }
  const kinds = new Set(cut.map((id) => fates.get(id)))
  const what =
    cut.length === ids.length && kinds.size === 1
      ? `${cut.length === 1 ? 'it was' : 'all were'} ${fates.get(cut[0]!)}`
      : cut.map((id, i) => `${id}${i === 0 ? ' was' : ''} ${fates.get(id)}`).join(', ')
  return { open, done: `${truncate(what, 300)} in this case (see the actions taken)` }
}

/** Commands that work on any case, a drill's too: they read the case folder, not AWS. */
const CASE_ONLY_COMMAND = /^fir (case|report)\b/

/**
 * A drill's recommendations keep their commands (what a real incident would run, which the
 * exercise is there to rehearse), and say that this case refuses those that call AWS: its function
 * lived in the drill's emulator, stopped when the drill ended.
 */
function forDrill(items: RecommendationView[], drill: string | undefined): RecommendationView[] {
  if (drill === undefined) return items
  return items.map((item) =>
    item.command === null || CASE_ONLY_COMMAND.test(item.command)
      ? item
      : {
          ...item,
          detail: `${item.detail} (This case is the ${drill} drill's: its AWS was the drill's emulator, now stopped, and fir refuses commands that call AWS on it; in a real incident, this is the command to run.)`,
        },
  )
}
