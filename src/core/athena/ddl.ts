import { UsageError } from '../../errors.js'
import { ALL_REGIONS } from '../sweep/regions.js'
import { daysInMonth } from '../timeline/window.js'
import { athenaTable } from './sql.js'

export interface DdlOptions {
  /** DB.TABLE (default cloudtrail.org_trail). */
  table: string
  /** s3://bucket/[prefix/]AWSLogs/[o-xxxxxxxxxx/] — the folder that holds one folder per account. */
  bucketLocation: string
  /** Accounts for an enum projection; without them the account is injected (queries must name it). */
  accounts?: string[]
  /** Regions for the enum projection (default: every commercial region). */
  regions?: string[]
  /** First date of the date projection, YYYY/MM/DD (default: 2020/01/01). */
  startDate?: string
}

export interface Ddl {
  table: string
  location: string
  template: string
  accountProjection: 'enum' | 'injected'
  ddl: string
}

const LOCATION_RE = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/((?:[A-Za-z0-9!_.*()-]+\/)*)$/
const DATE_RE = /^(\d{4})\/(0[1-9]|1[0-2])\/(0[1-9]|[12]\d|3[01])$/

/**
 * The CREATE EXTERNAL TABLE statement for CloudTrail logs in Athena, with the columns of AWS's
 * documented CloudTrail table and partition projection on account, region and date (the `timestamp`
 * partition, yyyy/MM/dd), for an organisation trail (AWSLogs/o-id/<account>/…) or an account trail
 * (AWSLogs/<account>/…). Every value placed in the statement is checked against a strict pattern.
 */
export function cloudTrailDdl(opts: DdlOptions): Ddl {
  const t = athenaTable(opts.table, '--table')
  let location = opts.bucketLocation.trim()
  if (!location.endsWith('/')) location += '/'
  const m = LOCATION_RE.exec(location)
  if (!m || !/(^|\/)AWSLogs\/(o-[a-z0-9]{10,32}\/)?$/.test(m[2] ?? '')) {
    throw new UsageError(
      `unable to use --bucket-location ${JSON.stringify(opts.bucketLocation)}: it must be s3://BUCKET/[PREFIX/]AWSLogs/ or s3://BUCKET/[PREFIX/]AWSLogs/o-ORGID/`,
      {
        actions: [
          'pass the folder that holds one folder per account, e.g. s3://org-trail-logs/AWSLogs/o-a1b2c3d4e5/',
        ],
      },
    )
  }
  const accounts = [...new Set(opts.accounts ?? [])]
  for (const a of accounts) {
    if (!/^\d{12}$/.test(a)) {
      throw new UsageError(`unable to read --accounts: ${JSON.stringify(a)} is not a 12-digit account id`, {
        actions: ['pass --accounts 111122223333,444455556666'],
      })
    }
  }
  const regions = [...new Set(opts.regions?.length ? opts.regions : ALL_REGIONS)]
  for (const r of regions) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(r)) {
      throw new UsageError(`unable to read --regions: ${JSON.stringify(r)} is not a region name`, {
        actions: ['pass --regions us-east-1,eu-west-1'],
      })
    }
  }
  const startDate = opts.startDate ?? '2020/01/01'
  const date = DATE_RE.exec(startDate)
  if (!date) {
    throw new UsageError(`unable to read --start-date: ${JSON.stringify(startDate)} is not YYYY/MM/DD`, {
      actions: ['pass --start-date 2024/01/01 (the first day of logs in the bucket)'],
    })
  }
  // A day the month does not have is a typo: the table's projection range would start on it.
  if (Number(date[3]) > daysInMonth(Number(date[1]), Number(date[2]))) {
    throw new UsageError(
      `unable to read --start-date: ${startDate} is not a date (the month has fewer days)`,
      {
        actions: ['pass --start-date with a day the month has, like 2025/02/28'],
      },
    )
  }
  const template = `${location}\${account}/CloudTrail/\${region}/\${timestamp}`
  const accountProjection = accounts.length > 0 ? 'enum' : 'injected'
  const props: [string, string][] = [
    ['projection.enabled', 'true'],
    ['projection.account.type', accountProjection],
    ...(accounts.length > 0
      ? ([['projection.account.values', accounts.join(',')]] as [string, string][])
      : []),
    ['projection.region.type', 'enum'],
    ['projection.region.values', regions.join(',')],
    ['projection.timestamp.type', 'date'],
    ['projection.timestamp.format', 'yyyy/MM/dd'],
    ['projection.timestamp.range', `${startDate},NOW`],
    ['projection.timestamp.interval', '1'],
    ['projection.timestamp.interval.unit', 'DAYS'],
    ['storage.location.template', template],
  ]
  const ddl = `CREATE EXTERNAL TABLE IF NOT EXISTS \`${t.database}\`.\`${t.table}\` (
  eventversion STRING,
  useridentity STRUCT<
    type: STRING,
    principalid: STRING,
    arn: STRING,
    accountid: STRING,
    invokedby: STRING,
    accesskeyid: STRING,
    username: STRING,
    onbehalfof: STRUCT<
      userid: STRING,
      identitystorearn: STRING>,
    sessioncontext: STRUCT<
      attributes: STRUCT<
        mfaauthenticated: STRING,
        creationdate: STRING>,
      sessionissuer: STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        username: STRING>,
      ec2roledelivery: STRING,
      webidfederationdata: STRUCT<
        federatedprovider: STRING,
        attributes: MAP<STRING,STRING>>>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<
    arn: STRING,
    accountid: STRING,
    type: STRING>>,
  eventtype STRING,
  apiversion STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  vpcendpointaccountid STRING,
  eventcategory STRING,
  addendum STRUCT<
    reason: STRING,
    updatedfields: STRING,
    originalrequestid: STRING,
    originaleventid: STRING>,
  sessioncredentialfromconsole STRING,
  edgedevicedetails STRING,
  tlsdetails STRUCT<
    tlsversion: STRING,
    ciphersuite: STRING,
    clientprovidedhostheader: STRING>
)
PARTITIONED BY (account STRING, region STRING, \`timestamp\` STRING)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '${location}'
TBLPROPERTIES (
${props.map(([k, v]) => `  '${k}'='${v}'`).join(',\n')}
);`
  return { table: `${t.database}.${t.table}`, location, template, accountProjection, ddl }
}
