import { Flags } from '@oclif/core'
import { FirCommand } from '../../base-command.js'
import { cloudTrailDdl, type Ddl } from '../../core/athena/ddl.js'
import type { CommandOutcome } from '../../output.js'

export default class AthenaDdl extends FirCommand {
  static override summary = "Print the Athena table DDL for the organisation's CloudTrail logs"
  static override description =
    "Prints CREATE EXTERNAL TABLE for CloudTrail logs with AWS's documented CloudTrail columns and partition projection on account, region and date, so `fir timeline --engine athena` reads only the partitions of the window. Run it once in Athena (console, or `aws athena start-query-execution`), after creating the table's database if it does not exist (`CREATE DATABASE IF NOT EXISTS cloudtrail`, a query of its own); pass the same DB.TABLE to `fir timeline --athena-table`. Without --accounts the account partition is injected: every query must name its accounts (fir's do). Talks to no AWS service."
  static override examples = [
    '<%= config.bin %> athena ddl --bucket-location s3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/',
    '<%= config.bin %> athena ddl --table security.cloudtrail --bucket-location s3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/ --accounts 111122223333,444455556666 --regions us-east-1,eu-west-1 --start-date 2025/01/01',
    '<%= config.bin %> athena ddl --bucket-location s3://trail-bucket/AWSLogs/ --json',
  ]
  static override flags = {
    table: Flags.string({ description: 'DB.TABLE to create', default: 'cloudtrail.org_trail' }),
    'bucket-location': Flags.string({
      description: 's3://BUCKET/[PREFIX/]AWSLogs/[o-ORGID/] (the folder holding one folder per account)',
      required: true,
    }),
    accounts: Flags.string({ description: 'account ids for an enum projection (default: injected)' }),
    regions: Flags.string({ description: 'regions for the projection (default: every commercial region)' }),
    'start-date': Flags.string({ description: 'first day of logs, YYYY/MM/DD', default: '2020/01/01' }),
  }

  protected async execute(): Promise<CommandOutcome<Ddl>> {
    const { flags } = await this.parse(AthenaDdl)
    const list = (v: string | undefined) =>
      v
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    const ddl = cloudTrailDdl({
      table: flags.table,
      bucketLocation: flags['bucket-location'],
      accounts: list(flags.accounts),
      regions: list(flags.regions),
      startDate: flags['start-date'],
    })
    return { result: ddl, human: ddl.ddl }
  }
}
