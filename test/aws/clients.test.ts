import { execFileSync } from 'node:child_process'
import net from 'node:net'
import { ListFunctionsCommand } from '@aws-sdk/client-lambda'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { AwsClients, isLoopbackHost } from '../../src/aws/clients.js'
import { openLocation } from '../../src/aws/download.js'
import { classifyFailure, gapReason, toFirError } from '../../src/aws/errors.js'
import { putRolePolicy } from '../../src/aws/iam.js'
import { getCallerIdentity } from '../../src/aws/sts.js'
import { EmulatorSafetyError, ExitCode, UsageError } from '../../src/errors.js'
import { REPO_ROOT } from '../support/cli.js'
import { useMoto } from '../support/emulator.js'
import { type FaultKind, FaultProxy } from '../support/fault-proxy.js'
import { seedFunction, seedRole } from '../support/seed.js'

const moto = useMoto()

describe('loopback guard', () => {
  it('knows loopback from everything else', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', 'localhost', '[::1]', '::1', 'a.localhost'])
      expect(isLoopbackHost(h)).toBe(true)
    for (const h of [
      '10.0.0.1',
      '192.168.1.1',
      'lambda.us-east-1.amazonaws.com',
      '128.0.0.1',
      '::ffff:8.8.8.8',
    ]) {
      expect(isLoopbackHost(h)).toBe(false)
    }
  })

  it('refuses a non-loopback endpoint under test settings before any request leaves the process', async () => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect')
    await expect(
      AwsClients.create({ endpoint: 'http://192.0.2.10:4566', emulatorOnly: true }),
    ).rejects.toBeInstanceOf(EmulatorSafetyError)

    // A client built for loopback whose request is redirected elsewhere by any middleware is stopped too.
    const aws = await AwsClients.create({ endpoint: moto.endpoint(), emulatorOnly: true })
    aws.lambda.middlewareStack.add(
      (next) => async (args) => {
        ;(args.request as { hostname: string }).hostname = 'lambda.us-east-1.amazonaws.com'
        return next(args)
      },
      { step: 'build', name: 'redirectForTest' },
    )
    const before = connect.mock.calls.length
    await expect(aws.lambda.send(new ListFunctionsCommand({}))).rejects.toBeInstanceOf(EmulatorSafetyError)
    expect(connect.mock.calls.length).toBe(before)
    connect.mockRestore()
  })

  it('without an emulator endpoint, makes the clients but refuses every call, before any request leaves the process', async () => {
    // Before: creating the clients failed, so a command that makes no AWS call (a timeline over
    // local files) was refused too.
    vi.stubEnv('AWS_ENDPOINT_URL', undefined)
    const connect = vi.spyOn(net.Socket.prototype, 'connect')
    try {
      const aws = await AwsClients.create({ emulatorOnly: true, region: 'us-east-1' })
      expect(aws.emulatorOnly).toBe(true)
      expect(aws.endpoint).toBeUndefined()
      const before = connect.mock.calls.length
      await expect(getCallerIdentity(aws)).rejects.toThrow(
        'unable to send a sts request to sts.us-east-1.amazonaws.com: fir is in emulator-only mode and no emulator endpoint is set',
      )
      await expect(aws.lambda.send(new ListFunctionsCommand({}))).rejects.toBeInstanceOf(EmulatorSafetyError)
      await expect(
        aws.forRegion('eu-west-1').lambda.send(new ListFunctionsCommand({})),
      ).rejects.toBeInstanceOf(EmulatorSafetyError)
      const assumed = aws.forRole('arn:aws:iam::123456789012:role/responder')
      await expect(assumed.lambda.send(new ListFunctionsCommand({}))).rejects.toBeInstanceOf(
        EmulatorSafetyError,
      )
      await expect(
        openLocation(aws, 'https://awslambda-us-east-1-tasks.s3.us-east-1.amazonaws.com/code.zip'),
      ).rejects.toBeInstanceOf(EmulatorSafetyError)
      expect(connect.mock.calls.length).toBe(before)
      // A role to assume first: its AssumeRole is refused in the same way.
      const withRole = await AwsClients.create({
        emulatorOnly: true,
        region: 'us-east-1',
        roleArn: 'arn:aws:iam::123456789012:role/responder',
      })
      await expect(withRole.lambda.send(new ListFunctionsCommand({}))).rejects.toBeInstanceOf(
        EmulatorSafetyError,
      )
      expect(connect.mock.calls.length).toBe(before)
    } finally {
      connect.mockRestore()
      vi.unstubAllEnvs()
    }
  })

  it('takes only an http:// or https:// endpoint, from the flag or any AWS_ENDPOINT_URL variable, and says what to fix', async () => {
    const refusal = (options: Parameters<typeof AwsClients.create>[0]) =>
      AwsClients.create({ region: 'us-east-1', ...options }).then(
        () => undefined,
        (e) => e,
      )
    // Before: a TypeError (a bug, exit 1) in emulator-only mode; `localhost:5194` (scheme
    // `localhost:`) and ftp:// were taken, and calls went to 0.0.20.74:80.
    for (const emulatorOnly of [true, false]) {
      const noScheme = await refusal({ endpoint: '127.0.0.1:5194', emulatorOnly })
      expect(noScheme).toBeInstanceOf(UsageError)
      expect(noScheme.message).toBe('unable to use endpoint "127.0.0.1:5194": --endpoint-url has no scheme')
      expect(noScheme.actions).toEqual(['add http://: --endpoint-url http://127.0.0.1:5194'])
    }
    expect((await refusal({ endpoint: 'localhost:5194', emulatorOnly: true })).actions).toEqual([
      'add http://: --endpoint-url http://localhost:5194',
    ])
    expect((await refusal({ endpoint: 'vpce-1.lambda.eu-west-1.vpce.amazonaws.com' })).actions).toEqual([
      'add https://: --endpoint-url https://vpce-1.lambda.eu-west-1.vpce.amazonaws.com',
    ])
    expect((await refusal({ endpoint: 'ftp://127.0.0.1:5194', emulatorOnly: true })).message).toBe(
      'unable to use endpoint "ftp://127.0.0.1:5194": --endpoint-url is not an http:// or https:// URL (its scheme is ftp:)',
    )
    const notUrl = await refusal({ endpoint: 'not a url', emulatorOnly: true })
    expect([notUrl.code, notUrl.message]).toEqual([
      'usage',
      'unable to use endpoint "not a url": --endpoint-url is not a URL',
    ])
    vi.stubEnv('AWS_ENDPOINT_URL', undefined)
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing')
    try {
      vi.stubEnv('AWS_ENDPOINT_URL', '127.0.0.1:5194')
      expect((await refusal({ emulatorOnly: true })).actions).toEqual([
        'add http://: AWS_ENDPOINT_URL=http://127.0.0.1:5194',
      ])
      // A service's own variable, which the SDK reads itself: checked as the others are.
      vi.stubEnv('AWS_ENDPOINT_URL', moto.endpoint())
      vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', '127.0.0.1:5194')
      expect((await refusal({ emulatorOnly: false })).message).toBe(
        'unable to use endpoint "127.0.0.1:5194": AWS_ENDPOINT_URL_LAMBDA has no scheme',
      )
      vi.stubEnv('AWS_ENDPOINT_URL', undefined)
      vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', 'http://192.0.2.10:4566')
      const offLoopback = await refusal({ emulatorOnly: true })
      expect(offLoopback).toBeInstanceOf(EmulatorSafetyError)
      expect(offLoopback.actions).toEqual([
        'point AWS_ENDPOINT_URL_LAMBDA at a loopback emulator such as http://127.0.0.1:5000',
      ])
      // --endpoint-url overrides it (as in the SDK): then it is not used, and not in the way.
      await expect(refusal({ endpoint: moto.endpoint(), emulatorOnly: true })).resolves.toBeUndefined()
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it("uses the dummy credentials, never the environment's, in emulator-only mode", async () => {
    const proxy = await new FaultProxy(moto.endpoint()).start()
    const saved = process.env.AWS_ACCESS_KEY_ID
    process.env.AWS_ACCESS_KEY_ID = 'AKIAREALLOOKINGKEY01'
    try {
      const aws = await AwsClients.create({ endpoint: proxy.endpoint, emulatorOnly: true })
      await getCallerIdentity(aws)
      expect(proxy.records.map((r) => r.accessKeyId)).toEqual(['testing'])
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved
      await proxy.stop()
    }
  })
})

describe('client factory against moto', () => {
  let proxy: FaultProxy
  beforeAll(async () => {
    proxy = await new FaultProxy(moto.endpoint()).start()
  })
  afterAll(() => proxy.stop())

  it('logs every request with its request id and learns AWS clock skew from Date headers', async () => {
    const aws = await AwsClients.create({ endpoint: moto.endpoint(), emulatorOnly: true })
    const id = await getCallerIdentity(aws)
    expect(id.account).toMatch(/^\d{12}$/)
    expect(aws.requestLog.at(-1)).toMatchObject({
      service: 'sts',
      operation: 'GetCallerIdentity',
      status: 200,
    })
    expect(aws.clock.skewMs).toBeDefined()
    expect(Math.abs(aws.clock.skewMs!)).toBeLessThan(5000)
  })

  it('names the missing IAM action when AWS denies a call', async () => {
    proxy.rules = [{ match: 'GetCallerIdentity', fault: 'access-denied' }]
    const aws = await AwsClients.create({ endpoint: proxy.endpoint, emulatorOnly: true })
    const err = await getCallerIdentity(aws).catch((e) => e)
    expect(err.code).toBe('access-denied')
    expect(err.iamActions).toEqual(['sts:GetCallerIdentity'])
    expect(err.actions.join(' ')).toContain('sts:GetCallerIdentity')
  })

  it('turns an expired token into an error that says to refresh credentials', async () => {
    proxy.rules = [{ match: 'GetCallerIdentity', fault: 'expired-token' }]
    const aws = await AwsClients.create({ endpoint: proxy.endpoint, emulatorOnly: true })
    const err = await getCallerIdentity(aws).catch((e) => e)
    // Before: AWS's 403 made it "AWS denied sts:GetCallerIdentity", to be fixed by granting it.
    expect([err.code, err.exitCode]).toEqual(['expired-credentials', ExitCode.usage])
    expect(err.message).toBe(
      'unable to identify the AWS caller: the AWS credentials have expired (ExpiredToken)',
    )
    expect(err.actions.join(' ')).toMatch(/sso login/)
  })

  it('names expired, unknown and mis-signed credentials as such, not as a denial, though AWS answers all with 403', async () => {
    const aws = await AwsClients.create({ endpoint: proxy.endpoint, emulatorOnly: true })
    const lambdaFailure = async (fault: FaultKind) => {
      proxy.rules = [{ match: 'ListFunctions', fault }]
      const err = await aws.lambda.send(new ListFunctionsCommand({})).catch((e) => e)
      expect(err.$metadata.httpStatusCode).toBe(403)
      return err
    }
    // A snapshot's gap reads what gapReason gives: before, "denied: ExpiredTokenException: …".
    const expired = await lambdaFailure('expired-token')
    expect(classifyFailure(expired)).toBe('credentials')
    expect(gapReason(expired)).toBe(
      'credentials: ExpiredTokenException: The security token included in the request is expired',
    )
    expect(toFirError(expired, 'lambda:ListFunctions', 'list the functions').code).toBe('expired-credentials')

    const unknown = await lambdaFailure('region-not-enabled')
    expect(classifyFailure(unknown)).toBe('credentials')
    const rejected = toFirError(unknown, 'lambda:ListFunctions', 'list the functions')
    expect([rejected.code, rejected.exitCode]).toEqual(['invalid-credentials', ExitCode.usage])
    expect(rejected.message).toMatch(
      /^unable to list the functions: AWS rejected the credentials \(UnrecognizedClientException: /,
    )

    const skewed = await lambdaFailure('clock-skew')
    expect(toFirError(skewed, 'lambda:ListFunctions', 'list the functions').code).toBe('clock-skew')
    proxy.rules = [{ match: 'GetCallerIdentity', fault: 'clock-skew' }]
    expect(await getCallerIdentity(aws).catch((e) => e.code)).toBe('clock-skew')

    // A denial is still one.
    const denied = await lambdaFailure('access-denied')
    expect(classifyFailure(denied)).toBe('denied')
    expect(toFirError(denied, 'lambda:ListFunctions', 'list the functions').code).toBe('access-denied')
  })

  it('retries throttling and 5xx adaptively, then succeeds', async () => {
    proxy.rules = [
      { match: 'GetCallerIdentity', fault: 'throttle', count: 1 },
      { match: 'GetCallerIdentity', fault: 'server-error', count: 1 },
    ]
    const aws = await AwsClients.create({ endpoint: proxy.endpoint, emulatorOnly: true })
    const start = proxy.records.length
    await expect(getCallerIdentity(aws)).resolves.toMatchObject({ account: expect.any(String) })
    expect(proxy.records.slice(start).map((r) => r.faulted ?? 'ok')).toEqual([
      'throttle',
      'server-error',
      'ok',
    ])
  })

  it('fails at once on an IAM quota (LimitExceeded), which waiting does not clear, naming the limit', async () => {
    proxy.rules = [{ match: 'PutRolePolicy', fault: 'limit-exceeded' }]
    const aws = await AwsClients.create({ endpoint: proxy.endpoint, emulatorOnly: true })
    const start = proxy.records.length
    const began = Date.now()
    const err = await putRolePolicy(aws, 'full-role', 'fir-revoke-Q1', '{}').catch((e) => e)
    // Before: the SDK took it for throttling, 6 calls over some 17 s, then a generic aws-error.
    expect(proxy.records.slice(start).map((r) => r.operation)).toEqual(['PutRolePolicy'])
    expect(Date.now() - began).toBeLessThan(3000)
    expect(classifyFailure(err.cause)).toBe('quota')
    expect(err.code).toBe('limit-exceeded')
    expect(err.message).toBe(
      "unable to put policy fir-revoke-Q1 on role full-role: the role is at IAM's inline policy size limit: all of a role's inline policies together may hold 10,240 characters (whitespace not counted), and this one does not fit; waiting will not clear it (LimitExceededException: Maximum policy size of 10240 bytes exceeded for role)",
    )
    expect(err.actions.join('\n')).toMatch(/make room.*\n.*managed policy/)
    // Throttling is still retried (the test above), and the client still works.
    proxy.rules = []
    await expect(getCallerIdentity(aws)).resolves.toMatchObject({ account: expect.any(String) })
  })

  it('maps a missing credential chain to a no-credentials error with next steps', () => {
    const e = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    })
    const err = toFirError(e, 'sts:GetCallerIdentity', 'identify the caller')
    expect(err.code).toBe('no-credentials')
    expect(err.actions.join(' ')).toMatch(/AWS_PROFILE|--profile/)
  })

  it('names an answer the SDK could not parse by its HTTP status, never by the parser', () => {
    const parserError = (status: number) =>
      Object.assign(
        new SyntaxError(
          `Unexpected token '<', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.`,
        ),
        { $metadata: { httpStatusCode: status } },
      )
    const missing = toFirError(parserError(404), 'cloudtrail:StartQuery', 'start the CloudTrail Lake query')
    expect(missing.code).toBe('unimplemented')
    expect(missing.message).toBe(
      'unable to start the CloudTrail Lake query: the endpoint does not implement this API (HTTP 404 with a non-AWS body)',
    )
    expect(missing.actions.join(' ')).toMatch(/--endpoint-url.*cloudtrail:StartQuery/)
    const broken = toFirError(parserError(502), 'athena:GetQueryResults', 'read the results')
    expect(broken.message).toBe(
      'unable to read the results: the endpoint answered HTTP 502 with a body that is not an AWS response',
    )
    expect(broken.actions.join(' ')).toMatch(/--endpoint-url/)
  })

  it('rejects a region that is not an AWS region name', async () => {
    await expect(
      AwsClients.create({ region: 'mars-north', emulatorOnly: true, endpoint: moto.endpoint() }),
    ).rejects.toThrow(/not an AWS region name/)
  })
})

describe('endpoints set in the environment, as the SDK reads them', () => {
  it('reads a code location through AWS_ENDPOINT_URL, and lets AWS_ENDPOINT_URL_<SERVICE> win', async () => {
    const role = await seedRole(moto.endpoint(), { name: 'env-endpoint-role' })
    const fn = await seedFunction(moto.endpoint(), { name: 'env-endpoint-fn', roleArn: role.arn })
    const location = `https://awslambda-us-east-1-tasks.s3.us-east-1.amazonaws.com/${fn.code!.S3Key}`
    // Not emulator-only (as a responder runs it), so nothing but the endpoint keeps the read on
    // this machine: a proxy on a closed loopback port catches any attempt to fetch the AWS URL.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing')
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
    vi.stubEnv('HTTPS_PROXY', 'http://127.0.0.1:9')
    vi.stubEnv('AWS_ENDPOINT_URL', moto.endpoint())
    try {
      const aws = await AwsClients.create({ region: 'us-east-1', emulatorOnly: false })
      expect(aws.endpoint).toBe(moto.endpoint())
      expect(aws.endpointFor('s3')).toBe(moto.endpoint())
      expect(aws.serviceEndpoints).toEqual({})
      const opened = await openLocation(aws, location)
      expect(opened.via).toBe('s3-endpoint')
      const bytes = Buffer.concat(await opened.body.toArray())
      expect(bytes.equals(fn.zip!)).toBe(true)

      vi.stubEnv('AWS_ENDPOINT_URL_S3', 'http://127.0.0.1:4599')
      vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', 'http://localhost:4598')
      const split = await AwsClients.create({ region: 'us-east-1', emulatorOnly: false })
      expect(split.endpointFor('s3')).toBe('http://127.0.0.1:4599')
      expect(split.endpointFor('lambda')).toBe(moto.endpoint())
      expect(split.serviceEndpoints).toEqual({
        s3: 'http://127.0.0.1:4599',
        secretsmanager: 'http://localhost:4598',
      })
      // --endpoint-url overrides every one of them, as it does in the SDK.
      const flag = await AwsClients.create({
        region: 'us-east-1',
        emulatorOnly: false,
        endpoint: moto.endpoint(),
      })
      expect(flag.endpointFor('s3')).toBe(moto.endpoint())
      expect(flag.serviceEndpoints).toEqual({})

      vi.stubEnv('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', 'true')
      const ignored = await AwsClients.create({ region: 'us-east-1', emulatorOnly: false })
      expect(ignored.endpoint).toBeUndefined()
      expect(ignored.endpointFor('s3')).toBeUndefined()
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('start-up', () => {
  it('loads an AWS SDK client package only when a command first uses that client', async () => {
    // A fresh process: the built module, as the CLI loads it.
    const script = `
      const { createRequire } = await import('node:module')
      const require = createRequire(${JSON.stringify(`${REPO_ROOT}/package.json`)})
      const loaded = () => Object.keys(require.cache).filter((k) => k.includes('/@aws-sdk/client-')).map((k) => k.split('/@aws-sdk/')[1].split('/')[0])
      const { AwsClients } = await import(${JSON.stringify(`${REPO_ROOT}/dist/aws/clients.js`)})
      const before = [...new Set(loaded())]
      const aws = await AwsClients.create({ emulatorOnly: true, endpoint: 'http://127.0.0.1:9' })
      const lambda = aws.lambda
      console.log(JSON.stringify({ before, after: [...new Set(loaded())].sort(), guarded: typeof lambda.send }))
    `
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual({ before: [], after: ['client-lambda'], guarded: 'function' })
  })

  it('gives, for each lazily loaded package, the very module an import of it gives (one copy)', () => {
    // Two copies of a package (require and import resolving to different files) would mean two
    // of each class: an error's instanceof checks would fail, and the start-up gain would be lost.
    const packages: Record<string, string> = {
      athena: '@aws-sdk/client-athena',
      cloudtrail: '@aws-sdk/client-cloudtrail',
      logs: '@aws-sdk/client-cloudwatch-logs',
      ecr: '@aws-sdk/client-ecr',
      iam: '@aws-sdk/client-iam',
      lambda: '@aws-sdk/client-lambda',
      organizations: '@aws-sdk/client-organizations',
      s3: '@aws-sdk/client-s3',
      secrets: '@aws-sdk/client-secrets-manager',
      sts: '@aws-sdk/client-sts',
      config: '@smithy/core/config',
      retry: '@smithy/core/retry',
      http: '@smithy/node-http-handler',
      credentials: '@aws-sdk/credential-providers',
      proxyAgent: 'https-proxy-agent',
    }
    const script = `
      const { sdk } = await import(${JSON.stringify(`${REPO_ROOT}/dist/aws/sdk.js`)})
      const packages = ${JSON.stringify(packages)}
      const out = { keys: Object.keys(sdk).sort(), differ: [] }
      for (const [key, name] of Object.entries(packages)) {
        const loaded = sdk[key]()
        const ns = await import(name)
        // CommonJS: import gives module.exports as default; ES module: require gives the namespace.
        if (loaded !== ns.default && loaded !== ns) out.differ.push(name)
      }
      console.log(JSON.stringify(out))
    `
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        cwd: REPO_ROOT,
      }),
    )
    expect(out.keys).toEqual(Object.keys(packages).sort())
    expect(out.differ).toEqual([])
  })

  it('starts every command without any AWS SDK client package (each loads the clients it calls)', () => {
    const script = `
      const { createRequire } = await import('node:module')
      const { readdirSync } = await import('node:fs')
      const require = createRequire(${JSON.stringify(`${REPO_ROOT}/package.json`)})
      const dir = ${JSON.stringify(`${REPO_ROOT}/dist/commands`)}
      const commands = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js'))
      for (const c of commands) await import(dir + '/' + c)
      const loaded = Object.keys(require.cache).filter((k) => k.includes('/@aws-sdk/client-'))
      console.log(JSON.stringify({ commands: commands.length, loaded }))
    `
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
    )
    expect(out.commands).toBeGreaterThanOrEqual(20)
    expect(out.loaded).toEqual([])
  })
})
