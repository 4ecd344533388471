/** A stream the CLI writes to. */
export interface CliStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

/** What a command may touch: its output streams, environment and working directory; injected by tests. */
export interface CliIo {
  stdout: CliStream;
  stderr: CliStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Resolves when the process is asked to stop (SIGTERM, SIGINT); long-running commands race it. */
  stopSignal: Promise<string>;
}

/** Progress of long work: a spinner on a TTY, plain lines otherwise (logs, CI). */
export interface Progress {
  /** Starts a step (`… Opening the store`). */
  step(text: string): void;
  /** Ends the current step successfully (`✓ …`). */
  done(text?: string): void;
  /** Ends the current step as failed (`✗ …`). */
  fail(text?: string): void;
  /** A line of its own, between steps. */
  note(text: string): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Progress on `stream`: with a TTY an animated spinner redrawn in place, without one a line per step start and end,
 * so logs and CI output stay readable.
 *
 * @example
 * ```ts
 * const progress = createProgress(process.stderr);
 * progress.step('Opening the store');
 * progress.done();
 * ```
 */
export function createProgress(stream: CliStream): Progress {
  let current: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let frame = 0;
  const tty = stream.isTTY === true;
  const clear = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    if (tty) stream.write('\r\x1b[2K');
  };
  const end = (mark: string, text: string | undefined) => {
    clear();
    const line = text ?? current;
    if (line !== undefined) stream.write(`${mark} ${line}\n`);
    current = undefined;
  };
  return {
    step(text) {
      if (current !== undefined) end('✓', undefined);
      current = text;
      if (!tty) {
        stream.write(`… ${text}\n`);
        return;
      }
      stream.write(`${FRAMES[0]} ${text}`);
      timer = setInterval(() => {
        frame = (frame + 1) % FRAMES.length;
        stream.write(`\r\x1b[2K${FRAMES[frame]} ${current}`);
      }, 80);
      timer.unref();
    },
    done: (text) => end('✓', text),
    fail: (text) => end('✗', text),
    note(text) {
      if (timer !== undefined && tty) stream.write('\r\x1b[2K');
      stream.write(`${text}\n`);
      if (timer !== undefined && tty) stream.write(`${FRAMES[frame]} ${current}`);
    },
  };
}
