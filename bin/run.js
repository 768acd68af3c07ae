#!/usr/bin/env node

// fir pins an AWS SDK that supports Node 20; its notice about future releases is not for responders.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
// oclif checks the Node.js version against its own engines as it loads, through semver (a tenth of
// the start-up of a short command); fir's own engines (package.json, >=20.19) ask more than oclif's.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= 'true'

// Without a terminal (nohup, cron, a script), a hangup does not end the run (see interrupt.js).
const { ignoreHangupWithoutTerminal, outputFlushed } = await import('../dist/core/common/interrupt.js')
ignoreHangupWithoutTerminal()

// `fir --version --json`: the version as fir's JSON document, not oclif's text line (output.ts).
const args = process.argv.slice(2)
const versionJson =
  args.includes('--version') && args.includes('--json')
    ? await (await import('../dist/output.js')).ownVersionDocument(args)
    : undefined
if (versionJson !== undefined) process.stdout.write(versionJson)
else {
  const { execute } = await import('@oclif/core')
  await execute({ dir: import.meta.url })
}
// Output still queued for a pipe is written before the exit (a long --json document, cut off).
await outputFlushed()
// The one place fir exits: commands set process.exitCode; open sockets must not keep us alive.
process.exit(process.exitCode ?? 0)
