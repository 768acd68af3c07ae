import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { type FirContext, Gaps } from '../../../src/core/context.js'
import { tempDir } from '../../support/cli.js'

/**
 * A real case folder and emulator-only AWS clients (nothing listens at the default endpoint); call
 * it inside a test.
 */
export async function timelineContext(endpoint = 'http://127.0.0.1:9', region = 'us-east-1') {
  const root = await tempDir('fir-timeline-')
  const dir = join(root, 'case')
  const handle = await CaseHandle.init('TL-1', { dir, firVersion: '0.0.0-test' })
  // The case lock is released when the test ends, as a command releases it when it ends.
  onTestFinished(() => handle.close())
  const aws = await AwsClients.create({ endpoint, emulatorOnly: true, region, maxAttempts: 2 })
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
    dryRun: false,
    confirm: async () => false,
  }
  return { ctx, dir, root, handle, lines }
}
