import { describe, expect, it } from 'vitest'
import { COMMAND_PERMISSIONS } from '../../../src/core/permissions.js'
import { ACTION_SPECS } from '../../../src/core/playbook/action-specs.js'
import { listPlaybooks, loadPlaybook } from '../../../src/core/playbook/load.js'
import {
  ACTION_PERMISSIONS,
  actionsPermissions,
  playbookPermissions,
} from '../../../src/core/playbook/render.js'

describe('playbook IAM permissions', () => {
  it('knows where every action gets its permissions, from rows that exist', () => {
    expect(Object.keys(ACTION_PERMISSIONS).sort()).toEqual(ACTION_SPECS.map((s) => s.id).sort())
    for (const [action, src] of Object.entries(ACTION_PERMISSIONS))
      for (const c of src.commands) expect(Object.keys(COMMAND_PERMISSIONS), `${action} → ${c}`).toContain(c)
  })

  it('the playbook run and resume rows are exactly what the actions need; list, show, validate and tabletop need none', () => {
    const all = actionsPermissions(Object.keys(ACTION_PERMISSIONS))
    expect(COMMAND_PERMISSIONS['playbook run']).toEqual(all)
    expect(COMMAND_PERMISSIONS['playbook resume']).toEqual(all)
    for (const c of ['playbook list', 'playbook show', 'playbook validate', 'tabletop list', 'tabletop run'])
      expect(COMMAND_PERMISSIONS[c]).toEqual([])
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
