// Preloaded (node --require) into a fir process by a test: kills the process with SIGKILL, as a
// crash or `kill -9` would, at a chosen file system call. FIR_TEST_KILL_AT=open:<name> kills it as
// it opens a file so named; write:<name> as it first writes to one; rename:<name> as it renames a
// file to one so named (before the rename); a name of * is any file, and * and ? in a name match
// as in a shell (open:.????????????.tmp: as an atomic write's temporary is opened, whatever its
// random name). A third part, :<n>, waits for the n-th such call (open:journal.jsonl:3: as the
// journal is opened for the third time).
// FIR_TEST_KILL_SIGNAL=SIGSTOP stops it there instead (alive, holding what it holds, until SIGCONT).
// Test-only: fir never loads it.
const fsp = require('node:fs/promises')
const { syncBuiltinESMExports } = require('node:module')
const [call, name, nth] = (process.env.FIR_TEST_KILL_AT ?? '').split(':')
const signal = process.env.FIR_TEST_KILL_SIGNAL ?? 'SIGKILL'
const glob = new RegExp(
  `^${(name ?? '')
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')}$`,
)
const named = (path) => glob.test(String(path).split('/').at(-1))
let seen = 0
const due = (path) => named(path) && ++seen >= Number(nth ?? 1)
const open = fsp.open
fsp.open = async (path, ...rest) => {
  if (call === 'open' && due(path)) process.kill(process.pid, signal)
  const handle = await open(path, ...rest)
  if (call === 'write' && named(path)) {
    handle.write = () => process.kill(process.pid, signal)
    handle.writeFile = () => process.kill(process.pid, signal)
  }
  return handle
}
const rename = fsp.rename
fsp.rename = async (from, to) => {
  if (call === 'rename' && due(to)) process.kill(process.pid, signal)
  return rename(from, to)
}
syncBuiltinESMExports()
