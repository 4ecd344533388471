/**
 * The web-standard respond handler reads at most 16 KiB of body: a larger one is refused as an invalid request
 * without being held, whether its `Content-Length` says so, it streams without one, or its header understates it.
 */
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScenario, type Scenario } from './support/scenario.js';

describe('respond handler body limit', () => {
  let s: Scenario;
  beforeEach(async () => {
    s = await createScenario(createMemoryStore());
  });
  afterEach(() => s.relay.close());

  const respond = (body: NonNullable<RequestInit['body']>, headers: Record<string, string> = {}) =>
    s.relay.actionHandlers.respond(
      new Request('http://localhost/idrelay/actions/respond', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        duplex: 'half',
      } as RequestInit),
    );
  const code = async (response: Response) => {
    expect(response.status).toBe(400);
    return ((await response.json()) as { code: string }).code;
  };
  const big = JSON.stringify({ token: 't', proof: 'x'.repeat(20_000) });

  it('refuses a body over 16 KiB by its Content-Length, or when its header understates it', async () => {
    expect(await code(await respond(big))).toBe('ERR_ACTION_REQUEST_INVALID');
    expect(await code(await respond(big, { 'content-length': '10' }))).toBe('ERR_ACTION_REQUEST_INVALID');
  });

  it('stops reading a streamed body once it passes 16 KiB', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(4096));
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ < 1000) controller.enqueue(chunk);
        else controller.close();
      },
    });
    expect(await code(await respond(stream))).toBe('ERR_ACTION_REQUEST_INVALID');
    expect(pulled).toBeLessThan(10);
  });

  it('refuses a body that is not UTF-8', async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    expect(await code(await respond(bytes))).toBe('ERR_ACTION_REQUEST_INVALID');
  });
});
