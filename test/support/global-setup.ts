import type { TestProject } from 'vitest/node'
import { type MotoServer, startMoto } from './moto.js'
import { testWorkers } from './workers.js'

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoints: string[]
  }
}

const servers: MotoServer[] = []

/**
 * Starts one moto server per test worker (test files in one worker run one after another, so each
 * file can reset its worker's server without disturbing a file running in another worker).
 */
export async function setup(project: TestProject): Promise<void> {
  const started = await Promise.all(Array.from({ length: testWorkers() }, () => startMoto()))
  servers.push(...started)
  project.provide(
    'motoEndpoints',
    started.map((s) => s.endpoint),
  )
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()))
}
