import { describeSecret, rotateSecretNow, type SecretDescription } from '../../aws/secrets.js'
import { UsageError } from '../../errors.js'
import { arg, awsCliCommand, firCommand, flag } from '../common/suggest.js'
import { escapeTerminal } from '../common/text.js'
import type { FirContext } from '../context.js'
import { unqualifiedFunctionArn } from '../identity.js'
import { defineStep } from '../steps/define-step.js'
import { runSteps } from '../steps/runner.js'
import type { StepResult } from '../steps/step.js'

export interface RotateSecretParams extends Record<string, unknown> {
  secretId: string
}

export interface RotateSecretState extends SecretDescription {
  /** The version RotateSecret created (after a rotation was requested). */
  requestedVersionId?: string | null
}

export const ROTATE_SECRET_WARNINGS = [
  "RotateSecret runs the secret's rotation function, which may itself be compromised: snapshot and check it (`fir snapshot <rotation function>`) before trusting the new value",
  'rotation cannot be undone: the old value stays readable as AWSPREVIOUS until the next rotation',
  'applications that cache the secret keep the old value until they fetch it again',
]

/** What a plan intends (RotateSecret has not named the version it makes yet). */
const NEW_VERSION = '(new version)'

function describe(s: RotateSecretState): string {
  const current = s.currentVersionId ? `AWSCURRENT ${s.currentVersionId}` : 'no AWSCURRENT'
  const pending = s.pendingVersionId ? `, AWSPENDING ${s.pendingVersionId}` : ''
  if (!s.requestedVersionId) return `${current}${pending}`
  // The request first: the table cuts a long cell, and version ids are long (a plan's row read
  // "AWSCURRENT 1c75… → AWSCURRENT 1c75…", the request cut off).
  const version = s.requestedVersionId === NEW_VERSION ? 'a new version' : s.requestedVersionId
  return `rotation requested (${version}); ${current}${pending}`
}

/**
 * This case already rotated the secret: the state read now shows a rotation it asked for done.
 * RotateSecret only starts a rotation (the rotation function makes it, or never: one this case
 * throttled cannot run), so a request is no rotation: done when AWSCURRENT moved off the version
 * it was on before the case's first rotation (its first `started` prior; the version requested is
 * such a one), as the report counts it. A request not confirmed is made again, once its cause is
 * fixed: answering `already-applied` to it left the responder the aws CLI.
 * A run killed between RotateSecret and its outcome journaled no version: while its `started`
 * entry is the latest of the secret's (no run settled it since), AWSPENDING moved off its prior
 * shows its request landed, and the re-run does not ask twice.
 */
function rotatedByThisCase(ctx: FirContext, s: SecretDescription): boolean {
  const entries = ctx.case.journal
    .all()
    .filter((e) => e.action === 'credentials.rotate-secret' && e.target === s.arn)
  const first = entries.find((e) => e.outcome === 'started')?.prior as SecretDescription | undefined
  if (!first) return false
  if (s.currentVersionId !== first.currentVersionId) return true
  const latest = entries[entries.length - 1]
  if (latest?.outcome === 'started') {
    const prior = latest.prior as SecretDescription | undefined
    if (prior && prior.currentVersionId !== s.currentVersionId) return true
    if (prior && s.pendingVersionId && s.pendingVersionId !== prior.pendingVersionId) return true
  }
  return false
}

/**
 * When the secret's rotation function is one this case snapshotted or contained — held as
 * compromised — a warning that rotating runs that code and hands it the new value.
 */
export function rotationFunctionWarning(ctx: FirContext, s: SecretDescription): string | undefined {
  const arn = s.rotationLambdaArn
  if (!arn) return undefined
  const fn = unqualifiedFunctionArn(arn)
  let snapshotted = false
  // Containment measures for it still in force: an undo lifts one (a started entry decides nothing).
  const inForce = new Set<string>()
  for (const e of ctx.case.journal.all()) {
    const p = e.params as Record<string, unknown>
    if (e.action === 'snapshot' && Array.isArray(p.functions)) {
      if (p.functions.some((f) => typeof f === 'string' && unqualifiedFunctionArn(f) === fn))
        snapshotted = true
    } else if (e.action.startsWith('containment.') && typeof p.functionArn === 'string') {
      if (unqualifiedFunctionArn(p.functionArn) !== fn) continue
      if (e.outcome === 'applied' || e.outcome === 'already-applied') inForce.add(e.action)
      else if (e.outcome === 'undone') inForce.delete(e.action)
    }
  }
  const how = inForce.size > 0 ? 'contained' : snapshotted ? 'snapshotted' : undefined
  if (!how) return undefined
  return `the rotation function ${fn.split(':')[6]} is a function this case ${how} as possibly compromised: RotateSecret runs its code and gives it the new value${inForce.has('containment.throttle') ? ' (and while it is throttled it cannot rotate at all)' : ''}. Check its code in the case's evidence first, or change the value at its source and store it with aws secretsmanager put-secret-value`
}

/**
 * credentials.rotate-secret — asks Secrets Manager to rotate a secret now with its configured
 * rotation function. Refuses when rotation is not configured (and says how to configure it), and
 * when the secret is scheduled for deletion (and says how to cancel that).
 * The rotation function may itself be compromised, and a rotation cannot be undone: the plan
 * says both.
 * IAM: secretsmanager:DescribeSecret, secretsmanager:RotateSecret (and lambda:InvokeFunction for
 * Secrets Manager on the rotation function, already granted when rotation is configured).
 * Undo: none.
 */
export const rotateSecretStep = defineStep<RotateSecretParams, RotateSecretState>({
  id: 'credentials.rotate-secret',
  title: 'Rotate a secret',
  iamActions: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'],
  undoIamActions: [],
  undoPolicy: 'never',
  async read(ctx, params) {
    const s = await describeSecret(ctx.aws, params.secretId)
    if (s.deletedDate) {
      // Secrets Manager refuses RotateSecret on such a secret (InvalidRequestException): say why
      // before anything is journaled or changed, and how to cancel the deletion.
      const id = escapeTerminal(s.name)
      throw new UsageError(
        `unable to rotate secret ${id}: it is scheduled for deletion on ${s.deletedDate}, and Secrets Manager rotates no secret marked for deletion`,
        {
          actions: [
            `to rotate it, cancel the deletion first: ${awsCliCommand(['secretsmanager', 'restore-secret', flag('--secret-id', s.arn)], ctx.aws)}`,
            `then run this command again: ${firCommand(['creds', 'rotate-secret', arg(params.secretId)], ctx.aws, { caseDir: ctx.case.dir })}`,
            'or, if the secret is being retired, leave it: while it is scheduled for deletion its value cannot be read; change the credential it holds at its source (the database, the third-party API)',
          ],
        },
      )
    }
    if (!s.rotationLambdaArn && !s.rotationEnabled) {
      const id = escapeTerminal(s.name)
      throw new UsageError(
        `unable to rotate secret ${id}: rotation is not configured for it (no rotation function), so Secrets Manager has nothing to run`,
        {
          actions: [
            `configure rotation: ${awsCliCommand(
              [
                'secretsmanager',
                'rotate-secret',
                flag('--secret-id', s.name),
                '--rotation-lambda-arn',
                { placeholder: 'rotation-function-arn' },
                '--rotation-rules',
                'AutomaticallyAfterDays=30',
              ],
              ctx.aws,
            )} (this also rotates once)`,
            'for RDS, Aurora, Redshift or DocumentDB credentials use the managed rotation in the console (Secrets Manager → the secret → Rotation → Edit rotation)',
            'or change the value at its source (the database, the third-party API) and store it with aws secretsmanager put-secret-value',
          ],
        },
      )
    }
    const held = rotationFunctionWarning(ctx, s)
    return {
      target: s.arn,
      label: s.name,
      state: s,
      notes: [
        ...(s.rotationLambdaArn ? [`rotation function: ${s.rotationLambdaArn}`] : ['managed rotation']),
        ...(held ? [held] : []),
        ...ROTATE_SECRET_WARNINGS,
      ],
    }
  },
  intend: (_ctx, _params, s) => ({ ...s, requestedVersionId: NEW_VERSION }),
  isApplied: (ctx, _params, s) => rotatedByThisCase(ctx, s),
  async change(ctx, params, s) {
    const out = await rotateSecretNow(ctx.aws, params.secretId)
    let after: SecretDescription = s
    try {
      after = await describeSecret(ctx.aws, params.secretId)
    } catch {
      // The rotation was requested; the state read is only for the record.
    }
    return { ...after, requestedVersionId: out.versionId }
  },
  // RotateSecret only starts the rotation: the rotation function makes it, on its own time (and
  // one this case throttled never does). The outcome is `applied` (the request was), and the note
  // says what the state read after it shows.
  appliedNotes(ctx, _params, after, notes) {
    const requested = after.requestedVersionId
    if (!requested || after.currentVersionId === requested) return notes
    return [
      ...notes,
      `rotation requested (version ${requested}), not confirmed: AWSCURRENT is still ${after.currentVersionId ?? 'none'} as read after the request. Secrets Manager has the rotation function make the new version; check that AWSCURRENT moves to ${requested} (${awsCliCommand(['secretsmanager', 'describe-secret', flag('--secret-id', after.arn)], ctx.aws)})`,
    ]
  },
  describe,
  outputs: (_params, s) => ({
    secretArn: s.arn,
    secretName: s.name,
    requestedVersionId: s.requestedVersionId ?? null,
  }),
})

export interface RotateSecretResult {
  secretId: string
  dryRun: boolean
  plans: StepResult[]
  results: StepResult[]
  warnings: string[]
}

/** `fir creds rotate-secret`: one RotateSecret through the runner, with its warnings. */
export async function rotateSecret(
  ctx: FirContext,
  options: { secretId: string; dryRun?: boolean; confirmed?: boolean; onPlan?: (rows: StepResult[]) => void },
): Promise<RotateSecretResult> {
  const run = await runSteps(ctx, [{ step: rotateSecretStep, params: { secretId: options.secretId } }], {
    what: `rotate secret ${options.secretId}`,
    failOnPlanError: true,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.confirmed ? { confirmed: true } : {}),
    ...(options.onPlan ? { onPlan: options.onPlan } : {}),
  })
  const described = run.plans[0]?.before as SecretDescription | null | undefined
  const held = described ? rotationFunctionWarning(ctx, described) : undefined
  return {
    secretId: options.secretId,
    dryRun: run.dryRun,
    plans: run.plans,
    results: run.results,
    warnings: [...(held ? [held] : []), ...ROTATE_SECRET_WARNINGS],
  }
}
