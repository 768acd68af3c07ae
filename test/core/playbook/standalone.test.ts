import { describe, expect, it } from 'vitest'
import type { AwsClients } from '../../../src/aws/clients.js'
import { firCommand } from '../../../src/core/common/suggest.js'
import { COMMAND_PERMISSIONS } from '../../../src/core/permissions.js'
import { ACTION_SPECS } from '../../../src/core/playbook/action-specs.js'
import { standaloneCommands } from '../../../src/core/playbook/standalone.js'

describe("the fir commands that do a playbook step's work on their own", () => {
  const aws = { region: 'eu-west-1', given: { region: 'eu-west-1', profile: 'ir' } } as unknown as AwsClients
  const paste = (action: string, values: Record<string, unknown>) =>
    standaloneCommands(action, values).map((w) => firCommand(w, aws, { caseDir: 'cases/INC-1' }))

  it('name what the step acted on, one command per secret, role or key, with the AWS flags and the case', () => {
    // Before: "fir creds rotate-secret", no secret, no flag.
    expect(paste('credentials.rotate-secret', { secrets: ['prod/db', "o'brien key"] })).toEqual([
      'fir creds rotate-secret prod/db --region eu-west-1 --profile ir --case cases/INC-1',
      "fir creds rotate-secret 'o'\\''brien key' --region eu-west-1 --profile ir --case cases/INC-1",
    ])
    expect(paste('credentials.revoke-sessions', { role: 'a', roles: ['a', 'b'] })).toEqual([
      'fir creds revoke-sessions --role a --region eu-west-1 --profile ir --case cases/INC-1',
      'fir creds revoke-sessions --role b --region eu-west-1 --profile ir --case cases/INC-1',
    ])
    // A key named without its user: the user is the responder's to fill in (shown bare).
    expect(paste('credentials.rotate-key', { accessKeys: ['AKIAEXAMPLE'], replace: false })).toEqual([
      'fir creds rotate-key --user <user> --access-key AKIAEXAMPLE --no-replace --region eu-west-1 --profile ir --case cases/INC-1',
    ])
    expect(paste('containment.contain', { function: 'orders-api', actions: ['throttle', 'url'] })).toEqual([
      'fir contain orders-api --actions throttle,url --region eu-west-1 --profile ir --case cases/INC-1',
    ])
    expect(standaloneCommands('case.note', { text: 'x' })).toEqual([])
    expect(standaloneCommands('credentials.rotate-secret', { secrets: [] })).toEqual([])
  })

  it('has a command for every action but case.note, and each is one fir has', () => {
    const values = { function: 'f', role: 'r', user: 'u', secret: 's', format: 'md' }
    for (const { id } of ACTION_SPECS) {
      const commands = standaloneCommands(id, values)
      if (id === 'case.note') {
        expect(commands).toEqual([])
        continue
      }
      expect(commands.length, id).toBeGreaterThan(0)
      for (const words of commands) {
        const name = words.filter((w): w is string => typeof w === 'string' && !w.startsWith('-'))
        const command = [name.slice(0, 2).join(' '), name[0]!].find((c) => c in COMMAND_PERMISSIONS)
        expect(command, `${id}: ${words.join(' ')}`).toBeDefined()
      }
    }
  })
})
