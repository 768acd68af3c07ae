import type { InventoryFunction } from '../../aws/lambda-inventory.js'
import { UsageError } from '../../errors.js'
import { base64Sha256ToHex, sha256Hex } from '../common/hash.js'
import { isRoleName } from '../common/iam-name.js'
import { redactor } from '../common/redact.js'

/** What an org sweep looks for. A function version matches when any indicator matches. */
export interface Indicators {
  /** Execution role names (compared case-insensitively, as IAM does). */
  roleNames: string[]
  /** Layer ARNs: with a version, that version only; without, every version of the layer. */
  layerArns: string[]
  /** Code SHA-256 in lowercase hex (given as hex or as Lambda's base64 CodeSha256). */
  codeSha256: string[]
  /** SHA-256 (hex) of a leaked value: every environment value is hashed and compared. */
  envValueSha256: string[]
  /** A function URL with AuthType NONE, or a resource-policy statement open to anyone. */
  public: boolean
}

export type IndicatorKind = 'role-name' | 'layer-arn' | 'code-sha256' | 'env-value-sha256' | 'public'

/** Why a function version matched (attacker-controlled parts are escaped when printed). */
export interface MatchReason {
  indicator: IndicatorKind
  detail: string
}

const LAYER_ARN_RE = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]{1,140}(:\d+)?$/
const HEX64 = /^[0-9a-fA-F]{64}$/

function splitList(values: string[] | undefined): string[] {
  return [
    ...new Set(
      (values ?? [])
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter(Boolean),
    ),
  ]
}

/** Reads and checks the indicator flags; throws a UsageError naming the bad value. */
export function parseIndicators(flags: {
  roleName?: string[]
  layerArn?: string[]
  codeSha256?: string[]
  envValueSha256?: string[]
  public?: boolean
}): Indicators {
  const roleNames = splitList(flags.roleName).map((r) => {
    // A role ARN is accepted too; the name is its last path segment.
    const name = r.startsWith('arn:') ? (r.split('/').at(-1) ?? '') : r
    if (!isRoleName(name)) {
      throw new UsageError(`unable to read --role-name: ${JSON.stringify(r)} is not an IAM role name`, {
        actions: ['pass the role name (letters, digits and +=,.@_-), e.g. --role-name payments-webhook-role'],
      })
    }
    return name
  })
  const layerArns = splitList(flags.layerArn).map((l) => {
    if (!LAYER_ARN_RE.test(l)) {
      throw new UsageError(`unable to read --layer-arn: ${JSON.stringify(l)} is not a Lambda layer ARN`, {
        actions: [
          'pass arn:aws:lambda:<region>:<account>:layer:<name>[:<version>] (without a version, every version matches)',
        ],
      })
    }
    return l
  })
  const codeSha256 = splitList(flags.codeSha256).map((c) => {
    if (HEX64.test(c)) return c.toLowerCase()
    const hex = /^[A-Za-z0-9+/]{43}=$/.test(c) ? base64Sha256ToHex(c) : undefined
    if (!hex) {
      throw new UsageError(`unable to read --code-sha256: ${JSON.stringify(c)} is not a SHA-256`, {
        actions: ["pass 64 hex digits, or Lambda's base64 CodeSha256 (44 characters ending in =)"],
      })
    }
    return hex
  })
  // Never echo a malformed --env-value-sha256: it may be the leaked value itself, passed by mistake.
  const envValueSha256 = splitList(flags.envValueSha256).map((h, i) => {
    if (!HEX64.test(h)) {
      redactor.register(h)
      throw new UsageError(
        `unable to read --env-value-sha256 (value ${i + 1}): it is not 64 hex digits, so it was not used and is not shown`,
        {
          actions: ["pass the SHA-256 of the leaked value, never the value: printf %s 'VALUE' | sha256sum"],
        },
      )
    }
    return h.toLowerCase()
  })
  const ind: Indicators = { roleNames, layerArns, codeSha256, envValueSha256, public: flags.public === true }
  if (!roleNames.length && !layerArns.length && !codeSha256.length && !envValueSha256.length && !ind.public) {
    throw new UsageError('unable to sweep: no indicator was given', {
      actions: ['pass at least one of --role-name, --layer-arn, --code-sha256, --env-value-sha256, --public'],
    })
  }
  return ind
}

function roleNameOf(roleArn: string): string {
  return roleArn.split('/').at(-1) ?? ''
}

/** A variable of a function version's environment that holds a value `--env-value-sha256` names. */
export interface LeakedVariable {
  name: string
  /** The value itself: a secret, kept only in the sweep's sealed evidence (sealLeakedValues). */
  value: string
  sha256: string
}

/** The environment variables of a function version whose value has one of the leaked hashes. */
export function leakedVariables(fn: InventoryFunction, ind: Indicators): LeakedVariable[] {
  if (ind.envValueSha256.length === 0) return []
  const out: LeakedVariable[] = []
  for (const [name, value] of Object.entries(fn.environment)) {
    const sha256 = sha256Hex(value)
    if (ind.envValueSha256.includes(sha256)) out.push({ name, value, sha256 })
  }
  return out
}

/**
 * The indicators a function version matches from its ListFunctions entry alone (everything but
 * `public`). A matching environment value is registered as a secret: it is never printed. Later
 * commands learn it from the sweep's sealed evidence of the values it matched (sealLeakedValues),
 * and redact it (registerCaseSecrets in case/secrets.ts).
 */
export function matchInventory(fn: InventoryFunction, ind: Indicators): MatchReason[] {
  const reasons: MatchReason[] = []
  const role = roleNameOf(fn.role)
  for (const r of ind.roleNames) {
    if (role.toLowerCase() === r.toLowerCase()) {
      reasons.push({ indicator: 'role-name', detail: `runs with role ${fn.role}` })
    }
  }
  for (const want of ind.layerArns) {
    for (const have of fn.layers) {
      const versionless = /:\d+$/.test(want) ? have : have.replace(/:\d+$/, '')
      if (versionless === want) reasons.push({ indicator: 'layer-arn', detail: `uses layer ${have}` })
    }
  }
  if (ind.codeSha256.length > 0) {
    const hex = base64Sha256ToHex(fn.codeSha256)
    if (hex && ind.codeSha256.includes(hex)) {
      reasons.push({ indicator: 'code-sha256', detail: `code SHA-256 ${hex} (CodeSha256 ${fn.codeSha256})` })
    }
  }
  for (const { name, value, sha256 } of leakedVariables(fn, ind)) {
    redactor.register(value)
    reasons.push({
      indicator: 'env-value-sha256',
      detail: `environment variable ${name} holds the leaked value (sha256 ${sha256.slice(0, 8)}…)`,
    })
  }
  return reasons
}
