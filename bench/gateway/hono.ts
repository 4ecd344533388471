/**
 * Hono and `@hono/node-server` as `@idrelay/gateway` resolves them (the root workspace does not depend on them),
 * so the floors run on exactly the versions the gateway runs on.
 */
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../packages/gateway/package.json', import.meta.url));

export const { Hono } =
  require('hono') as typeof import('../../packages/gateway/node_modules/hono/dist/types/index.js');
export const { serve } =
  require('@hono/node-server') as typeof import('../../packages/gateway/node_modules/@hono/node-server/dist/index.mjs');
