#!/usr/bin/env node
import { execute } from '@oclif/core'

await execute({ dir: import.meta.url })
// The one place fir exits: commands set process.exitCode; open sockets must not keep us alive.
process.exit(process.exitCode ?? 0)
