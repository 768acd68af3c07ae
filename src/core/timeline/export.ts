import { UsageError } from '../../errors.js'
import { redactor, scrubAndCut } from '../common/redact.js'
import { CONTROL_OR_INVISIBLE, escapeTerminal, jsonText, visibleCode } from '../common/text.js'
import { withoutRaw } from './normalise.js'
import type { TimelineEvent } from './types.js'

export const EXPORT_FORMATS = ['jsonl', 'csv', 'md', 'timesketch'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export function parseExportFormat(value: string): ExportFormat {
  if ((EXPORT_FORMATS as readonly string[]).includes(value)) return value as ExportFormat
  throw new UsageError(`unable to export as ${JSON.stringify(value)}: unknown format`, {
    actions: [`pass --format ${EXPORT_FORMATS.join('|')}`],
  })
}

// ---- CSV ------------------------------------------------------------------------------------

// Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
// Spaces (any kind, the no-break space too) before the sign count: an importer that trims cells
// (Google Sheets, LibreOffice's "trim spaces") would read ` =1+1` as a formula.
const FORMULA_START = /^[\s\u00a0\u3000]*[=+\-@]|^[\t\r]/

/**
 * One CSV cell: control characters, bidi overrides and zero-width characters made visible (text as
 * the terminal shows it: `\e`, `\n`, `\x07`, `\u{202e}`; JSON as `\uXXXX` escapes, still JSON),
 * since the export may be printed and they have no place in a spreadsheet; neutralised when it could start a formula (a leading `'`, the OWASP
 * advice), then quoted (RFC 4180: every cell in double quotes, quotes doubled).
 */
export function csvCell(value: unknown): string {
  let s =
    value === null || value === undefined
      ? ''
      : typeof value === 'string'
        ? escapeTerminal(redactor.scrub(value))
        : jsonText(redactor.scrubDeep(value)) // still JSON, scrubbed value by value
  if (FORMULA_START.test(s)) s = `'${s}`
  return `"${s.replace(/"/g, '""')}"`
}

export const CSV_COLUMNS = [
  'time',
  'id',
  'name',
  'rawName',
  'source',
  'region',
  'account',
  'actorType',
  'actorArn',
  'sessionName',
  'accessKeyId',
  'invokedBy',
  'issuer',
  'sourceIp',
  'userAgent',
  'readOnly',
  'errorCode',
  'errorMessage',
  'origin',
  'fir',
  'findings',
  'resources',
  'requestParameters',
  'responseElements',
] as const

function csvRow(e: TimelineEvent, raw: boolean): string {
  const cells: unknown[] = [
    e.time,
    e.id,
    e.name,
    e.rawName,
    e.source,
    e.region,
    e.account,
    e.actor.type,
    e.actor.arn,
    e.actor.sessionName,
    e.actor.accessKeyId,
    e.actor.invokedBy,
    e.actor.issuer,
    e.sourceIp,
    e.userAgent,
    e.readOnly === null ? '' : String(e.readOnly),
    e.error?.code ?? '',
    e.error?.message ?? '',
    e.origin,
    String(e.fir),
    e.findings.map((f) => `${f.level}: ${f.title} (${f.rule})`).join('; '),
    e.resources.length ? e.resources : '',
    e.requestParameters ?? '',
    e.responseElements ?? '',
  ]
  if (raw) cells.push(e.raw ?? '')
  return `${cells.map(csvCell).join(',')}\r\n`
}

// ---- Markdown -------------------------------------------------------------------------------

/**
 * A value for a Markdown table cell: HTML-escaped (no tag or entity reaches a renderer), Markdown
 * punctuation backslash-escaped (no link, image, emphasis or code span), pipes escaped, line
 * breaks, control characters, line and paragraph separators and invisible or bidi characters made
 * visible.
 */
export function mdCell(value: unknown): string {
  const s =
    value === null || value === undefined
      ? ''
      : typeof value === 'string'
        ? redactor.scrub(value)
        : JSON.stringify(redactor.scrubDeep(value))
  return (
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/[\\`*_{}[\]()#+!|~]/g, (c) => `\\${c}`)
      .replace(/\r\n|\r|\n/g, ' ⏎ ')
      .replace(CONTROL_OR_INVISIBLE, visibleCode)
      // No autolinks (GitHub's extension links bare `scheme://…`, `www.…` and e-mail addresses,
      // and @names notify people): a zero-width space (as an entity) breaks `scheme://`, entities
      // spell the `.` of `www.` and every `@`.
      .replace(/\b([a-z][a-z0-9+.-]*):\/\//gi, '$1:/&#8203;/')
      .replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}&#46;`)
      .replace(/@/g, '&#64;')
  )
}

const MD_HEADER =
  '| time (UTC) | event | source | actor | source IP | region | error | findings |\n|---|---|---|---|---|---|---|---|\n'

function mdRow(e: TimelineEvent): string {
  const actor = e.actor.arn ?? e.actor.invokedBy ?? e.actor.type ?? ''
  const cells = [
    e.time,
    e.name + (e.fir ? ' (fir)' : ''),
    e.source,
    actor,
    e.sourceIp ?? '',
    e.region ?? '',
    e.error ? e.error.code : '',
    e.findings.map((f) => `${f.level}: ${f.title}`).join('; '),
  ]
  return `| ${cells.map(mdCell).join(' | ')} |\n`
}

// ---- Timesketch -----------------------------------------------------------------------------

/** A one-line description of an event (findings.json `summary`, Timesketch `message`). */
export function eventSummary(e: TimelineEvent): string {
  const service = e.source.replace(/\.amazonaws\.com$/, '')
  const actor =
    e.actor.arn ?? (e.actor.invokedBy ? `service ${e.actor.invokedBy}` : (e.actor.type ?? 'unknown caller'))
  const target = summaryTarget(e)
  return `${service}:${e.name}${target ? ` on ${target}` : ''} by ${actor}${e.sourceIp ? ` from ${e.sourceIp}` : ''}${e.error ? ` failed (${e.error.code})` : ''}${e.fir ? ' [fir]' : ''}`
}

function summaryTarget(e: TimelineEvent): string | undefined {
  const p = e.requestParameters as Record<string, unknown> | null
  if (p && typeof p === 'object') {
    for (const key of [
      'functionName',
      'roleName',
      'roleArn',
      'userName',
      'bucketName',
      'secretId',
      'policyArn',
      'name',
      'trailName',
    ]) {
      const v = p[key]
      if (typeof v === 'string' && v.length > 0) return scrubAndCut(v, 200, '')
    }
  }
  const r = e.resources[0] as Record<string, unknown> | undefined
  if (r && typeof r.ARN === 'string') return scrubAndCut(r.ARN, 200, '')
  return undefined
}

function timesketchLine(e: TimelineEvent, raw: boolean): string {
  const t = Date.parse(e.time)
  const doc: Record<string, unknown> = {
    message: eventSummary(e),
    datetime: e.time,
    timestamp: t * 1000,
    timestamp_desc: 'Event Time',
    data_type: 'aws:cloudtrail:event',
    event_id: e.id,
    event_name: e.name,
    event_source: e.source,
    aws_region: e.region,
    account: e.account,
    actor_type: e.actor.type,
    actor_arn: e.actor.arn,
    session_name: e.actor.sessionName,
    access_key_id: e.actor.accessKeyId,
    invoked_by: e.actor.invokedBy,
    source_ip: e.sourceIp,
    user_agent: e.userAgent,
    read_only: e.readOnly,
    error_code: e.error?.code ?? null,
    origin: e.origin,
    fir: e.fir,
    tag: e.findings.map((f) => `${f.level}:${f.title}`),
    findings: e.findings,
  }
  if (raw) doc.raw = e.raw
  return `${jsonText(redactor.scrubDeep(doc))}\n`
}

// ---- the writer -----------------------------------------------------------------------------

/** Formats events one at a time for an export (header, rows, footer). */
export class Exporter {
  constructor(
    readonly format: ExportFormat,
    private readonly raw: boolean,
  ) {}

  header(): string {
    if (this.format === 'csv')
      return `${[...CSV_COLUMNS, ...(this.raw ? ['raw'] : [])].map(csvCell).join(',')}\r\n`
    if (this.format === 'md') return `# fir timeline\n\n${MD_HEADER}`
    return ''
  }

  row(event: TimelineEvent): string {
    switch (this.format) {
      case 'jsonl':
        return `${jsonText(redactor.scrubDeep(this.raw ? event : withoutRaw(event)))}\n`
      case 'csv':
        return csvRow(event, this.raw)
      case 'md':
        return mdRow(event)
      case 'timesketch':
        return timesketchLine(event, this.raw)
    }
  }

  footer(count: number): string {
    if (this.format === 'md') return `\n${count} event${count === 1 ? '' : 's'}.\n`
    return ''
  }
}
