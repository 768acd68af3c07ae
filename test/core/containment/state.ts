/**
 * Test helpers for containment: what moto holds for a function (every field contain touches),
 * read straight through the SDK, and an in-process FirContext on a fresh case.
 */
import { join } from 'node:path'
import { GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam'
import {
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  LambdaClient,
  ListAliasesCommand,
  ListEventSourceMappingsCommand,
} from '@aws-sdk/client-lambda'
import { AwsClients } from '../../../src/aws/clients.js'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { type FirContext, Gaps } from '../../../src/core/context.js'
import { tempDir } from '../../support/cli.js'

const creds = { accessKeyId: 'testing', secretAccessKey: 'testing' }

export function sdk(endpoint: string, region = 'us-east-1') {
  const cfg = { region, endpoint, credentials: creds, maxAttempts: 1 }
  return { lambda: new LambdaClient(cfg), iam: new IAMClient(cfg) }
}

export interface FunctionState {
  reserved: number | null
  description: string
  urls: Record<string, string | null>
  statements: Record<string, unknown>
  mappings: Record<string, string>
  roleInlinePolicies: Record<string, unknown>
}

/** Every field containment changes, as moto holds it now. */
export async function functionState(endpoint: string, fn: string, roleName: string): Promise<FunctionState> {
  const { lambda, iam } = sdk(endpoint)
  const cfg = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }))
  const conc = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: fn }))
  const aliases = (await lambda.send(new ListAliasesCommand({ FunctionName: fn }))).Aliases ?? []
  const urls: Record<string, string | null> = {}
  for (const q of [undefined, ...aliases.map((a) => a.Name!)]) {
    try {
      const u = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: fn, Qualifier: q }))
      urls[q ?? '$LATEST'] = u.AuthType ?? null
    } catch {
      urls[q ?? '$LATEST'] = null
    }
  }
  const statements: Record<string, unknown> = {}
  try {
    const p = await lambda.send(new GetPolicyCommand({ FunctionName: fn }))
    for (const s of JSON.parse(p.Policy ?? '{}').Statement ?? []) statements[s.Sid] = s
  } catch {}
  const mappings: Record<string, string> = {}
  for (const m of (await lambda.send(new ListEventSourceMappingsCommand({}))).EventSourceMappings ?? []) {
    if (m.FunctionArn?.startsWith(cfg.FunctionArn!)) mappings[m.UUID!] = m.State!
  }
  const roleInlinePolicies: Record<string, unknown> = {}
  for (const name of (await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ??
    []) {
    const d = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }))
    const text = d.PolicyDocument!
    roleInlinePolicies[name] = JSON.parse(text.startsWith('%') ? decodeURIComponent(text) : text)
  }
  return {
    reserved: conc.ReservedConcurrentExecutions ?? null,
    description: cfg.Description ?? '',
    urls,
    statements,
    mappings,
    roleInlinePolicies,
  }
}

/** A FirContext on a fresh case `caseId` in a temp folder, against the emulator. */
export async function testContext(
  endpoint: string,
  options: { caseId?: string; yes?: boolean; interactive?: boolean; answer?: boolean; caseDir?: string } = {},
): Promise<FirContext & { questions: string[]; infos: string[] }> {
  const dir = options.caseDir ?? join(await tempDir(), 'case')
  const handle = options.caseDir
    ? await CaseHandle.open(dir)
    : await CaseHandle.init(options.caseId ?? 'T-1', { dir, firVersion: 'test' })
  const aws = await AwsClients.create({ endpoint, emulatorOnly: true, region: 'us-east-1', maxAttempts: 1 })
  const questions: string[] = []
  const infos: string[] = []
  return {
    aws,
    clock: aws.clock,
    case: handle,
    log: { info: (m) => infos.push(m), warn: (m) => infos.push(`warning: ${m}`), progress: () => undefined },
    gaps: new Gaps(),
    firVersion: 'test',
    interactive: options.interactive ?? false,
    yes: options.yes ?? true,
    dryRun: false,
    async confirm(q) {
      questions.push(q)
      return options.answer ?? false
    },
    questions,
    infos,
  }
}
