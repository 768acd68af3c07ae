import { beforeAll, inject } from 'vitest'
import { resetMoto } from './moto.js'

/** This worker's moto endpoint. */
export function motoEndpoint(): string {
  const endpoints = inject('motoEndpoints')
  const id = Number(process.env.VITEST_POOL_ID ?? 1)
  const endpoint = endpoints[(id - 1) % endpoints.length]
  if (!endpoint) throw new Error('no moto endpoint was provided by the global setup')
  return endpoint
}

/**
 * Use in an emulator test file: resets this worker's moto before the file runs and returns its
 * endpoint. Every test file that touches moto calls this once at top level.
 */
export function useMoto(): { endpoint: () => string } {
  let endpoint = ''
  beforeAll(async () => {
    endpoint = motoEndpoint()
    process.env.AWS_ENDPOINT_URL = endpoint
    await resetMoto(endpoint)
  })
  return { endpoint: () => endpoint }
}

/**
 * An AWS SDK client of the test's own (not fir's), on `endpoint` with the emulator's dummy
 * credentials: for reading back what a test made fir do.
 */
export function emulatorClient<T>(
  Ctor: new (config: any) => T,
  endpoint: string,
  extra: Record<string, unknown> = {},
): T {
  return new Ctor({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    ...extra,
  })
}
