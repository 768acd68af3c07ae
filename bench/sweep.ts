/**
 * Benchmark: `fir sweep` over 20 accounts × 4 regions × 50 functions in moto.
 *
 * - wall time of the parallel sweep (default concurrency and pacing) against a sequential sweep
 *   (--concurrency 1), goal ≥ 8×;
 * - requests per second per account, measured on the wire by a recording proxy, against the
 *   pacing limit (10/s).
 *
 * moto is one Python process: it serves requests one at a time (~25 ms of CPU each for
 * ListFunctions on a busy machine), where AWS serves them in parallel with tens to hundreds of
 * milliseconds of latency. The proxy therefore adds a fixed delay per request (--latencies, default
 * 0,50,150 ms) and each figure is printed: with no delay moto's CPU is the ceiling of any speed-up
 * ((latency + cpu) / cpu), with a delay the ratio reflects waiting on the network as against AWS.
 *
 * The --public run (two accounts, ~3 calls per function) shows the pacing binding: demand is far
 * above 10 requests/s per account and the wire rate stays at the limit.
 *
 *   npm run bench:sweep [-- --accounts 20 --regions 4 --functions 50 --latencies 0,50,150 --skip-public]
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { maxPerSecond } from '../src/core/sweep/pacer.js'
import {
  accountOfAccessKey,
  clientsIn,
  createFunction,
  createOrganisation,
  ensureRole,
} from '../test/core/sweep/org-fixture.js'
import { startMoto } from '../test/support/moto.js'

const ROOT = resolve(import.meta.dirname, '..')
const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '20' },
    regions: { type: 'string', default: '4' },
    functions: { type: 'string', default: '50' },
    latencies: { type: 'string', default: '0,50,150' },
    'skip-public': { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench', 'out', 'sweep.json') },
  },
})
const N_ACCOUNTS = Number(args.accounts)
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'].slice(0, Number(args.regions))
const N_FUNCTIONS = Number(args.functions)
const LATENCIES = args.latencies!.split(',').map(Number)
const RATE = 10

interface Hit {
  t: number
  account: string
  service: string
  status?: number
  path?: string
}

/** Forwards to moto, optionally after a fixed delay, and records who sent each request and when. */
class RecordingProxy {
  hits: Hit[] = []
  latency = 0
  private server: Server | undefined
  constructor(private readonly upstream: string) {}
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`
  }
  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const auth = String(req.headers.authorization ?? '')
        const m = auth.match(/Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\//)
        const hit: Hit = {
          t: performance.now(),
          account: accountOfAccessKey(m?.[1] ?? '') ?? 'caller',
          service: m?.[2] ?? '',
          path: `${req.method} ${req.url}`,
        }
        this.hits.push(hit)
        const forward = () => {
          const target = new URL(req.url ?? '/', this.upstream)
          const up = httpRequest(
            target,
            { method: req.method, headers: { ...req.headers, host: target.host } },
            (r) => {
              hit.status = r.statusCode
              res.writeHead(r.statusCode ?? 502, r.headers)
              r.pipe(res)
            },
          )
          up.on('error', () => res.destroy())
          up.end(Buffer.concat(chunks))
        }
        if (this.latency > 0) setTimeout(forward, this.latency)
        else forward()
      })
    })
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r))
    return this
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((r) => this.server?.close(() => r()))
  }
}

function runCli(
  argv: string[],
  endpoint: string,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now()
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...argv], {
      env: {
        PATH: process.env.PATH,
        HOME: tmpdir(),
        FIR_EMULATOR_ONLY: '1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: endpoint,
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('error', fail)
    child.on('close', (code) => done({ code, stdout, stderr, ms: performance.now() - t0 }))
  })
}

async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (i < items.length) await fn(items[i++]!)
    }),
  )
}

function perAccountRates(hits: Hit[]): { max: number; account: string } {
  const by = new Map<string, number[]>()
  for (const h of hits) if (h.account !== 'caller') by.set(h.account, [...(by.get(h.account) ?? []), h.t])
  let best = { max: 0, account: '' }
  for (const [account, times] of by) {
    const m = maxPerSecond(times)
    if (m > best.max) best = { max: m, account }
  }
  return best
}

async function main(): Promise<void> {
  console.error(`bench:sweep — ${N_ACCOUNTS} accounts × ${REGIONS.length} regions × ${N_FUNCTIONS} functions`)
  const moto = await startMoto()
  const proxy = await new RecordingProxy(moto.endpoint).start()
  try {
    const t0 = performance.now()
    const { members } = await createOrganisation(moto.endpoint, N_ACCOUNTS)
    const jobs = members.flatMap((account) => REGIONS.map((region) => ({ account, region })))
    let expected = 0
    await mapLimit(jobs, 8, async ({ account, region }) => {
      const c = await clientsIn(moto.endpoint, account, region)
      const app = await ensureRole(c.iam, 'app-role', account)
      const hunted = await ensureRole(c.iam, 'R', account)
      for (let i = 0; i < N_FUNCTIONS; i++) {
        const useR = i % 10 === 0
        if (useR) expected++
        await createFunction(c, `fn-${String(i).padStart(3, '0')}`, useR ? hunted : app)
      }
    })
    const seedS = (performance.now() - t0) / 1000
    console.error(
      `seeded ${jobs.length * N_FUNCTIONS} functions in ${seedS.toFixed(1)} s (${expected} run role R)`,
    )

    const caseRoot = await mkdtemp(join(tmpdir(), 'fir-bench-sweep-'))
    let n = 0
    const sweep = async (extra: string[], latency: number, accounts = members) => {
      const dir = join(caseRoot, `c${++n}`)
      const init = await runCli(['case', 'init', `bench-${n}`, '--dir', dir], proxy.endpoint)
      if (init.code !== 0) throw new Error(init.stderr)
      proxy.hits = []
      proxy.latency = latency
      const r = await runCli(
        [
          'sweep',
          '--accounts',
          accounts.join(','),
          '--regions',
          REGIONS.join(','),
          '--case',
          dir,
          '--json',
          ...extra,
        ],
        proxy.endpoint,
      )
      proxy.latency = 0
      const json = JSON.parse(r.stdout)
      if (json.status !== 0 && json.status !== 4) throw new Error(r.stdout + r.stderr)
      const rate = perAccountRates(proxy.hits)
      return {
        wallMs: json.result.wallMs as number,
        processMs: Math.round(r.ms),
        matches: json.result.matches.length as number,
        requests: proxy.hits.length,
        maxPerAccountPerSecond: rate.max,
        gaps: json.gaps.length as number,
      }
    }

    const results: Record<string, unknown> = {
      accounts: N_ACCOUNTS,
      regions: REGIONS.length,
      functionsPerRegion: N_FUNCTIONS,
      seedSeconds: seedS,
    }
    for (const latency of LATENCIES) {
      const parallel = await sweep(['--role-name', 'R'], latency)
      const sequential = await sweep(['--role-name', 'R', '--concurrency', '1'], latency)
      if (parallel.matches !== expected || sequential.matches !== expected) {
        throw new Error(`expected ${expected} matches, got ${parallel.matches} and ${sequential.matches}`)
      }
      const speedup = sequential.wallMs / parallel.wallMs
      results[`latency${latency}ms`] = { parallel, sequential, speedup: Math.round(speedup * 10) / 10 }
      console.error(
        `latency +${latency} ms: parallel ${parallel.wallMs} ms, sequential ${sequential.wallMs} ms → ${speedup.toFixed(1)}× (goal ≥ 8×); max ${parallel.maxPerAccountPerSecond} req/s per account (limit ${RATE})`,
      )
    }
    if (!args['skip-public']) {
      // --public reads every function's URL config and policy: ~3 calls a function, so the pacing binds.
      const pub = await sweep(['--public'], 50, members.slice(0, 2))
      results.publicParallel = pub
      console.error(
        `--public, 2 accounts (pacing binds): ${pub.requests} requests in ${pub.wallMs} ms, max ${pub.maxPerAccountPerSecond} req/s per account (limit ${RATE})`,
      )
      if (pub.maxPerAccountPerSecond > RATE)
        throw new Error(`pacing exceeded: ${pub.maxPerAccountPerSecond} req/s`)
    }
    await mkdir(resolve(args.out!, '..'), { recursive: true })
    await writeFile(args.out!, `${JSON.stringify(results, null, 2)}\n`)
    console.log(JSON.stringify(results, null, 2))
  } finally {
    await proxy.stop()
    await moto.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
