/**
 * Warm connections over real sockets against the emulator (127.0.0.1, port 0), whose idle close (the
 * service's ~20 s without START) is shortened to 300 ms: a thousand sessions with `maxIdleMs` below it
 * and above it, the transparent reconnect when a warm socket dies under a START, `speak$` on both APIs,
 * and `close()`.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { setTimeout as pause } from 'node:timers/promises';
import { lastValueFrom, of, toArray } from 'rxjs';
import type { Emulator, SessionFault, SessionRecord } from '../../lib/emulator/index.js';
import { createSisClient, SisClosedError, SisError, type SisClient, type WarmOptions, type WarmStats } from '../../lib/index.js';
import { useEmulator, withEmulator, type FixtureClientOptions } from '../helpers/emulator-fixture.js';
import { errorOf } from '../helpers/errors.js';

const IDLE_CLOSE_MS = 300;
const SESSIONS = 1_000;

/**
 * The think time before each session. Gaps of 0..450 ms throughout would take minutes, so most are
 * short (0..3 ms: sessions back to back, takes racing the refills), and one in 40 is a pause of
 * 260..460 ms: past `maxIdleMs` 250, past the idle close at 300 and past `maxIdleMs` 350 alike (about
 * 25 pauses, ~9 s). The two soaks run at once, on two emulators, to stay near 15 s in all.
 */
const THINK_TIME = fc.oneof({ weight: 39, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 260, max: 459 }) });
/** The think times of a soak, fixed by `seed` (fast-check's generator), so that a failing run can be replayed. */
const thinkTimes = (seed: number): number[] => fc.sample(fc.array(THINK_TIME, { minLength: SESSIONS, maxLength: SESSIONS }), { seed, numRuns: 1 })[0] ?? [];

interface Soak {
  /** `index: code message` of every session that failed. */
  readonly failures: string[];
  /** The pools' stats after the last session, before `close()`. */
  readonly stats: WarmStats;
  /** The emulator's records, every connection closed. */
  readonly sessions: readonly SessionRecord[];
  readonly completed: number;
}

const TIMEOUTS = { connect: 5_000, firstAudio: 5_000, idle: 5_000, errorGrace: 200 };

const clientOf = (emulator: Emulator, options: FixtureClientOptions): SisClient =>
  createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token }, timeouts: TIMEOUTS, ...options });

const describeError = (error: unknown): string =>
  error instanceof SisError ? `${error.code} ${error.message}` : error instanceof Error ? error.message : String(error);

/**
 * SESSIONS sessions one after another, each after its think time (the workload's pauses, not a wait
 * for anything), against an emulator of its own; then `close()`, and every connection must end.
 */
const soak = (maxIdleMs: number, seed: number): Promise<Soak> =>
  withEmulator({ idleTimeoutMs: IDLE_CLOSE_MS }, async (emulator) => {
    const client = clientOf(emulator, { warm: { size: 2, maxIdleMs } });
    const failures: string[] = [];
    for (const [index, thinkMs] of thinkTimes(seed).entries()) {
      if (thinkMs > 0) await pause(thinkMs);
      try {
        await lastValueFrom(client.synthesize$({ text: `第${index}句。` }));
      } catch (error) {
        failures.push(`${index}: ${describeError(error)}`);
      }
    }
    const stats = client.stats();
    await client.close();
    await emulator.idle();
    return { failures, stats, sessions: [...emulator.sessions], completed: emulator.stats.sessionsCompleted };
  });

/** Connections the emulator's idle close ended. */
const idleClosed = (sessions: readonly SessionRecord[]): SessionRecord[] => sessions.filter((record) => record.idleClosed);

/** The one connection a fault was injected into. */
const armedRecord = (emulator: Emulator): SessionRecord => {
  const armed = emulator.sessions.filter((record) => record.fault !== undefined);
  expect(armed).to.have.length(1);
  return armed[0] as SessionRecord;
};

const textOf = (record: SessionRecord | undefined): string | undefined =>
  record?.api === 'realtime' ? record.command?.text : record?.pieces.map((piece) => piece.text).join('');

describe('warm connections against the emulator', () => {
  describe(`${SESSIONS} sessions with random think times, the idle close at ${IDLE_CLOSE_MS} ms`, function () {
    this.timeout(40_000);
    let below: Soak;
    let above: Soak;
    before(async () => {
      [below, above] = await Promise.all([soak(250, 10), soak(350, 20)]);
    });

    it('maxIdleMs 250 (below it): no session fails; warm sockets expire before the server closes them, and serve most sessions', () => {
      const { failures, stats } = below;
      expect(failures).to.deep.equal([]);
      expect(below.completed).to.equal(SESSIONS);
      expect(stats.hits + stats.misses, 'one take per session').to.equal(SESSIONS);
      expect(stats.hits).to.be.above(SESSIONS / 2);
      expect(stats.expired).to.be.above(0);
      // Expiry comes 50 ms before the idle close, but both ends share one busy event loop here: now and then
      // the idle close still comes first. The pool then drops that socket (lost), and no session fails.
      expect(stats.lost, 'warm sockets the server closed first').to.be.below(stats.expired);
      expect(idleClosed(below.sessions).length).to.be.below(stats.expired);
    });

    it('maxIdleMs 350 (above it): no session fails; the server closes idle warm sockets, the pool drops and replaces them', () => {
      const { failures, stats } = above;
      expect(failures).to.deep.equal([]);
      expect(above.completed).to.equal(SESSIONS);
      expect(stats.hits + stats.misses, 'one take per session').to.equal(SESSIONS);
      expect(stats.hits).to.be.above(SESSIONS / 2);
      expect(stats.lost).to.be.above(0);
      const closedByServer = idleClosed(above.sessions);
      // Each was dropped while it waited (lost), or taken as the close crossed its START and replaced by the reconnect.
      expect(closedByServer.length).to.be.at.least(stats.lost);
      for (const record of closedByServer) expect(record).to.include({ status: 101, command: undefined, errorCode: 'SIS.0304', closedBy: 'server' });
    });
  });

  /** Clients with warm sockets, closed after each test (before the fixture checks that every connection ended). */
  const clients: SisClient[] = [];
  const track = (client: SisClient): SisClient => {
    clients.push(client);
    return client;
  };
  const closeClients = async (): Promise<void> => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  };

  describe('the transparent reconnect', () => {
    afterEach(closeClients);
    const sis = useEmulator({ client: { timeouts: TIMEOUTS }, teardown: 'idle' });
    const warmClient = (warm: WarmOptions): SisClient => track(sis.client({ warm }));

    /**
     * Arms `fault` on the pool's next socket and has it warm: a first session takes the socket warmed
     * at creation, the refill (the next connection) gets the fault.
     */
    const armWarmSocket = async (client: SisClient, fault: SessionFault, api: 'realtime' | 'streaming' = 'realtime'): Promise<void> => {
      expect(await client.prewarm(1, { api })).to.equal(1);
      sis.emulator.injectNext(fault);
      const text = of('第一句。');
      await lastValueFrom(api === 'realtime' ? client.synthesize$({ text: '第一句。' }) : client.speak$(text, { api }));
      expect(await client.prewarm(1, { api })).to.equal(1);
    };

    // The server's idle close crossing the START: FATAL_ERROR SIS.0304 answers it, then the server closes.
    const IDLE_CLOSE: SessionFault = { kind: 'fatal', at: 'before-start', errorCode: 'SIS.0304', errorMsg: 'wait voice timeout' };
    const DROP: SessionFault = { kind: 'drop', at: 'before-start', closeCode: 1001 };
    const RESET: SessionFault = { kind: 'drop', at: 'before-start', how: 'reset' };

    for (const [name, fault] of [
      ['closed (1001)', DROP],
      ['reset', RESET],
      ['closed by the idle close (FATAL_ERROR SIS.0304)', IDLE_CLOSE],
    ] as const) {
      it(`synthesize$: a warm socket ${name} after START, before the START response, is replaced by a fresh one once, unseen`, async () => {
        const { emulator } = await sis.start();
        const client = warmClient({ size: 1, maxIdleMs: 60_000 });
        await armWarmSocket(client, fault);
        const events = await lastValueFrom(client.events$({ text: '第二句。' }).pipe(toArray()));
        await client.close();
        expect(events.filter((event) => event.type === 'open')).to.have.length(1);
        expect(events.at(-1)).to.include({ type: 'end', reason: 'NORMAL' });
        await emulator.idle();
        const armed = armedRecord(emulator);
        expect(armed.fault).to.deep.equal(fault);
        expect(textOf(armed)).to.equal('第二句。');
        const served = emulator.sessions.filter((record) => textOf(record) === '第二句。' && record.ending === 'end-normal');
        expect(served).to.have.length(1);
        expect(client.stats()).to.include({ hits: 2, misses: 0 });
      });
    }

    it("speak$ with api 'streaming': the START and the pieces sent before the START response go again on a fresh socket", async () => {
      const { emulator } = await sis.start();
      const client = warmClient({ size: 1, maxIdleMs: 60_000 });
      await armWarmSocket(client, IDLE_CLOSE, 'streaming');
      const chunks = await lastValueFrom(client.speak$(of('你好。', '世界。'), { api: 'streaming' }).pipe(toArray()));
      await client.close();
      await emulator.idle();
      const served = emulator.sessions.filter((record) => record.api === 'streaming' && record.ending === 'end-normal' && textOf(record) === '你好。世界。');
      expect(served).to.have.length(1);
      expect(Buffer.concat(chunks.map((chunk) => chunk.data)).length).to.equal(served[0]?.audioBytes);
      expect(armedRecord(emulator)).to.include({ api: 'streaming', ending: 'fatal', errorCode: 'SIS.0304' });
      expect(client.stats()).to.include({ hits: 2, misses: 0 });
    });
  });

  describe('speak$ and close()', () => {
    afterEach(closeClients);
    const sis = useEmulator({ client: { timeouts: TIMEOUTS }, teardown: 'idle' });
    const warmClient = (warm: WarmOptions): SisClient => track(sis.client({ warm }));

    it('speak$ (real-time) takes its sessions from the warm sockets', async () => {
      const { emulator } = await sis.start();
      const client = warmClient({ size: 2, maxIdleMs: 60_000 });
      expect(await client.prewarm()).to.equal(2);
      const chunks = await lastValueFrom(client.speak$(of('你好。世界。')).pipe(toArray()));
      expect(new Set(chunks.map((chunk) => chunk.sentence?.text))).to.deep.equal(new Set(['你好。', '世界。']));
      // One take per sentence, each a hit: no session connected by itself.
      expect(client.stats()).to.include({ hits: 2, misses: 0 });
      await client.close();
      await emulator.idle();
      // The first sentence ran on a socket warmed before the speech.
      const first = emulator.sessions.find((record) => textOf(record) === '你好。');
      expect(first?.connection).to.be.at.most(2);
    });

    it("speak$ (api 'streaming') takes a warm socket of the streaming path", async () => {
      const { emulator } = await sis.start();
      const client = warmClient({ size: 1, maxIdleMs: 60_000 });
      expect(await client.prewarm(1, { api: 'streaming' })).to.equal(1);
      const warmed = emulator.sessions.filter((record) => record.api === 'streaming').map((record) => record.connection);
      expect(warmed).to.have.length(1);
      const chunks = await lastValueFrom(client.speak$(of('你好。'), { api: 'streaming' }).pipe(toArray()));
      expect(chunks.length).to.be.above(0);
      expect(client.stats()).to.include({ hits: 1, misses: 0 });
      await client.close();
      await emulator.idle();
      const spoken = emulator.sessions.find((record) => record.api === 'streaming' && record.ending === 'end-normal');
      expect(spoken?.connection).to.equal(warmed[0]);
    });

    it('close() closes every warm socket (both paths) and stops refilling; later sessions fail with SisClosedError', async () => {
      const { emulator } = await sis.start();
      const client = warmClient({ size: 2, maxIdleMs: 60_000 });
      expect(await client.prewarm()).to.equal(2);
      expect(await client.prewarm(2, { api: 'streaming' })).to.equal(2);
      expect(emulator.openConnections()).to.equal(4);
      await client.close();
      await emulator.idle();
      expect(emulator.openConnections()).to.equal(0);
      expect(emulator.sessions.map((record) => [record.api, record.closedBy, record.closeCode])).to.deep.equal([
        ['realtime', 'client', 1000],
        ['realtime', 'client', 1000],
        ['streaming', 'client', 1000],
        ['streaming', 'client', 1000],
      ]);
      expect(client.stats()).to.include({ warm: 0, connecting: 0 });
      const error = await errorOf(lastValueFrom(client.synthesize$({ text: '你好。' })));
      expect(error).to.be.instanceOf(SisClosedError);
      expect(error.code).to.equal('CLIENT_CLOSED');
      expect(emulator.stats.connections, 'no connect after close()').to.equal(4);
    });

    it('close() lets a session in flight finish on its socket', async () => {
      const { emulator } = await sis.start({ firstAudioDelayMs: 50 });
      const client = warmClient({ size: 1, maxIdleMs: 60_000 });
      await client.prewarm();
      const running = lastValueFrom(client.events$({ text: '你好。' }).pipe(toArray()));
      await client.close();
      const events = await running;
      expect(events.at(-1)).to.include({ type: 'end', reason: 'NORMAL' });
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'end-normal', closedBy: 'client' });
    });

    it('await using closes the warm sockets at the end of the scope', async () => {
      const { emulator } = await sis.start();
      {
        await using client = sis.client({ warm: { size: 2, maxIdleMs: 60_000 } });
        expect(await client.prewarm()).to.equal(2);
        expect(emulator.openConnections()).to.equal(2);
      }
      await emulator.idle();
      expect(emulator.openConnections()).to.equal(0);
    });
  });
});
