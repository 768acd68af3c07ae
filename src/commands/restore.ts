import { Args, Flags } from '@oclif/core'
import { awsFlags, caseFlag, changeFlags, FirCommand } from '../base-command.js'
import { DamagedJournalError } from '../core/case/journal.js'
import { escapeTerminal } from '../core/common/text.js'
import { parseActionList, RESTORE_ACTIONS } from '../core/containment/actions.js'
import { restoreCase } from '../core/containment/restore.js'
import { outcomeCounts, stepTable } from '../core/steps/render.js'
import { ExitCode } from '../errors.js'
import type { CommandOutcome } from '../output.js'

export default class Restore extends FirCommand {
  static override summary = 'Undo containment from the journal, newest first'
  static override description =
    'Puts back what `fir contain` (and `fir creds`) changed, from the prior state recorded in the case journal, newest change first. By default it undoes event-sources, throttle, url, permissions and recycle; it never removes the session revocation or reactivates a rotated key unless `sessions` or `rotate-key` is named in --actions (and then warns). Where someone changed a resource since fir did, the conflict is reported and that resource is left as it is. A crashed contain is undone exactly: the earliest journaled prior state is the truth. Lambda gives a function no identity beyond its name: when the versions and aliases sealed in the case say the function was deleted and re-created since, restore warns before it asks.'
  static override examples = [
    '<%= config.bin %> restore payments-webhook --case cases/INC-42 --dry-run',
    '<%= config.bin %> restore payments-webhook --case cases/INC-42 --yes',
    '<%= config.bin %> restore --case cases/INC-42 --actions throttle,url --yes',
    '<%= config.bin %> restore payments-webhook --case cases/INC-42 --actions sessions --yes   # lifts only the session revocation',
  ]
  static override args = {
    function: Args.string({
      required: false,
      description:
        'only changes made to this function (name, partial or full ARN; a name is the function in --region); default every change in the case. A function the case journaled no change for is refused (exit 2) with the functions it did change',
    }),
  }
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    ...changeFlags,
    actions: Flags.string({
      description: `comma-separated subset of ${RESTORE_ACTIONS.join(',')} (default: event-sources,throttle,url,permissions,recycle)`,
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { args, flags } = await this.parse(Restore)
    const actions = parseActionList(flags.actions, RESTORE_ACTIONS)
    const dryRun = flags['dry-run']
    const ctx = await this.makeChangeContext(flags).catch(async (err: unknown) => {
      // Refused still (fir acts on nothing a damaged journal says), but with what is in force.
      throw err instanceof DamagedJournalError ? await this.refuseDamagedJournal(err, flags) : err
    })
    const result = await restoreCase(ctx, {
      ...(args.function ? { function: args.function } : {}),
      ...(actions ? { actions } : {}),
      dryRun,
      onPlan: dryRun ? undefined : (rows) => ctx.log.info(`Restore plan:\n${stepTable(rows)}\n`),
    })
    const rows = result.results
    const what = args.function ? escapeTerminal(args.function) : `case ${escapeTerminal(ctx.case.meta.id)}`
    const head = dryRun
      ? `Restore plan for ${what} (dry run: nothing changed)`
      : `Restored ${what}: ${outcomeCounts(rows) || (result.unknownChanges ? 'nothing this fir can undo' : 'nothing to undo')}`
    const none = result.unknownChanges
      ? `  nothing in the journal that this fir can undo (${result.unknownChanges === 1 ? 'a change of a newer fir, left as it is' : `${result.unknownChanges} changes of a newer fir, left as they are`}: see the warning)`
      : '  nothing in the journal to undo'
    const human = [head, '', rows.length ? stepTable(rows) : none].join('\n')
    // An undo the journal could not be read for (integrity) is exit 3, not a gap's 4 (DESIGN §1).
    const unreadable = rows.some((r) => r.error?.code === 'integrity')
    return {
      result: { case: ctx.case.dir, ...result },
      human,
      gaps: ctx.gaps.list,
      ...(dryRun ? { status: 0 as const } : unreadable ? { status: ExitCode.integrity } : {}),
    }
  }
}
