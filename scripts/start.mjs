#!/usr/bin/env node
/**
 * `npm start`: the production server (`next start`) with the runtime settings the benchmark
 * measured (scripts/runtime-env.mjs: jemalloc when installed, else MALLOC_ARENA_MAX=2; V8's heap
 * growth).
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

import { runtimeEnv, runtimeNodeArgs } from './runtime-env.mjs'

const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next')
const child = spawn(
  process.execPath,
  [...runtimeNodeArgs, nextBin, 'start', ...process.argv.slice(2)],
  {
    env: runtimeEnv({ NODE_ENV: 'production', ...process.env }),
    stdio: 'inherit',
  },
)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
