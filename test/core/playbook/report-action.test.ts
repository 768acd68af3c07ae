import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import type { FirContext } from '../../../src/core/context.js'
import { reportAction } from '../../../src/core/playbook/actions/report.js'
import type { StepRun } from '../../../src/core/playbook/runner.js'
import { tempDir } from '../../support/cli.js'
import { buildSampleCase } from '../../support/sample-case.js'

describe('report.render (playbook action)', () => {
  it('summarises the number of findings the written report states, not its number of rows', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false })
    const handle = await CaseHandle.open(sample.dir)
    let outcome: Awaited<ReturnType<typeof reportAction>>
    try {
      const run: StepRun = {
        ctx: { case: handle, firVersion: 'test' } as unknown as FirContext,
        runId: 'run-1',
        playbook: 'lambda-compromise',
        stepId: 'report',
        firstStartedAt: new Date().toISOString(),
        interrupted: false,
      }
      outcome = await reportAction(run, { format: 'md' })
    } finally {
      await handle.close()
    }
    const md = await readFile(join(sample.dir, 'reports', 'report.md'), 'utf8')
    // The report's own count: its summary sentence and the Total cell of the severity table.
    const stated = Number(md.match(/\. (\d+) findings? \(/)?.[1])
    const totalCell = md.match(/^\|(?: [\d]+ \|){5} \*\*(\d+)\*\* \|$/m)?.[1]
    expect(stated).toBeGreaterThan(0)
    expect(Number(totalCell)).toBe(stated)
    // Rows: a timeline rule that matched several events is one row with its count.
    const section = md.slice(md.indexOf('\n## 4. '), md.indexOf('\n## 5. '))
    const rows = section.split('\n').filter((l) => /^\| (snapshot|timeline) \|/.test(l))
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.length).toBeLessThan(stated)

    expect(outcome.outcome).toBe('applied')
    expect(outcome.summary).toBe(`report written (md): ${stated} findings`)
    expect(outcome.outputs?.findings).toBe(stated)
  })
})
