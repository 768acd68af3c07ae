import { spawnSync } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT, tempDir } from '../../support/cli.js'

describe('FilePool.start', () => {
  it('stops the threads that started when another fails to start: none is left running', async () => {
    // A fresh process: it can end by itself only if no thread is left alive.
    const pool = pathToFileURL(join(REPO_ROOT, 'dist/core/timeline/pool.js')).href
    const stand = pathToFileURL(join(REPO_ROOT, 'test/fixtures/timeline/one-thread-fails.mjs')).href
    const script = `
      const { FilePool } = await import(${JSON.stringify(pool)})
      const setup = { mode: 'related', window: { start: null, end: null }, target: null, firRequestIds: [], ruleDirs: [] }
      try {
        await FilePool.start(setup, 3, new URL(${JSON.stringify(stand)}))
        console.log('started')
      } catch (err) {
        console.log('refused: ' + err.message)
      }
    `
    // A script file, not -e: worker threads inherit the process's flags, and --input-type is for -e only.
    const dir = await tempDir()
    const file = join(dir, 'start.mjs')
    await writeFile(file, script)
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 15_000 })
    await rm(dir, { recursive: true, force: true })
    expect(r.stdout.trim()).toBe('refused: this thread failed to start')
    // Ended by itself, not killed at the timeout with threads still running.
    expect(r.signal).toBeNull()
    expect(r.status).toBe(0)
  })
})
