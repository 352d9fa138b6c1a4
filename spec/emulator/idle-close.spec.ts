/**
 * The idle close: a connection that sends no START for `idleTimeoutMs` (default 20 s, as the service)
 * gets FATAL_ERROR SIS.0304 and is closed by the server, and its record says so (`idleClosed`). It is
 * what ends a warm socket kept too long.
 */
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { resolveOptions } from '../../lib/emulator/options.js';
import { command, shape, streamingPath, TestClient, textFrames } from './helpers.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

const START = { command: 'START', config: { voice_name: 'chinese_huaxiaoli_common' } } as const;

describe('emulator idle close (connections without START)', () => {
  const sis = useEmulator({ teardown: 'idle' });

  it('defaults to 20 s, as the service', () => {
    expect(resolveOptions({}).idleTimeoutMs).to.equal(20_000);
  });

  for (const api of ['realtime', 'streaming'] as const) {
    describe(api, () => {
      const connect = (emulator: typeof sis.emulator): Promise<TestClient> =>
        TestClient.connect(emulator, api === 'streaming' ? { path: streamingPath(emulator) } : {});

      it('sends FATAL_ERROR SIS.0304 to a connection that sends nothing, closes it, and records it as idle-closed by the server', async () => {
        const { emulator } = await sis.start({ idleTimeoutMs: 30 });
        const client = await connect(emulator);
        const closed = await client.closed;
        expect(shape(client.frames)).to.deep.equal(['FATAL_ERROR']);
        expect(textFrames(client.frames, 'FATAL_ERROR')[0]).to.include({ error_code: 'SIS.0304', error_msg: 'wait voice timeout' });
        expect(closed.code).to.equal(1000);
        await emulator.idle();
        expect(emulator.sessions).to.have.length(1);
        expect(emulator.sessions[0]).to.include({
          api,
          status: 101,
          command: undefined,
          idleClosed: true,
          ending: 'fatal',
          errorCode: 'SIS.0304',
          closedBy: 'server',
          closeCode: 1000,
        });
        expect(emulator.stats).to.include({ idleClosed: 1, fatalErrorsSent: 1, sessionsStarted: 0 });
      });

      it('counts the idle time from the handshake answer, not from the upgrade request', async () => {
        const { emulator } = await sis.start({ idleTimeoutMs: 100, handshakeDelayMs: 100 });
        const connectAt = performance.now();
        const client = await connect(emulator);
        await client.untilType('FATAL_ERROR');
        // 100 ms of handshake, then 100 ms of idle time (counted from the request, it would come with the 101).
        expect(performance.now() - connectAt).to.be.at.least(198);
        await client.closed;
      });

      it('leaves a connection that sent START before it alone', async () => {
        const { emulator } = await sis.start({ idleTimeoutMs: 2_000 });
        const client = await connect(emulator);
        client.send(api === 'streaming' ? { ...START, text_pieces: 'ONLY', text: '你好。' } : command({ text: '你好。' }));
        await client.untilType('END');
        await client.closed;
        await emulator.idle();
        expect(emulator.sessions[0]).to.include({ idleClosed: false, ending: 'end-normal', closedBy: 'client' });
        expect(emulator.stats.idleClosed).to.equal(0);
      });
    });
  }

  it('streaming: strikes again when no new START follows an ERROR, and records it', async () => {
    const { emulator } = await sis.start({ idleTimeoutMs: 30, textTimeoutMs: 0 });
    const client = await TestClient.connect(emulator, { path: streamingPath(emulator) });
    client.send(START).send(START);
    await client.closed;
    expect(shape(client.frames)).to.deep.equal(['START', 'ERROR', 'FATAL_ERROR']);
    await emulator.idle();
    expect(emulator.sessions[0]).to.include({ idleClosed: true, ending: 'fatal', errorCode: 'SIS.0304', closedBy: 'server' });
  });

  it('does not strike a connection the client is closing already (its close frame in, the TCP close not yet)', async () => {
    const { emulator } = await sis.start({ idleTimeoutMs: 200 });
    const closing = await halfClosed(emulator.port, emulator.token);
    try {
      // A second connection's idle close is due after the first one's: once it came, the first timer has run.
      const later = await TestClient.connect(emulator);
      await later.untilType('FATAL_ERROR');
      expect(emulator.sessions[0]).to.include({ idleClosed: false, textFrames: 0, closedBy: undefined });
    } finally {
      closing.destroy();
    }
    await emulator.idle();
    expect(emulator.sessions.map((record) => record.idleClosed)).to.deep.equal([false, true]);
    expect(emulator.stats.idleClosed).to.equal(1);
  });
});

/**
 * A raw client that opens a real-time connection, sends a close frame and never closes its side of
 * the TCP connection: the server's WebSocket stays CLOSING. Resolves once the server's close frame came.
 */
const halfClosed = (port: number, token: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(
        [
          'GET /v1/emulator-project/rtts HTTP/1.1',
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13',
          `X-Auth-Token: ${token}`,
          '',
          '',
        ].join('\r\n'),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      const before = received.length;
      received = Buffer.concat([received, chunk]);
      const head = received.indexOf('\r\n\r\n');
      if (head < 0) return;
      const frames = received.subarray(head + 4);
      // A masked close frame, code 1000, sent once the 101 is in.
      if (before <= head + 4 && received.subarray(0, 12).toString() === 'HTTP/1.1 101') socket.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
      if (frames[0] === 0x88) resolve(socket);
      else if (frames.length > 0) reject(new Error(`expected the server's close frame, got a frame of opcode ${frames[0]}`));
    });
  });
