import { spawnSync } from 'node:child_process'
import { chownSync, closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  fileSystemProblem,
  isMissingArguments,
  missingArgumentsError,
  toFir,
} from '../../src/base-command.js'
import { refusedCaseFolder } from '../../src/core/case/case-folder.js'
import { AtomicFileWriter, openOutputFile } from '../../src/core/timeline/store.js'
import { ExitCode, type FirError } from '../../src/errors.js'
import { BIN, REPO_ROOT, runFir, tempDir } from '../support/cli.js'

/** Files the CLI reads as it starts: another user can run it only if they can read these. */
const READ_BY_FIR = [
  BIN,
  join(REPO_ROOT, 'dist/base-command.js'),
  join(REPO_ROOT, 'node_modules/@oclif/core/package.json'),
]

/** The error a real system call gives (not one built by hand). */
function failure(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn()
  } catch (err) {
    return err as NodeJS.ErrnoException
  }
  throw new Error('expected the call to fail')
}

describe('errors the machine causes (a full disk, a read-only or locked folder)', () => {
  it('are clear errors with what to do (exit 2), not bugs with a stack trace', async () => {
    // /dev/full answers every write with ENOSPC, as a full disk does.
    const fd = openSync('/dev/full', 'w')
    const full = failure(() => writeSync(fd, Buffer.alloc(4096)))
    closeSync(fd)
    expect(full.code).toBe('ENOSPC')
    const fir = toFir(full)
    expect([fir.code, fir.exitCode, fir.message]).toEqual([
      'disk-full',
      ExitCode.usage,
      'unable to write to disk: no space left on the device (ENOSPC)',
    ])
    expect(fir.actions[0]).toMatch(/^free space on the disk that holds the case/)
    // A write that names its file (an export's --out, here /dev/full): that file's disk, not the case's.
    const out = await openOutputFile('/dev/full')
    const named = await out.write('x').then(
      () => undefined,
      (e: unknown) => toFir(e),
    )
    await out.abort()
    expect(named?.message).toBe('unable to write /dev/full: no space left on the device (ENOSPC)')
    expect(named?.actions[0]).toBe(
      'free space on the disk that holds /dev/full (`df -h /dev` shows it), or write it to a larger disk (a file of the case: move the case), then run the command again',
    )

    // A file no one may write, root included (sysfs enforces its mode).
    const denied = failure(() => openSync('/sys/kernel/notes', 'w'))
    expect(toFir(denied).message).toBe('unable to open /sys/kernel/notes: permission denied (EACCES)')
    expect(toFir(denied).exitCode).toBe(ExitCode.usage)
    const dir = await tempDir()
    // A bug stays a bug: an error that is not from a file system call, or not one of these.
    expect(toFir(new Error('x is undefined')).exitCode).toBe(ExitCode.bug)
    expect(fileSystemProblem(failure(() => openSync(join(dir, 'missing'), 'r')))).toBeUndefined()
    expect(fileSystemProblem(Object.assign(new Error('no space'), { code: 'ENOSPC' }))).toBeUndefined()
  })

  it('EPERM (an immutable folder, one macOS protects) is one of them, with its likely causes', async () => {
    // sysfs lets no one make a folder, root included: EPERM, as an immutable folder (chattr +i) or
    // ~/Desktop without Full Disk Access give. It had been a bug's stack trace (exit 1).
    // Another user than root may not even try (EACCES); giving a file of theirs to root is EPERM.
    let refused = failure(() => mkdirSync('/sys/kernel/fir-test'))
    let message = 'unable to write /sys/kernel/fir-test: the operation is not permitted (EPERM)'
    if (refused.code !== 'EPERM') {
      const mine = join(await tempDir(), 'mine')
      writeFileSync(mine, '')
      refused = failure(() => chownSync(mine, 0, 0))
      message = `unable to write ${mine}: the operation is not permitted (EPERM)`
    }
    expect(refused.code).toBe('EPERM')
    const fir = toFir(refused)
    expect([fir.code, fir.exitCode, fir.message]).toEqual(['permission-denied', ExitCode.usage, message])
    expect(fir.actions[0]).toMatch(/immutable .*`chattr -i`.* macOS .*Full Disk Access/)
  })

  it('from the command line parser say why a value is refused (oclif gives the reason on a second line)', async () => {
    const { Args, Flags, Parser } = await import('@oclif/core')
    const refusal = async (argv: string[]) => {
      try {
        await Parser.parse(argv, { flags: { 'log-hours': Flags.integer({ min: 1, max: 720 }) } })
      } catch (err) {
        return toFir(err)
      }
      throw new Error('parsed')
    }
    // Before: "unable to parse the command line: Parsing --log-hours " and nothing more.
    const low = await refusal(['--log-hours', '-5'])
    expect(low.exitCode).toBe(ExitCode.usage)
    expect(low.message).toBe(
      'unable to parse the command line: Parsing --log-hours: Expected an integer greater than or equal to 1 but received: -5',
    )
    expect((await refusal(['--log-hours', '1e9'])).message).toMatch(/Expected an integer but received: 1e9$/)
    expect((await refusal(['--nope'])).message).toBe(
      'unable to parse the command line: Nonexistent flag: --nope',
    )
  })

  it('from the command line parser suggest the flag a mistyped one was meant to be', async () => {
    const { Flags, Parser } = await import('@oclif/core')
    const flags = {
      actions: Flags.string(),
      since: Flags.string(),
      case: Flags.string(),
      'dry-run': Flags.boolean(),
      secret: Flags.string({ hidden: true }),
    }
    const actions = async (argv: string[]) => {
      try {
        await Parser.parse(argv, { flags })
      } catch (err) {
        return toFir(err).actions
      }
      throw new Error('parsed')
    }
    const help = 'run the command with --help to see its flags and examples'
    // Before: only the advice to read --help.
    expect(await actions(['--action', 'url'])).toEqual(['did you mean --actions?', help])
    expect(await actions(['--sinse', '7d'])).toEqual(['did you mean --since?', help])
    expect(await actions(['--dry'])).toEqual(['did you mean --dry-run?', help]) // the one flag it begins
    expect(await actions(['--cse=cases/A', '--secrt', '--zzzzzzzz'])).toEqual([
      '--cse: did you mean --case?',
      help,
    ])
  })

  it('name the file a failed write was for (a write call names none)', async () => {
    const dir = await tempDir()
    const writer = await new AtomicFileWriter(join(dir, 'events.jsonl'), 16).open()
    // Its descriptor closed behind its back: the next flush fails as a full disk would, by fd.
    closeSync((writer as unknown as { handle: { fd: number } }).handle.fd)
    const err = await writer.write('more than sixteen bytes').then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    )
    expect(err?.code).toBe('EBADF')
    expect(err?.path).toBe(join(dir, 'events.jsonl'))
    await writer.abort() // its temporary file goes (and is no longer watched for an interruption)
  })
})

describe('a folder fir may not make the case in (built CLI)', () => {
  it('is a clear error (exit 2) with the likely causes of EPERM and what to do', async () => {
    // As in a folder made immutable (chattr +i): sysfs refuses every mkdir, root's too (EPERM;
    // another user is refused before that: EACCES, with the same advice less the causes of EPERM).
    const code = failure(() => mkdirSync('/sys/kernel/fir-test')).code
    const r = await runFir(['case', 'init', 'INC-RO', '--json'], { cwd: '/sys/kernel' })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toBe('')
    expect(r.json.error.code).toBe('permission-denied')
    expect(r.json.error.message).toBe(
      `unable to create case INC-RO in /sys/kernel/cases/INC-RO: fir cannot write to /sys/kernel (${code})`,
    )
    expect(r.json.error.actions).toEqual([
      ...(code === 'EPERM'
        ? [expect.stringMatching(/immutable .*`chattr -i`.* macOS .*Full Disk Access/)]
        : []),
      'choose a --dir in a folder you can write to, or cd to one (fir creates the case folder itself)',
    ])
  })

  it('as a user who may not write there (EACCES), says to choose another folder: there is no case to own yet', async () => {
    const cwd = await tempDir()
    await chmod(cwd, 0o555) // no one but root may write in it; root runs fir as nobody
    const expected = [
      `error: unable to create case INC-RO in ${cwd}/cases/INC-RO: fir cannot write to ${cwd} (EACCES)`,
      '  → choose a --dir in a folder you can write to, or cd to one (fir creates the case folder itself)',
      '',
    ].join('\n')
    // The refusal itself, from the error mkdir gives (root may write anywhere: it cannot be made
    // to see EACCES, only to run fir as another user, who may not be able to read this checkout).
    const eacces = Object.assign(new Error(`EACCES: permission denied, mkdir '${cwd}/cases'`), {
      code: 'EACCES',
      syscall: 'mkdir',
      path: `${cwd}/cases`,
    })
    const refused = refusedCaseFolder(eacces, 'INC-RO', `${cwd}/cases/INC-RO`, '--dir') as FirError
    expect([refused.code, refused.exitCode]).toEqual(['permission-denied', 2])
    // Before: "run fir as the user who owns the case folder…", of a case folder not made yet.
    expect(`error: ${refused.message}\n${refused.actions.map((a) => `  → ${a}\n`).join('')}`).toBe(expected)
    // And through the CLI, where this user may not write (root: as nobody, when nobody can run it).
    const nobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined
    const runnable =
      !nobody ||
      spawnSync(
        process.execPath,
        ['-e', `for (const f of ${JSON.stringify(READ_BY_FIR)}) require('fs').accessSync(f)`],
        nobody,
      ).status === 0
    if (runnable) {
      const r = await runFir(['case', 'init', 'INC-RO'], { cwd, ...(nobody ? { user: nobody } : {}) })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toBe(expected)
    }
  })
})

describe('an unknown command or flag (built CLI)', () => {
  it("is fir's usage error with the nearest flag of the command (a mistyped --actions)", async () => {
    const r = await runFir(['contain', 'fnE', '--action', 'url', '--json'], { cwd: await tempDir() })
    expect(r.code).toBe(2)
    expect(r.json.error).toEqual({
      code: 'usage',
      message: 'unable to parse the command line: Nonexistent flag: --action',
      actions: ['did you mean --actions?', 'run the command with --help to see its flags and examples'],
    })
  })

  it("a missing argument is fir's usage error naming it, with the usage and what it may be; the note on flags of several values only when one was given", async () => {
    const r = await runFir(['playbook', 'run', '--json'], { cwd: await tempDir() })
    expect(r.code).toBe(2)
    // Before: "unable to parse the command line: Missing 1 required arg: playbook name (a shipped
    // one) or file (your own YAML): Note: --input allows multiple values. Because of this you need
    // to provide all arguments before providing that flag.: …", though no --input was given.
    expect(r.json.error.message).toBe('unable to run `fir playbook run`: the PLAYBOOK argument is missing')
    expect(r.json.error.actions).toEqual([
      'PLAYBOOK: name (a shipped one) or file (your own YAML)',
      expect.stringMatching(
        /^the shipped playbooks: lambda-compromise, .*\(`fir playbook list` describes them\)$/,
      ),
      'usage: fir playbook run PLAYBOOK [flags], e.g. fir playbook run lambda-compromise --case cases/INC-42 --input function=payments-webhook --dry-run',
      'run `fir playbook run --help` to see its flags and examples',
    ])
    // --input given: it took the playbook's name for one of its values.
    const { Args, Flags, Parser } = await import('@oclif/core')
    const missing = async (argv: string[]) => {
      try {
        await Parser.parse(argv, {
          args: { playbook: Args.string({ required: true, description: 'name or file' }) },
          flags: { input: Flags.string({ multiple: true }), case: Flags.string() },
        })
      } catch (err) {
        if (isMissingArguments(err))
          return missingArgumentsError(err, {
            command: 'fir playbook run',
            args: [{ name: 'playbook', required: true }],
          }).actions
      }
      throw new Error('no missing argument')
    }
    const note =
      '--input takes several values, so a word after it is read as one of them: give PLAYBOOK before --input, or put -- before it'
    expect(await missing(['--input', 'function=f', 'lambda-compromise'])).toContain(note)
    expect(await missing(['--case', 'cases/A'])).not.toContain(note)
  })

  it("a repeatable flag takes one value each time: the word after it is the command's argument, not a second value", async () => {
    const { Parser } = await import('@oclif/core')
    const commands = {
      timeline: (await import('../../src/commands/timeline.js')).default,
      'playbook run': (await import('../../src/commands/playbook/run.js')).default,
      'creds secrets': (await import('../../src/commands/creds/secrets.js')).default,
    }
    type Options = NonNullable<Parameters<typeof Parser.parse>[1]>
    const parse = (c: keyof typeof commands, argv: string[]) =>
      Parser.parse(argv, { args: commands[c].args, flags: commands[c].flags, strict: true } as Options)
    // Before: `--source trail.json orders-api` read orders-api as a second source ("unable to read
    // source orders-api") and the timeline as account-wide.
    const t = await parse('timeline', ['--source', 'trail.json', 'orders-api', '--source', 'api'])
    expect(t.args).toMatchObject({ function: 'orders-api' })
    expect(t.flags.source).toEqual(['trail.json', 'api'])
    const p = await parse('playbook run', ['--input', 'function=f', 'lambda-compromise', '--case', 'c'])
    expect(p.args).toMatchObject({ playbook: 'lambda-compromise' })
    expect(p.flags.input).toEqual(['function=f'])
    for (const c of Object.keys(commands) as (keyof typeof commands)[])
      for (const [name, f] of Object.entries(commands[c].flags))
        if ((f as { multiple?: boolean }).multiple)
          expect((f as { multipleNonGreedy?: boolean }).multipleNonGreedy, `${c} --${name}`).toBe(true)
  })

  it("`fir help <command>` shows that command's help, as `--help` does; an unknown one is a usage error", async () => {
    // There is no help command (oclif's plugin is not shipped): `fir help contain` said
    // `command help:contain not found`.
    const help = await runFir(['help', 'case', 'show'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Summarise a case/)
    expect(help.stdout).toContain('$ fir case show')
    const nope = await runFir(['help', 'contian'])
    expect(nope.code).toBe(2)
    expect(nope.stderr).toContain('did you mean `fir contain`?')
  })

  it("is fir's usage error (exit 2, one JSON document with --json) with the nearest real command, not oclif's `command a:b not found`", async () => {
    const cwd = await tempDir()
    const json = await runFir(['contian', 'fnE', '--json'], { cwd })
    expect(json.code).toBe(2)
    expect(json.stderr).toBe('')
    expect(json.json).toEqual({
      status: 2,
      error: {
        code: 'usage',
        message: 'unable to run `fir contian fnE`: fir has no such command',
        actions: ['did you mean `fir contain`?', 'see `fir --help` for every command'],
      },
    })
    const human = await runFir(['case', 'shwo'], { cwd })
    expect(human.code).toBe(2)
    expect(human.stdout).toBe('')
    expect(human.stderr).toBe(
      [
        'error: unable to run `fir case shwo`: fir has no such command',
        '  → did you mean `fir case show`?',
        '  → the case commands: fir case init, fir case show, fir case verify',
        '  → see `fir --help` for every command',
        '',
      ].join('\n'),
    )
    const none = await runFir(['case', 'frobnicate'], { cwd })
    expect(none.code).toBe(2)
    expect(none.stderr).not.toContain('did you mean')
    expect(none.stderr).not.toContain('case:frobnicate')
    expect(none.stderr).toContain('→ the case commands: fir case init, fir case show, fir case verify')

    // A topic is no command: with --json, an error document instead of its help.
    const topic = await runFir(['case', '--json'], { cwd })
    expect(topic.code).toBe(2)
    expect(topic.json).toEqual({
      status: 2,
      error: {
        code: 'usage',
        message: 'unable to run `fir case`: it is a group of commands, not a command',
        actions: ['run one of them: fir case init, fir case show, fir case verify', 'see `fir case --help`'],
      },
    })
    // Without --json the topic's help is what was asked for.
    const help = await runFir(['case'], { cwd })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('case show')
  })

  it('`fir --json` (no command) is the usage error as one JSON document', async () => {
    // Before: nothing on stdout, "fir has no such command" on stderr.
    const r = await runFir(['--json'], { cwd: await tempDir() })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('')
    expect(r.json).toEqual({
      status: 2,
      error: {
        code: 'usage',
        message: 'unable to run `fir --json`: no command was given',
        actions: [
          'name the command before its flags: `fir <command> --json`',
          'see `fir --help` for every command',
        ],
      },
    })
  })
})
