import { Flags } from '@oclif/core'
import { awsFlags, caseFlag, changeFlags, FirCommand } from '../../base-command.js'
import { awsCliCommand, firCommand, flag } from '../../core/common/suggest.js'
import { escapeTerminal } from '../../core/common/text.js'
import { readRotatedSecret, rotateAccessKey } from '../../core/credentials/rotate-key.js'
import { stepTable } from '../../core/steps/render.js'
import { UsageError } from '../../errors.js'
import type { CommandOutcome } from '../../output.js'

export default class CredsRotateKey extends FirCommand {
  static override summary = "Rotate a user's long-term access key: create a new one, deactivate the old"
  static override description =
    "Creates a new access key for the user, writes its secret once to <case>/secrets/<user>-<key id>.json (mode 0600), then deactivates the old key; the old key is deleted only with --delete-old. The new secret never reaches the journal, logs or reports, and reaches stdout only with --show-secret. AWS allows two keys per user: when the user already has two, fir refuses and names them. Undo (reactivating the old key) runs only when named: `fir restore --actions rotate-key`. `fir creds keys` lists keys found in the case's functions."
  static override examples = [
    '<%= config.bin %> creds rotate-key --user deployer --access-key AKIAIOSFODNN7EXAMPLE --case cases/INC-42 --dry-run',
    '<%= config.bin %> creds rotate-key --user deployer --access-key AKIAIOSFODNN7EXAMPLE --case cases/INC-42 --yes',
    '<%= config.bin %> creds rotate-key --user deployer --case cases/INC-42 --delete-old --yes',
    '<%= config.bin %> creds rotate-key --user backup-admin --access-key AKIAI44QH8DHBEXAMPLE --no-replace --case cases/INC-42 --yes',
  ]
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    ...changeFlags,
    user: Flags.string({ required: true, description: 'IAM user name' }),
    'access-key': Flags.string({
      description: 'the leaked key id (AKIA…); optional when the user has exactly one key',
    }),
    'delete-old': Flags.boolean({
      description: 'delete the old key instead of only deactivating it (cannot be undone)',
    }),
    replace: Flags.boolean({
      default: true,
      allowNo: true,
      description:
        'make a new key for the user (default); --no-replace only deactivates the old key, for a key nothing legitimate uses (one an intruder created)',
    }),
    'show-secret': Flags.boolean({
      description: 'also print the new secret access key on stdout (it is always in the 0600 file)',
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(CredsRotateKey)
    if (flags['show-secret'] && this.jsonMode) {
      throw new UsageError('unable to use --show-secret with --json: JSON output never carries secrets', {
        actions: ['drop --json, or read the secret from the 0600 file the result names'],
      })
    }
    const dryRun = flags['dry-run']
    const ctx = await this.makeChangeContext(flags)
    const result = await rotateAccessKey(ctx, {
      user: flags.user,
      ...(flags['access-key'] ? { accessKey: flags['access-key'] } : {}),
      deleteOld: flags['delete-old'],
      ...(flags.replace ? {} : { replace: false }),
      dryRun,
      onPlan: dryRun ? undefined : (rows) => ctx.log.info(`Plan:\n${stepTable(rows)}\n`),
    })
    const lines = [
      dryRun ? 'Plan (dry run: nothing changed)' : 'Access key rotation',
      '',
      stepTable(result.results),
    ]
    if (result.newAccessKeyId && result.secretFile) {
      const file = escapeTerminal(result.secretFile)
      lines.push(
        '',
        ...(result.newKeyMadeNow
          ? [
              `New key ${result.newAccessKeyId}: secret written to ${file} (0600, in the case folder).`,
              'Deploy it where the old key was used, then delete that file.',
            ]
          : [
              `No new key made now: ${result.newAccessKeyId} was made by an earlier run of this case; its secret is in ${file} (0600, in the case folder), written then.`,
              'If it is not deployed yet, deploy it where the old key was used, then delete that file.',
            ]),
      )
      if (flags['show-secret']) {
        // The one exception to redaction (DESIGN §1): written directly, never through the scrubbed renderers.
        const secret = await readRotatedSecret(ctx.case.dir, result.secretFile)
        process.stdout.write(`AccessKeyId=${result.newAccessKeyId}\nSecretAccessKey=${secret}\n\n`)
      }
    } else if (result.newAccessKeyId && !result.newKeyMadeNow) {
      // The file is deleted once the key is deployed; AWS shows a secret only when the key is made.
      lines.push(
        '',
        `No new key made now: ${result.newAccessKeyId} was made by an earlier run of this case; its secret file is not in the case (deleted since, as fir says to once the key is deployed)${flags['show-secret'] ? ', so there is no secret to show' : ''}.`,
        `If nobody holds that key's secret, delete the key (${escapeTerminal(awsCliCommand(['iam', 'delete-access-key', flag('--user-name', result.userName), flag('--access-key-id', result.newAccessKeyId)], ctx.aws))}) and run this command again to make another.`,
      )
    }
    for (const id of result.maybeLostKeyIds) {
      const key = escapeTerminal(id)
      const whose = `it may be a key an earlier run of this case made and was killed before saving its secret (then nobody holds the secret and nothing can use the key), or a key someone else made in that time: fir cannot tell which`
      lines.push(
        '',
        dryRun
          ? `${key}: ${whose}. The rotation deactivates it (reversible) and does not delete it.`
          : result.maybeLostKeysActive.includes(id)
            ? `${key} is still active (deactivating it did not complete): ${whose}. A re-run deactivates it.`
            : `${key} is inactive (reversible: ${escapeTerminal(firCommand(['restore', '--actions', 'rotate-key'], ctx.aws, { caseDir: ctx.case.dir }))} reactivates it), not deleted: ${whose}. Check its last use (${escapeTerminal(awsCliCommand(['iam', 'get-access-key-last-used', flag('--access-key-id', id)], ctx.aws))}: a lost key has never been used); delete it if it is the lost key, reactivate it if it is someone's.`,
      )
    }
    if (result.newKeyBlockedBy.length && result.rerun) {
      lines.push(
        '',
        `No new key was made: ${result.newKeyBlockedBy.map((id) => escapeTerminal(id)).join(', ')} holds the user's second place (AWS allows two keys). The leaked key is cut off. Once that key is deleted (if it is the lost one), run this again to make the new key:`,
        `  ${escapeTerminal(result.rerun)}`,
      )
    } else if (result.partlyMade && result.rerun) {
      const out = result.results[0]?.outputs ?? {}
      lines.push(
        '',
        `The rotation stopped part way (the old key ${escapeTerminal(String(out.oldAccessKeyId))} is now ${escapeTerminal(String(out.oldStatus))}). Run it again to finish it; it makes no other key:`,
        `  ${escapeTerminal(result.rerun)}`,
      )
    }
    return { result, human: lines.join('\n'), gaps: ctx.gaps.list, ...(dryRun ? { status: 0 as const } : {}) }
  }
}
