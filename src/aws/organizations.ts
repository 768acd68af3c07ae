import type { DescribeOrganizationCommandOutput } from '@aws-sdk/client-organizations'
import { AccessDeniedError, UsageError } from '../errors.js'
import type { AwsClients } from './clients.js'
import { classifyFailure, errorName, toFirError } from './errors.js'
import { sdk } from './sdk.js'

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
      const page = await aws.organizations.send(
        new (sdk.organizations().ListAccountsCommand)({ NextToken: token }),
      )
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
      if (errorName(err) === 'AWSOrganizationsNotInUseException') {
        throw new UsageError(
          "unable to list the organisation's accounts: the caller's account is not in an organisation",
          {
            cause: err,
            actions: ['pass --accounts 111122223333,444455556666 instead of --org'],
          },
        )
      }
      if (classifyFailure(err) === 'denied') {
        throw new AccessDeniedError(
          "unable to list the organisation's accounts: AWS denied organizations:ListAccounts",
          ['organizations:ListAccounts'],
          {
            cause: err,
            actions: [
              'run from the management account or a delegated administrator account (--role-arn), which may list accounts',
              'or pass --accounts 111122223333,444455556666 instead of --org',
            ],
          },
        )
      }
      throw toFirError(err, 'organizations:ListAccounts', "list the organisation's accounts")
    }
  } while (token)
  return out
}

/**
 * organizations:DescribeOrganization — the organisation of the caller's account (any member
 * account may call it). The SDK output unchanged (the snapshot stores it verbatim); an account in
 * no organisation is a NotFoundError (AWSOrganizationsNotInUseException), kept as `cause`.
 */
export async function describeOrganization(aws: AwsClients): Promise<DescribeOrganizationCommandOutput> {
  try {
    return await aws.organizations.send(new (sdk.organizations().DescribeOrganizationCommand)({}))
  } catch (err) {
    throw toFirError(err, 'organizations:DescribeOrganization', "describe the account's organisation")
  }
}
