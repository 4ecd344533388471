import { type ErrorInfo, IdrelayError, registerErrorCodes } from '@idrelay/core';

declare module '@idrelay/core' {
  interface ErrorCodeRegistry {
    ERR_WEBHOOK_CONFIG: ErrorInfo;
    ERR_WEBHOOK_UNAVAILABLE: ErrorInfo;
    ERR_WEBHOOK_TIMEOUT: ErrorInfo;
    ERR_WEBHOOK_REFUSED: ErrorInfo;
    ERR_WEBHOOK_REDIRECT: ErrorInfo;
  }
}

/** The outbound webhooks' error codes, registered with core on import. */
export const WEBHOOK_ERRORS = {
  ERR_WEBHOOK_CONFIG: {
    status: 500,
    retryable: false,
    message:
      'A webhook endpoint is misconfigured: a URL that is not https (outside loopback), carries credentials, a secret that is not a whsec_ key, an unknown event type or a reserved header.',
  },
  ERR_WEBHOOK_UNAVAILABLE: {
    status: 502,
    retryable: true,
    message:
      'The webhook endpoint could not be reached or answered 408, 429 or 5xx (or asked, with Retry-After, to wait); the write-back is retried with backoff.',
  },
  ERR_WEBHOOK_TIMEOUT: {
    status: 504,
    retryable: true,
    message: 'The webhook endpoint did not answer within the timeout; the write-back is retried.',
  },
  ERR_WEBHOOK_REFUSED: {
    status: 502,
    retryable: false,
    message:
      'The webhook endpoint refused the event with a 4xx other than 408 and 429; it is dead-lettered, not retried.',
  },
  ERR_WEBHOOK_REDIRECT: {
    status: 502,
    retryable: false,
    message:
      'The webhook endpoint redirected to another origin, or with a status that would change the method; redirects are not followed there.',
  },
} as const satisfies Record<string, ErrorInfo>;

registerErrorCodes(WEBHOOK_ERRORS);

/** A code of the outbound webhooks. */
export type WebhookErrorCode = keyof typeof WEBHOOK_ERRORS;

/** A configuration error naming the endpoint. */
export function webhookConfigError(name: string, message: string): IdrelayError {
  return new IdrelayError('ERR_WEBHOOK_CONFIG', `Webhook "${name}": ${message}`, { details: { endpoint: name } });
}
