import { classifyValue, redactor, redactValue } from '../common/redact.js'
import type { SecretSummary } from './types.js'

/** One qualifier's environment, as Lambda returned it. */
export interface EnvironmentInput {
  qualifier: string
  variables: Record<string, string> | undefined
}

export interface EnvironmentScan {
  secrets: SecretSummary[]
  accessKeys: { name: string; accessKeyId: string; qualifiers: string[]; pairedWith?: string }[]
}

/**
 * Finds secret-looking values and access key ids in every qualifier's environment. Each secret
 * value is registered with the process redactor at once, so it cannot leave evidence/ through any
 * output path; only its redacted form is returned. Entries are de-duplicated by (name, value) with
 * the qualifiers that hold them.
 */
export function scanEnvironments(inputs: EnvironmentInput[]): EnvironmentScan {
  const secrets = new Map<string, SecretSummary & { value: string }>()
  const keys = new Map<string, EnvironmentScan['accessKeys'][number]>()
  for (const { qualifier, variables } of inputs) {
    for (const [name, value] of Object.entries(variables ?? {})) {
      if (typeof value !== 'string' || value === '') continue
      const verdict = classifyValue(name, value)
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
  }
}
