/**
 * How a connection closes: the record keeps the code each side sent, and a client that never answers
 * the server's close frame (as Huawei's Python SDK does after FATAL_ERROR or a drop) is cut off after
 * the library client's own close wait, not ws's 30 s.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { lastValueFrom } from 'rxjs';
import type { Emulator, Fault } from '../../lib/emulator/index.js';
import { CLOSE_HANDSHAKE_TIMEOUT_MS } from '../../lib/transport/ws-factory.js';
import { command, streamingPath, TestClient } from './helpers.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

/** A client frame (masked, final) of `opcode` 1 (text) or 8 (close). */
const clientFrame = (opcode: 1 | 8, payload: Buffer): Buffer => {
  const mask = randomBytes(4);
  const length = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from([0x80 | opcode]), length, mask, masked]);
};

/** Whether the server's (unmasked) frames after the 101 include a close frame. */
const hasCloseFrame = (frames: Buffer): boolean => {
  let at = 0;
  while (at + 2 <= frames.length) {
    const opcode = (frames[at] ?? 0) & 0x0f;
    const short = (frames[at + 1] ?? 0) & 0x7f;
    const [header, length] = short === 126 ? [4, frames.readUInt16BE(at + 2)] : short === 127 ? [10, Number(frames.readBigUInt64BE(at + 2))] : [2, short];
    if (opcode === 8) return true;
    at += header + length;
  }
  return false;
};

/**
 * A WebSocket client by hand, over TCP: it opens the connection and sends what it is told. Given
 * `answerClose`, it answers the server's close frame with that code, whatever the server's was (as the
 * websocket-client package under Huawei's Python SDK does with 1000); without, it answers nothing and
 * keeps its end of the TCP connection open until the server's goes.
 */
class RawClient {
  private received = Buffer.alloc(0);
  private bodyAt: number | undefined;
  private answered = false;
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    answerClose: number | undefined,
  ) {
    this.closed = once(socket, 'close').then(() => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      if (this.bodyAt === undefined && this.received.includes('\r\n\r\n')) this.bodyAt = this.received.indexOf('\r\n\r\n') + 4;
      if (answerClose === undefined || this.answered || this.bodyAt === undefined || !hasCloseFrame(this.received.subarray(this.bodyAt))) return;
      this.answered = true;
      const code = Buffer.alloc(2);
      code.writeUInt16BE(answerClose);
      socket.write(clientFrame(8, code));
    });
    socket.on('error', () => undefined);
  }

  static async open(emulator: Emulator, path: string, options: { answerClose?: number } = {}): Promise<RawClient> {
    const socket = connect(emulator.port, '127.0.0.1');
    const client = new RawClient(socket, options.answerClose);
    await once(socket, 'connect');
    socket.write(
      [
        `GET ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${emulator.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        `X-Auth-Token: ${emulator.token}`,
        '',
        '',
      ].join('\r\n'),
    );
    while (client.bodyAt === undefined) await once(socket, 'data');
    expect(client.received.toString('latin1')).to.match(/^HTTP\/1\.1 101 /);
    return client;
  }

  send(message: object): void {
    this.socket.write(clientFrame(1, Buffer.from(JSON.stringify(message))));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

describe('emulator close', () => {
  const sis = useEmulator({ teardown: 'idle' });

  describe('records the close code each side sent', () => {
    it('keeps the 1011 of a drop the library client answered', async () => {
      const { emulator, client } = await sis.start();
      emulator.injectNext({ kind: 'drop', at: 'after-start', closeCode: 1011, closeReason: 'gone' });
      const error: unknown = await lastValueFrom(client.synthesize$({ text: '你好' })).catch((e: unknown) => e);
      expect(error).to.include({ closeCode: 1011 });
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'dropped', closedBy: 'server', closeCode: 1011, serverCloseCode: 1011 });
    });

    it("keeps the 1011 of a drop the client answered with 1000 (as Huawei's Python SDK does)", async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'drop', at: 'after-start', closeCode: 1011 });
      const client = await RawClient.open(emulator, `/v1/${emulator.projectId}/rtts`, { answerClose: 1000 });
      try {
        client.send(command({ text: '你好' }));
        await emulator.idle();
        expect(emulator.sessions[0]).to.include({ ending: 'dropped', closedBy: 'server', closeCode: 1011, serverCloseCode: 1011, clientCloseCode: 1000 });
      } finally {
        client.destroy();
      }
    });

    it('keeps the client code and its echo when the client closed', async () => {
      const { emulator } = await sis.start();
      const client = await TestClient.connect(emulator);
      await client.close(4001);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ closedBy: 'client', closeCode: 4001, clientCloseCode: 4001, serverCloseCode: 4001 });
    });

    it('records the server code and the client answer apart', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'drop', at: 'after-start', closeCode: 4000 });
      const client = await TestClient.connect(emulator);
      client.send(command({ text: '你好' }));
      expect((await client.closed).code).to.equal(4000);
      await emulator.idle();
      // ws answers a close frame with the same code.
      expect(emulator.sessions[0]).to.include({ closedBy: 'server', closeCode: 4000, serverCloseCode: 4000, clientCloseCode: 4000 });
    });

    it('records no code for a TCP reset', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'drop', at: 'after-start', how: 'reset' });
      const client = await TestClient.connect(emulator);
      client.send(command({ text: '你好' }));
      expect((await client.closed).code).to.equal(1006);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'reset', closedBy: 'server', closeCode: 1006, serverCloseCode: undefined, clientCloseCode: undefined });
    });
  });

  describe('a client that never answers the close frame', () => {
    const cases: readonly (readonly [string, 'realtime' | 'streaming', Fault, number])[] = [
      ['a drop (real-time)', 'realtime', { kind: 'drop', at: 'after-start', closeCode: 1011 }, 1011],
      ['FATAL_ERROR (real-time)', 'realtime', { kind: 'fatal', at: { afterFrames: 1 } }, 1000],
      ['a drop (streaming)', 'streaming', { kind: 'drop', at: 'after-start', closeCode: 4000 }, 4000],
      ['FATAL_ERROR (streaming)', 'streaming', { kind: 'fatal', at: 'after-start' }, 1000],
    ];
    for (const [name, api, fault, code] of cases) {
      it(`is cut off ${CLOSE_HANDSHAKE_TIMEOUT_MS} ms after ${name}, and idle() resolves then`, async function () {
        // ws's own wait is 30 s: well past this.
        this.timeout(CLOSE_HANDSHAKE_TIMEOUT_MS + 4_000);
        const { emulator } = await sis.start();
        emulator.injectNext(fault);
        const client = await RawClient.open(emulator, api === 'streaming' ? streamingPath(emulator) : `/v1/${emulator.projectId}/rtts`);
        try {
          const sentAt = performance.now();
          if (api === 'streaming') {
            client.send({ command: 'START', text_pieces: 'ONLY', text: '你好。', config: { voice_name: 'chinese_huaxiaoli_common' } });
          } else {
            client.send(command({ text: '你好' }));
          }
          await emulator.idle();
          expect(performance.now() - sentAt).to.be.within(CLOSE_HANDSHAKE_TIMEOUT_MS - 50, CLOSE_HANDSHAKE_TIMEOUT_MS + 2_000);
          await client.closed;
          expect(emulator.sessions[0]).to.include({ closedBy: 'server', closeCode: code, serverCloseCode: code, clientCloseCode: undefined });
        } finally {
          client.destroy();
        }
      });
    }
  });
});
