import { readdir, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { exists } from '../common/fs-safe.js'
import { classifyValue, deepMapStrings, redactor } from '../common/redact.js'
import { asArray, asRecord, asString, truncate } from '../report/format.js'
import { EVIDENCE_DIR, MANIFEST_FILE } from './evidence-store.js'
import type { JournalEntry } from './journal.js'

/** What each sealed set read in this process gave (its secrets are registered already). */
const setsRead = new Map<string, [string, EnvironmentFacts][]>()

/** Files larger than this are not read for secrets (a GetFunction response is a few kilobytes). */
const SECRET_FILE_LIMIT = 5 * 1024 * 1024

/** What a GetFunction response says of the environment: how many variables, or why none are readable. */
export interface EnvironmentFacts {
  variables: number
  /** `Environment.Error` (e.g. KMS could not decrypt the variables), as `code: message`. */
  error: string | null
}

/** `<set>/<path>` of a GetFunction evidence file → what it holds of the environment. */
export type EnvironmentIndex = Map<string, EnvironmentFacts>

/** A sealed evidence set as far as the secrets reader needs it: its name and its manifest. */
export interface SealedSetManifest {
  name: string
  manifest: { files?: unknown } | null
}

/**
 * Registers with the process redactor every secret the case holds verbatim (environment values in
 * snapshot responses, rotated keys in secrets/), so no such value can leave the case through any
 * output (stdout, stderr, --json, exports, reports, the timeline's own files) even when it also
 * appears in a CloudTrail field or a finding. Returns what each GetFunction response says of the
 * environment (variable counts only), so the report can say "none found among 3 variables".
 */
export async function registerCaseSecrets(
  dir: string,
  sets: readonly SealedSetManifest[],
): Promise<EnvironmentIndex> {
  const environments: EnvironmentIndex = new Map()
  for (const set of sets) {
    // A sealed set never changes: one opening the case read it already (the report reads again).
    const key = `${resolve(dir)}\u0000${set.name}`
    const known = setsRead.get(key)
    if (known) {
      for (const [k, v] of known) environments.set(k, v)
      continue
    }
    const entries: [string, EnvironmentFacts][] = []
    setsRead.set(key, entries)
    for (const f of asArray(set.manifest?.files)) {
      const file = asRecord(f)
      const path = asString(file.path) ?? ''
      if (!/get-function[^/]*\.json$/i.test(path) || Number(file.bytes) > SECRET_FILE_LIMIT) continue
      if (path.split('/').includes('..')) continue
      try {
        const doc = asRecord(JSON.parse(await readFile(join(dir, EVIDENCE_DIR, set.name, path), 'utf8')))
        const config = asRecord(doc.Configuration ?? doc)
        const env = asRecord(config.Environment)
        const vars = asRecord(env.Variables)
        for (const [name, value] of Object.entries(vars)) {
          if (typeof value === 'string' && classifyValue(name, value).secret) redactor.register(value)
        }
        const err = asRecord(env.Error)
        const errorText = [asString(err.ErrorCode), asString(err.Message)].filter(Boolean).join(': ')
        const facts = {
          variables: Object.keys(vars).length,
          error: errorText ? truncate(errorText, 200) : null,
        }
        entries.push([`${set.name}/${path}`, facts])
        environments.set(`${set.name}/${path}`, facts)
      } catch {
        // Unreadable evidence is reported by `case verify`; it holds nothing to register here.
      }
    }
  }
  const secretsDir = join(dir, 'secrets')
  if (!(await exists(secretsDir))) return environments
  for (const name of await readdir(secretsDir)) {
    const path = join(secretsDir, name)
    try {
      const st = await stat(path)
      if (!st.isFile() || st.size > SECRET_FILE_LIMIT) continue
      const text = await readFile(path, 'utf8')
      let doc: unknown
      try {
        doc = JSON.parse(text)
      } catch {
        const t = text.trim()
        if (t && !t.includes('\n')) redactor.register(t)
        continue
      }
      // A rotated key's file (rotate-key's format): its secret only. The user name beside it is
      // no secret (a name of 16 characters or more was redacted all through the report).
      const ours = asRecord(asRecord(doc).AccessKey).SecretAccessKey
      if (typeof ours === 'string') {
        redactor.register(ours)
        continue
      }
      // Any other file put there: every long string in it, but key ids and times.
      deepMapStrings(doc, (s) => {
        if (s.length >= 16 && !/^(AKIA|ASIA)[A-Z0-9]{16}$/.test(s) && !/^\d{4}-\d\d-\d\dT/.test(s)) {
          redactor.register(s)
        }
        return s
      })
    } catch {
      // A secrets file we cannot read cannot leak either.
    }
  }
  return environments
}

/**
 * registerCaseSecrets for an open case: its sealed sets are the ones the journal names
 * (`evidence.seal`). Every command that opens a case calls this, so a secret the case holds is
 * redacted in what any later command prints or writes (a timeline run after a snapshot printed
 * and exported a CloudTrail field holding an environment value verbatim).
 */
export async function registerSecretsOfCase(dir: string, journal: readonly JournalEntry[]): Promise<void> {
  const sets: SealedSetManifest[] = []
  for (const e of journal) {
    const name = e.action === 'evidence.seal' ? e.params?.set : undefined
    // The set name comes from the journal: only a plain folder name is read.
    if (typeof name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) continue
    try {
      const text = await readFile(join(dir, EVIDENCE_DIR, name, MANIFEST_FILE), 'utf8')
      sets.push({ name, manifest: asRecord(JSON.parse(text)) })
    } catch {
      // A missing or unreadable manifest is `case verify`'s to report.
    }
  }
  await registerCaseSecrets(dir, sets)
}
