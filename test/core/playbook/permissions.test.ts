import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { COMMAND_PERMISSIONS, mergeActions } from '../../../src/core/permissions.js'
import { ACTION_SPECS } from '../../../src/core/playbook/action-specs.js'
import { listPlaybooks, loadPlaybook } from '../../../src/core/playbook/load.js'
import {
  ACTION_PERMISSIONS,
  actionsPermissions,
  playbookPermissions,
} from '../../../src/core/playbook/render.js'
import { REPO_ROOT } from '../../support/cli.js'

describe('playbook IAM permissions', () => {
  it('knows where every action gets its permissions, from rows that exist', () => {
    expect(Object.keys(ACTION_PERMISSIONS).sort()).toEqual(ACTION_SPECS.map((s) => s.id).sort())
    for (const [action, src] of Object.entries(ACTION_PERMISSIONS))
      for (const c of src.commands) expect(Object.keys(COMMAND_PERMISSIONS), `${action} → ${c}`).toContain(c)
  })

  it('the playbook run and resume rows are exactly what the shipped playbooks need; list, show, validate and tabletop need none', async () => {
    const each = await Promise.all(
      (await listPlaybooks()).map(async (p) => playbookPermissions((await loadPlaybook(p.file)).playbook)),
    )
    const shipped = mergeActions(...each).sort()
    expect(COMMAND_PERMISSIONS['playbook run']).toEqual(shipped)
    expect(COMMAND_PERMISSIONS['playbook resume']).toEqual(shipped)
    // No shipped playbook restores or snapshots by role: those are a playbook of one's own's, and
    // `fir playbook show <file>` names them.
    for (const a of ['lambda:AddPermission', 'lambda:DeleteFunctionConcurrency', 'lambda:ListFunctions'])
      expect(shipped.map((x) => x.replace(/\?$/, ''))).not.toContain(a)
    expect(actionsPermissions(['containment.restore'])).toEqual(
      expect.arrayContaining(['lambda:AddPermission', 'lambda:DeleteFunctionConcurrency']),
    )
    expect(actionsPermissions(['snapshot.all-using-role'])).toContain('lambda:ListFunctions')
    for (const c of ['playbook list', 'playbook show', 'playbook validate', 'tabletop list', 'tabletop run'])
      expect(COMMAND_PERMISSIONS[c]).toEqual([])
  })

  it("a playbook's snapshot and timeline need no --evidence-bucket, --all-using-role or Athena action", () => {
    for (const action of ['snapshot.function', 'containment.contain', 'timeline.collect'])
      for (const a of actionsPermissions([action]))
        expect(a, action).not.toMatch(/^(s3:Put|s3:GetBucket|athena:|glue:|lambda:ListFunctions)/)
  })

  it("docs/readme/playbooks.md lists lambda-compromise's required and optional actions as the code computes them", async () => {
    const text = await readFile(join(REPO_ROOT, 'docs', 'readme', 'playbooks.md'), 'utf8')
    const section = text.slice(
      text.indexOf('#### `lambda-compromise`'),
      text.indexOf('#### `leaked-access-key'),
    )
    // IAM actions, not condition keys (`aws:PrincipalOrgID`)
    const names = (part: string) =>
      [...part.matchAll(/`((?!aws:)[a-z0-9-]+:[A-Za-z0-9]+)`/g)].map((m) => m[1]!).sort()
    const required = section.slice(section.indexOf('**IAM, required:**'), section.indexOf('**Optional:**'))
    const optional = section.slice(section.indexOf('**Optional:**'))
    const perms = playbookPermissions((await loadPlaybook('lambda-compromise')).playbook)
    expect(names(required)).toEqual(perms.filter((a) => !a.endsWith('?')).sort())
    expect(names(optional)).toEqual(
      perms
        .filter((a) => a.endsWith('?'))
        .map((a) => a.slice(0, -1))
        .sort(),
    )
  })

  it('each shipped playbook needs what its steps need, and a change permission only when it changes things', async () => {
    for (const p of await listPlaybooks()) {
      const loaded = await loadPlaybook(p.file)
      const perms = playbookPermissions(loaded.playbook)
      expect(perms).toContain('lambda:GetFunction')
      if (loaded.playbook.steps.some((s) => s.action === 'containment.contain'))
        expect(perms).toContain('lambda:PutFunctionConcurrency')
      if (!loaded.playbook.steps.some((s) => s.action === 'credentials.rotate-secret'))
        expect(perms).not.toContain('secretsmanager:RotateSecret')
    }
  })
})
