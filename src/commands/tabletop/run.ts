import { Args, Flags } from '@oclif/core'
import { FirCommand } from '../../base-command.js'
import { redactor } from '../../core/common/redact.js'
import { escapeTerminal, formatTable } from '../../core/common/text.js'
import { builtinActions } from '../../core/playbook/actions/index.js'
import { stepOutcomeText } from '../../core/playbook/render.js'
import { runDrill } from '../../core/tabletop/drill.js'
import { isolateFromUserAws } from '../../core/tabletop/safety.js'
import { loadScenario } from '../../core/tabletop/scenario.js'
import { type CommandOutcome, gapLines } from '../../output.js'

export default class TabletopRun extends FirCommand {
  static override summary = 'Run a tabletop drill against a local AWS emulator'
  static override description =
    `Starts a local moto server on a free loopback port, seeds the scenario through the AWS SDK (functions with their code, roles, the planted compromise, and CloudTrail trail logs in an S3 bucket that tell the same story), runs the scenario's playbook for real against it, writes the case and the report, stops the emulator and prints the report path.

Safety: the drill never uses your AWS identity. AWS_PROFILE, AWS_ACCESS_KEY_ID and the other credential and endpoint variables are dropped, the emulator's clients use fixed dummy credentials, and any request to a non-loopback address is refused before it is sent.

Needs Python 3 with moto: pip install 'moto[server]'.`
  static override examples = [
    '<%= config.bin %> tabletop run public-url-backdoor',
    '<%= config.bin %> tabletop run stolen-role-credentials --case ./drills/2026-q4',
    '<%= config.bin %> tabletop run malicious-layer --interactive',
  ]
  static override args = {
    scenario: Args.string({
      required: true,
      description: 'name (see `fir tabletop list`) or file',
    }),
  }
  static override flags = {
    case: Flags.string({
      description: 'case folder to create for the drill (default ./cases/tabletop-<scenario>-<UTC stamp>)',
    }),
    interactive: Flags.boolean({
      description:
        "the facilitator's injects and questions on stderr, the team's answers read from stdin (timed), confirmations asked as team decisions; all journaled for the report's after-action section",
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const dropped = isolateFromUserAws(process.env)
    const { args, flags } = await this.parse(TabletopRun)
    if (dropped.length)
      this.log_.info(`fir tabletop: ignoring ${dropped.join(', ')} (a drill never uses your AWS identity)`)
    const loaded = await loadScenario(args.scenario)
    const r = await runDrill({
      loaded,
      ...(flags.case ? { caseDir: flags.case } : {}),
      interactive: flags.interactive,
      input: process.stdin,
      say: (text) => process.stderr.write(`${escapeTerminal(redactor.scrub(text), true)}\n`),
      log: this.log_,
      firVersion: this.config.version,
      registry: builtinActions(),
    })
    const steps = formatTable(
      ['step', 'action', 'outcome'],
      r.run.steps.map((s) => [s.id, s.action, stepOutcomeText(s)]),
    )
    const score = r.scorecard.matches.map(
      (m) =>
        `  ${m.finding ? 'found ' : 'MISSED'}  ${escapeTerminal(m.expected)}${m.finding ? `  ← "${escapeTerminal(m.finding)}"` : ''}`,
    )
    const human = [
      `Drill ${r.scenario} finished: ${r.title}`,
      '',
      steps,
      '',
      `Planted compromise: ${r.scorecard.compromise}`,
      `The report ${r.scorecard.detected ? 'names it' : 'does NOT name all of it'}:`,
      ...score,
      ...(r.emulatorGaps.length
        ? [
            '',
            `Emulator limits (${r.emulatorGaps.length}; moto lacks these calls, real AWS has them):`,
            ...r.emulatorGaps.map((g) => `  - ${escapeTerminal(g.what)} [${escapeTerminal(g.call)}]`),
          ]
        : []),
      // Before the case and report lines: the last line stays `Report: <path>`.
      ...(r.gaps.length
        ? [
            '',
            `Did not complete (${r.gaps.length}; not emulator limits: the report says what stays open):`,
            ...gapLines(r.gaps),
          ]
        : []),
      '',
      `Case:   ${r.case}`,
      `Report: ${r.report ?? '(no report step in the playbook)'}`,
    ].join('\n')
    // Emulator limits are not failures of the drill (exit 0); what the run itself could not do is
    // a gap, exit 4, as the command that does it would say.
    return { result: r, human, gaps: r.gaps, gapsShown: true }
  }
}
