import { vi } from 'vitest'

/**
 * Runs before each test file (vitest.config.ts: setupFiles). The files of a worker share its
 * process (isolate: false), which spares each file the start of a Node.js process and a new load
 * of the AWS SDK; what isolation gave them is given here instead:
 * - what the last file left registered for an interruption (a case lock a test never released) is
 *   run, as the SIGTERM that ended an isolated file's process ran it;
 * - fir's modules and the test helpers are evaluated afresh, so their process-wide state (the
 *   redactor, the journal's actor, interrupt cleanups, a helper's memory of moto) starts empty;
 *   packages (the AWS SDK, oclif) stay loaded: they are the cost this saves;
 * - process.env is as the worker started (a file's useMoto, a test's TZ or stubEnv);
 * - process.exitCode is unset.
 */

interface Carried {
  env: NodeJS.ProcessEnv
  interrupt?: { runInterruptCleanups(): string[] }
}

const carried = globalThis as typeof globalThis & { __firEachFile?: Carried }

if (!carried.__firEachFile) carried.__firEachFile = { env: { ...process.env } }
const state = carried.__firEachFile

state.interrupt?.runInterruptCleanups()
for (const key of Object.keys(process.env)) {
  if (!(key in state.env) && !key.startsWith('VITEST')) delete process.env[key]
}
for (const [key, value] of Object.entries(state.env)) {
  if (!key.startsWith('VITEST') && process.env[key] !== value) process.env[key] = value
}
process.exitCode = undefined

vi.resetModules()
state.interrupt = await import('../../src/core/common/interrupt.js')
