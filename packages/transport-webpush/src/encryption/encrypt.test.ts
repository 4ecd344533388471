import { createECDH } from 'node:crypto';
import { decryptWebPushBody } from '@idrelay/testkit';
import { describe, expect, it } from 'vitest';
import { decodeSubscriberKeys, encryptWebPushPayload } from './encrypt.js';

// RFC 8291 §5 and Appendix A, base64url.
const rfc = {
  plaintext: 'When I grow up, I want to be a watermelon',
  authSecret: 'BTBZMqHH6r4Tts7J_aSIgg',
  uaPrivate: 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94',
  uaPublic: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  asPrivate: 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw',
  salt: 'DGv6ra1nlYgDCS1FRnbzlw',
  body: 'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};
const b = (s: string) => Buffer.from(s, 'base64url');

describe('encryptWebPushPayload', () => {
  it('reproduces the RFC 8291 Appendix A body byte for byte', () => {
    const sender = createECDH('prime256v1');
    sender.setPrivateKey(b(rfc.asPrivate));
    const body = encryptWebPushPayload(
      Buffer.from(rfc.plaintext),
      { p256dh: b(rfc.uaPublic), auth: b(rfc.authSecret) },
      { salt: b(rfc.salt), ecdh: sender },
    );
    expect(body.toString('base64url')).toBe(rfc.body);
    expect(body).toHaveLength(144); // the RFC's example says Content-Length: 145, but the body is 144 octets
  });

  it('uses a fresh salt and ephemeral key per message, and the user agent can decrypt each', () => {
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const keys = { p256dh: ua.getPublicKey(), auth: b(rfc.authSecret) };
    const one = encryptWebPushPayload(Buffer.from('{"title":"a"}'), keys);
    const two = encryptWebPushPayload(Buffer.from('{"title":"a"}'), keys);
    expect(one.subarray(0, 16)).not.toEqual(two.subarray(0, 16));
    expect(one.subarray(21, 86)).not.toEqual(two.subarray(21, 86));
    expect(decryptWebPushBody(one, ua, keys.auth).toString()).toBe('{"title":"a"}');
    expect(decryptWebPushBody(two, ua, keys.auth).toString()).toBe('{"title":"a"}');
  });

  it('turns the 3993-byte plaintext maximum into exactly the 4096-byte body push services must accept', () => {
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const body = encryptWebPushPayload(Buffer.alloc(3993, 0x61), {
      p256dh: ua.getPublicKey(),
      auth: b(rfc.authSecret),
    });
    expect(body.length).toBe(4096); // RFC 8291 §4: 86 header + 3993 + 1 delimiter + 16 tag
    expect(body.length - 86).toBeLessThanOrEqual(body.readUInt32BE(16));
  });
});

describe('decodeSubscriberKeys', () => {
  it('accepts browser keys and explains bad ones', () => {
    expect(decodeSubscriberKeys({ p256dh: rfc.uaPublic, auth: rfc.authSecret })).toEqual({
      p256dh: b(rfc.uaPublic),
      auth: b(rfc.authSecret),
    });
    expect(decodeSubscriberKeys({ p256dh: 'AAAA', auth: rfc.authSecret })).toMatch(/p256dh/);
    expect(decodeSubscriberKeys({ p256dh: rfc.uaPublic, auth: 'AAAA' })).toMatch(/auth/);
  });
});
