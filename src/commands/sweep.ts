import { Flags } from '@oclif/core'
import { awsFlags, caseFlag, FirCommand } from '../base-command.js'
import { isRoleName } from '../core/common/iam-name.js'
import { parseIndicators } from '../core/sweep/indicators.js'
import { parseRegions } from '../core/sweep/regions.js'
import { renderSweep } from '../core/sweep/render.js'
import { runSweep, type SweepResult } from '../core/sweep/sweep.js'
import { UsageError } from '../errors.js'
import type { CommandOutcome } from '../output.js'

export default class Sweep extends FirCommand {
  static override summary = 'Find every function in the organisation that an indicator reaches'
  static override description =
    "Lists every function version in every account and region and reports each one that runs the role, uses the layer, carries the code hash, holds the leaked environment value (by SHA-256, never the value) or is public, with why. Accounts come from AWS Organizations (ACTIVE only) or --accounts; in each, the --assume-role role is assumed (the caller's own account uses the caller's credentials). Regions are walked in parallel, each account's requests paced. An account or region that cannot be read is a gap (exit 4; listed, but exit 0, with --dry-run); an organisation that lists no ACTIVE account sweeps nothing and says so with a warning (exit 0: no call failed). Reads only; --snapshot seals the matches."
  static override examples = [
    '<%= config.bin %> sweep --org --role-name payments-webhook-role --case cases/INC-7',
    '<%= config.bin %> sweep --org --regions us-east-1,eu-west-1 --layer-arn arn:aws:lambda:us-east-1:111122223333:layer:shared-utils --case cases/INC-7',
    '<%= config.bin %> sweep --accounts 111122223333,444455556666 --assume-role IncidentResponder --env-value-sha256 $(printf %s "$LEAKED" | sha256sum | cut -c1-64) --case cases/INC-7 --json',
    '<%= config.bin %> sweep --org --public --snapshot --case cases/INC-7',
  ]
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    org: Flags.boolean({ description: "every ACTIVE account of the caller's organisation (ListAccounts)" }),
    accounts: Flags.string({ description: 'comma-separated account ids instead of --org' }),
    regions: Flags.string({
      description: 'all (every commercial region; opt-in regions not enabled are skipped) or r1,r2',
      default: 'all',
    }),
    'assume-role': Flags.string({
      description: 'role NAME assumed in each account (arn:aws:iam::<account>:role/NAME)',
      default: 'OrganizationAccountAccessRole',
    }),
    'role-name': Flags.string({
      description: 'indicator: execution role name (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'layer-arn': Flags.string({
      description: 'indicator: layer ARN, with or without version (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'code-sha256': Flags.string({
      description: 'indicator: code SHA-256, hex or base64 CodeSha256 (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'env-value-sha256': Flags.string({
      description: 'indicator: SHA-256 (hex) of a leaked value — never the value (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    public: Flags.boolean({
      description: 'indicator: function URL with AuthType NONE or a resource policy open to anyone',
    }),
    snapshot: Flags.boolean({
      description: "seal every match (fir snapshot, with that account's credentials)",
    }),
    concurrency: Flags.integer({
      description: 'accounts and account-regions walked at once (each account is still paced)',
      default: 32,
      min: 1,
      max: 64,
    }),
    rate: Flags.integer({
      description: 'requests per second per account (Lambda allows about 15, shared with the account)',
      default: 10,
      min: 1,
      max: 15,
    }),
    'dry-run': Flags.boolean({
      description: 'sweep (it only reads) but never snapshot; exits 0 even with gaps (they are still listed)',
    }),
  }

  protected async execute(): Promise<CommandOutcome<SweepResult>> {
    const { flags } = await this.parse(Sweep)
    if (Boolean(flags.org) === Boolean(flags.accounts)) {
      throw new UsageError('unable to sweep: name the accounts with exactly one of --org or --accounts', {
        actions: ['pass --org, or --accounts 111122223333,444455556666'],
      })
    }
    if (!isRoleName(flags['assume-role'])) {
      throw new UsageError(
        `unable to read --assume-role: ${JSON.stringify(flags['assume-role'])} is not an IAM role name`,
        { actions: ['pass the role NAME (not its ARN), e.g. --assume-role OrganizationAccountAccessRole'] },
      )
    }
    const indicators = parseIndicators({
      roleName: flags['role-name'],
      layerArn: flags['layer-arn'],
      codeSha256: flags['code-sha256'],
      envValueSha256: flags['env-value-sha256'],
      public: flags.public,
    })
    const ctx = await this.makeContext({ caseFlag: flags.case, aws: flags, dryRun: flags['dry-run'] })
    const { regions, all } = parseRegions(flags.regions, ctx.aws.region)
    const result = await runSweep(ctx, {
      org: Boolean(flags.org),
      accounts: flags.accounts
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      regions,
      allRegions: all,
      assumeRole: flags['assume-role'],
      indicators,
      snapshot: Boolean(flags.snapshot),
      concurrency: flags.concurrency,
      ratePerAccount: flags.rate,
    })
    return {
      result,
      human: renderSweep(result),
      gaps: ctx.gaps.list,
      // DESIGN §1: a dry run exits 0 or 2, as contain's and restore's do; its gaps are still listed.
      ...(flags['dry-run'] ? { status: 0 as const } : {}),
    }
  }
}
