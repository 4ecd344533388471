import { type ErrorInfo, registerErrorCodes } from '@idrelay/core';

declare module '@idrelay/core' {
  interface ErrorCodeRegistry {
    ERR_CONFIG_INVALID: ErrorInfo;
    ERR_CONFIG_FILE: ErrorInfo;
  }
}

/** The configuration's error codes, registered with core on import. */
export const CONFIG_ERRORS = {
  ERR_CONFIG_INVALID: {
    status: 500,
    retryable: false,
    message: 'The gateway configuration is invalid; the message names the key and what was expected.',
  },
  ERR_CONFIG_FILE: {
    status: 500,
    retryable: false,
    message: 'The configuration file could not be found, read or imported.',
  },
} as const satisfies Record<string, ErrorInfo>;

registerErrorCodes(CONFIG_ERRORS);
