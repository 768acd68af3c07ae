import { awsFlags, caseFlag, FirCommand } from '../../base-command.js'
import { counted, escapeTerminal, formatTable } from '../../core/common/text.js'
import { findLeakedKeys } from '../../core/credentials/keys.js'
import type { CommandOutcome } from '../../output.js'

export default class CredsKeys extends FirCommand {
  static override summary =
    "List long-term access keys found in the case's functions, with owner, last use and the rotation to run"
  static override description =
    "Reads the access key ids (AKIA…) that any `fir snapshot` of the case found in function environments (a key a later snapshot no longer finds there is still listed: taking it out of the environment does not revoke it), looks up the account that owns each key (sts:GetAccessKeyInfo: a key of another account is pointed there, with the command to rotate it with --role-arn), each key's owner (iam:GetAccessKeyLastUsed; where that is denied or silent, iam:ListUsers and iam:ListAccessKeys), its status and last use, and prints the `fir creds rotate-key` command for each key that still works. Changes nothing."
  static override examples = [
    '<%= config.bin %> creds keys --case cases/INC-42',
    '<%= config.bin %> creds keys --case cases/INC-42 --json',
  ]
  static override flags = { ...awsFlags, ...caseFlag }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(CredsKeys)
    const ctx = await this.makeContext({ caseFlag: flags.case, aws: flags })
    const keys = await findLeakedKeys(ctx)
    const sealed = ctx.case.journal.all().filter((e) => e.action === 'evidence.seal').length
    const human =
      keys.length === 0
        ? sealed === 0
          ? 'No long-term access keys (AKIA…): this case holds no snapshot yet (run `fir snapshot <function>` first).'
          : `No long-term access keys (AKIA…) in the ${counted(sealed, 'evidence set')} of this case: no snapshot found one in a function's environment.`
        : [
            `Access keys found in function environments (${keys.length})`,
            '',
            formatTable(
              ['key', 'found in', 'account', 'owner', 'status', 'last used (UTC)'],
              keys.map((k) => [
                k.accessKeyId,
                escapeTerminal(
                  k.foundIn
                    .map(
                      (f) =>
                        `${f.function}${f.qualifier === '$LATEST' ? '' : `:${f.qualifier}`}${f.notFoundBy ? ` (not in its newest snapshot, ${f.notFoundBy})` : ''}`,
                    )
                    .join(', '),
                ),
                k.account ?? '?',
                escapeTerminal(k.owner ?? 'unknown'),
                k.status ?? '?',
                k.lastUsed?.date
                  ? `${k.lastUsed.date}${k.lastUsed.service ? ` ${escapeTerminal(k.lastUsed.service)}` : ''}${k.lastUsed.region ? ` ${escapeTerminal(k.lastUsed.region)}` : ''}`
                  : 'never / unknown',
              ]),
            ),
            '',
            'Next:',
            ...keys.map((k) =>
              k.proposal
                ? `  ${escapeTerminal(k.proposal)}`
                : `  ${k.accessKeyId}: ${escapeTerminal(k.note ?? (k.status ? `already ${k.status}` : 'nothing to do'))}`,
            ),
          ].join('\n')
    return { result: { keys }, human, gaps: ctx.gaps.list }
  }
}
