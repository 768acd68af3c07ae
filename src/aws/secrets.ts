/** Secrets Manager calls for `fir creds rotate-secret` (metadata only: fir never reads secret values here). */
import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

export interface SecretDescription {
  arn: string
  name: string
  rotationEnabled: boolean
  rotationLambdaArn: string | null
  lastRotatedDate: string | null
  /** The version id holding the AWSCURRENT stage, when reported. */
  currentVersionId: string | null
  /** The version id holding AWSPENDING (a rotation in progress or one that failed half way). */
  pendingVersionId: string | null
  /** When the secret is scheduled for deletion (DeletedDate, UTC ISO); null when it is not. */
  deletedDate: string | null
}

export async function describeSecret(aws: AwsClients, secretId: string): Promise<SecretDescription> {
  try {
    const out = await aws.secrets.send(new (sdk.secrets().DescribeSecretCommand)({ SecretId: secretId }))
    const stages = Object.entries(out.VersionIdsToStages ?? {})
    const holder = (stage: string) => stages.find(([, s]) => s.includes(stage))?.[0] ?? null
    return {
      arn: out.ARN ?? secretId,
      name: out.Name ?? secretId,
      rotationEnabled: out.RotationEnabled === true,
      rotationLambdaArn: out.RotationLambdaARN ?? null,
      lastRotatedDate: out.LastRotatedDate?.toISOString() ?? null,
      currentVersionId: holder('AWSCURRENT'),
      pendingVersionId: holder('AWSPENDING'),
      deletedDate: out.DeletedDate?.toISOString() ?? null,
    }
  } catch (err) {
    throw toFirError(err, 'secretsmanager:DescribeSecret', `describe secret ${secretId}`)
  }
}

/** Starts an immediate rotation with the secret's configured rotation function. */
export async function rotateSecretNow(
  aws: AwsClients,
  secretId: string,
): Promise<{ versionId: string | null }> {
  try {
    const out = await aws.secrets.send(
      new (sdk.secrets().RotateSecretCommand)({ SecretId: secretId, RotateImmediately: true }),
    )
    return { versionId: out.VersionId ?? null }
  } catch (err) {
    throw toFirError(err, 'secretsmanager:RotateSecret', `rotate secret ${secretId}`)
  }
}

/** Every secret's name and ARN in the region (all pages; metadata only). */
export async function listSecretNames(aws: AwsClients): Promise<{ name: string; arn: string }[]> {
  const out: { name: string; arn: string }[] = []
  let token: string | undefined
  try {
    do {
      const page = await aws.secrets.send(new (sdk.secrets().ListSecretsCommand)({ NextToken: token }))
      for (const s of page.SecretList ?? []) if (s.ARN) out.push({ name: s.Name ?? s.ARN, arn: s.ARN })
      token = page.NextToken
    } while (token)
  } catch (err) {
    throw toFirError(err, 'secretsmanager:ListSecrets', 'list the secrets')
  }
  return out
}
