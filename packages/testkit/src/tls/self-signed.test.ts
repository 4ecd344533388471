import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestCertificate } from './self-signed.js';

const a = createTestCertificate();
const b = createTestCertificate({ hosts: ['fcm.googleapis.com'] });
const server = https.createServer({ cert: b.cert, key: b.key }, (_request, response) => response.end('ok'));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function get(host: string, ca: string[], servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get({ host, port, ca, servername, agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('createTestCertificate', () => {
  it('names localhost, 127.0.0.1 and extra hosts, valid from an hour ago', () => {
    const cert = new X509Certificate(b.cert);
    expect(cert.subjectAltName).toBe('DNS:localhost, DNS:fcm.googleapis.com, IP Address:127.0.0.1');
    expect(new Date(cert.validFrom).getTime()).toBeLessThan(Date.now());
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it('is trusted through `ca` by host name and by IP, also beside another stand-in certificate', async () => {
    expect(await get('localhost', [b.cert])).toBe('ok');
    expect(await get('127.0.0.1', [b.cert])).toBe('ok');
    expect(await get('localhost', [a.cert, b.cert], 'fcm.googleapis.com')).toBe('ok');
  });

  it('is refused when only another certificate is trusted', async () => {
    await expect(get('localhost', [a.cert])).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  });
});
