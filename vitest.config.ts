import { defineConfig } from 'vitest/config'
import { CommandsFirst } from './test/support/sequencer.js'
import { testWorkers } from './test/support/workers.js'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    sequence: { sequencer: CommandsFirst },
    pool: 'forks',
    maxWorkers: testWorkers(),
    // A worker's files share its process: each file would otherwise start Node.js and load the AWS
    // SDK anew (a third of the CPU the unit tests took). each-file.ts gives back what isolation did.
    isolate: false,
    setupFiles: ['test/support/each-file.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    env: {
      // Tests never reach real AWS: fixed dummy credentials and the loopback-only guard.
      FIR_EMULATOR_ONLY: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SESSION_TOKEN: '',
      AWS_REGION: 'us-east-1',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/nonexistent/fir-test-aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/fir-test-aws-credentials',
      // fir reads these before HTTPS_PROXY / HTTP_PROXY / NO_PROXY, the names tests stub: a
      // developer's own would otherwise win over what a test sets.
      https_proxy: '',
      http_proxy: '',
      no_proxy: '',
    },
  },
})
