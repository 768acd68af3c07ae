#!/usr/bin/env node
// Runs fir through tsx (TypeScript without a separate build step), for development.
import { register } from 'tsx/esm/api'

// fir pins an AWS SDK that supports Node 20; its notice about future releases is not for responders.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
register()
// As bin/run.js: `fir --version --json` is fir's JSON document, not oclif's text line.
const args = process.argv.slice(2)
const versionJson =
  args.includes('--version') && args.includes('--json')
    ? await (await import('../src/output.js')).ownVersionDocument(args)
    : undefined
if (versionJson !== undefined) process.stdout.write(versionJson)
else {
  const { execute } = await import('@oclif/core')
  await execute({ development: true, dir: import.meta.url })
}
// As bin/run.js: output still queued for a pipe is written before the exit.
const { outputFlushed } = await import('../src/core/common/interrupt.js')
await outputFlushed()
process.exit(process.exitCode ?? 0)
