import { z } from 'zod'

/** Step ids and input names: what `steps.<id>` and `inputs.<name>` may spell. */
export const IDENT_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/
export const PLAYBOOK_NAME_RE = /^[a-z0-9][a-z0-9-]{0,63}$/

/** What an input's default may be; a YAML `.nan` or `.inf` is a number, but none fir can read. */
const scalarDefault = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())], {
  error: (issue) =>
    typeof issue.input === 'number'
      ? 'write a number such as 30 (.nan and .inf are not numbers fir reads)'
      : 'write text, a number, true or false, or a list of texts (type: list)',
})

/** `inputs.<name>` of a playbook. */
export const InputSchema = z.strictObject({
  required: z.boolean().optional(),
  default: scalarDefault.optional(),
  description: z.string().optional(),
  /** How `--input key=value` text is read: string (default), list (comma-separated), boolean, number. */
  type: z.enum(['string', 'list', 'boolean', 'number']).optional(),
})

export type InputType = NonNullable<z.infer<typeof InputSchema>['type']>

/**
 * Whether a value (a default, or `--input` text) can be read as an input of this type, by the
 * runner's rules: a boolean is true/false/yes/no/1/0 (any case), a number is finite decimal text.
 * Strings and lists take anything.
 */
export function fitsInputType(value: unknown, type: InputType): boolean {
  if (type === 'boolean')
    return typeof value === 'boolean' || /^(true|yes|1|false|no|0)$/i.test(String(value))
  if (type === 'number') return String(value).trim() !== '' && Number.isFinite(Number(value))
  return true
}

export const StepSchema = z.strictObject({
  id: z.string().regex(IDENT_RE, 'must be a name of letters, digits, - and _, starting with a letter'),
  action: z.string(),
  title: z.string().optional(),
  description: z.string().optional(),
  with: z.record(z.string(), z.unknown()).optional(),
  /**
   * true or false (YAML booleans), or a template (`"{{ steps.seal.outputs.roleNames }}"`). Text
   * without a template (`no`, `off`, `"false"`: YAML 1.2 reads those as text) is refused by
   * validation (ifProblem): fir does not guess whether the author meant to skip the step.
   */
  if: z
    .union([z.string(), z.boolean()], {
      error: 'write true, false, or a template such as "{{ inputs.<name> }}"',
    })
    .optional(),
  /** true, or the question to ask: the run stops here unless --yes (or the responder says yes). */
  confirm: z
    .union([z.boolean(), z.string()], {
      error: 'write true, or the question to ask in quotes (confirm: "Contain {{ inputs.function }}?")',
    })
    .optional(),
  /** stop (default): a failed step ends the run; continue: it is journaled as failed and the run goes on. */
  'on-error': z.enum(['stop', 'continue']).optional(),
})

export const PlaybookSchema = z.strictObject({
  name: z.string().regex(PLAYBOOK_NAME_RE, 'must be lower-case letters, digits and -'),
  title: z.string().optional(),
  description: z.string(),
  inputs: z
    .record(z.string().regex(IDENT_RE, 'must be a name of letters, digits, - and _'), InputSchema)
    .optional(),
  steps: z.array(StepSchema).min(1, 'must list at least one step'),
})

export type PlaybookInput = z.infer<typeof InputSchema>
export type PlaybookStep = z.infer<typeof StepSchema>
export type Playbook = z.infer<typeof PlaybookSchema>
