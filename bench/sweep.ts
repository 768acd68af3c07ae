/**
 * Benchmark: `fir sweep` over 20 accounts × 4 regions × 50 functions in moto.
 *
 * - wall time of the parallel sweep (default concurrency and pacing) against a sequential sweep
 *   (--concurrency 1), goal ≥ 8×;
 * - requests per second per account against the pacing limit (10/s), as fir released them (the
 *   pacer) and as they arrived at a recording proxy in front of moto.
 *
 * moto is one Python process: under load it answers ~10–20 ListFunctions a second however many
 * are sent, where AWS answers many at once with tens to hundreds of milliseconds of latency. So two
 * comparisons are made: against moto live (moto's CPU is the ceiling), and against moto's own
 * answers recorded once and replayed by the proxy with a fixed latency per request (--latencies,
 * default 100 ms), which measures fir's parallelism as against an AWS-like backend. The machine's
 * load average is recorded with the figures.
 *
 * The --public run (two accounts, ~3 calls per function) shows the pacing binding: demand is far
 * above 10 requests/s per account.
 *
 *   npm run bench:sweep [-- --accounts 20 --regions 4 --functions 50 --latencies 100 --repeat 3
 *                           --skip-moto --skip-public]
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
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

// fir pins an AWS SDK that supports Node 20; its notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const ROOT = resolve(import.meta.dirname, '..')
const { values: args } = parseArgs({
  options: {
    accounts: { type: 'string', default: '20' },
    regions: { type: 'string', default: '4' },
    functions: { type: 'string', default: '50' },
    latencies: { type: 'string', default: '100' },
    'skip-public': { type: 'boolean', default: false },
    'skip-moto': { type: 'boolean', default: false },
    repeat: { type: 'string', default: '3' },
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
  status?: number
  /** Time moto took to answer (forward → response headers), without the added delay. */
  serviceMs?: number
}

type Stored = { status: number; headers: IncomingHttpHeaders; body: Buffer }

/**
 * Forwards to moto, optionally after a fixed delay, and records who sent each request and when.
 * In `record` mode it also keeps moto's answers to Lambda calls, GetCallerIdentity and AssumeRole (keyed by
 * account, method, URL and body); in `replay` mode it answers those from what it kept, after the
 * delay, as AWS would (many at once), so a timed run measures fir rather than moto's one Python
 * process. AssumeRole is kept per role (the same credentials are handed out again).
 */
class RecordingProxy {
  hits: Hit[] = []
  latency = 0
  mode: 'live' | 'record' | 'replay' = 'live'
  readonly store = new Map<string, Stored>()
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
        const body = Buffer.concat(chunks)
        const scope = String(req.headers.authorization ?? '').match(
          /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\//,
        )
        const account = accountOfAccessKey(scope?.[1] ?? '') ?? 'caller'
        const hit: Hit = { t: performance.now(), account }
        this.hits.push(hit)
        const text = body.toString('utf8')
        // AssumeRole is keyed by the role alone (its session name names the case, which differs per run).
        const roleArn = text.includes('Action=AssumeRole') ? new URLSearchParams(text).get('RoleArn') : null
        const cacheable = scope?.[2] === 'lambda' || text.includes('Action=GetCallerIdentity')
        const key = roleArn
          ? `assume|${roleArn}`
          : cacheable
            ? `${account}|${req.method}|${req.url}|${text}`
            : undefined
        const stored = key !== undefined && this.mode === 'replay' ? this.store.get(key) : undefined
        const answer = (r: Stored) => {
          hit.status = r.status
          res.writeHead(r.status, { ...r.headers, 'content-length': String(r.body.length) })
          res.end(r.body)
        }
        const forward = () => {
          if (stored) {
            hit.serviceMs = 0
            answer(stored)
            return
          }
          const target = new URL(req.url ?? '/', this.upstream)
          const sent = performance.now()
          const headers = { ...req.headers, host: target.host }
          const up = httpRequest(target, { method: req.method, headers }, (r) => {
            hit.serviceMs = performance.now() - sent
            const parts: Buffer[] = []
            r.on('data', (c: Buffer) => parts.push(c))
            r.on('end', () => {
              const { 'transfer-encoding': _te, connection: _c, ...rest } = r.headers
              const out = { status: r.statusCode ?? 502, headers: rest, body: Buffer.concat(parts) }
              if (key !== undefined && this.mode === 'record') this.store.set(key, out)
              answer(out)
            })
          })
          up.on('error', () => res.destroy())
          up.end(body)
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
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []
    const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'bin', 'run.js'), ...argv], {
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
    child.on('close', (code) => done({ code, stdout, stderr }))
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

function maxWireRate(hits: Hit[]): number {
  const by = new Map<string, number[]>()
  for (const h of hits) if (h.account !== 'caller') by.set(h.account, [...(by.get(h.account) ?? []), h.t])
  return Math.max(0, ...[...by.values()].map(maxPerSecond))
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
    const sweep = async (
      extra: string[],
      latency: number,
      mode: RecordingProxy['mode'] = 'live',
      accounts = members,
    ) => {
      const dir = join(caseRoot, `c${++n}`)
      const init = await runCli(['case', 'init', `bench-${n}`, '--dir', dir], proxy.endpoint)
      if (init.code !== 0) throw new Error(init.stderr)
      proxy.hits = []
      proxy.latency = latency
      proxy.mode = mode
      const regions = REGIONS.join(',')
      const r = await runCli(
        ['sweep', '--accounts', accounts.join(','), '--regions', regions, '--case', dir, '--json', ...extra],
        proxy.endpoint,
      )
      proxy.latency = 0
      proxy.mode = 'live'
      const json = JSON.parse(r.stdout)
      if (json.status !== 0 && json.status !== 4) throw new Error(r.stdout + r.stderr)
      const paced = (json.result.accounts as { maxRequestsPerSecond: number }[]).map(
        (a) => a.maxRequestsPerSecond,
      )
      return {
        wallMs: json.result.wallMs as number,
        /** fir's CPU time in the sweep: close to wallMs means CPU-bound (a starved machine). */
        cpuMs: json.result.cpuMs as number,
        matches: json.result.matches.length as number,
        requests: proxy.hits.length,
        /** Sum of moto's answer times: moto answers one at a time, so this bounds the run from below. */
        motoBusyMs: Math.round(proxy.hits.reduce((s, h) => s + (h.serviceMs ?? 0), 0)),
        /** Densest second of one account's requests as fir released them (the pacer). */
        maxPerAccountPerSecondPaced: Math.max(...paced),
        /** The same as they arrived at the proxy (scheduling on a loaded machine adds jitter). */
        maxPerAccountPerSecondWire: maxWireRate(proxy.hits),
        gaps: json.gaps.length as number,
      }
    }

    type RunFigures = Awaited<ReturnType<typeof sweep>>
    const results: Record<string, unknown> = {
      accounts: N_ACCOUNTS,
      regions: REGIONS.length,
      functionsPerRegion: N_FUNCTIONS,
      seedSeconds: Math.round(seedS),
      cpus: availableParallelism(),
      loadAverageAtStart: loadavg().map((x) => Math.round(x * 10) / 10),
    }
    // Runs the parallel/sequential pair `repeat` times (alternating, so load drifts hit both) and
    // keeps the median speed-up: on a shared machine one pair can be off by 2× either way.
    const compare = async (label: string, latency: number, mode: RecordingProxy['mode'], repeat: number) => {
      const pairs: { parallel: RunFigures; sequential: RunFigures; speedup: number }[] = []
      for (let i = 0; i < repeat; i++) {
        const parallel = await sweep(['--role-name', 'R'], latency, mode)
        const sequential = await sweep(['--role-name', 'R', '--concurrency', '1'], latency, mode)
        if (parallel.matches !== expected || sequential.matches !== expected) {
          throw new Error(`expected ${expected} matches, got ${parallel.matches} and ${sequential.matches}`)
        }
        pairs.push({
          parallel,
          sequential,
          speedup: Math.round((sequential.wallMs / parallel.wallMs) * 10) / 10,
        })
      }
      const sorted = [...pairs].sort((x, y) => x.speedup - y.speedup)
      const median = sorted[Math.floor(sorted.length / 2)]!
      results[label] = {
        latencyMs: latency,
        backend: mode === 'replay' ? 'replayed' : 'moto',
        speedup: median.speedup,
        speedups: pairs.map((p) => p.speedup),
        parallel: median.parallel,
        sequential: median.sequential,
      }
      console.error(
        `${label}: parallel ${median.parallel.wallMs} ms (fir CPU ${median.parallel.cpuMs} ms, moto busy ${median.parallel.motoBusyMs} ms), sequential ${median.sequential.wallMs} ms → ${median.speedup}× median of [${pairs.map((p) => p.speedup).join(', ')}] (goal ≥ 8×); per account ≤ ${Math.max(...pairs.map((p) => p.parallel.maxPerAccountPerSecondPaced))} req/s paced, ${Math.max(...pairs.map((p) => p.parallel.maxPerAccountPerSecondWire))} on the wire (limit ${RATE})`,
      )
    }
    // moto live: its one Python process is the ceiling.
    if (!args['skip-moto']) await compare('moto', 0, 'live', 1)
    // moto's answers recorded once, then replayed with a fixed latency (an AWS-like backend).
    await sweep(['--role-name', 'R'], 0, 'record')
    for (const latency of LATENCIES.filter((l) => l > 0))
      await compare(`replayed+${latency}ms`, latency, 'replay', Number(args.repeat))
    if (!args['skip-public']) {
      // --public reads every function's URL config and policy: ~3 calls a function, so the pacing binds.
      const pub = await sweep(['--public'], 50, 'live', members.slice(0, 2))
      results.publicTwoAccounts = pub
      console.error(
        `--public, 2 accounts: ${pub.requests} requests in ${pub.wallMs} ms; per account ≤ ${pub.maxPerAccountPerSecondPaced} req/s paced, ${pub.maxPerAccountPerSecondWire} on the wire (limit ${RATE})`,
      )
      if (pub.maxPerAccountPerSecondPaced > RATE) throw new Error('the pacer let more than the limit through')
    }
    results.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 10) / 10)
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
