/**
 * What a terminal or viewer acts on though it prints nothing, or prints as nothing: C1 controls,
 * DEL, the line and paragraph separators (U+2028, U+2029), every format character (Unicode `Cf`:
 * zero-width characters, bidi overrides and isolates, the Arabic letter mark, the byte order mark,
 * the soft hyphen, word joiners, tag characters), every other default-ignorable code point
 * (Hangul fillers, variation selectors), and the visible characters whose glyph is blank though
 * they are not spaces (U+2800 braille pattern blank, U+1D159 musical symbol null notehead):
 * `ad\u2060min` and `admin\u2800` must not pass for `admin`. One list for every escaping below
 * (the regular expressions take the `u` flag).
 */
const INVISIBLE = '\\u007f-\\u009f\\u2028\\u2029\\u2800\\u{1d159}\\p{Cf}\\p{Default_Ignorable_Code_Point}'

/** The invisible characters above. */
export const INVISIBLE_CHARS = new RegExp(`[${INVISIBLE}]`, 'gu')

/** Whether a text holds one of the invisible characters above (no `g` flag: test keeps no state). */
const HOLDS_INVISIBLE = new RegExp(`[${INVISIBLE}]`, 'u')

/** C0 controls (ANSI escapes, line breaks, tabs) and the invisible characters above. */
export const CONTROL_OR_INVISIBLE = new RegExp(`[\\u0000-\\u001f${INVISIBLE}]`, 'gu')

/** A character as visible text: `\xNN` up to U+00FF, else `\u{…}`. */
export function visibleCode(ch: string): string {
  const code = ch.codePointAt(0) ?? 0
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
}

/**
 * Escapes a value for a terminal: C0/C1 control characters (ANSI escapes included), DEL, the
 * Unicode line and paragraph separators (U+2028, U+2029), zero-width characters and bidi overrides
 * become visible `\xNN` / `\u{…}` text, so an attacker-controlled field cannot move the cursor,
 * recolour, break a line, hide text or rewrite what the responder sees.
 * Newlines and tabs are escaped too unless `keepNewlines` is set (used for our own multi-line text).
 */
export function escapeTerminal(value: unknown, keepNewlines = false): string {
  const s = typeof value === 'string' ? value : value === undefined ? '' : String(value)
  return s.replace(CONTROL_OR_INVISIBLE, (ch) => {
    if (keepNewlines && (ch === '\n' || ch === '\t')) return ch
    if (ch === '\n') return '\\n'
    if (ch === '\r') return '\\r'
    if (ch === '\t') return '\\t'
    if (ch === '\u001b') return '\\e'
    return visibleCode(ch)
  })
}

/**
 * JSON text (from JSON.stringify) with the characters it leaves raw that a terminal or a viewer
 * acts on — C1 controls, DEL, line and paragraph separators (U+2028, U+2029: line breaks to
 * editors and to JavaScript before ES2019), zero-width characters, bidi overrides — written as
 * `\uXXXX` escapes: still valid JSON, and the same values once parsed.
 */
export function escapeJsonText(text: string): string {
  // ASCII text holds none of them but DEL, and saying so is the cheapest scan of a string there
  // is (a tenth of the replace's, measured on a timeline line): every other character is more
  // than one byte of UTF-8.
  if (Buffer.byteLength(text) === text.length && !text.includes('\u007f')) return text
  // A character past U+FFFF (a tag character) is two \\u escapes, one per UTF-16 unit.
  return text.replace(INVISIBLE_CHARS, (c) =>
    Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(
      '',
    ),
  )
}

/**
 * Whether UTF-8 bytes hold one of the characters escapeJsonText escapes. Only their runs of
 * non-ASCII bytes (each whole characters, in valid UTF-8) are decoded and looked at: found in the
 * bytes read as Latin-1, a one-byte string, which a regular expression scans several times faster
 * than decoded text holding any character past U+00FF (a record in Chinese took 11 µs, measured).
 */
export function holdsInvisibleUtf8(bytes: Buffer): boolean {
  const latin1 = bytes.toString('latin1')
  if (latin1.includes('\u007f')) return true
  for (const run of latin1.matchAll(NON_ASCII_RUN)) {
    if (HOLDS_INVISIBLE.test(bytes.toString('utf8', run.index, run.index + run[0].length))) return true
  }
  return false
}

const NON_ASCII_RUN = /[\u0080-\u00ff]+/g

/**
 * A value as the JSON text fir writes, to a terminal (`--json`), to an export or into the case
 * (journal lines, timeline files, sweep results, case.json, a rotated key's file): JSON.stringify's
 * text (`indent` as its third argument), written through escapeJsonText, so that a responder who
 * runs `cat`, `tail` or `grep` on a case file gets no attacker-chosen control character or bidi
 * override on their terminal. The same value once parsed. Not for evidence/, which keeps AWS's
 * responses verbatim.
 */
export function jsonText(value: unknown, indent?: number): string {
  return escapeJsonText(JSON.stringify(value, null, indent))
}

/** A UTC timestamp safe as a folder name: 20261128T201503.123Z */
export function compactUtc(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '')
}

/** Pads a table of cells into aligned columns (cells must already be escaped). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/**
 * A value as one shell word, for the commands fir suggests (`Next: fir snapshot … --case …`):
 * single-quoted when it holds anything but plain path characters, so a case folder with a space
 * still pastes as one argument.
 */
export function shellArg(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`
}

/** A size for people: kB below a megabyte, else MB (decimal, one decimal place). */
export function byteSize(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`
}

/** `1 journal entry`, `3 journal entries`: a count with its noun in the right number. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`
}

/** `1, 2, 3, 4, 5 and 95 more`: the first few items, the rest counted (a function may have hundreds of versions). */
export function firstFew(items: readonly string[], shown = 5): string {
  const more = items.length - shown
  return more > 0 ? `${items.slice(0, shown).join(', ')} and ${more} more` : items.join(', ')
}

/** `a`, `a and b`, `a, b and c` (no comma before `and`); `''` for none. */
export function joinNames(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

/** `text` as a regular expression that matches it literally (every character with a meaning escaped). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/**
 * Does an IAM-style pattern (`*` any run of characters, `?` one) match `value` whole? Policies
 * write actions, resources and ARN fields so (`iam:*`, `arn:aws:secretsmanager:*:1:secret:db-*`).
 */
export function wildcardMatches(
  pattern: string,
  value: string,
  options: { ignoreCase?: boolean } = {},
): boolean {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${body}$`, options.ignoreCase ? 'i' : '').test(value)
}
