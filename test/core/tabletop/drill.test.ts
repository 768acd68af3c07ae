import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { builtinActions } from '../../../src/core/playbook/actions/index.js'
import { runDrill } from '../../../src/core/tabletop/drill.js'
import { loadScenario } from '../../../src/core/tabletop/scenario.js'
import { UsageError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'

describe('tabletop drill', () => {
  it('refuses a --case that is a file (exit 2) before starting the emulator, naming --case', async () => {
    const cwd = await tempDir('fir-drill-')
    await writeFile(join(cwd, 'notes.txt'), 'x')
    const said: string[] = []
    const log = { info: (m: string) => said.push(m), warn: (m: string) => said.push(m), progress() {} }
    const err = await runDrill({
      loaded: await loadScenario('public-url-backdoor'),
      caseDir: 'notes.txt',
      cwd,
      interactive: false,
      input: Readable.from([]),
      say: (t) => said.push(t),
      log,
      firVersion: 'test',
      registry: builtinActions(),
    }).catch((e) => e)
    // Before: the emulator started, then case init refused it: "choose another --dir or id".
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).exitCode).toBe(2)
    expect((err as UsageError).message).toBe(
      `unable to create case notes.txt: ${join(cwd, 'notes.txt')} exists and is not a folder`,
    )
    expect((err as UsageError).actions).toEqual([
      'pass --case a new or empty folder, or leave --case out (./cases/tabletop-<scenario>-<UTC stamp>)',
    ])
    expect(said.join('\n')).not.toContain('emulator')
  })

  it('two drills started in the same second get a case each: the second name has a suffix, claimed before the emulator starts', async () => {
    const cwd = await tempDir('fir-drill-')
    const loaded = await loadScenario('public-url-backdoor')
    const now = new Date('2026-11-30T23:04:05.250Z')
    const drill = (said: string[]) =>
      runDrill({
        loaded,
        cwd,
        now,
        interactive: false,
        input: Readable.from([]),
        say: (t) => said.push(t),
        log: { info: (m: string) => said.push(m), warn: (m: string) => said.push(m), progress() {} },
        firVersion: 'test',
        registry: builtinActions(),
      })
    // Before: both found the name free, both started moto, and the second's case init refused it
    // ("already holds a case").
    const [a, b] = await Promise.all([drill([]), drill([])])
    const names = [a.case, b.case].map((dir) => dir.split('/').at(-1)).sort()
    expect(names).toEqual([
      'tabletop-public-url-backdoor-20261130T230405Z',
      'tabletop-public-url-backdoor-20261130T230405Z-2',
    ])
    expect(await readdir(join(cwd, 'cases'))).toEqual(names)
  }, 180_000)
})
