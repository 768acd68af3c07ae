import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AwsClients } from '../../src/aws/clients.js'
import { identityPolicyDocuments } from '../../src/aws/iam.js'
import { useMoto } from '../support/emulator.js'
import { FaultProxy } from '../support/fault-proxy.js'
import { seedClients, seedRole } from '../support/seed.js'

const moto = useMoto()

/** moto's page size for ListAttached{User,Role}Policies (AWS's default MaxItems too): one more makes two pages. */
const MANAGED = 101

const managedDoc = (i: number) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::bucket-${i}/*` }],
  })
const inlineDoc = (name: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: `arn:aws:sqs:us-east-1:123456789012:${name}` },
    ],
  })

/**
 * moto answers ListUserPolicies and ListRolePolicies in one page whatever their number; AWS may
 * answer fewer names than MaxItems with IsTruncated. This splits moto's answer in two pages: the
 * first call gets the first name and a Marker, the next one the rest.
 */
function inTwoPages(): (text: string) => string {
  let calls = 0
  return (text) => {
    const first = calls++ === 0
    const names = [...text.matchAll(/<member>[^<]*<\/member>/g)].map((m) => m[0])
    const page = first ? names.slice(0, 1) : names.slice(1)
    return text
      .replace(/<PolicyNames>[\s\S]*<\/PolicyNames>/, `<PolicyNames>${page.join('')}</PolicyNames>`)
      .replace(
        /<IsTruncated>false<\/IsTruncated>/,
        first ? '<IsTruncated>true</IsTruncated><Marker>page-2</Marker>' : '<IsTruncated>false</IsTruncated>',
      )
  }
}

describe('identityPolicyDocuments: every page of each list', () => {
  let proxy: FaultProxy | undefined
  afterEach(async () => {
    await proxy?.stop()
    proxy = undefined
  })

  const arns: string[] = []
  beforeAll(async () => {
    const iam = seedClients(moto.endpoint()).iam
    await iam.send(new CreateUserCommand({ UserName: 'many-policies' }))
    await seedRole(moto.endpoint(), { name: 'many-policies-role' })
    // In parallel: some 300 calls one by one take seconds.
    arns.push(
      ...(await Promise.all(
        Array.from({ length: MANAGED }, async (_, i) => {
          const out = await iam.send(
            new CreatePolicyCommand({ PolicyName: `managed-${i}`, PolicyDocument: managedDoc(i) }),
          )
          return out.Policy!.Arn!
        }),
      )),
    )
    await Promise.all(
      arns.flatMap((arn) => [
        iam.send(new AttachUserPolicyCommand({ UserName: 'many-policies', PolicyArn: arn })),
        iam.send(new AttachRolePolicyCommand({ RoleName: 'many-policies-role', PolicyArn: arn })),
      ]),
    )
    for (const name of ['inline-a', 'inline-b', 'inline-c']) {
      await iam.send(
        new PutUserPolicyCommand({
          UserName: 'many-policies',
          PolicyName: name,
          PolicyDocument: inlineDoc(name),
        }),
      )
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: 'many-policies-role',
          PolicyName: name,
          PolicyDocument: inlineDoc(name),
        }),
      )
    }
  })

  for (const [kind, name] of [
    ['user', 'many-policies'],
    ['role', 'many-policies-role'],
  ] as const) {
    it(`reads a ${kind}'s inline and managed policies past the first page`, async () => {
      proxy = await new FaultProxy(moto.endpoint(), {
        rewrites: [{ match: kind === 'user' ? 'ListUserPolicies' : 'ListRolePolicies', body: inTwoPages() }],
      }).start()
      const aws = await AwsClients.create({ endpoint: proxy.endpoint, emulatorOnly: true })
      const docs = (await identityPolicyDocuments(aws, kind, name))!.map((d) =>
        decodeURIComponent(d).replace(/\s/g, ''),
      )
      // Before: the first page of each only (1 inline and 100 managed documents of 3 and 101).
      expect(docs).toHaveLength(3 + MANAGED)
      const listCalls = proxy.forwarded().filter((op) => /^List(Attached)?(User|Role)Policies$/.test(op))
      expect(listCalls.filter((op) => op.startsWith('ListAttached'))).toHaveLength(2)
      expect(listCalls.filter((op) => !op.startsWith('ListAttached'))).toHaveLength(2)
      for (const n of ['inline-a', 'inline-b', 'inline-c']) expect(docs).toContain(inlineDoc(n))
      for (let i = 0; i < MANAGED; i++) expect(docs, `managed-${i}`).toContain(managedDoc(i))
    }, 60_000)
  }
})
