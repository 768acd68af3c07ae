import { Args, Flags } from '@oclif/core'
import { awsFlags, caseFlag, changeFlags, FirCommand } from '../base-command.js'
import { arg, firCommand } from '../core/common/suggest.js'
import { escapeTerminal, firstFew } from '../core/common/text.js'
import { CONTAIN_ACTIONS, parseActionList } from '../core/containment/actions.js'
import { containFunction } from '../core/containment/contain.js'
import { snapshotPort } from '../core/containment/snapshot-port.js'
import { keptCutoffHint } from '../core/credentials/revoke-policy.js'
import { outcomeCounts, stepTable } from '../core/steps/render.js'
import type { CommandOutcome } from '../output.js'

export default class Contain extends FirCommand {
  static override summary =
    "Contain a function: stop its triggers and invocations, close public access, revoke its role's sessions"
  static override description =
    `Runs, in order: event-sources (disable every enabled event source mapping, so queued messages stay queued), throttle (reserved concurrency 0), url (AuthType AWS_IAM on every function URL; never deleted), permissions (remove public resource-policy statements from every version and alias), sessions (inline policy fir-revoke-<case id> on the execution role: deny sessions issued before now, by AWS's clock) and recycle (a description stamp that replaces warm environments). Each change is journaled with its prior state before it is made, and can be undone with \`fir restore\`. A snapshot is taken first when the case has none of the function. Running it again finishes an interrupted run and reports already-applied for what is done.`
  static override examples = [
    '<%= config.bin %> contain payments-webhook --case cases/INC-42 --dry-run',
    '<%= config.bin %> contain payments-webhook --case cases/INC-42 --yes',
    '<%= config.bin %> contain arn:aws:lambda:eu-west-1:123456789012:function:payments-webhook --case cases/INC-42 --actions throttle,url,permissions --yes',
  ]
  static override args = {
    function: Args.string({ required: true, description: 'name, partial ARN or full ARN' }),
  }
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    ...changeFlags,
    actions: Flags.string({
      description: `comma-separated subset of ${CONTAIN_ACTIONS.join(',')} (default: all, in that order)`,
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { args, flags } = await this.parse(Contain)
    const actions = parseActionList(flags.actions, CONTAIN_ACTIONS)
    const dryRun = flags['dry-run']
    const ctx = await this.makeChangeContext(flags)
    const result = await containFunction(ctx, {
      function: args.function,
      ...(actions ? { actions } : {}),
      dryRun,
      snapshot: snapshotPort,
      onPlan: dryRun ? undefined : (rows) => ctx.log.info(`Containment plan:\n${stepTable(rows)}\n`),
    })
    const name = escapeTerminal(result.function.name)
    const lines = [
      dryRun
        ? `Containment plan for ${name} (dry run: nothing changed)`
        : `Contained ${name}: ${outcomeCounts(result.results)}`,
      `  function  ${escapeTerminal(result.function.arn)}`,
      `  role      ${escapeTerminal(result.function.roleArn)}`,
      ...result.swappedRoles.map(
        (r) =>
          `            swapped since the snapshot: ${r.sets.map((s) => `evidence/${escapeTerminal(s)}`).join(', ')} recorded ${escapeTerminal(r.arn || r.name)}`,
      ),
      // No swap: a published version keeps the role it was published with.
      ...result.versionRoles.flatMap((r) => [
        ...(r.versions.length
          ? [
              `            published version${r.versions.length > 1 ? 's' : ''} ${escapeTerminal(firstFew(r.versions))} ${r.versions.length > 1 ? 'run' : 'runs'} with ${escapeTerminal(r.arn || r.name)}`,
            ]
          : []),
        ...(r.gone.length
          ? [
              `            published version${r.gone.length > 1 ? 's' : ''} ${escapeTerminal(firstFew(r.gone))}, gone since ${r.sets.map((s) => `evidence/${escapeTerminal(s)}`).join(', ')}, ran with ${escapeTerminal(r.arn || r.name)}`,
            ]
          : []),
      ]),
      `  snapshot  ${
        result.snapshot.set
          ? `evidence/${escapeTerminal(result.snapshot.set)}${result.snapshot.taken ? ' (taken now)' : ''}`
          : (result.snapshot.note ?? 'none')
      }`,
      '',
      stepTable(result.results),
      '',
      ...result.results
        .filter((r) => r.step === 'containment.sessions' && r.outcome === 'already-applied')
        .map((r) =>
          keptCutoffHint(
            // One row a role: the function's, any its snapshots recorded before a role swap, and
            // any of its published versions'.
            'The session cutoff',
            typeof r.outputs.roleName === 'string' ? r.outputs.roleName : r.label,
            ctx.aws,
            ctx.case.dir,
          ),
        ),
      // A step AWS refused (or that failed) is not in force: the command that makes only those.
      ...(result.rerun
        ? [
            `Not in force: ${escapeTerminal(
              result.results
                .filter((r) => r.outcome === 'failed' || r.outcome === 'denied')
                .map((r) => `${r.step} (${r.outcome})`)
                .filter((t, i, all) => all.indexOf(t) === i)
                .join(', '),
            )}. Once the cause is fixed (the permission AWS denied granted: see the notes), run this to make only those; what is in force stays as it is:`,
            `  ${escapeTerminal(result.rerun)}`,
            '',
          ]
        : []),
      'What containment does not do:',
      ...result.limits.map((l) => `  - ${l}`),
    ]
    if (!dryRun) {
      // A command that works as printed: restore finds a name in its default region, so name the
      // function's region when it came from --region or a full ARN, and the credentials used here.
      const restore = firCommand(['restore', arg(result.function.name)], ctx.aws, {
        region: result.function.region,
        caseDir: ctx.case.dir,
      })
      lines.push('', `Undo with: ${escapeTerminal(restore)}`)
    }
    return {
      result: { case: ctx.case.dir, ...result },
      human: lines.join('\n'),
      gaps: ctx.gaps.list,
      ...(dryRun ? { status: 0 as const } : {}),
    }
  }
}
