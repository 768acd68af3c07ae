import type {
  DescribeTrailsCommandOutput,
  GetEventSelectorsCommandOutput,
  GetTrailStatusCommandOutput,
} from '@aws-sdk/client-cloudtrail'
import type { AwsClients } from './clients.js'
import { toFirError } from './errors.js'
import { sdk } from './sdk.js'

export type { AdvancedEventSelector, EventSelector, Trail } from '@aws-sdk/client-cloudtrail'

/** cloudtrail:DescribeTrails in the client's region, shadow trails (multi-region trails) included. */
export async function describeTrails(aws: AwsClients): Promise<DescribeTrailsCommandOutput> {
  try {
    return await aws.cloudtrail.send(
      new (sdk.cloudtrail().DescribeTrailsCommand)({ includeShadowTrails: true }),
    )
  } catch (err) {
    throw toFirError(err, 'cloudtrail:DescribeTrails', `list the trails in ${aws.region}`)
  }
}

/** cloudtrail:GetEventSelectors of one trail (basic or advanced selectors). */
export async function getEventSelectors(
  aws: AwsClients,
  trailArn: string,
): Promise<GetEventSelectorsCommandOutput> {
  try {
    return await aws.cloudtrail.send(new (sdk.cloudtrail().GetEventSelectorsCommand)({ TrailName: trailArn }))
  } catch (err) {
    throw toFirError(err, 'cloudtrail:GetEventSelectors', `read the event selectors of trail ${trailArn}`)
  }
}

/** cloudtrail:GetTrailStatus (is it logging, when did it last deliver). */
export async function getTrailStatus(
  aws: AwsClients,
  trailArn: string,
): Promise<GetTrailStatusCommandOutput> {
  try {
    return await aws.cloudtrail.send(new (sdk.cloudtrail().GetTrailStatusCommand)({ Name: trailArn }))
  } catch (err) {
    throw toFirError(err, 'cloudtrail:GetTrailStatus', `read the status of trail ${trailArn}`)
  }
}
