import { lstat, readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { environmentError } from '../../aws/lambda.js'
import { exists, type UnrenamedTemporary, unrenamedTemporaries } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { protectFunctionIdentifiers, redactor, registerEnvironmentSecrets } from '../common/redact.js'
import { escapeTerminal } from '../common/text.js'
import { asArray, asRecord, asString, truncate } from '../report/format.js'
import { LEAKED_VALUES_DIR, SWEEP_ACTION, SWEEP_START_ACTION } from '../sweep/recorded.js'
import { EVIDENCE_DIR, MANIFEST_FILE, sealedSets } from './evidence-store.js'
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

export const SECRETS_DIR = 'secrets'

/**
 * The journal entry recording a file fir writes in secrets/ (`fir creds rotate-key` journals it
 * once the file's temporary holds it whole, durably, just before giving it its name: see
 * writeFileAtomic's `beforeRename`): `params` {path (case-relative), sha256, bytes}. Only such
 * files are secrets fir wrote; the responder is told to delete the file once the secret is
 * deployed, so a recorded file that is gone is expected. A record therefore always means the
 * secret reached the disk: a run killed before it leaves no record (its key is lost, and the next
 * rotation deletes it), one killed after it leaves the file or its temporary (completed on the
 * next open: completeInterruptedWrites).
 */
export const SECRET_FILE_ACTION = 'case.secret-file'

/** The files in secrets/ the journal records (case-relative path → hash and size when written). */
export function recordedSecretFiles(
  entries: readonly JournalEntry[],
): Map<string, { sha256: string; bytes: number }> {
  const files = new Map<string, { sha256: string; bytes: number }>()
  for (const e of entries) {
    const path = e.action === SECRET_FILE_ACTION ? e.params?.path : undefined
    if (typeof path === 'string' && path.startsWith(`${SECRETS_DIR}/`))
      files.set(path, { sha256: String(e.params.sha256), bytes: Number(e.params.bytes) })
  }
  return files
}

const HEX64 = /^[0-9a-f]{64}$/

/**
 * The SHA-256s (lowercase hex) of the values the case declared leaked: every `--env-value-sha256`
 * of its sweeps, from the journal (recorded as the sweep starts, so a sweep cut off still counts).
 * A value with one of these hashes is a secret wherever fir reads an environment in this case
 * (classifyEnvironmentValue): the snapshot a sweep seals and any later one classify it
 * `indicator-match`, and every command that opens the case redacts it (learning the value from
 * the set the sweep sealed of the values it matched, or from a snapshot).
 */
export function leakedValueHashes(entries: readonly JournalEntry[]): Set<string> {
  const hashes = new Set<string>()
  for (const e of entries) {
    if (e.action !== SWEEP_START_ACTION && e.action !== SWEEP_ACTION) continue
    for (const h of asArray(asRecord(e.params?.indicators).envValueSha256))
      if (typeof h === 'string' && HEX64.test(h)) hashes.add(h)
  }
  return hashes
}

/**
 * The recorded secret files a run was interrupted before renaming into place: a temporary of
 * secrets/ whose size and SHA-256 are those the journal records for a file that is not there. That
 * temporary holds the only copy of a new key's secret (AWS shows it once): it is to be renamed
 * (completeInterruptedWrites, on opening the case), never swept.
 */
export async function unplacedSecretFiles(
  caseDir: string,
  entries: readonly JournalEntry[],
): Promise<UnrenamedTemporary[]> {
  return unrenamedTemporaries(caseDir, recordedSecretFiles(entries))
}

/** A file of the set a sweep seals of the values `--env-value-sha256` matched (sealLeakedValues). */
const LEAKED_VALUES_FILE = new RegExp(`^${LEAKED_VALUES_DIR}/[^/]+/[^/]+\\.json$`)

/**
 * Registers the values a sweep sealed as matched (sealLeakedValues' file): only those whose
 * SHA-256 the case's sweeps declared leaked, so a value written into the file by hand cannot cut
 * other text out of every report.
 */
async function registerLeakedValues(path: string, leaked: ReadonlySet<string>): Promise<void> {
  try {
    const doc = asRecord(JSON.parse(await readFile(path, 'utf8')))
    for (const m of asArray(doc.matched)) {
      const value = asRecord(m).value
      if (typeof value === 'string' && leaked.has(sha256Hex(value))) redactor.register(value)
    }
  } catch {
    // Unreadable evidence is reported by `case verify`; it holds nothing to register here.
  }
}

/** What registerCaseSecrets found. */
export interface CaseSecrets {
  /** What each GetFunction response says of the environment. */
  environments: EnvironmentIndex
  /** Files in secrets/ not used to redact (not recorded in the journal, or changed since), each as a warning. */
  ignored: string[]
}

/**
 * Registers with the process redactor every secret the case holds verbatim (environment values in
 * snapshot responses, those its sweeps declared leaked among them; the values a sweep matched, from
 * the set it sealed of them; rotated keys in secrets/), so no
 * such value can leave the case through any output (stdout, stderr, --json, exports, reports, the
 * timeline's own files) even when it also
 * appears in a CloudTrail field or a finding. Only the files in secrets/ that the journal records
 * (SECRET_FILE_ACTION), unchanged, are read: any other file there was not written by fir, and
 * whatever it held would be cut out of every report (a planted "victim" hides the function's
 * name); those are returned as `ignored`. Returns what each GetFunction response says of the
 * environment (variable counts only), so the report can say "none found among 3 variables".
 */
export async function registerCaseSecrets(
  dir: string,
  sets: readonly SealedSetManifest[],
  journal: readonly JournalEntry[],
): Promise<CaseSecrets> {
  const environments: EnvironmentIndex = new Map()
  const leaked = leakedValueHashes(journal)
  for (const set of sets) {
    // A sealed set never changes: one opening the case read it already (the report reads again),
    // unless a sweep since declared another value leaked.
    const key = `${resolve(dir)}\u0000${set.name}\u0000${[...leaked].sort().join(',')}`
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
      if (Number(file.bytes) > SECRET_FILE_LIMIT || path.split('/').includes('..')) continue
      if (LEAKED_VALUES_FILE.test(path)) {
        await registerLeakedValues(join(dir, EVIDENCE_DIR, set.name, path), leaked)
        continue
      }
      if (!/get-function[^/]*\.json$/i.test(path)) continue
      try {
        const doc = asRecord(JSON.parse(await readFile(join(dir, EVIDENCE_DIR, set.name, path), 'utf8')))
        const config = asRecord(doc.Configuration ?? doc)
        const env = asRecord(config.Environment)
        const vars = asRecord(env.Variables)
        protectFunctionIdentifiers(config as Parameters<typeof protectFunctionIdentifiers>[0])
        registerEnvironmentSecrets(vars, leaked)
        const errorText = environmentError(env)
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
  const ignored: string[] = []
  const secretsDir = join(dir, SECRETS_DIR)
  if (!(await exists(secretsDir))) return { environments, ignored }
  const recorded = recordedSecretFiles(journal)
  // A recorded file still under its temporary name (a read-only open does not place it) is read too.
  const unplaced = new Map((await unplacedSecretFiles(dir, journal)).map((f) => [f.temporary, f.path]))
  for (const name of await readdir(secretsDir)) {
    const rel = `${SECRETS_DIR}/${name}`
    const shown = escapeTerminal(rel)
    const record = recorded.get(unplaced.get(rel) ?? rel)
    if (!record) {
      ignored.push(
        `${shown} is not a file fir recorded in the journal (only rotated-key secrets belong in ${SECRETS_DIR}/): it is not used to redact; run fir case verify`,
      )
      continue
    }
    try {
      const st = await lstat(join(secretsDir, name))
      if (!st.isFile() || st.size > SECRET_FILE_LIMIT) throw new Error('not the file fir wrote')
      const bytes = await readFile(join(secretsDir, name))
      if (sha256Hex(bytes) !== record.sha256) throw new Error('changed')
      // A rotated key's file (rotate-key's format): its secret only. The user name beside it is
      // no secret (a name of 16 characters or more was redacted all through the report).
      const secret = asRecord(asRecord(JSON.parse(bytes.toString('utf8'))).AccessKey).SecretAccessKey
      if (typeof secret === 'string') redactor.register(secret)
    } catch {
      ignored.push(
        `${shown} is no longer the file fir wrote (its SHA-256 is recorded in the journal): it is not used to redact; run fir case verify`,
      )
    }
  }
  return { environments, ignored }
}

/**
 * registerCaseSecrets for an open case: its sealed sets are the ones the journal names
 * (`evidence.seal`). Every command that opens a case calls this, so a secret the case holds is
 * redacted in what any later command prints or writes (a timeline run after a snapshot printed
 * and exported a CloudTrail field holding an environment value verbatim). Returns the files in
 * secrets/ it did not use (see registerCaseSecrets), as warnings.
 */
export async function registerSecretsOfCase(
  dir: string,
  journal: readonly JournalEntry[],
): Promise<string[]> {
  const sets: SealedSetManifest[] = []
  // Names from the journal, plain folder names only (sealedSets). The manifest is read whatever it
  // now holds: a changed one is `case verify`'s to report, and its secrets are still redacted.
  for (const { name } of sealedSets(journal)) {
    try {
      const text = await readFile(join(dir, EVIDENCE_DIR, name, MANIFEST_FILE), 'utf8')
      sets.push({ name, manifest: asRecord(JSON.parse(text)) })
    } catch {
      // A missing or unreadable manifest is `case verify`'s to report.
    }
  }
  return (await registerCaseSecrets(dir, sets, journal)).ignored
}
