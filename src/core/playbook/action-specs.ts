import { z } from 'zod'

/**
 * What each playbook action accepts and returns, as data: the validator checks `with:` blocks and
 * `steps.<id>.outputs.<name>` references against these before anything runs. The code that
 * performs each action lives in ./actions/ and is bound to these specs by id.
 */
export interface ParamSpec {
  /** Validates the value after templating. */
  schema: z.ZodType
  required?: boolean
  description: string
  /**
   * Free text a responder writes (a note): the secrets inside it are found (secretsInText) and
   * redacted wherever the run shows or journals it — the playbook text, the plan, the step's values.
   */
  freeText?: boolean
}

export interface ActionSpec {
  id: string
  title: string
  /** Changes something in AWS (containment, credentials); read-only actions only collect. */
  mutates: boolean
  description: string
  params: Record<string, ParamSpec>
  /** Output name → description; the only names `steps.<id>.outputs.*` may reference. */
  outputs: Record<string, string>
  /** Params of which at least one must be given (e.g. `secret` or `secrets`). */
  oneOf?: string[]
}

const name = z.string().min(1, 'must not be empty')
const names = z.array(name)
export const CONTAIN_ACTIONS = [
  'event-sources',
  'throttle',
  'url',
  'permissions',
  'sessions',
  'recycle',
] as const
const containActions = z.array(z.enum(CONTAIN_ACTIONS))
const duration = z
  .string()
  .regex(
    /^(\d+[smhdw]|\d{4}-\d{2}-\d{2}([T ][\d:.]+Z?)?)$/,
    'must be a duration like 7d, 36h, 90m, or an ISO date',
  )

export const ACTION_SPECS: ActionSpec[] = [
  {
    id: 'snapshot.function',
    title: 'Snapshot a function',
    mutates: false,
    description:
      'Seals the function as it is now (configuration, code, versions, aliases, policies, URLs, layers, role) into a new evidence set; reuses a snapshot this run already took.',
    params: {
      function: { schema: name, required: true, description: 'function name, partial or full ARN' },
      qualifier: { schema: name, description: 'a version or alias to snapshot as well' },
    },
    outputs: {
      functionName: 'the function name',
      functionArn: 'the function ARN',
      region: 'the function region',
      account: 'the account id',
      roleArn: "the execution role's ARN",
      roleName: "the execution role's name",
      roleNames:
        "every execution role the case's snapshots recorded the function running with, $LATEST's first: $LATEST's in each snapshot (a role swapped since included), then each published version's (and so each alias's); their sessions are the function's credentials",
      accessKeyIds: 'long-term access key ids (AKIA…) found in the environment',
      secretNames: 'names of environment variables whose values look secret',
      layers: 'layer version ARNs the function uses',
      foreignLayers: 'layer version ARNs owned by another account',
      publicExposure: 'true when a URL or resource-policy statement exposes the function publicly',
      exposure: 'descriptions of the public exposure',
      evidenceSet: 'the evidence set folder (evidence/<stamp>)',
      manifestSha256: "SHA-256 of the set's manifest",
      findings: 'number of snapshot findings',
      findingTitles: 'titles of the snapshot findings',
    },
  },
  {
    id: 'snapshot.all-using-role',
    title: 'Snapshot every function using a role',
    mutates: false,
    description: 'Seals every function in the region that runs with the given execution role.',
    params: {
      role: { schema: name, required: true, description: 'role name or ARN' },
    },
    outputs: {
      functions: 'names of the functions found',
      functionArns: 'ARNs of the functions found',
      evidenceSet: 'the evidence set folder',
      manifestSha256: "SHA-256 of the set's manifest",
      findings: 'number of snapshot findings',
    },
  },
  {
    id: 'containment.contain',
    title: 'Contain a function',
    mutates: true,
    description:
      'Runs the containment steps in order (event-sources, throttle, url, permissions, sessions, recycle); each journals its prior state and can be undone with containment.restore.',
    params: {
      function: { schema: name, required: true, description: 'function name, partial or full ARN' },
      actions: {
        schema: containActions,
        description: `which containment steps to run (default: all of ${CONTAIN_ACTIONS.join(', ')})`,
      },
    },
    outputs: {
      applied: 'containment step ids that changed something',
      alreadyApplied: 'containment step ids that found the change already made',
      roleName: "the execution role's name",
    },
  },
  {
    id: 'containment.restore',
    title: 'Restore a contained function',
    mutates: true,
    description:
      'Undoes containment steps from their journaled prior state (never the session revocation unless named).',
    params: {
      function: {
        schema: name,
        description: 'function name (default: every function contained in the case)',
      },
      actions: {
        schema: z.array(z.enum([...CONTAIN_ACTIONS, 'rotate-key'])),
        description:
          'which changes to undo (default: event-sources, throttle, url, permissions, recycle; sessions and rotate-key only when named)',
      },
    },
    outputs: {
      restored: 'containment step ids that were undone',
      conflicts: 'containment step ids left alone because the current state changed since',
    },
  },
  {
    id: 'credentials.revoke-sessions',
    title: "Revoke a role's sessions",
    mutates: true,
    description:
      'Adds an inline deny policy to each role for every session issued before now (aws:TokenIssueTime, AWS clock).',
    params: {
      role: { schema: name, description: 'role name or ARN' },
      roles: {
        schema: names,
        description:
          "several roles (e.g. a snapshot's roleNames); an empty list does nothing, and one deleted since is skipped, named (a deleted role's sessions grant nothing)",
      },
    },
    oneOf: ['role', 'roles'],
    outputs: {
      policyName: 'the inline policy added',
      cutoff: 'sessions issued before this UTC time are denied (with several roles: on every one of them)',
      roles: 'the roles whose sessions are revoked (now or already)',
    },
  },
  {
    id: 'credentials.rotate-key',
    title: 'Rotate long-term access keys',
    mutates: true,
    description:
      'For each key: creates a new key for its user, deactivates the old one (deletes it with deleteOld); the new secret is written once to secrets/ (0600). With replace: false, no new key is made (a key nothing legitimate uses, such as one an intruder created).',
    params: {
      user: { schema: name, description: 'IAM user whose key to rotate' },
      accessKey: { schema: name, description: 'one access key id (AKIA…)' },
      accessKeys: { schema: names, description: 'several access key ids; an empty list does nothing' },
      deleteOld: { schema: z.boolean(), description: 'delete the old key instead of only deactivating it' },
      replace: {
        schema: z.boolean(),
        description: 'make a new key for the user (default true); false only deactivates the old one',
      },
    },
    oneOf: ['user', 'accessKey', 'accessKeys'],
    outputs: {
      rotated: 'old access key ids that were rotated (or, with replace: false, deactivated)',
      newAccessKeyIds: 'the new access key ids',
      secretFiles: 'case-relative paths of the 0600 files holding the new secrets',
    },
  },
  {
    id: 'credentials.rotate-secret',
    title: 'Rotate Secrets Manager secrets',
    mutates: true,
    description:
      'Starts rotation (RotateSecret) of each secret; needs rotation configured and cannot be undone.',
    params: {
      secret: { schema: name, description: 'one secret id or ARN' },
      secrets: { schema: names, description: 'several secret ids; an empty list does nothing' },
    },
    oneOf: ['secret', 'secrets'],
    outputs: {
      rotated: 'secret ids whose rotation started',
      versionIds: 'the new version ids',
    },
  },
  {
    id: 'timeline.collect',
    title: 'Collect the CloudTrail timeline',
    mutates: false,
    description:
      'Reads CloudTrail (LookupEvents, trail logs in S3 or files), keeps the events related to the function, runs the detections and writes timeline/.',
    params: {
      function: { schema: name, description: 'function the events relate to (default: keep every event)' },
      since: { schema: duration, description: 'start of the window (default 7d)' },
      until: { schema: duration, description: 'end of the window (default now)' },
      source: { schema: name, description: 'api, s3://bucket/prefix or a PATH' },
      sources: { schema: names, description: 'several sources' },
      regions: { schema: name, description: 'r1,r2 or all' },
    },
    outputs: {
      events: 'number of events kept',
      findings: 'number of detections',
      findingTitles: 'titles of the detections',
      secretsRead: "secret ids read (GetSecretValue) with the function role's credentials",
      accessKeysCreated: "access key ids created (CreateAccessKey) with the function role's credentials",
      accessKeysFromAttackerAddress:
        "long-term access key ids (AKIA…) of other identities used from an address where the function role's credentials were used outside Lambda",
    },
  },
  {
    id: 'report.render',
    title: 'Render the incident report',
    mutates: false,
    description: 'Builds the report from the case (evidence, journal, timeline) as Markdown and HTML.',
    params: {
      format: { schema: z.enum(['md', 'html', 'both']), description: 'md, html or both (default both)' },
    },
    outputs: {
      path: 'case-relative path of the main report (report.html when rendered, else report.md)',
      paths: 'case-relative paths of every report written',
      findings: 'number of findings the report lists',
      findingTitles: 'titles of the findings the report lists',
      findingKinds: 'rule ids (timeline) and kinds (snapshot) of those findings',
    },
  },
  {
    id: 'case.note',
    title: 'Add a note to the case',
    mutates: false,
    description: 'Journals a free-text entry (a decision, an inject, an answer) that the report shows.',
    params: {
      text: { schema: z.string(), required: true, description: 'the note', freeText: true },
      kind: {
        schema: z.enum(['note', 'decision', 'inject', 'answer']),
        description: 'note (default), decision, inject or answer',
      },
      question: {
        schema: z.string(),
        description: 'the question an answer replies to',
        freeText: true,
      },
    },
    outputs: {},
  },
]

export function specFor(id: string): ActionSpec | undefined {
  return ACTION_SPECS.find((s) => s.id === id)
}
