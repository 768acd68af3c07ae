/** A Trino/Athena lexer, enough to check that values never change a statement's structure. */
export type Token = {
  kind: 'string' | 'ident' | 'quoted' | 'number' | 'op' | 'param'
  text: string
  value?: string
}

export function lex(sql: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < sql.length) {
    const c = sql[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '-' && sql[i + 1] === '-') throw new Error(`comment at ${i}`)
    if (c === '/' && sql[i + 1] === '*') throw new Error(`block comment at ${i}`)
    if (c === ';') throw new Error(`statement separator at ${i}`)
    if (c === "'") {
      let j = i + 1
      let value = ''
      for (;;) {
        if (j >= sql.length) throw new Error('unterminated string')
        if (sql[j] === "'") {
          if (sql[j + 1] === "'") {
            value += "'"
            j += 2
            continue
          }
          break
        }
        value += sql[j]
        j++
      }
      out.push({ kind: 'string', text: sql.slice(i, j + 1), value })
      i = j + 1
      continue
    }
    if (c === '"') {
      const j = sql.indexOf('"', i + 1)
      out.push({ kind: 'quoted', text: sql.slice(i, j + 1) })
      i = j + 1
      continue
    }
    if (c === '?') {
      out.push({ kind: 'param', text: '?' })
      i++
      continue
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))
    if (word) {
      out.push({ kind: 'ident', text: word[0] })
      i += word[0].length
      continue
    }
    const num = /^\d+/.exec(sql.slice(i))
    if (num) {
      out.push({ kind: 'number', text: num[0] })
      i += num[0].length
      continue
    }
    const op = /^(->|<=|>=|<>|!=|[(),.=<>*+-])/.exec(sql.slice(i))
    if (op) {
      out.push({ kind: 'op', text: op[0] })
      i += op[0].length
      continue
    }
    throw new Error(`unexpected ${JSON.stringify(c)} at ${i}`)
  }
  return out
}

/** The statement's shape: every token, with string literal contents blanked. */
export function shape(sql: string): string[] {
  return lex(sql).map((t) => (t.kind === 'string' ? "'…'" : t.text))
}
