import { isIP } from 'node:net'
import { sha256Hex } from './hash.js'
import { escapeRegExp, escapeTerminal, jsonText } from './text.js'

/** The redacted form of a secret value: `‹redacted len=N sha256:xxxxxxxx›` (DESIGN §1, Secrets). */
export function redactValue(value: string): string {
  return `‹redacted len=${value.length} sha256:${sha256Hex(value).slice(0, 8)}›`
}

/** An access key id shortened for display, e.g. `AKIA…XYZ1` (key ids are not secret). */
export function shortKeyId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id
}

const SECRET_NAME =
  /(secret|passw(or)?d|passphrase|pwd|token|api[_-]?key|private[_-]?key|credential|auth|session|signing|client[_-]?secret|access[_-]?key|conn(ection)?[_-]?str|dsn|webhook|cookie|salt|bearer)/i
/** A libpq keyword/value connection string with a password: `host=db user=app password=pw dbname=x`. */
const LIBPQ_WITH_PASSWORD =
  /^(?=.*(?:^|\s)password\s*=\s*\S)(?=.*(?:^|\s)(?:host|hostaddr|dbname|user|port|service)\s*=)/is
const SECRET_VALUE_PATTERNS: { kind: string; re: RegExp }[] = [
  { kind: 'aws-secret-access-key', re: /^[A-Za-z0-9/+=]{40}$/ },
  { kind: 'private-key', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { kind: 'jwt', re: /^eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*$/ },
  { kind: 'github-token', re: /^(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})$/ },
  { kind: 'slack-token', re: /^xox[abposr]-[A-Za-z0-9-]{10,}$/ },
  { kind: 'stripe-key', re: /^(sk|rk)_(live|test)_[A-Za-z0-9]{16,}$/ },
  { kind: 'anthropic-api-key', re: /^sk-ant-[A-Za-z0-9_-]{32,}$/ },
  { kind: 'openai-api-key', re: /^sk-((proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,})$/ },
  { kind: 'google-api-key', re: /^AIza[A-Za-z0-9_-]{35}$/ },
  { kind: 'npm-token', re: /^npm_[A-Za-z0-9]{36}$/ },
  { kind: 'sendgrid-api-key', re: /^SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}$/ },
  // Azure storage, Service Bus and Event Hubs connection strings carry the account key inline.
  { kind: 'connection-string-with-key', re: /(^|;)\s*(AccountKey|SharedAccessKey)=[^;\s]{8,}/i },
  // ADO.NET, ODBC and SQL Server JDBC connection strings: `…;User Id=sa;Password=…;`, `PWD=…`.
  { kind: 'connection-string-with-password', re: /(^|;)\s*(password|pwd)\s*=\s*[^;\s]/i },
  { kind: 'connection-string-with-password', re: LIBPQ_WITH_PASSWORD },
  // The user name may be empty: `redis://:password@host`.
  { kind: 'url-with-password', re: /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i },
  // JDBC and libpq URLs may carry it in the query: `?user=app&password=…`.
  { kind: 'url-with-password', re: /[?&](password|passwd|pwd)=[^&#;\s]/i },
  { kind: 'aws-session-token', re: /^(IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz)[A-Za-z0-9/+=]{50,}$/ },
]
const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{16}$/
/** Last words of a name that make it a password (DB_PASS, SMTP_PASSWORD, dbPassphrase). */
const PASSWORD_WORDS = new Set(['password', 'passwd', 'pass', 'passphrase', 'pwd'])
/** Words of a name short for credentials (SMTP_CREDS, dbCred), which SECRET_NAME's `credential` misses. */
const CREDENTIAL_WORDS = new Set(['cred', 'creds'])
/**
 * Words before a final `KEY` that make it something other than a secret: a public half, a
 * database or cache key name, an S3 object key, a KMS key (whose value is an id, ARN or alias).
 */
const NOT_SECRET_KEY_WORDS = new Set([
  'public',
  'pub',
  'publishable',
  'site',
  'partition',
  'sort',
  'hash',
  'range',
  'cache',
  'idempotency',
  'dedup',
  'deduplication',
  'routing',
  'shard',
  'group',
  'lookup',
  'index',
  'foreign',
  's3',
  'object',
  'bucket',
  'kms',
  'cmk',
  'sse',
  'ssm',
  'param',
  'parameter',
])
/** Last words of a name that locate or describe a secret rather than hold it (TOKEN_PREFIX). */
const LOCATOR_WORDS = new Set(['alias', 'prefix', 'file'])
/** JSON values larger than this are not parsed for secret fields (an environment is at most 4 KB). */
const JSON_SCAN_LIMIT = 64 * 1024

export interface SecretVerdict {
  secret: boolean
  kind?: string
  accessKeyId?: boolean
}

/** The words of a variable name, lower-cased: DB_PASSWORD and dbPassword → db, password. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
}

/**
 * Decides whether an environment variable (or any named value) looks like a secret, from its name
 * and its value. Access key ids are reported separately: they are not secret, but they identify a
 * long-term key to rotate.
 */
export function classifyValue(name: string, value: string): SecretVerdict {
  return classify(name, value, SECRET_NAME)
}

/**
 * `secretName` is the name test beyond passwords and keys: the broad SECRET_NAME for a variable,
 * a narrower one for the fields of a JSON value, where names like tokenUrl or authority are common.
 */
function classify(name: string, value: string, secretName: RegExp): SecretVerdict {
  const trimmed = value.trim()
  if (ACCESS_KEY_ID.test(trimmed)) return { secret: false, accessKeyId: true, kind: 'aws-access-key-id' }
  // An IP address is an address, whatever the variable is called. Were it a secret, it would be
  // redacted wherever it stands: an intruder who sets DB_PASSWORD to their own address in the
  // function's environment would take it out of every caller's sourceIPAddress in the timeline.
  if (isIP(trimmed) !== 0) return { secret: false }
  for (const p of SECRET_VALUE_PATTERNS) if (p.re.test(trimmed)) return { secret: true, kind: p.kind }
  if (jsonHoldsSecret(trimmed)) return { secret: true, kind: 'json-with-secret' }
  const words = nameWords(name)
  const last = words.at(-1) ?? ''
  // A variable that names or locates a secret (DB_SECRET_ID, TOKEN_ARN) holds no secret itself.
  const namesASecret =
    ((/(_|-)?(id|arn|name|names|region|path|key_id)$/i.test(name) && !/^(api[_-]?)?key$/i.test(name)) ||
      LOCATOR_WORDS.has(last)) &&
    !PASSWORD_WORDS.has(last)
  // An ARN names a resource; it is never the secret itself, whatever the variable is called.
  if (namesASecret || /^arn:aws[a-z-]*:/.test(trimmed) || /^(true|false|null|none)$/i.test(trimmed)) {
    return { secret: false }
  }
  // PWD (SHELL_PWD…) holding an absolute path is a working directory, not a password: as a secret,
  // /var/task would be redacted from every path fir shows.
  if (last === 'pwd' && /^(\/|~\/|[A-Za-z]:\\)/.test(trimmed)) return { secret: false }
  // A password is a password even when it is short or all digits (PASSWORD=12345). A bare PWD is
  // the shell's working directory, so it is left to the general name test.
  if (PASSWORD_WORDS.has(last) && !(last === 'pwd' && words.length === 1)) {
    return { secret: true, kind: 'secret-by-name' }
  }
  const keyByName = last === 'key' && !NOT_SECRET_KEY_WORDS.has(words.at(-2) ?? '')
  const credentialByName = words.some((w) => CREDENTIAL_WORDS.has(w))
  if (
    (keyByName || credentialByName || secretName.test(name)) &&
    trimmed.length >= 6 &&
    !/^\d{1,5}$/.test(trimmed)
  ) {
    return { secret: true, kind: 'secret-by-name' }
  }
  return { secret: false }
}

/** JSON field names that hold a secret (beyond passwords and keys): clientSecret, access_token. */
const SECRET_FIELD = /(secret|token|credentials?|api[_-]?key)$/i

/** A JSON object or array with a field that is itself secret by name or value ({"password": …}). */
function jsonHoldsSecret(value: string): boolean {
  return jsonSecretFields(value, true).length > 0
}

/** Deeper JSON is not walked: no configuration nests so deep, and the walk is recursive. */
const JSON_SCAN_DEPTH = 64

/**
 * The values in a JSON object or array (given as text) that are secret by their field's name or
 * by their own form, as classifyValue judges a field (`{"db":{"password":"…"}}` → the password; a
 * number as its text). `first`: stop at the first one found.
 */
export function jsonSecretFields(value: string, first = false): string[] {
  const text = value.trim()
  if (!/^[[{]/.test(text) || text.length > JSON_SCAN_LIMIT) return []
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return []
  }
  const found: string[] = []
  const walk = (node: unknown, key: string, depth: number): boolean => {
    const leaf = typeof node === 'string' ? node : typeof node === 'number' ? String(node) : undefined
    if (leaf !== undefined) {
      if (leaf !== '' && classify(key, leaf, SECRET_FIELD).secret) found.push(leaf)
      return first && found.length > 0
    }
    if (depth >= JSON_SCAN_DEPTH) return false
    if (Array.isArray(node)) return node.some((v) => walk(v, key, depth + 1))
    if (node && typeof node === 'object') return Object.entries(node).some(([k, v]) => walk(v, k, depth + 1))
    return false
  }
  walk(doc, '', 0)
  return found
}

/**
 * Characters a JSON writer may put escaped: what JSON requires (`"`, `\`, control characters),
 * what some writers escape by choice (`/`; `<`, `>`, `&`, `'`, `+`, `` ` `` in Go's and .NET's),
 * and every character beyond ASCII (Python's ensure_ascii, .NET). Any other character stands in
 * JSON text as itself.
 */
const MAY_BE_ESCAPED = /["\\/<>&'+`\u0000-\u001f\u007f-\u{10ffff}]/u
const SHORT_ESCAPE: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
}

/**
 * Every way one character (a code point) of a secret may be written in text fir prints or stores:
 * as itself; escaped once, as JSON (a field of a JSON document: `\"`, `\\`, `\n`, `\u00e4` in either
 * case of hex digit; a character beyond the BMP as its surrogate pair) or as fir shows a control
 * character on a terminal (escapeTerminal: `\e`, `\x07`, `\u{2028}`); and twice (JSON held in a
 * string of a JSON document, as CloudTrail holds a JSON-valued parameter: `\\\"`, `\\u00e4`).
 */
function characterForms(ch: string): string[] {
  if (!MAY_BE_ESCAPED.test(ch)) return [ch]
  const units = Array.from({ length: ch.length }, (_, i) => ch.charCodeAt(i).toString(16).padStart(4, '0'))
  const lower = units.map((u) => `\\u${u}`).join('')
  const upper = lower.toUpperCase().replaceAll('\\U', '\\u')
  const terminal = escapeTerminal(ch)
  const once = [SHORT_ESCAPE[ch], lower, upper, terminal === ch ? undefined : terminal].filter(
    (f): f is string => f !== undefined,
  )
  const twice = once.map((f) => f.replace(/[\\"]/g, '\\$&'))
  return [...new Set([ch, ...once, ...twice])]
}

/** A secret as a regular expression: every form of it (see characterForms). */
function secretPattern(value: string): string {
  let out = ''
  for (const ch of value) {
    const forms = characterForms(ch)
    out +=
      forms.length === 1
        ? escapeRegExp(ch)
        : `(?:${forms
            .sort((a, b) => b.length - a.length)
            .map(escapeRegExp)
            .join('|')})`
  }
  return out
}

/** Values this long or longer are scrubbed wherever they stand, inside words and other values too. */
const ANYWHERE_FROM = 6
const PERCENT_ESCAPE = /%[0-9A-F]{2}/g

/**
 * The texts other than itself that give a secret away, as a tool carries it out, each a whole text
 * the Redactor scrubs as the value: it percent-encoded (encodeURIComponent's form, and with
 * lower-case hex), as it stands in a URL's query or a form. Nothing for a value shorter than
 * ANYWHERE_FROM, which is scrubbed only as a whole token. Each form is one more literal text in
 * scrub's one pattern, not an alternative at every character: a hunt scrubs every line it stores.
 * Not its base64, a PEM key's body or a token's payload or signature: each text that begins
 * otherwise than the value defeats the pattern's skip-ahead, and scrubbing stored lines took from
 * 1.4 to over 6 times as long (a PEM key's base64 pushed the pattern past what V8 optimises).
 */
function encodedForms(value: string): string[] {
  if (value.length < ANYWHERE_FROM) return []
  let percent: string
  try {
    percent = encodeURIComponent(value)
  } catch {
    // A lone surrogate has no UTF-8 form: no encoder writes one.
    return []
  }
  const forms = new Set([percent, percent.replace(PERCENT_ESCAPE, (m) => m.toLowerCase())])
  forms.delete(value)
  return [...forms]
}

/**
 * Values shorter than this are not scrubbed from text at all. classifyValue calls a value of one
 * or two characters secret only by a password's name (PASSWORD=1, DB_PASS=ab): as a token it
 * stands in nearly every line (a count, a day or an hour, an octet, a one-letter word), so
 * scrubbing it would wreck every output, and its marker (length and hash) gives it away to anyone
 * who tries a few thousand values anyway. It is shown redacted where it is known as a whole value
 * (the snapshot's findings), nowhere else.
 */
const SCRUBBED_FROM = 3
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u
/** What ends an escape (`\n`, `\u00e9`, `\x07`, `\e`, in JSON or terminal text): its last letter is not the text's. */
const ESCAPE_END = /\\(?:[bfnrte]|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2})$/
const ALL_DIGITS = /^\d+$/
/** A marker already in the text (scrubbed once before): kept as it is, never scrubbed inside. */
const MARKER = '‹redacted len=\\d+ sha256:[0-9a-f]{8}›'

const HOLDS_MARKER = new RegExp(MARKER)

const WHOLE_MARKER = new RegExp(`^${MARKER}$`)

/** Whether a value is a redaction marker alone, as the journal keeps a secret value whole. */
export function isRedaction(value: unknown): boolean {
  return typeof value === 'string' && WHOLE_MARKER.test(value)
}

/** Whether a value (a string, or any string inside it) holds a redaction marker. */
export function holdsRedaction(value: unknown): boolean {
  return HOLDS_MARKER.test(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''))
}

const MARKER_PARTS = /‹redacted len=(\d+) sha256:([0-9a-f]{8})›/g

/**
 * Whether `value` (a state read from AWS) is `kept` (a state as the journal keeps it) with each
 * redaction marker in it standing for a value of the marker's length and hash: the value put back
 * by hand after a restore could not put it back, whether or not this process knows the secret.
 * Compared part by part; a string without a marker must be equal, as every other value.
 */
export function matchesRedacted(value: unknown, kept: unknown): boolean {
  if (typeof kept === 'string' && HOLDS_MARKER.test(kept)) {
    if (typeof value !== 'string' && typeof value !== 'number') return false
    const hashes: string[] = []
    let pattern = ''
    let done = 0
    for (const m of kept.matchAll(MARKER_PARTS)) {
      pattern += `${escapeRegExp(kept.slice(done, m.index))}([\\s\\S]{${m[1]}})`
      hashes.push(m[2]!)
      done = m.index + m[0].length
    }
    const found = new RegExp(`^${pattern}${escapeRegExp(kept.slice(done))}$`).exec(String(value))
    return found !== null && hashes.every((h, i) => sha256Hex(found[i + 1]!).startsWith(h))
  }
  if (Array.isArray(kept))
    return (
      Array.isArray(value) &&
      value.length === kept.length &&
      kept.every((k, i) => matchesRedacted(value[i], k))
    )
  if (kept && typeof kept === 'object') {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return false
    const defined = (o: object) => Object.entries(o).filter(([, v]) => v !== undefined)
    const have = new Map(defined(value))
    const want = defined(kept)
    return have.size === want.length && want.every(([k, v]) => have.has(k) && matchesRedacted(have.get(k), v))
  }
  return value === kept
}

/** The code point that ends at `end` (a surrogate pair whole). */
function codePointBefore(text: string, end: number): string {
  const low = text.charCodeAt(end - 1)
  return low >= 0xdc00 && low <= 0xdfff && end >= 2 ? text.slice(end - 2, end) : text.slice(end - 1, end)
}

/**
 * Does `text[start, end)`, a short value's match, stand as a whole token: neither side a letter or
 * a digit (an escape's last letter before it does not count)? A value that begins or ends with a
 * digit is also not taken out of a longer number, date, time, address or version (`2025-03-01`,
 * `10.0.1234.5`): a PIN of 2025 would otherwise cut the year out of every time fir prints or
 * stores, and stored times would no longer parse.
 */
function standsAlone(text: string, start: number, end: number): boolean {
  const before = codePointBefore(text, start)
  if (LETTER_OR_DIGIT.test(before) && !ESCAPE_END.test(text.slice(Math.max(0, start - 6), start)))
    return false
  const after = String.fromCodePoint(text.codePointAt(end) ?? 32)
  if (LETTER_OR_DIGIT.test(after)) return false
  if (/\d/.test(text[start] ?? '') && /\d[.:/-]$/.test(text.slice(Math.max(0, start - 2), start)))
    return false
  if (/\d/.test(text[end - 1] ?? '') && /^[.:/-]\d/.test(text.slice(end, end + 2))) return false
  return true
}

/** An occurrence of a protected identifier in a text: whether no intruder chose it (see Redactor.protect). */
interface ProtectedSpan {
  from: number
  to: number
  even: boolean
}

/**
 * The process-wide list of secret values seen so far (from environments, secrets, rotated keys).
 * Every output path (stdout, stderr, --json, journal, exports, reports) passes text through
 * `scrub`, so a value registered here can never leave evidence/ verbatim, nor JSON-escaped: much
 * of that text is JSON already (a stored event, an export line, a cell holding request
 * parameters), where a secret with a `"`, a `\`, a control character or a letter beyond ASCII
 * stands escaped (see characterForms). A value shorter than six characters is scrubbed where it
 * stands as a whole token (`ab12x`, but not `ab12xyz`), one shorter than three nowhere (see
 * SCRUBBED_FROM).
 */
export class Redactor {
  private readonly values = new Set<string>()
  /** The other texts of the values (see encodedForms), each with the value it stands for. */
  private readonly forms = new Map<string, string>()
  /** The values and their forms, in the order of the pattern's groups (longest first). */
  private order: string[] = []
  private pattern: RegExp | undefined
  /** By index i: a sticky pattern of the values after order[i] (see scrub). */
  private readonly after = new Map<number, RegExp>()
  /** Public identifiers (see protect): whether one equal to a secret still spares it, and its pattern once made. */
  private readonly identifiers = new Map<string, { even: boolean; re?: RegExp }>()

  register(value: string): void {
    if (value.length < SCRUBBED_FROM || this.values.has(value)) return
    this.values.add(value)
    this.pattern = undefined
    this.after.clear()
    // A JSON value (APP_CONFIG={"db":{"password":…}}) is registered by its secret fields too:
    // CloudTrail may carry the document again with another field changed, or spaced or escaped
    // otherwise, the password in it unchanged. So is a URL or connection string by its password.
    for (const field of jsonSecretFields(value)) this.register(field)
    for (const password of embeddedPasswords(value)) this.register(password)
    // Its encodings and the parts that give it away are scrubbed as the value itself: the marker
    // says which secret left (its length and hash), in whatever form it was carried.
    for (const form of encodedForms(value)) if (!this.forms.has(form)) this.forms.set(form, value)
  }

  get size(): number {
    return this.values.size
  }

  /**
   * Registers a public identifier of a resource fir names (a function's name and ARN, its role's,
   * the account, the region, a mapping's UUID and source ARN, a layer's ARN, a URL's address): a
   * secret that stands inside an occurrence of it is left there as it is, so the identifier is
   * never cut (DESIGN §1, Secrets). An intruder sets the environment: a DB_PASSWORD equal to the
   * function's name, or to a part of it, would otherwise turn every target, ARN and role name
   * fir prints and journals into a marker, and restore could name nothing it changed. The secret
   * is still scrubbed everywhere else, also beside the identifier (`DB_PASSWORD=orders` in a
   * description of function `orders-api`), and where it is longer than the identifier.
   *
   * `evenIfSecret` marks the names no intruder chooses after the fact (the function's own name and
   * ARN, the account and region, what AWS generates, AWS's fixed words): they spare any secret in
   * them, one equal to them too. One an intruder can make at will (an alias, a statement's text, a
   * role, layer or queue name) spares only a secret that such a name holds as well (`billing` of
   * function `billing-api` in its role `billing-api-role`): an alias named `pw-<DB_PASSWORD>` must
   * not print the password in every report.
   */
  protect(identifier: string, options: { evenIfSecret?: boolean } = {}): void {
    if (identifier.length < SCRUBBED_FROM) return
    const known = this.identifiers.get(identifier)
    if (known) known.even ||= options.evenIfSecret === true
    else this.identifiers.set(identifier, { even: options.evenIfSecret === true })
  }

  /**
   * Whether a secret stands inside an identifier no intruder chose (the function's own name, the
   * account…): printed with it anyway, it may be left in the other identifiers too.
   */
  private isPublic(value: string): boolean {
    for (const [id, known] of this.identifiers) if (known.even && id.includes(value)) return true
    return false
  }

  /**
   * The spans of `text` that are an occurrence of a protected identifier, in any of the forms a
   * secret is found in (see characterForms). Occurrences may overlap: each one is found.
   */
  private protectedSpans(text: string): ProtectedSpan[] {
    const spans: ProtectedSpan[] = []
    for (const [id, known] of this.identifiers) {
      known.re ??= new RegExp(secretPattern(id), 'g')
      const re = known.re
      re.lastIndex = 0
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        spans.push({ from: m.index, to: m.index + m[0].length, even: known.even })
        re.lastIndex = m.index + 1
      }
    }
    return spans
  }

  scrub(text: string): string {
    if (this.values.size === 0) return text
    if (!this.pattern) {
      // Longest first: where one secret holds another, the whole is taken. One group a text (a
      // value or an encoded form of one), so a match in any of its forms is redacted as the value
      // itself (its length and hash).
      this.order = [...new Set([...this.values, ...this.forms.keys()])].sort((a, b) => b.length - a.length)
      this.pattern = new RegExp([MARKER, ...this.order.map((v) => `(${secretPattern(v)})`)].join('|'), 'g')
    }
    const re = this.pattern
    re.lastIndex = 0
    let out = ''
    let done = 0
    // Found once a secret stands in the text (the usual text holds none).
    let spans: ProtectedSpan[] | undefined
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const group = m.findIndex((g, k) => k > 0 && g !== undefined)
      // A marker from an earlier scrub matches no group.
      if (group < 0) continue
      let i = group - 1
      let found: RegExpExecArray | null = m
      // A short value that is no token here: a shorter value may still be one at the same place.
      while (found && !this.standsHere(this.order[i]!, text, m.index, m.index + found[0].length)) {
        const from = i
        found = this.stickyAfter(from, text, m.index)
        if (found) i = from + found.findIndex((g, k) => k > 0 && g !== undefined)
      }
      if (!found) {
        // Another value may still start inside what was matched.
        re.lastIndex = m.index + 1
        continue
      }
      const value = this.order[i]!
      const end = m.index + found[0].length
      spans ??= this.identifiers.size > 0 ? this.protectedSpans(text) : []
      if (spans.some((p) => p.from <= m.index && end <= p.to && (p.even || this.isPublic(value)))) {
        // Inside a public identifier: left as it is. Another value may still start inside it and
        // run past its end.
        re.lastIndex = m.index + 1
        continue
      }
      re.lastIndex = end
      // A text registered as a value is its own, also when it is another's encoding.
      let marker = redactValue(this.values.has(value) ? value : (this.forms.get(value) ?? value))
      // A value of digits alone standing as a JSON number (`"port":1234`) becomes a string, so
      // JSON text stays JSON.
      if (
        /^\d+$/.test(value) &&
        /[:,[]\s*$/.test(text.slice(Math.max(0, m.index - 16), m.index)) &&
        /^\s*([,}\]]|$)/.test(text.slice(end, end + 16))
      ) {
        marker = `"${marker}"`
      }
      out += text.slice(done, m.index) + marker
      done = end
    }
    return done === 0 ? text : out + text.slice(done)
  }

  /**
   * Whether a match of `value` at `text[start, end)` is redacted there: a value of six characters
   * or more anywhere, except that one of digits alone is not cut out of a longer number (`"ts":
   * 91234567`, a fraction, an exponent, a negative JSON number): the marker would leave invalid
   * JSON in a stored line, which then stops every reader of the timeline. A shorter value only
   * where it stands as a whole token (standsAlone).
   */
  private standsHere(value: string, text: string, start: number, end: number): boolean {
    if (value.length < ANYWHERE_FROM) return standsAlone(text, start, end)
    if (!ALL_DIGITS.test(value)) return true
    const before = text.slice(Math.max(0, start - 18), start)
    const after = text.slice(end, end + 3)
    return !(/(\d|\d\.)$/.test(before) || /^(\d|\.\d|[eE][+-]?\d)/.test(after) || /[:,[]\s*-$/.test(before))
  }

  /** The first of the values after order[i] that matches exactly at `at`, or null. */
  private stickyAfter(i: number, text: string, at: number): RegExpExecArray | null {
    if (i + 1 >= this.order.length) return null
    let sticky = this.after.get(i)
    if (!sticky) {
      sticky = new RegExp(
        this.order
          .slice(i + 1)
          .map((v) => `(${secretPattern(v)})`)
          .join('|'),
        'y',
      )
      this.after.set(i, sticky)
    }
    sticky.lastIndex = at
    return sticky.exec(text)
  }

  /**
   * Deep-scrubs a JSON-like value (returns a copy): every string, every key, and every number
   * whose digits are a secret (it becomes the marker, a string). What is JSON is scrubbed this
   * way, value by value, before it is serialised, never as text: a secret chosen to look like JSON
   * (`","region":`, set in a compromised function's environment) matches the text's own quotes and
   * commas, and its marker would leave every line of a stored timeline unreadable.
   *
   * `keys: false` leaves the keys as they are, for fir's own records (the journal), whose keys are
   * field names fir and AWS define: a secret equal to one (`function`, `region`) must not take the
   * field out of the record that undo reads. `numbers: false` leaves the numbers as they are, for
   * a state fir read from AWS (a reserved concurrency, a batch size): a configuration number AWS
   * returns is no secret value, and a secret equal to it (DB_PASSWORD=100) must not take it out
   * of the prior state that undo puts back.
   */
  scrubDeep<T>(value: T, options: { keys?: boolean; numbers?: boolean } = {}): T {
    if (this.values.size === 0) return value
    const number = (n: number) => {
      if (options.numbers === false) return n
      const text = String(n)
      const clean = this.scrub(text)
      return clean === text ? n : clean
    }
    const str = (s: string) => this.scrub(s)
    return deepMap(value, str, number, options.keys === false ? (k) => k : str) as T
  }

  /**
   * A JSON text scrubbed value by value (see scrubDeep): the same text when no secret stands in
   * it in any form (the usual case, checked on the text first), else the value parsed, scrubbed and
   * serialised again as fir writes JSON (jsonText: invisible characters escaped, as they were in a
   * text fir wrote). Text that is not JSON is scrubbed as text.
   */
  scrubJsonText(text: string): string {
    if (this.values.size === 0 || this.scrub(text) === text) return text
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return this.scrub(text)
    }
    return jsonText(this.scrubDeep(value))
  }
}

/** `value` with every string value (not the keys) passed through `fn` (returns a copy). */
export function deepMapStrings(value: unknown, fn: (s: string) => string): unknown {
  return deepMap(
    value,
    fn,
    (n) => n,
    (k) => k,
  )
}

function deepMap(
  value: unknown,
  str: (s: string) => string,
  num: (n: number) => unknown,
  key: (k: string) => string,
): unknown {
  if (typeof value === 'string') return str(value)
  if (typeof value === 'number') return num(value)
  if (Array.isArray(value)) return value.map((v) => deepMap(v, str, num, key))
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      // Defined, not assigned: a record's own `__proto__` key stays a key (assigning it would set
      // the copy's prototype and drop the key).
      Object.defineProperty(out, key(k), {
        value: deepMap(v, str, num, key),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return out
  }
  return value
}

/** The one redactor of this process. */
export const redactor = new Redactor()

/** The kind of secret a value is when the case declared it leaked (a sweep's --env-value-sha256). */
const LEAKED_VALUE_KIND = 'indicator-match'

const NO_LEAKED_VALUES: ReadonlySet<string> = new Set()

/**
 * classifyValue for an environment variable, also knowing the SHA-256s (lowercase hex) of the
 * values the case declared leaked (`leakedValueHashes`): such a value is a secret whatever its
 * name or form, as the sweep that matched it treated it, so every command that reads that
 * environment after the sweep (a snapshot, the report) classifies and redacts it alike.
 */
export function classifyEnvironmentValue(
  name: string,
  value: string,
  leaked: ReadonlySet<string> = NO_LEAKED_VALUES,
): SecretVerdict {
  if (leaked.size > 0 && leaked.has(sha256Hex(value))) return { secret: true, kind: LEAKED_VALUE_KIND }
  return classifyValue(name, value)
}

/**
 * Registers with the process redactor every value of a function's environment that
 * classifyEnvironmentValue calls secret (`leaked`: the hashes of the values the case declared
 * leaked). Whatever reads a function's environment calls it before anything about that function
 * is printed or journaled: its description, a statement id or an error may quote one.
 */
export function registerEnvironmentSecrets(
  variables: Record<string, unknown> | null | undefined,
  leaked: ReadonlySet<string> = NO_LEAKED_VALUES,
): void {
  for (const [name, value] of Object.entries(variables ?? {})) {
    if (typeof value === 'string' && classifyEnvironmentValue(name, value, leaked).secret)
      redactor.register(value)
  }
}

/**
 * Protects (Redactor.protect) an ARN of a resource fir names, and the parts of it fir names on
 * their own: the account, the region, and the resource's name (a role's after its path, a
 * function's before its qualifier, a layer's).
 */
export function protectArn(arn: string | undefined, options: { evenIfSecret?: boolean } = {}): void {
  if (!arn) return
  redactor.protect(arn, options)
  const parts = arn.split(':')
  if (parts[0] !== 'arn' || parts.length < 6) return
  // The region and the account are no one's choice (see Redactor.protect).
  redactor.protect(parts[3] ?? '', { evenIfSecret: true })
  redactor.protect(parts[4] ?? '', { evenIfSecret: true })
  const resource = parts.slice(5).join(':')
  const name = resource.includes('/') ? resource.split('/').at(-1) : (parts[6] ?? resource)
  redactor.protect(name ?? '', options)
}

/**
 * Protects the public identifiers of a function as Lambda describes it (a GetFunctionConfiguration
 * answer, or a GetFunction's Configuration): its name and ARN, its role's, its layers'. Registered
 * beside its environment's secrets (registerEnvironmentSecrets), before anything about the
 * function is printed or journaled, so that a secret equal to its name, or a part of it, never
 * cuts a target, an ARN or a role name fir must name (DESIGN §1, Secrets).
 */
export function protectFunctionIdentifiers(
  config:
    | { FunctionName?: string; FunctionArn?: string; Role?: string; Layers?: { Arn?: string }[] }
    | undefined,
): void {
  if (!config) return
  // The function's own name was chosen before the intrusion: it is spared even when a secret is it.
  redactor.protect(config.FunctionName ?? '', { evenIfSecret: true })
  protectArn(config.FunctionArn, { evenIfSecret: true })
  // An intruder may swap in a role, or add a layer, named after a secret.
  protectArn(config.Role)
  for (const layer of config.Layers ?? []) protectArn(layer.Arn)
}

/**
 * `text` scrubbed, then cut to at most `max` characters, ending in `ellipsis` when cut. In this
 * order: cut first, a secret that straddles the cut leaves its head, which no scrub after can
 * recognise. The cut never falls inside a marker (it moves before it) nor between the halves of
 * a surrogate pair.
 */
export function scrubAndCut(text: string, max: number, ellipsis = '…'): string {
  const clean = redactor.scrub(text)
  if (clean.length <= max) return clean
  let cut = Math.max(0, max - ellipsis.length)
  const open = clean.lastIndexOf('‹redacted', cut)
  if (open !== -1 && clean.indexOf('›', open) >= cut) cut = open
  const last = clean.charCodeAt(cut - 1)
  if (last >= 0xd800 && last <= 0xdbff) cut--
  return `${clean.slice(0, cut)}${ellipsis}`
}

const SECRET_FLAG = /^--?(secret|password|token|show-secret-value|env-value)(=|$)/i
const ANY_SECRET_LOOKING = /\b[A-Za-z0-9/+=]{40}\b/g
/**
 * A URL's scheme and authority (up to the path, query or fragment): `userinfo@host:port` when it has
 * a userinfo. The userinfo ends at the authority's last `@` (as URL parsers read it), so a password
 * written with a raw `@` is taken whole.
 */
const URL_AUTHORITY = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"<>`\\]*)/gi

/** Where the password is in a URL's authority (`user:password@host`, the user may be empty), if any. */
function userinfoPassword(authority: string): [start: number, end: number] | undefined {
  const at = authority.lastIndexOf('@')
  const colon = authority.indexOf(':')
  if (at < 0 || colon < 0 || colon + 1 >= at) return undefined
  return [colon + 1, at]
}

/**
 * `Password=` or `Pwd=` in a connection string, its value perhaps quoted (`Password="a;b"`) or in
 * ODBC's braces (`Pwd={a;b}`).
 */
const CONNECTION_PASSWORD = /(?:^|;)\s*(?:password|pwd)\s*=\s*(\{[^}]*\}|"[^"]*"|'[^']*'|[^;]*)/gi
/** `password=` in a libpq keyword/value string (`host=db user=app password=pw dbname=x`). */
const LIBPQ_PASSWORD = /(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']+)/gi
/** `password=` in a URL's query (JDBC, libpq). */
const QUERY_PASSWORD = /[?&](?:password|passwd|pwd)=([^&#;\s]*)/gi

/**
 * The passwords inside a value: of each URL in it (`redis://:pw@host`), of a URL's query
 * (`?user=app&password=pw`), as written and, when percent-encoded, as meant; of a connection string
 * (`…;Password=pw;`, taken literally). A password may show up alone elsewhere (a CloudTrail
 * parameter, another variable), so the Redactor registers it beside the whole value.
 */
function embeddedPasswords(value: string): string[] {
  const inUrls: string[] = []
  for (const m of value.matchAll(URL_AUTHORITY)) {
    const authority = m[2] ?? ''
    const span = userinfoPassword(authority)
    if (span) inUrls.push(authority.slice(...span))
  }
  for (const m of value.matchAll(QUERY_PASSWORD)) inUrls.push(m[1] ?? '')
  const found = new Set<string>()
  for (const pw of inUrls) {
    found.add(pw)
    try {
      found.add(decodeURIComponent(pw))
    } catch {
      // Not valid percent-encoding: the password is what is written.
    }
  }
  for (const m of value.matchAll(CONNECTION_PASSWORD)) {
    const pw = (m[1] ?? '').trim()
    found.add(/^(["']).*\1$|^\{.*\}$/s.test(pw) ? pw.slice(1, -1) : pw)
  }
  if (LIBPQ_WITH_PASSWORD.test(value)) {
    for (const m of value.matchAll(LIBPQ_PASSWORD)) {
      const pw = m[1] ?? ''
      found.add(pw.startsWith("'") ? pw.slice(1, -1).replace(/\\(.)/g, '$1') : pw)
    }
  }
  found.delete('')
  return [...found]
}

/**
 * `text` with the password of every URL in it that carries one redacted: `http://admin:‹redacted
 * len=N sha256:…›@proxy:3128`. The user, host and port stay: they say where fir went, not how to
 * get in. For values that are URLs wherever they come from: a command line's arguments (after any
 * flag, or none), --endpoint-url and AWS_ENDPOINT_URL*, HTTPS_PROXY.
 */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_AUTHORITY, (whole, scheme: string, authority: string) => {
    const span = userinfoPassword(authority)
    if (!span) return whole
    const password = authority.slice(...span)
    if (password.includes('‹redacted')) return whole
    return `${scheme}${authority.slice(0, span[0])}${redactValue(password)}${authority.slice(span[1])}`
  })
}

/**
 * `NAME=value`, `NAME: value` or `NAME = "value"` inside a text, where the name ends in a word that
 * says secret (`DB_PASSWORD`, `api_token`, `GITHUB_SECRET`; not `PASSWORD_POLICY` or
 * `token_expiry`); a quoted value is taken whole. A lookahead, so pairs inside pairs are found too.
 */
const NAMED_SECRET =
  /(?=\b([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|private[_-]?key))\s*[=:]\s*(?:"([^"]+)"|'([^']+)'|([^\s,;'"`]+)))/gi

/** A git commit (40 hex digits): the shape of a secret access key, but a fact to keep. */
const COMMIT = /^[0-9a-f]{40}$/i

/**
 * The secret values inside a free text that is not a secret as a whole (a playbook input such as
 * `note=rotated AKIA… wJalr…`, an argument): each word classifyValue calls secret by its shape (a
 * secret access key, a token, a URL with a password; punctuation around it left out, a git commit
 * kept), and each value after a name that says secret (`DB_PASSWORD=hunter2`). Kept narrow: what
 * is registered disappears from everything the command prints.
 */
export function secretsInText(text: string): string[] {
  const found = new Set<string>()
  for (const m of text.matchAll(NAMED_SECRET)) {
    const value = (m[2] ?? m[3] ?? m[4] ?? '').replace(/[.!?)\]}]+$/, '')
    if (value.length >= 4) found.add(value)
  }
  // A word holding a value found by its name is that value's (`DB_PASSWORD=…`: the value alone).
  const named = [...found]
  for (const raw of text.split(/[\s,;'"`()<>[\]{}]+/)) {
    const word = raw.replace(/^[.:!?]+|[.:!?]+$/g, '')
    if (!word || COMMIT.test(word) || named.some((v) => word.includes(v))) continue
    if (classifyValue('', word).secret) found.add(word)
  }
  return [...found]
}

/**
 * A free text as fir keeps it (an input, a note, a drill's answer): the secrets inside it
 * (secretsInText) are registered with the process redactor first, so the journal, the report and
 * every output of this command show them redacted wherever they appear, and the text comes back
 * scrubbed. The one place a free text's secrets are found: what is journaled in clear cannot be
 * redacted by a later command, which does not know the value.
 */
export function redactSecretsInText(text: string): string {
  for (const secret of secretsInText(text)) redactor.register(secret)
  return redactor.scrub(text)
}

/**
 * A command line with secrets redacted: values of secret-named flags and `--input k=v` pairs whose
 * key looks secret, the password of any URL (whatever flag it follows: `--endpoint-url
 * http://user:password@host`), anything that looks like a secret access key, and every registered
 * value.
 */
export function redactArgv(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    const prev = argv[i - 1] ?? ''
    if (SECRET_FLAG.test(prev) && !prev.includes('=') && !arg.startsWith('-')) {
      out.push(redactValue(arg))
      continue
    }
    const eq = arg.match(/^(--?[A-Za-z-]+=)(.*)$/)
    if (eq && SECRET_FLAG.test(arg)) {
      out.push(`${eq[1]}${redactValue(eq[2] ?? '')}`)
      continue
    }
    const kv = arg.match(/^([A-Za-z0-9_.-]+)=(.*)$/)
    // A URL whose only secret is its password keeps the rest (below); judged without the password.
    if (kv && classifyValue(kv[1] ?? '', redactUrlPasswords(kv[2] ?? '')).secret) {
      out.push(`${kv[1]}=${redactValue(kv[2] ?? '')}`)
      continue
    }
    let shown = redactor.scrub(redactUrlPasswords(arg)).replace(ANY_SECRET_LOOKING, (m) => redactValue(m))
    // A secret inside a longer value (`--input note=DB_PASSWORD=hunter2`).
    for (const secret of secretsInText(shown)) shown = shown.split(secret).join(redactValue(secret))
    out.push(shown)
  }
  return out
}
