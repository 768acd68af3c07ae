import { existsSync } from 'node:fs'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFir, tempDir } from '../support/cli.js'

/**
 * Every scenario end to end through the built CLI, under an environment that would hand fir a
 * real-looking identity if it ever looked: a profile whose credential_process leaves a marker,
 * access keys in the environment, a non-loopback AWS_ENDPOINT_URL, proxies that record every
 * request, and no FIR_EMULATOR_ONLY. The emulator is real moto, started by fir through
 * FIR_PYTHON=a wrapper that logs the access key of every request moto receives.
 */

const REAL_LOOKING_KEY = 'AKIA2E0A8F3B244C9986'
const REAL_LOOKING_SECRET = 'q9Lk2vT8rXw1Zp4Ym7Nc3Bd6Fg0Hj5Ks8Qe2Ua1W'

interface Harness {
  dir: string
  env: NodeJS.ProcessEnv
  proxyRecords: string[]
  motoLog: string
  marker: string
}

let harness: Harness
let proxy: Server

beforeAll(async () => {
  const dir = await tempDir('fir-tabletop-safety-')
  const proxyRecords: string[] = []
  proxy = createServer((req, res) => {
    proxyRecords.push(`${req.method} ${req.url}`)
    res.writeHead(502).end()
  })
  proxy.on('connect', (req, socket) => {
    proxyRecords.push(`CONNECT ${req.url}`)
    socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  const marker = join(dir, 'credential_process_ran')
  const motoLog = join(dir, 'moto-requests.jsonl')
  await writeFile(
    join(dir, 'config'),
    `[default]\nregion = eu-west-1\n[profile prod-admin]\nregion = eu-west-1\ncredential_process = /bin/sh -c "touch ${marker}; echo '{\\"Version\\":1,\\"AccessKeyId\\":\\"AKIAPROFILEPROCESS01\\",\\"SecretAccessKey\\":\\"${REAL_LOOKING_SECRET}\\"}'"\n`,
  )
  await writeFile(
    join(dir, 'credentials'),
    `[default]\naws_access_key_id = AKIADEFAULTPROFILE01\naws_secret_access_key = ${REAL_LOOKING_SECRET}\n[prod-admin]\naws_access_key_id = AKIAPRODADMINPROF001\naws_secret_access_key = ${REAL_LOOKING_SECRET}\n`,
  )
  // moto itself, unchanged, behind a WSGI wrapper that logs who signed each request.
  await writeFile(
    join(dir, 'recording_moto.py'),
    `import json, os, re, sys, threading
args = sys.argv[1:]
host = args[args.index('-H') + 1]
port = int(args[args.index('-p') + 1])
os.environ.setdefault('MOTO_PORT', str(port))
from werkzeug.serving import run_simple
from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()
def recording(environ, start_response):
    auth = environ.get('HTTP_AUTHORIZATION', '')
    qs = environ.get('QUERY_STRING', '')
    m = re.search(r'Credential=([^/,]+)/', auth) or re.search(r'X-Amz-Credential=([^%/&]+)', qs)
    rec = {'method': environ.get('REQUEST_METHOD'), 'path': environ.get('PATH_INFO'), 'host': environ.get('HTTP_HOST'),
           'remote': environ.get('REMOTE_ADDR'), 'key': m.group(1) if m else None,
           'token': environ.get('HTTP_X_AMZ_SECURITY_TOKEN')}
    with lock:
        with open(${JSON.stringify(motoLog)}, 'a') as f:
            f.write(json.dumps(rec) + '\\n')
    return app(environ, start_response)
run_simple(host, port, recording, threaded=True)
`,
  )
  const wrapper = join(dir, 'python-recording-moto')
  await writeFile(
    wrapper,
    `#!/bin/sh\n# called as: <this> -m moto.server -H HOST -p PORT\nshift 2\nexec python3 ${join(dir, 'recording_moto.py')} "$@"\n`,
  )
  await chmod(wrapper, 0o755)
  const env: NodeJS.ProcessEnv = {
    FIR_EMULATOR_ONLY: undefined,
    FIR_PYTHON: wrapper,
    AWS_PROFILE: 'prod-admin',
    AWS_DEFAULT_PROFILE: 'prod-admin',
    AWS_ACCESS_KEY_ID: REAL_LOOKING_KEY,
    AWS_SECRET_ACCESS_KEY: REAL_LOOKING_SECRET,
    AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEXAMPLESESSIONTOKENVALUE',
    AWS_REGION: 'eu-west-1',
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_ENDPOINT_URL: 'http://192.0.2.10:4566',
    AWS_ENDPOINT_URL_S3: 'http://192.0.2.10:4566',
    AWS_EC2_METADATA_DISABLED: undefined,
    HTTPS_PROXY: proxyUrl,
    HTTP_PROXY: proxyUrl,
    https_proxy: proxyUrl,
    http_proxy: proxyUrl,
    ALL_PROXY: proxyUrl,
    NODE_USE_ENV_PROXY: '1',
  }
  harness = { dir, env, proxyRecords, motoLog, marker }
})

afterAll(async () => {
  await new Promise<void>((r) => proxy.close(() => r()))
})

const EXPECTED: Record<
  string,
  { playbook: string; findings: string[]; rotatedUsers?: string[]; deactivatedOnly?: string[] }
> = {
  'public-url-backdoor': {
    playbook: 'public-function-exposure',
    findings: [
      'Lambda Function URL Without Authentication',
      'Lambda Function Policy Opened To Everyone Or Another Account',
    ],
  },
  'stolen-role-credentials': {
    playbook: 'lambda-compromise',
    findings: [
      'Function Role Credentials Used Outside Lambda',
      'Access Key Created For Another User',
      'Lambda Function Code Overwritten',
      'Another identity used from an address that used the execution role outside Lambda',
    ],
    // backup-admin: the key the stolen session created; ci-deployer: the leaked key that changed the
    // code, used from the address the stolen session came from.
    rotatedUsers: ['backup-admin', 'ci-deployer'],
    // The intruder made backup-admin's key: it is deactivated, and no new key is made for the user.
    deactivatedOnly: ['backup-admin'],
  },
  'leaked-key-in-environment': {
    playbook: 'leaked-access-key-in-function',
    findings: ['Administrator Permissions Granted To An IAM Identity', 'Access Key Created For Another User'],
    // The key in invoice-export's environment.
    rotatedUsers: ['invoice-uploader'],
  },
  'malicious-layer': {
    playbook: 'malicious-layer',
    findings: [
      'Lambda Function Layers Or Execution Role Changed',
      'Function Role Credentials Used Outside Lambda',
    ],
  },
}

describe('fir tabletop run (built CLI, real moto, hostile environment)', () => {
  it('lists the scenarios', async () => {
    const r = await runFir(['tabletop', 'list', '--json'])
    expect(r.code).toBe(0)
    const names = r.json.result.scenarios.map((s: { name: string; valid: boolean }) => `${s.name}:${s.valid}`)
    expect(names).toEqual(expect.arrayContaining(Object.keys(EXPECTED).map((n) => `${n}:true`)))
  })

  for (const [scenario, expected] of Object.entries(EXPECTED)) {
    it(`${scenario}: exits 0, prints the report path, the report names the planted compromise, nothing leaves loopback`, async () => {
      const cwd = await tempDir('fir-drill-')
      const before = harness.proxyRecords.length
      const r = await runFir(['tabletop', 'run', scenario], { cwd, env: harness.env, timeoutMs: 300_000 })
      expect(r.code, r.stderr).toBe(0)
      const reportPath = r.stdout.match(/^Report: (.+)$/m)?.[1]
      expect(reportPath, r.stdout).toMatch(
        new RegExp(`${cwd}/cases/tabletop-${scenario}-\\d{8}T\\d{6}Z/reports/report\\.html$`),
      )
      expect(existsSync(reportPath!)).toBe(true)
      const md = await readFile(reportPath!.replace(/\.html$/, '.md'), 'utf8')
      const html = await readFile(reportPath!, 'utf8')
      for (const f of expected.findings) {
        expect(md, f).toContain(f)
        expect(html, f).toContain(f)
      }
      expect(r.stdout).toContain('The report names it')
      expect(r.stdout).not.toContain('MISSED')
      // A recommendation whose command calls AWS says this case refuses it (the drill's emulator
      // is gone); one that reads the case (fir case verify) needs no such word.
      const recs = md.split('\n').filter((l) => /^1\. \*\*(Now|Soon|Later):/.test(l))
      const callsAws = recs.filter((l) => / Run `(fir (?!case |report)|aws )/.test(l))
      expect(callsAws.length, md).toBeGreaterThan(0)
      for (const l of callsAws) expect(l).toContain(`This case is the ${scenario} drill's`)
      for (const l of recs.filter((x) => x.includes('Run `fir case verify')))
        expect(l).not.toContain("drill's:")
      // the case is whole
      const caseDir = reportPath!.replace(/\/reports\/report\.html$/, '')
      const verify = await runFir(['case', 'verify', '--case', caseDir])
      expect(verify.code, verify.stderr).toBe(0)
      const journal = (await readFile(join(caseDir, 'journal.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      const run = journal.find((e) => e.action === 'playbook.run' && e.outcome === 'started')
      expect(run.params.playbook).toBe(expected.playbook)
      expect(journal.some((e) => e.action === 'playbook.run' && e.outcome === 'applied')).toBe(true)
      const rotated = journal
        .filter((e) => e.action === 'credentials.rotate-key' && e.outcome === 'applied')
        .map((e) => {
          // The key the user had is inactive, the one fir made active.
          const keys = e.after.keys as { id: string; status: string }[]
          expect(keys.filter((k) => k.status === 'Active').map((k) => k.id)).toEqual(e.after.firKeyIds)
          // The target is `<user ARN>#<key id rotated out>`.
          const user = String(e.target).split('/').at(-1)!.split('#')[0]!
          if (expected.deactivatedOnly?.includes(user)) {
            expect(e.after.firKeyIds, user).toEqual([])
            expect(
              keys.map((k) => k.status),
              user,
            ).toEqual(['Inactive'])
          } else expect(e.after.firKeyIds, user).toHaveLength(1)
          return user
        })
      expect(rotated.sort()).toEqual(expected.rotatedUsers ?? [])

      // Safety: the responder's identity was never used, nothing went through a proxy or off loopback.
      expect(r.stderr).toMatch(/ignoring .*AWS_ACCESS_KEY_ID.*AWS_PROFILE/)
      expect(harness.proxyRecords.slice(before)).toEqual([])
      expect(existsSync(harness.marker)).toBe(false)
      const seen = (await readFile(harness.motoLog, 'utf8'))
        .trim()
        .split('\n')
        .map(
          (l) => JSON.parse(l) as { key: string | null; host: string; remote: string; token: string | null },
        )
      const signed = seen.filter((s) => s.key !== null)
      expect(signed.length).toBeGreaterThan(50)
      expect([...new Set(signed.map((s) => s.key))]).toEqual(['testing'])
      expect(seen.some((s) => s.token)).toBe(false)
      expect(new Set(seen.map((s) => s.remote))).toEqual(new Set(['127.0.0.1']))
      for (const s of seen) expect(s.host).toMatch(/^127\.0\.0\.1:\d+$/)
      for (const text of [r.stdout, r.stderr, md, JSON.stringify(journal)]) {
        expect(text).not.toContain(REAL_LOOKING_KEY)
        expect(text).not.toContain(REAL_LOOKING_SECRET)
      }
      if (scenario === 'public-url-backdoor') {
        // A later command on the drill's case (a resume after Ctrl-C, a contain) under the same
        // environment: refused, naming the drill; the responder's credentials reach nothing.
        const later = await runFir(['contain', 'public-fn', '--case', caseDir, '--yes', '--json'], {
          cwd,
          env: harness.env,
        })
        expect(later.code, later.stderr).toBe(2)
        expect(JSON.parse(later.stdout).error.message).toMatch(
          /this case is a tabletop drill \(scenario public-url-backdoor\), and a drill never reaches AWS/,
        )
        expect(harness.proxyRecords.slice(before)).toEqual([])
        expect(existsSync(harness.marker)).toBe(false)
        const after = (await readFile(join(caseDir, 'journal.jsonl'), 'utf8')).trim().split('\n')
        expect(after.map((l) => JSON.parse(l).action).filter((a) => a.startsWith('containment.'))).toEqual(
          journal.map((e) => e.action).filter((a) => a.startsWith('containment.')),
        )
      }
    }, 320_000)
  }

  it('refuses a --case folder that is not empty, a missing moto and an unknown scenario (exit 2), creating nothing', async () => {
    const cwd = await tempDir('fir-drill-')
    await writeFile(join(cwd, 'keep.txt'), 'x')
    const r = await runFir(['tabletop', 'run', 'public-url-backdoor', '--case', '.', '--json'], { cwd })
    expect(r.code).toBe(2)
    expect(r.json.error.message).toMatch(/exists and is not empty/)
    expect(r.stderr).not.toContain('emulator')
    const nomoto = await runFir(['tabletop', 'run', 'public-url-backdoor'], {
      cwd,
      env: { FIR_PYTHON: join(cwd, 'no-python-here') },
    })
    expect(nomoto.code).toBe(2)
    expect(nomoto.stderr).toContain("pip install 'moto[server]'")
    expect(existsSync(join(cwd, 'cases'))).toBe(false)
    const bad = await runFir(['tabletop', 'run', 'no-such-drill'], { cwd })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('public-url-backdoor')
  })
})
