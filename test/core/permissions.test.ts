import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RESTORE_ACTIONS, stepIdsFor } from '../../src/core/containment/actions.js'
import { revokeSessionsCredStep } from '../../src/core/credentials/revoke-sessions.js'
import { rotateKeyStep } from '../../src/core/credentials/rotate-key.js'
import { rotateSecretStep } from '../../src/core/credentials/rotate-secret.js'
import { actionMatches, appearsAllowed, COMMAND_PERMISSIONS } from '../../src/core/permissions.js'
import { permissionsMarkdown } from '../../src/core/permissions-doc.js'
import { CONTAINMENT_STEPS, STEPS, stepById } from '../../src/core/steps/registry.js'
import { REPO_ROOT } from '../support/cli.js'

describe('IAM permissions table', () => {
  it('README lists exactly the permissions the code checks (run `npm run docs:permissions` to update)', async () => {
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8')
    expect(readme).toContain(permissionsMarkdown())
  })

  it('has a row for every command fir ships', async () => {
    const { readdir } = await import('node:fs/promises')
    const walk = async (dir: string, prefix: string[]): Promise<string[]> => {
      const out: string[] = []
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) out.push(...(await walk(join(dir, e.name), [...prefix, e.name])))
        else if (e.name.endsWith('.ts') && e.name !== 'index.ts')
          out.push([...prefix, e.name.replace(/\.ts$/, '')].join(' '))
      }
      return out
    }
    const commands = await walk(join(REPO_ROOT, 'src', 'commands'), [])
    for (const c of commands) expect(Object.keys(COMMAND_PERMISSIONS), `missing row for "${c}"`).toContain(c)
  })

  // Each row against the calls its code makes (src/aws adapters, and what AWS checks on fir's behalf).
  it('names what snapshot --evidence-bucket, the Athena engine, contain, sweep --snapshot and doctor call', () => {
    const row = (c: string) => COMMAND_PERMISSIONS[c]!
    // PutObject with ObjectLockMode / ObjectLockRetainUntilDate needs s3:PutObjectRetention too.
    expect(row('snapshot')).toEqual(
      expect.arrayContaining([
        's3:GetBucketObjectLockConfiguration?',
        's3:PutObject?',
        's3:PutObjectRetention?',
      ]),
    )
    // Athena reads the Glue catalog and finds the output bucket's region with the caller's permissions.
    expect(row('timeline')).toEqual(
      expect.arrayContaining([
        'glue:GetDatabase?',
        'glue:GetTable?',
        'glue:GetPartitions?',
        's3:GetBucketLocation?',
      ]),
    )
    // contain snapshots first when the case has none: the function's reads, required as for snapshot
    // (not --evidence-bucket, not --all-using-role: contain uses neither).
    const snapshotReads = row('snapshot').filter((a) => !/^s3:|^lambda:ListFunctions\?$/.test(a))
    expect(row('contain')).toEqual(expect.arrayContaining(snapshotReads))
    expect(row('contain').filter((a) => a.startsWith('s3:') || a.startsWith('lambda:ListFunctions'))).toEqual(
      [],
    )
    // sweep --snapshot seals matches with the same reads, in each account; a failed one is a gap.
    for (const a of snapshotReads)
      expect(row('sweep'), a).toContain(a === 'sts:GetCallerIdentity' ? a : a.replace(/\?$/, '') + '?')
    // doctor falls back to reading the caller's own policies (src/aws/iam.ts identityPolicyDocuments):
    // a role's or a user's and its groups'; it never calls iam:GetUser.
    expect(row('doctor')).toEqual([
      'sts:GetCallerIdentity',
      'iam:SimulatePrincipalPolicy?',
      'iam:GetRole?',
      'iam:ListRolePolicies?',
      'iam:GetRolePolicy?',
      'iam:ListAttachedRolePolicies?',
      'iam:ListUserPolicies?',
      'iam:GetUserPolicy?',
      'iam:ListAttachedUserPolicies?',
      'iam:ListGroupsForUser?',
      'iam:ListGroupPolicies?',
      'iam:GetGroupPolicy?',
      'iam:ListAttachedGroupPolicies?',
      'iam:GetPolicy?',
      'iam:GetPolicyVersion?',
    ])
  })

  // Before: contain, restore and playbook run lacked lambda:GetEventSourceMapping (event-sources
  // reads a mapping being created or updated until it settles), and restore iam:PutRolePolicy
  // (undoing sessions puts back the document a policy of that name held before fir's).
  it("holds every action each step declares: contain and the creds rows its plan and apply's, restore its undo's", () => {
    const names = (command: string) => COMMAND_PERMISSIONS[command]!.map((a) => a.replace(/\?$/, ''))
    const missing: Record<string, string[]> = {}
    const check = (command: string, step: string, actions: readonly string[]) => {
      const lacking = actions.filter((a) => !names(command).includes(a))
      if (lacking.length) missing[`${command} (${step})`] = lacking
    }
    for (const step of CONTAINMENT_STEPS) check('contain', step.id, step.iamActions)
    check('creds revoke-sessions', revokeSessionsCredStep.id, revokeSessionsCredStep.iamActions)
    check('creds rotate-key', rotateKeyStep.id, rotateKeyStep.iamActions)
    check('creds rotate-secret', rotateSecretStep.id, rotateSecretStep.iamActions)
    // Every step restore can undo, by any of its --actions names.
    const undone = [...new Set(RESTORE_ACTIONS.flatMap((a) => stepIdsFor(a)))].map((id) => stepById(id)!)
    expect(undone.map((s) => s.id).sort()).toEqual(
      STEPS.filter((s) => s.undoPolicy !== 'never')
        .map((s) => s.id)
        .sort(),
    )
    for (const step of undone) check('restore', step.id, step.undoIamActions)
    expect(missing).toEqual({})
    for (const step of STEPS.filter((s) => s.undoPolicy === 'never')) expect(step.undoIamActions).toEqual([])
  })

  it('matches IAM action wildcards case-insensitively and lets an explicit deny win', () => {
    expect(actionMatches('lambda:Get*', 'lambda:GetFunction')).toBe(true)
    expect(actionMatches('LAMBDA:getfunction', 'lambda:GetFunction')).toBe(true)
    expect(actionMatches('lambda:Get?', 'lambda:GetFunction')).toBe(false)
    const statements = [
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', Action: 'iam:*', Resource: '*' },
    ]
    expect(appearsAllowed(statements, 'lambda:GetFunction')).toBe('allowed')
    expect(appearsAllowed(statements, 'iam:GetRole')).toBe('denied')
    expect(appearsAllowed([{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }], 'iam:GetRole')).toBe(
      'not-granted',
    )
  })
})
