import { open, readdir, stat } from 'node:fs/promises'
import { basename, extname, join, resolve } from 'node:path'
import { NotFoundError } from '../../errors.js'
import { closestName } from '../common/did-you-mean.js'
import { sha256Hex } from '../common/hash.js'
import { escapeTerminal } from '../common/text.js'
import { ACTION_SPECS, type ActionSpec } from './action-specs.js'
import type { Playbook } from './schema.js'
import {
  MAX_YAML_BYTES,
  type Problem,
  problemsError,
  type SourceMap,
  validatePlaybookText,
} from './validate.js'

/** The playbooks fir ships (`playbooks/` at the package root, next to dist/ and src/). */
export const PLAYBOOK_DIR = resolve(import.meta.dirname, '..', '..', '..', 'playbooks')

/** A validated playbook with where it came from. */
export interface LoadedPlaybook {
  playbook: Playbook
  /** The path given or found (shipped playbooks: playbooks/<name>.yaml). */
  file: string
  text: string
  sha256: string
  source: SourceMap
}

export interface PlaybookListing {
  name: string
  title?: string
  description: string
  file: string
  steps: number
  problems: Problem[]
}

function looksLikePath(arg: string): boolean {
  return arg.includes('/') || arg.includes('\\') || ['.yaml', '.yml'].includes(extname(arg))
}

/** Finds the file for `<name|file>`: an existing file, else a shipped playbook of that name. */
export async function resolvePlaybookFile(
  arg: string,
  cwd = process.cwd(),
  dir = PLAYBOOK_DIR,
): Promise<string> {
  const asPath = resolve(cwd, arg)
  if (looksLikePath(arg)) {
    const st = await stat(asPath).catch(() => undefined)
    if (st?.isFile()) return asPath
    // A folder or a pipe exists: "no such file" would send the responder looking for a typo.
    const what = st?.isDirectory()
      ? 'it is a folder, not a file'
      : st
        ? 'it is not a regular file'
        : 'no such file'
    throw new NotFoundError(`unable to read playbook ${escapeTerminal(arg)}: ${what}`, {
      actions: st
        ? ["pass the path of the playbook's .yaml file"]
        : ['check the path', 'run `fir playbook list` to see the shipped playbooks'],
    })
  }
  if (/^[a-z0-9][a-z0-9-]{0,63}$/.test(arg)) {
    for (const ext of ['.yaml', '.yml']) {
      const p = join(dir, `${arg}${ext}`)
      try {
        if ((await stat(p)).isFile()) return p
      } catch {}
    }
  }
  try {
    if ((await stat(asPath)).isFile()) return asPath
  } catch {}
  const names = await playbookNames(dir)
  const near = closestName(arg, names)
  throw new NotFoundError(
    `unable to find playbook ${JSON.stringify(escapeTerminal(arg))}: it is neither a file nor a shipped playbook`,
    {
      actions: [
        ...(near ? [`did you mean ${near}?`] : []),
        `shipped playbooks: ${names.join(', ') || 'none'}`,
        'or pass the path of a playbook file',
      ],
    },
  )
}

/** The names of the playbooks in `dir`: their file names, sorted, less .yaml / .yml. */
async function playbookNames(dir: string): Promise<string[]> {
  return (await listPlaybookFiles(dir)).map((f) => basename(f).replace(/\.ya?ml$/, ''))
}

async function listPlaybookFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(dir, f))
  } catch {
    return []
  }
}

/**
 * Reads a playbook or scenario file as text, at most one byte more than MAX_YAML_BYTES: a larger
 * file is refused by its validation (the size problem) without being read whole.
 */
export async function readYamlFile(file: string): Promise<string> {
  const fh = await open(file, 'r')
  try {
    const buf = Buffer.alloc(Math.min((await fh.stat()).size, MAX_YAML_BYTES + 1))
    let read = 0
    while (read < buf.length) {
      const { bytesRead } = await fh.read(buf, read, buf.length - read, read)
      if (bytesRead === 0) break
      read += bytesRead
    }
    return buf.subarray(0, read).toString('utf8')
  } finally {
    await fh.close()
  }
}

/** Parses and validates playbook text; throws PlaybookError (exit 2) listing every problem. */
export function loadPlaybookText(
  text: string,
  file: string,
  specs: readonly ActionSpec[] = ACTION_SPECS,
): LoadedPlaybook {
  const result = validatePlaybookText(text, file, specs)
  if (!result.playbook || result.problems.length > 0) {
    throw problemsError(
      'playbook',
      file,
      result.problems,
      `fix the problems above, then check with \`fir playbook validate ${file}\``,
    )
  }
  return { playbook: result.playbook, file, text, sha256: sha256Hex(text), source: result.source }
}

/** Loads `<name|file>` and validates it before anything else happens. */
export async function loadPlaybook(
  arg: string,
  cwd = process.cwd(),
  specs: readonly ActionSpec[] = ACTION_SPECS,
): Promise<LoadedPlaybook> {
  const file = await resolvePlaybookFile(arg, cwd)
  const text = await readYamlFile(file)
  return loadPlaybookText(text, file, specs)
}

/** Every shipped playbook, with its problems (none, for a healthy install). */
export async function listPlaybooks(dir = PLAYBOOK_DIR): Promise<PlaybookListing[]> {
  const out: PlaybookListing[] = []
  for (const file of await listPlaybookFiles(dir)) {
    const r = validatePlaybookText(await readYamlFile(file), file)
    const data = (r.data && typeof r.data === 'object' ? r.data : {}) as Partial<Playbook>
    out.push({
      name: typeof data.name === 'string' ? data.name : basename(file),
      ...(typeof data.title === 'string' ? { title: data.title } : {}),
      description: typeof data.description === 'string' ? data.description : '',
      file,
      steps: Array.isArray(data.steps) ? data.steps.length : 0,
      problems: r.problems,
    })
  }
  return out
}

/** The shipped playbooks by name, for a command given none: what its argument may be. */
export async function shippedPlaybooksNote(): Promise<string> {
  const names = await playbookNames(PLAYBOOK_DIR)
  return `the shipped playbooks: ${names.join(', ')} (\`fir playbook list\` describes them)`
}
