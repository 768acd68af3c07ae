import { createRequire } from 'node:module'
import type { z as Z } from 'zod'

/**
 * The Sigma detection rule schema (specification V2.0.0, sigma-detection-rule-schema.json),
 * written out in code: fir may not ship the specification's files, and the tests compare these
 * constants with the published JSON schema when it is available beside the project.
 * Unknown top-level keys are allowed, as in the JSON schema (fir's own `fir` and `fir-examples`
 * keys live there).
 */
export const SIGMA_REQUIRED = ['title', 'logsource', 'detection'] as const
export const SIGMA_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const
export const SIGMA_STATUSES = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'] as const
export const SIGMA_RELATED_TYPES = ['derived', 'obsolete', 'merged', 'renamed', 'similar'] as const
export const SIGMA_TAG_PATTERN = '^[a-z0-9_-]+\\.[a-z0-9._-]+$'
export const SIGMA_DATE_PATTERN = '^\\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$'
export const SIGMA_TITLE_MAX = 256
export const SIGMA_NAME_MAX = 256
export const SIGMA_DESCRIPTION_MAX = 65535
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export type SigmaLevel = (typeof SIGMA_LEVELS)[number]

export type SigmaRuleDocument = Z.infer<RuleSchemas['sigmaRule']>

const DURATION = /^(\d+)(s|m|h|d)$/

/** Parses `30s`, `5m`, `1h`, `1d` into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim())
  if (!m) return undefined
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd']
  return Number(m[1]) * unit
}

export type FirExtension = Z.infer<RuleSchemas['firExtension']>

/** Formats zod issues as `path: message; …` for a refusal reason. */
export function describeIssues(error: Z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(rule)'}: ${i.message}`)
    .join('; ')
}

/**
 * The schemas, made on first use: zod loads then (about a tenth of a second). fir's own rules were
 * validated when fir was built (scripts/rule-cache.js), so a process that loads only them — each
 * worker thread of an account-wide hunt — never loads zod.
 */
export function ruleSchemas(): RuleSchemas {
  schemas ??= buildSchemas()
  return schemas
}

type RuleSchemas = ReturnType<typeof buildSchemas>
let schemas: RuleSchemas | undefined

function buildSchemas() {
  const { z } = createRequire(import.meta.url)('zod') as typeof import('zod')
  const unique = <T extends Z.ZodType>(item: T) =>
    z
      .array(item)
      .refine((a) => new Set(a.map((x) => JSON.stringify(x))).size === a.length, 'items must be unique')

  const date = z.string().regex(new RegExp(SIGMA_DATE_PATTERN), 'must be a date YYYY-MM-DD')
  const uuid = z.string().regex(UUID, 'must be a UUID')

  const searchIdentifier = z.union([
    z.array(
      z.union([z.string(), z.number().int(), z.record(z.string(), z.unknown())], {
        error: 'list items must be strings, integers or maps',
      }),
    ),
    z.record(z.string(), z.unknown()),
  ])

  const detection = z
    .object({ condition: z.string({ error: 'condition must be a string' }) })
    .catchall(searchIdentifier)

  const sigmaRule = z.looseObject({
    title: z.string().max(SIGMA_TITLE_MAX),
    id: uuid.optional(),
    related: z.array(z.looseObject({ id: uuid, type: z.enum(SIGMA_RELATED_TYPES) })).optional(),
    name: z.string().max(SIGMA_NAME_MAX).optional(),
    taxonomy: z.string().max(256).optional(),
    status: z.enum(SIGMA_STATUSES).optional(),
    description: z.string().max(SIGMA_DESCRIPTION_MAX).optional(),
    license: z.string().optional(),
    author: z.string().optional(),
    references: unique(z.string()).optional(),
    date: date.optional(),
    modified: date.optional(),
    logsource: z.looseObject({
      category: z.string().optional(),
      product: z.string().optional(),
      service: z.string().optional(),
      definition: z.string().optional(),
    }),
    detection,
    fields: unique(z.string()).optional(),
    falsepositives: unique(z.string().min(2)).optional(),
    level: z.enum(SIGMA_LEVELS).optional(),
    tags: unique(
      z.string().regex(new RegExp(SIGMA_TAG_PATTERN), 'must look like namespace.value'),
    ).optional(),
    scope: z.array(z.string().min(2)).optional(),
  })

  const fieldName = z.string().regex(/^[A-Za-z0-9_.@-]+$/, 'must be a field name')

  /**
   * fir's extension block (`fir:` in a rule). Plain Sigma tools ignore it; fir applies it on top of
   * the rule's Sigma detection:
   * - `scope.functionRole: <field>`: the rule fires only when <field> names the execution role of a
   *   Lambda function the detector knows (given by the timeline, or learnt from CreateFunction,
   *   UpdateFunctionConfiguration and Lambda's own AssumeRole events earlier in the stream).
   * - `context.outsideAwsIpRanges: <field>`: the rule fires only when <field> is an IP address outside
   *   AWS's published ranges; inactive unless ip-ranges.json was supplied (`--aws-ip-ranges`).
   * - `burst`: the rule fires when `threshold` matching events (or distinct values of `distinct`)
   *   from the same `groupBy` values fall within `window`.
   * - `policy: {document: <field>, allows: all-actions|some-actions}`: the rule fires only when
   *   <field> is an IAM policy document that allows every action (an `Allow` statement with
   *   `Action` `*`), or allows some but not every action (see policy.ts); a policy that only
   *   denies is neither. When <field> is absent or not a document fir can read, the Sigma
   *   detection alone decides. With `events` (event names), a document fir can read in one of
   *   those events decides alone: the Sigma detection's text match (a regex an escape such as
   *   `\u002a` slips past) is then only for documents fir cannot read. Stateless: it needs no
   *   detector.
   */
  const firExtension = z.strictObject({
    scope: z.strictObject({ functionRole: fieldName }).optional(),
    context: z.strictObject({ outsideAwsIpRanges: fieldName }).optional(),
    burst: z
      .strictObject({
        groupBy: z.union([fieldName, z.array(fieldName).min(1)]),
        window: z.string().refine((s) => parseDuration(s) !== undefined, 'must be a duration like 10m'),
        threshold: z.number().int().min(2),
        distinct: fieldName.optional(),
      })
      .optional(),
    policy: z
      .strictObject({
        document: fieldName,
        allows: z.enum(['all-actions', 'some-actions']),
        events: z.array(z.string().min(1)).min(1).optional(),
      })
      .optional(),
    note: z.string().optional(),
  })
  return { sigmaRule, firExtension }
}
