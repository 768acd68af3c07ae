/**
 * Benchmark: `fir snapshot --all-using-role` over 50 functions sharing one role, in moto, against
 * the same evidence gathered with the AWS CLI in a shell loop; and peak RSS while sealing a 50 MB
 * code package.
 *
 * - fir runs twice: at its default pacing (10 Lambda requests/s, what it does against a real
 *   account) and with pacing lifted (--lambda-rps 1000) to show the work itself.
 * - The AWS CLI loop makes, per function, the calls a responder would type (GetFunction,
 *   ListVersionsByFunction, ListAliases, GetPolicy, GetFunctionUrlConfig, ListEventSourceMappings,
 *   GetFunctionConcurrency, ListProvisionedConcurrencyConfigs, ListFunctionEventInvokeConfigs,
 *   GetFunctionCodeSigningConfig, GetRole, ListRolePolicies, ListAttachedRolePolicies,
 *   FilterLogEvents, DescribeTrails) and downloads the package (moto serves it from S3, so
 *   `aws s3api get-object` stands in for `curl "$Location"`), then hashes it: 16 CLI processes.
 *   The CLI on PATH is used and its version printed. Every CLI process starts Python, so the loop
 *   is run over a sample (--cli-functions, default 5) and extrapolated to 50 unless
 *   --cli-functions 50 is given.
 * - RSS: /usr/bin/time -v around `fir snapshot` of one function whose package is 50 MB
 *   (incompressible, stored), against the same for a 1 KB package.
 *
 *   npm run bench:snapshot [-- --functions 50 --cli-functions 5 --package-mb 50]
 */
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { CaseHandle } from '../src/core/case/case-folder.js'
import { startMoto } from '../test/support/moto.js'
import { handlerZip, makeZip, seedFunction, seedLogEvents, seedRole } from '../test/support/seed.js'

// fir pins an AWS SDK that supports Node 20; its notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const ROOT = resolve(import.meta.dirname, '..')
const BIN = join(ROOT, 'bin', 'run.js')
const run = promisify(execFile)
const { values: args } = parseArgs({
  options: {
    functions: { type: 'string', default: '50' },
    'cli-functions': { type: 'string', default: '5' },
    'package-mb': { type: 'string', default: '50' },
    out: { type: 'string', default: join(ROOT, 'bench', 'out', 'snapshot.json') },
  },
})
const N = Number(args.functions)
const CLI_N = Math.min(N, Number(args['cli-functions']))
const PACKAGE_MB = Number(args['package-mb'])

function envFor(endpoint: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: tmpdir(),
    FIR_EMULATOR_ONLY: '1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpoint,
    AWS_CONFIG_FILE: '/nonexistent/bench-aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/bench-aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  }
}

function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string) {
  return new Promise<{ ms: number; code: number | null; stdout: string; stderr: string }>((done) => {
    const started = performance.now()
    const child = spawn(cmd, argv, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
    })
    child.on('close', (code) => done({ ms: performance.now() - started, code, stdout, stderr }))
  })
}

const CLI_LOOP = `#!/bin/sh
# The same evidence as fir, by hand: one AWS CLI call per item, then the package.
set -u
out="$1"; shift
role="$1"; shift
since=$(( $(date +%s) * 1000 - 86400000 ))
for fn in "$@"; do
  d="$out/$fn"; mkdir -p "$d"
  aws lambda get-function --function-name "$fn" > "$d/get-function.json"
  aws lambda list-versions-by-function --function-name "$fn" > "$d/versions.json"
  aws lambda list-aliases --function-name "$fn" > "$d/aliases.json"
  aws lambda get-policy --function-name "$fn" > "$d/policy.json" 2>/dev/null || true
  aws lambda get-function-url-config --function-name "$fn" > "$d/url.json" 2>/dev/null || true
  aws lambda list-event-source-mappings --function-name "$fn" > "$d/esm.json"
  aws lambda get-function-concurrency --function-name "$fn" > "$d/concurrency.json"
  aws lambda list-provisioned-concurrency-configs --function-name "$fn" > "$d/provisioned.json" 2>/dev/null || true
  aws lambda list-function-event-invoke-configs --function-name "$fn" > "$d/eic.json"
  aws lambda get-function-code-signing-config --function-name "$fn" > "$d/csc.json"
  aws iam get-role --role-name "$role" > "$d/role.json"
  aws iam list-role-policies --role-name "$role" > "$d/role-inline.json"
  aws iam list-attached-role-policies --role-name "$role" > "$d/role-attached.json"
  aws logs filter-log-events --log-group-name "/aws/lambda/$fn" --start-time "$since" > "$d/logs.json" 2>/dev/null || true
  aws cloudtrail describe-trails > "$d/trails.json"
  key=$(jq -r '.Code.Location' "$d/get-function.json" | sed -E 's#^https://[^/]+/##')
  aws s3api get-object --bucket awslambda-us-east-1-tasks --key "$key" "$d/code.zip" > /dev/null
  sha256sum "$d/code.zip" > "$d/code.sha256"
done
`

async function maxRssKb(
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ kb: number; code: number | null }> {
  const r = await timed('/usr/bin/time', ['-v', process.execPath, BIN, ...argv], env, cwd)
  const m = r.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/)
  return { kb: m ? Number(m[1]) : Number.NaN, code: r.code }
}

async function main(): Promise<void> {
  const moto = await startMoto()
  const env = envFor(moto.endpoint)
  const work = await mkdtemp(join(tmpdir(), 'fir-bench-snapshot-'))
  try {
    console.error(`moto on ${moto.endpoint}; seeding ${N} functions sharing one role…`)
    const role = await seedRole(moto.endpoint, {
      name: 'bench-shared-role',
      inline: {
        app: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' }],
        },
      },
      managed: {
        'bench-data': {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
        },
      },
    })
    const names: string[] = []
    for (let i = 0; i < N; i++) {
      const name = `bench-fn-${String(i).padStart(3, '0')}`
      await seedFunction(moto.endpoint, {
        name,
        roleArn: role.arn,
        zip: handlerZip(name),
        env: { DB_PASSWORD: `bench-password-${i}-xyz`, STAGE: 'prod' },
      })
      if (i % 10 === 0) await seedLogEvents(moto.endpoint, name, [{ message: `START ${name}` }])
      names.push(name)
    }

    const cases = join(work, 'cases')
    await mkdir(cases, { recursive: true })
    const firRun = async (id: string, extra: string[]) => {
      const h = await CaseHandle.init(id, { cwd: work, firVersion: 'bench' })
      await h.close()
      const r = await timed(
        process.execPath,
        [
          BIN,
          'snapshot',
          '--all-using-role',
          'bench-shared-role',
          '--case',
          `cases/${id}`,
          '--json',
          ...extra,
        ],
        env,
        work,
      )
      const json = JSON.parse(r.stdout) as { status: number; result: { functions: unknown[]; files: number } }
      if (json.result.functions.length !== N)
        throw new Error(`fir snapshotted ${json.result.functions.length} of ${N}`)
      return { ms: r.ms, status: json.status, files: json.result.files }
    }
    console.error('fir snapshot --all-using-role (default pacing, 10 Lambda requests/s)…')
    const firDefault = await firRun('BENCH-DEFAULT', [])
    console.error('fir snapshot --all-using-role --lambda-rps 1000…')
    const firFast = await firRun('BENCH-FAST', ['--lambda-rps', '1000'])

    const cliVersion = (await run('aws', ['--version'], { env })).stdout.trim() || 'unknown'
    const script = join(work, 'cli-loop.sh')
    await writeFile(script, CLI_LOOP, { mode: 0o755 })
    console.error(`AWS CLI loop over ${CLI_N} function(s) with ${cliVersion}…`)
    const cli = await timed(
      '/bin/sh',
      [script, join(work, 'cli-out'), 'bench-shared-role', ...names.slice(0, CLI_N)],
      env,
      work,
    )
    if (cli.code !== 0) throw new Error(`the CLI loop failed: ${cli.stderr.slice(-2000)}`)
    const cliPerFunction = cli.ms / CLI_N
    const cliTotal = cliPerFunction * N

    console.error(`peak RSS: one function with a ${PACKAGE_MB} MB package, and one with a 1 KB package…`)
    const bigZip = makeZip([
      { name: 'index.py', data: 'def handler(e, c):\n    return 1\n' },
      {
        name: 'vendor/blob.bin',
        data: (await import('node:crypto')).randomBytes(PACKAGE_MB * 1024 * 1024),
        method: 'store',
      },
    ])
    await seedFunction(moto.endpoint, { name: 'bench-big', roleArn: role.arn, zip: bigZip })
    const rssCase = async (id: string, fn: string) => {
      const h = await CaseHandle.init(id, { cwd: work, firVersion: 'bench' })
      await h.close()
      return maxRssKb(['snapshot', fn, '--case', `cases/${id}`, '--json', '--lambda-rps', '1000'], env, work)
    }
    const rssBig = await rssCase('BENCH-RSS-BIG', 'bench-big')
    const rssSmall = await rssCase('BENCH-RSS-SMALL', names[0]!)

    const result = {
      functions: N,
      loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
      fir: {
        defaultPacing: {
          seconds: +(firDefault.ms / 1000).toFixed(1),
          files: firDefault.files,
          status: firDefault.status,
        },
        unpaced: { seconds: +(firFast.ms / 1000).toFixed(1), files: firFast.files, status: firFast.status },
      },
      awsCli: {
        version: cliVersion,
        functionsMeasured: CLI_N,
        secondsPerFunction: +(cliPerFunction / 1000).toFixed(1),
        secondsForAll: +(cliTotal / 1000).toFixed(0),
        extrapolated: CLI_N < N,
      },
      ratio: {
        defaultPacing: +(cliTotal / firDefault.ms).toFixed(1),
        unpaced: +(cliTotal / firFast.ms).toFixed(1),
      },
      peakRssMiB: {
        [`package${PACKAGE_MB}MB`]: +(rssBig.kb / 1024).toFixed(0),
        package1KB: +(rssSmall.kb / 1024).toFixed(0),
      },
    }
    await mkdir(resolve(args.out!, '..'), { recursive: true })
    await writeFile(args.out!, `${JSON.stringify(result, null, 2)}\n`)
    console.log(JSON.stringify(result, null, 2))
  } finally {
    await moto.stop()
  }
}

await main()
