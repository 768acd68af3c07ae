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

/**
 * The execution role of each qualifier of a function as a snapshot set recorded it: `$LATEST` and
 * every published version, by version (an alias's configuration is its version's). From the set's
 * ListVersionsByFunction pages, found through calls.json; when that listing was not stored whole (a
 * gap), from its GetFunction responses too. `functionArn`: the unqualified ARN the snapshot
 * targeted its calls at. `dir`: where the set is, when not evidence/<set> (readSealedManifest).
 */
export async function recordedQualifierRoles(
  caseDir: string,
  set: string,
  manifest: Manifest,
  functionArn: string,
  dir?: string,
): Promise<Map<string, string>> {
  const stored = (await readSealedJson(caseDir, set, manifest, 'calls.json', dir)) as
    | { calls?: { call?: string; target?: string; outcome?: string; files?: string[] }[] }
    | undefined
  const calls = (Array.isArray(stored?.calls) ? stored.calls : []).filter((c) => c.target === functionArn)
  const listing = calls.filter((c) => c.call === 'lambda:ListVersionsByFunction')
  const whole = listing.some((c) => c.outcome === 'stored')
  const out = new Map<string, string>()
  const add = (config: { Version?: unknown; Role?: unknown } | undefined) => {
    if (typeof config?.Version === 'string' && typeof config.Role === 'string' && !out.has(config.Version))
      out.set(config.Version, config.Role)
  }
  for (const c of [...listing, ...(whole ? [] : calls.filter((x) => x.call === 'lambda:GetFunction'))]) {
    for (const file of c.files ?? []) {
      const page = (await readSealedJson(caseDir, set, manifest, file, dir)) as
        | {
            Versions?: { Version?: unknown; Role?: unknown }[]
            Configuration?: { Version?: unknown; Role?: unknown }
          }
        | undefined
      for (const v of Array.isArray(page?.Versions) ? page.Versions : []) add(v)
      add(page?.Configuration)
    }
  }
  return out
}
