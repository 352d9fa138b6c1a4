/**
 * The one emulator fixture for specs: an emulator on 127.0.0.1, port 0, and a client of it, always
 * closed after use. `useEmulator()` registers the mocha hooks; `withEmulator()` is for one more
 * emulator inside a test.
 */
import { expect } from 'chai';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../lib/emulator/index.js';
import { createSisClient, type SisClient, type SisConnectionOptions } from '../../lib/index.js';

/** The emulator's options, without host and port: specs bind to 127.0.0.1, port 0, and nothing else. */
export type FixtureEmulatorOptions = Omit<EmulatorOptions, 'host' | 'port'>;
/** A client's options on top of the emulator's endpoint, project id and token. */
export type FixtureClientOptions = Partial<SisConnectionOptions>;

export interface EmulatorFixtureOptions {
  /** Options of every emulator the fixture starts; `start(options)` adds to them. */
  readonly options?: FixtureEmulatorOptions;
  /** Options of the client; `start(…, client)` and `client(overrides)` add to them. */
  readonly client?: FixtureClientOptions;
  /**
   * When an emulator starts: `'test'` (the default) when the test calls `start()`, with the options it
   * needs, and closed after that test; `'beforeEach'` a fresh one for every test; `'before'` one shared
   * by the tests of the block, closed after the last of them.
   */
  readonly startIn?: 'test' | 'beforeEach' | 'before';
  /**
   * What happens before the close: `'close'` (the default) nothing; `'idle'` wait until every connection
   * has ended (`emulator.idle()`) and fail if one is still open when the hook is about to time out — a test
   * that leaves a socket open fails, and the emulator is closed all the same.
   */
  readonly teardown?: 'close' | 'idle';
}

export interface EmulatorFixture {
  /** The emulator started last (by the hook, or by `start()` in this test); throws when there is none. */
  readonly emulator: Emulator;
  /** The client of that emulator, the same object on every call; with `overrides`, a new one. */
  client(overrides?: FixtureClientOptions): SisClient;
  /** Starts an emulator for this test (`startIn: 'test'` only); every one started is closed after the test. */
  start(options?: FixtureEmulatorOptions, client?: FixtureClientOptions): Promise<{ emulator: Emulator; client: SisClient }>;
}

/** Starts an emulator bound to 127.0.0.1 on an ephemeral port; refuses one that would listen anywhere else. */
const startLoopback = async (options: FixtureEmulatorOptions): Promise<Emulator> => {
  const emulator = await startEmulator({ ...options, port: 0 });
  if (emulator.host !== '127.0.0.1') {
    await emulator.close();
    throw new Error(`the emulator listened on ${emulator.host}, not 127.0.0.1`);
  }
  return emulator;
};

const clientOf = (emulator: Emulator, options: FixtureClientOptions): SisClient =>
  createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token }, ...options });

/** Resolves when `done` does, or after `ms` (a watchdog, so that the hook can still report and close; 0: no limit). */
const within = async (done: Promise<unknown>, ms: number): Promise<void> => {
  if (ms <= 0) {
    await done;
    return;
  }
  let watchdog: NodeJS.Timeout | undefined;
  try {
    await Promise.race([done, new Promise((resolve) => (watchdog = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(watchdog);
  }
};

/**
 * Closes every emulator; with `'idle'`, first waits (up to `hookTimeoutMs` less a margin) until each has no
 * connection left, and once all are closed fails if one had.
 */
const release = async (emulators: readonly Emulator[], teardown: NonNullable<EmulatorFixtureOptions['teardown']>, hookTimeoutMs: number): Promise<void> => {
  const waitMs = hookTimeoutMs > 0 ? Math.max(hookTimeoutMs - 500, hookTimeoutMs / 2) : 0;
  if (teardown === 'idle') await within(Promise.all(emulators.map((emulator) => emulator.idle())), waitMs);
  const open = emulators.map((emulator) => emulator.openConnections());
  await Promise.all(emulators.map((emulator) => emulator.close()));
  if (teardown === 'idle') expect(open, 'connections left open, per emulator started').to.deep.equal(open.map(() => 0));
};

/**
 * Registers the hooks of an emulator fixture in the enclosing `describe`.
 *
 * @example
 * const sis = useEmulator({ options: { frameBytes: 640 }, teardown: 'idle' });
 * it('…', async () => {
 *   const { emulator, client } = await sis.start({ maxConcurrentSessions: 2 });
 * });
 */
export const useEmulator = (fixture: EmulatorFixtureOptions = {}): EmulatorFixture => {
  const { startIn = 'test', teardown = 'close' } = fixture;
  let started: Emulator[] = [];
  let current: { emulator: Emulator; client: SisClient; options: FixtureClientOptions } | undefined;

  const launch = async (options: FixtureEmulatorOptions = {}, client: FixtureClientOptions = {}): Promise<{ emulator: Emulator; client: SisClient }> => {
    const emulator = await startLoopback({ ...fixture.options, ...options });
    started.push(emulator);
    const clientOptions = { ...fixture.client, ...client };
    current = { emulator, client: clientOf(emulator, clientOptions), options: clientOptions };
    return { emulator, client: current.client };
  };
  const stop = async function (this: Mocha.Context): Promise<void> {
    const emulators = started;
    started = [];
    current = undefined;
    await release(emulators, teardown, this.timeout());
  };

  const launchWithDefaults = async (): Promise<void> => {
    await launch();
  };
  if (startIn === 'before') {
    before(launchWithDefaults);
    after(stop);
  } else {
    if (startIn === 'beforeEach') beforeEach(launchWithDefaults);
    afterEach(stop);
  }

  const running = () => {
    if (current === undefined) throw new Error(startIn === 'test' ? 'no emulator: call start() in the test first' : 'no emulator outside the tests');
    return current;
  };
  return {
    get emulator() {
      return running().emulator;
    },
    client: (overrides) => {
      const { emulator, client, options } = running();
      return overrides === undefined ? client : clientOf(emulator, { ...options, ...overrides });
    },
    start: (options, client) => {
      if (startIn !== 'test') throw new Error(`this fixture starts its emulator in ${startIn}(); use withEmulator() for another`);
      return launch(options, client);
    },
  };
};

/** Runs `use` with an emulator of its own (127.0.0.1, port 0), closed when `use` settles, whatever happens. */
export const withEmulator = async <T>(options: FixtureEmulatorOptions, use: (emulator: Emulator) => Promise<T>): Promise<T> => {
  const emulator = await startLoopback(options);
  try {
    return await use(emulator);
  } finally {
    await emulator.close();
  }
};
