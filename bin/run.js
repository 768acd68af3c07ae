#!/usr/bin/env node
// fir pins an AWS SDK that supports Node 20; its notice about future releases is not for responders.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

// Without a terminal (nohup, cron, a script), a hangup does not end the run (see interrupt.js).
const { ignoreHangupWithoutTerminal } = await import('../dist/core/common/interrupt.js')
ignoreHangupWithoutTerminal()

const { execute } = await import('@oclif/core')
await execute({ dir: import.meta.url })
// Node writes to a pipe asynchronously: what the pipe had no room for yet is still queued, and
// exiting now would cut a long --json document off mid-string. An empty write's callback runs
// once everything before it is written (or the reader is gone).
const flushed = (stream) =>
  new Promise((resolve) => (stream.writableLength === 0 ? resolve() : stream.write('', () => resolve())))
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
// The one place fir exits: commands set process.exitCode; open sockets must not keep us alive.
process.exit(process.exitCode ?? 0)
