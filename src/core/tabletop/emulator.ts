import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { UsageError } from '../../errors.js'
import { atInterrupt } from '../common/interrupt.js'
import type { Gap } from '../context.js'

/** What to tell a responder whose machine lacks the emulator. */
export const MOTO_INSTALL_HINT =
  "install the moto AWS emulator: pip install 'moto[server]' (then `python3 -m moto.server --help` must work)"

/**
 * What moto cannot do at all that AWS does (DESIGN §8), as the gaps a drill hits for it: the
 * calls it serves no route for, and the layer bytes it serves no location for. Nothing else is:
 * a call moto implements can still fail (a statement id its route does not match, say), and a
 * change that did not complete is the drill run's own failure, whatever the error's kind.
 */
const EMULATOR_LACKS: readonly { call: string; reason: RegExp }[] = [
  { call: 'lambda:ListProvisionedConcurrencyConfigs', reason: /^unimplemented: / },
  { call: 'lambda:GetLayerVersion', reason: /^unavailable: Content\.Location is "s3:\/\/"/ },
]

/** Whether a gap is one of the emulator's limits (EMULATOR_LACKS), not a failure of the drill's run. */
export function isEmulatorLimit(gap: Gap): boolean {
  return EMULATOR_LACKS.some((l) => gap.call === l.call && l.reason.test(gap.reason))
}

/** A running local AWS emulator (moto server) on a loopback port. */
export interface Emulator {
  endpoint: string
  pid: number
  stop(): Promise<void>
}

/** A free TCP port on 127.0.0.1. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

/**
 * The emulator's environment: only what Python needs to start. No AWS credentials, profiles or
 * endpoints of the responder reach it (moto does not need them, and they must not leak into a drill).
 */
export function emulatorEnv(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const keep = [
    'PATH',
    'HOME',
    'LANG',
    'LC_ALL',
    'TMPDIR',
    'SYSTEMROOT',
    'PYTHONPATH',
    'PYTHONHOME',
    'VIRTUAL_ENV',
    'PYENV_ROOT',
    'PYENV_VERSION',
  ]
  const env: NodeJS.ProcessEnv = {}
  for (const k of keep) if (source[k] !== undefined) env[k] = source[k]
  return env
}

export interface StartOptions {
  /** The Python interpreter (default python3; FIR_PYTHON overrides). */
  python?: string
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
}

/**
 * What the emulator's Python runs: `python3 -m moto.server`, beside a watchdog thread that ends it
 * when its stdin reaches end of file — fir holds the other end, so moto ends with fir even when fir
 * is killed (SIGKILL runs no exit handler: a killed drill left its moto server running).
 */
const LAUNCHER = [
  'import os, sys, threading, runpy',
  'def watch():',
  '    try:',
  '        while sys.stdin.buffer.read(65536):',
  '            pass',
  '    finally:',
  '        os._exit(0)',
  'threading.Thread(target=watch, daemon=True).start()',
  "runpy.run_module('moto.server', run_name='__main__', alter_sys=True)",
].join('\n')

/**
 * The line of a failed Python start that says why: the exception it ended on (`ModuleNotFoundError:
 * No module named 'moto'` first), never the interpreter's noise after it (the watchdog thread, still
 * reading stdin at shutdown, adds "Fatal Python error … Current thread 0x… <no Python frame>").
 * Empty when there is none.
 */
export function pythonFailureLine(stderr: string): string {
  const exceptions = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt): /.test(line))
  return exceptions.find((line) => line.startsWith('ModuleNotFoundError: ')) ?? exceptions.at(-1) ?? ''
}

/**
 * Starts moto's server (`python3 -m moto.server -H 127.0.0.1 -p PORT`, through LAUNCHER) on a free
 * loopback port and waits until it answers. A missing python3 or moto is a usage error (exit 2)
 * with the install hint.
 */
export async function startEmulator(options: StartOptions = {}): Promise<Emulator> {
  const python = options.python ?? process.env.FIR_PYTHON ?? 'python3'
  const port = await freeLoopbackPort()
  const endpoint = `http://127.0.0.1:${port}`
  let stderr = ''
  let exited: string | undefined
  let spawnError: NodeJS.ErrnoException | undefined
  const child: ChildProcess = spawn(python, ['-c', LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
    // fir holds the write end of moto's stdin and never writes: it closes when fir ends, however.
    stdio: ['pipe', 'ignore', 'pipe'],
    env: options.env ?? emulatorEnv(),
  })
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  child.on('error', (err: NodeJS.ErrnoException) => {
    spawnError = err
    exited = err.message
  })
  child.on('exit', (code, signal) => {
    exited ??= signal ? `killed by ${signal}` : `exited with code ${code}`
  })
  // The emulator must not outlive the drill: if fir exits or is interrupted, moto goes too.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const untrack = atInterrupt('stopped the local emulator', onExit)
  const release = () => {
    process.off('exit', onExit)
    untrack()
  }
  process.on('exit', onExit)
  const stop = async () => {
    release()
    if (child.exitCode !== null || child.signalCode !== null || spawnError) return
    child.kill('SIGTERM')
    const t = Date.now()
    while (child.exitCode === null && child.signalCode === null && Date.now() - t < 5000) await sleep(50)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  for (;;) {
    if (exited) {
      release()
      const noMoto = !spawnError && /No module named '?moto\b/.test(stderr)
      const why =
        spawnError?.code === 'ENOENT'
          ? `${python} was not found`
          : noMoto
            ? `moto is not installed for ${python}`
            : `the emulator ${exited}`
      const detail = spawnError ? '' : pythonFailureLine(stderr)
      throw new UsageError(`unable to start the local AWS emulator: ${why}${detail ? ` (${detail})` : ''}`, {
        actions: [
          MOTO_INSTALL_HINT,
          ...(noMoto && python !== 'python3'
            ? [`for that Python: ${python} -m pip install 'moto[server]'`]
            : []),
          `or set FIR_PYTHON to the Python interpreter that has moto (now ${python}${process.env.FIR_PYTHON && !options.python ? ', from FIR_PYTHON' : ''})`,
        ],
      })
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) break
    } catch {}
    if (Date.now() > deadline) {
      await stop()
      throw new UsageError(
        `unable to start the local AWS emulator: no answer on ${endpoint} within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s`,
        {
          actions: [MOTO_INSTALL_HINT],
        },
      )
    }
    await sleep(150)
  }
  return { endpoint, pid: child.pid ?? -1, stop }
}
