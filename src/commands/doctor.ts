import { Flags } from '@oclif/core'
import { awsFlags, FirCommand } from '../base-command.js'
import { readCaseMeta, resolveCaseDir } from '../core/case/case-folder.js'
import { DamagedJournalError, readCheckedJournal } from '../core/case/journal.js'
import { escapeTerminal, formatTable } from '../core/common/text.js'
import { Gaps } from '../core/context.js'
import { doctorSetting, missingSummary, readyText, runDoctor, settingLines } from '../core/doctor.js'
import { drillOf } from '../core/tabletop/safety.js'
import { type CommandOutcome, withFoundSoFar } from '../output.js'

export default class Doctor extends FirCommand {
  static override summary =
    'Preflight: identity, account, region, clock skew, endpoint, proxy and permissions'
  static override description =
    "Asks AWS who the caller is, measures the clock skew from AWS's responses, shows the endpoint and the proxy fir's calls to it go through (or why HTTPS_PROXY is not used for it), and for each fir command whether the caller appears to hold the IAM actions it needs (iam:SimulatePrincipalPolicy, else by reading the caller's own policies and, for a user, its groups'; a policy that cannot be read makes what the others do not grant \"unknown\"). When the identity call fails, prints the region, endpoint, proxy and clock before the error. Changes nothing."
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --profile ir-responder --region eu-west-1',
    '<%= config.bin %> doctor --role-arn arn:aws:iam::123456789012:role/IncidentResponder --json',
  ]
  static override flags = {
    ...awsFlags,
    case: Flags.string({
      description:
        "case folder (default: FIR_CASE, when set): names the assumed-role session; a tabletop drill's case reaches only loopback addresses (read, never changed)",
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(Doctor)
    // FIR_CASE counts as --case does for every command: a drill's case exported for the drill must
    // keep doctor off AWS too.
    const of = flags.case === undefined && !process.env.FIR_CASE ? undefined : await this.caseOf(flags.case)
    const aws = await this.makeAws(flags, of?.id, undefined, of?.drill)
    const gaps = new Gaps()
    // What doctor knows before AWS answers (region, endpoint, proxy, and the clock skew when a
    // response came back) is printed when the identity call fails too, before the error.
    const r = await runDoctor(aws, gaps).catch((err: unknown) => {
      const known = doctorSetting(aws)
      throw withFoundSoFar(err, known, settingLines(known).join('\n'))
    })
    const human = [
      `caller    ${escapeTerminal(r.identity.arn)}`,
      `account   ${r.identity.account}`,
      ...settingLines(r),
      '',
      r.permissionCheck === 'unavailable'
        ? "Permissions: not checked (neither iam:SimulatePrincipalPolicy nor the caller's own policies could be read: see the gaps). What each command needs is in the README's IAM table and in --json."
        : `Permissions (checked by ${r.permissionCheck === 'simulate' ? 'iam:SimulatePrincipalPolicy' : "reading the caller's policies"}; ${r.unreadPolicies.length > 0 ? `${r.unreadPolicies.map((u) => escapeTerminal(u)).join(' and ')} could not be read (see the gaps): what the policies read do not grant is unknown; ` : ''}conditions and resource scoping are not evaluated):`,
      formatTable(
        ['command', 'ready', 'missing or unknown'],
        r.commands.map((c) => [
          c.command,
          readyText(c),
          missingSummary(c.actions, r.permissionCheck !== 'unavailable'),
        ]),
      ),
    ].join('\n')
    return { result: r, human, gaps: gaps.list }
  }

  /**
   * The case's id and, when it is a tabletop drill's, its scenario: a drill's case never reaches
   * AWS, whichever command is run on it (DESIGN §7). Read without opening the case (no lock, no
   * tidying): doctor changes nothing.
   */
  private async caseOf(flag: string | undefined): Promise<{ id: string; drill: string | undefined }> {
    const dir = await resolveCaseDir(flag)
    const meta = await readCaseMeta(dir)
    const { entries } = await readCheckedJournal(dir).catch(async (err: unknown) => {
      throw err instanceof DamagedJournalError ? await this.refuseDamagedJournal(err) : err
    })
    return { id: meta.id, drill: drillOf(entries) }
  }
}
