import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { type FirContext, Gaps } from '../../../src/core/context.js'
import { snapshotFunctionAction } from '../../../src/core/playbook/actions/snapshot.js'
import type { StepRun } from '../../../src/core/playbook/runner.js'
import { FirError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import { buildSampleCase } from '../../support/sample-case.js'

describe('snapshot.function (playbook action) resumed after a crash', () => {
  it('reuses the set the run had sealed with the same outputs it gave when it sealed it', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false })
    const handle = await CaseHandle.open(sample.dir)
    try {
      const seal = handle.journal.all().find((e) => e.action === 'evidence.seal')!
      const run: StepRun = {
        // No AWS: a reused set is read from the case alone.
        ctx: { case: handle, firVersion: 'test', gaps: new Gaps() } as unknown as FirContext,
        runId: 'run-1',
        playbook: 'lambda-compromise',
        stepId: 'seal',
        firstStartedAt: '2000-01-01T00:00:00.000Z',
        interrupted: true,
      }
      const outcome = await snapshotFunctionAction(run, { function: 'orders-api' })
      expect(outcome.outcome).toBe('already-applied')
      expect(outcome.outputs).toMatchObject({
        functionName: 'orders-api',
        evidenceSet: `evidence/${String(seal.params.set)}`,
        manifestSha256: seal.params.manifestSha256,
        findings: expect.any(Number),
      })
      // Before, a reused set gave no manifestSha256, findings or findingTitles: a later step
      // reading them found nothing.
      expect(outcome.outputs!.findings).toBeGreaterThan(0)
      expect(outcome.outputs!.findingTitles).toEqual(expect.arrayContaining([expect.any(String)]))
      // And the gaps the snapshot hit, as when it sealed (a resumed run exited 0 without them).
      expect(run.ctx.gaps.list.map((g) => g.call)).toEqual([
        'lambda:ListProvisionedConcurrencyConfigs',
        'lambda:GetLayerVersion',
      ])
    } finally {
      await handle.close()
    }
  })

  it('refuses a set whose findings.json was changed after it was sealed (exit 3), never uses it', async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), notes: false })
    const handle = await CaseHandle.open(sample.dir)
    try {
      const seal = handle.journal.all().find((e) => e.action === 'evidence.seal')!
      const findings = join(sample.dir, 'evidence', String(seal.params.set), 'findings.json')
      await writeFile(findings, '[]\n')
      const run: StepRun = {
        ctx: { case: handle, firVersion: 'test', gaps: new Gaps() } as unknown as FirContext,
        runId: 'run-1',
        playbook: 'lambda-compromise',
        stepId: 'seal',
        firstStartedAt: '2000-01-01T00:00:00.000Z',
        interrupted: true,
      }
      const err = await snapshotFunctionAction(run, { function: 'orders-api' }).catch((e) => e)
      expect(err).toBeInstanceOf(FirError)
      expect((err as FirError).exitCode).toBe(3)
      expect((err as FirError).message).toMatch(/findings\.json: it was changed after it was sealed/)
    } finally {
      await handle.close()
    }
  })
})
