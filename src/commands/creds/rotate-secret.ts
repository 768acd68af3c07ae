import { Args } from '@oclif/core'
import { awsFlags, caseFlag, changeFlags, FirCommand } from '../../base-command.js'
import { rotateSecret } from '../../core/credentials/rotate-secret.js'
import { stepTable } from '../../core/steps/render.js'
import type { CommandOutcome } from '../../output.js'

export default class CredsRotateSecret extends FirCommand {
  static override summary = 'Rotate a Secrets Manager secret now with its rotation function'
  static override description =
    "Calls RotateSecret. Refuses when the secret has no rotation configured, and says how to configure it. The rotation runs the secret's rotation function, which may itself be compromised (snapshot it first), and a rotation cannot be undone. `fir creds secrets` lists the secrets the timeline shows were read with a function role's credentials: rotate those."
  static override examples = [
    '<%= config.bin %> creds rotate-secret prod/orders/db --case cases/INC-42 --dry-run',
    '<%= config.bin %> creds rotate-secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders/db-AbCdEf --case cases/INC-42 --yes',
  ]
  static override args = {
    secret: Args.string({ required: true, description: 'name or ARN (Secrets Manager)' }),
  }
  static override flags = { ...awsFlags, ...caseFlag, ...changeFlags }

  protected async execute(): Promise<CommandOutcome> {
    const { args, flags } = await this.parse(CredsRotateSecret)
    const dryRun = flags['dry-run']
    const ctx = await this.makeChangeContext(flags)
    const result = await rotateSecret(ctx, {
      secretId: args.secret,
      dryRun,
      onPlan: dryRun ? undefined : (rows) => ctx.log.info(`Plan:\n${stepTable(rows)}\n`),
    })
    const human = [
      dryRun ? 'Plan (dry run: nothing changed)' : 'Secret rotation',
      '',
      stepTable(result.results),
    ].join('\n')
    return {
      result,
      human,
      warnings: result.warnings,
      gaps: ctx.gaps.list,
      ...(dryRun ? { status: 0 as const } : {}),
    }
  }
}
