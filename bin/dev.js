#!/usr/bin/env node
// fir pins an AWS SDK that supports Node 20; its notice about future releases is not for responders.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
// Runs fir from the TypeScript sources (no build step), for development.
import { register } from 'tsx/esm/api'

register()
const { execute } = await import('@oclif/core')
await execute({ development: true, dir: import.meta.url })
process.exit(process.exitCode ?? 0)
