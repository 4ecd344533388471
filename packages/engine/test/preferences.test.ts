/** Preferences from the store or a directory attribute, and write-back through `preference.changed`. */
import type { IdentityEvent } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryDirectory, createMemoryStore } from '@idrelay/testkit';
import { describe, expect, it } from 'vitest';
import { encodePreferences } from '../src/index.js';
import { createScenario } from './support/scenario.js';

const announcement = (userIds: string[]) =>
  createEvent(
    'idrelay.announcement.published',
    { announcementId: 'a', title: 'News', body: 'b', audience: { kind: 'users', userIds } },
    { source: '/p' },
  );

describe('preferences', () => {
  it('reads preferences from a directory attribute when the store has none, and the store wins when it has some', async () => {
    const directory = createMemoryDirectory({
      users: [
        { id: 'dave', attributes: { idrelayPreferences: 'announcement/*=off' } },
        { id: 'bob', attributes: { idrelayPreferences: 'announcement/*=off' } },
        { id: 'erin', attributes: { idrelayPreferences: 'not a valid value' } },
      ],
    });
    const s = await createScenario(createMemoryStore(), { directory, preferencesAttribute: 'idrelayPreferences' });
    await s.relay.preferences.set('bob', { rules: [{ category: 'announcement', channel: '*', enabled: true }] });
    const plan = await s.relay.ingest(announcement(['dave', 'bob', 'erin']));
    expect(plan).toMatchObject({ deliveries: 2, suppressed: 1 });
    await s.relay.drain();
    expect(s.received()).toEqual(['bob-pixel', 'erin-pixel']);
  });

  it('emits preference.changed for write-back to the directory, and audits the change', async () => {
    const s = await createScenario(createMemoryStore());
    const emitted: IdentityEvent[] = [];
    s.relay.subscribe((e) => void emitted.push(e));
    const value = {
      rules: [{ category: 'announcement', channel: 'webpush' as const, enabled: false }],
      quietHours: { start: '22:00', end: '06:30', timeZone: 'Europe/Zurich' },
    };
    await s.relay.preferences.set('alice', value, 'device');
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({
      type: 'idrelay.preference.changed',
      source: '/idrelay/relay',
      data: { userId: 'alice', origin: 'device', changes: value.rules, quietHours: value.quietHours },
    });
    expect(encodePreferences(value)).toBe('announcement/webpush=off;quiet=22:00-06:30@Europe/Zurich');
    expect((await s.store.audit.head())?.action).toBe('preference.changed');
    await expect(
      s.relay.preferences.set('alice', { rules: [{ category: '', channel: '*', enabled: true }] }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('applies an ingested preference.changed (a directory edit) to the stored preferences', async () => {
    const s = await createScenario(createMemoryStore());
    await s.relay.preferences.set('dave', { rules: [{ category: 'account', channel: '*', enabled: false }] });
    const changed = createEvent(
      'idrelay.preference.changed',
      {
        userId: 'dave',
        changes: [{ category: 'announcement', channel: '*', enabled: false }],
        quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
        origin: 'directory',
      },
      { source: 'ldap://directory.example.com' },
    );
    await s.relay.ingest(changed);
    expect(await s.relay.preferences.get('dave')).toMatchObject({
      rules: [
        { category: 'account', channel: '*', enabled: false },
        { category: 'announcement', channel: '*', enabled: false },
      ],
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
    });
    expect(await s.relay.ingest(announcement(['dave']))).toMatchObject({ suppressed: 1, deliveries: 0 });
  });
});
