import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptError, decryptWebPushBody } from './decrypt.js';

// RFC 8291 §5 / Appendix A.
const rfc = {
  authSecret: 'BTBZMqHH6r4Tts7J_aSIgg',
  uaPrivate: 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94',
  body: 'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};
const b = (s: string) => Buffer.from(s, 'base64url');
const userAgent = () => {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(b(rfc.uaPrivate));
  return ecdh;
};

describe('decryptWebPushBody', () => {
  it('decrypts the RFC 8291 Appendix A message', () => {
    const plaintext = decryptWebPushBody(b(rfc.body), userAgent(), b(rfc.authSecret));
    expect(plaintext.toString()).toBe('When I grow up, I want to be a watermelon');
  });

  it('refuses a tampered body and a wrong auth secret', () => {
    const tampered = b(rfc.body);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => decryptWebPushBody(tampered, userAgent(), b(rfc.authSecret))).toThrow(DecryptError);
    expect(() => decryptWebPushBody(b(rfc.body), userAgent(), Buffer.alloc(16))).toThrow(/authentication tag/);
  });

  it('refuses a truncated header', () => {
    expect(() => decryptWebPushBody(Buffer.alloc(10), userAgent(), b(rfc.authSecret))).toThrow(/header/);
  });
});
