import type { JournalEntry } from '../case/journal.js'

/**
 * Tabletop safety: a drill never uses the responder's AWS identity. These variables are removed
 * from the drill's process before anything else happens, so no SDK default (profile, environment
 * keys, SSO, web identity, container or instance credentials, custom endpoints) can pick them up;
 * the drill's clients use fixed dummy credentials and a loopback-only guard besides.
 */
export const USER_AWS_VARIABLES = [
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_CREDENTIAL_EXPIRATION',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'FIR_CASE',
]

/** Removes the responder's AWS settings from `env` (in place); returns the names that were set. */
export function isolateFromUserAws(env: NodeJS.ProcessEnv = process.env): string[] {
  const removed: string[] = []
  for (const name of Object.keys(env)) {
    if (
      USER_AWS_VARIABLES.includes(name) ||
      name === 'AWS_ENDPOINT_URL' ||
      name.startsWith('AWS_ENDPOINT_URL_')
    ) {
      if (env[name] !== undefined) removed.push(name)
      delete env[name]
    }
  }
  // No shared config or credentials file, no instance metadata: nothing left to find.
  env.AWS_CONFIG_FILE = '/nonexistent/fir-tabletop-aws-config'
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/fir-tabletop-aws-credentials'
  env.AWS_EC2_METADATA_DISABLED = 'true'
  return removed.sort()
}

/**
 * The scenario of a tabletop drill's case (its journal starts the drill), else undefined. A drill's
 * case stays a drill's: every later command on it reaches only loopback addresses (AwsOptions.drill),
 * and the drill's emulator stopped with its run.
 */
export function drillOf(entries: readonly JournalEntry[]): string | undefined {
  const start = entries.find((e) => e.action === 'tabletop.start')
  if (!start) return undefined
  const scenario = (start.params as { scenario?: unknown } | undefined)?.scenario
  return typeof scenario === 'string' ? scenario : String(start.target)
}
