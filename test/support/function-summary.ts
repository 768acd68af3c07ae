import type { FunctionSummary } from '../../src/core/snapshot/types.js'

/**
 * The facts of a FunctionSummary for a function the snapshot read completely and found nothing
 * in: no versions, aliases, layers, unread configurations, URL, images, exposure, unread resource policies, secrets, keys, unreadable environments,
 * risky permissions, reserved or provisioned concurrency or mappings. Fresh lists each call (tests may fill them).
 */
export function nothingFound(): Pick<
  FunctionSummary,
  | 'versions'
  | 'aliases'
  | 'layers'
  | 'unreadConfigurations'
  | 'url'
  | 'urls'
  | 'images'
  | 'exposure'
  | 'unreadPolicies'
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
    unreadConfigurations: [],
    url: null,
    urls: [],
    images: [],
    exposure: [],
    unreadPolicies: [],
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
