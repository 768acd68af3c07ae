import type { BatchGetImageCommandOutput } from '@aws-sdk/client-ecr'
import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

/** The registry, region and repository of an ECR image URI, or undefined when it is not ECR. */
export function parseEcrImageUri(
  uri: string,
): { registryId: string; region: string; repository: string; tag?: string; digest?: string } | undefined {
  const m = uri.match(
    /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([^@]+))?(?:@(sha256:[0-9a-f]{64}))?$/,
  )
  if (!m) return undefined
  return {
    registryId: m[1]!,
    region: m[2]!,
    repository: m[3]!,
    ...(m[4] ? { tag: m[4] } : {}),
    ...(m[5] ? { digest: m[5] } : {}),
  }
}

/** ecr:BatchGetImage for one digest: the image manifest (failures are in the response, not thrown). */
export async function batchGetImage(
  aws: AwsClients,
  registryId: string,
  repository: string,
  digest: string,
): Promise<BatchGetImageCommandOutput> {
  try {
    return await aws.ecr.send(
      new (sdk.ecr().BatchGetImageCommand)({
        registryId,
        repositoryName: repository,
        imageIds: [{ imageDigest: digest }],
        acceptedMediaTypes: [
          'application/vnd.docker.distribution.manifest.v2+json',
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.docker.distribution.manifest.list.v2+json',
        ],
      }),
    )
  } catch (err) {
    throw toFirError(err, 'ecr:BatchGetImage', `read the image manifest ${repository}@${digest}`)
  }
}
