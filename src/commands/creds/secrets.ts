import { Flags } from '@oclif/core'
import { awsFlags, caseFlag, FirCommand } from '../../base-command.js'
import { escapeTerminal, formatTable } from '../../core/common/text.js'
import { type SecretUse, secretsReadByRoles, toRotate } from '../../core/credentials/secrets-read.js'
import type { CommandOutcome } from '../../output.js'

export default class CredsSecrets extends FirCommand {
  static override summary =
    "List the secrets read with a function role's credentials (rotate these) and the rest it could read"
  static override description =
    "From the case's timeline (timeline/events.jsonl): the GetSecretValue and BatchGetSecretValue calls made by the role's assumed-role sessions — those secrets were read with credentials an attacker may hold, so rotate them (`fir creds rotate-secret`); those this case rotated after their last read are listed as rotated, with when. Apart from them, the secrets the role's identity policies let it read (from the snapshot evidence; read live when the case has none; conditions and resource policies are not evaluated) are listed as exposure. By default every execution role of the case's snapshots. Changes nothing."
  static override examples = [
    '<%= config.bin %> creds secrets --case cases/INC-42',
    '<%= config.bin %> creds secrets --case cases/INC-42 --role payments-webhook-role --json',
  ]
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    role: Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      description: 'role name or ARN (repeatable; default: the roles of the snapshotted functions)',
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(CredsSecrets)
    const ctx = await this.makeContext({ caseFlag: flags.case, aws: flags })
    const report = await secretsReadByRoles(ctx, flags.role ? { roles: flags.role } : {})
    const lines: string[] = []
    for (const r of report.roles) {
      lines.push(
        `Role ${escapeTerminal(r.role)}${r.functions.length ? ` (functions: ${escapeTerminal(r.functions.join(', '))})` : ''}`,
      )
      if (!report.timeline) lines.push('  read: unknown (no timeline)')
      else if (r.read.length === 0) lines.push('  read with its credentials: none in the timeline')
      else {
        const open = r.read.filter(toRotate)
        const done = r.read.filter((u) => !toRotate(u))
        const table = (rows: SecretUse[], rotated: boolean) =>
          formatTable(
            [
              'secret',
              'calls',
              'first (UTC)',
              'last (UTC)',
              'sessions',
              'source IPs',
              ...(rotated ? ['rotated (UTC)'] : []),
            ],
            rows.map((u) => [
              escapeTerminal(u.label),
              String(u.calls),
              escapeTerminal(u.first),
              escapeTerminal(u.last),
              escapeTerminal(u.sessions.join(', ')),
              escapeTerminal(u.sourceIps.join(', ')),
              ...(rotated ? [escapeTerminal(u.rotatedAt ?? '')] : []),
            ]),
          )
            .split('\n')
            .map((l) => `    ${l}`)
            .join('\n')
        if (open.length) {
          lines.push(`  Read with its credentials — rotate these (${open.length}):`, table(open, false))
          for (const u of open.filter((x) => x.rotatedAt !== null))
            lines.push(
              `    ${escapeTerminal(u.label)}: read again after this case rotated it (${escapeTerminal(u.rotatedAt!)}): the new value may be exposed too`,
            )
        }
        if (done.length)
          lines.push(
            `  Read with its credentials — already rotated by this case (${done.length}):`,
            table(done, true),
          )
      }
      if (r.unnamedBatchReads)
        lines.push(
          `  ${r.unnamedBatchReads} BatchGetSecretValue call(s) by filter: CloudTrail does not name the secrets returned`,
        )
      if (r.attempted.length)
        lines.push(
          `  Tried and refused: ${r.attempted.map((a) => `${escapeTerminal(a.label)} (${escapeTerminal(a.errors.join('/'))})`).join(', ')}`,
        )
      const ex = r.exposure
      lines.push(
        `  Could also read (exposure, from ${ex.source === 'none' ? 'no policy source' : ex.source === 'snapshot' ? 'the snapshot' : 'IAM, live'}): ${
          ex.everySecret
            ? 'EVERY secret in the account'
            : ex.patterns.length
              ? escapeTerminal(ex.patterns.join(', '))
              : 'nothing granted'
        }`,
      )
      if (ex.secrets.length) lines.push(`    ${escapeTerminal(ex.secrets.join(', '))}`)
      for (const p of r.proposals) lines.push(`  → ${escapeTerminal(p)}`)
      lines.push('')
    }
    for (const n of report.notes) lines.push(`Note: ${n}`)
    return { result: report, human: lines.join('\n').trimEnd(), gaps: ctx.gaps.list }
  }
}
