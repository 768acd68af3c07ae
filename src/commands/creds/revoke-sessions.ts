import { Flags } from '@oclif/core'
import { awsFlags, caseFlag, changeFlags, FirCommand } from '../../base-command.js'
import { keptCutoffHint } from '../../core/credentials/revoke-policy.js'
import { revokeRoleSessions } from '../../core/credentials/revoke-sessions.js'
import { stepTable } from '../../core/steps/render.js'
import type { CommandOutcome } from '../../output.js'

export default class CredsRevokeSessions extends FirCommand {
  static override summary = 'Revoke every current session of a role (deny tokens issued before now)'
  static override description =
    "Puts the inline policy fir-revoke-<case id> on the role: Deny * on * when aws:TokenIssueTime is before now, with now taken from AWS's clock (UTC, whatever the local time zone). Credentials already handed out — e.g. stolen from a function — stop working within minutes; new sessions work. It cannot revoke sessions the attacker chained into other roles, nor long-term access keys (rotate those with `fir creds rotate-key`). Service-linked roles are refused. A second run leaves the first cutoff in place (already-applied); --renew moves it to now. A fir-revoke-<case id> policy this case's journal does not record as fir's (an earlier incident under the same id, or one someone put there) is replaced with a cutoff of now, and restore puts it back. Undo only by name: `fir restore --actions sessions`; it removes the revocation, renewed or not, leaving the role as it was before fir's first one."
  static override examples = [
    '<%= config.bin %> creds revoke-sessions --role payments-webhook-role --case cases/INC-42 --dry-run',
    '<%= config.bin %> creds revoke-sessions --role payments-webhook-role --case cases/INC-42 --yes',
    '<%= config.bin %> creds revoke-sessions --role payments-webhook-role --case cases/INC-42 --renew --yes   # the attacker got new credentials after the first revocation',
  ]
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    ...changeFlags,
    role: Flags.string({ required: true, description: 'role name or ARN' }),
    renew: Flags.boolean({
      description:
        "move the cutoff of this case's revocation already on the role to now: sessions issued since it was set (new credentials the attacker got after it) are denied too",
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(CredsRevokeSessions)
    const dryRun = flags['dry-run']
    const ctx = await this.makeChangeContext(flags)
    const result = await revokeRoleSessions(ctx, {
      role: flags.role,
      renew: flags.renew,
      dryRun,
      onPlan: dryRun ? undefined : (rows) => ctx.log.info(`Plan:\n${stepTable(rows)}\n`),
    })
    const human = [
      dryRun ? 'Plan (dry run: nothing changed)' : 'Session revocation',
      '',
      stepTable(result.results),
      '',
      ...result.results
        .filter((r) => r.outcome === 'already-applied')
        .map(() => keptCutoffHint('The cutoff', result.role, ctx.aws, ctx.case.dir)),
      'What this cannot do:',
      ...result.limits.map((l) => `  - ${l}`),
    ].join('\n')
    return { result, human, gaps: ctx.gaps.list, ...(dryRun ? { status: 0 as const } : {}) }
  }
}
