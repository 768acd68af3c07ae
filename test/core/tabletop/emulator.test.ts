import { spawn } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  emulatorEnv,
  MOTO_INSTALL_HINT,
  pythonFailureLine,
  startEmulator,
} from '../../../src/core/tabletop/emulator.js'
import { isolateFromUserAws } from '../../../src/core/tabletop/safety.js'
import { UsageError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'

describe('tabletop emulator', () => {
  it('starts moto on a loopback port and stops it by pid', async () => {
    const emu = await startEmulator()
    expect(emu.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect((await fetch(`${emu.endpoint}/moto-api/data.json`)).ok).toBe(true)
    await emu.stop()
    expect(() => process.kill(emu.pid, 0)).toThrow()
    await expect(fetch(`${emu.endpoint}/moto-api/data.json`)).rejects.toThrow()
  })

  it('ends with fir even when fir is killed (SIGKILL runs no exit handler)', async () => {
    const module = pathToFileURL(join(import.meta.dirname, '../../../src/core/tabletop/emulator.ts')).href
    // A fir process that starts the drill's emulator, says where, and waits to be killed.
    const fir = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const e = await (await import(${JSON.stringify(module)})).startEmulator()
console.log(JSON.stringify({ endpoint: e.endpoint, pid: e.pid }))
setInterval(() => {}, 1000)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const started = await new Promise<{ endpoint: string; pid: number }>((resolve, reject) => {
      let out = ''
      fir.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!))
      })
      fir.on('exit', (code) => reject(new Error(`the fir process ended first (${code})`)))
    })
    expect((await fetch(`${started.endpoint}/moto-api/data.json`)).ok).toBe(true)
    fir.kill('SIGKILL')
    let alive = true
    for (let i = 0; i < 100 && alive; i++) {
      await new Promise((r) => setTimeout(r, 100))
      alive = await fetch(`${started.endpoint}/moto-api/data.json`).then(
        () => true,
        () => false,
      )
    }
    if (alive) process.kill(started.pid, 'SIGKILL') // not left behind by the test either
    expect(alive).toBe(false)
  })

  it('is a usage error with the install hint when python3 is missing', async () => {
    const err = await startEmulator({ python: 'python3-that-does-not-exist' }).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).exitCode).toBe(2)
    expect((err as UsageError).message).toContain('python3-that-does-not-exist was not found')
    expect((err as UsageError).actions).toContain(MOTO_INSTALL_HINT)
    expect(MOTO_INSTALL_HINT).toContain("pip install 'moto[server]'")
  })

  it('is a usage error with the install hint when moto is missing', async () => {
    const dir = await tempDir()
    const fake = join(dir, 'python3')
    // A Python without moto answers like this.
    await writeFile(fake, '#!/bin/sh\necho "/usr/bin/python3: No module named moto" >&2\nexit 1\n')
    await chmod(fake, 0o755)
    const err = await startEmulator({ python: fake, timeoutMs: 10_000 }).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toMatch(/moto is not installed/)
    expect((err as UsageError).actions[0]).toContain("pip install 'moto[server]'")
  })

  it("names the Python error, not the interpreter's noise after it, and how to install moto for that Python", async () => {
    const dir = await tempDir()
    const fake = join(dir, 'python3.11')
    // What Debian's python3 without moto prints for fir's launcher: the watchdog thread, still
    // reading stdin at shutdown, makes the interpreter abort after the traceback.
    const stderr = [
      'Traceback (most recent call last):',
      '  File "<frozen runpy>", line 131, in _get_module_details',
      "ModuleNotFoundError: No module named 'moto'",
      '',
      'The above exception was the direct cause of the following exception:',
      '',
      'Traceback (most recent call last):',
      '  File "<string>", line 9, in <module>',
      "ImportError: Error while finding module specification for 'moto.server' (ModuleNotFoundError: No module named 'moto')",
      "Fatal Python error: _enter_buffered_busy: could not acquire lock for <_io.BufferedReader name='<stdin>'> at interpreter shutdown, possibly due to daemon threads",
      'Python runtime state: finalizing (tstate=0x0000000000a840f8)',
      '',
      'Current thread 0x00007f38b8a452c0 (most recent call first):',
      '  <no Python frame>',
    ].join('\n')
    await writeFile(fake, `#!/bin/sh\ncat >&2 <<'EOF'\n${stderr}\nEOF\nkill -ABRT $$\n`)
    await chmod(fake, 0o755)
    const err = (await startEmulator({ python: fake, timeoutMs: 10_000 }).catch((e) => e)) as UsageError
    expect(err).toBeInstanceOf(UsageError)
    // Before: "moto is not installed ( | Current thread 0x00007f38b8a452c0 (most recent call
    // first): |   <no Python frame>)".
    expect(err.message).toBe(
      `unable to start the local AWS emulator: moto is not installed for ${fake} (ModuleNotFoundError: No module named 'moto')`,
    )
    expect(err.actions).toEqual([
      MOTO_INSTALL_HINT,
      `for that Python: ${fake} -m pip install 'moto[server]'`,
      `or set FIR_PYTHON to the Python interpreter that has moto (now ${fake})`,
    ])
    // Another failure: its exception line, or nothing when there is none.
    expect(pythonFailureLine('Traceback …\nOSError: [Errno 98] Address already in use\n')).toBe(
      'OSError: [Errno 98] Address already in use',
    )
    expect(pythonFailureLine('Fatal Python error: x\nCurrent thread 0x1 (most recent call first):\n')).toBe(
      '',
    )
  })

  it("gives the emulator none of the responder's AWS settings, and drops them from the drill's process", () => {
    const env = {
      PATH: '/bin',
      HOME: '/home/x',
      AWS_PROFILE: 'prod-admin',
      AWS_ACCESS_KEY_ID: 'AKIAREALLOOKINGKEY12',
      AWS_SECRET_ACCESS_KEY: 'x'.repeat(40),
      AWS_SESSION_TOKEN: 'tok',
      AWS_ENDPOINT_URL: 'https://example.com',
      AWS_ENDPOINT_URL_S3: 'https://s3.example.com',
      AWS_WEB_IDENTITY_TOKEN_FILE: '/t',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.2/x',
      HTTPS_PROXY: 'http://proxy:3128',
    }
    expect(Object.keys(emulatorEnv(env)).sort()).toEqual(['HOME', 'PATH'])
    const copy: NodeJS.ProcessEnv = { ...env }
    const removed = isolateFromUserAws(copy)
    expect(removed).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_ENDPOINT_URL',
      'AWS_ENDPOINT_URL_S3',
      'AWS_PROFILE',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ])
    expect(copy).toMatchObject({
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: expect.stringContaining('/nonexistent/'),
    })
    expect(copy.AWS_ACCESS_KEY_ID).toBeUndefined()
  })
})
