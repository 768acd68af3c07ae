/**
 * The safety rules of an HTML report template (DESIGN §6, README "fir report"): one self-contained
 * file — fir's Content-Security-Policy meta in the head, no script, no event handler, no reference
 * to anything outside the report — with values only where Handlebars' HTML escaping makes them
 * text. Escaping does not help a value used as a tag or attribute name, in an event handler, a
 * style, or a URL (`href="{{x}}"` with `javascript:…`), so a template placing one there is refused.
 *
 * Two checks. The authority is `reportHtmlProblems`, on the rendered report before it is written:
 * it parses it with parse5, which builds the tree a browser builds (entities decoded, comments
 * closed where browsers close them, `<template>` contents, SVG and MathML as foreign content), and
 * walks that tree. Before it, `htmlProblems` reads a template's static parts with a small tokenizer
 * (values as placeholders, each with its line:column), so a value placed where escaping does not
 * help is named where it is written before any case is read; it is an early warning, not a proof.
 */
import { type DefaultTreeAdapterTypes, parse } from 'parse5'

/** The policy of fir's own HTML template; a template's may only be as strict. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'"

/** A part of a template in document order: static text, or a value printed there. */
export type HtmlPiece =
  | { kind: 'text'; text: string; line: number; column: number }
  | { kind: 'value'; line: number; column: number }

export interface HtmlProblem {
  /** 1-based line and column in the template (or the rendered report). */
  line: number
  column: number
  problem: string
}

/** Elements a self-contained report has no use for: each runs or loads something. */
const FORBIDDEN_ELEMENTS = new Map<string, string>([
  ['script', 'a <script> element (the report runs no script)'],
  ['iframe', 'an <iframe> element (the report embeds nothing)'],
  ['frame', 'a <frame> element (the report embeds nothing)'],
  ['frameset', 'a <frameset> element (the report embeds nothing)'],
  ['object', 'an <object> element (the report embeds nothing)'],
  ['embed', 'an <embed> element (the report embeds nothing)'],
  ['applet', 'an <applet> element (the report embeds nothing)'],
  ['portal', 'a <portal> element (the report embeds nothing)'],
  ['base', 'a <base> element (it changes where links point)'],
  ['link', 'a <link> element (the report loads nothing)'],
  ['animate', 'an SVG <animate> element (it can set a link to a script)'],
  ['set', 'an SVG <set> element (it can set a link to a script)'],
  ['animatemotion', 'an SVG <animateMotion> element (it can set a link to a script)'],
  ['animatetransform', 'an SVG <animateTransform> element (it can set a link to a script)'],
])

/** Attributes whose value is a URL (or a list of them): only links inside the report (`#…`). */
const URL_ATTRIBUTES = new Set([
  'href',
  'xlink:href',
  'src',
  'srcset',
  'action',
  'formaction',
  'poster',
  'background',
  'cite',
  'data',
  'codebase',
  'archive',
  'longdesc',
  'lowsrc',
  'dynsrc',
  'manifest',
  'ping',
  'icon',
  'profile',
  'xml:base',
  'srcdoc',
])

/** SVG presentation attributes that take a `url(…)`. */
const URL_PRESENTATION = new Set([
  'fill',
  'stroke',
  'mask',
  'filter',
  'clip-path',
  'marker-start',
  'marker-mid',
  'marker-end',
  'cursor',
])

/** Elements that may come before the body; anything else (or text) starts it. */
const HEAD_ELEMENTS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'style',
  'link',
  'base',
  'noscript',
  'template',
])

/** Elements whose content is text up to their end tag. */
const RAW_TEXT = new Set(['script', 'style', 'title', 'textarea'])

/** What in CSS reaches outside the file: `@import`, and `url(…)` not pointing inside the report. */
function cssProblem(css: string): string | null {
  // CSS escapes (`\75 rl(`) could spell either: decode them first; comments split no token.
  const plain = css
    .replace(/\/\*[\s\S]*?(\*\/|$)/g, '')
    .replace(/\\([0-9a-fA-F]{1,6})\s?/g, (_m, hex: string) =>
      String.fromCodePoint(Number.parseInt(hex, 16) || 0xfffd),
    )
    .replace(/\\(.)/g, '$1')
  if (/@import/i.test(plain)) return 'an @import in CSS (a reference outside the report)'
  for (const m of plain.matchAll(/url\s*\(\s*(['"]?)\s*([^'")\s]*)/gi)) {
    if (!(m[2] ?? '').startsWith('#')) return 'a url(…) in CSS pointing outside the report'
  }
  if (/image-set\s*\(|image\s*\(/i.test(plain)) return 'an image-set() or image() in CSS'
  if (/expression\s*\(/i.test(plain)) return 'an expression() in CSS'
  return null
}

/** The directives of a policy: `{ 'default-src': "'none'", … }`. */
function directives(policy: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of policy.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/)
    // A browser applies the first of a repeated directive and ignores the rest.
    if (name && !out.has(name.toLowerCase())) out.set(name.toLowerCase(), values.join(' '))
  }
  return out
}

/** As strict as fir's: `default-src 'none'`, and inline styles at most. */
function strictEnough(policy: string): boolean {
  const d = directives(policy)
  if (d.get('default-src') !== "'none'") return false
  for (const [name, value] of d) {
    if (name === 'default-src') continue
    if (name !== 'style-src' || !["'unsafe-inline'", "'none'"].includes(value)) return false
  }
  return true
}

interface Attribute {
  name: string
  value: string
  /** Where a value was printed into this attribute's value, and the static text before it. */
  valueAt?: { line: number; column: number; before: string }
  quoted: boolean
  line: number
  column: number
}

/**
 * The problems of an HTML template's static pieces, found before any case is read. Values
 * (placeholders) are allowed in text and in quoted attribute values other than event handlers,
 * styles and URLs (a URL whose static part starts with `#` stays inside the report). Whether the
 * head has the CSP `<meta>` is left to reportHtmlProblems: a template may print its head under a
 * block. A small tokenizer, not a browser's parser: what it misses, reportHtmlProblems refuses.
 */
export function htmlProblems(pieces: readonly HtmlPiece[]): HtmlProblem[] {
  const problems: HtmlProblem[] = []
  const add = (at: { line: number; column: number }, problem: string) =>
    problems.push({ line: at.line, column: at.column, problem })

  type State =
    | 'data'
    | 'tagOpen'
    | 'tagName'
    | 'beforeAttr'
    | 'attrName'
    | 'afterAttrName'
    | 'beforeValue'
    | 'valueQuoted'
    | 'valueUnquoted'
    | 'comment'
    | 'bogus'
    | 'raw'
  // Widened: finishTag (a closure) moves it to 'raw'.
  let state = 'data' as State
  let line = 1
  let column = 1
  let tag = { name: '', end: false, line: 1, column: 1, attrs: [] as Attribute[] }
  let attr: Attribute | undefined
  let quote = ''
  let raw = { name: '', text: '', values: [] as { line: number; column: number }[] }
  let buffer = ''
  let bodyStarted = false
  let head = { line: 1, column: 1 }

  const startBody = () => {
    bodyStarted = true
  }
  const finishAttr = () => {
    if (!attr) return
    tag.attrs.push(attr)
    attr = undefined
  }
  const finishTag = () => {
    finishAttr()
    const name = tag.name.toLowerCase()
    if (!tag.end) {
      const forbidden = FORBIDDEN_ELEMENTS.get(name)
      if (forbidden) add(tag, `${forbidden} is not allowed`)
      if (!HEAD_ELEMENTS.has(name)) startBody()
      if (name === 'body') startBody()
      for (const a of tag.attrs) checkAttribute(a)
      if (name === 'meta') checkMeta(tag.attrs)
      if (RAW_TEXT.has(name)) {
        raw = { name, text: '', values: [] }
        state = 'raw'
        return
      }
    }
    state = 'data'
  }
  const checkAttribute = (a: Attribute) => {
    const name = a.name.toLowerCase()
    if (name.startsWith('on')) {
      add(a, `an event handler attribute (${name}) is not allowed: the report runs no script`)
      return
    }
    if (a.valueAt && !a.quoted) {
      add(a.valueAt, `a value in the unquoted attribute ${name} is not allowed: quote it (${name}="…")`)
      return
    }
    if (URL_ATTRIBUTES.has(name)) {
      if (a.valueAt && !a.valueAt.before.trim().startsWith('#')) {
        add(
          a.valueAt,
          `a value in the URL attribute ${name} is not allowed: escaping does not stop a javascript: or external URL; link only inside the report (${name}="#…")`,
        )
      } else if (!a.valueAt && !a.value.trim().startsWith('#')) {
        const external = /^\s*(https?:)?\/\//i.test(a.value)
        add(
          a,
          `${external ? 'an external reference' : 'a reference outside the report'} (${name}="${a.value.slice(0, 60)}") is not allowed: the report is one self-contained file; link only inside it (${name}="#…")`,
        )
      }
      return
    }
    if (name === 'style') {
      if (a.valueAt) add(a.valueAt, 'a value in a style attribute is not allowed: put it in text or a class')
      else {
        const css = cssProblem(a.value)
        if (css) add(a, `${css} is not allowed`)
      }
      return
    }
    // SVG presentation attributes take url(…) too: inside the report only (`url(#gradient)`).
    if (URL_PRESENTATION.has(name) && /url\s*\(/i.test(a.value)) {
      const css = cssProblem(a.value)
      if (css) add(a.valueAt ?? a, `${css} (in ${name}) is not allowed`)
    }
  }
  const checkMeta = (attrs: Attribute[]) => {
    const get = (n: string) => attrs.find((a) => a.name.toLowerCase() === n)
    const equiv = get('http-equiv')?.value.trim().toLowerCase()
    if (equiv === 'refresh')
      add(get('http-equiv')!, 'a <meta http-equiv="refresh"> is not allowed: it leaves the report')
    if (equiv === 'content-security-policy') {
      const content = get('content')
      if (content?.valueAt) add(content.valueAt, 'a value in the Content-Security-Policy is not allowed')
      else if (!content || !strictEnough(content.value)) {
        add(
          content ?? get('http-equiv')!,
          `a Content-Security-Policy less strict than fir's (${REPORT_CSP}) is not allowed`,
        )
      } else if (bodyStarted) {
        add(content, 'the Content-Security-Policy <meta> must come in the head, before any content')
      }
    }
  }
  const finishRaw = () => {
    if (raw.name === 'style') {
      for (const v of raw.values) add(v, 'a value inside <style> is not allowed: CSS is not escaped')
      const css = cssProblem(raw.text)
      if (css) add(head, `${css} is not allowed`)
    }
    if (raw.name === 'script') for (const v of raw.values) add(v, 'a value inside <script> is not allowed')
  }
  const valueOutsideText = (at: { line: number; column: number }, where: string) =>
    add(
      at,
      `a value ${where} is not allowed: escaping makes a value text only in text and in quoted attribute values`,
    )

  for (const piece of pieces) {
    if (piece.kind === 'value') {
      const at = { line: piece.line, column: piece.column }
      switch (state) {
        case 'tagOpen':
        case 'tagName':
          valueOutsideText(at, 'as a tag name')
          break
        case 'beforeAttr':
        case 'attrName':
        case 'afterAttrName':
          valueOutsideText(at, 'as an attribute name')
          break
        case 'beforeValue':
        case 'valueUnquoted':
          if (attr) {
            attr.valueAt ??= { ...at, before: attr.value }
            attr.quoted = false
          }
          state = 'valueUnquoted'
          break
        case 'valueQuoted':
          if (attr) attr.valueAt ??= { ...at, before: attr.value }
          break
        case 'raw':
          raw.values.push(at)
          break
        case 'bogus':
          valueOutsideText(at, 'inside a <?…> construct')
          break
        default:
          if (state === 'data' && !bodyStarted) startBody()
      }
      continue
    }
    line = piece.line
    column = piece.column
    for (const c of piece.text) {
      const here = { line, column }
      if (c === '\n') {
        line++
        column = 1
      } else column++
      switch (state) {
        case 'data':
          if (c === '<') {
            state = 'tagOpen'
            head = here
            buffer = ''
          } else if (!bodyStarted && !/\s/.test(c)) startBody()
          break
        case 'tagOpen':
          if (c === '!' || c === '?') {
            state = c === '!' ? 'comment' : 'bogus'
            buffer = c
          } else if (c === '/') {
            tag = { name: '', end: true, line: head.line, column: head.column, attrs: [] }
            state = 'tagName'
          } else if (/[a-zA-Z]/.test(c)) {
            tag = { name: c, end: false, line: head.line, column: head.column, attrs: [] }
            state = 'tagName'
          } else {
            state = 'data'
            if (!bodyStarted) startBody()
          }
          break
        case 'tagName':
          if (c === '>') finishTag()
          else if (/\s|\//.test(c)) state = 'beforeAttr'
          else tag.name += c
          break
        case 'beforeAttr':
          if (c === '>') finishTag()
          else if (!/\s|\//.test(c)) {
            attr = { name: c, value: '', quoted: false, line: here.line, column: here.column }
            state = 'attrName'
          }
          break
        case 'attrName':
          if (c === '>') finishTag()
          else if (c === '=') state = 'beforeValue'
          else if (/\s|\//.test(c)) state = 'afterAttrName'
          else if (attr) attr.name += c
          break
        case 'afterAttrName':
          if (c === '>') finishTag()
          else if (c === '=') state = 'beforeValue'
          else if (!/\s|\//.test(c)) {
            finishAttr()
            attr = { name: c, value: '', quoted: false, line: here.line, column: here.column }
            state = 'attrName'
          }
          break
        case 'beforeValue':
          if (c === '"' || c === "'") {
            quote = c
            if (attr) attr.quoted = true
            state = 'valueQuoted'
          } else if (c === '>') finishTag()
          else if (!/\s/.test(c)) {
            if (attr) attr.value += c
            state = 'valueUnquoted'
          }
          break
        case 'valueQuoted':
          if (c === quote) {
            finishAttr()
            state = 'beforeAttr'
          } else if (attr) attr.value += c
          break
        case 'valueUnquoted':
          if (c === '>') finishTag()
          else if (/\s/.test(c)) {
            finishAttr()
            state = 'beforeAttr'
          } else if (attr) attr.value += c
          break
        case 'comment':
          buffer += c
          // `<!--…-->` ends at `-->`; `<!doctype …>` and `<![CDATA[…]]>` at `>`.
          if (buffer.startsWith('!--') ? buffer.length > 4 && buffer.endsWith('-->') : c === '>')
            state = 'data'
          break
        case 'bogus':
          buffer += c
          if (c === '>') state = 'data'
          break
        case 'raw': {
          raw.text += c
          const end = `</${raw.name}`
          if (c === end.at(-1) && raw.text.slice(-end.length).toLowerCase() === end) {
            raw.text = raw.text.slice(0, -end.length)
            finishRaw()
            tag = { name: raw.name, end: true, line: here.line, column: here.column, attrs: [] }
            state = 'tagName'
          }
          break
        }
      }
    }
  }
  return problems
}

type Node = DefaultTreeAdapterTypes.Node
type Element = DefaultTreeAdapterTypes.Element

const isElement = (node: Node): node is Element => 'tagName' in node

/** The text inside an element (a `<style>`'s CSS), in any namespace. */
function textOf(node: Node): string {
  if (node.nodeName === '#text') return (node as DefaultTreeAdapterTypes.TextNode).value
  return 'childNodes' in node ? node.childNodes.map(textOf).join('') : ''
}

/** An element's children, a `<template>`'s contents included (inert in a browser, live once cloned). */
function childrenOf(node: Node): Node[] {
  const children = 'childNodes' in node ? [...node.childNodes] : []
  if (node.nodeName === 'template' && 'content' in node) children.push(...node.content.childNodes)
  return children
}

/** An attribute's name as written (`xlink:href` for SVG's namespaced ones), lower case. */
const attrName = (a: { name: string; prefix?: string }) =>
  (a.prefix ? `${a.prefix}:${a.name}` : a.name).toLowerCase()

const isCsp = (el: Element) =>
  el.tagName === 'meta' &&
  el.attrs.some((a) => a.name === 'http-equiv' && a.value.trim().toLowerCase() === 'content-security-policy')

/**
 * The problems of a rendered HTML report, read as a browser reads it: parse5 builds the tree (the
 * HTML parsing algorithm: character references decoded, `<!-->` and `--!>` closing comments,
 * `<svg><title>` an HTML integration point, `<template>` contents) and every element in it is
 * checked — those in `<template>` and in SVG or MathML too. Refused: a script in any namespace,
 * an element that embeds, loads or navigates (see FORBIDDEN_ELEMENTS, `<meta http-equiv=refresh>`),
 * an event handler, a URL attribute not pointing inside the report (`#…`), and CSS (a `style`
 * attribute or a `<style>`, in any namespace) with `url(…)`, `@import`, `image-set()` or
 * `expression()`. The head must open with fir's Content-Security-Policy `<meta>` (only a
 * `<meta charset>` may come before it), with fir's policy or a stricter one.
 */
export function reportHtmlProblems(html: string): HtmlProblem[] {
  const problems: HtmlProblem[] = []
  const add = (at: { startLine: number; startCol: number } | null | undefined, problem: string) =>
    problems.push({ line: at?.startLine ?? 1, column: at?.startCol ?? 1, problem })
  const document = parse(html, { sourceCodeLocationInfo: true })

  const checkElement = (el: Element) => {
    const where = el.sourceCodeLocation
    const name = el.tagName.toLowerCase()
    const forbidden = FORBIDDEN_ELEMENTS.get(name)
    if (forbidden) add(where, `${forbidden} is not allowed`)
    const get = (n: string) => el.attrs.find((a) => attrName(a) === n)
    for (const a of el.attrs) {
      const attr = attrName(a)
      const at = where?.attrs?.[attr] ?? where?.attrs?.[a.name] ?? where
      const value = a.value.trim()
      if (attr.startsWith('on')) {
        add(at, `an event handler attribute (${attr}) is not allowed: the report runs no script`)
      } else if (URL_ATTRIBUTES.has(attr) || attr.endsWith(':href')) {
        if (!value.startsWith('#')) {
          const external = /^(https?:)?\/\//i.test(value)
          add(
            at,
            `${external ? 'an external reference' : 'a reference outside the report'} (${attr}="${value.slice(0, 60)}") is not allowed: the report is one self-contained file; link only inside it (${attr}="#…")`,
          )
        }
      } else if (attr === 'style' || URL_PRESENTATION.has(attr)) {
        const css = cssProblem(a.value)
        if (css) add(at, `${css} (in ${attr}) is not allowed`)
      }
    }
    if (name === 'meta' && get('http-equiv')?.value.trim().toLowerCase() === 'refresh') {
      add(where, 'a <meta http-equiv="refresh"> is not allowed: it leaves the report')
    }
    if (name === 'style') {
      const css = cssProblem(textOf(el))
      if (css) add(where, `${css} (in <style>) is not allowed`)
    }
    // fir writes UTF-8: another declared encoding makes the browser read other markup than this
    // check read (ISO-2022-JP turns quotes into characters, and escaped text into live tags).
    if (name === 'meta') {
      const charset = get('charset')?.value.trim().toLowerCase()
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
        add(where, `a <meta charset> other than utf-8 is not allowed: fir writes the report in UTF-8`)
      if (get('http-equiv')?.value.trim().toLowerCase() === 'content-type')
        add(
          where,
          'a <meta http-equiv="Content-Type"> is not allowed: declare <meta charset="utf-8"> instead',
        )
    }
  }
  const walk = (node: Node) => {
    if (isElement(node)) checkElement(node)
    for (const child of childrenOf(node)) walk(child)
  }
  walk(document)

  // The policy applies from where its <meta> is parsed: it opens the head (a charset may precede it).
  const htmlEl = document.childNodes.find(isElement)
  const head = htmlEl?.childNodes.find((n): n is Element => isElement(n) && n.tagName === 'head')
  const before = head?.childNodes.filter(isElement) ?? []
  const at = before.findIndex(
    (el) => !(el.tagName === 'meta' && el.attrs.length === 1 && el.attrs[0]?.name === 'charset'),
  )
  const csp = at >= 0 ? before[at] : undefined
  // Without a declared encoding a browser guesses one (and may guess ISO-2022-JP from the bytes).
  if (at < 1) {
    add(
      head?.sourceCodeLocation ?? undefined,
      'the head must open with <meta charset="utf-8">: without it a browser guesses the encoding, and a guessed one can turn escaped text into markup',
    )
  }
  if (!csp || !isCsp(csp)) {
    const elsewhere = findCsp(document)
    add(
      elsewhere?.sourceCodeLocation ?? csp?.sourceCodeLocation,
      elsewhere
        ? `the Content-Security-Policy <meta> must open the head (only a <meta charset> before it; not in a <template>, not after other content): there it is ignored or comes too late`
        : `the head has no <meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"> opening it, which keeps the report from loading or running anything: copy it from fir's template`,
    )
  } else {
    const content = csp.attrs.find((a) => a.name === 'content')?.value ?? ''
    if (!strictEnough(content)) {
      add(
        csp.sourceCodeLocation?.attrs?.content ?? csp.sourceCodeLocation,
        `a Content-Security-Policy less strict than fir's (${REPORT_CSP}) is not allowed`,
      )
    }
  }
  return problems.sort((a, b) => a.line - b.line || a.column - b.column)
}

/** The first Content-Security-Policy `<meta>` anywhere in the document, `<template>` contents included. */
function findCsp(node: Node): Element | undefined {
  if (isElement(node) && isCsp(node)) return node
  for (const child of childrenOf(node)) {
    const found = findCsp(child)
    if (found) return found
  }
  return undefined
}
