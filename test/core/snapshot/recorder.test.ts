import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { Gaps } from '../../../src/core/context.js'
import { RegionPacers } from '../../../src/core/snapshot/pacing.js'
import { Recorder } from '../../../src/core/snapshot/recorder.js'
import { tempDir } from '../../support/cli.js'

describe('Recorder', () => {
  it('makes a response it cannot store because its file is taken a gap, keeps the first file, and goes on', async () => {
    const handle = await CaseHandle.init('REC-1', { firVersion: 'test', cwd: await tempDir() })
    try {
      const set = await handle.newEvidenceSet()
      const gaps = new Gaps()
      const rec = new Recorder(set, gaps, new RegionPacers(100))
      const spec = (n: number) => ({
        call: 'iam:GetRole',
        target: `role-${n}`,
        what: `role ${n}`,
        file: 'iam/roles/r/get-role.json',
      })
      // Two at once, then one more after them: none of them throws.
      const [a, b] = await Promise.all([
        rec.one(spec(1), async () => ({ Role: { n: 1 } })),
        rec.one(spec(2), async () => ({ Role: { n: 2 } })),
      ])
      const c = await rec.one(spec(3), async () => ({ Role: { n: 3 } }))
      expect([a.status, b.status, c.status]).toEqual(['stored', 'gap', 'gap'])
      expect(gaps.list).toEqual([
        expect.objectContaining({
          what: 'role 2',
          call: 'iam:GetRole',
          reason: expect.stringMatching(/already written/),
        }),
        expect.objectContaining({ what: 'role 3', call: 'iam:GetRole' }),
      ])
      expect(rec.calls.map((x) => [x.target, x.outcome]).sort()).toEqual([
        ['role-1', 'stored'],
        ['role-2', 'gap'],
        ['role-3', 'gap'],
      ])
      const { manifest } = await set.seal()
      expect(manifest.files.map((f) => f.source.target)).toEqual(['role-1'])
      expect(JSON.parse(await readFile(join(set.dir, 'iam/roles/r/get-role.json'), 'utf8'))).toEqual({
        Role: { n: 1 },
      })
    } finally {
      await handle.close()
    }
  })
})
