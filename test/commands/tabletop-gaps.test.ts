import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT, runFir, tempDir } from '../support/cli.js'

/**
 * A drill whose containment fails part way: the attacker's statement id is one moto's
 * RemovePermission route does not match (HTML 404, as a route moto lacks answers), although moto
 * implements the call. Real AWS refuses such an id at AddPermission; the drill must still say the
 * change did not complete, not call it an emulator limit.
 */
async function scenarioWithOddSid(dir: string): Promise<string> {
  const text = await readFile(join(REPO_ROOT, 'scenarios', 'public-url-backdoor.yaml'), 'utf8')
  const odd = `  - at: -26h27m
    actor: contractor
    call: lambda:AddPermission
    with:
      FunctionName: orders-admin-export
      StatementId: "Pub<b>lic</b>_\\e[5m"
      Action: lambda:InvokeFunction
      Principal: "*"
injects:
`
  const file = join(dir, 'odd-sid.yaml')
  await writeFile(file, text.replace(/^injects:\n/m, odd))
  return file
}

describe('fir tabletop run: a change that did not complete (built CLI, real moto)', () => {
  it('is listed as not completed (exit 4), its step row counts the failure, and only what moto lacks is an emulator limit', async () => {
    const cwd = await tempDir('fir-drill-gaps-')
    const file = await scenarioWithOddSid(cwd)
    const r = await runFir(['tabletop', 'run', file], { cwd, timeoutMs: 240_000 })
    // Before: exit 0, `close … applied`, and the failed removal under "Emulator limits (2 …)".
    expect(r.code, r.stderr).toBe(4)
    expect(r.stdout).toMatch(/^close +containment\.contain +applied 1, failed 1$/m)
    expect(r.stdout).toContain(
      'Emulator limits (1; moto lacks these calls, real AWS has them):\n  - provisioned concurrency of orders-admin-export [lambda:ListProvisionedConcurrencyConfigs]\n',
    )
    expect(r.stdout).toMatch(
      /\nDid not complete \(1; [^\n]*\):\n {2}- containment\.permissions on orders-admin-export: the change did not complete \[lambda:RemovePermission\]: unable to remove 1 of 3 public statements/,
    )
    // The attacker's id is escaped, and the report path is still the last line.
    expect(r.stdout).toContain('Pub<b>lic</b>_\\e[5m')
    expect(r.stdout).not.toContain('\u001b')
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^Report: .*report\.html$/)

    const j = await runFir(['tabletop', 'run', file, '--json'], { cwd, timeoutMs: 240_000 })
    expect(j.code).toBe(4)
    expect(j.json.status).toBe(4)
    expect(j.json.gaps.map((g: { call: string }) => g.call)).toEqual(['lambda:RemovePermission'])
    expect(j.json.result.emulatorGaps.map((g: { call: string }) => g.call)).toEqual([
      'lambda:ListProvisionedConcurrencyConfigs',
    ])
    const close = j.json.result.run.steps.find((s: { id: string }) => s.id === 'close')
    expect(close).toMatchObject({ outcome: 'applied', partial: 'applied 1, failed 1' })
  }, 300_000)
})
