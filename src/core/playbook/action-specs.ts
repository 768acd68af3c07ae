import { z } from 'zod'
import { UsageError } from '../../errors.js'
import { parseFunctionRef as parseContainedFunction } from '../containment/function-target.js'
import { checkRoleChoice, parseFunctionRef as parseSnapshotFunction } from '../snapshot/targets.js'
import { parseFunctionRef as parseTimelineFunction } from '../timeline/target.js'
import { classifySources, parseRegions, type SpellValue, timelineValueProblems } from '../timeline/values.js'
import { parseTimeBound } from '../timeline/window.js'

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
  /**
   * What the action's own command refuses before its first AWS call that no schema can say: a
   * file that must exist, a time that must be past, values that must agree (a window's order).
   * Given the values that passed their schemas; each refusal names its parameter. A playbook runs
   * it before its first step on the values its inputs give (checkValuesFromInputs).
   */
  preflight?: (params: Record<string, unknown>, now: number) => Promise<{ param: string; message: string }[]>
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

/**
 * A value the action's own command reads with `read` before its first AWS call (a function
 * reference, a time, a source): refused here with that command's own message, so a playbook step
 * and the command can never disagree about it.
 */
function readBy(read: (value: string) => unknown) {
  return name.superRefine((value, ctx) => {
    if (value === '') return
    try {
      read(value)
    } catch (err) {
      if (!(err instanceof UsageError)) throw err
      ctx.addIssue({ code: 'custom', message: err.message })
    }
  })
}

/** A step's values are named as its `with` names them: `since`, not `--since`. */
const asParam: SpellValue = (param) => param
const timeBound = (param: 'since' | 'until') => readBy((v) => parseTimeBound(v, asParam(param), Date.now()))
const source = readBy((v) => classifySources([v]))

export const ACTION_SPECS: ActionSpec[] = [
  {
    id: 'snapshot.function',
    title: 'Snapshot a function',
    mutates: false,
    description:
      'Seals the function as it is now (configuration, code, versions, aliases, policies, URLs, layers, role) into a new evidence set; reuses a snapshot this run already took.',
    params: {
      function: {
        schema: readBy(parseSnapshotFunction),
        required: true,
        description: 'function name, partial or full ARN',
      },
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
      role: { schema: readBy(checkRoleChoice), required: true, description: 'role name or ARN' },
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
      function: {
        schema: readBy(parseContainedFunction),
        required: true,
        description: 'function name, partial or full ARN',
      },
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
        schema: readBy(parseContainedFunction),
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
      function: {
        schema: readBy(parseTimelineFunction),
        description: 'function the events relate to (default: keep every event)',
      },
      since: {
        schema: timeBound('since'),
        description: 'start of the window: an age (7d, 12h, 30m) or an ISO time (UTC); default 7d',
      },
      until: {
        schema: timeBound('until'),
        description: 'end of the window: an age or an ISO time (UTC); default now',
      },
      source: { schema: source, description: 'api, s3://bucket/prefix or a PATH' },
      sources: { schema: z.array(source), description: 'several sources' },
      regions: {
        schema: readBy((v) => parseRegions(v, [], asParam)),
        description: 'r1,r2 or all',
      },
    },
    // What `fir timeline` refuses before its first AWS call beyond the syntax: a missing file or
    // folder, a window in the future or in the wrong order (the same function checks both).
    preflight: async (params, now) => {
      const text = (v: unknown) => (typeof v === 'string' ? v : undefined)
      const listed = Array.isArray(params.sources) ? params.sources.filter((s) => typeof s === 'string') : []
      const one = text(params.source)
      const problems = await timelineValueProblems(
        {
          since: text(params.since),
          until: text(params.until),
          sources: [...(one !== undefined ? [one] : []), ...listed],
        },
        now,
        asParam,
      )
      return problems.map((p) => ({
        param: p.value === 'source' && p.source !== one ? 'sources' : p.value,
        message: p.message,
      }))
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
