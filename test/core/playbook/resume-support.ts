import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  GetRolePolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam'
import {
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda'
import {
  DescribeSecretCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager'
import { expect } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { loadScenario } from '../../../src/core/tabletop/scenario.js'
import { seedScenario } from '../../../src/core/tabletop/seed.js'
import { type CliResult, runFir, tempDir } from '../../support/cli.js'
import { resetMoto } from '../../support/moto.js'

/** The lambda-compromise run every resume test repeats, on the stolen-role-credentials drill's state. */
export const STEPS = [
  'seal',
  'hold',
  'revoke',
  'recycle',
  'rotate-keys',
  'timeline',
  'rotate-secrets',
  'created-keys',
  'attacker-keys',
  'report',
]
/**
 * rotate-keys is skipped (no long-term key in the function's environment): there is nothing to
 * kill. attacker-keys runs the action created-keys runs (credentials.rotate-key, on another user),
 * whose kill is tested; both are in every run and checked to finish once.
 */
export const KILLABLE = STEPS.filter((s) => s !== 'rotate-keys' && s !== 'attacker-keys')

type Entry = { action: string; outcome: string; target: string; params: Record<string, any> }

export async function readJournal(dir: string): Promise<Entry[]> {
  return (await readFile(join(dir, 'journal.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Entry)
}

/** Fresh emulator state, a fresh case (same id every time, so fir's policy names match). */
export async function prepare(endpoint: string): Promise<{ cwd: string; dir: string; args: string[] }> {
  await resetMoto(endpoint)
  const aws = await AwsClients.create({ endpoint, region: 'us-east-1', emulatorOnly: true })
  const seed = await seedScenario(aws, (await loadScenario('stolen-role-credentials')).scenario, {
    now: new Date(),
  })
  const cwd = await tempDir('fir-resume-')
  // Made in-process (as `fir case init` makes it): the CLI runs under test are the playbook's.
  await (await CaseHandle.init('RESUME-1', { firVersion: '0.1.0', cwd })).close()
  const dir = join(cwd, 'cases', 'RESUME-1')
  const args = [
    '--case',
    dir,
    '--input',
    'function=payments-webhook',
    '--input',
    `source=${seed.trailSource}`,
    '--yes',
  ]
  return { cwd, dir, args }
}

/**
 * Fresh state, then runs the playbook and SIGKILLs the process as soon as the journal shows that
 * step `kill` has started (the step is then in flight: its AWS calls may or may not have landed).
 * A fast last step can finish before the signal lands; then the attempt is repeated on fresh state.
 */
export async function killAt(
  endpoint: string,
  kill: string,
): Promise<{ cwd: string; dir: string; result: CliResult }> {
  let last: CliResult | undefined
  for (let attempt = 0; attempt < 4; attempt++) {
    const { cwd, dir, args } = await prepare(endpoint)
    last = await runAndKill(endpoint, cwd, dir, args, kill)
    if (last.signal === 'SIGKILL') return { cwd, dir, result: last }
  }
  throw new Error(`the run was never killed at step ${kill}: ${last?.stderr}`)
}

async function runAndKill(
  endpoint: string,
  cwd: string,
  dir: string,
  args: string[],
  kill: string,
): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined
  const needle = `"step":"${kill}"`
  const r = await runFir(['playbook', 'run', 'lambda-compromise', ...args], {
    cwd,
    endpoint,
    timeoutMs: 300_000,
    onSpawn(child) {
      timer = setInterval(async () => {
        const text = await readFile(join(dir, 'journal.jsonl'), 'utf8').catch(() => '')
        for (const line of text.split('\n')) {
          if (
            line.includes('"action":"playbook.step"') &&
            line.includes(needle) &&
            line.includes('"outcome":"started"')
          ) {
            child.kill('SIGKILL')
            clearInterval(timer)
            return
          }
        }
      }, 5)
    },
  })
  clearInterval(timer)
  return r
}

/** The AWS state the playbook leaves, without what differs from run to run (times, ids). */
export async function awsState(endpoint: string): Promise<Record<string, unknown>> {
  const cfg = {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  }
  const lambda = new LambdaClient(cfg)
  const iam = new IAMClient(cfg)
  const sm = new SecretsManagerClient(cfg)
  const fn = 'payments-webhook'
  const conf = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }))
  const conc = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: fn }))
  const policy = await lambda.send(new GetPolicyCommand({ FunctionName: fn })).catch(() => undefined)
  const role = 'payments-webhook-role'
  const inline = (await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? []
  const docs: Record<string, unknown> = {}
  for (const name of inline) {
    const doc =
      (await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }))).PolicyDocument ?? ''
    // the revocation embeds "now": keep its shape, not its time
    docs[name] = decodeURIComponent(doc).replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<time>')
  }
  const keysOf = async (user: string) =>
    ((await iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? [])
      .map((k) => k.Status)
      .sort()
  const secrets: Record<string, unknown> = {}
  for (const s of (await sm.send(new ListSecretsCommand({}))).SecretList ?? []) {
    const d = await sm.send(new DescribeSecretCommand({ SecretId: s.ARN! }))
    secrets[s.Name!] = Object.values(d.VersionIdsToStages ?? {})
      .map((stages) => [...stages].sort().join('+'))
      .sort()
  }
  return {
    description: (conf.Description ?? '').replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/g, '<time>'),
    reservedConcurrency: conc.ReservedConcurrentExecutions ?? null,
    statements: policy?.Policy
      ? JSON.parse(policy.Policy)
          .Statement.map((s: { Sid: string }) => s.Sid)
          .sort()
      : [],
    rolePolicies: docs,
    backupAdminKeys: await keysOf('backup-admin'),
    ciDeployerKeys: await keysOf('ci-deployer'),
    secrets,
  }
}

/** Each playbook step finished exactly once; no change of the steps beneath was made twice. */
export function expectEachStepOnce(journal: Entry[], killed?: string): void {
  const finals = journal.filter((e) => e.action === 'playbook.step' && e.outcome !== 'started')
  for (const s of STEPS) {
    const mine = finals.filter((e) => e.params.step === s)
    expect(
      mine.map((e) => e.outcome),
      `step ${s}`,
    ).toHaveLength(1)
    expect(['applied', 'already-applied', 'skipped'], `step ${s}`).toContain(mine[0]!.outcome)
  }
  if (killed) {
    const outcome = finals.find((e) => e.params.step === killed)!.outcome
    expect(['applied', 'already-applied'], `killed step ${killed}`).toContain(outcome)
  }
  const changes = journal.filter(
    (e) => /^(containment|credentials)\./.test(e.action) && e.outcome === 'applied' && !e.params.undoOf,
  )
  const byTarget = new Map<string, number>()
  for (const e of changes)
    byTarget.set(`${e.action} ${e.target}`, (byTarget.get(`${e.action} ${e.target}`) ?? 0) + 1)
  for (const [k, n] of byTarget) expect(n, `${k} applied more than once`).toBe(1)
}
