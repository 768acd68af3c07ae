// Preloaded (node --require) into a fir process by a test: kills the process with SIGKILL, as a
// crash or `kill -9` would, at a chosen file system call. FIR_TEST_KILL_AT=open:<name> kills it as
// it opens a file so named; write:<name> as it first writes to one; a name of * is any file.
// Test-only: fir never loads it.
const fsp = require('node:fs/promises')
const { syncBuiltinESMExports } = require('node:module')
const [call, name] = (process.env.FIR_TEST_KILL_AT ?? '').split(':')
const named = (path) => name === '*' || String(path).split('/').at(-1) === name
const open = fsp.open
fsp.open = async (path, ...rest) => {
  if (call === 'open' && named(path)) process.kill(process.pid, 'SIGKILL')
  const handle = await open(path, ...rest)
  if (call === 'write' && named(path)) {
    handle.write = () => process.kill(process.pid, 'SIGKILL')
    handle.writeFile = () => process.kill(process.pid, 'SIGKILL')
  }
  return handle
}
syncBuiltinESMExports()
