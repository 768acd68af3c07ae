import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AwsClients } from '../../src/aws/clients.js'
import { loadScenario } from '../../src/core/tabletop/scenario.js'
import { seedScenario } from '../../src/core/tabletop/seed.js'
import { initCase, runFir, tempDir } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { resetMoto } from '../support/moto.js'
import { runFirOnTerminal } from '../support/pty.js'

const moto = useMoto()

/** Two confirmations; the playbook's text (a title, a question) carries terminal escapes. */
const ON_A_TERMINAL = String.raw`name: on-a-terminal
description: two confirmations, with escapes and a secret in their questions
inputs:
  function: { required: true }
  password: { required: true }
steps:
  - id: seal
    action: snapshot.function
    with: { function: "{{ inputs.function }}" }
  - id: hold
    action: containment.contain
    with: { function: "{{ steps.seal.outputs.functionArn }}", actions: [throttle] }
    confirm: "FIRST: throttle {{ inputs.function }} (db password {{ inputs.password }})? \e]0;HIJACKED-TITLE\a\e[2J\e[31mRED"
  - id: revoke
    title: "Revoke \e]0;HIJACKED\a\e[2J"
    action: credentials.revoke-sessions
    with: { role: "{{ steps.seal.outputs.roleName }}" }
    confirm: true
`

describe('fir playbook run on a terminal (built CLI, moto)', () => {
  it('asks every step with confirm, each question escaped for the terminal and its secrets redacted', async () => {
    await resetMoto(moto.endpoint())
    const aws = await AwsClients.create({
      endpoint: moto.endpoint(),
      region: 'us-east-1',
      emulatorOnly: true,
    })
    await seedScenario(aws, (await loadScenario('public-url-backdoor')).scenario, { now: new Date() })
    const cwd = await tempDir()
    await initCase('T1', { cwd })
    const dir = join(cwd, 'cases', 'T1')
    const file = join(cwd, 'on-a-terminal.yaml')
    await writeFile(file, ON_A_TERMINAL)
    const password = 'SuperSecretPassw0rd!XYZ'
    const r = await runFirOnTerminal(
      [
        'playbook',
        'run',
        file,
        '--case',
        dir,
        '--input',
        'function=orders-admin-export',
        '--input',
        `password=${password}`,
      ],
      { cwd, endpoint: moto.endpoint(), answers: ['y', 'y'], timeoutMs: 150_000 },
    )
    expect([0, 4], r.output).toContain(r.code)
    // Both questions were asked (only the first had been; revoke then ran unasked).
    expect(r.questions).toHaveLength(2)
    expect(r.questions[0]).toMatch(
      /^FIRST: throttle orders-admin-export \(db password ‹redacted len=23 sha256:[0-9a-f]{8}›\)\? \\e\]0;HIJACKED-TITLE\\x07\\e\[2J\\e\[31mRED$/,
    )
    expect(r.questions[1]).toBe(
      String.raw`Run step revoke (Revoke \e]0;HIJACKED\x07\e[2J): credentials.revoke-sessions role=orders-admin-export-role?`,
    )
    expect(r.output).not.toContain('\u001b]0;')
    expect(r.output).not.toContain('\u001b[2J')
    expect(r.output).not.toContain(password)
    const journal = (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(
      journal
        .filter((e) => e.action === 'playbook.confirm')
        .map((e) => `${e.params.step}:${e.params.answer}`),
    ).toEqual(['hold:yes', 'revoke:yes'])
    expect(
      journal
        .filter((e) => e.action === 'playbook.step' && e.outcome !== 'started')
        .map((e) => e.params.step),
    ).toEqual(['seal', 'hold', 'revoke'])
  }, 200_000)
})
