import { Args, Flags } from '@oclif/core'
import { FirCommand } from '../../base-command.js'
import { CaseHandle } from '../../core/case/case-folder.js'
import { byteSize, escapeTerminal, shellArg } from '../../core/common/text.js'
import type { CommandOutcome } from '../../output.js'

export default class CaseInit extends FirCommand {
  static override summary = 'Create a case folder'
  static override description =
    "Creates ./cases/<id> (or --dir) with case.json, an empty evidence/, timeline/, reports/ and secrets/ (0700), and the journal whose entry seq 0 records the creation and case.json's SHA-256. The case is built in a temporary folder beside it (.<name>.fir-init-<hex>) and renamed into place once written and synced, so an interrupted init leaves no half-made case; the next init of that case removes what it left. Refuses an id that already exists."
  static override examples = [
    '<%= config.bin %> case init INC-2026-0042 --title "payments-webhook compromised"',
    '<%= config.bin %> case init drill-1 --dir /srv/ir/drill-1',
  ]
  static override args = {
    id: Args.string({ required: true, description: 'of the case: letters, digits, . _ - (no / or ..)' }),
  }
  static override flags = {
    title: Flags.string({ description: 'a one-line title for the report' }),
    dir: Flags.string({ description: 'folder to create (default ./cases/<id>)' }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { args, flags } = await this.parse(CaseInit)
    const handle = await CaseHandle.init(args.id, {
      title: flags.title,
      dir: flags.dir,
      firVersion: this.config.version,
    })
    await handle.close()
    if (handle.swept.length > 0) {
      this.log_.warn(
        `removed what an interrupted \`fir case init\` had left (no case was made then): ${handle.swept.map((s) => `${escapeTerminal(s.path)} (${byteSize(s.bytes)}${s.why ? `; ${s.why}` : ''})`).join(', ')}`,
      )
    }
    return {
      result: { dir: handle.dir, case: handle.meta },
      human: `Created case ${handle.meta.id} in ${handle.dir}\nNext: fir snapshot <function> --case ${shellArg(handle.dir)}`,
    }
  }
}
