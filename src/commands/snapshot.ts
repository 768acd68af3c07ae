import { Args, Flags } from '@oclif/core'
import { awsFlags, caseFlag, FirCommand } from '../base-command.js'
import { renderSnapshot } from '../core/snapshot/render.js'
import { snapshotFunctions } from '../core/snapshot/snapshot.js'
import { UsageError } from '../errors.js'
import type { CommandOutcome } from '../output.js'

export default class Snapshot extends FirCommand {
  static override summary = "Seal a function's code, versions, configuration and role as evidence"
  static override description =
    "Captures each function as it is, before anyone changes it, into a new dated evidence set of the case: GetFunction for $LATEST, every version and alias; every distinct code package (downloaded just in time, checked against CodeSha256); resource policies and URL configs of every qualifier; event source mappings, concurrency, event invoke and code signing configs; layers with their content; the execution role with every policy document; the log group's recent events; trail coverage; and who took it. Every API response is stored verbatim, one file per call, and the set is sealed (manifest hashed into the journal). Findings: secret-looking environment values (redacted), access keys, risky role permissions, public exposure, hostile code archives (listed, never extracted). Reads only. A denied, throttled or failing sub-call is a gap: everything else is collected and the command exits 4."
  static override examples = [
    '<%= config.bin %> snapshot orders-api --case cases/INC-2026-0042',
    '<%= config.bin %> snapshot arn:aws:lambda:eu-west-1:123456789012:function:orders-api --qualifier live --case cases/INC-1',
    '<%= config.bin %> snapshot --all-using-role orders-api-role --regions eu-west-1,us-east-1 --case cases/INC-1',
    '<%= config.bin %> snapshot orders-api --case cases/INC-1 --evidence-bucket s3://ir-evidence-123456789012/cases --retention-days 730',
    '<%= config.bin %> snapshot orders-api billing-worker --case cases/INC-1 --json',
  ]
  static override strict = false
  static override args = {
    function: Args.string({
      description: 'name, partial ARN or full ARN (a full ARN sets region and account); several allowed',
      required: false,
    }),
  }
  static override flags = {
    ...awsFlags,
    ...caseFlag,
    qualifier: Flags.string({
      description: 'version or alias the summary describes (every version and alias is collected anyway)',
    }),
    'all-using-role': Flags.string({
      description: 'also snapshot every function in the region(s) whose execution role is this (name or ARN)',
    }),
    regions: Flags.string({
      description: 'comma-separated regions searched by --all-using-role (default: the current region)',
    }),
    'evidence-bucket': Flags.string({
      description:
        'copy the sealed set to s3://bucket/prefix under Object Lock (a bucket without it is refused)',
      helpGroup: 'EVIDENCE',
    }),
    'retention-days': Flags.integer({
      description: 'Object Lock retention of the copies, in days',
      default: 365,
      min: 1,
      helpGroup: 'EVIDENCE',
    }),
    'retention-mode': Flags.string({
      description: 'Object Lock mode of the copies',
      options: ['compliance', 'governance'],
      default: 'compliance',
      helpGroup: 'EVIDENCE',
    }),
    'log-hours': Flags.integer({
      description: "hours of the function's log group to keep",
      default: 24,
      min: 1,
    }),
    'log-limit': Flags.integer({
      description: 'at most this many log events per function',
      default: 10_000,
      min: 1,
    }),
    'lambda-rps': Flags.string({
      description:
        "Lambda control-plane requests per second fir allows itself (default 10, or FIR_LAMBDA_RPS; the account's limit is shared with the victim's own deployments)",
    }),
  }

  protected async execute(): Promise<CommandOutcome> {
    const { flags, argv } = await this.parse(Snapshot)
    const functions = (argv as string[]).filter((a) => a !== '')
    if (functions.length === 0 && !flags['all-using-role']) {
      throw new UsageError('unable to snapshot: no function given', {
        actions: ['name one or more functions, or pass --all-using-role ROLE', 'see `fir snapshot --help`'],
      })
    }
    const regions = flags.regions
      ?.split(',')
      .map((r) => r.trim())
      .filter(Boolean)
    if (regions && !flags['all-using-role']) {
      throw new UsageError('unable to use --regions without --all-using-role', {
        actions: ['name functions by full ARN to pick their region, or add --all-using-role ROLE'],
      })
    }
    for (const r of regions ?? []) {
      if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(r)) {
        throw new UsageError(`unable to use region ${JSON.stringify(r)}: it is not an AWS region name`, {
          actions: ['pass --regions like eu-west-1,us-east-1'],
        })
      }
    }
    let lambdaRps: number | undefined
    if (flags['lambda-rps'] !== undefined) {
      lambdaRps = Number(flags['lambda-rps'])
      if (!Number.isFinite(lambdaRps) || lambdaRps <= 0) {
        throw new UsageError(
          `unable to use --lambda-rps ${flags['lambda-rps']}: it must be a number above 0`,
          {
            actions: ['pass --lambda-rps 10 (the default) or lower when the account is busy'],
          },
        )
      }
    }
    const ctx = await this.makeContext({ caseFlag: flags.case, aws: flags })
    const result = await snapshotFunctions(ctx, {
      functions,
      ...(flags.qualifier ? { qualifier: flags.qualifier } : {}),
      ...(flags['all-using-role'] ? { allUsingRole: flags['all-using-role'] } : {}),
      ...(regions ? { regions } : {}),
      ...(flags['evidence-bucket'] ? { evidenceBucket: flags['evidence-bucket'] } : {}),
      retentionDays: flags['retention-days'],
      retentionMode: flags['retention-mode'] === 'governance' ? 'GOVERNANCE' : 'COMPLIANCE',
      logHours: flags['log-hours'],
      logLimit: flags['log-limit'],
      ...(lambdaRps !== undefined ? { lambdaRps } : {}),
    })
    return { result, human: renderSnapshot(result), gaps: result.gaps }
  }
}
