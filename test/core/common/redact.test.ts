import { describe, expect, it } from 'vitest'
import {
  classifyValue,
  jsonSecretFields,
  matchesRedacted,
  Redactor,
  redactArgv,
  redactor,
  redactUrlPasswords,
  redactValue,
  scrubAndCut,
  secretsInText,
} from '../../../src/core/common/redact.js'
import { escapeTerminal } from '../../../src/core/common/text.js'

describe('redaction', () => {
  it('shows length and the first 8 hex of the SHA-256, never the value', () => {
    // sha256("hunter2hunter2") starts with 3a8f4c5e? computed below, not assumed
    const r = redactValue('hunter2hunter2')
    expect(r).toMatch(/^‹redacted len=14 sha256:[0-9a-f]{8}›$/)
    expect(r).not.toContain('hunter2')
    expect(redactValue('abc')).toBe('‹redacted len=3 sha256:ba7816bf›')
  })
  it('classifies secrets by value and by name, and key ids as not secret', () => {
    expect(classifyValue('X', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').secret).toBe(true)
    expect(classifyValue('DB_PASSWORD', 'correct-horse').secret).toBe(true)
    expect(classifyValue('DB_PASSWORD', 'true').secret).toBe(false)
    // An address, whatever the name: as a secret it would be scrubbed from every sourceIPAddress.
    expect(classifyValue('DB_PASSWORD', '198.51.100.99').secret).toBe(false)
    expect(classifyValue('API_TOKEN', '2001:db8::7').secret).toBe(false)
    expect(classifyValue('DB_PASSWORD', '198.51.100.999').secret).toBe(true)
    // A working directory, not a password: /var/task was redacted from every path.
    expect(classifyValue('PWD', '/var/task').secret).toBe(false)
    expect(classifyValue('SHELL_PWD', '/home/app').secret).toBe(false)
    expect(classifyValue('DB_PWD', 's3cr3t-pw').secret).toBe(true)
    expect(classifyValue('AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPLE')).toMatchObject({
      secret: false,
      accessKeyId: true,
    })
    expect(classifyValue('LOG_LEVEL', 'debug').secret).toBe(false)
    // Names of secrets are not secrets: rotate-secret and the timeline need them in clear.
    expect(classifyValue('DB_SECRET_ID', 'prod/orders/db').secret).toBe(false)
    expect(classifyValue('API_TOKEN_ARN', 'arn:aws:secretsmanager:us-east-1:1:secret:x').secret).toBe(false)
    expect(classifyValue('API_KEY', 'k-1234567890').secret).toBe(true)
    expect(classifyValue('DATABASE_URL', 'postgres://app:s3cr3t@db:5432/x')).toMatchObject({
      secret: true,
      kind: 'url-with-password',
    })
  })
  it('finds secrets by common names and by the formats of common providers', () => {
    const secret = (name: string, value: string) => classifyValue(name, value).secret
    for (const [name, value] of [
      ['DB_PASS', 'Xk9#mQ2vLp'],
      ['MYSQL_PASS', 'Xk9#mQ2vLp'],
      ['smtpPass', 'Xk9#mQ2vLp'],
      ['PASSPHRASE', 'correct horse battery'],
      ['ENCRYPTION_KEY', '3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['MASTER_KEY', 'a8f5f167f44f4964e6c998dee827110c'],
      ['OPENAI_KEY', 'a8f5f167f44f4964e6c998dee827110c'],
      ['encryptionKey', 'a8f5f167f44f4964e6c998dee827110c'],
      ['NEW_RELIC_LICENSE_KEY', 'a8f5f167f44f4964e6c998dee827110c'],
      // A password of digits, or a short one, is still a password when the name says so.
      ['PASSWORD', '12345'],
      ['DB_PASSWORD', '1234'],
      ['ADMIN_PWD', 'abc'],
    ] satisfies [string, string][]) {
      expect(classifyValue(name, value), name).toMatchObject({ secret: true, kind: 'secret-by-name' })
    }
    for (const [value, kind] of [
      ['sk-proj-abcdefghijklmnopqrstuvwxyz123456', 'openai-api-key'],
      ['sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL', 'openai-api-key'],
      ['AIzaSyD-abcdefghijklmnopqrstuvwxyz12345', 'google-api-key'],
      ['npm_abcdefghijklmnopqrstuvwxyz0123456789', 'npm-token'],
      ['SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDE', 'sendgrid-api-key'],
      [
        'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc123def456==;EndpointSuffix=core.windows.net',
        'connection-string-with-key',
      ],
      [
        'Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=r;SharedAccessKey=abcdef123456=',
        'connection-string-with-key',
      ],
      ['{"password":"hunter2hunter2"}', 'json-with-secret'],
      ['{"db":{"host":"db","user":"app","pass":1234}}', 'json-with-secret'],
      ['[{"clientSecret":"q8Zr2kLm9xPw"}]', 'json-with-secret'],
      [' wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws-secret-access-key'],
    ] satisfies [string, string][]) {
      expect(classifyValue('CONFIG', value), value).toMatchObject({ secret: true, kind })
    }
    // What names, locates or describes a secret, and keys that are not secrets, stay in clear.
    for (const [name, value] of [
      ['SECRET_ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf'],
      ['DB_SECRET_ID', 'prod/orders/db'],
      ['DB_PASSWORD_SECRET', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf'],
      ['KMS_KEY_ARN', 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
      ['KMS_KEY', 'alias/orders-prod'],
      ['KMS_KEY', '1234abcd-12ab-34cd-56ef-1234567890ab'],
      ['ENCRYPTION_KEY_ID', '1234abcd-12ab-34cd-56ef-1234567890ab'],
      ['SIGNING_KEY_NAME', 'orders-signing'],
      ['API_KEY_PREFIX', 'ord_live'],
      ['PRIVATE_KEY_FILE', '/opt/keys/app.pem'],
      ['PUBLIC_KEY', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'],
      ['STRIPE_PUBLISHABLE_KEY', 'pk_live_abcdefghijklmnop'],
      ['RECAPTCHA_SITE_KEY', '6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI'],
      ['CACHE_KEY_PREFIX', 'orders:v2:'],
      ['CACHE_KEY', 'orders-v2'],
      ['PARTITION_KEY', 'customerId'],
      ['S3_KEY', 'uploads/incoming.csv'],
      ['OBJECT_KEY', 'exports/2025/report.json'],
      ['PASSWORD_MIN_LENGTH', '12'],
      ['PASSWORD_EXPIRY_DAYS', '90'],
      ['REQUIRE_PASSWORD', 'true'],
      ['BYPASS', 'enabled'],
      ['COMPASS_URL', 'https://compass.example.com/'],
      ['KEY_ROTATION_DAYS', '30'],
      [
        'APP_CONFIG',
        '{"region":"eu-west-1","tokenUrl":"https://login.example.com/oauth2/token","authority":"example"}',
      ],
      ['APP_CONFIG', '{"secretArn":"arn:aws:secretsmanager:us-east-1:1:secret:x","passwordMinLength":12}'],
      ['APP_CONFIG', '{not json'],
    ] satisfies [string, string][]) {
      expect(secret(name, value), `${name}=${value}`).toBe(false)
    }
  })
  it('finds a password in a URL with no user name, a connection string or a query string, and a CREDS name', () => {
    for (const [name, value, kind] of [
      ['REDIS_URL', 'redis://:R3disPassw0rdXYZ@cache.example.com:6379/0', 'url-with-password'],
      [
        'DB_CONNECTION',
        'Server=db.example.com;Database=app;User Id=sa;Password=AdoNetPa55word!;',
        'connection-string-with-password',
      ],
      [
        'DB_CONNECTION',
        'Driver={ODBC Driver 18};Server=db;UID=sa;PWD=OdbcPa55word',
        'connection-string-with-password',
      ],
      ['DB_CONNECTION', 'Server=db; password = "Pa;ss w0rd"', 'connection-string-with-password'],
      [
        'JDBC_URL',
        'jdbc:sqlserver://db:1433;databaseName=app;user=sa;password=MsJdbcPa55',
        'connection-string-with-password',
      ],
      ['JDBC_URL', 'jdbc:mysql://db:3306/app?user=root&password=JdbcPa55word', 'url-with-password'],
      ['DATABASE_URL', 'postgresql://host/app?user=x&password=PgPa55word', 'url-with-password'],
      ['SMTP_CREDS', 'mailer:SmtpPa55w0rdQQ', 'secret-by-name'],
      ['smtpCreds', 'mailer:SmtpPa55w0rdQQ', 'secret-by-name'],
      ['DB_CRED', 'app:DbPa55w0rdQQ', 'secret-by-name'],
    ] satisfies [string, string, string][]) {
      expect(classifyValue(name, value), `${name}=${value}`).toMatchObject({ secret: true, kind })
    }
    // No password in them: a URL or connection string that only says where to go stays in clear.
    for (const [name, value] of [
      ['DATABASE_URL', 'postgres://host/app'],
      ['DATABASE_URL', 'postgres://app@db.example.com:5432/app'],
      ['CACHE_URL', 'redis://cache.example.com:6379/0'],
      ['DB_CONNECTION', 'Server=db.example.com;Database=app'],
      ['DB_CONNECTION', 'Server=db.example.com;Database=app;Integrated Security=true;'],
      ['DB_CONNECTION', 'Server=db;Database=app;Password=;'],
      ['DB_CONNECTION', 'Server=db;Database=app;PasswordPolicy=strict'],
      ['JDBC_URL', 'jdbc:mysql://db:3306/app?user=root&useSSL=true'],
      ['DATABASE_URL', 'postgresql://host/app?user=x&password='],
      ['DATABASE_URL', 'postgresql://host/app?user=x&password_min_length=12'],
      ['RESET_URL', 'https://example.com/reset?next=/account'],
      ['SMTP_CREDS_ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:smtp-AbCdEf'],
      ['CREDSTASH_TABLE', 'credential-store'],
      ['INCREDIBLE_MODE', 'enabled-always'],
    ] satisfies [string, string][]) {
      expect(classifyValue(name, value).secret, `${name}=${value}`).toBe(false)
    }
  })
  it('takes a libpq keyword/value connection string with a password for a secret', () => {
    expect(
      classifyValue('DB_CONNECTION', 'host=db port=5432 user=app password=LibpqPw123 dbname=x'),
    ).toMatchObject({
      secret: true,
      kind: 'connection-string-with-password',
    })
    expect(classifyValue('DB_CONNECTION', 'host=db port=5432 user=app dbname=x').secret).toBe(false)
  })
  it('registers the password inside a URL, connection string or query string too, so it is scrubbed where it stands alone', () => {
    const cases: [string, string[]][] = [
      ['redis://:R3disPassw0rdXYZ@cache.example.com:6379/0', ['R3disPassw0rdXYZ']],
      ['postgres://app:s3cr3tPassw0rd@db/x', ['s3cr3tPassw0rd']],
      ['Server=db.example.com;Database=app;User Id=sa;Password=AdoNetPa55word!;', ['AdoNetPa55word!']],
      ['Server=db;UID=sa;PWD=OdbcPa55word', ['OdbcPa55word']],
      ['Server=db; Password = "Pa;ss w0rd" ;Database=app', ['Pa;ss w0rd']],
      ['jdbc:mysql://db:3306/app?user=root&password=JdbcPa55word&useSSL=true', ['JdbcPa55word']],
      // Percent-encoded: as written and as meant.
      ['postgresql://host/app?user=x&password=Pg%40Pa55word', ['Pg%40Pa55word', 'Pg@Pa55word']],
      ['amqp://mq:Mq%2FPa55word@broker/vhost', ['Mq%2FPa55word', 'Mq/Pa55word']],
      // ODBC braces (a `;` inside them is the password's), and libpq's keyword/value form.
      ['Driver={ODBC};Server=x;Uid=u;Pwd={br@ce;pw77};', ['br@ce;pw77']],
      ['host=db port=5432 user=app password=LibpqPw123 dbname=x', ['LibpqPw123']],
      ["host=db user=app password='q w\\'e' dbname=x", ["q w'e"]],
    ]
    for (const [value, passwords] of cases) {
      const r = new Redactor()
      r.register(value)
      expect(r.size, value).toBe(1 + passwords.length)
      for (const pw of passwords) {
        // As CloudTrail may carry it alone, in a parameter of another call.
        expect(r.scrub(`{"requestParameters":{"secretString":"${pw}"}}`), value).toBe(
          `{"requestParameters":{"secretString":"${redactValue(pw)}"}}`,
        )
      }
    }
    // Nothing more for a value with no password in it.
    const plain = new Redactor()
    plain.register('postgres://app@db.example.com:5432/app?sslmode=require')
    plain.register('Server=db.example.com;Database=app;Integrated Security=true')
    expect(plain.size).toBe(2)
  })
  it('scrubs registered values anywhere in text and deep structures', () => {
    const r = new Redactor()
    r.register('s3cr3t-value-1')
    expect(r.scrub('token=s3cr3t-value-1;')).toBe(`token=${redactValue('s3cr3t-value-1')};`)
    expect(r.scrubDeep({ a: ['x s3cr3t-value-1'], b: 3 })).toEqual({
      a: [`x ${redactValue('s3cr3t-value-1')}`],
      b: 3,
    })
  })
  it('scrubs JSON value by value: a secret shaped like JSON never breaks it, keys and numbers included', () => {
    // Before: a stored timeline line was scrubbed as text, and a secret set to `","region":` in a
    // compromised function's environment matched the line's own quotes: every line was left invalid.
    const r = new Redactor()
    r.register('","region":')
    r.register('271828')
    r.register('k3y-as-a-key')
    const line = JSON.stringify({
      source: 'lambda.amazonaws.com',
      region: 'us-east-1',
      requestParameters: { note: 'a","region":b', pin: 271828, 'k3y-as-a-key': 1, __proto__x: 2 },
    })
    const clean = r.scrubJsonText(line)
    const parsed = JSON.parse(clean)
    expect(parsed.source).toBe('lambda.amazonaws.com')
    expect(parsed.region).toBe('us-east-1')
    expect(parsed.requestParameters.note).toBe(`a${redactValue('","region":')}b`)
    expect(parsed.requestParameters.pin).toBe(redactValue('271828'))
    expect(Object.keys(parsed.requestParameters)).toContain(redactValue('k3y-as-a-key'))
    expect(clean).not.toContain('k3y-as-a-key')
    // nothing secret in it: the very same text
    const plain = JSON.stringify({ region: 'us-east-1', n: 2718280 })
    expect(r.scrubJsonText(plain)).toBe(plain)
    // not JSON: scrubbed as text
    expect(r.scrubJsonText('pin 271828')).toBe(`pin ${redactValue('271828')}`)
  })
  it("a record's own __proto__ key survives a deep scrub as a key", () => {
    const r = new Redactor()
    r.register('s3cr3t-value-1')
    const doc = JSON.parse('{"__proto__":{"x":"s3cr3t-value-1"},"y":1}')
    const out = r.scrubDeep(doc) as Record<string, unknown>
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(JSON.parse(JSON.stringify(out))).toEqual(
      JSON.parse(`{"__proto__":{"x":"${redactValue('s3cr3t-value-1')}"},"y":1}`),
    )
  })
  it('scrubs a secret in text that was JSON-escaped, once or twice, or escaped for a terminal', () => {
    // Before: only the value as it is was matched, so a stored event, an export line or a JSON
    // cell (text that is JSON already) showed `Tr0ub\"ad\\or…` in clear.
    const r = new Redactor()
    const secrets = [
      'Tr0ub"ad\\or&<x>=y',
      'tok_\u0007bell\tTab"q9',
      'pässwörd\u2028Ωmega-ünï',
      "key😀/+x`y'z",
    ]
    for (const s of secrets) r.register(s)
    const once = (s: string) => JSON.stringify(s).slice(1, -1)
    // As Python's ensure_ascii, Go and .NET write them (a surrogate pair beyond the BMP).
    const unicode = (s: string, upper: boolean) =>
      s.replace(/[^\x20-\x7e]|[<>&'+`]/g, (c) => {
        const hex = c.charCodeAt(0).toString(16).padStart(4, '0')
        return `\\u${upper ? hex.toUpperCase() : hex}`
      })
    for (const s of secrets) {
      const forms = {
        raw: s,
        json: once(s),
        jsonTwice: once(once(s)),
        jsonInJson: JSON.stringify(JSON.stringify({ password: s })),
        unicodeLower: unicode(once(s), false),
        unicodeUpper: unicode(once(s), true),
        slashEscaped: once(s).replaceAll('/', '\\/'),
        terminal: escapeTerminal(s),
        terminalJson: once(escapeTerminal(s)),
      }
      for (const [form, text] of Object.entries(forms)) {
        const out = r.scrub(`<${text}>`)
        // The marker is the value's (its length and hash), whichever form was found.
        expect(out, `${form} of ${JSON.stringify(s)}`).toContain(redactValue(s))
        expect(out.replaceAll(redactValue(s), ''), form).not.toMatch(/bell|ad\\|sswör|Ωmega|x`y|😀/)
      }
    }
    // What is not the secret stays: an escape next to it is not taken with it.
    expect(r.scrub('{"a":"x\\nTr0ub\\"ad\\\\or&<x>=y\\n"}')).toBe(
      `{"a":"x\\n${redactValue(secrets[0]!)}\\n"}`,
    )
  })
  it('scrubs a secret written percent-encoded, in upper- or lower-case hex, as the secret itself', () => {
    // Before: a secret percent-encoded (in a URL's query, a parameter) passed every output in clear.
    const r = new Redactor()
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1'
    const phrase = 'correct horse (battery) staple!~ä'
    r.register(key)
    r.register(phrase)
    // Its forms are not secrets of their own: the count is of values.
    expect(r.size).toBe(2)
    const lower = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())
    for (const secret of [key, phrase]) {
      for (const form of [encodeURIComponent(secret), lower(encodeURIComponent(secret))]) {
        expect(r.scrub(`GET /x?p=${form}&y=1`), form).toBe(`GET /x?p=${redactValue(secret)}&y=1`)
        expect(r.scrub(JSON.stringify({ ua: `exfil ${form}` })), form).toBe(
          JSON.stringify({ ua: `exfil ${redactValue(secret)}` }),
        )
      }
    }
  })
  it('gives a value shorter than six characters no encoded form: it is scrubbed only as a whole token', () => {
    const r = new Redactor()
    r.register('a/b!c')
    expect(r.scrub(`q=${encodeURIComponent('a/b!c')}`)).toBe(`q=${encodeURIComponent('a/b!c')}`)
    expect(r.scrub('q a/b!c')).toBe(`q ${redactValue('a/b!c')}`)
  })
  it('scrubs a value shorter than six characters where it stands as a whole token, and one of one or two nowhere', () => {
    // Before: values under six characters were never scrubbed, so a short password the snapshot
    // showed redacted was printed and stored in clear wherever CloudTrail carried it.
    const r = new Redactor()
    for (const s of ['ab12x', 'pw', '7', '2025']) r.register(s)
    const m = redactValue('ab12x')
    expect(r.scrub('SHORT_PASSWORD=ab12x')).toBe(`SHORT_PASSWORD=${m}`)
    expect(r.scrub('{"a":"ab12x","b":"x\\nab12x\\t"}')).toBe(`{"a":"${m}","b":"x\\n${m}\\t"}`)
    expect(r.scrub('(ab12x). ab12x… ab12x_2 é ab12x')).toBe(`(${m}). ${m}… ${m}_2 é ${m}`)
    // Inside a word or another value it is left alone (letters and digits of any script).
    for (const t of ['ab12xyz', 'xab12x', 'ab12x9', 'éab12x', 'ab12xé', '𝒜ab12x']) expect(r.scrub(t)).toBe(t)
    // One or two characters: never scrubbed inside text (see SCRUBBED_FROM).
    expect(r.size).toBe(2)
    expect(r.scrub('pw 7 at 2025-03-01T07:07:07Z from 10.7.7.7')).toBe(
      'pw 7 at 2025-03-01T07:07:07Z from 10.7.7.7',
    )
    // A short value of digits is not cut out of a longer number, time, address or version…
    for (const t of ['2025-03-01T10:00:00Z', '10.0.2025.1', 'v1.2025', '12025', '1:2025'])
      expect(r.scrub(t)).toBe(t)
    // …but is scrubbed where it stands alone, and a JSON number stays JSON.
    const pin = redactValue('2025')
    expect(r.scrub('pin 2025.')).toBe(`pin ${pin}.`)
    expect(JSON.parse(r.scrub('{"pin":2025,"list":[1, 2025 ],"s":"2025"}'))).toEqual({
      pin,
      list: [1, pin],
      s: pin,
    })
    // A longer value of digits is scrubbed anywhere but inside a longer number: there the marker
    // left invalid JSON in the stored line (`"size":9‹redacted…›7`), which stopped its readers.
    const digits = new Redactor()
    digits.register('123456')
    const p6 = redactValue('123456')
    const stored = '{"size":91234567,"f":1.123456,"e":123456e3,"n":-123456,"ms":[1234567],"s":"pin-123456"}'
    expect(digits.scrub(stored)).toBe(
      `{"size":91234567,"f":1.123456,"e":123456e3,"n":-123456,"ms":[1234567],"s":"pin-${p6}"}`,
    )
    expect(JSON.parse(digits.scrub('{"pin":123456,"t":"x123456y","v":[1, 123456]}'))).toEqual({
      pin: p6,
      t: `x${p6}y`,
      v: [1, p6],
    })
    // A value that is no token here does not hide one that starts inside it.
    const inside = new Redactor()
    inside.register('x-abc')
    inside.register('abc')
    expect(inside.scrub('yx-abc x-abc')).toBe(`yx-${redactValue('abc')} ${redactValue('x-abc')}`)
    // Nor one that starts at the same place and is a token there.
    const same = new Redactor()
    same.register('abc-d')
    same.register('abc')
    expect(same.scrub('abc-dz abc-d')).toBe(`${redactValue('abc')}-dz ${redactValue('abc-d')}`)
    // A marker is never scrubbed again (a short value may be a word of it).
    const twice = new Redactor()
    twice.register('len')
    twice.register('hunter2hunter2')
    const once = twice.scrub('len: hunter2hunter2')
    expect(once).toBe(`${redactValue('len')}: ${redactValue('hunter2hunter2')}`)
    expect(twice.scrub(once)).toBe(once)
  })
  it('scrubs before it cuts: a secret across the cut is redacted whole, and a marker is never cut in two', () => {
    // Before: text was cut first (summaryTarget's slice(0, 200), the report's truncate), and the
    // head of a secret that straddled the cut was no longer recognised by the scrub.
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    redactor.register(secret)
    const marker = redactValue(secret)
    expect(scrubAndCut(`${'F'.repeat(190)}${secret}`, 200, '')).toBe(`${'F'.repeat(190)}`)
    expect(scrubAndCut(`${'F'.repeat(150)}${secret}`, 200)).toBe(`${'F'.repeat(150)}${marker}`)
    expect(scrubAndCut(`${'F'.repeat(150)}${secret}tail`, 185)).toBe(`${'F'.repeat(150)}${marker}t…`)
    expect(scrubAndCut(`${'F'.repeat(170)}${secret}tail`, 190)).toBe(`${'F'.repeat(170)}…`)
    expect(scrubAndCut(`${'U'.repeat(150)}${secret}`, 160)).toBe(`${'U'.repeat(150)}…`)
    // Short text is only scrubbed; a cut never splits a surrogate pair.
    expect(scrubAndCut(`k=${secret}`, 100)).toBe(`k=${marker}`)
    expect(scrubAndCut('ab😀cd', 4)).toBe('ab…')
  })
  it('registers the fields of a JSON value that are secret by name or by value, at any depth', () => {
    const config = JSON.stringify({
      db: { host: 'db.internal', user: 'app', password: 'hunter2hunter2XYZ', port: 5432 },
      clients: [{ id: 'web', clientSecret: 'q8Zr"2kLm9xPw' }],
      nested: JSON.stringify({ token: 'n3st3d-t0ken-value' }),
      pass: 4321,
      key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    })
    expect(jsonSecretFields(config)).toEqual([
      'hunter2hunter2XYZ',
      'q8Zr"2kLm9xPw',
      JSON.stringify({ token: 'n3st3d-t0ken-value' }),
      '4321',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ])
    const r = new Redactor()
    r.register(config)
    // The document itself, each secret field, and the field of the JSON held in a field.
    expect(r.size).toBe(7)
    const other = JSON.stringify({ p: JSON.stringify({ note: 'rotated', password: 'hunter2hunter2XYZ' }) })
    expect(r.scrub(other)).toBe(
      JSON.stringify({ p: JSON.stringify({ note: 'rotated', password: redactValue('hunter2hunter2XYZ') }) }),
    )
    expect(r.scrub('token n3st3d-t0ken-value and pin 4321')).toBe(
      `token ${redactValue('n3st3d-t0ken-value')} and pin ${redactValue('4321')}`,
    )
    // Not JSON, or nested past any configuration's depth: nothing, and no stack overflow.
    expect(jsonSecretFields('{not json')).toEqual([])
    expect(jsonSecretFields(`${'['.repeat(3000)}"x"${']'.repeat(3000)}`)).toEqual([])
    expect(
      classifyValue('X', `${'['.repeat(3000)}{"password":"hunter2hunter2"}${']'.repeat(3000)}`).secret,
    ).toBe(false)
  })
  it('redacts secrets on a command line', () => {
    const out = redactArgv([
      'playbook',
      'run',
      'x',
      '--input',
      'db_password=hunter22',
      '--input',
      'db_pass=1234',
      '--token',
      'abcdefgh',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ])
    expect(out.join(' ')).not.toMatch(/hunter22|abcdefgh|wJalrXUtnFEMI|=1234/)
    expect(out).toContain('playbook')
  })
  it('finds the secrets inside a free text, and redacts them on a command line', () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    // Before: none of these was redacted (the text as a whole is no secret).
    expect(secretsInText(`rotated AKIAIOSFODNN7EXAMPLE ${key} today`)).toEqual([key])
    expect(secretsInText('creds: DB_PASSWORD=hunter2hunter2, region=eu-west-1')).toEqual(['hunter2hunter2'])
    expect(secretsInText('see ticket IR-42 for function orders-api in eu-west-1')).toEqual([])
    // Punctuation around a key, a quoted or spaced value, a colon.
    expect(secretsInText(`old key ${key}.`)).toEqual([key])
    expect(secretsInText('Old DB_PASSWORD="hunter 2xyz" and API_TOKEN: tok-12345678')).toEqual([
      'hunter 2xyz',
      'tok-12345678',
    ])
    // Facts that only look like secrets, or sit after a name that does not end in a secret word: kept.
    expect(
      secretsInText(
        'deployed commit 3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a; PASSWORD_POLICY=strict TOKEN_FUNCTION=orders-api token_expiry=2026-11-30T10:00:00Z',
      ),
    ).toEqual([])
    expect(redactArgv(['--input', 'note=DB_PASSWORD=hunter2hunter2 then'])).toEqual([
      '--input',
      `note=DB_PASSWORD=${redactValue('hunter2hunter2')} then`,
    ])
  })
  it('redacts the password of a URL on a command line, whatever flag it follows, keeping user and host', () => {
    const pw = redactValue('P4ssw0rd-Zz9')
    expect(
      redactArgv([
        'snapshot',
        'victim',
        '--endpoint-url',
        'http://admin:P4ssw0rd-Zz9@127.0.0.1:5203',
        '--endpoint-url=http://admin:P4ssw0rd-Zz9@127.0.0.1:5203',
        '--source',
        'https://:P4ssw0rd-Zz9@logs.example.com/trail',
        '--input',
        'HTTPS_PROXY=http://ir:P4ssw0rd-Zz9@proxy.corp:3128',
        '--input',
        'note=via http://admin:P4ssw0rd-Zz9@10.0.0.1:8080/x and back',
      ]),
    ).toEqual([
      'snapshot',
      'victim',
      '--endpoint-url',
      `http://admin:${pw}@127.0.0.1:5203`,
      `--endpoint-url=http://admin:${pw}@127.0.0.1:5203`,
      '--source',
      `https://:${pw}@logs.example.com/trail`,
      '--input',
      `HTTPS_PROXY=http://ir:${pw}@proxy.corp:3128`,
      '--input',
      `note=via http://admin:${pw}@10.0.0.1:8080/x and back`,
    ])
    // A value secret by its name stays redacted whole, URL or not.
    expect(redactArgv(['--input', 'db_password=postgres://app:s3cr3t@db/x'])).toEqual([
      '--input',
      `db_password=${redactValue('postgres://app:s3cr3t@db/x')}`,
    ])
  })
  it('finds the password of a URL as URL parsers do, and nothing else', () => {
    // The userinfo ends at the last @ before the path: a raw @ in a password is taken whole.
    expect(redactUrlPasswords('http://u:p@ss@h:1/path?x=1')).toBe(
      `http://u:${redactValue('p@ss')}@h:1/path?x=1`,
    )
    expect(new URL('http://u:p@ss@h:1/path').password).toBe('p%40ss')
    // Two URLs in one value, each with its own password.
    expect(redactUrlPasswords('a=http://x:one1@h b=socks5://y:two2@k')).toBe(
      `a=http://x:${redactValue('one1')}@h b=socks5://y:${redactValue('two2')}@k`,
    )
    for (const plain of [
      'http://user@host:8080/',
      'http://host:8080/a:b@c',
      'http://host/?u=a:b@c',
      'mailto:a:b@c',
      'user:pass@host',
      'http://u:@host',
      'see https://example.com, then mail a@b.c',
    ])
      expect(redactUrlPasswords(plain)).toBe(plain)
    // Already redacted: left as it is.
    const once = redactUrlPasswords('http://u:pw123@h')
    expect(redactUrlPasswords(once)).toBe(once)
  })
})

describe('protected identifiers', () => {
  it('leaves a secret inside a public identifier in place, and scrubs it everywhere else', () => {
    // Before: a DB_PASSWORD equal to the function name, or a part of it, cut every target, ARN and
    // role name fir printed and journaled (`arn:aws:lambda:…:function:‹redacted…›`).
    const r = new Redactor()
    r.register('billing')
    r.register('webhook7')
    r.protect('billing-api', { evenIfSecret: true })
    r.protect('webhook7', { evenIfSecret: true })
    r.protect('arn:aws:iam::123456789012:role/svc/billing-api-role')
    expect(r.scrub('function billing-api (role billing-api-role)')).toBe(
      'function billing-api (role billing-api-role)',
    )
    expect(r.scrub('arn:aws:iam::123456789012:role/svc/billing-api-role')).toBe(
      'arn:aws:iam::123456789012:role/svc/billing-api-role',
    )
    expect(r.scrub('restore webhook7')).toBe('restore webhook7')
    // Beside the identifier, and alone, the secret is scrubbed.
    expect(r.scrub('billing-api: DB_PASSWORD=billing')).toBe(
      `billing-api: DB_PASSWORD=${redactValue('billing')}`,
    )
    // JSON-escaped, as an identifier stands in a stored document.
    expect(r.scrub('"arn:aws:iam::123456789012:role\\/svc\\/billing-api-role"')).toBe(
      '"arn:aws:iam::123456789012:role\\/svc\\/billing-api-role"',
    )
    // A secret longer than the identifier, or running past it, is scrubbed whole.
    r.register('billing-api-pw')
    expect(r.scrub('billing-api-pw')).toBe(redactValue('billing-api-pw'))
    // A short secret standing as a token inside an identifier is left too.
    r.register('api')
    expect(r.scrub('billing-api api')).toBe(`billing-api ${redactValue('api')}`)
  })
  it('spares a secret an identifier is only when no intruder chose that identifier', () => {
    // Before: an alias (or a statement's text, a role or queue name) named after DB_PASSWORD
    // spared the password everywhere it stood, so every report printed it.
    const r = new Redactor()
    r.register('hunter2x')
    r.protect('hunter2x')
    r.protect('pw-hunter2x')
    expect(r.scrub('DB_PASSWORD=hunter2x; alias pw-hunter2x')).toBe(
      `DB_PASSWORD=${redactValue('hunter2x')}; alias pw-${redactValue('hunter2x')}`,
    )
    // The function's own name, chosen before the intrusion, is named whole even when it is the secret.
    r.register('webhook7')
    r.protect('webhook7', { evenIfSecret: true })
    expect(r.scrub('restore webhook7')).toBe('restore webhook7')
    // Protected again later as a name no one chose, an identifier keeps sparing it.
    r.protect('hunter2x', { evenIfSecret: true })
    expect(r.scrub('alias hunter2x')).toBe('alias hunter2x')
  })
  it("keeps keys as they are when asked (the journal's fields), and scrubs them otherwise", () => {
    const r = new Redactor()
    r.register('function')
    r.register('region')
    const entry = { params: { function: 'x', region: 'y', note: 'a function' } }
    expect(r.scrubDeep(entry, { keys: false })).toEqual({
      params: { function: 'x', region: 'y', note: `a ${redactValue('function')}` },
    })
    expect(Object.keys((r.scrubDeep(entry) as typeof entry).params)).toEqual([
      redactValue('function'),
      redactValue('region'),
      'note',
    ])
  })
  it('keeps numbers as they are when asked (a state read from AWS), and scrubs them otherwise', () => {
    const r = new Redactor()
    r.register('100')
    const state = { reserved: 100, note: 'pin 100' }
    expect(r.scrubDeep(state, { keys: false, numbers: false })).toEqual({
      reserved: 100,
      note: `pin ${redactValue('100')}`,
    })
    expect(r.scrubDeep(state, { keys: false })).toEqual({
      reserved: redactValue('100'),
      note: `pin ${redactValue('100')}`,
    })
  })
})

describe('matchesRedacted', () => {
  it('takes each marker for a value of its length and hash, whether or not the value is registered', () => {
    const kept = { description: `db ${redactValue('pw-one-1')} and ${redactValue('second.pw')} ok`, n: 1 }
    expect(matchesRedacted({ description: 'db pw-one-1 and second.pw ok', n: 1 }, kept)).toBe(true)
    // Another value of the same length, another field, or the marker itself is not the prior.
    expect(matchesRedacted({ description: 'db pw-one-2 and second.pw ok', n: 1 }, kept)).toBe(false)
    expect(matchesRedacted({ description: 'db pw-one-1 and second.pw ok', n: 2 }, kept)).toBe(false)
    expect(matchesRedacted({ description: 'db pw-one-1 and second.pw ok' }, kept)).toBe(false)
    expect(matchesRedacted(kept, kept)).toBe(false)
    expect(matchesRedacted(['a', 'b'], ['a', 'b'])).toBe(true)
    expect(matchesRedacted('a.b', 'a?b')).toBe(false)
  })
})

describe('escapeTerminal', () => {
  it('makes ANSI escapes and control characters visible', () => {
    expect(escapeTerminal('\u001b[31mred\u001b[0m\r\n\u0007\u009b2J')).toBe(
      '\\e[31mred\\e[0m\\r\\n\\x07\\x9b2J',
    )
  })
  it('escapes bidi overrides', () => {
    expect(escapeTerminal('a\u202eb')).toBe('a\\u{202e}b')
    expect(escapeTerminal('a\u061cb')).toBe('a\\u{61c}b')
  })
  it('keeps our own newlines when asked', () => {
    expect(escapeTerminal('a\nb\u001b', true)).toBe('a\nb\\e')
  })
})
