import { redactor, scrubAndCut } from '../common/redact.js'
import { byteSize, counted, escapeTerminal, formatTable } from '../common/text.js'
import type { TimelineFindingEntry, TimelineSummary } from './collect.js'
import type { FindingLevel } from './types.js'

const LEVEL_ORDER: FindingLevel[] = ['critical', 'high', 'medium', 'low', 'informational']

/** Secrets are scrubbed before the cut (see scrubAndCut); the scrub knows them escaped too. */
function short(value: string | null | undefined, max = 60): string {
  return scrubAndCut(escapeTerminal(value ?? ''), max)
}

/** A long path or URI shortened from the left, so the file name stays visible (scrubbed first). */
function shortPath(value: string, max = 80): string {
  const s = redactor.scrub(escapeTerminal(value))
  return s.length > max ? `…${s.slice(s.length - max + 1)}` : s
}

/** What a problem file's trouble was, in a line: why it was refused, cut short or skipped from. */
function problemText(p: TimelineSummary['problemFiles'][number]): string {
  return p.refused
    ? `${p.refused.reason}: ${p.refused.message}`
    : p.cutShort
      ? `${p.cutShort.reason}: stopped after ${p.cutShort.afterRecords} records, the rest not read: ${p.cutShort.message}`
      : Object.entries(p.skipped)
          .map(([r, n]) => `${r} ${n}`)
          .join(', ')
}

/** The first `max` refused files and why, on one line (`x.json: not-cloudtrail: …; …`). */
export function describeRefusals(s: TimelineSummary, max = 5): string {
  const refused = s.problemFiles.filter((p) => p.refused)
  const shown = refused.slice(0, max).map((p) => `${shortPath(p.file, 200)}: ${short(problemText(p), 100)}`)
  const more = refused.length - shown.length + s.problemFilesOmitted
  return `${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`
}

/**
 * The function's roles, each with why it is the function's (`legacy-role (snapshot: $LATEST),
 * orders-role (snapshot: versions 1, 2, alias live)`): every one's sessions were kept.
 */
function rolesText(fn: NonNullable<TimelineSummary['function']>): string {
  if (fn.roles.length === 0) return `roles unknown (${fn.roleSource})`
  const roles = fn.roles.map((r) => `${escapeTerminal(r.name)} (${escapeTerminal(r.why ?? fn.roleSource)})`)
  return `role${roles.length > 1 ? 's' : ''} ${roles.join(', ')}`
}

/** The human run summary: what was read, kept and skipped, the findings, and where things are. */
export function renderTimelineSummary(
  s: TimelineSummary,
  findings: TimelineFindingEntry[],
  maxRows = 40,
): string {
  const lines: string[] = []
  const fn = s.function
  lines.push(
    fn
      ? `Timeline of ${escapeTerminal(fn.name)}${fn.region ? ` (${fn.region})` : ''}: ${rolesText(fn)}`
      : 'Timeline of the account (every event in the window)',
  )
  // No --until keeps every later event, even one dated after the run: the window has no end.
  lines.push(
    `window    ${s.window.since ?? 'the beginning'} → ${s.window.until ? `${s.window.until} (UTC)` : 'open-ended (UTC, no --until)'}`,
  )
  for (const src of s.sources) {
    const files = src.files !== undefined ? `${src.files} files, ` : ''
    lines.push(`source    ${escapeTerminal(src.name)}: ${files}${src.events} events read, ${src.kept} kept`)
  }
  if (s.api) {
    const failed = s.api.queries.filter((q) => q.failed).length
    lines.push(
      `api       ${s.api.regions.join(', ')}: ${s.api.queries.length} queries, ${s.api.pages} pages${s.api.requestsPerSecond !== null ? `, ${s.api.requestsPerSecond} requests/s` : ''}${failed ? `, ${failed} incomplete` : ''}`,
    )
    const reused = s.api.queries.filter((q) => q.reused)
    if (reused.length > 0) {
      const folders = [...new Set(reused.flatMap((q) => q.reused!.from.map((f) => `${f.folder}/`)))]
      const toppedUp = reused.filter((q) => q.reused!.topUp).length
      const stopped = reused.filter((q) => q.reused!.stoppedAt).length
      const said = [
        toppedUp ? `${toppedUp} asked again since shortly before that run, for what happened since` : '',
        stopped
          ? `${stopped} of a wider window gone on with only down to this window's start, the rest of it not asked`
          : '',
      ].filter(Boolean)
      lines.push(
        `reused    ${s.api.reusedPages ?? 0} pages of ${counted(reused.length, 'query', 'queries')} an earlier run did not finish, not fetched again: ${folders.join(', ')}${said.length ? ` (${said.join('; ')})` : ''}`,
      )
    }
  }
  // Each count is split into parts that add up to it; what is not part of it is said apart.
  const notRead = [
    s.files.outsideWindow ? `${s.files.outsideWindow} outside the window by delivery time` : '',
    s.files.ignored ? `${s.files.ignored} not .json/.jsonl/.gz` : '',
  ].filter(Boolean)
  if (s.files.total > 0 || notRead.length > 0) {
    lines.push(
      `files     ${s.files.total} (${s.files.read} parsed, ${s.files.prefiltered} ruled out by the pre-filter, ${s.files.refused} refused), ${byteSize(s.files.bytes)} read, ${byteSize(s.files.uncompressedBytes)} uncompressed${notRead.length ? `; not read: ${notRead.join(', ')}` : ''}`,
    )
  }
  const ofStored = [
    s.events.conflicting?.count
      ? `${s.events.conflicting.count} kept beside another record with their eventID`
      : '',
    s.events.future?.count ? `${s.events.future.count} dated in the future` : '',
    s.events.malformed?.count ? `${s.events.malformed.count} with fields of the wrong type` : '',
  ].filter(Boolean)
  lines.push(
    `events    ${s.events.read} read: ${s.events.stored} in the timeline${ofStored.length ? ` (${ofStored.join(', ')})` : ''}, ${s.events.duplicates} duplicates merged, ${s.events.outsideWindow} outside the window, ${s.events.unrelated} unrelated`,
  )
  const skipped = Object.entries(s.skipped)
  if (skipped.length > 0)
    lines.push(
      `skipped   ${skipped.map(([r, n]) => `${r} ${n}`).join(', ')} (bad input, not counted as read)`,
    )
  for (const p of s.problemFiles.slice(0, 10))
    lines.push(`  ${shortPath(p.file)}: ${short(problemText(p), 100)}`)
  if (s.problemFiles.length > 10 || s.problemFilesOmitted > 0) {
    lines.push(`  … ${s.problemFiles.length - 10 + s.problemFilesOmitted} more in ${s.outputs.summary}`)
  }
  const levels = LEVEL_ORDER.filter((l) => s.findings.byLevel[l] > 0).map(
    (l) => `${l} ${s.findings.byLevel[l]}`,
  )
  lines.push(
    `findings  ${s.findings.total}${levels.length ? ` (${levels.join(', ')})` : ''} on ${s.findings.events} events; ${s.rules.loaded} rules${s.rules.refused.length ? `, ${s.rules.refused.length} refused` : ''}`,
  )
  if (findings.length > 0) {
    const sorted = [...findings].sort(
      (a, b) => LEVEL_ORDER.indexOf(a.level) - LEVEL_ORDER.indexOf(b.level) || a.time.localeCompare(b.time),
    )
    const rows = sorted.slice(0, maxRows).sort((a, b) => a.time.localeCompare(b.time))
    lines.push('')
    lines.push(
      formatTable(
        ['time (UTC)', 'level', 'event', 'finding', 'actor'],
        rows.map((f) => [
          f.time.replace('.000Z', 'Z'),
          f.level,
          short(f.eventName, 32),
          short(f.title, 60),
          short(f.actor, 70),
        ]),
      ),
    )
    if (findings.length > maxRows)
      lines.push(`… ${findings.length - maxRows} more findings in ${s.outputs.findings}`)
  }
  lines.push('')
  lines.push(
    s.notStored
      ? `written   nothing (${s.notStored})`
      : `written   ${s.outputs.events}, ${s.outputs.findings}, ${s.outputs.summary}${s.outputs.raw ? `, ${s.outputs.raw}/` : ''}${s.outputs.export && s.outputs.export !== '(stdout)' ? `, ${escapeTerminal(s.outputs.export)}` : ''}`,
  )
  lines.push(
    `speed     ${s.throughput.eventsPerSecond} events/s, ${s.throughput.uncompressedMBps} MB/s uncompressed, ${(s.durationMs / 1000).toFixed(1)} s${s.throughput.threads ? `, ${s.throughput.threads} reading threads` : ''}`,
  )
  for (const n of s.notes) lines.push(`note      ${escapeTerminal(n)}`)
  return lines.join('\n')
}
