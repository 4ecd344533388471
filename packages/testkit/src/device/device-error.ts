/** The RFC 9457 problem document the relay answers a refusal with (docs/protocol.md §7). */
export interface DeviceProblem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  /** idrelay's error code, e.g. `ERR_ACTION_CODE_MISMATCH`. */
  code?: string;
  attemptsLeft?: number;
  retryAfterMs?: number;
  [member: string]: unknown;
}

/**
 * A request of the simulated device was refused. `code` is the problem's idrelay code (`ERR_ACTION_TOKEN_USED`,
 * `ERR_ENROL_CODE_INVALID`, …), `ERR_DEVICE_UNEXPECTED_RESPONSE` when the answer was not a problem document, or
 * `ERR_DEVICE_UNREACHABLE` (status 0) when no answer came; `status` the HTTP status; `problem` the whole document.
 *
 * @example
 * ```ts
 * try { await device.approve(push, { code: '000000' }); }
 * catch (error) {
 *   if (error instanceof DeviceRequestError && error.code === 'ERR_ACTION_CODE_MISMATCH') console.log(error.attemptsLeft);
 * }
 * ```
 */
export class DeviceRequestError extends Error {
  override readonly name = 'DeviceRequestError';
  readonly code: string;
  readonly status: number;
  readonly problem: DeviceProblem | undefined;
  /** Number-matching tries left (`ERR_ACTION_CODE_MISMATCH`). */
  readonly attemptsLeft: number | undefined;
  /** When to try again (`ERR_VERIFICATION_RATE_LIMITED`). */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, problem: DeviceProblem | undefined, what: string, options: { cause?: unknown } = {}) {
    const code =
      typeof problem?.code === 'string'
        ? problem.code
        : status === 0
          ? 'ERR_DEVICE_UNREACHABLE'
          : 'ERR_DEVICE_UNEXPECTED_RESPONSE';
    const detail = typeof problem?.detail === 'string' ? problem.detail : (problem?.title ?? `HTTP ${status}`);
    super(
      status === 0
        ? `${what} got no answer: ${(options.cause as Error | undefined)?.message ?? 'network error'}`
        : `${what} was refused: ${code} (${status}): ${detail}`,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.code = code;
    this.status = status;
    this.problem = problem;
    this.attemptsLeft = typeof problem?.attemptsLeft === 'number' ? problem.attemptsLeft : undefined;
    this.retryAfterMs = typeof problem?.retryAfterMs === 'number' ? problem.retryAfterMs : undefined;
  }
}

/** Sends `request`; a network failure becomes a {@link DeviceRequestError} `ERR_DEVICE_UNREACHABLE`. */
export async function exchange(
  fetcher: (request: Request) => Response | Promise<Response>,
  request: Request,
  what: string,
): Promise<Response> {
  try {
    return await fetcher(request);
  } catch (cause) {
    throw new DeviceRequestError(0, undefined, what, { cause });
  }
}

/** Reads a refusal into a {@link DeviceRequestError}, whatever the body holds. */
export async function refusal(response: Response, what: string): Promise<DeviceRequestError> {
  const text = await response.text().catch(() => '');
  let problem: DeviceProblem | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) problem = parsed as DeviceProblem;
  } catch {
    problem = undefined;
  }
  return new DeviceRequestError(response.status, problem, what);
}

/**
 * `waitForPush` saw no matching push before its deadline. `code` is `ERR_DEVICE_PUSH_TIMEOUT`.
 *
 * @example
 * ```ts
 * await expect(device.waitForPush(undefined, { timeoutMs: 200 })).rejects.toBeInstanceOf(PushTimeoutError);
 * ```
 */
export class PushTimeoutError extends Error {
  override readonly name = 'PushTimeoutError';
  readonly code = 'ERR_DEVICE_PUSH_TIMEOUT';
  constructor(deviceId: string, timeoutMs: number, seen: number) {
    super(`Device ${deviceId} received no matching push within ${timeoutMs} ms (${seen} push(es) seen)`);
  }
}
