import { createEvent, EVENT_TYPES } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { defaultTemplates } from './default-templates.js';
import { renderMessage } from './render-message.js';
import { defineTemplate } from './template.js';
import { createTemplates, localeChain } from './template-registry.js';

const event = createEvent(
  'idrelay.access.requested',
  {
    requestId: 'req-9',
    requester: { id: 'alice', displayName: 'Alice' },
    resource: { id: 'r', name: 'Payroll' },
    justification: 'secret',
  },
  { source: '/t', id: '1', time: '2026-11-23T12:00:00Z' },
);

describe('defineTemplate', () => {
  it('refuses visible text that shows a field not marked lock-screen safe, at definition time', () => {
    const unsafe = {
      key: 'k',
      fields: { why: { path: 'data.justification' } },
      title: 'Request',
      body: 'Because {{why}}',
    };
    expect(() => defineTemplate(unsafe)).toThrow(
      expect.objectContaining({
        code: 'ERR_TEMPLATE_UNSAFE',
        details: expect.objectContaining({ field: 'why', where: 'body' }),
      }),
    );
    expect(() => defineTemplate({ ...unsafe, body: undefined, subtitle: '{{why}}' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_TEMPLATE_UNSAFE' }),
    );
  });

  it('allows unsafe fields in app data and refuses unknown fields', () => {
    expect(() =>
      defineTemplate({
        key: 'k',
        fields: { id: { path: 'data.requestId' } },
        title: 'R',
        data: { requestId: '{{id}}' },
      }),
    ).not.toThrow();
    expect(() => defineTemplate({ key: 'k', title: 'Hello {{name}}' })).toThrow(
      expect.objectContaining({ code: 'ERR_TEMPLATE_INVALID' }),
    );
    expect(() => defineTemplate({ title: 'x' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_TEMPLATE_INVALID' }),
    );
  });

  it('renders deterministically, with fallbacks, truncation and per-platform mapping', () => {
    const template = defineTemplate({
      key: 'idrelay.access.requested',
      fields: {
        resource: { path: 'data.resource.name', lockScreenSafe: true, maxLength: 5 },
        system: { path: 'data.resource.system', lockScreenSafe: true, fallback: 'IAM' },
        id: { path: 'data.requestId' },
      },
      title: 'Access to {{resource}}',
      body: 'via {{system}}',
      data: { requestId: '{{id}}' },
      actions: [{ id: 'approve', title: 'Approve' }],
      platform: {
        apns: { category: 'DECIDE', interruptionLevel: 'active' },
        fcm: { channelId: 'approvals' },
        webpush: { requireInteraction: true },
      },
    });
    const options = {
      notificationId: 'n-1',
      urgency: 'high' as const,
      critical: false,
      type: event.type,
      collapseId: 'access:req-9',
    };
    const first = renderMessage(template, event, options);
    expect(first).toEqual({
      id: 'n-1',
      title: 'Access to Payr…',
      body: 'via IAM',
      data: { type: 'idrelay.access.requested', notificationId: 'n-1', requestId: 'req-9' },
      actions: [{ id: 'approve', title: 'Approve' }],
      category: 'DECIDE',
      interruptionLevel: 'active',
      collapseId: 'access:req-9',
      urgency: 'high',
      platform: { fcm: { channelId: 'approvals' }, webpush: { requireInteraction: true } },
    });
    expect(renderMessage(template, event, options)).toEqual(first);
  });
});

describe('createTemplates', () => {
  it('falls back de-CH → de → default', () => {
    const templates = createTemplates([
      { key: 'idrelay.account.locked', locale: 'de', title: 'Konto gesperrt' },
      { key: 'idrelay.account.locked', locale: 'fr-CH', title: 'Compte bloqué' },
    ]);
    expect(localeChain('de-CH')).toEqual(['de-ch', 'de', 'default']);
    expect(templates.get('idrelay.account.locked', 'de-CH').render({}).title).toBe('Konto gesperrt');
    expect(templates.get('idrelay.account.locked', 'fr').render({}).title).toBe('Your account was locked');
    expect(templates.get('idrelay.account.locked', 'fr_CH').render({}).title).toBe('Compte bloqué');
    expect(templates.get('idrelay.account.locked').locale).toBe('default');
  });

  it('reports a missing template with ERR_TEMPLATE_MISSING', () => {
    expect(() => createTemplates([], { defaults: false }).get('idrelay.account.locked', 'de')).toThrow(
      expect.objectContaining({ code: 'ERR_TEMPLATE_MISSING' }),
    );
  });

  it('ships a default template for every catalogue type, none of which leaks unsafe fields', () => {
    const keys = new Set(defaultTemplates().map((t) => t.key));
    for (const type of EVENT_TYPES) expect(keys.has(type), type).toBe(true);
    expect(() => createTemplates()).not.toThrow();
  });

  it('never puts the number-matching code or the justification in a default verification or request push', () => {
    const templates = createTemplates();
    const verify = createEvent(
      'idrelay.auth.verification.requested',
      {
        verificationId: 'v',
        userId: 'u',
        application: { id: 'a', name: 'Mail' },
        numberMatch: { code: '87' },
        expiresAt: '2026-11-23T12:00:00Z',
      },
      { source: '/t' },
    );
    const options = { notificationId: 'n', urgency: 'high' as const, critical: true, type: verify.type };
    const message = renderMessage(templates.get(verify.type), verify, options);
    expect(JSON.stringify(message)).not.toContain('87');
    expect(message).toMatchObject({
      body: 'Sign-in to Mail. Enter the number shown on screen.',
      interruptionLevel: 'time-sensitive',
      ttlSeconds: 120,
    });
    expect(JSON.stringify(renderMessage(templates.get(event.type), event, options))).not.toContain('secret');
  });
});

describe('deep links', () => {
  const withUrl = (url: unknown, more: Record<string, unknown> = {}) => ({ data: { url, ...more } });
  const linked = defineTemplate({
    key: 'k',
    title: 'Change your password',
    fields: { link: { path: 'data.url', maxLength: 10 } },
    url: '{{link}}',
  });

  it('carries a whole-field link as it reads, never cut to maxLength', () => {
    const long = 'https://portal.example.com/password/reset?flow=self-service&step=1';
    expect(linked.render(withUrl(long)).url).toBe(long);
  });

  it('leaves out links that are not https or an allowed app scheme, and links whose field is empty', () => {
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'http://portal.example.com/', 'myapp://x', '']) {
      expect(linked.render(withUrl(bad)).url, bad).toBeUndefined();
    }
    expect(linked.render({ data: {} }).url).toBeUndefined();
    expect(linked.render(withUrl('javascript:alert(1)')).title).toBe('Change your password');
    const app = defineTemplate(
      { key: 'k', title: 't', fields: { link: { path: 'data.url' } }, url: '{{link}}' },
      { linkSchemes: ['myapp'] },
    );
    expect(app.render(withUrl('myapp://requests/42')).url).toBe('myapp://requests/42');
    expect(app.render(withUrl('javascript:alert(1)')).url).toBeUndefined();
  });

  it('percent-encodes values placed inside a longer link, so a value cannot change its scheme or host', () => {
    const template = defineTemplate(
      {
        key: 'k',
        title: 't',
        fields: { request: { path: 'data.requestId' } },
        url: 'myapp://requests/{{request}}',
      },
      { linkSchemes: ['myapp'] },
    );
    expect(template.render({ data: { requestId: 'req 7/../admin?x=1' } }).url).toBe(
      'myapp://requests/req%207%2F..%2Fadmin%3Fx%3D1',
    );
    expect(template.render({ data: {} }).url).toBeUndefined();
  });

  it('refuses a fixed unsafe link at definition time, and unsafe schemes in the configuration', () => {
    expect(() => defineTemplate({ key: 'k', title: 't', url: 'javascript:alert(1)' })).toThrow(
      expect.objectContaining({ code: 'ERR_TEMPLATE_INVALID' }),
    );
    expect(() => createTemplates([], { linkSchemes: ['javascript'] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() => createTemplates([], { linkSchemes: ['myapp://'] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });

  it('gives required actions and self-service events their data.url as the deep link, through renderMessage', () => {
    const templates = createTemplates();
    const reset = createEvent(
      'idrelay.account.password.reset-required',
      { userId: 'u-1', reason: 'compromise', url: 'https://portal.example.com/password' },
      { source: '/t' },
    );
    const options = { notificationId: 'n', urgency: 'high' as const, critical: false, type: reset.type };
    expect(renderMessage(templates.get(reset.type), reset, options)).toMatchObject({
      title: 'Password change required',
      url: 'https://portal.example.com/password',
      data: { type: reset.type, notificationId: 'n' },
    });
  });
});
