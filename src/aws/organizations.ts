import { ListAccountsCommand } from '@aws-sdk/client-organizations'
import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'

/** One member account of the organisation, as ListAccounts reports it. */
export interface OrgAccount {
  id: string
  name: string
  email: string
  arn: string
  /** ACTIVE, SUSPENDED or PENDING_CLOSURE. */
  status: string
}

/** Every account of the caller's organisation (ListAccounts, all pages). */
export async function listOrgAccounts(aws: AwsClients): Promise<OrgAccount[]> {
  const out: OrgAccount[] = []
  let token: string | undefined
  do {
    try {
      const page = await aws.organizations.send(new ListAccountsCommand({ NextToken: token }))
      for (const a of page.Accounts ?? []) {
        out.push({
          id: a.Id ?? '',
          name: a.Name ?? '',
          email: a.Email ?? '',
          arn: a.Arn ?? '',
          status: String(a.State ?? a.Status ?? ''),
        })
      }
      token = page.NextToken
    } catch (err) {
      throw toFirError(err, 'organizations:ListAccounts', "list the organisation's accounts")
    }
  } while (token)
  return out
}
