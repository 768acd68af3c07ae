import { readFile } from 'node:fs/promises'
import { hostname, userInfo } from 'node:os'
import { join } from 'node:path'
import { type FirError, IntegrityError, UsageError } from '../../errors.js'
import { canonicalJson } from '../common/canonical-json.js'
import { appendLineDurable, truncateDurable, writeFileAtomic } from '../common/fs-safe.js'
import { sha256Hex } from '../common/hash.js'
import { redactArgv, redactor } from '../common/redact.js'
import { escapeTerminal, jsonText, shellArg } from '../common/text.js'
import { refuseLinkedCaseFile } from './folders.js'

/** Who acted: the AWS caller (when known), the OS user, the host and the command line (redacted). */
export interface Actor {
  arn: string | null
  osUser: string
  host: string
  command: string[]
  /** The fir version that wrote the entry (absent from the entries of earlier builds). */
  fir?: string
}

/** What happened to a journaled change; `recorded` is for facts that change nothing in AWS. */
export type Outcome =
  | 'recorded'
  | 'started'
  | 'applied'
  | 'already-applied'
  | 'failed'
  | 'denied'
  | 'undone'
  | 'conflict'
  | 'skipped'

/** One line of journal.jsonl (DESIGN §2). */
export interface JournalEntry {
  seq: number
  at: string
  actor: Actor
  action: string
  target: string
  params: Record<string, unknown>
  outcome: Outcome
  prior?: unknown
  after?: unknown
  undo?: unknown
  requestIds?: string[]
  /** `calls`: the AWS calls (IAM actions) that failed, when known (a gap's `call`). */
  error?: { code: string; message: string; calls?: string[] }
  /**
   * What the step said beside its outcome (a mapping deleted since containment, someone else's
   * policy replaced, what to do about a refusal): the report shows them with the row.
   */
  notes?: string[]
  prev: string
  hash: string
}

export type NewEntry = Omit<JournalEntry, 'seq' | 'at' | 'actor' | 'prev' | 'hash'> & {
  actor?: Actor
  at?: string
}

export const GENESIS_PREV = '0'.repeat(64)
export const JOURNAL_FILE = 'journal.jsonl'
/** Where Journal.open sets aside a cut-off last line: `journal-torn-<UTC time>.bin` in the case. */
export const TORN_PREFIX = 'journal-torn-'

export function entryHash(entry: Omit<JournalEntry, 'hash'>): string {
  return sha256Hex(entry.prev + canonicalJson(entry))
}

let actorArn: string | null = null
/** Records the AWS caller ARN once it is known, for every later journal entry of this process. */
export function setActorArn(arn: string): void {
  actorArn = arn
}

let firVersion: string | undefined
/** Records the running fir's version, for every later journal entry of this process. */
export function setFirVersion(version: string): void {
  firVersion = version
}

export function currentActor(argv: string[] = process.argv.slice(2)): Actor {
  let osUser = 'unknown'
  try {
    osUser = userInfo().username
  } catch {
    osUser = process.env.USER ?? 'unknown'
  }
  return {
    arn: actorArn,
    osUser,
    host: hostname(),
    command: ['fir', ...redactArgv(argv)],
    ...(firVersion !== undefined ? { fir: firVersion } : {}),
  }
}

export interface JournalProblem {
  line: number
  seq?: number
  /** `torn`: the last line, cut off by a write that never finished (see Journal.open). */
  kind: 'unparseable' | 'changed' | 'out-of-order' | 'broken-chain' | 'missing' | 'torn'
  message: string
}

export interface ParsedJournal {
  entries: JournalEntry[]
  problems: JournalProblem[]
}

/** The action of journal entry seq 0, written by `fir case init`: it records case.json's SHA-256. */
export const CASE_INIT_ACTION = 'case.init'

/**
 * Parses and checks journal text: every line JSON, seq consecutive from 0, prev chained, hash
 * recomputed, and entry seq 0 the case.init entry that starts every case's journal (an empty
 * journal, or one starting with any other entry, leaves case.json unprotected: DESIGN §2).
 * Each problem is named once, where it is: two entries swapped are one reordering (not a gap and
 * then a reorder and two broken links), an entry absent from the whole file is missing, and a
 * link broken between two whole entries names both (either may be the one rewritten).
 */
export function checkJournalText(text: string): ParsedJournal {
  const problems: JournalProblem[] = []
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  // First pass: each line parsed (or not), its hash checked.
  const parsed: ({ entry: JournalEntry; whole: boolean } | null)[] = lines.map((line, i) => {
    try {
      const entry = JSON.parse(line) as JournalEntry
      if (typeof entry !== 'object' || entry === null || typeof entry.seq !== 'number')
        throw new Error('no seq')
      const { hash, ...rest } = entry
      return { entry, whole: entryHash(rest) === hash }
    } catch {
      if (i === lines.length - 1 && !text.endsWith('\n') && i > 0) {
        // Every entry is written with its line break in one durable append: a last line without
        // one that is not an entry is a write a crash or power loss cut off.
        problems.push({
          line: i + 1,
          kind: 'torn',
          message: `journal line ${i + 1} is cut off (no line break, not a whole entry): a write interrupted by a crash or power loss; the next fir command that writes to the case sets those bytes aside in ${TORN_PREFIX}<time>.bin and journals their hash`,
        })
      } else {
        problems.push({
          line: i + 1,
          kind: 'unparseable',
          message: `journal line ${i + 1} is not a journal entry`,
        })
      }
      return null
    }
  })
  // The line each seq is first on; a line that is no entry stands for the seq after the entry
  // before it (a damaged entry), so it is not also counted missing.
  const lineOf = new Map<number, number>()
  const damaged = new Set<number>()
  let last = -1
  parsed.forEach((p, i) => {
    if (p === null) {
      if (i < lines.length - 1 || text.endsWith('\n') || i === 0) damaged.add(++last) // not torn
      return
    }
    if (!lineOf.has(p.entry.seq)) lineOf.set(p.entry.seq, i)
    last = p.entry.seq
  })
  const entries: JournalEntry[] = []
  let highest: { seq: number; line: number } | undefined
  parsed.forEach((p, i) => {
    if (p === null) return
    const { entry, whole } = p
    const lineNo = i + 1
    const first = lineOf.get(entry.seq)!
    const before = highest
    if (first !== i) {
      problems.push({
        line: lineNo,
        seq: entry.seq,
        kind: 'out-of-order',
        message: `journal line ${lineNo} repeats seq ${entry.seq} (line ${first + 1}): entries are reordered or repeated`,
      })
    } else if (before !== undefined && entry.seq < before.seq) {
      problems.push({
        line: lineNo,
        seq: entry.seq,
        kind: 'out-of-order',
        message: `journal line ${lineNo} has seq ${entry.seq}, after seq ${before.seq} (line ${before.line}): entries are reordered`,
      })
    } else {
      // The seqs between the one before and this one that no line holds.
      const from = before === undefined ? 0 : before.seq + 1
      const absent: number[] = []
      for (let s = from; s < entry.seq; s++) if (!lineOf.has(s) && !damaged.has(s)) absent.push(s)
      if (absent.length > 0)
        problems.push({
          line: lineNo,
          seq: entry.seq,
          kind: 'missing',
          message: `journal line ${lineNo} has seq ${entry.seq}, expected ${absent[0]}: entries ${ranges(absent)} are missing`,
        })
    }
    if (before === undefined || entry.seq > before.seq) highest = { seq: entry.seq, line: lineNo }
    if (!whole) {
      problems.push({
        line: lineNo,
        seq: entry.seq,
        kind: 'changed',
        message: `journal entry seq ${entry.seq} (line ${lineNo}) was changed: its hash does not match its content`,
      })
    } else {
      // Chained to the entry of the seq before, wherever it is (a reordering is named above):
      // only when that one is whole (a changed or damaged one is named already).
      const prevLine = entry.seq === 0 ? undefined : lineOf.get(entry.seq - 1)
      const prev = prevLine === undefined ? undefined : parsed[prevLine]
      const expected = entry.seq === 0 ? GENESIS_PREV : prev?.whole ? prev.entry.hash : undefined
      if (expected !== undefined && entry.prev !== expected) {
        problems.push({
          line: lineNo,
          seq: entry.seq,
          kind: 'broken-chain',
          message:
            entry.seq === 0
              ? `journal entry seq 0 (line ${lineNo}) does not chain to the start of a journal`
              : `journal entry seq ${entry.seq} (line ${lineNo}) does not chain to entry seq ${entry.seq - 1} (line ${prevLine! + 1}): one of the two was changed and its hash computed again to match`,
        })
      } else if (i === 0 && entry.seq === 0 && entry.action !== CASE_INIT_ACTION) {
        // Whole and chained, yet not how fir starts a journal: one written afresh from seq 0.
        problems.push({
          line: lineNo,
          seq: 0,
          kind: 'changed',
          message: `journal entry seq 0 (line 1) is ${describeAction(entry.action)}, not the ${CASE_INIT_ACTION} entry that starts every case's journal and records case.json's SHA-256: the journal was rewritten or is not this case's`,
        })
      }
    }
    entries.push(entry)
  })
  if (lines.length === 0) {
    problems.push({
      line: 1,
      seq: 0,
      kind: 'missing',
      message: `${JOURNAL_FILE} holds no entry: its entry seq 0 (${CASE_INIT_ACTION}, written when the case was created, which records case.json's SHA-256) is missing`,
    })
  }
  problems.sort((a, b) => a.line - b.line)
  return { entries, problems }
}

/** Seq numbers as ranges: `3..5, 9..9`. */
function ranges(seqs: readonly number[]): string {
  const out: string[] = []
  let start = seqs[0]!
  for (let i = 1; i <= seqs.length; i++) {
    if (i < seqs.length && seqs[i] === seqs[i - 1]! + 1) continue
    out.push(`${start}..${seqs[i - 1]}`)
    if (i < seqs.length) start = seqs[i]!
  }
  return out.join(', ')
}

/** An entry's action as a message names it (it comes from the file: quoted and escaped). */
function describeAction(action: unknown): string {
  return typeof action === 'string'
    ? `a ${JSON.stringify(escapeTerminal(action))} entry`
    : 'an entry without an action'
}

/**
 * The journal of a case (a folder holding case.json) could not be read. Gone, or no longer a file:
 * the case was damaged or tampered with (exit 3, as a damaged case.json is). Anything else (no
 * permission to read it, a disk error) is the responder's to fix (exit 2).
 */
export function unreadableJournal(caseDir: string, err: unknown): FirError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'EISDIR') {
    const what = code === 'ENOENT' ? 'is missing' : 'is a folder, not a file'
    return new IntegrityError(
      `unable to open the journal of ${caseDir}: ${JOURNAL_FILE} ${what}, though the folder holds case.json: the case was damaged or tampered with`,
      { actions: preserveCaseActions(caseDir), cause: err },
    )
  }
  return new UsageError(`unable to read the journal of ${caseDir}: ${(err as Error).message}`, {
    actions: ['check that fir can read the case folder: run fir as the user who owns it'],
    cause: err,
  })
}

/**
 * Reads and checks the journal of a case without opening it (no lock: it writes nothing). Refuses
 * a journal that is gone or damaged (see unreadableJournal, damagedJournal); a cut-off last line
 * alone is not refused (the entries before it are whole; the next writing command sets it aside).
 */
export async function readCheckedJournal(caseDir: string): Promise<ParsedJournal> {
  await refuseLinkedCaseFile(caseDir, JOURNAL_FILE)
  let text: string
  try {
    text = await readFile(join(caseDir, JOURNAL_FILE), 'utf8')
  } catch (err) {
    throw unreadableJournal(caseDir, err)
  }
  const parsed = checkJournalText(text)
  const damage = parsed.problems.filter((p) => p.kind !== 'torn')
  if (damage.length > 0) throw damagedJournal(caseDir, damage)
  return parsed
}

/**
 * The journal of `caseDir` failed its checks (checkJournalText): an integrity failure (exit 3).
 * fir acts on nothing a damaged journal says; a command may still read its whole lines to tell the
 * responder what they show (see withChangesInForce).
 */
export class DamagedJournalError extends IntegrityError {
  constructor(
    readonly caseDir: string,
    problems: readonly JournalProblem[],
  ) {
    super(`unable to open the journal of ${caseDir}: ${problems.map((p) => p.message).join('; ')}`, {
      actions: preserveCaseActions(caseDir),
    })
  }
}

/** The journal failed its checks (checkJournalText): an integrity failure (exit 3). */
export function damagedJournal(caseDir: string, problems: readonly JournalProblem[]): DamagedJournalError {
  return new DamagedJournalError(caseDir, problems)
}

function preserveCaseActions(caseDir: string): string[] {
  return [
    `run \`fir case verify --case ${shellArg(caseDir)}\` to list every problem`,
    'preserve the case folder as it is for the investigation; start a new case (fir case init) to continue work',
  ]
}

/**
 * A value as the journal keeps it: every string scrubbed by the process redactor (a secret inside
 * a public identifier it protects left in place), the keys as they are (see Redactor.scrubDeep).
 */
export function asJournaled<T>(value: T): T {
  return redactor.scrubDeep(value, { keys: false })
}

/**
 * A state fir read from AWS (a step's prior or after state, the one it intends) as the journal
 * keeps it: as asJournaled, but its numbers as they are. A number AWS returns (a reserved
 * concurrency, a batch size) is configuration, not a secret value; scrubbed because a secret
 * equals it (DB_PASSWORD=100, set by an intruder), it is a marker undo cannot put back. The
 * inputs fir is given (params: a playbook's PIN) keep their numbers scrubbed (asJournaled).
 */
export function asJournaledState<T>(value: T): T {
  return redactor.scrubDeep(value, { keys: false, numbers: false })
}

/** How Journal.append keeps an entry. */
export interface AppendOptions {
  /**
   * The entry's prior, after and undo are states fir read from AWS, or made there (a step's, see
   * defineStep): their numbers are kept as they are (asJournaledState).
   */
  states?: boolean
}

/**
 * The case's append-only, hash-chained journal. Open it only while holding the case lock; every
 * value written passes through the redactor, so no secret reaches the journal.
 */
export class Journal {
  private constructor(
    readonly path: string,
    private entries: JournalEntry[],
    /** Opened to read only (a dry run): nothing is repaired, and an append is a bug. */
    readonly readOnly = false,
  ) {}

  /**
   * Reads and checks the journal. A last line cut off by an interrupted write (a crash or power
   * loss while appending: each entry is appended whole, with its line break, and fsynced before
   * fir goes on, so no change was made on the strength of it) is set aside: its bytes go to
   * `journal-torn-<time>.bin`, the journal is cut back to its last whole entry, and a
   * `case.artifact` entry records the set-aside file's hash, so `fir case verify` checks it. Any
   * other problem refuses the journal. `tornSetAside`: the file made, if any.
   *
   * With `readOnly` (a dry run, which changes nothing: DESIGN §1) a cut-off last line is left as
   * it is and named in `tornLeft`; the entries before it are read, and the journal refuses appends.
   */
  static async open(caseDir: string, options: { readOnly?: boolean } = {}): Promise<Journal> {
    const path = join(caseDir, JOURNAL_FILE)
    // Appended to through a link, the journal would grow outside the case.
    await refuseLinkedCaseFile(caseDir, JOURNAL_FILE)
    let bytes: Buffer
    try {
      bytes = await readFile(path)
    } catch (err) {
      throw unreadableJournal(caseDir, err)
    }
    const parsed = checkJournalText(bytes.toString('utf8'))
    if (parsed.problems.length === 1 && parsed.problems[0]!.kind === 'torn') {
      if (options.readOnly) {
        const journal = new Journal(path, parsed.entries, true)
        journal.tornLeft = {
          line: parsed.problems[0]!.line,
          bytes: bytes.length - (bytes.lastIndexOf(0x0a) + 1),
        }
        return journal
      }
      const keep = bytes.lastIndexOf(0x0a) + 1
      const torn = bytes.subarray(keep)
      const rel = `${TORN_PREFIX}${new Date().toISOString().replace(/[:.]/g, '')}.bin`
      await writeFileAtomic(join(caseDir, rel), torn, { once: true })
      await truncateDurable(path, keep)
      const journal = new Journal(path, parsed.entries)
      await journal.append({
        action: 'case.artifact',
        target: rel,
        params: {
          path: rel,
          sha256: sha256Hex(torn),
          bytes: torn.length,
          reason: `the cut-off last line of ${JOURNAL_FILE} (line ${parsed.problems[0]!.line}), set aside: a write a crash or power loss interrupted`,
        },
        outcome: 'recorded',
      })
      journal.tornSetAside = { path: rel, bytes: torn.length }
      return journal
    }
    if (parsed.problems.length > 0) throw damagedJournal(caseDir, parsed.problems)
    return new Journal(path, parsed.entries, options.readOnly === true)
  }

  /** Starts a new journal with seq 0. */
  static async create(caseDir: string, first: NewEntry): Promise<Journal> {
    const journal = new Journal(join(caseDir, JOURNAL_FILE), [])
    await journal.append(first)
    return journal
  }

  /** The cut-off last line Journal.open set aside (case-relative path and size), if it did. */
  tornSetAside: { path: string; bytes: number } | undefined

  /** A cut-off last line a read-only open left in place (its line number and size), if any. */
  tornLeft: { line: number; bytes: number } | undefined

  all(): readonly JournalEntry[] {
    return this.entries
  }

  /** The append in progress: appends run one at a time, each chained to the one before. */
  private tail: Promise<unknown> = Promise.resolve()

  /**
   * Appends an entry (redacted, hashed, written durably). Safe to call without awaiting the
   * previous call: entries are written in call order and each chains to the one before.
   */
  append(input: NewEntry, options: AppendOptions = {}): Promise<JournalEntry> {
    const next = this.tail.then(() => this.appendNow(input, options))
    this.tail = next.catch(() => undefined)
    return next
  }

  private async appendNow(input: NewEntry, options: AppendOptions): Promise<JournalEntry> {
    if (this.readOnly)
      throw new Error(`journal ${this.path} was opened to read only (a dry run): nothing may be appended`)
    const last = this.entries.at(-1)
    const base = {
      seq: last ? last.seq + 1 : 0,
      at: input.at ?? new Date().toISOString(),
      actor: input.actor ?? currentActor(),
      action: input.action,
      target: input.target,
      params: input.params,
      outcome: input.outcome,
      ...(input.prior !== undefined ? { prior: input.prior } : {}),
      ...(input.after !== undefined ? { after: input.after } : {}),
      ...(input.undo !== undefined ? { undo: input.undo } : {}),
      ...(input.requestIds?.length ? { requestIds: input.requestIds } : {}),
      ...(input.error ? { error: input.error } : {}),
      ...(input.notes?.length ? { notes: input.notes } : {}),
      prev: last ? last.hash : GENESIS_PREV,
    }
    // The entry's own fields (its place in the chain, its time, what fir did and how it went) are
    // fir's, never a secret: a secret equal to one (DB_PASSWORD=100 for seq 100, `undone`, a
    // step's id) would break the chain or hide the change from restore. The rest as asJournaled;
    // prior, after and undo as asJournaledState when they are states read from AWS.
    const { seq, at, action, outcome, prev, prior, after, undo, ...rest } = base
    const states = (options.states ? asJournaledState : asJournaled)({ prior, after, undo })
    // Canonical JSON normalises away undefined members and Dates; round-trip so the stored entry
    // is exactly what was hashed.
    const clean = JSON.parse(
      canonicalJson({ seq, at, action, outcome, prev, ...asJournaled(rest), ...states }),
    ) as Omit<JournalEntry, 'hash'>
    const entry: JournalEntry = { ...clean, hash: entryHash(clean) }
    // Escaped (jsonText): the hash is of the parsed entry, which the escapes do not change, so
    // journals written before, raw, verify as these do.
    await appendLineDurable(this.path, jsonText(entry))
    this.entries.push(entry)
    return entry
  }
}
