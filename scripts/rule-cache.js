#!/usr/bin/env node
// The build parses fir's own rules (rules/*.yml) once and writes the values beside the rule
// loader, keyed by the SHA-256 of each file's text: a fir process, and each worker thread of an
// account-wide hunt, then reads JSON instead of loading a YAML parser and parsing 19 files. A rule
// edited after the build no longer matches its key and is parsed from its YAML as before. Each
// cached rule was checked against the Sigma schemas here, so fir does not load zod to check it again.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { isDeepStrictEqual } from 'node:util'

const root = resolve(import.meta.dirname, '..')
const { BUILD_CACHE_FILE, parseRuleYaml, sha256 } = await import(join(root, 'dist/core/detect/load.js'))
const { compileRuleDocument } = await import(join(root, 'dist/core/detect/compile.js'))
const dir = join(root, 'rules')
const out = {}
for (const name of readdirSync(dir)
  .filter((f) => /\.ya?ml$/i.test(f))
  .sort()) {
  const text = readFileSync(join(dir, name), 'utf8')
  const value = parseRuleYaml(text)
  // Only a rule the schemas accept: fir then compiles a cached rule without checking it again.
  try {
    compileRuleDocument(value, name)
  } catch (err) {
    console.error(`rule-cache: ${name} is checked at run time (${err.message})`)
    continue
  }
  // Only values JSON keeps exactly (no Infinity, NaN, -0): anything else is parsed at run time.
  if (isDeepStrictEqual(JSON.parse(JSON.stringify(value)), value)) out[sha256(text)] = value
  else console.error(`rule-cache: ${name} is parsed at run time (its value does not survive JSON)`)
}
writeFileSync(join(root, 'dist/core/detect', BUILD_CACHE_FILE), `${JSON.stringify(out)}\n`)
console.log(`rule cache: ${Object.keys(out).length} rules`)
