import { expect, it } from 'vitest';
import { main } from './main.js';

it('prints a typed result for the valid event and every problem of the invalid one', () => {
  const lines: string[] = [];
  main((line) => lines.push(line));
  expect(lines[0]).toBe(
    '✔ idrelay.access.requested req-7781: Alice Meier asks for "Customer DB (read)"; approvers: u-bob, u-carol',
  );
  expect(lines[1]).toContain('is alice@example.com: true');
  expect(lines[2]).toBe('✘ ERR_EVENT_INVALID: 2 problem(s)');
  expect(lines.slice(3).sort()).toEqual([
    expect.stringMatching(/^ {2}data\.reason: /),
    expect.stringMatching(/^ {2}time: /),
  ]);
});
