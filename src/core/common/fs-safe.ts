import { randomBytes } from 'node:crypto'
import { constants, type Stats } from 'node:fs'
import {
  chmod,
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { ExitCode, FirError } from '../../errors.js'
import { sha256File } from './hash.js'
import { trackTemporary } from './interrupt.js'

export const FILE_MODE = 0o600
export const DIR_MODE = 0o700

/**
 * What EPERM from a file system call most likely means, and what to do: unlike EACCES it comes
 * where the mode allows the call, root's included.
 */
export const NOT_PERMITTED_HINT =
  'the file or folder, or the folder it is in, may be immutable or append-only (`lsattr -d` shows an i or an a; as root, `chattr -i` or `chattr -a` clears it), or on macOS protected by its privacy settings (~/Desktop, ~/Documents, ~/Downloads: give the terminal Full Disk Access in System Settings → Privacy & Security)'

/**
 * mkdir -p with the case's folder mode (0700) on every folder it creates. Folders that were there
 * keep their mode: an export's `--out` lands in the responder's own folders (it had made the
 * working folder 0700, or /tmp when run there as root).
 */
export async function ensureDir(path: string): Promise<void> {
  // Not mkdir({ recursive }): Node's loops forever, at full CPU, where mkdir answers ENOENT under
  // a parent that exists (/proc, /sys). The folders missing are found first, then made one by one.
  const missing: string[] = []
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw err
    })
    if (st?.isDirectory()) break
    if (st) throw fsError('ENOTDIR', 'not a directory', 'mkdir', dir)
    missing.push(dir)
    if (dirname(dir) === dir) break
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir, { mode: DIR_MODE })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // Made meanwhile (another fir process): fine. A link to nothing (an unmounted drive): not.
      if (code !== 'EEXIST') throw err
      if (!(await stat(dir).catch(() => undefined))?.isDirectory())
        throw fsError('ENOTDIR', 'not a directory (a file, or a link to nothing)', 'mkdir', dir)
      continue
    }
    // mkdir's mode passes through the umask: set it exactly.
    await chmod(dir, DIR_MODE)
  }
}

/** An error shaped as a failed system call's (code, syscall, path), as Node's own are. */
function fsError(code: string, what: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${what}, ${syscall} '${path}'`), { code, syscall, path })
}

/**
 * Whether a file the responder names (`--out`) is written in place: a device, pipe or socket that
 * is there (/dev/null, /dev/stdout, a FIFO). The usual temporary file renamed over it would
 * replace the device itself — as root, /dev/null for the whole machine. Anything else is written
 * atomically (a link to a file is replaced, not followed: it could lead into a case).
 */
export async function writesInPlace(path: string): Promise<boolean> {
  return isWrittenInPlace(await stat(path).catch(() => undefined))
}

/** writesInPlace for a file already stat'ed (undefined: it is not there). */
export function isWrittenInPlace(st: Stats | undefined): boolean {
  return st !== undefined && !st.isFile() && !st.isDirectory()
}

/** A file the responder names (`--out`): in place (see writesInPlace), else atomically. */
export async function writeOutputFile(path: string, data: string | Buffer): Promise<void> {
  if (await writesInPlace(path)) await writeFile(path, data)
  else await writeFileAtomic(path, data)
}

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`)
}

/**
 * Whether the temporary `tmp` of an atomic write is no longer the file open as `handle`: removed,
 * or replaced under its name, by something other than fir (case verify once told the responder to
 * remove a running command's temporaries). What was written would never take its name.
 */
export async function temporaryGone(handle: FileHandle, tmp: string): Promise<boolean> {
  const mine = await handle.stat()
  const there = await lstat(tmp).catch(() => undefined)
  // Inodes are compared only on the same device: a layered file system (overlayfs) may name one
  // file by another device through the descriptor than through its path.
  return !there || mine.nlink === 0 || (there.dev === mine.dev && there.ino !== mine.ino)
}

/**
 * The clear error (exit 2) for a temporary of an atomic write of `path` that something other than
 * fir removed while fir was writing it (temporaryGone, or a rename's ENOENT). `journaled`: it went
 * between journaling the file (beforeRename) and its rename.
 */
export function temporaryRemovedError(
  path: string,
  tmp: string,
  journaled: boolean,
  cause?: unknown,
): FirError {
  const what = journaled
    ? 'the journal records the file, which is not in place (case verify names it missing)'
    : 'nothing of what was written is recorded or in place'
  return new FirError(
    'temporary-removed',
    `unable to write ${path}: its temporary file ${tmp} was removed while fir was writing it (by hand, or by another program); ${what}`,
    {
      exitCode: ExitCode.usage,
      actions: [
        'run the command again, and leave alone the temporary files of a fir command that is running (`fir case verify` names them as its work in progress)',
      ],
      ...(cause === undefined ? {} : { cause }),
    },
  )
}

/** A rename of an atomic write's temporary into place: its ENOENT is temporaryRemovedError. */
export async function renameTemporary(tmp: string, path: string, journaled: boolean): Promise<void> {
  await rename(tmp, path).catch((err: NodeJS.ErrnoException) => {
    // The temporary is beside `path`: a folder that is gone took it too.
    throw err.code === 'ENOENT' ? temporaryRemovedError(path, tmp, journaled, err) : err
  })
}

/** The name tempPathFor gives a temp file. */
const TEMP_NAME = /^\.[0-9a-f]{12}\.tmp$/

/** A temp file (tempPathFor) holding exactly a recorded file that is missing beside it. */
export interface UnrenamedTemporary {
  /** Path of the temp file, relative to the root, with `/`. */
  temporary: string
  /** Path recorded for it, relative to the root, with `/`. */
  path: string
}

/**
 * The temp files of atomic writes recorded in `beforeRename` (writeFileAtomic,
 * AtomicFileWriter.commit) that an interruption stopped before the rename: a temp file beside a
 * recorded file that is missing, of the size and SHA-256 recorded for it. `files`: paths relative
 * to `root` (with `/`) → what was recorded. Each folder is listed once, and a temp file is hashed
 * only when its folder lacks a recorded file of its size (an events.jsonl runs to gigabytes).
 */
export async function unrenamedTemporaries(
  root: string,
  files: ReadonlyMap<string, { sha256: string; bytes: number }>,
): Promise<UnrenamedTemporary[]> {
  const byFolder = new Map<string, Map<string, { sha256: string; bytes: number }>>()
  for (const [rel, record] of files) {
    // A path that leaves the root, or names no file, is none of the root's files.
    if (rel.split('/').some((part) => part === '' || part === '.' || part === '..')) continue
    const slash = rel.lastIndexOf('/')
    const folder = rel.slice(0, Math.max(0, slash))
    let named = byFolder.get(folder)
    if (!named) byFolder.set(folder, (named = new Map()))
    named.set(rel.slice(slash + 1), record)
  }
  const found: UnrenamedTemporary[] = []
  for (const [folder, named] of byFolder) {
    const names = await readdir(join(root, folder)).catch(() => [] as string[])
    const there = new Set(names)
    const missing = [...named].filter(([name]) => !there.has(name))
    if (missing.length === 0) continue
    for (const name of names) {
      if (!TEMP_NAME.test(name)) continue
      const temp = join(root, folder, name)
      const st = await lstat(temp).catch(() => undefined)
      if (!st?.isFile() || !missing.some(([, r]) => r.bytes === st.size)) continue
      const { sha256 } = await sha256File(temp)
      const i = missing.findIndex(([, r]) => r.bytes === st.size && r.sha256 === sha256)
      if (i === -1) continue
      const [file] = missing.splice(i, 1)[0]!
      const prefix = folder ? `${folder}/` : ''
      found.push({ temporary: `${prefix}${name}`, path: `${prefix}${file}` })
    }
  }
  return found
}

/** A new scratch file in `dir` for a resumable download: `.download-<12 hex>.partial`. */
export function partialPathIn(dir: string): string {
  return join(dir, `.download-${randomBytes(6).toString('hex')}.partial`)
}

/** Fsyncs a folder so a rename inside it survives a crash. */
async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** A write-once file (evidence) that is already there, or already being written. */
export class WriteOnceError extends Error {
  override readonly name = 'WriteOnceError'
}

/**
 * Writes a file atomically: temp file in the same folder, fsync, rename, fsync the folder.
 * With `once`, refuses to replace an existing file (evidence is write-once): a WriteOnceError.
 * `beforeRename` runs once the temp file holds all of `data`, durably, just before the rename: it
 * records the file (journals it by hash: DESIGN §2, a change is journaled before it is made), so
 * a record always means the bytes were whole on disk. From the moment it starts the temp file may
 * be the recorded file under another name: an interruption leaves it in place (an unrecorded one
 * is swept by the next open of the case, a recorded one renamed: see unrenamedTemporaries). When
 * it fails, the temp file is removed and nothing is renamed.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { once?: boolean; beforeRename?: () => Promise<void> } = {},
): Promise<void> {
  await ensureDir(dirname(path))
  if (options.once && (await exists(path)))
    throw new WriteOnceError(`refusing to overwrite ${path}: it is write-once`)
  const tmp = tempPathFor(path)
  const done = trackTemporary(tmp)
  try {
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE)
    let gone: boolean
    try {
      await handle.writeFile(data)
      await handle.sync()
      gone = await temporaryGone(handle, tmp)
    } catch (err) {
      await handle.close()
      await rm(tmp, { force: true })
      throw err
    }
    await handle.close()
    // Before the file is journaled: a removed temporary leaves nothing recorded.
    if (gone) throw temporaryRemovedError(path, tmp, false)
    if (options.once && (await exists(path))) {
      await rm(tmp, { force: true })
      throw new WriteOnceError(`refusing to overwrite ${path}: it is write-once`)
    }
    if (options.beforeRename) {
      done()
      try {
        await options.beforeRename()
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
    }
    await renameTemporary(tmp, path, options.beforeRename !== undefined)
  } finally {
    done()
  }
  await fsyncDir(dirname(path))
}

/**
 * Appends one line with O_APPEND and fsyncs it: the whole line, or nothing (and the error). A file
 * whose last line lacks its line break (a crash cut off the write just before it) gets one first,
 * so the new line never runs on into the old. A symbolic link in the file's place is not followed
 * (ELOOP): an append-only record must grow where it is, never in a file the link points to.
 */
export async function appendLineDurable(path: string, line: string): Promise<void> {
  const text = line.endsWith('\n') ? line : `${line}\n`
  const handle = await open(
    path,
    constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    FILE_MODE,
  )
  try {
    const { size } = await handle.stat()
    let data = Buffer.from(text)
    if (size > 0) {
      const last = Buffer.alloc(1)
      await handle.read(last, 0, 1, size - 1)
      if (last[0] !== 0x0a) data = Buffer.from(`\n${text}`)
    }
    try {
      // A write may take part of the line (a disk that fills up, a file size limit): the rest goes
      // after it, or the call fails.
      for (let off = 0; off < data.length; ) {
        const { bytesWritten } = await handle.write(data, off)
        if (bytesWritten === 0) throw new Error(`unable to append to ${path}: the write made no progress`)
        off += bytesWritten
      }
      await handle.sync()
    } catch (err) {
      // A line is appended whole or not at all: half of one would run on into the next line.
      await handle.truncate(size).catch(() => undefined)
      throw err
    }
  } finally {
    await handle.close()
  }
}

/** Cuts a file back to `length` bytes and fsyncs it (a symbolic link in its place is not followed). */
export async function truncateDurable(path: string, length: number): Promise<void> {
  const handle = await open(path, constants.O_RDWR | constants.O_NOFOLLOW)
  try {
    await handle.truncate(length)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

export { fsyncDir }
