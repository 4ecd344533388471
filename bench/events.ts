/**
 * `pnpm bench events`: what validating an identity event costs, beside the raw floor of only parsing its JSON.
 * Three events of different sizes; 50,000 parses each after 5,000 warm-up parses.
 */
import { createEvent, parseEvent, serializeEvent } from '@idrelay/core/events';
import { measure } from './lib/measure.js';
import { createReport, round } from './lib/report.js';

const report = createReport('events');
const later = new Date(Date.now() + 3_600_000).toISOString();
const cases = {
  'account-locked': serializeEvent(
    createEvent(
      'idrelay.account.locked',
      { userId: 'u-1', reason: 'failed-logins', failedAttempts: 5 },
      { source: 'ldap://dir' },
    ),
  ),
  'access-requested': serializeEvent(
    createEvent(
      'idrelay.access.requested',
      {
        requestId: 'req-1',
        requester: { id: 'u-1', displayName: 'Alice Meier' },
        resource: { id: 'db', name: 'Customer DB', system: 'Oracle' },
        justification: 'Quarter-end report for the finance team',
        approvers: ['u-2', 'u-3', 'u-4'],
        expiresAt: later,
      },
      { source: 'https://iam.example.com', idrelaysubject: { format: 'email', email: 'alice@example.com' } },
    ),
  ),
  'announcement-any-of': serializeEvent(
    createEvent(
      'idrelay.announcement.published',
      {
        announcementId: 'a-1',
        title: 'Maintenance',
        body: 'SSO is down tonight from 22:00 to 23:00 while we rotate keys.',
        audience: {
          kind: 'any-of',
          audiences: [
            { kind: 'group', groupId: 'g-finance' },
            { kind: 'attributes', filter: { location: ['Zurich', 'Berlin'], department: 'IT' } },
          ],
        },
      },
      { source: 'https://console.example.com' },
    ),
  ),
};

for (const [name, json] of Object.entries(cases)) {
  const ours = await measure(() => parseEvent(json), { iterations: 50_000, warmup: 5_000 });
  const floor = await measure(() => JSON.parse(json), { iterations: 50_000, warmup: 5_000 });
  report.add({
    case: `parse-${name}`,
    metric: 'throughput',
    value: round(ours.opsPerSec, 0),
    unit: 'events/s',
    peer: 'JSON.parse (raw floor)',
    peer_value: round(floor.opsPerSec, 0),
    ratio: round(ours.opsPerSec / floor.opsPerSec, 3),
  });
  report.add({
    case: `parse-${name}`,
    metric: 'cost-per-event',
    value: round(ours.meanUs, 2),
    unit: 'µs',
    peer: 'JSON.parse (raw floor)',
    peer_value: round(floor.meanUs, 2),
    ratio: round(floor.meanUs / ours.meanUs, 3),
    note: `${json.length} bytes; validation adds ${round(ours.meanUs - floor.meanUs, 1)} µs over parsing the JSON`,
  });
}
report.write();
