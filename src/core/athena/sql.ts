import { UsageError } from '../../errors.js'
import { isRoleName } from '../common/iam-name.js'

/** Which SQL engine a query is for: Athena over the CloudTrail table, or CloudTrail Lake. */
export type Dialect = 'athena' | 'lake'

/**
 * What makes an event related to the function (DESIGN §5), as search terms for SQL. The query
 * selects a superset (substring tests); the timeline's own relatedness test then keeps exactly the
 * events the local engine would keep.
 */
export interface RelatednessTerms {
  /** Function names: substrings of request, response and resource ARNs. */
  functionNames: string[]
  /** Execution roles: their sessions, and any call whose request names them (changes, AssumeRole, PassRole). */
  roles: { name: string; account: string }[]
  /** Managed policies attached to the role: new versions of them are role changes. */
  policyArns?: string[]
  /** Request ids of fir's own calls (journaled). */
  requestIds?: string[]
}

/** More request ids than this are left out of the SQL (fir's calls also name the function). */
export const MAX_REQUEST_IDS = 200

export interface QuerySpec {
  dialect: Dialect
  /** Athena: DB.TABLE; Lake: the event data store id or ARN. */
  source: string
  since: Date
  until: Date
  /** Accounts (Athena: the `account` partition; Lake: recipientAccountId). */
  accounts: string[]
  /** Regions (Athena: the `region` partition; Lake: awsRegion). */
  regions: string[]
  /** Days read either side of the window: the date in a trail log's key is its delivery date. */
  marginDays?: number
  /** Without terms, every event in the window is returned (an account-wide hunt). */
  terms?: RelatednessTerms
}

export interface BuiltQuery {
  dialect: Dialect
  /** The statement sent: Athena with `?` placeholders, Lake with escaped literals inline. */
  sql: string
  /** Athena ExecutionParameters, in placeholder order (each an escaped SQL literal). */
  parameters: string[]
  /** The statement with every value inline, for reading (what --dry-run shows). */
  rendered: string
  /** The partition range scanned (Athena) or the eventTime range (Lake). */
  partitions: { accounts: string[]; regions: string[]; from: string; to: string }
  /** The query names {@link ACCOUNT_PLACEHOLDER}: it can be shown (--dry-run), never sent. */
  accountPlaceholder?: true
}

const TABLE_RE = /^([A-Za-z_][A-Za-z0-9_]{0,127})\.([A-Za-z_][A-Za-z0-9_]{0,127})$/
const EDS_RE =
  /^(?:arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):\d{12}:eventdatastore\/)?([A-Za-z0-9][A-Za-z0-9-]{2,127})$/
const ACCOUNT_RE = /^\d{12}$/

/**
 * Stands for the caller's account in a query that --dry-run shows: a dry run sends nothing, not even
 * sts:GetCallerIdentity, so when neither the function's ARN nor the case names the account, the
 * query says `'<account>'` where the caller's account id will be. A query holding it is never sent.
 */
export const ACCOUNT_PLACEHOLDER = '<account>'

function isAccount(value: string): boolean {
  return ACCOUNT_RE.test(value) || value === ACCOUNT_PLACEHOLDER
}
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/
// C0/C1 controls, line and paragraph separators: nothing legitimate in a name or indicator needs them.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * `DB.TABLE` checked strictly and quoted for Athena (`"db"."table"`). `flag` is the flag that gave
 * it, which a refusal names: the timeline's `--athena-table`, or `fir athena ddl`'s `--table`.
 */
export function athenaTable(
  value: string,
  flag = '--athena-table',
): { database: string; table: string; quoted: string } {
  const m = TABLE_RE.exec(value)
  if (!m) {
    throw new UsageError(
      `unable to use Athena table ${JSON.stringify(value)}: it must be DB.TABLE (letters, digits and _ only)`,
      {
        actions: [
          `pass ${flag} DB.TABLE, e.g. ${flag} cloudtrail.org_trail (the table \`fir athena ddl\` creates)`,
        ],
      },
    )
  }
  const database = m[1]!.toLowerCase()
  const table = m[2]!.toLowerCase()
  return { database, table, quoted: `"${database}"."${table}"` }
}

/**
 * A CloudTrail Lake event data store, given by id or ARN, checked strictly: its id (the ID part of
 * the ARN), and the region its ARN names (a data store is queried in its own region).
 */
export function eventDataStoreRef(value: string): { id: string; region?: string } {
  const m = EDS_RE.exec(value)
  if (!m) {
    throw new UsageError(
      `unable to use event data store ${JSON.stringify(value)}: it is not an event data store id or ARN`,
      { actions: ['pass --event-data-store with the id from `aws cloudtrail list-event-data-stores`'] },
    )
  }
  return { id: m[2]!, ...(m[1] ? { region: m[1] } : {}) }
}

/** A CloudTrail Lake event data store id (the ID part of its ARN), checked strictly. */
export function eventDataStoreId(value: string): string {
  return eventDataStoreRef(value).id
}

/**
 * A SQL string literal: single quotes doubled, control characters and broken UTF-16 refused. Inside
 * a literal `--`, `;` and unicode are plain characters (Trino has no backslash escapes).
 */
export function sqlLiteral(value: string, what = 'value'): string {
  if (CONTROL_RE.test(value) || LONE_SURROGATE_RE.test(value)) {
    throw new UsageError(`unable to build the query: the ${what} holds control characters`, {
      actions: [`check the ${what}; names and indicators never contain control characters`],
    })
  }
  if (value.length > 2048) {
    throw new UsageError(`unable to build the query: the ${what} is longer than 2048 characters`, {
      actions: [`check the ${what}`],
    })
  }
  return `'${value.replaceAll("'", "''")}'`
}

/** Builds a statement and its parameters side by side, so the inline rendering never re-parses SQL. */
class Statement {
  sql = ''
  rendered = ''
  readonly parameters: string[] = []

  constructor(private readonly dialect: Dialect) {}

  text(s: string): this {
    this.sql += s
    this.rendered += s
    return this
  }

  value(v: string, what: string): this {
    const lit = sqlLiteral(v, what)
    if (this.dialect === 'athena') {
      this.sql += '?'
      this.parameters.push(lit)
    } else {
      this.sql += lit
    }
    this.rendered += lit
    return this
  }

  list(values: string[], what: string): this {
    values.forEach((v, i) => {
      if (i > 0) this.text(', ')
      this.value(v, what)
    })
    return this
  }
}

/** How a selected column becomes part of the rebuilt CloudTrail record. */
export type ColumnKind = 'string' | 'bool' | 'json' | 'resources' | 'time'

export interface Column {
  alias: string
  /** Path in the CloudTrail record, with CloudTrail's field names. */
  path: string[]
  kind: ColumnKind
  /** Expression over the Athena CloudTrail table (lower-case names); null: not in the table. */
  athena: string | null
  /** Expression over a Lake event data store; null: not selected there. */
  lake: string | null
}

const jsonOf = (expr: string) => `json_format(CAST(${expr} AS JSON))`
const UI = 'useridentity'
const SC = `${UI}.sessioncontext`
const SI = `${SC}.sessionissuer`
const LUI = 'userIdentity'
const LSC = `${LUI}.sessionContext`
const LSI = `${LSC}.sessionIssuer`

function col(
  alias: string,
  path: string[],
  athena: string | null,
  lake: string | null,
  kind: ColumnKind = 'string',
): Column {
  return { alias, path, kind, athena, lake }
}

/**
 * The columns selected to rebuild each record, in the AWS-documented CloudTrail table (Athena) and
 * in Lake's event schema. Structs are selected field by field, so the result does not depend on how
 * an engine prints a ROW; arrays and maps are selected as JSON.
 */
export const COLUMNS: Column[] = [
  col('eventversion', ['eventVersion'], 'eventversion', 'eventVersion'),
  col('ui_type', ['userIdentity', 'type'], `${UI}.type`, `${LUI}.type`),
  col('ui_principalid', ['userIdentity', 'principalId'], `${UI}.principalid`, `${LUI}.principalId`),
  col('ui_arn', ['userIdentity', 'arn'], `${UI}.arn`, `${LUI}.arn`),
  col('ui_accountid', ['userIdentity', 'accountId'], `${UI}.accountid`, `${LUI}.accountId`),
  col('ui_invokedby', ['userIdentity', 'invokedBy'], `${UI}.invokedby`, `${LUI}.invokedBy`),
  col('ui_accesskeyid', ['userIdentity', 'accessKeyId'], `${UI}.accesskeyid`, `${LUI}.accessKeyId`),
  col('ui_username', ['userIdentity', 'userName'], `${UI}.username`, `${LUI}.userName`),
  col('ui_obo_userid', ['userIdentity', 'onBehalfOf', 'userId'], `${UI}.onbehalfof.userid`, null),
  col(
    'ui_obo_identitystorearn',
    ['userIdentity', 'onBehalfOf', 'identityStoreArn'],
    `${UI}.onbehalfof.identitystorearn`,
    null,
  ),
  col(
    'sc_mfaauthenticated',
    ['userIdentity', 'sessionContext', 'attributes', 'mfaAuthenticated'],
    `${SC}.attributes.mfaauthenticated`,
    `${LSC}.attributes.mfaAuthenticated`,
  ),
  col(
    'sc_creationdate',
    ['userIdentity', 'sessionContext', 'attributes', 'creationDate'],
    `${SC}.attributes.creationdate`,
    `${LSC}.attributes.creationDate`,
    'time',
  ),
  col('si_type', ['userIdentity', 'sessionContext', 'sessionIssuer', 'type'], `${SI}.type`, `${LSI}.type`),
  col(
    'si_principalid',
    ['userIdentity', 'sessionContext', 'sessionIssuer', 'principalId'],
    `${SI}.principalid`,
    `${LSI}.principalId`,
  ),
  col('si_arn', ['userIdentity', 'sessionContext', 'sessionIssuer', 'arn'], `${SI}.arn`, `${LSI}.arn`),
  col(
    'si_accountid',
    ['userIdentity', 'sessionContext', 'sessionIssuer', 'accountId'],
    `${SI}.accountid`,
    `${LSI}.accountId`,
  ),
  col(
    'si_username',
    ['userIdentity', 'sessionContext', 'sessionIssuer', 'userName'],
    `${SI}.username`,
    `${LSI}.userName`,
  ),
  col(
    'sc_ec2roledelivery',
    ['userIdentity', 'sessionContext', 'ec2RoleDelivery'],
    `${SC}.ec2roledelivery`,
    null,
  ),
  col(
    'sc_webid_provider',
    ['userIdentity', 'sessionContext', 'webIdFederationData', 'federatedProvider'],
    `${SC}.webidfederationdata.federatedprovider`,
    `${LSC}.webIdFederationData.federatedProvider`,
  ),
  col(
    'sc_webid_attributes',
    ['userIdentity', 'sessionContext', 'webIdFederationData', 'attributes'],
    jsonOf(`${SC}.webidfederationdata.attributes`),
    jsonOf(`${LSC}.webIdFederationData.attributes`),
    'json',
  ),
  col('eventtime', ['eventTime'], 'eventtime', 'eventTime', 'time'),
  col('eventsource', ['eventSource'], 'eventsource', 'eventSource'),
  col('eventname', ['eventName'], 'eventname', 'eventName'),
  col('awsregion', ['awsRegion'], 'awsregion', 'awsRegion'),
  col('sourceipaddress', ['sourceIPAddress'], 'sourceipaddress', 'sourceIPAddress'),
  col('useragent', ['userAgent'], 'useragent', 'userAgent'),
  col('errorcode', ['errorCode'], 'errorcode', 'errorCode'),
  col('errormessage', ['errorMessage'], 'errormessage', 'errorMessage'),
  col('requestparameters', ['requestParameters'], 'requestparameters', jsonOf('requestParameters'), 'json'),
  col('responseelements', ['responseElements'], 'responseelements', jsonOf('responseElements'), 'json'),
  col(
    'additionaleventdata',
    ['additionalEventData'],
    'additionaleventdata',
    jsonOf('additionalEventData'),
    'json',
  ),
  col('requestid', ['requestID'], 'requestid', 'requestID'),
  col('eventid', ['eventID'], 'eventid', 'eventID'),
  col('readonly', ['readOnly'], 'readonly', 'readOnly', 'bool'),
  col('resources', ['resources'], jsonOf('resources'), jsonOf('resources'), 'resources'),
  col('eventtype', ['eventType'], 'eventtype', 'eventType'),
  col('apiversion', ['apiVersion'], 'apiversion', 'apiVersion'),
  col('managementevent', ['managementEvent'], null, 'managementEvent', 'bool'),
  col('recipientaccountid', ['recipientAccountId'], 'recipientaccountid', 'recipientAccountId'),
  col(
    'serviceeventdetails',
    ['serviceEventDetails'],
    'serviceeventdetails',
    jsonOf('serviceEventDetails'),
    'json',
  ),
  col('sharedeventid', ['sharedEventID'], 'sharedeventid', 'sharedEventID'),
  col('vpcendpointid', ['vpcEndpointId'], 'vpcendpointid', 'vpcEndpointId'),
  // Not in every Lake event data store's schema: selecting a missing field fails the whole query.
  col('vpcendpointaccountid', ['vpcEndpointAccountId'], 'vpcendpointaccountid', null),
  col('eventcategory', ['eventCategory'], 'eventcategory', 'eventCategory'),
  col(
    'sessioncredentialfromconsole',
    ['sessionCredentialFromConsole'],
    'sessioncredentialfromconsole',
    'sessionCredentialFromConsole',
  ),
  col('tls_version', ['tlsDetails', 'tlsVersion'], 'tlsdetails.tlsversion', 'tlsDetails.tlsVersion'),
  col('tls_ciphersuite', ['tlsDetails', 'cipherSuite'], 'tlsdetails.ciphersuite', 'tlsDetails.cipherSuite'),
  col(
    'tls_host',
    ['tlsDetails', 'clientProvidedHostHeader'],
    'tlsdetails.clientprovidedhostheader',
    'tlsDetails.clientProvidedHostHeader',
  ),
]

export function columnsFor(dialect: Dialect): Column[] {
  return COLUMNS.filter((c) => c[dialect] !== null)
}

const DAY_MS = 86_400_000

function partitionDate(d: Date): string {
  return d.toISOString().slice(0, 10).replaceAll('-', '/')
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function lakeTime(d: Date): string {
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '')
}

/**
 * One SELECT over the CloudTrail table (Athena, filtered on the projected account, region and date
 * partitions) or a Lake event data store, for the window and the relatedness terms. Every name and
 * indicator is a bound parameter (Athena ExecutionParameters) or an escaped literal (Lake, which has
 * no parameters for ad-hoc queries); identifiers are checked against strict patterns.
 */
export function buildQuery(spec: QuerySpec): BuiltQuery {
  const { dialect } = spec
  if (
    !(spec.since instanceof Date) ||
    Number.isNaN(spec.since.getTime()) ||
    Number.isNaN(spec.until.getTime())
  ) {
    throw new UsageError('unable to build the query: the time window is not valid', {
      actions: ['pass --since 7d or an ISO time, and --until an ISO time after it'],
    })
  }
  if (spec.until.getTime() < spec.since.getTime()) {
    throw new UsageError('unable to build the query: --until is before --since', {
      actions: ['pass an --until after --since'],
    })
  }
  for (const a of spec.accounts) {
    if (!isAccount(a)) {
      throw new UsageError(`unable to build the query: ${JSON.stringify(a)} is not a 12-digit account id`, {
        actions: ['check the account ids'],
      })
    }
  }
  for (const r of spec.regions) {
    if (!REGION_RE.test(r)) {
      throw new UsageError(`unable to build the query: ${JSON.stringify(r)} is not a region name`, {
        actions: ['pass --regions like us-east-1,eu-west-1'],
      })
    }
  }
  if (spec.accounts.length === 0 || spec.regions.length === 0) {
    throw new UsageError('unable to build the query: it needs at least one account and one region', {
      actions: ['name the function (its account and region are used) or pass --regions'],
    })
  }
  const margin = (spec.marginDays ?? 1) * DAY_MS
  const from = partitionDate(new Date(spec.since.getTime() - margin))
  const to = partitionDate(new Date(spec.until.getTime() + margin))
  const s = new Statement(dialect)
  const cols = columnsFor(dialect)
  const source = dialect === 'athena' ? athenaTable(spec.source).quoted : eventDataStoreId(spec.source)
  const f = (athena: string, lake: string) => (dialect === 'athena' ? athena : lake)

  s.text('SELECT\n')
  s.text(cols.map((c) => `  ${c[dialect]} AS ${c.alias}`).join(',\n'))
  s.text(`\nFROM ${source}\nWHERE `)
  if (dialect === 'athena') {
    s.text('account IN (').list(spec.accounts, 'account id').text(')\n')
    s.text('  AND region IN (').list(spec.regions, 'region').text(')\n')
    s.text('  AND "timestamp" BETWEEN ').value(from, 'date').text(' AND ').value(to, 'date').text('\n')
    s.text('  AND eventtime >= ').value(isoSeconds(spec.since), 'time')
    s.text(' AND eventtime <= ').value(isoSeconds(spec.until), 'time').text('\n')
  } else {
    s.text('eventTime >= ').value(lakeTime(spec.since), 'time')
    s.text(' AND eventTime <= ').value(lakeTime(spec.until), 'time').text('\n')
    s.text('  AND recipientAccountId IN (').list(spec.accounts, 'account id').text(')\n')
    s.text('  AND awsRegion IN (').list(spec.regions, 'region').text(')\n')
  }

  const terms = spec.terms
  const names = [...new Set(terms?.functionNames ?? [])].filter(Boolean)
  const roles = (terms?.roles ?? []).filter((r) => r.name)
  const policies = [...new Set(terms?.policyArns ?? [])].filter(Boolean)
  const ids = [...new Set(terms?.requestIds ?? [])].filter(Boolean).slice(0, MAX_REQUEST_IDS)
  if (names.length > 0 || roles.length > 0 || policies.length > 0 || ids.length > 0) {
    const req = f('requestparameters', jsonOf('requestParameters'))
    const resp = f('responseelements', jsonOf('responseElements'))
    const resArns = f('resources', 'resources')
    const or: ((st: Statement) => void)[] = []
    for (const name of names) {
      or.push((st) => st.text(`strpos(${req}, `).value(name, 'function name').text(') > 0'))
      or.push((st) => st.text(`strpos(${resp}, `).value(name, 'function name').text(') > 0'))
      or.push((st) =>
        st
          .text(`cardinality(filter(${resArns}, r -> strpos(r.arn, `)
          .value(name, 'function name')
          .text(') > 0)) > 0'),
      )
    }
    for (const role of roles) {
      if (!isRoleName(role.name) || !isAccount(role.account)) {
        throw new UsageError(
          `unable to build the query: ${JSON.stringify(role.name)} is not an IAM role name`,
          {
            actions: ['check the execution role (--role NAME or the snapshot of the function)'],
          },
        )
      }
      // IAM names are case-insensitive: compare lower-cased, as the relatedness test does.
      const name = role.name.toLowerCase()
      // Every partition (aws, aws-cn, aws-us-gov): arn:<partition>:sts::<account>:assumed-role/<name>/…
      const session = `:sts::${role.account}:assumed-role/${name}/`
      or.push((st) =>
        st
          .text(`strpos(lower(${f(`${UI}.arn`, `${LUI}.arn`)}), `)
          .value(session, 'role session ARN')
          .text(') > 0'),
      )
      or.push((st) => st.text(`lower(${f(`${SI}.username`, `${LSI}.userName`)}) = `).value(name, 'role name'))
      or.push((st) => st.text(`strpos(lower(${req}), `).value(name, 'role name').text(') > 0'))
    }
    for (const policy of policies) {
      or.push((st) => st.text(`strpos(${req}, `).value(policy, 'policy ARN').text(') > 0'))
    }
    if (ids.length > 0) {
      or.push((st) =>
        st
          .text(`${f('requestid', 'requestID')} IN (`)
          .list(ids, 'request id')
          .text(')'),
      )
    }
    s.text('  AND (\n')
    or.forEach((clause, i) => {
      s.text(i === 0 ? '    ' : '    OR ')
      clause(s)
      s.text('\n')
    })
    s.text('  )\n')
  }
  s.text(`ORDER BY ${f('eventtime', 'eventTime')}, ${f('eventid', 'eventID')}`)
  return {
    dialect,
    sql: s.sql,
    parameters: s.parameters,
    rendered: s.rendered,
    partitions: {
      accounts: spec.accounts,
      regions: spec.regions,
      from: dialect === 'athena' ? from : lakeTime(spec.since),
      to: dialect === 'athena' ? to : lakeTime(spec.until),
    },
    ...([...spec.accounts, ...roles.map((r) => r.account)].includes(ACCOUNT_PLACEHOLDER)
      ? { accountPlaceholder: true as const }
      : {}),
  }
}
