import { createHash } from 'node:crypto';
import type { IdentityEvent } from '@idrelay/core';
import { secretPaths } from '@idrelay/core/events';
import { Webhook } from 'standardwebhooks';
import { webhookConfigError } from './webhook-errors.js';

/** `Content-Type` of a structured-mode CloudEvent (CloudEvents HTTP binding §3.2, JSON format §4). */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';

/**
 * The signer of one endpoint from its Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 random bytes.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme
 * @throws {IdrelayError} `ERR_WEBHOOK_CONFIG` for any other secret.
 */
export function webhookSigner(name: string, secret: unknown): Webhook {
  if (typeof secret !== 'string' || !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
    throw webhookConfigError(name, 'secret must be a Standard Webhooks secret: whsec_ followed by base64');
  }
  const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64').length;
  if (bytes < 24 || bytes > 64) {
    throw webhookConfigError(name, `secret must hold 24 to 64 bytes, it holds ${bytes}`);
  }
  return new Webhook(secret);
}

/**
 * The `webhook-id` of an event at an endpoint: derived from the endpoint and the event's (source, id), so every
 * retry — in this process or after a restart — carries the same id and the receiver can drop duplicates.
 */
export function webhookId(endpoint: string, event: Pick<IdentityEvent, 'source' | 'id'>): string {
  const digest = createHash('sha256').update(`${endpoint}\u0000${event.source}\u0000${event.id}`).digest('base64url');
  return `msg_${digest.slice(0, 32)}`;
}

/**
 * The structured CloudEvent sent for `event`, as JSON text, without the fields the catalogue marks secret (the
 * number-matching code of a verification request): a subscriber never learns what only the user should type.
 */
export function cloudEventBody(event: IdentityEvent): string {
  const secrets = secretPaths(event.type);
  if (secrets.length === 0) return JSON.stringify(event);
  const copy = structuredClone(event) as unknown as Record<string, unknown>;
  for (const path of secrets) {
    const parts = path.split('.');
    let node: unknown = copy;
    for (const part of parts.slice(0, -1)) node = (node as Record<string, unknown> | undefined)?.[part];
    if (node !== null && typeof node === 'object') delete (node as Record<string, unknown>)[parts.at(-1) as string];
  }
  return JSON.stringify(copy);
}
