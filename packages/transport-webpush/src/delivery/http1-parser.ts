/** A parsed HTTP/1.1 response: status, the headers a push sender reads, and the body. */
export interface Http1Response {
  status: number;
  /** Lower-cased header names; repeated headers keep the last value. */
  headers: Map<string, string>;
  body: Buffer;
  /** False when the server asked to close (`Connection: close`, HTTP/1.0, or a close-delimited body). */
  keepAlive: boolean;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
/** A push service's answer is a few hundred bytes; anything far larger is not a push service. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * An incremental HTTP/1.1 response parser for one response at a time (RFC 9112 §4–7): status line, headers,
 * then a `Content-Length`, `chunked` or close-delimited body; interim 1xx responses are skipped. `push` returns
 * the response once complete, `undefined` while more bytes are needed, and throws on malformed input.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-6.3 (message body length)
 * @example
 * ```ts
 * const parser = createHttp1Parser();
 * socket.on('data', (chunk) => { const response = parser.push(chunk); if (response) done(response); });
 * ```
 */
export function createHttp1Parser() {
  let buffer: Buffer = Buffer.alloc(0);
  let head:
    | {
        status: number;
        headers: Map<string, string>;
        keepAlive: boolean;
        mode: 'length' | 'chunked' | 'close';
        length: number;
      }
    | undefined;
  let chunks: Buffer[] = [];

  const parseHead = (): boolean => {
    const end = buffer.indexOf(HEAD_END);
    if (end < 0) {
      if (buffer.length > MAX_RESPONSE_BYTES) throw new Error('response head too large');
      return false;
    }
    const lines = buffer.toString('latin1', 0, end).split('\r\n');
    buffer = buffer.subarray(end + 4);
    const statusLine = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!statusLine) throw new Error(`malformed status line: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`);
    const status = Number(statusLine[2]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error('malformed header line');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (status >= 100 && status < 200) return true; // interim response: parse the next head
    const connection = headers.get('connection')?.toLowerCase();
    let keepAlive = statusLine[1] === '1' ? connection !== 'close' : connection === 'keep-alive';
    const te = headers.get('transfer-encoding')?.toLowerCase();
    const cl = headers.get('content-length');
    let mode: 'length' | 'chunked' | 'close' = 'length';
    let length = 0;
    if (te !== undefined) {
      if (!te.endsWith('chunked')) throw new Error(`unsupported transfer-encoding ${te}`);
      mode = 'chunked';
    } else if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) throw new Error('malformed content-length');
      length = Number(cl);
    } else if (status !== 204 && status !== 304) {
      mode = 'close';
      keepAlive = false;
    }
    head = { status, headers, keepAlive, mode, length };
    return true;
  };

  const finish = (body: Buffer): Http1Response => {
    const h = head!;
    head = undefined;
    chunks = [];
    return { status: h.status, headers: h.headers, body, keepAlive: h.keepAlive };
  };

  return {
    /** Feeds bytes; returns the response when complete. */
    push(data: Buffer): Http1Response | undefined {
      buffer = buffer.length === 0 ? data : Buffer.concat([buffer, data]);
      while (!head) {
        if (!parseHead()) return undefined;
      }
      if (head.mode === 'length') {
        if (buffer.length < head.length) return undefined;
        const body = buffer.subarray(0, head.length);
        buffer = buffer.subarray(head.length);
        return finish(body);
      }
      if (head.mode === 'close') {
        chunks.push(buffer);
        buffer = Buffer.alloc(0);
        if (chunks.reduce((n, c) => n + c.length, 0) > MAX_RESPONSE_BYTES) throw new Error('response body too large');
        return undefined;
      }
      // chunked (RFC 9112 §7.1): size[;ext] CRLF data CRLF … 0 CRLF [trailers] CRLF
      for (;;) {
        const eol = buffer.indexOf(CRLF);
        if (eol < 0) return undefined;
        const size = Number.parseInt(buffer.toString('latin1', 0, eol).split(';')[0]!, 16);
        if (Number.isNaN(size)) throw new Error('malformed chunk size');
        if (size === 0) {
          const trailerEnd = buffer.indexOf(CRLF, eol + 2) === eol + 2 ? eol + 4 : buffer.indexOf(HEAD_END, eol) + 4;
          if (trailerEnd < 4) return undefined;
          buffer = buffer.subarray(trailerEnd);
          return finish(Buffer.concat(chunks));
        }
        if (buffer.length < eol + 2 + size + 2) return undefined;
        chunks.push(buffer.subarray(eol + 2, eol + 2 + size));
        if (chunks.reduce((n, c) => n + c.length, 0) > MAX_RESPONSE_BYTES) throw new Error('response body too large');
        buffer = buffer.subarray(eol + 2 + size + 2);
      }
    },
    /** The connection ended: completes a close-delimited body, otherwise the response was cut short. */
    end(): Http1Response | undefined {
      if (head?.mode === 'close') return finish(Buffer.concat(chunks));
      return undefined;
    },
    /** Bytes received beyond the response (a server must not send any). */
    get leftover(): number {
      return buffer.length;
    },
  };
}
