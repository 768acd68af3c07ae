import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EVIDENCE_DIR } from '../case/evidence-store.js'
import { roleNameOfArn } from '../timeline/related.js'

// Reading back what a snapshot stored in an evidence set.

/**
 * The managed policies attached to a role as a snapshot set stored them: the pages of its
 * iam:ListAttachedRolePolicies call, found through the set's calls.json (written with
 * summary.json, so present in a set whose seal failed too). Empty when the set has none.
 */
export async function attachedPolicyArns(
  caseDir: string,
  set: string,
  role: { name: string; arn?: string },
): Promise<string[]> {
  const dir = join(caseDir, EVIDENCE_DIR, set)
  let calls: { call?: string; target?: string; files?: string[] }[]
  try {
    calls =
      (JSON.parse(await readFile(join(dir, 'calls.json'), 'utf8')) as { calls?: typeof calls }).calls ?? []
  } catch {
    return []
  }
  const isRole = (target: string | undefined) =>
    typeof target === 'string' &&
    (role.arn ? target === role.arn : roleNameOfArn(target)?.toLowerCase() === role.name.toLowerCase())
  const out: string[] = []
  for (const c of calls) {
    if (c.call !== 'iam:ListAttachedRolePolicies' || !isRole(c.target)) continue
    for (const file of c.files ?? []) {
      let page: { AttachedPolicies?: { PolicyArn?: unknown }[] }
      try {
        page = JSON.parse(await readFile(join(dir, file), 'utf8'))
      } catch {
        continue
      }
      for (const p of page.AttachedPolicies ?? []) {
        if (typeof p.PolicyArn === 'string' && !out.includes(p.PolicyArn)) out.push(p.PolicyArn)
      }
    }
  }
  return out
}
