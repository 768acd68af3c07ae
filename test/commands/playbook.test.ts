import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AwsClients } from '../../src/aws/clients.js'
import { loadScenario } from '../../src/core/tabletop/scenario.js'
import { seedScenario } from '../../src/core/tabletop/seed.js'
import { initCase, REPO_ROOT, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { resetMoto } from '../support/moto.js'

const moto = useMoto()
const SHIPPED = [
  'lambda-compromise',
  'leaked-access-key-in-function',
  'public-function-exposure',
  'malicious-layer',
]

/** An "AWS endpoint" that records every request it gets: it must get none. */
let recorder: Server
const recorded: string[] = []
let recorderUrl = ''
beforeAll(async () => {
  recorder = createServer((req, res) => {
    recorded.push(`${req.method} ${req.url}`)
    res.writeHead(500).end()
  })
  await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r))
  recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => recorder.close(() => r())))

const MISSPELT = `name: typo
description: the action on line 10 is misspelt
inputs:
  function: { required: true }
steps:
  - id: seal
    action: snapshot.function
    with: { function: "{{ inputs.function }}" }
  - id: hold
    actoin: containment.contain
`.replace(
  '  - id: hold\n    actoin: containment.contain\n',
  '  - id: hold\n    action: containment.contian\n    with: { function: "{{ inputs.function }}" }\n',
)

async function newCase(cwd: string, id = 'C1'): Promise<string> {
  return initCase(id, { cwd })
}

describe('fir playbook (built CLI)', () => {
  it('lists, shows and validates every shipped playbook', async () => {
    const list = await runFir(['playbook', 'list', '--json'])
    expect(list.code).toBe(0)
    expect(
      list.json.result.playbooks.map((p: { name: string; valid: boolean }) => `${p.name}:${p.valid}`).sort(),
    ).toEqual(SHIPPED.map((n) => `${n}:true`).sort())
    for (const name of SHIPPED) {
      const v = await runFir(['playbook', 'validate', join(REPO_ROOT, 'playbooks', `${name}.yaml`)])
      expect(v.code, v.stderr).toBe(0)
      expect(v.stdout).toContain(`playbook ${name} is valid`)
    }
    const show = await runFir(['playbook', 'show', 'lambda-compromise'])
    expect(show.code).toBe(0)
    expect(show.stdout).toMatch(/1\. seal: snapshot\.function/)
    expect(show.stdout).toMatch(/2\. hold: containment\.contain {2}\[confirm\]/)
    expect(show.stdout).toContain('IAM permissions')
    expect(show.stdout).toContain('lambda:PutFunctionConcurrency')
  })

  it('a --json document longer than a pipe holds reaches the reader whole (every problem of a long playbook)', async () => {
    // Before, fir exited right after writing: what the pipe had no room for yet (past 64 KiB) was
    // lost, and the one JSON document stopped mid-string.
    const cwd = await tempDir()
    const file = join(cwd, 'long.yaml')
    const steps = Array.from(
      { length: 1500 },
      (_, i) => `  - id: s${i}\n    action: case.notee\n    with: { text: "n" }\n`,
    )
    await writeFile(file, `name: long\ndescription: d\nsteps:\n${steps.join('')}`)
    const v = await runFir(['playbook', 'validate', file, '--json'])
    expect(v.code).toBe(2)
    expect(v.stdout.length).toBeGreaterThan(256 * 1024)
    expect(v.json?.status).toBe(2)
    expect(v.json.result.problems).toHaveLength(1500)
  })

  it('a misspelt action on line 10 fails validation with that line and column (exit 2), before any AWS call', async () => {
    const cwd = await tempDir()
    const file = join(cwd, 'typo.yaml')
    await writeFile(file, MISSPELT)
    expect(MISSPELT.split('\n')[9]).toBe('    action: containment.contian')
    const v = await runFir(['playbook', 'validate', file])
    expect(v.code).toBe(2)
    expect(v.stderr).toContain(
      `${file}:10:13: unknown action "containment.contian" (did you mean "containment.contain"?)`,
    )
    const dir = await newCase(cwd)
    const journalBefore = await readFile(join(dir, 'journal.jsonl'), 'utf8')
    const r = await runFir(
      ['playbook', 'run', file, '--case', dir, '--input', 'function=x', '--yes', '--json'],
      {
        cwd,
        endpoint: recorderUrl,
      },
    )
    expect(r.code).toBe(2)
    expect(r.json.status).toBe(2)
    expect(r.json.error.code).toBe('playbook-invalid')
    expect(r.json.result.problems).toEqual([expect.objectContaining({ file, line: 10, col: 13 })])
    expect(recorded).toEqual([])
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe(journalBefore)
  })

  it('--dry-run prints the whole plan, changes nothing, journals nothing, calls nothing', async () => {
    const cwd = await tempDir()
    const dir = await newCase(cwd)
    const journalBefore = await readFile(join(dir, 'journal.jsonl'), 'utf8')
    const r = await runFir(
      [
        'playbook',
        'run',
        'lambda-compromise',
        '--case',
        dir,
        '--input',
        'function=payments',
        '--input',
        'since=3d',
        '--dry-run',
      ],
      { cwd, endpoint: recorderUrl },
    )
    expect(r.code, r.stderr).toBe(0)
    for (const s of [
      'seal',
      'hold',
      'revoke',
      'recycle',
      'rotate-keys',
      'timeline',
      'rotate-secrets',
      'created-keys',
      'attacker-keys',
      'report',
    ])
      expect(r.stdout).toMatch(new RegExp(`^\\d+\\. ${s}: `, 'm'))
    expect(r.stdout).toContain('function: payments')
    expect(r.stdout).toContain('since: 3d')
    expect(r.stdout).toContain('roles: ‹steps.seal.outputs.roleNames›')
    expect(r.stdout).toMatch(/hold: containment\.contain .*changes AWS, asks for confirmation/)
    expect(recorded).toEqual([])
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe(journalBefore)
    const j = await runFir(
      [
        'playbook',
        'run',
        'lambda-compromise',
        '--case',
        dir,
        '--input',
        'function=payments',
        '--dry-run',
        '--json',
      ],
      {
        cwd,
        endpoint: recorderUrl,
      },
    )
    expect(j.json.result.plan[2]).toMatchObject({
      id: 'revoke',
      with: { roles: '‹steps.seal.outputs.roleNames›' },
      condition: { value: 'unresolved' },
    })
    const bad = await runFir(
      ['playbook', 'run', 'lambda-compromise', '--case', dir, '--input', 'fuction=x', '--dry-run'],
      { cwd },
    )
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('unknown input "fuction"')
    // A value from the inputs that its step would refuse: exit 2 with the playbook's line and
    // column, as a run says before its first AWS call (it had printed the plan, exit 0).
    const file = join(REPO_ROOT, 'playbooks', 'lambda-compromise.yaml')
    const since = await runFir(
      [
        'playbook',
        'run',
        'lambda-compromise',
        '--case',
        dir,
        '--input',
        'function=payments',
        '--input',
        'since=7days',
        '--dry-run',
        '--json',
      ],
      { cwd, endpoint: recorderUrl },
    )
    expect(since.code, since.stderr).toBe(2)
    expect(since.json.error.code).toBe('playbook-invalid')
    expect(since.json.result.problems).toEqual([
      expect.objectContaining({
        file,
        line: 56,
        col: 14,
        message: expect.stringContaining('since = "7days"'),
      }),
    ])
    expect(since.json.error.actions[0]).toContain('give --input since=… again')
    expect(recorded).toEqual([])
  })

  it('a source, since or until from the inputs that `fir timeline` refuses is refused before the first AWS call, in the plan and the run', async () => {
    // Before, these passed --dry-run (exit 0), and a run sealed, contained, revoked, recycled and
    // rotated before the timeline step refused them (exit 2, saying to pass --source).
    const cwd = await tempDir()
    const dir = await newCase(cwd)
    const journalBefore = await readFile(join(dir, 'journal.jsonl'), 'utf8')
    const file = join(REPO_ROOT, 'playbooks', 'lambda-compromise.yaml')
    const run = (inputs: string[], extra: string[]) =>
      runFir(
        [
          'playbook',
          'run',
          'lambda-compromise',
          '--case',
          dir,
          '--input',
          'function=payments',
          ...inputs.flatMap((i) => ['--input', i]),
          ...extra,
          '--json',
        ],
        { cwd, endpoint: recorderUrl },
      )
    const missing = join(cwd, 'trial')
    const cases: [string[], { line: number; col: number; message: string }[]][] = [
      [
        [`source=${missing}`, 'since=2099-01-01'],
        [
          {
            line: 56,
            col: 14,
            message:
              'step timeline: parameter since = "2099-01-01" from the inputs: unable to use the window: since 2099-01-01T00:00:00.000Z is in the future',
          },
          {
            line: 57,
            col: 15,
            message: `step timeline: parameter source = ${JSON.stringify(missing)} from the inputs: unable to read source ${JSON.stringify(missing)}: no such file or folder`,
          },
        ],
      ],
      [
        ['source=s3://'],
        [
          {
            line: 57,
            col: 15,
            message:
              'step timeline: parameter source = "s3://" from the inputs: unable to use source "s3://": it is not an s3://bucket/prefix URI',
          },
        ],
      ],
      [
        ['since=2026-13-45'],
        [
          {
            line: 56,
            col: 14,
            message:
              'step timeline: parameter since = "2026-13-45" from the inputs: unable to read since "2026-13-45": it is neither an age nor an ISO time',
          },
        ],
      ],
      // An age in seconds: the spec's own pattern took it, `fir timeline` does not.
      [
        ['since=30s'],
        [
          {
            line: 56,
            col: 14,
            message:
              'step timeline: parameter since = "30s" from the inputs: unable to read since "30s": it is neither an age nor an ISO time',
          },
        ],
      ],
    ]
    for (const [inputs, problems] of cases) {
      for (const extra of [['--dry-run'], ['--yes']]) {
        const r = await run(inputs, extra)
        expect(r.code, `${inputs.join(' ')} ${extra}: ${r.stderr}`).toBe(2)
        expect(r.json.error.code).toBe('playbook-invalid')
        expect(r.json.result.problems).toEqual(
          problems.map((p) => ({
            file,
            line: p.line,
            col: p.col,
            message: expect.stringContaining(p.message),
          })),
        )
        // What to do is said in a playbook's terms: it takes --input, not --source.
        expect(r.json.error.actions[0]).toMatch(/^give --input (source|since)=…/)
        expect(JSON.stringify(r.json.error)).not.toContain('--source')
        expect(JSON.stringify(r.json.error)).not.toContain('--since')
      }
    }
    expect(recorded).toEqual([])
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe(journalBefore)
  })

  it('stops before the first change without --yes on a non-terminal (exit 5); resume --yes finishes without repeating a step', async () => {
    await resetMoto(moto.endpoint())
    const aws = await AwsClients.create({
      endpoint: moto.endpoint(),
      region: 'us-east-1',
      emulatorOnly: true,
    })
    const seed = await seedScenario(aws, (await loadScenario('public-url-backdoor')).scenario, {
      now: new Date(),
    })
    const cwd = await tempDir()
    const dir = await newCase(cwd)
    const args = [
      '--case',
      dir,
      '--input',
      'function=orders-admin-export',
      '--input',
      `source=${seed.trailSource}`,
    ]
    const awsFlags = ['--region', 'us-east-1', '--endpoint-url', moto.endpoint()]
    const r = await runFir(['playbook', 'run', 'public-function-exposure', ...args, ...awsFlags, '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(r.code, r.stderr).toBe(5)
    expect(r.json.error.code).toBe('refused')
    // The command to paste acts where this one did (it had no --region or --endpoint-url: pasted,
    // it went to the default region, or to real AWS).
    expect(r.json.error.actions.join(' ')).toContain(
      `fir playbook resume --yes --region us-east-1 --endpoint-url ${moto.endpoint()} --case ${dir}`,
    )
    const resumed = await runFir(['playbook', 'resume', '--case', dir, '--yes', '--json'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect([0, 4], resumed.stderr).toContain(resumed.code)
    expect(resumed.json.result.resumed).toBe(true)
    expect(
      resumed.json.result.steps.map(
        (s: { id: string; outcome: string; fromEarlierAttempt?: boolean }) =>
          `${s.id}:${s.outcome}${s.fromEarlierAttempt ? ':earlier' : ''}`,
      ),
    ).toEqual([
      'seal:applied:earlier',
      'close:applied',
      'revoke:applied',
      'timeline:applied',
      'report:applied',
    ])
    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const finals = journal
      .filter((e) => e.action === 'playbook.step' && e.outcome !== 'started')
      .map((e) => e.params.step)
    expect(finals).toEqual(['seal', 'close', 'revoke', 'timeline', 'report'])
    const again = await runFir(['playbook', 'resume', '--case', dir, '--yes'], {
      cwd,
      endpoint: moto.endpoint(),
    })
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('no unfinished playbook run')
  })
})
