/**
 * Who a rule reaches and in which language: a rule's `recipients` filter keeps only the directory users whose
 * attributes match, and each recipient reads the notification in their own locale — even when recipients of
 * several locales share one audience page.
 */
import { createEvent } from '@idrelay/core/events';
import { createMemoryDirectory, createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { Rule, TemplateDefinition } from '../src/index.js';
import { createScenario, type Scenario } from './support/scenario.js';

const everyone = (id: string) =>
  createEvent(
    'idrelay.announcement.published',
    { announcementId: id, title: 'Quarter close', body: 'b', audience: { kind: 'group', groupId: 'all' } },
    { source: '/targeting', id },
  );

const filtered = (recipients: Record<string, string | string[]>): Rule[] => [
  {
    id: 'announcement-filtered',
    types: ['announcement.published'],
    notify: { audience: '$data.audience', category: 'announcement', recipients },
  },
];

let s: Scenario | undefined;
afterEach(async () => {
  await s?.relay.close();
  await s?.store.close();
  s = undefined;
});

async function deliver(rules: Rule[], id: string): Promise<string[]> {
  if (s) {
    await s.relay.close();
    await s.store.close();
  }
  s = await createScenario(createMemoryStore(), { rules });
  await s.relay.ingest(everyone(id));
  await s.relay.drain();
  return s.received();
}

describe("a rule's recipients filter", () => {
  it('keeps only directory users whose attribute has the value', async () => {
    // Group "all" holds eight users; three work in finance.
    expect(await deliver(filtered({ department: 'finance' }), 'r-1')).toEqual([
      'alice-browser',
      'alice-iphone',
      'bob-pixel',
      'carol-iphone',
    ]);
  });

  it('matches any of several values, and every attribute it names', async () => {
    expect(await deliver(filtered({ department: ['finance', 'security'] }), 'r-2')).toEqual([
      'alice-browser',
      'alice-iphone',
      'bob-pixel',
      'carol-iphone',
      'erin-pixel',
      'frank-browser',
    ]);
    // Users without the attribute (only alice and dave have a location) are left out, not let through.
    expect(await deliver(filtered({ department: 'finance', location: 'zurich' }), 'r-3')).toEqual([
      'alice-browser',
      'alice-iphone',
    ]);
  });

  it('counts the filtered audience in the plan and explains the same audience in preview', async () => {
    s = await createScenario(createMemoryStore(), { rules: filtered({ role: 'iam-admin' }) });
    const preview = await s.relay.preview(everyone('r-4'));
    expect(preview.notifications[0]!.recipients.map((r) => r.userId).sort()).toEqual(['ivan', 'judy']);
    const planned = await s.relay.ingest(everyone('r-4'));
    expect(planned.deliveries).toBe(2);
    await s.relay.drain();
    expect(s.received()).toEqual(['ivan-iphone', 'judy-pixel']);
  });
});

const german: TemplateDefinition = {
  key: 'idrelay.group.member.added',
  locale: 'de',
  title: 'Gruppenmitgliedschaft',
  body: 'Hinzugefügt zu {{group}}.',
  fields: { group: { path: 'data.groupName', lockScreenSafe: true, fallback: 'einer Gruppe' } },
};
const french: TemplateDefinition = {
  ...german,
  locale: 'fr',
  title: 'Appartenance à un groupe',
  body: 'Ajout à {{group}}.',
};

describe('per-recipient locale', () => {
  it('renders one notification in each recipient’s language, with fallback along the tag and then to English', async () => {
    s = await createScenario(createMemoryStore(), { templates: [german, french] });
    // Alice (de-CH) and her manager Carol (no locale) receive the same notification in one audience page.
    await s.relay.ingest(
      createEvent(
        'idrelay.group.member.added',
        { groupId: 'g-1', groupName: 'Finance readers', userId: 'alice' },
        { source: '/targeting', id: 'l-1' },
      ),
    );
    await s.relay.drain();
    expect(s.received()).toEqual(['alice-browser', 'alice-iphone', 'carol-iphone']);
    const byDevice = new Map(
      [...s.transports.apns.sent, ...s.transports.webpush.sent].map((p) => [p.target.deviceId, p.message]),
    );
    expect(byDevice.get('alice-iphone')).toMatchObject({
      title: 'Gruppenmitgliedschaft',
      body: 'Hinzugefügt zu Finance readers.',
    });
    expect(byDevice.get('alice-browser')).toMatchObject({ title: 'Gruppenmitgliedschaft' });
    expect(byDevice.get('carol-iphone')).toMatchObject({
      title: 'Group membership added',
      body: 'Added to Finance readers.',
    });
  });

  it('keeps recipients of different locales apart in one page, whichever of them comes first', async () => {
    const directory = createMemoryDirectory({
      users: [
        { id: 'dave', attributes: {} },
        { id: 'bob', locale: 'fr-CH', attributes: {} },
        { id: 'erin', locale: 'de', attributes: {} },
      ],
    });
    const announcement = (locale: string, title: string): TemplateDefinition => ({
      key: 'idrelay.announcement.published',
      locale,
      title,
    });
    s = await createScenario(createMemoryStore(), {
      templates: [announcement('de', 'Mitteilung'), announcement('fr', 'Annonce')],
      directory,
    });
    const plan = await s.relay.ingest(
      createEvent(
        'idrelay.announcement.published',
        {
          announcementId: 'l-2',
          title: 'News',
          body: 'b',
          audience: { kind: 'users', userIds: ['dave', 'bob', 'erin'] },
        },
        { source: '/targeting', id: 'l-2' },
      ),
    );
    expect(plan.deliveries).toBe(3);
    await s.relay.drain();
    const titles = s.transports.fcm.sent.map((p) => `${p.target.deviceId}: ${p.message.title}`).sort();
    expect(titles).toEqual(['bob-pixel: Annonce', 'dave-pixel: News', 'erin-pixel: Mitteilung']);
  });
});
