import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { type FirContext, Gaps } from '../../../src/core/context.js'
import { tempDir } from '../../support/cli.js'

/** A real case folder and real AWS clients (emulator-only) for core tests; call it inside a test. */
export async function testContext(
  endpoint: string,
  options: { dryRun?: boolean; region?: string; maxAttempts?: number } = {},
) {
  const dir = join(await tempDir(), 'case')
  const handle = await CaseHandle.init('athena-test', { dir, firVersion: '0.0.0-test' })
  onTestFinished(() => handle.close()) // the case lock goes when the test ends
  const aws = await AwsClients.create({
    endpoint,
    emulatorOnly: true,
    region: options.region ?? 'us-east-1',
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  })
  const lines: string[] = []
  const ctx: FirContext = {
    aws,
    clock: aws.clock,
    case: handle,
    log: { info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), progress: () => undefined },
    gaps: new Gaps(),
    firVersion: '0.0.0-test',
    interactive: false,
    yes: false,
    dryRun: options.dryRun ?? false,
    confirm: async () => false,
  }
  return { ctx, dir, handle, lines }
}
