import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import type { AwsClients } from '../../../src/aws/clients.js'
import { arg, awsCliCommand, commandLine, firCommand, flag } from '../../../src/core/common/suggest.js'

// The words a shell gives the program for a command line (what `fir` or `aws` receives).
const argv = (line: string) =>
  execFileSync('bash', ['-c', `printf '%s\\0' ${line.replace(/^\S+ /, '')}`])
    .toString()
    .split('\0')
    .slice(0, -1)

describe('the commands fir suggests', () => {
  const aws = { region: 'eu-west-1', given: { region: 'eu-west-1', profile: 'ir' } } as unknown as AwsClients

  it('print a positional argument that starts with "-" after `--`, every flag before it', () => {
    // Before: `fir creds rotate-secret -h --case …` (help) and `… --endpoint-url=http://evil.example/ …` (a flag).
    for (const id of ['-h', '--endpoint-url=http://evil.example/', '--json', '-', "-x'y"]) {
      const line = firCommand(['creds', 'rotate-secret', arg(id)], aws, { caseDir: 'cases/INC-1' })
      expect(argv(line), line).toEqual([
        'creds',
        'rotate-secret',
        '--region',
        'eu-west-1',
        '--profile',
        'ir',
        '--case',
        'cases/INC-1',
        '--',
        id,
      ])
    }
    // Otherwise where it stands, as before.
    expect(firCommand(['restore', arg('orders-api'), '--actions', 'throttle'], aws)).toBe(
      'fir restore orders-api --actions throttle --region eu-west-1 --profile ir',
    )
    // Every positional argument goes after `--`, in order, when one must.
    expect(commandLine('fir', ['snapshot', arg('a'), arg('-b'), flag('--case', 'c')])).toBe(
      'fir snapshot --case c -- a -b',
    )
  })

  it('join a flag value that starts with "-" to its flag, for fir and the AWS CLI alike', () => {
    expect(firCommand(['creds', 'revoke-sessions', flag('--role', '-h')], aws, { caseDir: '-odd dir' })).toBe(
      "fir creds revoke-sessions --role=-h --region eu-west-1 --profile ir '--case=-odd dir'",
    )
    const cli = awsCliCommand(
      ['secretsmanager', 'rotate-secret', flag('--secret-id', '--endpoint-url=http://x/')],
      aws,
    )
    expect(cli).toBe(
      'aws secretsmanager rotate-secret --secret-id=--endpoint-url=http://x/ --region eu-west-1 --profile ir',
    )
    expect(argv(cli)).toContain('--secret-id=--endpoint-url=http://x/')
    // A value that does not start with '-', and a placeholder, as before.
    expect(
      commandLine('fir', [
        'creds',
        'rotate-key',
        flag('--user', { placeholder: 'user' }),
        flag('--access-key', 'AKIA1'),
      ]),
    ).toBe('fir creds rotate-key --user <user> --access-key AKIA1')
  })
})
