import { shortKeyId } from '../common/redact.js'
import { escapeTerminal, firstFew } from '../common/text.js'
import type { Gap } from '../context.js'
import { isConfigurationGap, unknownFromGaps, whyFromGaps } from './gap-text.js'
import { environmentUnknown } from './secrets.js'
import {
  type Finding,
  type FunctionSummary,
  type ImageSummary,
  ROLE_POLICY_CALLS,
  type SnapshotResult,
} from './types.js'

const e = (v: unknown) => escapeTerminal(v === undefined || v === null ? '-' : String(v))

/** A gap in reading the role, or one of its policies, leaves its risky permissions unknown. */
const ROLE_CALLS = new Set(['iam:GetRole', ...ROLE_POLICY_CALLS])

const byCall =
  (...calls: string[]) =>
  (g: Gap) =>
    calls.includes(g.call)

/** `unknown: <reason> (<call>)` when a read a fact depends on failed (see unknownFromGaps), escaped. */
function unknownFrom(f: FunctionSummary, match: (g: Gap) => boolean): string | null {
  const text = unknownFromGaps(f.gaps.filter(match))
  return text === null ? null : e(text)
}

/** ` (<reason> (<call>))` when a read a fact depends on failed (see whyFromGaps), escaped. */
function whyUnknown(f: FunctionSummary, match: (g: Gap) => boolean): string | null {
  const text = whyFromGaps(f.gaps.filter(match))
  return text === null ? null : ` (${e(text)})`
}

/** ` (NOT IN ECR)` for an image ECR said it no longer holds, ` (manifest not read)` for one not read. */
function imageState(i: ImageSummary): string {
  return i.inEcr === false ? ' (NOT IN ECR: see findings)' : i.inEcr === null ? ' (manifest not read)' : ''
}

function codeLine(f: FunctionSummary): string {
  if (f.packageType === 'Image') {
    const own = f.images.find((i) => i.qualifiers.includes(f.qualifier))
    return `${e(f.imageUri)} @ ${e(f.imageDigest)}${own ? imageState(own) : ''}`
  }
  const c = f.codeChange
  if (c) {
    // The code changed while fir read it: the package kept is the new code's, checked against it.
    const kept =
      f.code === 'changed'
        ? `package of ${e(c.to)} downloaded whole, SHA-256 matches it`
        : `package of ${e(c.to)} downloaded, SHA-256 DOES NOT MATCH it (integrity finding)`
    return `${e(f.codeSha256)}  (CODE CHANGED while fir read it: now ${e(c.to)}${c.at ? ` at ${e(c.at)}` : ''}; ${kept}; the package of ${e(c.from)} could not be read whole)`
  }
  const check = {
    match: 'package downloaded, SHA-256 matches',
    mismatch: 'package downloaded, SHA-256 DOES NOT MATCH (integrity finding)',
    changed: 'CODE CHANGED while fir read it (see findings)',
    'not-downloaded': 'package not downloaded (see gaps)',
    image: 'image',
  }[f.code]
  return `${e(f.codeSha256)}  (${check})`
}

function functionBlock(f: FunctionSummary, findings: Finding[]): string {
  const lines: string[] = []
  lines.push(`Function ${e(f.name)}  ${e(f.arn)}`)
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(14)}${value}`)
  // GetFunction of the summarised qualifier failed: its configuration (role, layers, environment)
  // is unknown.
  const configGap = (g: Gap) => isConfigurationGap(g, f.qualifier)
  const configUnknown = unknownFrom(f, configGap)
  row('qualifier', e(f.qualifier))
  row('runtime', `${e(f.runtime ?? f.packageType)}`)
  row('last modified', e(f.lastModified))
  row('code sha256', codeLine(f))
  row('role', f.role ? `${e(f.role)}${f.quarantined ? '  (AWS quarantine policy attached)' : ''}` : '-')
  const earlier = f.versions.length - 10
  // A list that stopped part way (a later page failed, or Lambda repeated a page marker) is said
  // to be incomplete, with why: what it holds is not every version or alias.
  const versionsGap = unknownFrom(f, byCall('lambda:ListVersionsByFunction'))
  const aliasesGap = unknownFrom(f, byCall('lambda:ListAliases'))
  row(
    'versions',
    f.versions.length === 0
      ? (versionsGap ?? 'none published')
      : `${f.versions.length}: ${f.versions
          .slice(-10)
          .map(
            (v) =>
              `${e(v.version)}${v.code === 'mismatch' ? '(mismatch)' : v.code === 'changed' ? '(code changed while read)' : ''}${
                v.configuration === 'version-list'
                  ? ' (configuration from the version list; code not read)'
                  : ''
              }`,
          )
          .join(', ')}${earlier > 0 ? ` (the last 10; ${earlier} earlier not shown)` : ''}${
          versionsGap ? ` (list incomplete: ${versionsGap})` : ''
        }`,
  )
  row(
    'aliases',
    f.aliases.length === 0
      ? (aliasesGap ?? 'none')
      : `${f.aliases
          .map(
            (a) =>
              `${e(a.name)}→${e(a.version)}${
                a.routing
                  ? ` (+${Object.entries(a.routing)
                      .map(([v, w]) => `${e(v)}:${w}`)
                      .join(',')})`
                  : ''
              }`,
          )
          .join(', ')}${aliasesGap ? ` (list incomplete: ${aliasesGap})` : ''}`,
  )
  // The summarised qualifier's layers; layers only other versions or aliases run are listed apart,
  // with the qualifiers that run them (a backdoored layer may sit on one version only).
  // A qualifier whose configuration was not read runs layers nobody knows: said, never left out.
  const ownLayers = f.layers.filter((l) => l.qualifiers.includes(f.qualifier))
  const otherLayers = f.layers.filter((l) => !l.qualifiers.includes(f.qualifier))
  const layersUnknown = (u: { reason: string }) => `unknown: configuration not read (${e(u.reason)})`
  const ownUnread = f.unreadConfigurations.find((u) => u.qualifiers.includes(f.qualifier))
  const otherUnread = f.unreadConfigurations
    .map((u) => ({ ...u, qualifiers: u.qualifiers.filter((q) => q !== f.qualifier) }))
    .filter((u) => u.qualifiers.length > 0)
  row(
    'layers',
    ownLayers.length === 0
      ? (configUnknown ?? (ownUnread ? layersUnknown(ownUnread) : 'none'))
      : ownLayers.map((l) => `${e(l.arn)} (${l.code})`).join(', '),
  )
  if (otherLayers.length > 0 || otherUnread.length > 0) {
    row(
      'other layers',
      [
        ...otherLayers.map((l) => `${e(l.arn)} (${l.code}; ${l.qualifiers.map(e).join(', ')})`),
        ...otherUnread.map((u) => `${layersUnknown(u)} (${e(firstFew(u.qualifiers))})`),
      ].join(', '),
    )
  }
  // Image functions: images other versions or aliases run, apart, with those qualifiers.
  const otherImages = f.images.filter((i) => !i.qualifiers.includes(f.qualifier))
  if (otherImages.length > 0) {
    row(
      'other images',
      otherImages
        .map((i) => `${e(i.imageUri)} @ ${e(i.digest)}${imageState(i)} (${i.qualifiers.map(e).join(', ')})`)
        .join(', '),
    )
  }
  // Every URL config with its AuthType and qualifiers (the summarised qualifier's first): an
  // alias's URL may be open while $LATEST's is not.
  const urls = f.urls
  const urlGap = unknownFrom(f, byCall('lambda:GetFunctionUrlConfig', 'lambda:ListFunctionUrlConfigs'))
  row(
    'url',
    urls.length === 0
      ? (urlGap ?? 'none')
      : `${urls
          .map((u) => `${e(u.url)} AuthType ${e(u.authType)} (${u.qualifiers.map(e).join(', ')})`)
          .join(', ')}${urlGap ? `; others ${urlGap}` : ''}`,
  )
  const provisioned =
    f.provisionedConcurrency === null
      ? `; provisioned ${unknownFrom(f, byCall('lambda:ListProvisionedConcurrencyConfigs')) ?? 'unknown: not read'}`
      : f.provisionedConcurrency.length > 0
        ? `; provisioned ${f.provisionedConcurrency
            .map(
              (p) => `${e(p.requested)} on ${e(p.qualifier)} (${e(p.status)}, ${e(p.allocated)} allocated)`,
            )
            .join(', ')}`
        : ''
  row(
    'concurrency',
    `${
      unknownFrom(f, byCall('lambda:GetFunctionConcurrency')) ??
      (f.reservedConcurrency === null ? 'unreserved' : `reserved ${f.reservedConcurrency}`)
    }${provisioned}`,
  )
  row(
    'event sources',
    f.eventSourceMappings.length === 0
      ? (unknownFrom(f, byCall('lambda:ListEventSourceMappings')) ?? 'none')
      : f.eventSourceMappings
          .map((m) => `${e(m.source)} (${e(m.state)}${m.qualifier ? `, on ${e(m.qualifier)}` : ''})`)
          .join(', '),
  )
  row(
    'log group',
    f.logGroup.present === false
      ? `${e(f.logGroup.name)} does not exist`
      : f.logGroup.present === null
        ? `${e(f.logGroup.name)}: ${unknownFrom(f, (g) => g.call.startsWith('logs:')) ?? 'unknown: not read'}`
        : `${e(f.logGroup.name)}: ${f.logGroup.events} events kept${f.logGroup.truncated ? ' (limit reached)' : ''}`,
  )
  row('invoke trail', f.trailCoverage.lambdaDataEvents)
  lines.push('  risky permissions:')
  // What was read can only show what is there: a policy not read may hold more. Said after what
  // was found too (`others unknown: …`, as the url row does), so a list never reads as complete.
  const partly = (unknown: string | null) =>
    unknown ? `none found in what was read; ${unknown}` : 'none found'
  const roleUnknown = unknownFrom(f, (g) => ROLE_CALLS.has(g.call))
  // No role was read (GetFunction of the summarised qualifier failed): its permissions are unknown.
  if (f.riskyPermissions.length === 0 && !f.role)
    lines.push(`    unknown: no execution role is known${whyUnknown(f, configGap) ?? ''}`)
  else if (f.riskyPermissions.length === 0) lines.push(`    ${partly(roleUnknown)}`)
  for (const r of f.riskyPermissions) {
    const sid = typeof r.statement.Sid === 'string' ? ` statement ${e(r.statement.Sid)}` : ''
    lines.push(
      `    [${r.level}] ${e(r.action)} on ${e(r.resource)}  (${e(r.policy)}${sid}${r.conditioned ? ', has a condition' : ''})`,
    )
  }
  if (f.riskyPermissions.length > 0 && roleUnknown) lines.push(`    others ${roleUnknown}`)
  lines.push('  exposure:')
  // The qualifiers whose resource policy was not read, the summarised qualifier's first.
  const unreadPolicies = f.unreadPolicies.flatMap((u) => u.qualifiers)
  const exposureUnknown = unknownFrom(
    f,
    byCall('lambda:GetPolicy', 'lambda:GetFunctionUrlConfig', 'lambda:ListFunctionUrlConfigs'),
  )
  const unreadOn = unreadPolicies.length > 0 ? `  (policy not read: ${e(firstFew(unreadPolicies))})` : ''
  if (f.exposure.length === 0) lines.push(`    ${partly(exposureUnknown)}${unreadOn}`)
  for (const x of f.exposure)
    lines.push(`    [${x.level}] ${e(x.summary)}  (${x.qualifiers.map(e).join(', ')})`)
  if (f.exposure.length > 0 && exposureUnknown) lines.push(`    others ${exposureUnknown}${unreadOn}`)
  lines.push('  secrets in environment (redacted):')
  // An environment Lambda did not return (it could not decrypt it) holds unknown secrets: each is
  // said with its qualifiers, and "none found" is said only of what was read.
  const envErrors = f.environmentErrors
  if (
    f.secrets.length === 0 &&
    f.accessKeyIds.length === 0 &&
    !envErrors.some((x) => x.qualifiers.includes(f.qualifier))
  )
    lines.push(
      `    ${configUnknown ?? (envErrors.length > 0 ? 'none found in what was read' : 'none found')}`,
    )
  for (const s of f.secrets)
    lines.push(`    ${e(s.name)} = ${s.redacted}  (${e(s.kind)}; ${s.qualifiers.map(e).join(', ')})`)
  for (const k of f.accessKeyIds) lines.push(`    access key id ${e(k)} (${e(shortKeyId(k))}): rotate it`)
  for (const x of envErrors)
    lines.push(`    ${e(environmentUnknown(x.error))}  (${e(firstFew(x.qualifiers))})`)
  const own = findings.filter((x) => x.target === f.arn || x.target === f.role)
  const counts = ['critical', 'high', 'medium', 'low', 'informational']
    .map((l) => [l, own.filter((x) => x.level === l).length] as const)
    .filter(([, n]) => n > 0)
    .map(([l, n]) => `${n} ${l}`)
  row('findings', counts.length ? counts.join(', ') : 'none')
  if (f.gaps.length > 0) {
    lines.push('  gaps:')
    for (const g of f.gaps) lines.push(`    ${e(g.what)} [${e(g.call)}]: ${e(g.reason)}`)
  }
  return lines.join('\n')
}

/** The human summary of a snapshot (the same facts --json prints). Every AWS value is escaped. */
export function renderSnapshot(r: SnapshotResult): string {
  const head = [
    `Sealed evidence set ${e(r.set)}: ${r.files} files, manifest sha256 ${r.manifestSha256}`,
    `taken by ${e(r.takenBy.arn)} (account ${e(r.takenBy.account)}) at ${r.takenAt} UTC`,
  ]
  if (r.remote) {
    head.push(
      `copied to s3://${e(r.remote.bucket)}/${e(r.remote.prefix)} under Object Lock ${r.remote.mode} until ${r.remote.retainUntil}: ${r.remote.objects.length} objects${r.remote.manifest?.versionId ? `, manifest version ${e(r.remote.manifest.versionId)}` : ''}`,
    )
  }
  const blocks = r.functions.map((f) => functionBlock(f, r.findings))
  const top = r.findings
    .filter((f) => f.level === 'critical' || f.level === 'high')
    .slice(0, 20)
    .map((f) => `  [${f.level}] ${e(f.title)}`)
  const findingsBlock =
    top.length > 0
      ? [
          `Findings (${r.findings.length}; critical and high below, all in findings.json):`,
          ...top,
          ...(r.findings.filter((f) => f.level === 'critical' || f.level === 'high').length > 20
            ? ['  …']
            : []),
        ]
      : [`Findings: ${r.findings.length} (none critical or high)`]
  return [head.join('\n'), ...blocks, findingsBlock.join('\n')].join('\n\n')
}
