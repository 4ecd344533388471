/**
 * Hono and `@hono/node-server` for the floors: the root depends on the versions `@idrelay/gateway` runs on, and pnpm
 * links one copy of each, so the floors and the gateway run the same code.
 */
export { serve } from '@hono/node-server';
export { Hono } from 'hono';
