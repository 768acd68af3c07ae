import { type Dirent, realpathSync } from 'node:fs'
import { lstat, readlink } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative } from 'node:path'

/** `path` relative to `folder` when it lies inside it (not the folder itself), else undefined. */
export function relativeInside(folder: string, path: string): string | undefined {
  const rel = relative(folder, path)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : undefined
}

/** Whether `path` is `folder` or lies inside it (both absolute and resolved: real paths). */
export function isWithin(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith('/') ? folder : `${folder}/`)
}

/**
 * Where a file written at `path` lands: the folders on the way with their links followed, the last
 * name kept (fir replaces a link there rather than following it). Folders not made yet are taken
 * as named. `case/alias/journal.jsonl`, where alias links to the case, is the case's journal.
 */
export function landingPath(path: string): string {
  const rest: string[] = [basename(path)]
  let folder = dirname(path)
  for (;;) {
    try {
      return join(realpathSync.native(folder), ...rest)
    } catch {
      const up = dirname(folder)
      if (up === folder) return path
      rest.unshift(basename(folder))
      folder = up
    }
  }
}

/**
 * `path` relative to `folder` when the file written there lands inside it (links followed, see
 * landingPath): a link must not carry an output into the case unseen, nor one outside be taken
 * for a file of the case.
 */
export function relativeInsideLanded(folder: string, path: string): string | undefined {
  const landed = landingPath(path)
  let real = folder
  try {
    real = realpathSync.native(folder)
  } catch {
    // A folder that is not there yet holds nothing to protect.
  }
  return relativeInside(real, landed)
}

/** /dev/stdin, /dev/fd/N or /proc/self/fd/N: the descriptor the path names, else undefined. */
export function inheritedDescriptor(path: string): number | undefined {
  if (path === '/dev/stdin') return 0
  const m = /^\/(?:dev\/fd|proc\/self\/fd)\/(\d+)$/.exec(path)
  return m ? Number(m[1]) : undefined
}

/**
 * Why a path could not be read, from what stat (or readdir) threw: a link loop and a link to
 * nothing are said to be links (both were "no such file or folder"), not missing paths.
 */
export async function whyUnreadable(path: string, err: unknown): Promise<string> {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ELOOP') return 'a symbolic link loop (ELOOP)'
  if (code === 'ENOENT') {
    const link = await lstat(path).then(
      (l) => l.isSymbolicLink(),
      () => false,
    )
    if (!link) return 'no such file or folder'
    const target = await readlink(path).catch(() => undefined)
    return `a symbolic link to ${target === undefined ? 'a path' : JSON.stringify(target)}, which does not exist`
  }
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})`
  if (code === 'ENOTDIR') return 'a part of its path is not a folder (ENOTDIR)'
  return (err as Error)?.message ?? String(err)
}

/** What a directory entry that is neither a file, a folder nor a link is. */
export function kindOf(
  e: Pick<Dirent, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>,
): string {
  if (e.isFIFO()) return 'a named pipe (FIFO)'
  if (e.isSocket()) return 'a socket'
  if (e.isCharacterDevice() || e.isBlockDevice()) return 'a device'
  return 'not a regular file'
}
