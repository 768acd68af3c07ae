import { type Manifest, readSealedJson } from '../case/evidence-store.js'
import { roleNameOfArn } from '../timeline/related.js'

// Reading back what a snapshot stored in an evidence set.

/**
 * The managed policies attached to a role as a snapshot set stored them: the pages of its
 * iam:ListAttachedRolePolicies call, found through the set's calls.json (written with
 * summary.json, so present in a set whose seal failed too). Empty when the set has none. `dir`:
 * where the set is, when not evidence/<set> (readSealedManifest).
 */
export async function attachedPolicyArns(
  caseDir: string,
  set: string,
  manifest: Manifest,
  role: { name: string; arn?: string },
  dir?: string,
): Promise<string[]> {
  const stored = (await readSealedJson(caseDir, set, manifest, 'calls.json', dir)) as
    | { calls?: { call?: string; target?: string; files?: string[] }[] }
    | undefined
  const calls = Array.isArray(stored?.calls) ? stored.calls : []
  const isRole = (target: string | undefined) =>
    typeof target === 'string' &&
    (role.arn ? target === role.arn : roleNameOfArn(target)?.toLowerCase() === role.name.toLowerCase())
  const out: string[] = []
  for (const c of calls) {
    if (c.call !== 'iam:ListAttachedRolePolicies' || !isRole(c.target)) continue
    for (const file of c.files ?? []) {
      const page = (await readSealedJson(caseDir, set, manifest, file, dir)) as
        | { AttachedPolicies?: { PolicyArn?: unknown }[] }
        | undefined
      for (const p of Array.isArray(page?.AttachedPolicies) ? page.AttachedPolicies : []) {
        if (typeof p.PolicyArn === 'string' && !out.includes(p.PolicyArn)) out.push(p.PolicyArn)
      }
    }
  }
  return out
}
