import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { vi } from 'vitest'

/**
 * Runs before each test file (vitest.config.ts: setupFiles). The files of a worker share its
 * process (isolate: false), which spares each file the start of a Node.js process and a new load
 * of the AWS SDK; what isolation gave them is given here instead:
 * - what the last file left registered for an interruption (a case lock a test never released) is
 *   run, as the SIGTERM that ended an isolated file's process ran it: in src/ and in dist/ (the
 *   tests that run the built pipeline in process import dist/ modules, each with its own
 *   interrupt.js); a signal handler still left is one of a copy neither of those is (a test's own
 *   vi.resetModules), and is removed: one more a file would otherwise pile up on the process;
 * - fir's modules and the test helpers are evaluated afresh, so their process-wide state (the
 *   redactor, the journal's actor, interrupt cleanups, a helper's memory of moto) starts empty;
 *   packages (the AWS SDK, oclif) stay loaded: they are the cost this saves;
 * - process.env is as the worker started (a file's useMoto, a test's TZ or stubEnv);
 * - process.exitCode is unset.
 */

interface Carried {
  env: NodeJS.ProcessEnv
  /** The signal handlers the worker had before any file ran. */
  handlers: Map<NodeJS.Signals, Function[]>
  interrupts: { runInterruptCleanups(): string[] }[]
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
const carried = globalThis as typeof globalThis & { __firEachFile?: Carried }

if (!carried.__firEachFile) {
  carried.__firEachFile = {
    env: { ...process.env },
    handlers: new Map(SIGNALS.map((s) => [s, process.listeners(s)])),
    interrupts: [],
  }
}
const state = carried.__firEachFile

for (const interrupt of state.interrupts) interrupt.runInterruptCleanups()
for (const signal of SIGNALS) {
  const before = state.handlers.get(signal) ?? []
  for (const handler of process.listeners(signal)) {
    if (!before.includes(handler)) process.off(signal, handler as (s: NodeJS.Signals) => void)
  }
}
for (const key of Object.keys(process.env)) {
  if (!(key in state.env) && !key.startsWith('VITEST')) delete process.env[key]
}
for (const [key, value] of Object.entries(state.env)) {
  if (!key.startsWith('VITEST') && process.env[key] !== value) process.env[key] = value
}
process.exitCode = undefined

vi.resetModules()
const built = join(resolve(import.meta.dirname, '../..'), 'dist/core/common/interrupt.js')
state.interrupts = [
  await import('../../src/core/common/interrupt.js'),
  // As the tests import dist/ modules (a file URL), so that this is the copy they load.
  ...(existsSync(built) ? [await import(pathToFileURL(built).href)] : []),
]
