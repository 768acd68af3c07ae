import { spawn } from 'node:child_process'
import { BIN, REPO_ROOT, testEnv } from './cli.js'

export interface TerminalResult {
  /** fir's exit code. */
  code: number | null
  /** Every byte fir wrote to the terminal (stdout and stderr share it), as text. */
  output: string
  /** The questions fir asked (the terminal text before each `[y/N] `, from the last line break). */
  questions: string[]
}

/**
 * Drives the built CLI on a pseudo-terminal (Python's pty module, as moto already needs Python):
 * stdin is a terminal, so fir asks its confirmations; each `[y/N] ` prompt is answered with the next
 * of `answers` (then "n"). The child is killed after `timeoutMs`.
 */
const DRIVER = String.raw`
import os, pty, sys, json, time
answers, argv, limit = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out, seen, start = b'', 0, time.time()
while True:
    if time.time() - start > limit:
        os.kill(pid, 9)
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    while out.find(b'[y/N] ', seen) >= 0:
        seen = out.find(b'[y/N] ', seen) + 6
        os.write(fd, ((answers.pop(0) if answers else 'n') + '\r').encode())
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({"code": os.waitstatus_to_exitcode(status), "output": out.decode('utf-8', 'replace')}))
`

export function runFirOnTerminal(
  args: string[],
  options: { cwd?: string; endpoint?: string; answers?: string[]; timeoutMs?: number } = {},
): Promise<TerminalResult> {
  const argv = [process.execPath, BIN, ...args]
  const limit = (options.timeoutMs ?? 120_000) / 1000
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.env.FIR_PYTHON ?? 'python3',
      ['-c', DRIVER, JSON.stringify(options.answers ?? []), JSON.stringify(argv), String(limit)],
      { cwd: options.cwd ?? REPO_ROOT, env: { ...testEnv(options.endpoint), TERM: 'dumb' } },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('error', reject)
    child.on('close', () => {
      try {
        const r = JSON.parse(stdout) as { code: number | null; output: string }
        const questions = [...r.output.matchAll(/([^\r\n]*)\[y\/N\] /g)].map((m) => m[1]!.trim())
        resolve({ ...r, questions })
      } catch {
        reject(new Error(`the terminal driver failed: ${stderr || stdout}`))
      }
    })
  })
}
