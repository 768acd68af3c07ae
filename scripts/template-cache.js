#!/usr/bin/env node
// The build checks and compiles fir's own report templates (templates/report.*.hbs) once and
// writes their compiled form beside the renderer, keyed by Handlebars' version, the format and the
// SHA-256 of the text: a report, and each playbook's report step, then loads that instead of
// parsing, checking and compiling 50 KB of Handlebars (a quarter of a second) every time. A
// template edited after the build no longer matches its key and is compiled at run time as before.
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const { TEMPLATE_CACHE_FILE, builtinTemplatePath, precompileReportTemplate, templateCacheKey } = await import(
  join(root, 'dist/core/report/render.js')
)
const out = {}
for (const format of ['html', 'md']) {
  const path = builtinTemplatePath(format)
  const source = readFileSync(path, 'utf8')
  out[templateCacheKey(source, format)] = precompileReportTemplate(source, format, `report.${format}.hbs`)
}
writeFileSync(join(root, 'dist/core/report', TEMPLATE_CACHE_FILE), `${JSON.stringify(out)}\n`)
console.log(`template cache: ${Object.keys(out).length} templates`)
