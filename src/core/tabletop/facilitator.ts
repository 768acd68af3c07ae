import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import type { Journal } from '../case/journal.js'
import { appendNote } from '../playbook/notes.js'
import type { Inject } from './scenario.js'

/**
 * The facilitator of an interactive drill: shows injects, asks the scenario's questions and the
 * playbook's confirmations as decisions, reads the responders' answers line by line, times them,
 * and journals everything as `case.note` entries (kind inject, answer or decision) so the
 * report's after-action section shows them.
 */
export class Facilitator {
  private lines: AsyncIterator<string> | undefined
  private ended = false
  readonly transcript: { kind: string; text: string; question?: string; answerSeconds?: number }[] = []

  constructor(
    private readonly input: Readable,
    private readonly print: (text: string) => void,
    private readonly journal: Journal,
    private readonly target: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private async readLine(): Promise<string | undefined> {
    if (this.ended) return undefined
    this.lines ??= createInterface({
      input: this.input,
      terminal: false,
      crlfDelay: Number.POSITIVE_INFINITY,
    })[Symbol.asyncIterator]()
    const next = await this.lines.next()
    if (next.done) {
      this.ended = true
      // Said once, where the answers were expected: a drill fed too short a file (or no terminal)
      // would otherwise skip every change that follows without a word.
      this.print(
        '  (the input ended: the questions that follow go unanswered and the decisions that follow skip their steps)',
      )
      return undefined
    }
    return next.value
  }

  private async ask(question: string): Promise<{ answer: string; seconds: number }> {
    this.print(`  ? ${question}`)
    this.print('  > ')
    const started = this.now()
    const line = await this.readLine()
    const seconds = Math.round((this.now() - started) / 100) / 10
    return {
      answer: line === undefined ? '(no answer: input ended)' : line.trim() || '(empty answer)',
      seconds,
    }
  }

  async inject(inject: Inject): Promise<void> {
    this.print(`\n=== INJECT ===\n${inject.text.trim()}\n`)
    await appendNote(this.journal, this.target, { text: inject.text.trim(), kind: 'inject' })
    this.transcript.push({ kind: 'inject', text: inject.text.trim() })
    for (const question of inject.questions ?? []) {
      const { answer, seconds } = await this.ask(question)
      await appendNote(this.journal, this.target, {
        text: answer,
        kind: 'answer',
        question,
        answerSeconds: seconds,
      })
      this.transcript.push({ kind: 'answer', text: answer, question, answerSeconds: seconds })
    }
  }

  /**
   * A playbook confirmation, asked as a team decision: an answer starting with y ("y", "yes",
   * "yeah, IC approves") runs the step, anything else skips it.
   */
  async decide(question: string): Promise<boolean> {
    this.print('\n=== DECISION ===')
    const { answer, seconds } = await this.ask(`${question} [y/n]`)
    const yes = isYes(answer)
    await appendNote(this.journal, this.target, {
      text: answer,
      kind: 'decision',
      question,
      answerSeconds: seconds,
    })
    this.transcript.push({ kind: 'decision', text: answer, question, answerSeconds: seconds })
    return yes
  }
}

/** A decision's answer runs the step when it starts with y, after any white space (tabletop.md). */
export function isYes(answer: string): boolean {
  return /^\s*y/i.test(answer)
}
