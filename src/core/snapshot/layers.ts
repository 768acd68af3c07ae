import { parseArn } from '../identity.js'

/**
 * The account that published a layer version when it is another account than the function's
 * (that account's code runs inside the function), else undefined. Shared by the snapshot's
 * `foreign-layer` finding and the report's impact.
 */
export function foreignLayerPublisher(layerVersionArn: string, functionAccount: string): string | undefined {
  const owner = parseArn(layerVersionArn)?.account
  return owner && /^\d{12}$/.test(owner) && functionAccount !== '' && owner !== functionAccount
    ? owner
    : undefined
}
