import { describe, expect, it } from 'vitest';
import { isIdrelayError } from '../errors/idrelay-error.js';
import { DEEP_LINK_MAX_LENGTH, deepLinkSchemes, isDeepLink } from './deep-link.js';

describe('isDeepLink', () => {
  it('accepts https links with a host, and app schemes only when allowed', () => {
    expect(isDeepLink('https://portal.example.com/password?next=%2F')).toBe(true);
    expect(isDeepLink('HTTPS://Portal.Example.com/')).toBe(true);
    expect(isDeepLink('myapp://requests/42')).toBe(false);
    expect(isDeepLink('myapp://requests/42', { schemes: ['myapp'] })).toBe(true);
    expect(isDeepLink('MyApp://requests/42', { schemes: ['myapp'] })).toBe(true);
  });

  it('never accepts script, data, clear-text or malformed links, whatever is allowed', () => {
    const all = { schemes: ['javascript', 'data', 'http', 'vbscript'] };
    for (const bad of [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      'java\nscript:alert(1)',
      ' javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox',
      'http://portal.example.com/',
      'https://user:secret@portal.example.com/',
      'https://',
      '/relative/path',
      'portal.example.com/password',
      'https://portal.example.com/a b',
      '',
      `https://portal.example.com/${'x'.repeat(DEEP_LINK_MAX_LENGTH)}`,
    ]) {
      expect(isDeepLink(bad, all), bad).toBe(false);
    }
    expect(isDeepLink(42)).toBe(false);
    expect(isDeepLink(undefined)).toBe(false);
  });
});

describe('deepLinkSchemes', () => {
  it('lower-cases scheme names and refuses the unsafe or malformed with ERR_INVALID_ARGUMENT', () => {
    expect(deepLinkSchemes(['MyApp', 'com.example.auth'])).toEqual(['myapp', 'com.example.auth']);
    for (const bad of ['javascript', 'DATA', 'http', 'myapp://', '1app', '']) {
      let caught: unknown;
      try {
        deepLinkSchemes([bad]);
      } catch (error) {
        caught = error;
      }
      expect(isIdrelayError(caught, 'ERR_INVALID_ARGUMENT'), bad).toBe(true);
    }
  });
});
