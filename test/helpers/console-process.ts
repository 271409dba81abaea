/**
 * The built console as a child process, started as a deployment starts it (the systemd unit's
 * ExecStart, the image's CMD with compose's environment), and stopped by its pid.
 */
import { spawn, ChildProcess } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import { ROOT } from './run-node';

export interface ConsoleProcess {
  child: ChildProcess;
  /** Its URL as it printed it, e.g. http://127.0.0.1:41234/ */
  url: string;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** SIGTERM by pid; resolves with the exit code (null when a signal ended it). */
  stop(): Promise<number | null>;
}

/** Throws when `npm run build` has not emitted the built console. */
export function requireBuiltConsole(): void {
  for (const f of ['cli.js', 'main.js']) {
    if (!existsSync(join(ROOT, 'dist/console', f))) throw new Error(`dist/console/${f} missing: npm run build first`);
  }
}

/** Starts `argv` and waits until it prints the console's URL (it listens by then). */
export function startConsoleProcess(argv: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number }): Promise<ConsoleProcess> {
  const child = spawn(argv[0], argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`no URL within ${opts.timeoutMs ?? 20000} ms from ${argv.join(' ')}:\n${out}`));
    }, opts.timeoutMs ?? 20000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /API Sessions console[^:]*: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}
