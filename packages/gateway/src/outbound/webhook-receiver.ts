import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { CLOUDEVENTS_JSON } from './webhook-payload.js';

/** An event a {@link createWebhookReceiver} accepted. */
export interface ReceivedWebhook {
  webhookId: string;
  /** The CloudEvent as sent (structured mode). */
  event: { specversion: string; id: string; source: string; type: string; [key: string]: unknown };
  /** How many verified requests carried this `webhook-id`, including this one. */
  attempt: number;
  receivedAt: number;
}

/** Options of {@link createWebhookReceiver}. */
export interface WebhookReceiverOptions {
  /** The Standard Webhooks secret the sender signs with (`whsec_…`). */
  secret: string;
  /**
   * Decides the answer to a verified request (to script a 503 or a 429 in a test); `undefined` accepts with 204.
   * Only requests answered 2xx count as received.
   */
  answer?: (request: Omit<ReceivedWebhook, 'receivedAt'>) => Response | undefined | Promise<Response | undefined>;
  /** Largest body accepted, bytes. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** What {@link createWebhookReceiver} returns. */
export interface WebhookReceiver {
  /** Web-standard handler: mount it on any server (`serve({ fetch: receiver.handler })`). */
  handler(request: Request): Promise<Response>;
  /** Accepted events, once per `webhook-id`, in arrival order. */
  readonly events: ReceivedWebhook[];
  /** Every verified request's `webhook-id` and status, retries included. */
  readonly requests: Array<{ webhookId: string; status: number }>;
  /** Requests refused for a bad signature, timestamp, content type or body. */
  readonly refused: number;
  /** Resolves once `count` events were accepted (at once when they already were). */
  waitFor(count: number): Promise<ReceivedWebhook[]>;
}

const problem = (status: number, code: string, detail: string) =>
  new Response(JSON.stringify({ type: 'about:blank', title: detail, status, code, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });

/**
 * A webhook receiver for tests, the demo and partners' integration checks: verifies the Standard Webhooks
 * signature and timestamp (five minutes either way), takes structured CloudEvents only, and records each event
 * once per `webhook-id` — answering 204 to a redelivery, as a receiver of an at-least-once sender should.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#verifying-webhook-authenticity
 * @example
 * ```ts
 * const receiver = createWebhookReceiver({ secret: 'whsec_…' });
 * const server = serve({ fetch: receiver.handler, port: 0, hostname: '127.0.0.1' });
 * const [first] = await receiver.waitFor(1);
 * ```
 */
export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const verifier = new Webhook(options.secret);
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const events: ReceivedWebhook[] = [];
  const requests: Array<{ webhookId: string; status: number }> = [];
  const seen = new Map<string, number>();
  const waiters: Array<{ count: number; resolve: (events: ReceivedWebhook[]) => void }> = [];
  let refused = 0;

  const refuse = (status: number, code: string, detail: string) => {
    refused++;
    return problem(status, code, detail);
  };

  async function handler(request: Request): Promise<Response> {
    if (request.method !== 'POST') return problem(405, 'ERR_HTTP_METHOD_NOT_ALLOWED', 'POST only');
    const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== CLOUDEVENTS_JSON) {
      return refuse(415, 'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', `Expected ${CLOUDEVENTS_JSON}`);
    }
    const length = Number(request.headers.get('content-length') ?? 0);
    if (length > maxBodyBytes) return refuse(413, 'ERR_HTTP_BODY_TOO_LARGE', 'Body too large');
    const body = await request.text();
    if (Buffer.byteLength(body) > maxBodyBytes) return refuse(413, 'ERR_HTTP_BODY_TOO_LARGE', 'Body too large');
    const headers = {
      'webhook-id': request.headers.get('webhook-id') ?? '',
      'webhook-timestamp': request.headers.get('webhook-timestamp') ?? '',
      'webhook-signature': request.headers.get('webhook-signature') ?? '',
    };
    let event: ReceivedWebhook['event'];
    try {
      event = verifier.verify(body, headers) as ReceivedWebhook['event'];
    } catch (error) {
      if (error instanceof WebhookVerificationError) {
        return refuse(401, 'ERR_WEBHOOK_SIGNATURE_INVALID', error.message);
      }
      return refuse(400, 'ERR_HTTP_MALFORMED_JSON', 'The body is not JSON');
    }
    if (
      event === null ||
      typeof event !== 'object' ||
      event.specversion !== '1.0' ||
      typeof event.id !== 'string' ||
      typeof event.source !== 'string' ||
      typeof event.type !== 'string'
    ) {
      return refuse(400, 'ERR_EVENT_INVALID', 'Not a structured CloudEvent 1.0');
    }
    const webhookId = headers['webhook-id'];
    const attempt = (seen.get(webhookId) ?? 0) + 1;
    seen.set(webhookId, attempt);
    const already = events.some((e) => e.webhookId === webhookId);
    const answer = already ? undefined : await options.answer?.({ webhookId, event, attempt });
    const response = answer ?? new Response(null, { status: 204 });
    requests.push({ webhookId, status: response.status });
    if (!already && response.ok) {
      events.push({ webhookId, event, attempt, receivedAt: Date.now() });
      for (const waiter of waiters.filter((w) => events.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(events.slice());
      }
    }
    return response;
  }

  return {
    handler,
    events,
    requests,
    get refused() {
      return refused;
    },
    waitFor(count) {
      if (events.length >= count) return Promise.resolve(events.slice());
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}
