import { describe, expect, it } from 'vitest';
import { createHttp1Parser } from './http1-parser.js';

const feed = (text: string, bytewise = false) => {
  const parser = createHttp1Parser();
  const data = Buffer.from(text, 'latin1');
  if (!bytewise) return parser.push(data);
  let result: ReturnType<typeof parser.push>;
  for (let i = 0; i < data.length; i++) result = parser.push(data.subarray(i, i + 1)) ?? result;
  return result;
};

describe('createHttp1Parser', () => {
  it('reads a 201 with Location and an empty body, even one byte at a time', () => {
    const text = 'HTTP/1.1 201 Created\r\nLocation: https://push.example/m/1\r\nContent-Length: 0\r\n\r\n';
    for (const bytewise of [false, true]) {
      const r = feed(text, bytewise);
      expect(r?.status).toBe(201);
      expect(r?.headers.get('location')).toBe('https://push.example/m/1');
      expect(r?.keepAlive).toBe(true);
    }
  });

  it('reads chunked bodies with extensions and trailers', () => {
    const r = feed(
      'HTTP/1.1 429 Too Many\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n4;x=y\r\nslow\r\n5\r\n down\r\n0\r\nX-T: 1\r\n\r\n',
      true,
    );
    expect(r?.status).toBe(429);
    expect(r?.body.toString()).toBe('slow down');
    expect(r?.headers.get('retry-after')).toBe('7');
  });

  it('skips 100 Continue and honours Connection: close and HTTP/1.0', () => {
    const r = feed(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 410 Gone\r\nConnection: close\r\nContent-Length: 4\r\n\r\ngone',
    );
    expect(r).toMatchObject({ status: 410, keepAlive: false });
    expect(r?.body.toString()).toBe('gone');
    expect(feed('HTTP/1.0 201 Created\r\nContent-Length: 0\r\n\r\n')?.keepAlive).toBe(false);
  });

  it('completes a close-delimited body at end of stream', () => {
    const parser = createHttp1Parser();
    expect(parser.push(Buffer.from('HTTP/1.1 500 Oops\r\n\r\npartial '))).toBeUndefined();
    expect(parser.push(Buffer.from('body'))).toBeUndefined();
    expect(parser.end()).toMatchObject({ status: 500, keepAlive: false });
  });

  it('gives the same answer wherever TCP splits the bytes', () => {
    const responses = [
      'HTTP/1.1 201 Created\r\nLocation: /m/1\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Slow\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    ];
    for (const text of responses) {
      const whole = feed(text);
      const bytes = Buffer.from(text, 'latin1');
      for (let i = 1; i < bytes.length; i++) {
        for (const j of [i + 1, Math.floor((i + bytes.length) / 2), bytes.length]) {
          if (j <= i || j > bytes.length) continue;
          const parser = createHttp1Parser();
          const parts = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)].filter((b) => b.length > 0);
          let result: ReturnType<typeof parser.push>;
          for (const part of parts) result = parser.push(part) ?? result;
          expect(result, `split at ${i}/${j}`).toEqual(whole);
        }
      }
    }
  });

  it('throws on input that is not HTTP/1.1', () => {
    expect(() => feed('SSH-2.0-OpenSSH\r\n\r\n')).toThrow(/status line/);
    expect(() => feed('HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n')).toThrow(/content-length/);
    expect(() => feed('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')).toThrow(/chunk size/);
  });
});
