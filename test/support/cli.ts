import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CaseHandle } from '../../src/core/case/case-folder.js'

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..')
export const BIN = join(REPO_ROOT, 'bin', 'run.js')
const FIR_VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON, when it is JSON. */
  json: any
}

export interface CliOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** What stdin gives (then it ends); bytes as they are. */
  input?: string | Buffer
  endpoint?: string
  timeoutMs?: number
  /** Run as this user (only root may choose another). */
  user?: { uid: number; gid: number }
  /** Called with the child as soon as it starts (e.g. to kill it at a chosen moment). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void
}

/**
 * Every file under `dir` but those in an evidence/ folder, with its text: what a test of secrets
 * searches (DESIGN §1: secret values never leave evidence/).
 */
export async function outputsUnder(dir: string): Promise<[string, string][]> {
  const out: [string, string][] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    if (path.split('/').includes('evidence')) continue
    out.push([path, await readFile(path, 'utf8')])
  }
  return out
}

/** A fresh temporary folder (real files, never mocks). */
export function tempDir(prefix = 'fir-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/**
 * A new case, made as `fir case init <id>` makes it (`cwd`/cases/<id>, or `dir`), in this process:
 * for a test whose subject is another command, which then runs on it through the CLI. Starting the
 * CLI to make it cost each such test a quarter of a second; test/commands/case.test.ts runs
 * `fir case init` itself. Returns the case folder.
 */
export async function initCase(id: string, where: { cwd: string } | { dir: string }): Promise<string> {
  const handle = await CaseHandle.init(id, { ...where, firVersion: FIR_VERSION })
  await handle.close()
  return handle.dir
}

/**
 * The environment fir runs with in tests: dummy credentials, no AWS config files, no instance
 * metadata, the loopback guard on, and the emulator endpoint when given.
 */
export function testEnv(endpoint?: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.FIR_TEST_HOME ?? tmpdir(),
    LANG: 'C.UTF-8',
    FIR_EMULATOR_ONLY: '1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent/fir-test-aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/fir-test-aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    FIR_LOCK_WAIT_MS: '2000',
    ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}),
    ...extra,
  }
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
  return env
}

/**
 * Runs the built CLI (bin/run.js → dist/) as a child process, the way a user would, with dummy
 * credentials, the emulator endpoint and the loopback guard on. stdin is not a terminal.
 */
export function runFir(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runChild(process.execPath, [BIN, ...args], options)
}

/**
 * Runs a command line in bash, as a responder pastes one fir printed: `fir` is the built CLI
 * there, in the same environment as runFir's (so the shell's own quoting is what is tested).
 */
export function runShell(line: string, options: CliOptions = {}): Promise<CliResult> {
  const fir = `fir() { ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"; }`
  return runChild('bash', ['-c', `${fir}\n${line}`], options)
}

function runChild(command: string, args: string[], options: CliOptions): Promise<CliResult> {
  const env = testEnv(options.endpoint, options.env)
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...options.user,
    })
    options.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      let json: unknown
      try {
        json = JSON.parse(stdout)
      } catch {
        json = undefined
      }
      resolvePromise({ code, signal, stdout, stderr, json })
    })
    child.stdin.end(options.input ?? '')
  })
}
