import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './cli.js'

/** A running process that passes for a fir command (isLiveFirProcess), and how to end it. */
export interface FirStandIn {
  pid: number
  stop(): Promise<void>
}

/**
 * Starts a process that passes for a fir command running on this host: node running the bin/run.js
 * of a package named fir (a script that only waits), started as `node ../fir/bin/run.js` from a
 * folder beside that package, as a fir started by a relative path is. Far lighter than a real fir.
 */
export async function startFirStandIn(): Promise<FirStandIn> {
  const root = await tempDir('fir-stand-in-')
  await mkdir(join(root, 'fir', 'bin'), { recursive: true })
  await mkdir(join(root, 'elsewhere'))
  await writeFile(join(root, 'fir', 'package.json'), JSON.stringify({ name: 'fir' }))
  await writeFile(
    join(root, 'fir', 'bin', 'run.js'),
    "process.stdout.write('ready\\n')\nsetInterval(() => {}, 1 << 30)\n",
  )
  const child: ChildProcess = spawn(process.execPath, ['../fir/bin/run.js'], {
    cwd: join(root, 'elsewhere'),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  // Ready once it has printed: its command line is then node's, not the test's it was forked from.
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the fir stand-in ended (${code})`)))
  })
  const closed = new Promise((r) => child.once('close', r))
  return {
    pid: child.pid!,
    async stop() {
      child.kill('SIGKILL')
      await closed
    },
  }
}
