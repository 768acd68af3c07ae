import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { actionMatches, appearsAllowed, COMMAND_PERMISSIONS } from '../../src/core/permissions.js'
import { permissionsMarkdown } from '../../src/core/permissions-doc.js'
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
