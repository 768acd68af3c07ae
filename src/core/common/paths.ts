import { isAbsolute, relative } from 'node:path'

/** `path` relative to `folder` when it lies inside it (not the folder itself), else undefined. */
export function relativeInside(folder: string, path: string): string | undefined {
  const rel = relative(folder, path)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : undefined
}

/** /dev/stdin, /dev/fd/N or /proc/self/fd/N: the descriptor the path names, else undefined. */
export function inheritedDescriptor(path: string): number | undefined {
  if (path === '/dev/stdin') return 0
  const m = /^\/(?:dev\/fd|proc\/self\/fd)\/(\d+)$/.exec(path)
  return m ? Number(m[1]) : undefined
}
