import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../support/cli.js'

describe('the documented view model', () => {
  it('names every field of the ReportModel types in docs/readme/report.md', async () => {
    const model = await readFile(join(REPO_ROOT, 'src', 'core', 'report', 'model.ts'), 'utf8')
    const doc = await readFile(join(REPO_ROOT, 'docs', 'readme', 'report.md'), 'utf8')
    const fields = [...new Set([...model.matchAll(/^ {2}([A-Za-z][A-Za-z0-9]*)\??:/gm)].map((m) => m[1]!))]
    expect(fields.length).toBeGreaterThan(150)
    // Named as `field`, or as a list `field[]` (alone or in a path like `findings.groups[].items[]`).
    const missing = fields.filter((f) => !new RegExp(`[\`.]${f}(\\[\\])?[\`.]`).test(doc))
    expect(missing).toEqual([])
  })
})
