const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '@': '&#64;',
  '#': '&#35;',
}

/**
 * Escapes text for GitHub-flavoured Markdown so that it renders as the same text, inline or in a
 * table cell: no emphasis, links, images, code spans, HTML, autolinked `<…>` or broken tables.
 *
 * - Markdown punctuation that acts inline (`\ ` * _ ~ [ ] |`) gets a backslash.
 * - `<`, `>`, `&`, `"` become entities, so no raw HTML and no `<url>` autolink can form; `@` and
 *   `#` too, so no @mention or #issue reference pings anyone from a ticket.
 * - A value is always one line: newlines become `<br>` (our own markup, added after escaping).
 * - Block syntax only acts at the start of a line, so the start of the value is neutralised:
 *   list markers (`-`, `+`, `1.`, `1)`), `---` and leading spaces (`#`, `>`, `*`, `_` are
 *   handled everywhere already).
 * - `://` and `www.` are broken up so bare URLs in attacker-controlled text are not autolinked.
 */
export function escapeMarkdown(value: unknown): string {
  if (value === null || value === undefined) return ''
  let s = typeof value === 'string' ? value : String(value)
  s = s
    .replace(/\r\n?/g, '\n')
    .replace(/[\\`*_~[\]|&<>"@#]/g, (c) => ENTITIES[c] ?? `\\${c}`)
    // After the pass above, so the entities added here are not escaped again.
    .replace(/:\/\//g, '&#58;//')
    .replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}&#46;`)
  s = s.replace(/^[ \t]+/, (ws) => ws.replace(/ /g, '&#32;').replace(/\t/g, '&#9;'))
  // A list marker needs a space after it (or nothing); `---` is a thematic break.
  s = s.replace(/^([+-])(?=[\s-]|$)/, '\\$1').replace(/^(\d{1,9})([.)])(?=\s|$)/, '$1\\$2')
  return s.replace(/\n/g, '<br>')
}
