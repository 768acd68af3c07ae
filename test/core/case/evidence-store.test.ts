import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { safeSegment } from '../../../src/core/case/evidence-store.js'
import { sha256Hex } from '../../../src/core/common/hash.js'
import { tempDir } from '../../support/cli.js'

describe('safeSegment', () => {
  it('keeps a name that is already safe as it is', () => {
    for (const name of ['orders-api', '$LATEST', 'us-east-1', 'x_y', 'a.b', 'ops@example.com', 'k=v+1'])
      expect(safeSegment(name)).toBe(name)
    expect(safeSegment('r'.repeat(200))).toBe('r'.repeat(200))
  })

  it('percent-encodes every other byte, % and leading dots included', () => {
    expect(safeSegment('x,y')).toBe('x%2Cy')
    expect(safeSegment('a%2Cb')).toBe('a%252Cb')
    expect(safeSegment('a/b')).toBe('a%2Fb')
    expect(safeSegment('..')).toBe('%2E%2E')
    expect(safeSegment('.hidden')).toBe('%2Ehidden')
    expect(safeSegment('a\nb')).toBe('a%0Ab')
    expect(safeSegment('café')).toBe('caf%C3%A9')
    expect(safeSegment('')).toBe('%')
  })

  it('gives distinct values distinct segments, each a plain folder name of at most 200 characters', () => {
    const prefix = 'p'.repeat(250)
    const values = [
      'x,y',
      'x_y',
      'x%2Cy',
      'x%2cy',
      'a,b',
      'a%2Cb',
      'a%252Cb',
      '_',
      '',
      '%',
      '.',
      '..',
      '%2E',
      '_.',
      '.x',
      '%2Ex',
      'a/b',
      'a\\b',
      'café',
      'cafe\u0301',
      'caf%C3%A9',
      '日本',
      '😀',
      // Lone surrogates have no UTF-8 form: each is kept apart from the others and from U+FFFD.
      '\ud800',
      '\udfff',
      '\ufffd',
      `${prefix}${'b'.repeat(50)}`,
      `${prefix}${'c'.repeat(50)}`,
      'r'.repeat(200),
      'r'.repeat(201),
      ','.repeat(100),
      ','.repeat(101),
      `${','.repeat(99)}.`,
    ]
    const segments = values.map(safeSegment)
    expect(new Set(segments).size).toBe(values.length)
    for (const s of segments) {
      expect(s.length).toBeLessThanOrEqual(200)
      expect(s).toMatch(/^[A-Za-z0-9._$@=+%~-]+$/)
      expect(s.startsWith('.')).toBe(false)
    }
    // A long one is cut, never inside an escape, and ends in a hash of the whole value.
    const long = `${prefix}${'b'.repeat(50)}`
    expect(safeSegment(long)).toMatch(new RegExp(`^${'p'.repeat(183)}~[0-9a-f]{16}$`))
    expect(safeSegment(','.repeat(100))).toMatch(/^(%2C)+~[0-9a-f]{16}$/)
  })
})

describe('EvidenceSet', () => {
  it('writes a path once, even when two writes of it are under way at once, and frees a path whose write failed', async () => {
    const handle = await CaseHandle.init('STORE-1', { firVersion: 'test', cwd: await tempDir() })
    try {
      const set = await handle.newEvidenceSet()
      const [first, second] = await Promise.allSettled([
        set.writeJson('iam/roles/r/get-role.json', { n: 1 }, { call: 'a' }),
        set.writeJson('iam/roles/r/get-role.json', { n: 2 }, { call: 'b' }),
      ])
      expect(first.status).toBe('fulfilled')
      expect(second).toMatchObject({
        status: 'rejected',
        reason: { message: expect.stringMatching(/already written/) },
      })
      // The file on disk is the one the manifest records.
      const text = await readFile(join(set.dir, 'iam/roles/r/get-role.json'), 'utf8')
      expect(JSON.parse(text)).toEqual({ n: 1 })
      expect(set.list()).toEqual([
        expect.objectContaining({ sha256: sha256Hex(text), source: { call: 'a' } }),
      ])

      const broken = new Readable({
        read() {
          this.destroy(new Error('connection reset'))
        },
      })
      await expect(set.writeStream('code/x.zip', broken, { call: 'c' })).rejects.toThrow(/connection reset/)
      await set.writeBytes('code/x.zip', 'bytes', { call: 'd' })
      const { manifest } = await set.seal()
      expect(manifest.files.map((f) => f.path)).toEqual(['iam/roles/r/get-role.json', 'code/x.zip'])
    } finally {
      await handle.close()
    }
  })
})
