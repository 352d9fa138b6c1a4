/**
 * Every fault the emulator can inject, at every phase of a session, over real sockets on 127.0.0.1.
 * For each: exactly one terminal notification (complete, or one typed error with the right class and
 * fields), nothing after it, the emulator sees every connection closed, and the process holds no more
 * handles or timers than before.
 */
import { expect } from 'chai';
import { createServer, type AddressInfo } from 'node:net';
import {
  SisConnectionError,
  SisError,
  SisHandshakeError,
  SisProtocolError,
  SisServiceError,
  SisTimeoutError,
  createSisClient,
  type SisEvent,
} from '../../lib/index.js';
import type { Fault, FaultPoint } from '../../lib/emulator/index.js';
import { useEmulator, type EmulatorFixture, type FixtureEmulatorOptions } from '../helpers/emulator-fixture.js';
import { activeResources, record, resourceGrowth, SocketWatch, StrayNotifications, type Recording, type Terminal } from './support.js';

// '你好' at 8 kHz is 6,400 bytes of PCM: 10 audio frames of 640 bytes.
const REQUEST = { text: '你好' };
const FRAMES = 10;
const MAX_PAYLOAD = 64 * 1024;
const TIMEOUTS = { connect: 2_000, firstAudio: 250, idle: 250, errorGrace: 100 };

type ErrorClass = abstract new (...args: never[]) => SisError;
/** What a session must end with; `traceId: true` means the emulator's trace id of that session. */
type Outcome =
  | { readonly complete: true; readonly chunks?: number; readonly unknown?: number }
  | { readonly error: ErrorClass; readonly fields?: Readonly<Record<string, unknown>>; readonly traceId?: boolean; readonly message?: RegExp };
/** One outcome, or any of a few when the network decides (a TCP reset may destroy data not yet read). */
type Expected = Outcome | { readonly anyOf: readonly Outcome[] };

const COMPLETE: Outcome = { complete: true, chunks: FRAMES };

const POINTS: readonly { readonly phase: string; readonly at: FaultPoint; readonly started: boolean }[] = [
  { phase: 'open (START sent, not answered)', at: 'before-start', started: false },
  { phase: 'after START', at: 'after-start', started: true },
  { phase: 'mid-audio', at: { afterFrames: 3 }, started: true },
  { phase: 'all audio sent, instead of END', at: 'before-end', started: true },
  { phase: 'after END', at: 'after-end', started: true },
];

/** Each session fault and what it must lead to at a point (`started`: the START response was sent). */
const SESSION_FAULTS: readonly { readonly name: string; readonly fault: (at: FaultPoint) => Fault; readonly expect: (at: FaultPoint) => Expected }[] = [
  {
    name: 'error (ERROR, then END/ERROR)',
    fault: (at) => ({ kind: 'error', at }),
    expect: () => ({ error: SisServiceError, fields: { errorCode: 'SIS.0401', reason: 'ERROR', fatal: false, retryable: true }, traceId: true }),
  },
  {
    name: 'fatal (FATAL_ERROR, server closes)',
    fault: (at) => ({ kind: 'fatal', at }),
    expect: () => ({ error: SisServiceError, fields: { errorCode: 'SIS.0413', fatal: true, retryable: true }, traceId: true }),
  },
  {
    name: 'end-error (END/ERROR alone)',
    fault: (at) => ({ kind: 'end-error', at }),
    expect: () => ({ error: SisServiceError, fields: { errorCode: undefined, reason: 'ERROR', retryable: true }, traceId: true }),
  },
  {
    name: 'drop (close frame 1011)',
    fault: (at) => ({ kind: 'drop', at }),
    expect: (at) => ({ error: SisConnectionError, fields: { closeCode: 1011, retryable: true }, traceId: at !== 'before-start' }),
  },
  {
    name: 'drop (close frame 4000 with a reason)',
    fault: (at) => ({ kind: 'drop', at, closeCode: 4000, closeReason: 'maintenance' }),
    expect: (at) => ({ error: SisConnectionError, fields: { closeCode: 4000, closeReason: 'maintenance' }, traceId: at !== 'before-start' }),
  },
  {
    name: 'drop (TCP reset)',
    fault: (at) => ({ kind: 'drop', at, how: 'reset' }),
    expect: (at) => {
      const lost: Outcome = { error: SisConnectionError, fields: { retryable: true }, traceId: at !== 'before-start' };
      // Right after END, the reset may reach the client before END is read, and then END is lost.
      return at === 'after-end' ? { anyOf: [COMPLETE, lost] } : lost;
    },
  },
  {
    name: 'malformed (a text frame that is not JSON)',
    fault: (at) => ({ kind: 'malformed', at }),
    expect: (at) => ({ error: SisProtocolError, fields: { retryable: false }, message: /not JSON/, traceId: at !== 'before-start' }),
  },
  {
    name: 'unknown-type (must not end the session)',
    fault: (at) => ({ kind: 'unknown-type', at, respType: 'PROGRESS' }),
    expect: () => ({ complete: true, chunks: FRAMES, unknown: 1 }),
  },
  {
    name: 'stall (stops sending, keeps the socket open)',
    fault: (at) => ({ kind: 'stall', at }),
    expect: (at) => ({
      error: SisTimeoutError,
      fields: { phase: at === 'before-start' || at === 'after-start' ? 'firstAudio' : 'idle', timeoutMs: TIMEOUTS.idle },
      traceId: at !== 'before-start',
    }),
  },
  {
    name: 'trickle (the next frame a few bytes at a time)',
    fault: (at) => ({ kind: 'trickle', at, intervalMs: 5, bytesPerTick: 64 }),
    expect: () => COMPLETE,
  },
  {
    name: 'oversized (a 1 MiB frame over maxPayload)',
    fault: (at) => ({ kind: 'oversized', at, bytes: 1024 * 1024 }),
    expect: (at) => ({ error: SisProtocolError, message: /maxPayload \(65536 bytes\)/, traceId: at !== 'before-start' }),
  },
  {
    name: 'flood (200 extra frames as fast as the socket drains)',
    fault: (at) => ({ kind: 'flood', at, frames: 200, bytes: 640 }),
    expect: (at) =>
      at === 'before-start'
        ? { error: SisProtocolError, message: /audio arrived before the START response/, traceId: false }
        : { complete: true, chunks: at === 'after-end' ? FRAMES : FRAMES + 200 },
  },
];

/** Anything after END must change nothing: the session has completed and closes. */
const afterEnd = (expected: Expected, at: FaultPoint): Expected => (at === 'after-end' && !('anyOf' in expected) ? COMPLETE : expected);

describe('fault matrix (every emulator fault × every phase, real sockets)', () => {
  /** The emulator and client of the block that runs: each block below shares one of its own. */
  let sis: EmulatorFixture;
  let watch: SocketWatch;
  let strays: StrayNotifications;

  /** Called once in each block: one emulator, and one client of it, for all the tests of the block. */
  const startWith = (options: FixtureEmulatorOptions = {}): void => {
    const fixture = useEmulator({ startIn: 'before', options: { frameBytes: 640, ...options }, client: { timeouts: TIMEOUTS, maxPayload: MAX_PAYLOAD } });
    before(() => {
      sis = fixture;
    });
  };

  beforeEach(() => {
    strays = new StrayNotifications();
    watch = new SocketWatch();
  });
  afterEach(() => {
    watch.stop();
    strays.restore();
  });

  /** Waits for every socket to close, then checks that nothing is left and nothing came late. */
  const settled = async (before: ReturnType<typeof activeResources>): Promise<void> => {
    await sis.emulator.idle();
    await watch.allClosed();
    expect(sis.emulator.openConnections(), 'open connections').to.equal(0);
    expect(resourceGrowth(before), 'handles and timers left').to.deep.equal({});
    expect(strays.late, 'notifications after the end').to.deep.equal([]);
    expect(strays.unhandled, 'unhandled errors').to.deep.equal([]);
  };

  const check = (recording: Recording<SisEvent>, terminal: Terminal, expected: Expected): void => {
    expect(recording.terminals, 'terminal notifications').to.have.length(1);
    if ('anyOf' in expected) {
      const fits = expected.anyOf.filter((outcome) =>
        'complete' in outcome ? terminal.kind === 'complete' : terminal.kind === 'error' && terminal.error instanceof outcome.error,
      );
      expect(fits, `one of the expected outcomes, got ${terminal.kind === 'error' ? String(terminal.error) : 'complete'}`).to.have.length.above(0);
      for (const outcome of fits) check(recording, terminal, outcome);
      return;
    }
    const chunks = recording.values.filter((e) => e.type === 'audio').length;
    if ('complete' in expected) {
      if (terminal.kind === 'error') throw terminal.error;
      expect(recording.values.at(-1)?.type).to.equal('end');
      if (expected.chunks !== undefined) expect(chunks, 'audio chunks').to.equal(expected.chunks);
      expect(
        recording.values.filter((e) => e.type === 'unknown'),
        'unknown events',
      ).to.have.length(expected.unknown ?? 0);
      return;
    }
    expect(terminal.kind, 'terminal').to.equal('error');
    const error = terminal.kind === 'error' ? terminal.error : undefined;
    expect(error).to.be.instanceOf(expected.error);
    expect(
      recording.values.some((e) => e.type === 'end'),
      'an end event before an error',
    ).to.equal(false);
    if (!(error instanceof SisError)) return;
    if (expected.fields !== undefined) expect(error).to.include(expected.fields);
    if (expected.message !== undefined) expect(error.message).to.match(expected.message);
    const traceId = sis.emulator.sessions.at(-1)?.traceId;
    if (expected.traceId === true) expect(error.traceId, 'traceId').to.be.a('string').and.equal(traceId);
    if (expected.traceId === false) expect(error.traceId, 'traceId').to.equal(undefined);
  };

  const runFault = async (fault: Fault | undefined, expected: Expected): Promise<void> => {
    await sis.emulator.idle();
    const before = activeResources();
    if (fault !== undefined) sis.emulator.injectNext(fault);
    const recording = record(sis.client().events$(REQUEST));
    const terminal = await recording.ended;
    check(recording, terminal, expected);
    await settled(before);
    expect(recording.terminals, 'terminal notifications, once everything closed').to.have.length(1);
  };

  describe('session faults (default emulator: END/ERROR follows an ERROR)', () => {
    startWith();

    it('a session without a fault completes (the baseline)', () => runFault(undefined, COMPLETE));

    for (const { name, fault, expect: expected } of SESSION_FAULTS) {
      describe(name, () => {
        for (const { phase, at } of POINTS) {
          it(`at ${phase}`, () => runFault(fault(at), afterEnd(expected(at), at)));
        }
      });
    }

    describe('out-of-order frames before the START response', () => {
      for (const what of ['audio-before-start', 'duplicate-start', 'end-before-start', 'result-before-start'] as const) {
        it(what, () => runFault({ kind: 'out-of-order', what }, { error: SisProtocolError, fields: { retryable: false } }));
      }
    });
  });

  describe('an ERROR that no END follows (errorThenEnd: false): fails after timeouts.errorGrace', () => {
    startWith({ errorThenEnd: false });
    for (const { phase, at } of POINTS) {
      it(`at ${phase}`, () =>
        runFault(
          { kind: 'error', at, errorCode: 'SIS.0414' },
          afterEnd({ error: SisServiceError, fields: { errorCode: 'SIS.0414', reason: undefined, retryable: true }, traceId: true }, at),
        ));
    }
  });

  describe('connecting (handshake faults)', () => {
    startWith();
    for (const status of [401, 403, 404, 429, 500, 503]) {
      it(`reject-handshake ${status}`, () =>
        runFault(
          { kind: 'reject-handshake', status },
          { error: SisHandshakeError, fields: { status, retryable: status === 429 || status >= 500 }, traceId: false },
        ));
    }
    it('nothing listens on the port (connection refused)', async () => {
      await sis.emulator.idle();
      const before = activeResources();
      const port = await new Promise<number>((resolve) => {
        const probe = createServer();
        probe.listen(0, '127.0.0.1', () => {
          const { port: free } = probe.address() as AddressInfo;
          probe.close(() => resolve(free));
        });
      });
      const refused = createSisClient({ endpoint: `ws://127.0.0.1:${port}`, projectId: 'p', auth: { token: 't' }, timeouts: TIMEOUTS });
      const recording = record(refused.events$(REQUEST));
      const terminal = await recording.ended;
      check(recording, terminal, { error: SisConnectionError, fields: { closeCode: undefined, retryable: true }, message: /ECONNREFUSED/, traceId: false });
      await settled(before);
    });
    it('silent (upgrades, then never answers START)', () =>
      runFault({ kind: 'silent' }, { error: SisTimeoutError, fields: { phase: 'firstAudio', timeoutMs: TIMEOUTS.firstAudio }, traceId: false }));
  });

  describe('the subscriber leaves (unsubscribe) at every phase', () => {
    startWith({ realtimeFactor: 4 });

    /** Unsubscribes at once (`'connecting'`), or from inside the first event for which `leave` holds. */
    const leaveWhen = async (leave: 'connecting' | ((event: SisEvent) => boolean)): Promise<void> => {
      await sis.emulator.idle();
      const before = activeResources();
      const recording = record(sis.client().events$(REQUEST), (event, subscription) => {
        if (leave !== 'connecting' && leave(event)) subscription()?.unsubscribe();
      });
      if (leave === 'connecting') recording.subscription.unsubscribe();
      await new Promise<void>((resolve) => recording.subscription.add(resolve));
      await settled(before);
      expect(recording.terminals, 'no terminal notification after unsubscribing').to.deep.equal([]);
    };

    it('while connecting', () => leaveWhen('connecting'));
    it('once open', () => leaveWhen((event) => event.type === 'open'));
    it('after START', () => leaveWhen((event) => event.type === 'start'));
    it('mid-audio', () => leaveWhen((event) => event.type === 'audio' && event.chunk.index === 3));
  });
});
