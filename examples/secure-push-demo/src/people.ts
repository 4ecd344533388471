import { createMemoryDirectory } from '@idrelay/testkit';

/**
 * The demo's directory: Alice (finance) asks for access, Bob (her manager) and Carol (security) approve, Dave runs
 * IAM. In production this is LDAP, OTDS or SCIM behind the same `Directory` port.
 */
export function demoDirectory() {
  return createMemoryDirectory({
    users: [
      {
        id: 'u-alice',
        displayName: 'Alice Meier',
        subjects: [{ format: 'email', email: 'alice@example.com' }],
        managerId: 'u-bob',
        timeZone: 'Europe/Zurich',
        attributes: { department: 'Finance', location: 'Zurich' },
      },
      {
        id: 'u-bob',
        displayName: 'Bob Keller',
        subjects: [{ format: 'email', email: 'bob@example.com' }],
        timeZone: 'Europe/Zurich',
        attributes: { department: 'Finance', location: 'Zurich' },
      },
      {
        id: 'u-carol',
        displayName: 'Carol Ng',
        subjects: [{ format: 'email', email: 'carol@example.com' }],
        timeZone: 'Europe/Berlin',
        attributes: { department: 'Security', location: 'Berlin' },
      },
      {
        id: 'u-dave',
        displayName: 'Dave Ito',
        subjects: [{ format: 'email', email: 'dave@example.com' }],
        timeZone: 'Asia/Tokyo',
        attributes: { department: 'IT', location: 'Tokyo' },
      },
    ],
    groups: [
      { id: 'g-security', name: 'Security team', members: ['u-carol'] },
      { id: 'g-iam-admins', name: 'IAM administrators', members: ['u-dave'] },
      { id: 'g-prod-admins', name: 'Production admins', privileged: true, members: [] },
    ],
  });
}
