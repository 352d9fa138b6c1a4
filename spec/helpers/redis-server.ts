/**
 * A real `redis-server` for specs: bound to 127.0.0.1 on a free port, nothing saved to disk, stopped after
 * use. Ready when the server says so on stdout ("Ready to accept connections"), not after a pause. When
 * `redis-server` is not installed it fails, saying how to install it: the specs that need it fail rather
 * than skip (CI installs it in .ci/run).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A running `redis-server`. */
export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Stops the server (SIGTERM) and resolves once it has exited; again: nothing more. */
  stop(): Promise<void>;
}

/** How long a server may take to say it is ready before the start fails (a watchdog, not a wait). */
const READY_WITHIN_MS = 10_000;

/** A port nothing listens on right now: bound on 127.0.0.1 port 0, then given back. */
const freePort = async (): Promise<number> => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not find a free port on 127.0.0.1');
  return address.port;
};

/** Stops the child and waits for its exit; a child that never started (not installed) has nothing to stop. */
const stopper = (child: ChildProcess): (() => Promise<void>) => {
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await gone;
  };
};

/** One attempt on one port: resolves when the server is ready, rejects (with its output) when it exits first. */
const startOn = async (port: number): Promise<RedisServer> => {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = stopper(child);
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: string) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) settle(resolve);
    };
    const onError = (error: NodeJS.ErrnoException) =>
      settle(() =>
        reject(
          error.code === 'ENOENT'
            ? new Error('redis-server is not installed: install it (apt-get install -y redis-server, brew install redis); the Redis specs need a real server')
            : error,
        ),
      );
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(() => reject(new Error(`redis-server exited (${signal ?? code}) before it was ready:\n${output}`)));
    const watchdog = setTimeout(
      () => settle(() => reject(new Error(`redis-server did not say it was ready within ${READY_WITHIN_MS} ms:\n${output}`))),
      READY_WITHIN_MS,
    );
    function settle(outcome: () => void): void {
      clearTimeout(watchdog);
      child.stdout?.off('data', onData);
      child.off('error', onError);
      child.off('exit', onExit);
      outcome();
    }
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', onError);
    child.on('exit', onExit);
  });
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  // Keep reading what it prints, so that a full pipe never blocks the server.
  child.stdout?.resume();
  child.stderr?.resume();
  return { host: '127.0.0.1', port, stop };
};

/**
 * Starts a `redis-server` on 127.0.0.1 and a free port. Another process may take the port between the
 * look-up and the start: then it tries another port, three times in all.
 */
export const startRedisServer = async (): Promise<RedisServer> => {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOn(await freePort());
    } catch (error) {
      if (!(error instanceof Error) || !/Address already in use/i.test(error.message)) throw error;
      last = error;
    }
  }
  throw last;
};
