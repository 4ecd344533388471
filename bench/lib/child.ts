import { fork } from 'node:child_process';

/** A benchmark helper process (a stand-in) spoken to over IPC with `{ type }` messages. */
export interface BenchChild {
  /** Resolves with the next message of `type`; rejects if the process exits first. */
  next<T = Record<string, unknown>>(type: string): Promise<T>;
  /** Sends `{ type }` and resolves with the reply of the same type. */
  ask<T = Record<string, unknown>>(type: string): Promise<T>;
  /** Sends `{ type: stopType }` and waits for the process to exit. */
  stop(stopType: string): Promise<void>;
}

/**
 * Forks `script` (TypeScript, our sources) in its own process, so a stand-in's CPU never counts as the sender's.
 *
 * @example
 * ```ts
 * const child = forkBenchChild(new URL('./apns-stand-in-process.ts', import.meta.url));
 * const ready = await child.next<{ origin: string }>('ready');
 * ```
 */
export function forkBenchChild(script: URL, options: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): BenchChild {
  const child = fork(script, options.args ?? [], {
    execArgv: ['--conditions=@idrelay/source', '--import', 'tsx'],
    env: options.env ?? process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type?: unknown }) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as T);
      };
      const onExit = (code: number | null) => reject(new Error(`${script.pathname} exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return {
    next,
    ask<T>(type: string) {
      const reply = next<T>(type);
      child.send({ type });
      return reply;
    },
    async stop(stopType) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: stopType });
      await exited;
    },
  };
}
