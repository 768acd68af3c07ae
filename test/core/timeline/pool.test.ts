import { spawnSync } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { fatalError } from '../../../src/core/timeline/pool.js'
import { AccessDeniedError, FirError, firErrorData, isFirError } from '../../../src/errors.js'
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
        await FilePool.start(setup, 3, { workerUrl: new URL(${JSON.stringify(stand)}) })
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

describe('a FirError in a worker thread', () => {
  it("reaches the main thread as itself: class, code, exit code and next steps (it was a bug's plain Error)", async () => {
    // The real worker: an account-wide hunt's threads load the rule pack, and a missing --rules
    // folder there ended the run with exit 1 and a stack trace.
    const pool = pathToFileURL(join(REPO_ROOT, 'dist/core/timeline/pool.js')).href
    const errors = pathToFileURL(join(REPO_ROOT, 'dist/errors.js')).href
    const script = `
      const { FilePool } = await import(${JSON.stringify(pool)})
      const { NotFoundError } = await import(${JSON.stringify(errors)})
      const setup = { mode: 'all', window: { start: null, end: null }, target: null, firRequestIds: [], ruleDirs: ['/nonexistent/rules'] }
      try {
        await FilePool.start(setup, 2)
        console.log('started')
      } catch (err) {
        console.log(JSON.stringify({ notFound: err instanceof NotFoundError, name: err.name, code: err.code,
          exitCode: err.exitCode, message: err.message, actions: err.actions }))
      }
    `
    const dir = await tempDir()
    const file = join(dir, 'start.mjs')
    await writeFile(file, script)
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 15_000 })
    await rm(dir, { recursive: true, force: true })
    expect(JSON.parse(r.stdout.trim())).toEqual({
      notFound: true,
      name: 'NotFoundError',
      code: 'not-found',
      exitCode: 2,
      message: 'unable to load rules from /nonexistent/rules: no such file or folder',
      actions: ['pass --rules a folder of Sigma rule files (.yml)'],
    })
    expect(r.status).toBe(0)
  })

  it('keeps the fields of its class as it is cloned across (an access denial still names the IAM actions)', () => {
    const denied = new AccessDeniedError('unable to read x: access denied', ['s3:GetObject'])
    const back = fatalError({
      type: 'fatal',
      message: denied.message,
      error: structuredClone(firErrorData(denied)),
    })
    expect(back).toBeInstanceOf(AccessDeniedError)
    expect(back).toMatchObject({ iamActions: ['s3:GetObject'], actions: denied.actions, exitCode: 2 })
    const other = Object.assign(new FirError('rule-pack', 'unable to load the pack', { exitCode: 1 }), {
      envelopeExtra: { result: { n: 1 } },
    })
    const again = fatalError({
      type: 'fatal',
      message: other.message,
      error: structuredClone(firErrorData(other)),
    })
    expect(again).toBeInstanceOf(FirError)
    expect(again).toMatchObject({ code: 'rule-pack', exitCode: 1, envelopeExtra: { result: { n: 1 } } })
    // Anything else is a bug, as before.
    expect(isFirError(fatalError({ type: 'fatal', message: 'boom' }))).toBe(false)
  })
})

/** Small trail files: every second one holds a call to the function `orders-api`. */
async function trailFiles(dir: string, count: number): Promise<{ files: string[]; related: number }> {
  const files: string[] = []
  let related = 0
  for (let i = 0; i < count; i++) {
    const records = Array.from({ length: 5 }, (_, j) => {
      const mine = i % 2 === 0 && j === 0
      if (mine) related++
      return {
        eventVersion: '1.08',
        eventTime: `2025-03-01T00:${String(i % 60).padStart(2, '0')}:${String(j).padStart(2, '0')}Z`,
        eventSource: mine ? 'lambda.amazonaws.com' : 's3.amazonaws.com',
        eventName: mine ? 'UpdateFunctionCode20150331v2' : 'GetObject',
        eventID: `e-${i}-${j}`,
        awsRegion: 'us-east-1',
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/u' },
        requestParameters: mine ? { functionName: 'orders-api' } : { bucketName: 'b' },
      }
    })
    const file = join(dir, `f${i}.json`)
    await writeFile(file, JSON.stringify({ Records: records }))
    files.push(file)
  }
  return { files, related }
}

/** Runs `body` in a fresh node process with `FilePool`, `setup` and `tasks` defined; returns its stdout lines. */
async function inFreshProcess(files: string[], body: string): Promise<ReturnType<typeof spawnSync>> {
  const pool = pathToFileURL(join(REPO_ROOT, 'dist/core/timeline/pool.js')).href
  const script = `
    const { FilePool } = await import(${JSON.stringify(pool)})
    const setup = { mode: 'related', window: { start: null, end: null }, firRequestIds: [], ruleDirs: [],
      target: { functionName: 'orders-api', roles: [] } }
    const files = ${JSON.stringify(files)}
    const tasks = files.map((path, seq) => ({ seq, display: path, origin: 'file', path }))
    const stand = (name) => new URL(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'test/fixtures/timeline')).href)} + '/' + name)
    ${body}
  `
  const dir = await tempDir()
  const file = join(dir, 'run.mjs')
  await writeFile(file, script)
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 })
  await rm(dir, { recursive: true, force: true })
  return r
}

describe('FilePool with a main lane', () => {
  it('reads in the main thread while the other threads start: a run needs no thread to be ready', async () => {
    const dir = await tempDir()
    const { files, related } = await trailFiles(dir, 40)
    // The one worker thread never becomes ready: everything must be read by the main thread.
    const r = await inFreshProcess(
      files,
      `
      const pool = await FilePool.start(setup, 2, { mainLane: true, workerUrl: stand('never-ready.mjs') })
      const seen = new Map()
      let kept = 0
      await pool.run(tasks, {
        onPart: (_seq, part) => { kept += part.related.length },
        onResult: (res) => { seen.set(res.seq, (seen.get(res.seq) ?? 0) + 1); kept += res.related.length },
      })
      console.log(JSON.stringify({ results: seen.size, once: [...seen.values()].every((n) => n === 1), kept, readers: pool.readers, threads: pool.threads }))
      await pool.close()
      `,
    )
    await rm(dir, { recursive: true, force: true })
    expect(r.stderr).toBe('')
    expect(JSON.parse(String(r.stdout).trim())).toEqual({
      results: 40,
      once: true,
      kept: related,
      readers: 2,
      threads: 1,
    })
    // Ended by itself: close() stopped the thread that was still starting.
    expect(r.signal).toBeNull()
  })

  it('shares the inputs with real worker threads: each is read once, and the same records are kept as inline', async () => {
    const dir = await tempDir()
    const { files, related } = await trailFiles(dir, 600)
    const r = await inFreshProcess(
      files,
      `
      const out = {}
      for (const [name, size, options] of [['inline', 0, {}], ['lanes', 3, { mainLane: true }]]) {
        const pool = await FilePool.start(setup, size, options)
        const seen = new Map()
        const ids = []
        const take = (list) => { for (const x of list) ids.push(x.id) }
        await pool.run(tasks, {
          onPart: (_seq, part) => take(part.related),
          onResult: (res) => { seen.set(res.seq, (seen.get(res.seq) ?? 0) + 1); take(res.related) },
          expected: tasks.length,
        })
        await pool.close()
        out[name] = { results: seen.size, once: [...seen.values()].every((n) => n === 1), ids: ids.sort(), readers: pool.readers }
      }
      console.log(JSON.stringify(out))
      `,
    )
    await rm(dir, { recursive: true, force: true })
    expect(r.stderr).toBe('')
    const out = JSON.parse(String(r.stdout).trim())
    expect(out.lanes.results).toBe(600)
    expect(out.lanes.once).toBe(true)
    expect(out.lanes.readers).toBe(3)
    expect(out.inline.ids).toHaveLength(related)
    expect(out.lanes.ids).toEqual(out.inline.ids)
  })

  it('fails the run when a thread fails to start, stops the main lane, and leaves no thread running', async () => {
    const dir = await tempDir()
    const { files } = await trailFiles(dir, 10)
    // The inputs never end: the run can only end by the thread's failure, which must also stop
    // the main lane from reading on.
    const r = await inFreshProcess(
      files,
      `
      const pool = await FilePool.start(setup, 2, { mainLane: true, workerUrl: stand('one-thread-fails.mjs') })
      async function* endless() {
        for (let seq = 0; ; seq++) yield { seq, display: files[seq % files.length], origin: 'file', path: files[seq % files.length] }
      }
      try {
        await pool.run(endless(), { onPart() {}, onResult() {} })
        console.log('finished')
      } catch (err) {
        console.log('failed: ' + err.message)
      }
      await pool.close()
      `,
    )
    await rm(dir, { recursive: true, force: true })
    expect(String(r.stdout).trim()).toBe('failed: this thread failed to start')
    expect(r.signal).toBeNull()
    expect(r.status).toBe(0)
  })
})
