import { realpathSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative } from 'node:path'

/** `path` relative to `folder` when it lies inside it (not the folder itself), else undefined. */
export function relativeInside(folder: string, path: string): string | undefined {
  const rel = relative(folder, path)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : undefined
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
