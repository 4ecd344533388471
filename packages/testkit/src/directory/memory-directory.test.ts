import { describe, expect, it } from 'vitest';
import { directoryContract } from './directory-contract.js';
import { createMemoryDirectory } from './memory-directory.js';

directoryContract({ name: 'memory', create: (fixture) => createMemoryDirectory(fixture) });

describe('createMemoryDirectory', () => {
  it('stops walking when the consumer aborts', async () => {
    const users = Array.from({ length: 1000 }, (_, i) => ({ id: `u${i}`, attributes: { all: 'yes' } }));
    const directory = createMemoryDirectory({ users });
    const controller = new AbortController();
    const seen: string[] = [];
    await expect(async () => {
      for await (const user of directory.resolve(
        { kind: 'attributes', filter: { all: 'yes' } },
        { signal: controller.signal },
      )) {
        seen.push(user.id);
        if (seen.length === 3) controller.abort();
      }
    }).rejects.toThrow();
    expect(seen).toHaveLength(3);
  });
});
