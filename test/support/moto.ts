import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
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

export interface MotoServer {
  endpoint: string
  pid: number
  stop(): Promise<void>
}

const INSTALL_HINT =
  "fir's tests and tabletop drills need the moto AWS emulator: install it with `pip install 'moto[server]'` (python3 -m moto.server must start)"

/**
 * Starts `python3 -m moto.server` on a free loopback port and waits until it answers. Fails loudly
 * (never skips) when python3 or moto is missing.
 */
export async function startMoto(env: NodeJS.ProcessEnv = {}): Promise<MotoServer> {
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  let stderr = ''
  let exited: string | undefined
  let child: ChildProcess
  try {
    child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
      detached: false,
    })
  } catch (err) {
    throw new Error(`unable to start moto: ${(err as Error).message}. ${INSTALL_HINT}`)
  }
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  child.on('error', (err) => {
    exited = err.message
  })
  child.on('exit', (code) => {
    exited ??= `exited with code ${code}`
  })
  const deadline = Date.now() + 60_000
  for (;;) {
    if (exited) throw new Error(`unable to start moto server: ${exited}\n${stderr}\n${INSTALL_HINT}`)
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`)
      if (res.ok) break
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(
        `unable to start moto server: no answer on ${endpoint} within 60 s\n${stderr}\n${INSTALL_HINT}`,
      )
    }
    await sleep(150)
  }
  return {
    endpoint,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const t = Date.now()
      while (child.exitCode === null && child.signalCode === null && Date.now() - t < 5000) await sleep(50)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/** Clears all of moto's state. */
export async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`)
}
