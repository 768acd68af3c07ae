import { lstat, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { IntegrityError } from '../../errors.js'
import { shellArg } from '../common/text.js'

/**
 * The folders fir writes into in a case (DESIGN §2), relative to it. Each must be the case's own
 * folder: a symbolic link in its place sends what fir writes out of the case, and what it holds
 * can change at any time, out of the case (as with a linked file, which verify names too).
 */
export const CASE_FOLDERS = [
  'evidence',
  'timeline',
  'timeline/raw',
  'timeline/history',
  'reports',
  'sweeps',
  'secrets',
] as const

/**
 * Why `path`, a folder of the case, is not a folder the case holds itself (a symbolic link, or no
 * folder at all), or undefined when it is one or is not there.
 */
export async function notTheCaseFolder(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined)
  if (!st || st.isDirectory()) return undefined
  if (st.isSymbolicLink()) {
    const to = await readlink(path).catch(() => '?')
    const dangling = (await stat(path).catch(() => undefined)) === undefined
    return `it is a symbolic link (to ${JSON.stringify(to)}${dangling ? ', which is not there' : ''}), not a folder of the case`
  }
  return 'it is no longer a folder'
}

/**
 * Why `path`, a file fir keeps in the case (case.json, journal.jsonl), is not a file the case
 * holds itself (a symbolic link, or no regular file), or undefined when it is one or is not there.
 */
export async function notTheCaseFile(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined)
  if (!st || st.isFile()) return undefined
  if (st.isSymbolicLink()) {
    const to = await readlink(path).catch(() => '?')
    const dangling = (await stat(path).catch(() => undefined)) === undefined
    return `it is a symbolic link (to ${JSON.stringify(to)}${dangling ? ', which is not there' : ''}), not the file fir wrote`
  }
  return st.isDirectory() ? undefined : 'it is no longer a regular file'
}

/**
 * Refuses a case whose record (case.json) or journal is not the case's own file (see
 * notTheCaseFile): what fir read there would be another file's, and an append to the journal
 * would land outside the case. An integrity failure (exit 3), as a linked case folder is.
 */
export async function refuseLinkedCaseFile(caseDir: string, rel: string): Promise<void> {
  const why = await notTheCaseFile(join(caseDir, rel))
  if (!why) return
  throw new IntegrityError(
    `unable to open case ${caseDir}: its ${rel} was changed: ${why}; fir reads and writes only the case's own files, and what it wrote through the link would land outside the case`,
    {
      actions: [
        `run \`fir case verify --case ${shellArg(caseDir)}\` to see every problem`,
        `preserve the case as it is and investigate who changed it; to go on, start a new case (fir case init), or put the case's own ${rel} back`,
      ],
    },
  )
}

/**
 * Refuses to write into a case whose folders are not its own (see CASE_FOLDERS): what fir wrote
 * through a link would land outside the case. An integrity failure (exit 3): someone changed the
 * case folder.
 */
export async function refuseLinkedCaseFolders(caseDir: string): Promise<void> {
  for (const rel of CASE_FOLDERS) {
    const why = await notTheCaseFolder(join(caseDir, rel))
    if (!why) continue
    throw new IntegrityError(
      `unable to write to case ${caseDir}: its folder ${rel}/ was changed: ${why}; what fir wrote there would land outside the case`,
      {
        actions: [
          `run \`fir case verify --case ${shellArg(caseDir)}\` to see every problem`,
          `preserve the case as it is and investigate who changed it; to go on, start a new case (fir case init), or put the real folder back at ${rel}/`,
        ],
      },
    )
  }
}
