import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type CaseMeta, readCaseMeta } from '../case/case-folder.js'
import {
  EVIDENCE_DIR,
  MANIFEST_FILE,
  type Manifest,
  type RecordedArtifact,
  readSealedFile,
  readSealedManifest,
  recordedArtifacts,
  SealedEvidenceChangedError,
} from '../case/evidence-store.js'
import { checkJournalText, JOURNAL_FILE, type JournalEntry } from '../case/journal.js'
import { exists } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { parseJson } from '../common/json-syntax.js'
import { asArray } from './format.js'

export const TIMELINE_DIR = 'timeline'
export const EVENTS_FILE = `${TIMELINE_DIR}/events.jsonl`
export const TIMELINE_FINDINGS_FILE = `${TIMELINE_DIR}/findings.json`
export const TIMELINE_SUMMARY_FILE = `${TIMELINE_DIR}/summary.json`

/** One sealed evidence set as found on disk; any part may be missing. */
export interface RawEvidenceSet {
  name: string
  manifest: Manifest | null
  /** As journaled by evidence.seal. */
  manifestSha256: string | null
  /** summary.json of a snapshot set (DESIGN shared format), or null. */
  summary: Record<string, unknown> | null
  /** findings.json of a snapshot set, or []. */
  findings: unknown[]
  sealedSeq: number
  /**
   * Where the set is when not evidence/<name>: its unfinished folder, sealed before a crash left
   * it there (readSealedManifest).
   */
  dir?: string
  /**
   * Why the set is not as the journal sealed it (its folder or manifest missing or changed, or its
   * summary.json or findings.json: readSealedManifest, readSealedFile), or null when it is. A file
   * not as sealed is not read: `summary` is null and `findings` empty for it, as for a set whose
   * manifest or folder is not as sealed.
   */
  notAsSealed: string | null
}

/** A file the journal records (`case.artifact`) that is no longer what fir wrote. */
export interface ChangedArtifact {
  /** The case-relative path: `timeline/events.jsonl`. */
  rel: string
  /** `sha256 0123456789ab… (1234 bytes), recorded as …`. */
  why: string
}

/** Everything the report reads from a case, parsed defensively: what is unreadable is named in `problems`. */
export interface RawCase {
  dir: string
  meta: CaseMeta
  journal: JournalEntry[]
  sets: RawEvidenceSet[]
  /** Evidence folders with no evidence.seal entry (interrupted snapshots). */
  unsealedSets: string[]
  eventsPath: string | null
  /** timeline/findings.json, or null when it is not there or not what fir recorded. */
  timelineFindings: unknown[] | null
  /** timeline/summary.json, or null when it is not there or not what fir recorded. */
  timelineSummary: Record<string, unknown> | null
  /**
   * The timeline's small recorded files (findings.json, summary.json) that are not what fir
   * recorded: left unread. (events.jsonl is checked as the report reads it: notAsRecorded.)
   */
  timelineChanged: ChangedArtifact[]
  /** Latest case.artifact record per path, where the file now is (recordedArtifacts). */
  artifacts: Map<string, RecordedArtifact>
  problems: string[]
}

async function readJsonFile(path: string, problems: string[], label: string): Promise<unknown> {
  if (!(await exists(path))) return undefined
  try {
    return parseJson(await readFile(path, 'utf8'))
  } catch (err) {
    problems.push(`${label} could not be read: ${(err as Error).message}`)
    return undefined
  }
}

/** The reason of the refusal a command would give for sealed evidence not as sealed. */
function refusal(err: unknown): string {
  return err instanceof SealedEvidenceChangedError ? `${err.rel}: ${err.why}` : (err as Error).message
}

/**
 * Why a file the journal records is not what fir wrote (`sha256` and `bytes` as read now), or null
 * when it is, or when the journal does not record it.
 */
export function notAsRecorded(
  artifacts: ReadonlyMap<string, RecordedArtifact>,
  rel: string,
  sha256: string,
  bytes: number,
): ChangedArtifact | null {
  const want = artifacts.get(rel)
  if (!want || want.sha256 === sha256) return null
  return {
    rel,
    why: `sha256 ${sha256.slice(0, 12)}… (${bytes} bytes), recorded as ${want.sha256.slice(0, 12)}… (${want.bytes} bytes)`,
  }
}

/**
 * summary.json and findings.json of a set the journal sealed, each read only as sealed (its
 * manifest as sealed, the file as that manifest lists it: readSealedManifest, readSealedFile), and
 * why any part is not; what is not as sealed is not read.
 */
async function readSealedSet(
  dir: string,
  set: { name: string; manifestSha256: string; seq: number },
  problems: string[],
): Promise<{ summary: unknown; findings: unknown; notAsSealed: string | null; dir?: string }> {
  let sealed: Awaited<ReturnType<typeof readSealedManifest>>
  try {
    sealed = await readSealedManifest(dir, set)
  } catch (err) {
    return { summary: undefined, findings: undefined, notAsSealed: refusal(err) }
  }
  const changed: string[] = []
  const read = async (rel: string): Promise<unknown> => {
    let bytes: Buffer | undefined
    try {
      bytes = await readSealedFile(dir, set.name, sealed.manifest, rel, sealed.dir)
    } catch (err) {
      changed.push(refusal(err))
      return undefined
    }
    if (bytes === undefined) return undefined
    try {
      return parseJson(bytes.toString('utf8'))
    } catch (err) {
      problems.push(`${EVIDENCE_DIR}/${set.name}/${rel} could not be read: ${(err as Error).message}`)
      return undefined
    }
  }
  const summary = await read('summary.json')
  const findings = await read('findings.json')
  return { summary, findings, notAsSealed: changed.length ? changed.join('; ') : null, dir: sealed.dir }
}

/**
 * A small recorded timeline file, parsed, when it is what fir recorded; one changed since is named
 * in `changed` and not read (undefined, as a file that is not there).
 */
async function readRecordedJson(
  dir: string,
  rel: string,
  artifacts: ReadonlyMap<string, RecordedArtifact>,
  problems: string[],
  changed: ChangedArtifact[],
): Promise<unknown> {
  const path = join(dir, rel)
  if (!(await exists(path))) return undefined
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    problems.push(`${rel} could not be read: ${(err as Error).message}`)
    return undefined
  }
  const change = notAsRecorded(artifacts, rel, sha256Hex(bytes), bytes.length)
  if (change) {
    changed.push(change)
    return undefined
  }
  try {
    return parseJson(bytes.toString('utf8'))
  } catch (err) {
    problems.push(`${rel} could not be read: ${(err as Error).message}`)
    return undefined
  }
}

/** Reads case.json, the journal, every sealed evidence set and the timeline's small files. */
export async function readCase(dir: string): Promise<RawCase> {
  const meta = await readCaseMeta(dir)
  const problems: string[] = []
  let journal: JournalEntry[] = []
  try {
    const parsed = checkJournalText(await readFile(join(dir, JOURNAL_FILE), 'utf8'))
    journal = parsed.entries
    for (const p of parsed.problems) problems.push(`journal: ${p.message}`)
  } catch (err) {
    problems.push(`${JOURNAL_FILE} could not be read: ${(err as Error).message}`)
  }

  const sealed = new Map<string, { sha: string | null; seq: number }>()
  // As `case verify` reads them: a file a re-run moved to timeline/history/ is listed there only.
  const artifacts = recordedArtifacts(journal)
  for (const e of journal) {
    const params = e.params ?? {}
    if (e.action === 'evidence.seal' && typeof params.set === 'string') {
      sealed.set(params.set, {
        sha: typeof params.manifestSha256 === 'string' ? params.manifestSha256 : null,
        seq: e.seq,
      })
    }
  }

  const sets: RawEvidenceSet[] = []
  for (const [name, { sha, seq }] of sealed) {
    // The set name comes from the journal; refuse anything that is not a plain folder name.
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
      problems.push(`evidence set name ${JSON.stringify(name)} in the journal is not a plain folder name`)
      continue
    }
    const setDir = join(dir, EVIDENCE_DIR, name)
    const manifest = (await readJsonFile(
      join(setDir, MANIFEST_FILE),
      problems,
      `${EVIDENCE_DIR}/${name}/${MANIFEST_FILE}`,
    )) as Manifest | undefined
    if (manifest === undefined && !(await exists(join(setDir, MANIFEST_FILE)))) {
      problems.push(`${EVIDENCE_DIR}/${name}/${MANIFEST_FILE} is missing`)
    }
    // A seal that journaled its manifest's SHA-256 is read only as sealed; an older one as it is.
    const listed = new Set(asArray(manifest?.files).map((f) => (f as { path?: string })?.path))
    const {
      summary,
      findings,
      notAsSealed,
      dir: sealedDir,
    } = sha !== null
      ? await readSealedSet(dir, { name, manifestSha256: sha, seq }, problems)
      : {
          summary: listed.has('summary.json')
            ? await readJsonFile(
                join(setDir, 'summary.json'),
                problems,
                `${EVIDENCE_DIR}/${name}/summary.json`,
              )
            : undefined,
          findings: listed.has('findings.json')
            ? await readJsonFile(
                join(setDir, 'findings.json'),
                problems,
                `${EVIDENCE_DIR}/${name}/findings.json`,
              )
            : undefined,
          notAsSealed: null,
        }
    sets.push({
      name,
      ...(sealedDir ? { dir: sealedDir } : {}),
      notAsSealed,
      manifest: manifest && typeof manifest === 'object' ? manifest : null,
      manifestSha256: sha,
      summary:
        summary && typeof summary === 'object' && !Array.isArray(summary)
          ? (summary as Record<string, unknown>)
          : null,
      findings: asArray(findings),
      sealedSeq: seq,
    })
  }
  sets.sort((a, b) => a.sealedSeq - b.sealedSeq)

  const unsealedSets: string[] = []
  const evidenceRoot = join(dir, EVIDENCE_DIR)
  if (await exists(evidenceRoot)) {
    for (const entry of await readdir(evidenceRoot, { withFileTypes: true })) {
      if (entry.isDirectory() && !sealed.has(entry.name)) unsealedSets.push(entry.name)
    }
  }

  const eventsPath = join(dir, EVENTS_FILE)
  const timelineChanged: ChangedArtifact[] = []
  const timelineFindingsRaw = await readRecordedJson(
    dir,
    TIMELINE_FINDINGS_FILE,
    artifacts,
    problems,
    timelineChanged,
  )
  const timelineSummaryRaw = await readRecordedJson(
    dir,
    TIMELINE_SUMMARY_FILE,
    artifacts,
    problems,
    timelineChanged,
  )
  return {
    dir,
    meta,
    journal,
    sets,
    unsealedSets: unsealedSets.sort(),
    eventsPath: (await exists(eventsPath)) ? eventsPath : null,
    timelineFindings: timelineFindingsRaw === undefined ? null : asArray(timelineFindingsRaw),
    timelineSummary:
      timelineSummaryRaw && typeof timelineSummaryRaw === 'object' && !Array.isArray(timelineSummaryRaw)
        ? (timelineSummaryRaw as Record<string, unknown>)
        : null,
    timelineChanged,
    artifacts,
    problems,
  }
}
