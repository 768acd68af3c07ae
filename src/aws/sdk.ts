import { createRequire } from 'node:module'

const load = createRequire(import.meta.url)

/**
 * AWS SDK packages, loaded when first used: importing them cost every fir command up to half a
 * second of start-up, whether it called that service or not (a timeline over local files calls
 * none). The SDK's are CommonJS packages without an `exports` map, and https-proxy-agent is an ES
 * module that `require` loads as such (Node 20.19 and later, hence `engines`): either way this is
 * the very module that an `import` elsewhere gets (test/aws/clients.test.ts checks). Types come
 * from `import type`, which loads nothing.
 */
export const sdk = {
  athena: () => load('@aws-sdk/client-athena') as typeof import('@aws-sdk/client-athena'),
  cloudtrail: () => load('@aws-sdk/client-cloudtrail') as typeof import('@aws-sdk/client-cloudtrail'),
  logs: () => load('@aws-sdk/client-cloudwatch-logs') as typeof import('@aws-sdk/client-cloudwatch-logs'),
  ecr: () => load('@aws-sdk/client-ecr') as typeof import('@aws-sdk/client-ecr'),
  iam: () => load('@aws-sdk/client-iam') as typeof import('@aws-sdk/client-iam'),
  lambda: () => load('@aws-sdk/client-lambda') as typeof import('@aws-sdk/client-lambda'),
  organizations: () =>
    load('@aws-sdk/client-organizations') as typeof import('@aws-sdk/client-organizations'),
  s3: () => load('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3'),
  secrets: () => load('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager'),
  sts: () => load('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts'),
  /** The shared config and credentials files as the SDK itself reads them (profiles). */
  config: () => load('@smithy/core/config') as typeof import('@smithy/core/config'),
  /** The SDK's own retry strategies (fir wraps the adaptive one: clients.ts). */
  retry: () => load('@smithy/core/retry') as typeof import('@smithy/core/retry'),
  http: () => load('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler'),
  credentials: () => load('@aws-sdk/credential-providers') as typeof import('@aws-sdk/credential-providers'),
  proxyAgent: () => load('https-proxy-agent') as typeof import('https-proxy-agent'),
}
