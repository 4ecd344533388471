/** Starting the benchmark's server processes and collecting what they report. */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@idrelay/testkit';

/** A running `server-process.ts`: its URL, the pushes it reported, requests over IPC, stop. */
export interface BenchServer {
  url: string;
  /** `userId → when the APNs stand-in took its push` (ms, `performance.timeOrigin + now()`). */
  pushes: Map<string, number>;
  /** Resolves once `count` pushes were reported, or after `timeoutMs` with what arrived. */
  waitForPushes(count: number, timeoutMs: number): Promise<number>;
  ask<T>(type: string): Promise<T>;
  stop(): Promise<void>;
}

export async function startServer(
  mode: 'ours' | 'floor',
  options: { users: number; responses: number; key: string },
): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), `idrelay-bench-gateway-${mode}-`));
  const port = await freePort();
  const child = fork(
    new URL('./server-process.ts', import.meta.url),
    [mode, dir, String(port), String(options.users), String(options.responses)],
    {
      execArgv: ['--conditions=@idrelay/source', '--import', 'tsx'],
      env: { ...process.env, BENCH_KEY: options.key },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const pushes = new Map<string, number>();
  let pushWaiter: (() => void) | undefined;
  const replies = new Map<string, (message: Record<string, unknown>) => void>();
  let exited: Error | undefined;
  child.on('message', (message: { type: string; userId?: string; at?: number }) => {
    if (message.type === 'pushed') {
      pushes.set(message.userId as string, message.at as number);
      pushWaiter?.();
      return;
    }
    replies.get(message.type)?.(message);
  });
  const reply = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      if (exited) reject(exited);
      replies.set(type, (m) => resolve(m as T));
      child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
    });
  child.once('exit', (code) => {
    exited = new Error(`${mode} server exited with ${code}`);
  });
  const { url } = await reply<{ url: string }>('ready');
  return {
    url,
    pushes,
    waitForPushes(count, timeoutMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pushWaiter = undefined;
          resolve(pushes.size);
        }, timeoutMs);
        pushWaiter = () => {
          if (pushes.size < count) return;
          clearTimeout(timer);
          pushWaiter = undefined;
          resolve(pushes.size);
        };
        pushWaiter();
      });
    },
    ask<T>(type: string) {
      const answer = reply<T>(type);
      child.send({ type });
      return answer;
    },
    async stop() {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await gone;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
