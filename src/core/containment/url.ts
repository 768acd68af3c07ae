import {
  getFunctionUrlConfig,
  listAliasNames,
  type UrlConfig,
  updateFunctionUrlAuthType,
} from '../../aws/lambda-containment.js'
import { redactor } from '../common/redact.js'
import { defineStep } from '../steps/define-step.js'
import { changeEach, notAllChanged } from './each.js'
import { deletedFunction, type FunctionParams, regionalAws } from './function-target.js'

export interface UrlState {
  configs: UrlConfig[]
}

const where = (q: string | null) => (q === null ? '$LATEST' : q)

/**
 * The same URL config: the same qualifier and address. A URL deleted and created again gets a new
 * address; it is another config, not the one fir changed. (An address not recorded matches.)
 */
export const sameUrl = (a: UrlConfig, b: UrlConfig): boolean =>
  a.qualifier === b.qualifier && (a.url === '' || b.url === '' || a.url === b.url)

function describe(s: UrlState): string {
  if (s.configs.length === 0) return 'no function URL'
  return s.configs.map((c) => `${where(c.qualifier)}: ${c.authType}`).join(', ')
}

/**
 * containment.url — sets AuthType AWS_IAM on every function URL config (the function's and each
 * alias's). It never deletes a URL: a deleted URL's address is lost forever.
 * IAM: lambda:ListAliases, lambda:GetFunctionUrlConfig, lambda:UpdateFunctionUrlConfig,
 * lambda:GetFunctionConfiguration (undo, when the function may have been deleted).
 * Undo: restores AuthType NONE on exactly the configs it changed. A URL deleted and created again
 * since (a new address) is another config: a conflict, left alone; one deleted since is named
 * (nothing to set back), not a conflict, and so is the function deleted since. A URL Lambda refuses to change
 * back does not stop the others. A URL opened since (created, or set to NONE, by hand) is left as it
 * is and named; a contain run again closes it, and restore then reopens it with the others.
 */
export const urlStep = defineStep<FunctionParams, UrlState>({
  id: 'containment.url',
  title: 'Require IAM auth on function URLs',
  iamActions: ['lambda:ListAliases', 'lambda:GetFunctionUrlConfig', 'lambda:UpdateFunctionUrlConfig'],
  undoIamActions: [
    'lambda:ListAliases',
    'lambda:GetFunctionUrlConfig',
    'lambda:UpdateFunctionUrlConfig',
    'lambda:GetFunctionConfiguration',
  ],
  undoPolicy: 'default',
  async read(ctx, params) {
    const aws = regionalAws(ctx, params.region)
    // URL configs live on the unqualified function or on aliases, never on versions.
    const qualifiers: (string | null)[] = [null, ...(await listAliasNames(aws, params.function)).sort()]
    const configs: UrlConfig[] = []
    for (const q of qualifiers) {
      const c = await getFunctionUrlConfig(aws, params.function, q)
      if (c) configs.push(c)
    }
    for (const c of configs) {
      // The address AWS made and the AuthType are no one's choice; an alias name is the intruder's too.
      for (const id of [c.url, c.authType]) redactor.protect(id ?? '', { evenIfSecret: true })
      redactor.protect(c.qualifier ?? '')
    }
    return { target: params.functionArn, label: params.function, state: { configs } }
  },
  targetGone: deletedFunction,
  intend: (_ctx, _params, s) => ({
    configs: s.configs.map((c) => (c.authType === 'NONE' ? { ...c, authType: 'AWS_IAM' } : c)),
  }),
  isApplied: (_ctx, _params, s) => !s.configs.some((c) => c.authType === 'NONE'),
  nothingToChange: (s) => (s.configs.length === 0 ? 'no function URL' : null),
  async change(ctx, params, current) {
    const aws = regionalAws(ctx, params.region)
    const open = current.configs.filter((c) => c.authType === 'NONE')
    // One URL Lambda refuses to change must not leave the others open: try each, then report.
    const { results, refused } = await changeEach(
      open,
      (c) => `the URL of ${where(c.qualifier)}`,
      (c) => updateFunctionUrlAuthType(aws, params.function, c.qualifier, 'AWS_IAM'),
    )
    if (refused.length > 0) {
      throw notAllChanged(
        { verb: 'set AuthType AWS_IAM on', things: `function URLs of ${params.function}`, made: 'changed' },
        refused,
        open.length - refused.length,
      )
    }
    return { configs: current.configs.map((c) => (c.authType === 'NONE' ? results[open.indexOf(c)]! : c)) }
  },
  describe,
  compareForUndo(current, record) {
    const conflicts: string[] = []
    const deleted: string[] = []
    let changes = 0
    const result = current.configs.map((c) => ({ ...c }))
    for (const p of record.prior.configs) {
      if (p.authType !== 'NONE') continue
      const now = result.find((c) => c.qualifier === p.qualifier)
      if (now && !sameUrl(now, p)) {
        // Deleted and created again: another URL, at another address, that fir never changed.
        conflicts.push(
          `the URL of ${where(p.qualifier)} is another URL now (${now.url}, ${now.authType}; fir set AWS_IAM on ${p.url}); left as it is`,
        )
      } else if (!now) {
        // Deleted since: nothing to set back, and no one can put it back (its address is lost).
        deleted.push(
          `the URL of ${where(p.qualifier)}${p.url ? ` (${p.url})` : ''} was deleted since fir set AWS_IAM on it; nothing to set back`,
        )
      } else if (now.authType === 'AWS_IAM') {
        now.authType = 'NONE'
        changes++
      } else if (now.authType !== 'NONE') {
        conflicts.push(
          `the URL of ${where(p.qualifier)} is now ${now.authType} (fir set AWS_IAM); left as it is`,
        )
      }
    }
    // A URL with AuthType NONE that fir did not close (created or opened by hand since) is left as it
    // is; a contain run again closes it, superseding this change so that restore reopens it too.
    // (One at a qualifier whose URL fir closed is another URL: a conflict above.)
    const madeSince = current.configs
      .filter((c) => c.authType === 'NONE')
      .flatMap((c) => {
        const ps = record.prior.configs.filter((x) => x.qualifier === c.qualifier)
        if (ps.some((x) => x.authType === 'NONE')) return []
        const was = ps.find((x) => sameUrl(x, c))
        const since = was ? `set since fir's change (it was ${was.authType})` : "created since fir's change"
        return [`the URL of ${where(c.qualifier)} is AuthType NONE, ${since}; left as it is`]
      })
    return { result: { configs: result }, changes, conflicts, madeSince: [...deleted, ...madeSince] }
  },
  async revert(ctx, record, current, comparison, progress) {
    const aws = regionalAws(ctx, record.params.region)
    const fn = String(record.params.function)
    const after = current.configs.map((c) => ({ ...c }))
    // Exactly the configs compareForUndo sets back to NONE: the same URL fir changed, still AWS_IAM.
    const back = after.filter(
      (c, i) => c.authType === 'AWS_IAM' && comparison.result.configs[i]?.authType === 'NONE',
    )
    // One URL Lambda refuses to change back does not keep the others closed: try each, then report.
    const { refused } = await changeEach(
      back,
      (c) => `the URL of ${where(c.qualifier)}`,
      async (c) => {
        Object.assign(c, await updateFunctionUrlAuthType(aws, fn, c.qualifier, 'NONE'))
        progress({ configs: after.map((x) => ({ ...x })) })
      },
    )
    if (refused.length > 0) {
      throw notAllChanged(
        { verb: 'set AuthType NONE back on', things: `function URLs of ${fn}`, made: 'set back' },
        refused,
        back.length - refused.length,
      )
    }
    return { configs: after }
  },
})
