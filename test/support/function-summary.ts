import type { FunctionSummary } from '../../src/core/snapshot/types.js'

/**
 * The facts of a FunctionSummary for a function the snapshot read completely and found nothing
 * in: no versions, aliases, layers, URL, images, exposure, secrets, keys, unreadable environments,
 * risky permissions, reserved or provisioned concurrency or mappings. Fresh lists each call (tests may fill them).
 */
export function nothingFound(): Pick<
  FunctionSummary,
  | 'versions'
  | 'aliases'
  | 'layers'
  | 'url'
  | 'urls'
  | 'images'
  | 'exposure'
  | 'secrets'
  | 'accessKeyIds'
  | 'environmentErrors'
  | 'riskyPermissions'
  | 'reservedConcurrency'
  | 'provisionedConcurrency'
  | 'eventSourceMappings'
  | 'quarantined'
  | 'gaps'
> {
  return {
    versions: [],
    aliases: [],
    layers: [],
    url: null,
    urls: [],
    images: [],
    exposure: [],
    secrets: [],
    accessKeyIds: [],
    environmentErrors: [],
    riskyPermissions: [],
    reservedConcurrency: null,
    provisionedConcurrency: [],
    eventSourceMappings: [],
    quarantined: false,
    gaps: [],
  }
}
