import { classifyEnvironmentValue, redactor, redactValue } from '../common/redact.js'
import type { EnvironmentError, SecretSummary } from './types.js'

/** One qualifier's environment, as Lambda returned it. */
export interface EnvironmentInput {
  qualifier: string
  variables: Record<string, string> | undefined
  /** What Lambda returned in place of the variables (`environmentError`): none were read. */
  error?: string
}

export interface EnvironmentScan {
  secrets: SecretSummary[]
  accessKeys: { name: string; accessKeyId: string; qualifiers: string[]; pairedWith?: string }[]
  /** Environments Lambda did not return, by error, with the qualifiers: their secrets are unknown. */
  unreadable: EnvironmentError[]
}

/**
 * The secrets of an environment Lambda did not return are unknown, never "none found": the
 * snapshot's summary and the report word it alike.
 */
export function environmentUnknown(error: string): string {
  return `unknown: Lambda did not return the environment (${error})`
}

/**
 * Finds secret-looking values and access key ids in every qualifier's environment, and lists the
 * environments Lambda did not return (could not decrypt), by error. A value whose SHA-256 is in
 * `leaked` (the values the case's sweeps declared leaked: leakedValueHashes) is a secret of kind
 * `indicator-match`, whatever it looks like. Each secret value is registered with the process
 * redactor at once, so it cannot leave evidence/ through any output path; only its redacted form
 * is returned. Entries are de-duplicated by (name, value) with the qualifiers that hold them.
 */
export function scanEnvironments(
  inputs: EnvironmentInput[],
  leaked: ReadonlySet<string> = new Set(),
): EnvironmentScan {
  const secrets = new Map<string, SecretSummary & { value: string }>()
  const keys = new Map<string, EnvironmentScan['accessKeys'][number]>()
  const unreadable = new Map<string, EnvironmentError>()
  for (const { qualifier, variables, error } of inputs) {
    if (error) {
      const hit = unreadable.get(error)
      if (hit) {
        if (!hit.qualifiers.includes(qualifier)) hit.qualifiers.push(qualifier)
      } else unreadable.set(error, { error, qualifiers: [qualifier] })
    }
    for (const [name, value] of Object.entries(variables ?? {})) {
      if (typeof value !== 'string' || value === '') continue
      const verdict = classifyEnvironmentValue(name, value, leaked)
      if (verdict.accessKeyId) {
        const k = `${name}\u0000${value}`
        const hit = keys.get(k)
        if (hit) {
          if (!hit.qualifiers.includes(qualifier)) hit.qualifiers.push(qualifier)
        } else keys.set(k, { name, accessKeyId: value, qualifiers: [qualifier] })
        continue
      }
      if (!verdict.secret) continue
      redactor.register(value)
      const k = `${name}\u0000${value}`
      const hit = secrets.get(k)
      if (hit) {
        if (!hit.qualifiers.includes(qualifier)) hit.qualifiers.push(qualifier)
      } else {
        secrets.set(k, {
          name,
          redacted: redactValue(value),
          kind: verdict.kind ?? 'secret',
          qualifiers: [qualifier],
          value,
        })
      }
    }
  }
  // An access key id next to a secret access key in the same environment is a usable key pair.
  for (const key of keys.values()) {
    const pair = [...secrets.values()].find(
      (s) =>
        (s.kind === 'aws-secret-access-key' || /secret/i.test(s.name)) &&
        s.qualifiers.some((q) => key.qualifiers.includes(q)),
    )
    if (pair) key.pairedWith = pair.name
  }
  return {
    secrets: [...secrets.values()].map(({ value: _v, ...rest }) => rest),
    accessKeys: [...keys.values()],
    unreadable: [...unreadable.values()],
  }
}
