import type { FunctionSummary } from '../../src/core/snapshot/types.js'

/**
 * The facts of a FunctionSummary for a function the snapshot read completely and found nothing
 * in: no versions, aliases, layers, URL, exposure, secrets, keys, unreadable environments, risky
 * permissions, reserved concurrency or mappings. Fresh lists each call (tests may fill them).
 */
export function nothingFound(): Pick<
  FunctionSummary,
  | 'versions'
  | 'aliases'
  | 'layers'
  | 'url'
  | 'exposure'
  | 'secrets'
  | 'accessKeyIds'
  | 'environmentErrors'
  | 'riskyPermissions'
  | 'reservedConcurrency'
  | 'eventSourceMappings'
  | 'quarantined'
  | 'gaps'
> {
  return {
    versions: [],
    aliases: [],
    layers: [],
    url: null,
    exposure: [],
    secrets: [],
    accessKeyIds: [],
    environmentErrors: [],
    riskyPermissions: [],
    reservedConcurrency: null,
    eventSourceMappings: [],
    quarantined: false,
    gaps: [],
  }
}
