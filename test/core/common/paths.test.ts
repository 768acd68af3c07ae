import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { landingPath, relativeInside, relativeInsideLanded } from '../../../src/core/common/paths.js'

describe('where an output lands', () => {
  let root: string
  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'fir-paths-')))
    await mkdir(join(root, 'case', 'evidence'), { recursive: true })
    await mkdir(join(root, 'elsewhere'))
    await symlink(join(root, 'case'), join(root, 'alias'))
    await symlink(join(root, 'elsewhere'), join(root, 'case', 'exports'))
  })
  afterAll(() => rm(root, { recursive: true, force: true }))

  it('follows links in the folders on the way, keeps the last name, and takes folders not made yet as named', () => {
    expect(landingPath(join(root, 'alias', 'journal.jsonl'))).toBe(join(root, 'case', 'journal.jsonl'))
    expect(landingPath(join(root, 'alias', 'new', 'deeper', 'x.md'))).toBe(
      join(root, 'case', 'new', 'deeper', 'x.md'),
    )
    // The last name is not followed: fir replaces a link there.
    expect(landingPath(join(root, 'case', 'exports'))).toBe(join(root, 'case', 'exports'))
  })

  it('places a path in the case by where it lands, not how it is spelt', () => {
    expect(relativeInside(join(root, 'case'), join(root, 'alias', 'journal.jsonl'))).toBeUndefined()
    expect(relativeInsideLanded(join(root, 'case'), join(root, 'alias', 'journal.jsonl'))).toBe(
      'journal.jsonl',
    )
    // Spelt inside the case, landing outside it (exports/ links elsewhere): not a file of the case.
    expect(relativeInsideLanded(join(root, 'case'), join(root, 'case', 'exports', 't.csv'))).toBeUndefined()
    expect(relativeInsideLanded(join(root, 'case'), join(root, 'case', 'evidence', 'x'))).toBe(
      join('evidence', 'x'),
    )
  })
})
