import { join } from 'node:path'
import { escapeTerminal, formatTable } from '../common/text.js'
import {
  COMMAND_PERMISSIONS,
  mergeActions,
  SNAPSHOT_FUNCTION_ACTIONS,
  TIMELINE_SOURCE_ACTIONS,
} from '../permissions.js'
import type { PlaybookListing } from './load.js'
import type { PlanStep, RunResult, StepReport } from './runner.js'
import type { Playbook } from './schema.js'
import { Unresolved } from './template.js'

/**
 * Where each action's IAM permissions come from: the rows of the fir commands it runs through
 * (README's table), plus what the action itself calls — only the parts of a command the action
 * uses (a playbook's snapshot has no --evidence-bucket, its timeline no Athena or Lake engine).
 */
export const ACTION_PERMISSIONS: Record<
  string,
  {
    commands: string[]
    extra: readonly string[]
    /** The fir command that does the action's work on its own, when it is not `commands[0]`. */
    command?: string
  }
> = {
  'snapshot.function': { commands: [], extra: SNAPSHOT_FUNCTION_ACTIONS },
  'snapshot.all-using-role': {
    commands: [],
    extra: mergeActions(SNAPSHOT_FUNCTION_ACTIONS, ['lambda:ListFunctions']),
  },
  // contain's row holds the snapshot it takes first.
  'containment.contain': { commands: ['contain'], extra: [] },
  'containment.restore': { commands: ['restore'], extra: [] },
  'credentials.revoke-sessions': { commands: ['creds revoke-sessions'], extra: [] },
  // Keys named without their user are looked up first (and, when IAM cannot place one, its account).
  'credentials.rotate-key': {
    commands: ['creds rotate-key'],
    extra: ['iam:GetAccessKeyLastUsed', 'sts:GetAccessKeyInfo?'],
  },
  'credentials.rotate-secret': { commands: ['creds rotate-secret'], extra: [] },
  // The api, S3 and file sources (never the Athena or Lake engines); the secrets read with the role
  // come from `fir creds secrets`' reading of the timeline.
  'timeline.collect': { commands: ['creds secrets'], extra: TIMELINE_SOURCE_ACTIONS, command: 'timeline' },
  'report.render': { commands: ['report'], extra: [] },
  'case.note': { commands: [], extra: [] },
}

/** The IAM actions a list of playbook actions needs (`?` = optional: a gap without it). */
export function actionsPermissions(actions: string[]): string[] {
  const lists = [...new Set(actions)].flatMap((action) => {
    const src = ACTION_PERMISSIONS[action]
    return [...(src?.commands ?? []).map((c) => COMMAND_PERMISSIONS[c] ?? []), src?.extra ?? []]
  })
  return mergeActions(...lists).sort()
}

/** The IAM actions a playbook needs: the union over its steps' actions. */
export function playbookPermissions(playbook: Playbook): string[] {
  return actionsPermissions(playbook.steps.map((s) => s.action))
}

function show(value: unknown): string {
  if (value instanceof Unresolved) return value.toString()
  if (typeof value === 'string') return escapeTerminal(value)
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`
  if (value && typeof value === 'object')
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${escapeTerminal(k)}: ${show(v)}`)
      .join(', ')} }`
  return String(value)
}

export function renderList(list: PlaybookListing[]): string {
  const rows = list.map((p) => [
    p.name,
    String(p.steps),
    p.problems.length ? `INVALID (${p.problems.length} problems)` : 'ok',
    escapeTerminal((p.title ?? p.description).split('\n')[0] ?? ''),
  ])
  return `${formatTable(['name', 'steps', 'valid', 'about'], rows)}\n\nShow one with: fir playbook show <name>`
}

export function renderShow(playbook: Playbook, file: string): string {
  const lines = [
    `${playbook.name}${playbook.title ? ` — ${escapeTerminal(playbook.title)}` : ''}`,
    `file: ${file}`,
    '',
    escapeTerminal(playbook.description.trim(), true),
    '',
  ]
  const inputs = Object.entries(playbook.inputs ?? {})
  lines.push('Inputs:')
  if (inputs.length === 0) lines.push('  (none)')
  for (const [name, spec] of inputs) {
    const bits = [
      spec.required ? 'required' : 'optional',
      spec.type && spec.type !== 'string' ? spec.type : '',
      spec.default !== undefined ? `default ${show(spec.default)}` : '',
    ]
      .filter(Boolean)
      .join(', ')
    lines.push(
      `  --input ${name}=…  (${bits})${spec.description ? `  ${escapeTerminal(spec.description)}` : ''}`,
    )
  }
  lines.push('', 'Steps:')
  playbook.steps.forEach((s, i) => {
    lines.push(
      `  ${i + 1}. ${s.id}: ${s.action}${s.confirm ? '  [confirm]' : ''}${s['on-error'] === 'continue' ? '  [on-error: continue]' : ''}`,
    )
    if (s.title) lines.push(`     ${escapeTerminal(s.title)}`)
    if (s.if !== undefined) lines.push(`     if: ${show(s.if)}`)
    for (const [k, v] of Object.entries(s.with ?? {})) lines.push(`     ${escapeTerminal(k)}: ${show(v)}`)
  })
  const perms = playbookPermissions(playbook)
  lines.push('', 'IAM permissions (optional ones marked ?):', `  ${perms.join(', ') || 'none'}`)
  return lines.join('\n')
}

export function renderPlan(name: string, plan: PlanStep[]): string {
  const lines = [`Plan for playbook ${name} (dry run: nothing is changed, nothing is journaled)`, '']
  plan.forEach((s, i) => {
    const flags = [
      s.mutates ? 'changes AWS' : 'read-only',
      s.confirm ? 'asks for confirmation' : '',
      s.onError === 'continue' ? 'on error: continue' : '',
    ]
      .filter(Boolean)
      .join(', ')
    lines.push(`${i + 1}. ${s.id}: ${s.action} — ${escapeTerminal(s.title)} (${flags})`)
    if (s.condition)
      lines.push(
        `   if ${escapeTerminal(s.condition.expression)} → ${s.condition.value === 'unresolved' ? 'decided when the earlier step has run' : s.condition.value ? 'runs' : 'skipped'}`,
      )
    for (const [k, v] of Object.entries(s.with)) lines.push(`   ${escapeTerminal(k)}: ${show(v)}`)
  })
  lines.push('', '‹…› values come from earlier steps and are known only when the playbook runs.')
  return lines.join('\n')
}

/**
 * A step's outcome for people: the outcome, or, when some of its changes failed, each outcome
 * counted (`applied 1, failed 1`, as `fir contain` prints them).
 */
export function stepOutcomeText(step: Pick<StepReport, 'outcome' | 'partial'>): string {
  return step.partial ?? step.outcome
}

export function renderRun(result: RunResult, caseDir: string): string {
  const rows = result.steps.map((s) => [
    s.id,
    s.action,
    stepOutcomeText(s) + (s.fromEarlierAttempt ? ' (earlier)' : ''),
    escapeTerminal(s.summary),
  ])
  const report = [...result.steps].reverse().find((s) => s.action === 'report.render' && s.outputs.path)
  return [
    `Playbook ${result.playbook} ${result.resumed ? 'resumed and ' : ''}finished (run ${result.runId})`,
    '',
    formatTable(['step', 'action', 'outcome', 'summary'], rows),
    ...(report ? ['', `Report: ${join(caseDir, String(report.outputs.path))}`] : []),
  ].join('\n')
}
