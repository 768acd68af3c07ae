import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { emulatorEnv, MOTO_INSTALL_HINT, startEmulator } from '../../../src/core/tabletop/emulator.js'
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
    // A Python without moto answers `-m moto.server` like this.
    await writeFile(fake, '#!/bin/sh\necho "/usr/bin/python3: No module named moto" >&2\nexit 1\n')
    await chmod(fake, 0o755)
    const err = await startEmulator({ python: fake, timeoutMs: 10_000 }).catch((e) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toMatch(/moto is not installed/)
    expect((err as UsageError).actions[0]).toContain("pip install 'moto[server]'")
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
