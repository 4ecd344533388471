import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { ApiKeyEntry } from '../config/load-config.js';
import type { Scope } from '../config/schema.js';
import { hashApiKey } from './api-keys.js';
import { httpError } from './http-errors.js';

/** Who sent a request, as the routes see it. */
export interface Principal {
  kind: 'api-key' | 'webhook';
  /** The key's or sender's configured id (never the key). */
  id: string;
  scopes: readonly Scope[];
  /** For a webhook: the remembered message, released again if the request fails. */
  messageKey?: string;
}

/** A Standard Webhooks sender as {@link createAuthenticator} takes it. */
export interface WebhookSender {
  id: string;
  /** `whsec_…` */
  secret: string;
  scopes: readonly Scope[];
}

/** What {@link createAuthenticator} needs. */
export interface AuthenticatorOptions {
  apiKeys: readonly ApiKeyEntry[];
  webhooks: readonly WebhookSender[];
  /** How far `webhook-timestamp` may be from now, seconds (Standard Webhooks suggests 5 minutes). */
  toleranceSeconds: number;
  now: () => number;
  /** Remembered `webhook-id`s at most; the oldest are forgotten first once the window is full. Default 100 000. */
  maxRememberedIds?: number;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/**
 * API keys (SHA-256 lookup; the key itself is never kept) and Standard Webhooks signatures (HMAC-SHA256 by the
 * `standardwebhooks` package, a timestamp window on the gateway's clock, and each `webhook-id` accepted once per
 * sender within the window, remembered in a bounded map).
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  const keys = new Map(options.apiKeys.map((k) => [k.sha256, k]));
  const senders = options.webhooks.map((s) => ({ ...s, webhook: new Webhook(s.secret) }));
  const toleranceMs = options.toleranceSeconds * 1000;
  const maxIds = options.maxRememberedIds ?? 100_000;
  /** `sender\0webhook-id` → when it may be forgotten (the timestamp can no longer pass the window). */
  const seen = new Map<string, number>();

  function forgetExpired(now: number): void {
    for (const [id, until] of seen) {
      if (until > now && seen.size < maxIds) break;
      seen.delete(id);
    }
  }

  return {
    /** True when the request carries any Standard Webhooks header (and so must be verified as a webhook). */
    isWebhook(headers: Headers): boolean {
      return headers.has('webhook-signature') || headers.has('webhook-id') || headers.has('webhook-timestamp');
    },

    /**
     * The API key in `Authorization: Bearer idr_…`.
     *
     * @throws {IdrelayError} `ERR_AUTH_MISSING`, `ERR_AUTH_INVALID`.
     */
    apiKey(headers: Headers): Principal {
      const header = headers.get('authorization');
      if (header === null) throw httpError('ERR_AUTH_MISSING', 'This route needs Authorization: Bearer <API key>');
      const match = BEARER.exec(header);
      const entry = match?.[1] === undefined ? undefined : keys.get(hashApiKey(match[1]));
      if (entry === undefined) throw httpError('ERR_AUTH_INVALID', 'The API key is not valid');
      return { kind: 'api-key', id: entry.id, scopes: entry.scopes };
    },

    /**
     * Verifies a Standard Webhooks request over its raw body; on success the `webhook-id` is remembered so the
     * same message is refused if it comes again.
     *
     * @throws {IdrelayError} `ERR_WEBHOOK_SIGNATURE_INVALID`, `ERR_WEBHOOK_TIMESTAMP`, `ERR_WEBHOOK_REPLAYED`.
     */
    webhook(headers: Headers, body: Uint8Array): Principal {
      const id = headers.get('webhook-id');
      const timestamp = headers.get('webhook-timestamp');
      const signature = headers.get('webhook-signature');
      if (!id || !timestamp || !signature || id.length > 256 || signature.length > 4096) {
        throw httpError(
          'ERR_WEBHOOK_SIGNATURE_INVALID',
          'A signed request needs webhook-id, webhook-timestamp and webhook-signature',
        );
      }
      if (!/^\d{1,12}$/.test(timestamp)) {
        throw httpError('ERR_WEBHOOK_TIMESTAMP', 'webhook-timestamp must be whole seconds since the epoch');
      }
      const now = options.now();
      const sentAt = Number(timestamp) * 1000;
      if (Math.abs(now - sentAt) > toleranceMs) {
        throw httpError(
          'ERR_WEBHOOK_TIMESTAMP',
          `webhook-timestamp is more than ${options.toleranceSeconds} s from the gateway's clock`,
        );
      }
      const offered = signature
        .split(' ')
        .filter((s) => s.startsWith('v1,'))
        .map((s) => Buffer.from(s));
      const sender = senders.find((s) => {
        const expected = Buffer.from(s.webhook.sign(id, new Date(sentAt), body));
        return offered.some((o) => o.length === expected.length && timingSafeEqual(o, expected));
      });
      if (sender === undefined) {
        throw httpError('ERR_WEBHOOK_SIGNATURE_INVALID', 'No configured webhook secret produced this signature');
      }
      forgetExpired(now);
      const key = `${sender.id}\0${id}`;
      if ((seen.get(key) ?? 0) > now) {
        throw httpError('ERR_WEBHOOK_REPLAYED', `Message ${id} was already accepted from ${sender.id}`);
      }
      seen.delete(key);
      seen.set(key, sentAt + toleranceMs);
      return { kind: 'webhook', id: sender.id, scopes: sender.scopes, messageKey: key };
    },

    /**
     * Forgets a webhook message whose request failed, so the sender's retry with the same `webhook-id` (as
     * Standard Webhooks senders do) is accepted.
     */
    release(principal: Principal): void {
      if (principal.messageKey !== undefined) seen.delete(principal.messageKey);
    },

    /**
     * @throws {IdrelayError} `ERR_AUTH_FORBIDDEN` when the principal has none of `scopes`.
     */
    requireScope(principal: Principal, scopes: readonly Scope[]): void {
      if (!scopes.some((s) => principal.scopes.includes(s))) {
        throw httpError('ERR_AUTH_FORBIDDEN', `This route needs the ${scopes.join(' or ')} scope`, {
          principal: principal.id,
        });
      }
    },
  };
}

/** The authenticator of a gateway. */
export type Authenticator = ReturnType<typeof createAuthenticator>;
