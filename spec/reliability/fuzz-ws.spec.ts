/**
 * Fuzzing over real sockets: a raw TCP peer on 127.0.0.1 answers the handshake in arbitrary ways and
 * then writes arbitrary byte sequences (frames valid and broken, close frames with any code, bytes
 * that are no frame at all, resets), while the subscriber may leave at any point. Every run must end
 * once with a typed error or complete, with every socket closed and no handle or timer left.
 * `WS_FUZZ_RUNS` raises the number of runs (100 by default).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { SisError, createSisClient, type SisClient, type SisEvent } from '../../lib/index.js';
import { frameHeader, rawPeer, textFrame, type RawConnection, type RawPeer } from './peers.js';
import { activeResources, record, resourceGrowth, SocketWatch, StrayNotifications } from './support.js';

const RUNS = Number(process.env['WS_FUZZ_RUNS'] ?? 100);
const TOKEN = 'ws-fuzz-token-never-shown';

type Handshake =
  | { readonly kind: 'upgrade' }
  | { readonly kind: 'reject'; readonly status: number; readonly body: string }
  | { readonly kind: 'garbage'; readonly bytes: Uint8Array }
  | { readonly kind: 'hang-up' }
  | { readonly kind: 'silence' };

type Write =
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array; readonly label: string }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'reset' };

interface Script {
  readonly handshake: Handshake;
  readonly writes: readonly Write[];
  /** Unsubscribe after this many events, if set. */
  readonly leaveAfter: number | null;
}

const bytes = (label: string, buffer: Uint8Array): Write => ({ kind: 'bytes', bytes: buffer, label });
const frame = (opcode: number, payload: Uint8Array, fin = true): Uint8Array => Buffer.concat([frameHeader(opcode, payload.length, fin), payload]);
const closeFrame = (code: number, reason: string): Uint8Array => {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return frame(8, payload);
};

const sisFrame = fc.oneof(
  fc.constant({ resp_type: 'START', trace_id: 't' }),
  fc.constant({ resp_type: 'END', trace_id: 't', reason: 'NORMAL' }),
  fc.constant({ resp_type: 'END', trace_id: 't', reason: 'ERROR' }),
  fc.constant({ resp_type: 'ERROR', trace_id: 't', error_code: 'SIS.0401', error_msg: 'x' }),
  fc.constant({ resp_type: 'FATAL_ERROR', trace_id: 't', error_code: 'SIS.0304', error_msg: 'x' }),
  fc.constant({ resp_type: 'RESULT', trace_id: 't', result: [] }),
  fc.record({ resp_type: fc.string({ maxLength: 6 }) }),
);

const write: fc.Arbitrary<Write> = fc.oneof(
  { arbitrary: sisFrame.map((f) => bytes('sis frame', textFrame(f))), weight: 8 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => bytes('audio', frame(2, b))), weight: 6 },
  { arbitrary: fc.string({ maxLength: 20 }).map((t) => bytes('text', frame(1, Buffer.from(t)))), weight: 2 },
  { arbitrary: fc.constant(bytes('invalid utf-8 text', frame(1, Uint8Array.from([0xff, 0xfe, 0xc3])))), weight: 1 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 16 }).map((b) => bytes('raw bytes', b)), weight: 2 },
  {
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom(1000, 1001, 1002, 1005, 1006, 1011, 1015, 3000, 4999), fc.integer({ min: 0, max: 65_535 })), fc.string({ maxLength: 10 }))
      .map(([code, reason]) => bytes('close frame', closeFrame(code, reason))),
    weight: 2,
  },
  { arbitrary: fc.constant(bytes('empty close frame', frame(8, new Uint8Array(0)))), weight: 1 },
  { arbitrary: fc.integer({ min: 1_025, max: 2 ** 31 }).map((n) => bytes('frame over maxPayload', frameHeader(2, n))), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 8 }).map((b) => bytes('ping', frame(9, b))), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 8 }).map((b) => bytes('fragment', frame(2, b, false))), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 8 }).map((b) => bytes('continuation', frame(0, b))), weight: 1 },
  { arbitrary: fc.integer({ min: 3, max: 15 }).map((op) => bytes('reserved opcode', frame(op, new Uint8Array(1)))), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 20 }).map((ms) => ({ kind: 'wait' as const, ms })), weight: 4 },
  { arbitrary: fc.constant({ kind: 'end' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'reset' as const }), weight: 1 },
);

const handshake: fc.Arbitrary<Handshake> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'upgrade' as const }), weight: 16 },
  {
    arbitrary: fc.record({
      kind: fc.constant('reject' as const),
      status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304 && s !== 101),
      body: fc.oneof(fc.string({ maxLength: 30 }), fc.constant('{"error_code":"APIG.0301","error_msg":"no","request_id":"r"}')),
    }),
    weight: 2,
  },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => ({ kind: 'garbage' as const, bytes: b })), weight: 1 },
  { arbitrary: fc.constant({ kind: 'hang-up' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'silence' as const }), weight: 1 },
);

const START = bytes('START', textFrame({ resp_type: 'START', trace_id: 't' }));
const script: fc.Arbitrary<Script> = fc.record({
  handshake,
  // Often a real beginning, so that the later states are reached.
  writes: fc
    .tuple(fc.constantFrom<readonly Write[]>([], [START], [START, bytes('audio', frame(2, new Uint8Array(4)))]), fc.array(write, { maxLength: 12 }))
    .map(([first, rest]) => [...first, ...rest]),
  leaveAfter: fc.option(fc.nat(6)),
});

/** Plays a script on one connection: the handshake answer, then (once START arrived) the writes. */
const play = async (connection: RawConnection, s: Script): Promise<void> => {
  const { socket } = connection;
  switch (s.handshake.kind) {
    case 'reject':
      socket.end(
        `HTTP/1.1 ${s.handshake.status} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(s.handshake.body)}\r\nConnection: close\r\n\r\n${s.handshake.body}`,
      );
      return;
    case 'garbage':
      socket.end(s.handshake.bytes);
      return;
    case 'hang-up':
      socket.destroy();
      return;
    case 'silence':
      return;
    case 'upgrade':
      break;
  }
  connection.upgrade();
  if ((await connection.firstMessage()) === undefined) return;
  for (const w of s.writes) {
    if (socket.destroyed || !socket.writable) return;
    if (w.kind === 'bytes') socket.write(w.bytes);
    else if (w.kind === 'wait') await new Promise((resolve) => setTimeout(resolve, w.ms));
    else if (w.kind === 'end') return void socket.end();
    else return void socket.resetAndDestroy();
  }
  // Then silence: the client's timeouts end the session.
};

describe('fuzzing the session over real sockets (fast-check, raw TCP peer)', function () {
  this.timeout(Math.max(30_000, RUNS * 1_000));
  let peer: RawPeer;
  let current: Script | undefined;
  let client: SisClient;
  // The peer's part of the current run: done once its last write (or wait) is over.
  let playing: Promise<void> = Promise.resolve();
  let failures: unknown[] = [];

  before(async () => {
    peer = await rawPeer(
      (connection) => {
        if (current !== undefined) playing = play(connection, current).catch((error: unknown) => void failures.push(error));
      },
      { answerClose: true },
    );
    client = createSisClient({
      endpoint: peer.endpoint,
      projectId: 'p',
      auth: { token: TOKEN },
      timeouts: { connect: 300, firstAudio: 100, idle: 100, total: 1_500, errorGrace: 50 },
      maxPayload: 1_024,
    });
  });
  after(() => peer.close());

  it(`ends once with a typed error or completes, closes every socket and leaves nothing behind (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        current = s;
        failures = [];
        playing = Promise.resolve();
        await Promise.resolve();
        const before = activeResources();
        const watch = new SocketWatch();
        const strays = new StrayNotifications();
        try {
          let left = false;
          const recording = record<SisEvent>(client.events$({ text: '你好' }), (_, subscription) => {
            if (s.leaveAfter !== null && recording.values.length > s.leaveAfter) {
              left = true;
              subscription()?.unsubscribe();
            }
          });
          const leftOrEnded = new Promise<void>((resolve) => recording.subscription.add(resolve));
          await leftOrEnded;
          if (!left) {
            expect(recording.terminals, 'terminal notifications').to.have.length(1);
            const [terminal] = recording.terminals;
            if (terminal?.kind === 'error') {
              expect(terminal.error, String(terminal.error)).to.be.instanceOf(SisError);
              expect(JSON.stringify(terminal.error) + String(terminal.error)).not.to.include(TOKEN);
            } else {
              expect(recording.values.at(-1)?.type, 'complete only after end').to.equal('end');
            }
          }
          await watch.allClosed();
          await playing;
          expect(recording.terminals.length, 'terminal notifications, once closed').to.be.at.most(left ? 0 : 1);
          expect(strays.late, 'notifications after the end').to.deep.equal([]);
          expect(strays.unhandled, 'unhandled errors').to.deep.equal([]);
          expect(failures, 'the peer failed').to.deep.equal([]);
          expect(resourceGrowth(before), 'handles and timers left').to.deep.equal({});
        } finally {
          strays.restore();
          watch.stop();
        }
      }),
      { numRuns: RUNS },
    );
  });
});
