import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  type CompiledRule,
  createDetector,
  loadBuiltinRules,
  loadRuleDir,
} from '../../../src/core/detect/index.js'
import { sharedData } from './helpers.js'

const stratus = path.join(sharedData, 'stratus-red-team')
const present = existsSync(path.join(stratus, 'derived_technique_event_map.json'))
if (!present)
  console.warn(
    `skipping the Stratus Red Team detonation tests: ${stratus} is absent (third-party data is not shipped)`,
  )

/**
 * The key event of each Lambda, IAM and CloudTrail-tampering technique, and the rule of fir's pack
 * that must flag it. The secret-retrieval techniques are here too (fir's burst extension).
 */
const EXPECTED: Record<string, Array<[eventName: string, ruleFile: string]>> = {
  'aws.persistence.lambda-backdoor-function': [
    ['AddPermission20150331v2', 'lambda_function_public_permission.yml'],
  ],
  'aws.persistence.lambda-layer-extension': [
    ['UpdateFunctionConfiguration20150331v2', 'lambda_function_layers_or_role_changed.yml'],
  ],
  'aws.persistence.lambda-overwrite-code': [
    ['UpdateFunctionCode20150331v2', 'lambda_function_code_updated.yml'],
  ],
  'aws.persistence.iam-backdoor-role': [['UpdateAssumeRolePolicy', 'iam_trust_policy_updated.yml']],
  'aws.persistence.iam-backdoor-user': [['CreateAccessKey', 'iam_access_key_created_for_other_user.yml']],
  'aws.persistence.iam-create-admin-user': [
    ['AttachUserPolicy', 'iam_admin_policy_granted.yml'],
    ['CreateAccessKey', 'iam_access_key_created_for_other_user.yml'],
  ],
  'aws.persistence.iam-create-backdoor-role': [['AttachRolePolicy', 'iam_admin_policy_granted.yml']],
  'aws.persistence.iam-create-user-login-profile': [['CreateLoginProfile', 'iam_login_profile_changed.yml']],
  'aws.privilege-escalation.iam-update-user-login-profile': [
    ['UpdateLoginProfile', 'iam_login_profile_changed.yml'],
  ],
  'aws.defense-evasion.cloudtrail-delete': [['DeleteTrail', 'cloudtrail_logging_stopped_or_deleted.yml']],
  'aws.defense-evasion.cloudtrail-stop': [['StopLogging', 'cloudtrail_logging_stopped_or_deleted.yml']],
  'aws.defense-evasion.cloudtrail-event-selectors': [
    ['PutEventSelectors', 'cloudtrail_event_selectors_reduced.yml'],
  ],
  'aws.credential-access.secretsmanager-retrieve-secrets': [
    ['GetSecretValue', 'secretsmanager_secret_read_burst.yml'],
  ],
  'aws.credential-access.secretsmanager-batch-retrieve-secrets': [
    ['BatchGetSecretValue', 'secretsmanager_batch_read_by_filter.yml'],
  ],
}
const IN_SCOPE = /\.(lambda-|iam-|cloudtrail-|secretsmanager-)/

interface Technique {
  title: string
  cloudtrail_events: string[]
  detonation_log?: string
}

type CloudTrailRecord = { eventName: string; eventTime: string; [k: string]: unknown }

function detonation(id: string): CloudTrailRecord[] | undefined {
  const file = path.join(stratus, 'detonation-logs', `${id}.json`)
  if (!existsSync(file)) return undefined
  const records = JSON.parse(readFileSync(file, 'utf8')) as CloudTrailRecord[]
  // The logs are not in time order; the timeline sorts before it detects, and so do we.
  return [...records].sort((a, b) => a.eventTime.localeCompare(b.eventTime))
}

/** Every (eventName, rule file) pair the pack reports on a technique's records. */
function flagged(rules: CompiledRule[], records: CloudTrailRecord[]): Array<[string, string]> {
  const detector = createDetector(rules)
  const byId = new Map(rules.map((r) => [r.id, path.basename(r.file)]))
  const out: Array<[string, string]> = []
  for (const r of records) for (const f of detector.evaluate(r)) out.push([r.eventName, byId.get(f.rule)!])
  return out
}

describe.skipIf(!present)('Stratus Red Team detonations (../shared/data/stratus-red-team)', async () => {
  const index = present
    ? (JSON.parse(readFileSync(path.join(stratus, 'derived_technique_event_map.json'), 'utf8')) as Record<
        string,
        Technique
      >)
    : {}
  const rules = await loadBuiltinRules()
  const inScope = Object.keys(index).filter((id) => IN_SCOPE.test(id) && detonation(id))

  it('every in-scope technique with a detonation log has an expectation here', () => {
    expect(inScope.sort()).toEqual(Object.keys(EXPECTED).sort())
  })

  it.each(Object.entries(EXPECTED))('%s: the key event is flagged by the right rule', (id, expected) => {
    const records = detonation(id)!
    const names = new Set(index[id]!.cloudtrail_events.map((e) => e.split(':')[1]))
    const hits = flagged(rules, records)
    for (const [eventName, ruleFile] of expected) {
      // the key event is one the technique's documentation lists
      expect(names.has(eventName)).toBe(true)
      expect(hits).toContainEqual([eventName, ruleFile])
    }
  })

  it('stays quiet on the other techniques (EC2, SSM, S3, Bedrock, sign-in…)', () => {
    const noisy: string[] = []
    for (const id of Object.keys(index)) {
      if (IN_SCOPE.test(id)) continue
      const records = detonation(id)
      if (!records) continue
      for (const [eventName, rule] of flagged(rules, records)) noisy.push(`${id}: ${eventName} → ${rule}`)
    }
    expect(noisy).toEqual([])
  })

  it('evaluates SigmaHQ rules on the same real records', async () => {
    const sigmaDir = path.join(sharedData, 'sigma', 'rules')
    if (!existsSync(sigmaDir)) return
    const { rules: sigmaRules } = await loadRuleDir(sigmaDir)
    const expectHit = (id: string, ruleFile: string) => {
      const files = flagged(sigmaRules, detonation(id)!).map(([, f]) => f)
      expect(files, `${ruleFile} on ${id}`).toContain(ruleFile)
    }
    expectHit('aws.persistence.iam-backdoor-user', 'aws_iam_backdoor_users_keys.yml')
    expectHit('aws.persistence.lambda-layer-extension', 'aws_new_lambda_layer_attached.yml')
    expectHit('aws.defense-evasion.vpc-remove-flow-logs', 'aws_cloudtrail_vpc_flow_logs_deleted.yml')
    expectHit(
      'aws.initial-access.console-login-without-mfa',
      'aws_cloudtrail_console_login_success_without_mfa.yml',
    )
  })
})
