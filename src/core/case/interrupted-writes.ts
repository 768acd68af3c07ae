import { chmod, rename } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { FILE_MODE, fsyncDir, type UnrenamedTemporary, unrenamedTemporaries } from '../common/fs-safe.js'
import { recordedArtifacts } from './evidence-store.js'
import type { JournalEntry } from './journal.js'
import { recordedSecretFiles } from './secrets.js'

/**
 * A case file a run was interrupted writing after it journaled the file, before it gave it its
 * name: its bytes are whole in `temporary`, beside `path`.
 */
export interface UnplacedFile extends UnrenamedTemporary {
  /** A rotated key's secret (`case.secret-file`), or another file fir records (`case.artifact`). */
  kind: 'secret' | 'artifact'
}

/**
 * The case files fir journaled once their temporary held them whole and synced, before the rename
 * (writeFileAtomic's and AtomicFileWriter.commit's `beforeRename`: a rotated key's secret, the
 * timeline's files), that a run interrupted between the two left under their temporary name: a
 * temporary beside a recorded file (`case.artifact`, `case.secret-file`; the latest record of each
 * path) that is missing, holding exactly its recorded size and SHA-256. Such a temporary is that
 * file, not a leftover: it holds the only copy (a key's secret AWS showed once, the events a run
 * collected) and the journal already vouches for it.
 */
export async function unplacedCaseFiles(
  caseDir: string,
  entries: readonly JournalEntry[],
): Promise<UnplacedFile[]> {
  const secrets = recordedSecretFiles(entries)
  const recorded = new Map<string, { sha256: string; bytes: number }>(recordedArtifacts(entries))
  for (const [path, r] of secrets) recorded.set(path, r)
  return (await unrenamedTemporaries(caseDir, recorded)).map((f) => ({
    ...f,
    kind: secrets.has(f.path) ? 'secret' : 'artifact',
  }))
}

/**
 * Finishes the writes a run was interrupted between journaling and renaming (unplacedCaseFiles):
 * each temporary is given the name the journal records. Call with the case lock held, on opening
 * the case, before temporaries are swept and before an interrupted timeline re-run is finished (a
 * recorded timeline file is then where the journal has it). Returns the files placed.
 */
export async function completeInterruptedWrites(
  caseDir: string,
  entries: readonly JournalEntry[],
): Promise<UnplacedFile[]> {
  const unplaced = await unplacedCaseFiles(caseDir, entries)
  const folders = new Set<string>()
  for (const f of unplaced) {
    await chmod(join(caseDir, f.temporary), FILE_MODE)
    await rename(join(caseDir, f.temporary), join(caseDir, f.path))
    folders.add(posix.dirname(f.path))
  }
  for (const folder of folders) await fsyncDir(join(caseDir, folder))
  return unplaced
}
