/**
 * The smallest idrelay program: parse what an IAM system sent, get a typed event or a coded error.
 * Run it with `pnpm demo` from the repository root.
 */
import { type IdentityEvent, isIdrelayError } from '@idrelay/core';
import { eventSubject, parseEvent, subjectsMatch } from '@idrelay/core/events';
import { SAMPLE_EVENTS } from './sample-events.js';

/** Describes one event for a person; narrowing on `type` gives typed `data`. */
export function describe(event: IdentityEvent): string {
  switch (event.type) {
    case 'idrelay.access.requested': {
      const { requester, resource, approvers = [] } = event.data;
      return `${requester.displayName ?? requester.id} asks for "${resource.name ?? resource.id}"; approvers: ${approvers.join(', ')}`;
    }
    case 'idrelay.account.locked':
      return `account ${event.data.userId} locked (${event.data.reason})`;
    default:
      return event.type;
  }
}

/** Runs the demo and returns what it printed, line by line. */
export function main(print: (line: string) => void = console.log): void {
  for (const raw of SAMPLE_EVENTS) {
    try {
      const event = parseEvent(raw);
      print(`✔ ${event.type} ${event.id}: ${describe(event)}`);
      const subject = eventSubject(event);
      if (subject) {
        const isAlice = subjectsMatch(subject, { format: 'email', email: 'alice@example.com' });
        print(`  subject ${JSON.stringify(subject)} is alice@example.com: ${isAlice}`);
      }
    } catch (error) {
      if (!isIdrelayError(error, 'ERR_EVENT_INVALID')) throw error;
      print(`✘ ${error.code}: ${error.details?.issues.length} problem(s)`);
      for (const issue of error.details?.issues ?? []) {
        print(`  ${issue.path}: ${issue.message}`);
      }
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
