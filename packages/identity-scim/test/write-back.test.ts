import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorInfo } from '@idrelay/core';
import { createEvent, type IdentityEvent } from '@idrelay/core/events';
import { createStoreDirectory } from '@idrelay/engine';
import { createMemoryStore } from '@idrelay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScimHandler, createScimWriteBack, hashScimToken, type ScimHandler } from '../src/index.js';

const TOKEN = 'upstream-token';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

let server: Server;
let baseUrl: string;
let scim: ScimHandler;
let store: ReturnType<typeof createMemoryStore>;
let answer: number | undefined; // forces a status for the next request

/** Our own SCIM handler served on a loopback port: the upstream service of these tests. */
beforeAll(async () => {
  store = createMemoryStore();
  let ids = 0;
  scim = createScimHandler({ store, tokens: [hashScimToken(TOKEN)], newId: () => `up-${++ids}` });
  server = createServer(async (incoming, outgoing) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    if (answer !== undefined) {
      outgoing.writeHead(answer).end('{"detail":"forced"}');
      answer = undefined;
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers))
      if (typeof value === 'string') headers.set(name, value);
    const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
    const response = await scim(
      new Request(`http://127.0.0.1${incoming.url}`, { method: incoming.method, headers, ...(body ? { body } : {}) }),
    );
    outgoing
      .writeHead(response.status, Object.fromEntries(response.headers))
      .end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2`;
  const call = (path: string, body: unknown) =>
    scim(
      new Request(`http://127.0.0.1/scim/v2${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      }),
    );
  expect((await call('/Users', { schemas: [USER], userName: 'alice' })).status).toBe(201);
  expect((await call('/Groups', { schemas: [GROUP], displayName: 'Approvers' })).status).toBe(201);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const acknowledged = (userId: string): IdentityEvent =>
  createEvent(
    'idrelay.notification.acknowledged',
    { notificationId: 'n-1', userId, acknowledgedAt: '2026-12-03T12:00:00.000Z' },
    { source: 'urn:test' },
  );

function writeBack(token = TOKEN) {
  return createScimWriteBack({
    baseUrl,
    token,
    types: ['idrelay.notification.acknowledged'],
    map: (event) => {
      const data = event.data as { userId: string; acknowledgedAt: string };
      return {
        resource: 'Users',
        id: data.userId,
        operations: [{ op: 'replace', path: `${ENTERPRISE}:organization`, value: `ack ${data.acknowledgedAt}` }],
      };
    },
  });
}

describe('createScimWriteBack against our own endpoint on a loopback port', () => {
  it('PATCHes a user attribute, twice without harm (idempotent), and skips other types', async () => {
    const sink = writeBack();
    expect(await sink.write(acknowledged('up-1'))).toEqual({ status: 'written', reference: 'Users/up-1' });
    expect(await sink.write(acknowledged('up-1'))).toMatchObject({ status: 'written' });
    const user = await createStoreDirectory(store).getUser('up-1');
    expect(user?.attributes.organization).toBe('ack 2026-12-03T12:00:00.000Z');
    const other = createEvent('idrelay.user.deleted', { userId: 'up-1' }, { source: 'urn:test' });
    expect(await sink.write(other)).toMatchObject({ status: 'skipped' });
  });

  it('adds the user to a group with an OAuth token from getToken', async () => {
    let calls = 0;
    const sink = createScimWriteBack({
      baseUrl,
      getToken: async () => {
        calls++;
        return TOKEN;
      },
      types: ['idrelay.notification.acknowledged'],
      map: (event) => ({
        resource: 'Groups',
        id: 'up-2',
        operations: [{ op: 'add', path: 'members', value: [{ value: (event.data as { userId: string }).userId }] }],
      }),
    });
    expect(await sink.write(acknowledged('up-1'))).toMatchObject({ status: 'written', reference: 'Groups/up-2' });
    expect(calls).toBe(1);
    const members: string[] = [];
    for await (const member of createStoreDirectory(store).resolve({ kind: 'group', groupId: 'up-2' }))
      members.push(member.id);
    expect(members).toEqual(['up-1']);
  });

  it('tells permanent from retryable failures by status', async () => {
    const wrongToken = await writeBack('not-the-token').write(acknowledged('up-1'));
    expect(wrongToken).toMatchObject({ status: 'failed', code: 'ERR_SCIM_UPSTREAM_AUTH_FAILED', retryable: false });
    expect(await writeBack().write(acknowledged('nobody'))).toMatchObject({
      code: 'ERR_SCIM_UPSTREAM_NOT_FOUND',
      retryable: false,
    });
    for (const [status, code, retryable] of [
      [400, 'ERR_SCIM_UPSTREAM_REFUSED', false],
      [409, 'ERR_SCIM_UPSTREAM_REFUSED', false],
      [429, 'ERR_SCIM_UPSTREAM_UNAVAILABLE', true],
      [503, 'ERR_SCIM_UPSTREAM_UNAVAILABLE', true],
    ] as const) {
      answer = status;
      expect(await writeBack().write(acknowledged('up-1')), String(status)).toMatchObject({ code, retryable });
    }
    expect(errorInfo('ERR_SCIM_UPSTREAM_UNAVAILABLE')?.retryable).toBe(true);
    const closed = createScimWriteBack({
      baseUrl: 'http://127.0.0.1:9/scim/v2',
      token: 't',
      types: ['idrelay.notification.acknowledged'],
      map: () => ({ resource: 'Users', id: 'x', operations: [{ op: 'replace', path: 'title', value: 'x' }] }),
    });
    expect(await closed.write(acknowledged('x'))).toMatchObject({
      code: 'ERR_SCIM_UPSTREAM_UNAVAILABLE',
      retryable: true,
    });
  });

  it('refuses bad options and bad plans', async () => {
    const types = ['idrelay.notification.acknowledged'] as const;
    const map = () => undefined;
    expect(() => createScimWriteBack({ baseUrl: 'http://idp.example.com/scim', token: 't', types, map })).toThrow(
      /https/,
    );
    expect(() => createScimWriteBack({ baseUrl, types, map })).toThrow(/exactly one/);
    expect(() => createScimWriteBack({ baseUrl, token: 't', types: [], map })).toThrow(/event type/);
    const bad = createScimWriteBack({
      baseUrl,
      token: TOKEN,
      types,
      map: () => ({ resource: 'Users', id: 'up-1', operations: [{ op: 'remove' }] }),
    });
    expect(await bad.write(acknowledged('up-1'))).toMatchObject({ status: 'failed', retryable: false });
    expect(await createScimWriteBack({ baseUrl, token: TOKEN, types, map }).write(acknowledged('up-1'))).toMatchObject({
      status: 'skipped',
    });
  });
});
