import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { COMMAND_PERMISSIONS } from '../../src/core/permissions.js'
import { runFir } from '../support/cli.js'

describe('fir <command> --help', () => {
  it('names the IAM actions the command needs, as README does, or that it makes no AWS call', async () => {
    const contain = await runFir(['contain', '--help'])
    expect(contain.code).toBe(0)
    const text = contain.stdout.replace(/\s+/g, ' ')
    const section = text.slice(text.indexOf('PERMISSIONS'))
    expect(section).toMatch(/^PERMISSIONS required: sts:GetCallerIdentity, /)
    for (const action of COMMAND_PERMISSIONS.contain!) expect(section).toContain(action.replace(/\?$/, ''))
    expect(section).toMatch(
      /optional \(a gap without it, or only for a flag, source or engine\): .*logs:FilterLogEvents/,
    )

    const verify = await runFir(['case', 'verify', '--help'])
    expect(verify.stdout).toMatch(/PERMISSIONS\s+none: it makes no call to your AWS account/)
  })

  it('-h is --help, as in most command line tools', async () => {
    // Before: `fir -h` was "fir has no such command", `fir contain -h` "Nonexistent flag: -h".
    const root = await runFir(['-h'])
    expect(root.code, root.stderr).toBe(0)
    expect(root.stdout).toContain('COMMANDS')
    const contain = await runFir(['contain', '-h'])
    expect(contain.code, contain.stderr).toBe(0)
    expect(contain.stdout).toMatch(/^Contain a function/)
    expect(contain.stdout).toContain('PERMISSIONS')
  })
})

describe('fir --version', () => {
  it('prints the version as the one JSON document with --json', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'))
    // Before: oclif's text line, `fir/0.1.0 linux-x64 node-v20…`, whatever the flags.
    const r = await runFir(['--version', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json).toEqual({ status: 0, result: { version }, warnings: [], gaps: [] })
    expect((await runFir(['--json', '--version'])).json).toEqual(r.json)
    // Without --json, oclif's line as before.
    expect((await runFir(['--version'])).stdout).toMatch(/^fir\/\S+ \S+ node-v/)
  })
})
