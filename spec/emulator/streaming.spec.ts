import { expect } from 'chai';
import { WebSocket } from 'ws';
import { SisConfigError } from '../../lib/errors.js';
import {
  startEmulator,
  synthesizeStreamingAudio,
  type EmulatedApi,
  type Emulator,
  type EmulatorOptions,
  type Fault,
  type FaultPoint,
  type SessionFault,
  type StreamingSessionRecord,
} from '../../lib/emulator/index.js';
import type { EndCommand, MsgCommand, StreamingConfig, StreamingStartCommand } from '../../lib/protocol/streaming.js';
import {
  audioOf,
  command,
  converse,
  handshake,
  rttsUrl,
  shape,
  streamingPath,
  TestClient,
  textFrames,
  typeOf,
  type ClientOptions,
  type Frame,
} from './helpers.js';

const CONFIG: StreamingConfig = { voice_name: 'chinese_huaxiaoli_common' };
const START: StreamingStartCommand = { command: 'START', config: CONFIG };
const END: EndCommand = { command: 'END' };
const msg = (text: string): MsgCommand => ({ command: 'MSG', text });
/** Any JSON value as a text frame, for commands the types would not allow. */
const raw = (value: unknown): string => JSON.stringify(value);

/** What the emulator streams for these sentences, one after the other. */
const audioFor = (sentences: readonly string[], config: StreamingConfig = CONFIG): Buffer =>
  Buffer.concat(sentences.map((sentence) => Buffer.from(synthesizeStreamingAudio(config, sentence))));

const codeOf = (frames: readonly Frame[], respType: string, index = 0): unknown => textFrames(frames, respType)[index]?.['error_code'];

/** Frame types with every binary frame counted: `['START', 'binary×2', 'ERROR']`. */
const counted = (frames: readonly Frame[]): string[] =>
  frames.map(typeOf).reduce<string[]>((acc, type) => {
    const last = acc[acc.length - 1];
    if (type === 'binary' && last?.startsWith('binary×') === true) acc[acc.length - 1] = `binary×${Number(last.slice(7)) + 1}`;
    else acc.push(type === 'binary' ? 'binary×1' : type);
    return acc;
  }, []);

describe('emulator streaming synthesis', () => {
  let emulator: Emulator;
  let clients: TestClient[] = [];
  const start = async (options: EmulatorOptions = {}): Promise<Emulator> => {
    emulator = await startEmulator({ port: 0, ...options });
    return emulator;
  };
  const connect = async (options: ClientOptions = {}): Promise<TestClient> => {
    const client = await TestClient.connect(emulator, { path: streamingPath(emulator), ...options });
    clients.push(client);
    return client;
  };
  const record = (index = 0): StreamingSessionRecord => {
    const found = emulator.sessions[index];
    if (found?.api !== 'streaming') throw new Error(`session ${index} is not a streaming session`);
    return found;
  };
  const untilAudio = (client: TestClient, bytes: number): Promise<Frame> => client.until(() => audioOf(client.frames).length >= bytes);

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.close()));
    clients = [];
    await emulator.idle();
    expect(emulator.openConnections()).to.equal(0);
    await emulator.close();
  });

  describe('a MULTI session', () => {
    it('speaks each sentence as soon as it is complete, and the unpunctuated tail only at END', async () => {
      await start({ streamingTotalLimit: 50 });
      const client = await connect();
      client.send(START);
      const startFrame = await client.untilType('START');
      client.send(msg('你好，')).send(msg('世界。Hello'));
      const first = audioFor(['你好，世界。']);
      await untilAudio(client, first.length);
      // An EVENT answers at once: had 'Hello world' been spoken, its audio would have come before it.
      client.send(msg(' world')).send(msg('x'.repeat(51)));
      await client.untilType('EVENT');
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'EVENT']);
      expect(audioOf(client.frames).equals(first)).to.equal(true);
      client.send(END);
      const closed = await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'EVENT', 'binary…', 'END']);
      expect(audioOf(client.frames).equals(audioFor(['你好，世界。', 'Hello world']))).to.equal(true);
      const traceId = startFrame.kind === 'text' ? startFrame.json?.['trace_id'] : undefined;
      expect(String(traceId)).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(textFrames(client.frames, 'END')[0]).to.deep.equal({ resp_type: 'END', trace_id: traceId, reason: 'NORMAL' });
      expect(closed.code).to.equal(1000);
      await emulator.idle();
      expect(record()).to.deep.include({
        connection: 1,
        api: 'streaming',
        path: '/v1/emulator-project/vcs/voices/clone',
        status: 101,
        traceId,
        command: START,
        pieces: [
          { text: '你好，', accepted: true },
          { text: '世界。Hello', accepted: true },
          { text: ' world', accepted: true },
          { text: 'x'.repeat(51), accepted: false },
        ],
        sentences: ['你好，世界。', 'Hello world'],
        events: ['EXCEEDED_TOTAL_TEXT_LENGTH'],
        ending: 'end-normal',
        closedBy: 'client',
        audioBytes: audioOf(client.frames).length,
      });
      expect(emulator.stats).to.include({ connections: 1, sessionsStarted: 1, sessionsCompleted: 1, piecesReceived: 4, eventsSent: 1 });
    });

    it('speaks several sentences of one piece one after the other', async () => {
      await start();
      const client = await connect();
      client.send(START).send(msg('一。二！三？四')).send(END);
      await client.closed;
      expect(audioOf(client.frames).equals(audioFor(['一。', '二！', '三？', '四']))).to.equal(true);
      expect(record().sentences).to.deep.equal(['一。', '二！', '三？', '四']);
    });

    it('ends with END/NORMAL and no audio when no text came', async () => {
      await start();
      const client = await connect();
      client.send(START).send(END);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'END']);
      expect(record()).to.include({ ending: 'end-normal', audioBytes: 0 });
    });

    it('streams PCM and MP3 at 8, 16 and 24 kHz', async () => {
      await start();
      for (const audio_format of ['pcm', 'mp3'] as const) {
        for (const sample_rate of ['8kHz', '16kHz', '24kHz'] as const) {
          const config: StreamingConfig = { ...CONFIG, audio_format, sample_rate, speed: 100, pitch: -50, volume: 80 };
          const client = await connect();
          client.send({ command: 'START', config }).send(msg('你好。Hi')).send(END);
          await client.closed;
          expect(audioOf(client.frames).equals(audioFor(['你好。', 'Hi'], config)), `${audio_format} ${sample_rate}`).to.equal(true);
        }
      }
    });

    it('closes the connection itself when the client does not close after END', async () => {
      await start({ closeGraceMs: 20 });
      const client = await connect({ closeOnEnd: false });
      client.send(START).send(msg('好。')).send(END);
      const closed = await client.closed;
      expect(closed.code).to.equal(1000);
      await emulator.idle();
      expect(record()).to.include({ ending: 'end-normal', closedBy: 'server' });
    });

    it('answers any command after END with EVENT VCS_END and ignores it', async () => {
      await start();
      const client = await connect({ closeOnEnd: false });
      client.send(START).send(msg('好。')).send(END);
      await client.untilType('END');
      client.send(msg('more.')).send(END).send(START).send('not json');
      await client.until(() => textFrames(client.frames, 'EVENT').length === 4);
      await client.close();
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'END', 'EVENT', 'EVENT', 'EVENT', 'EVENT']);
      const [event] = textFrames(client.frames, 'EVENT');
      expect(event).to.have.keys(['resp_type', 'trace_id', 'event', 'time_stamp']);
      expect(event).to.include({ event: 'VCS_END', trace_id: record().traceId });
      expect(record()).to.deep.include({ events: ['VCS_END', 'VCS_END', 'VCS_END', 'VCS_END'], sentences: ['好。'], ending: 'end-normal' });
      expect(record().pieces).to.deep.equal([
        { text: '好。', accepted: true },
        { text: 'more.', accepted: false },
      ]);
    });
  });

  describe('an ONLY session', () => {
    it('speaks the text of START, then sends END/NORMAL', async () => {
      await start();
      const client = await connect();
      const only: StreamingStartCommand = { ...START, text_pieces: 'ONLY', text: '你好。世界' };
      client.send(only);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'END']);
      expect(audioOf(client.frames).equals(audioFor(['你好。', '世界']))).to.equal(true);
      expect(record()).to.deep.include({ command: only, pieces: [], sentences: ['你好。', '世界'], ending: 'end-normal' });
    });

    it('counts the 300 characters of a piece in code points', async () => {
      await start();
      const client = await connect();
      client.send({ ...START, text_pieces: 'ONLY', text: '😀'.repeat(300) });
      await client.closed;
      expect(textFrames(client.frames, 'END')[0]?.['reason']).to.equal('NORMAL');
    });
  });

  describe('errors', () => {
    const cases: [string, (string | Buffer)[], string, string[]][] = [
      ['invalid JSON', ['{"command": "START", '], 'SIS.0032', []],
      ['a JSON array', ['[1, 2]'], 'SIS.0032', []],
      ['binary data', [Buffer.from([1, 2, 3])], 'SIS.0032', []],
      ['no command', [raw({ config: CONFIG })], 'SIS.0012', []],
      ['an unknown command', [raw({ command: 'STOP' })], 'SIS.0031', []],
      ['START without config', [raw({ command: 'START' })], 'SIS.0012', []],
      ['START without voice_name', [raw({ command: 'START', config: {} })], 'SIS.0012', []],
      ['an unknown text_pieces', [raw({ ...START, text_pieces: 'SOME' })], 'SIS.0032', []],
      ['a real-time audio_format', [raw({ ...START, config: { ...CONFIG, audio_format: 'alaw' } })], 'SIS.0410', []],
      ['a real-time sample_rate spelling', [raw({ ...START, config: { ...CONFIG, sample_rate: '16000' } })], 'SIS.0402', []],
      ['a voice that is not a preset', [raw({ ...START, config: { voice_name: 'chinese_xiaoyan_common' } })], 'SIS.0411', []],
      ['a malformed voice', [raw({ ...START, config: { voice_name: 'My Voice' } })], 'SIS.0411', []],
      ['speed over 500', [raw({ ...START, config: { ...CONFIG, speed: 501 } })], 'SIS.0032', []],
      ['pitch under -500', [raw({ ...START, config: { ...CONFIG, pitch: -501 } })], 'SIS.0032', []],
      ['volume over 100', [raw({ ...START, config: { ...CONFIG, volume: 101 } })], 'SIS.0032', []],
      ['a fractional volume', [raw({ ...START, config: { ...CONFIG, volume: 50.5 } })], 'SIS.0032', []],
      ['a text in a MULTI START', [raw({ ...START, text: '你好' })], 'SIS.0032', []],
      ['an ONLY START without text', [raw({ ...START, text_pieces: 'ONLY' })], 'SIS.0012', []],
      ['an ONLY text over 300 characters', [raw({ ...START, text_pieces: 'ONLY', text: '😀'.repeat(301) })], 'SIS.0403', []],
      ['MSG before START', [raw(msg('好。'))], 'SIS.0031', []],
      ['END before START', [raw(END)], 'SIS.0031', []],
      ['START twice', [raw(START), raw(START)], 'SIS.0031', ['START']],
      ['a MSG without text', [raw(START), raw({ command: 'MSG' })], 'SIS.0012', ['START']],
      ['a MSG text that is not a string', [raw(START), raw({ command: 'MSG', text: 42 })], 'SIS.0032', ['START']],
      ['a MSG over 300 characters', [raw(START), raw(msg('😀'.repeat(301)))], 'SIS.0403', ['START']],
    ];
    for (const [what, messages, code, before] of cases) {
      it(`answers ${what} with ERROR ${code}, and a new START works on the same socket`, async () => {
        await start();
        const client = await connect();
        for (const message of messages) client.send(message);
        await client.untilType('ERROR');
        expect(shape(client.frames)).to.deep.equal([...before, 'ERROR']);
        const [error] = textFrames(client.frames, 'ERROR');
        expect(error?.['error_code']).to.equal(code);
        expect(error?.['error_msg']).to.be.a('string').and.not.equal('');
        expect(error?.['trace_id']).to.equal(record().traceId);
        expect(record()).to.include({ ending: 'error', errorCode: code });
        client.send(START).send(msg('好。')).send(END);
        await client.closed;
        expect(shape(client.frames)).to.deep.equal([...before, 'ERROR', 'START', 'binary…', 'END']);
        expect(audioOf(client.frames).equals(audioFor(['好。']))).to.equal(true);
        await emulator.idle();
        expect(record()).to.include({ ending: 'end-normal', errorCode: code });
      });
    }

    it('drops the text not yet synthesised on ERROR: only the new START’s text follows', async () => {
      await start();
      const client = await connect();
      client.send(START).send(msg('一。')).send(msg('Hello'));
      await untilAudio(client, audioFor(['一。']).length);
      client.send(msg('😀'.repeat(301)));
      await client.untilType('ERROR');
      client.send(START).send(msg('二。')).send(END);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'ERROR', 'START', 'binary…', 'END']);
      expect(audioOf(client.frames).equals(audioFor(['一。', '二。']))).to.equal(true);
      expect(record()).to.deep.include({
        sentences: ['一。', '二。'],
        pieces: [
          { text: '一。', accepted: true },
          { text: 'Hello', accepted: true },
          { text: '😀'.repeat(301), accepted: false },
          { text: '二。', accepted: true },
        ],
      });
    });

    it("accepts any well-formed voice with voices: 'any' (registered voices)", async () => {
      await start({ voices: 'any' });
      const client = await connect();
      client
        .send({ command: 'START', config: { voice_name: 'my_cloned_voice_01' } })
        .send(msg('好。'))
        .send(END);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'END']);
    });

    it('answers a START over maxConcurrentSessions with ERROR SIS.0312, counting both APIs', async () => {
      await start({ maxConcurrentSessions: 1, faultOnStart: () => ({ kind: 'stall', at: 'after-start' }) });
      const holder = await TestClient.connect(emulator);
      clients.push(holder);
      holder.send(command({ text: 'hold' }));
      await holder.untilType('START');
      const client = await connect();
      client.send(START);
      await client.untilType('ERROR');
      expect(codeOf(client.frames, 'ERROR')).to.equal('SIS.0312');
      await Promise.all([client.close(), holder.close()]);
      await emulator.idle();
      const again = await connect();
      again.send(START).send(END);
      await again.closed;
      expect(shape(again.frames)).to.deep.equal(['START', 'END']);
    });
  });

  describe('the total text limit', () => {
    it('ignores a MSG that would pass 100,000 characters with EVENT EXCEEDED_TOTAL_TEXT_LENGTH; the session goes on', async () => {
      await start();
      const client = await connect();
      client.send(START);
      for (let i = 0; i < 333; i++) client.send(msg('a'.repeat(300)));
      const before = Date.now();
      client
        .send(msg('b'.repeat(101)))
        .send(msg('c'.repeat(100)))
        .send(msg('d'));
      await client.until(() => textFrames(client.frames, 'EVENT').length === 2);
      const events = textFrames(client.frames, 'EVENT');
      expect(events.map((e) => e['event'])).to.deep.equal(['EXCEEDED_TOTAL_TEXT_LENGTH', 'EXCEEDED_TOTAL_TEXT_LENGTH']);
      expect(events[0]?.['trace_id']).to.equal(record().traceId);
      expect(events[0]?.['time_stamp']).to.be.a('number').within(before, Date.now());
      expect(record().pieces.slice(-3)).to.deep.equal([
        { text: 'b'.repeat(101), accepted: false },
        { text: 'c'.repeat(100), accepted: true },
        { text: 'd', accepted: false },
      ]);
      expect(shape(client.frames)).to.deep.equal(['START', 'EVENT', 'EVENT']);
    });
  });

  describe('timeouts', () => {
    it('sends FATAL_ERROR SIS.0416 when no MSG or END comes for textTimeoutMs, then closes', async () => {
      await start({ textTimeoutMs: 30 });
      const client = await connect();
      client.send(START).send(msg('好。'));
      const closed = await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'FATAL_ERROR']);
      expect(textFrames(client.frames, 'FATAL_ERROR')[0]).to.deep.equal({
        resp_type: 'FATAL_ERROR',
        trace_id: record().traceId,
        error_code: 'SIS.0416',
        error_msg: 'vcs wait text time out',
      });
      expect(closed.code).to.equal(1000);
      await emulator.idle();
      expect(record()).to.include({ ending: 'fatal', errorCode: 'SIS.0416', closedBy: 'server' });
    });

    it('sends FATAL_ERROR SIS.0304 when no START comes for idleTimeoutMs, as real-time synthesis does', async () => {
      await start({ idleTimeoutMs: 30 });
      const client = await connect();
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['FATAL_ERROR']);
      expect(codeOf(client.frames, 'FATAL_ERROR')).to.equal('SIS.0304');
    });

    it('waits for a new START with the idle timeout after an ERROR', async () => {
      await start({ idleTimeoutMs: 30, textTimeoutMs: 0 });
      const client = await connect();
      client.send(START).send(START);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'ERROR', 'FATAL_ERROR']);
      expect(codeOf(client.frames, 'FATAL_ERROR')).to.equal('SIS.0304');
    });
  });

  describe('faults', () => {
    // 8 kHz PCM in frames of 640 bytes: '你好。' is 560 ms, 8,960 bytes, 14 frames.
    const CONFIG_8K: StreamingConfig = { ...CONFIG, sample_rate: '8kHz' };
    const START_8K: StreamingStartCommand = { command: 'START', config: CONFIG_8K };
    const FRAMES = 14;
    const faulty = (options: EmulatorOptions = {}): Promise<Emulator> => start({ frameBytes: 640, ...options });
    /** START, one sentence, END; resolves when the socket is closed or `until` holds. */
    const run = async (fault: Fault, until?: (client: TestClient) => Promise<unknown>): Promise<TestClient> => {
      emulator.injectNext(fault);
      const client = await connect();
      client.send(START_8K).send(msg('你好。')).send(END);
      if (until !== undefined) {
        await until(client);
        return client;
      }
      await client.closed;
      await emulator.idle();
      return client;
    };

    const points: [FaultPoint, string[]][] = [
      ['before-start', []],
      ['after-start', ['START']],
      [{ afterPieces: 0 }, ['START']],
      [{ afterPieces: 1 }, ['START']],
      [{ afterFrames: 0 }, ['START']],
      [{ afterFrames: 3 }, ['START', 'binary×3']],
      ['before-end', ['START', `binary×${FRAMES}`]],
      [{ afterFrames: 99 }, ['START', `binary×${FRAMES}`]],
      [{ afterPieces: 2 }, ['START', `binary×${FRAMES}`]],
    ];
    for (const [at, before] of points) {
      describe(`at ${JSON.stringify(at)}`, () => {
        it('error: sends ERROR alone and the session is back in its initial state', async () => {
          await faulty();
          const client = await run({ kind: 'error', at, errorCode: 'SIS.0413' }, (c) => c.untilType('ERROR'));
          expect(counted(client.frames).slice(0, before.length + 1)).to.deep.equal([...before, 'ERROR']);
          expect(codeOf(client.frames, 'ERROR')).to.equal('SIS.0413');
          // Commands still in flight reach a session that is back in its initial state: ERROR SIS.0031 each.
          expect(
            textFrames(client.frames, 'ERROR')
              .slice(1)
              .map((e) => e['error_code']),
          ).to.satisfy((codes: unknown[]) => codes.every((c) => c === 'SIS.0031'));
          await client.close();
          await emulator.idle();
          expect(record().ending).to.equal('error');
        });

        it('fatal: sends FATAL_ERROR, then the server closes and hears nothing more', async () => {
          await faulty();
          const client = await run({ kind: 'fatal', at });
          expect(counted(client.frames)).to.deep.equal([...before, 'FATAL_ERROR']);
          expect(textFrames(client.frames, 'FATAL_ERROR')[0]).to.include({ error_code: 'SIS.0413', trace_id: record().traceId });
          expect(record()).to.include({ ending: 'fatal', closedBy: 'server' });
        });

        it('drop: closes with 1011', async () => {
          await faulty();
          const client = await run({ kind: 'drop', at });
          expect(counted(client.frames)).to.deep.equal(before);
          expect((await client.closed).code).to.equal(1011);
          expect(record()).to.include({ ending: 'dropped', closedBy: 'server' });
        });

        it('end-error: sends END/ERROR, and the session is over', async () => {
          await faulty();
          const client = await run({ kind: 'end-error', at }, (c) => c.untilType('END'));
          expect(counted(client.frames).slice(0, before.length + 1)).to.deep.equal([...before, 'END']);
          expect(textFrames(client.frames, 'END')[0]?.['reason']).to.equal('ERROR');
          await client.closed;
          await emulator.idle();
          expect(record().ending).to.equal('end-error');
        });
      });
    }

    it('error at { afterPieces: n } strikes before the n-th piece is spoken', async () => {
      await faulty();
      emulator.injectNext({ kind: 'error', at: { afterPieces: 2 }, errorCode: 'SIS.0401' });
      const client = await connect();
      client.send(START_8K).send(msg('一。')).send(msg('二。'));
      await client.untilType('ERROR');
      client.send(START_8K).send(msg('三。')).send(END);
      await client.closed;
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'ERROR', 'START', 'binary…', 'END']);
      expect(audioOf(client.frames).equals(audioFor(['一。', '三。'], CONFIG_8K))).to.equal(true);
      expect(record()).to.deep.include({
        sentences: ['一。', '三。'],
        fault: { kind: 'error', at: { afterPieces: 2 }, errorCode: 'SIS.0401' },
        ending: 'end-normal',
      });
    });

    it('stall at { afterPieces: 1 }: sends nothing more and ignores the client until it closes', async () => {
      await faulty({ closeGraceMs: 1 });
      emulator.injectNext({ kind: 'stall', at: { afterPieces: 1 } });
      const client = await connect();
      client.send(START_8K).send(msg('你好。')).send(END);
      await client.untilType('START');
      // A whole second session takes longer than any answer to the first one would.
      const other = await connect();
      other.send(START_8K).send(msg('好。')).send(END);
      await other.closed;
      await client.close();
      expect(shape(client.frames)).to.deep.equal(['START']);
      await emulator.idle();
      expect(record(0)).to.include({ ending: 'stalled', closedBy: 'client' });
    });

    it('unknown-type at { afterPieces: 1 }: a NOTICE frame, and the session goes on', async () => {
      await faulty();
      const client = await run({ kind: 'unknown-type', at: { afterPieces: 1 } });
      expect(counted(client.frames)).to.deep.equal(['START', 'NOTICE', `binary×${FRAMES}`, 'END']);
      expect(textFrames(client.frames, 'NOTICE')[0]).to.deep.equal({ resp_type: 'NOTICE', trace_id: record().traceId });
      expect(record().ending).to.equal('end-normal');
    });

    it('flood at { afterPieces: 1 }: extra frames before the piece’s audio', async () => {
      await faulty();
      const client = await run({ kind: 'flood', at: { afterPieces: 1 }, frames: 5, bytes: 10 });
      const sizes = client.frames.flatMap((f) => (f.kind === 'binary' ? [f.data.length] : []));
      expect(sizes.slice(0, 6)).to.deep.equal([10, 10, 10, 10, 10, 640]);
      expect(sizes).to.have.length(FRAMES + 5);
    });

    it('trickle at { afterPieces: 1 }: the next frame due arrives a few bytes at a time, then the session goes on', async () => {
      await faulty();
      const client = await run({ kind: 'trickle', at: { afterPieces: 1 }, intervalMs: 1, bytesPerTick: 100 });
      expect(counted(client.frames)).to.deep.equal(['START', `binary×${FRAMES}`, 'END']);
      expect(audioOf(client.frames).equals(audioFor(['你好。'], CONFIG_8K))).to.equal(true);
    });

    it('out-of-order: START twice, or a frame of silence before START', async () => {
      await faulty();
      const twice = await run({ kind: 'out-of-order', what: 'duplicate-start' });
      expect(counted(twice.frames)).to.deep.equal(['START', 'START', `binary×${FRAMES}`, 'END']);
      const early = await run({ kind: 'out-of-order', what: 'audio-before-start' });
      expect(counted(early.frames)).to.deep.equal(['binary×1', 'START', `binary×${FRAMES}`, 'END']);
      expect(early.frames[0]?.kind === 'binary' && early.frames[0].data.equals(Buffer.alloc(640))).to.equal(true);
    });

    it('reject-handshake and silent apply to the streaming path', async () => {
      await faulty();
      emulator.injectNext({ kind: 'reject-handshake', status: 503 });
      const answer = await handshake(`${emulator.url}${streamingPath(emulator)}`, { 'X-Auth-Token': emulator.token });
      expect(answer.status).to.equal(503);
      emulator.injectNext({ kind: 'silent' });
      const client = await connect();
      client.send(START_8K);
      await client.close();
      expect(client.frames).to.deep.equal([]);
      await emulator.idle();
      expect(record(0)).to.include({ ending: 'rejected', status: 503 });
      expect(record(1)).to.include({ ending: 'silent' });
    });

    it('tells the APIs apart in the fault context, and picks a streaming fault by the START command', async () => {
      const apis: EmulatedApi[] = [];
      await faulty({
        fault: (context) => {
          apis.push(context.api);
          return undefined;
        },
        faultOnStreamingStart: (start, context) =>
          start.config.voice_name === 'chinese_huaxiaozhi_common' && context.api === 'streaming'
            ? { kind: 'error', at: { afterPieces: 1 }, errorCode: 'SIS.0401' }
            : undefined,
      });
      await converse(emulator, command({ text: '好' }));
      const [ok, failing] = await Promise.all([connect(), connect()]);
      ok.send(START_8K).send(msg('好。')).send(END);
      failing.send({ command: 'START', config: { ...CONFIG_8K, voice_name: 'chinese_huaxiaozhi_common' } }).send(msg('好。'));
      await Promise.all([ok.closed, failing.untilType('ERROR')]);
      expect(apis).to.deep.equal(['realtime', 'streaming', 'streaming']);
      expect(shape(ok.frames)).to.deep.equal(['START', 'binary…', 'END']);
      expect(shape(failing.frames)).to.deep.equal(['START', 'ERROR']);
      expect(emulator.stats.faultsApplied).to.equal(1);
    });

    it('answers ERROR SIS.0001 when faultOnStreamingStart returns an invalid fault', async () => {
      await faulty({ faultOnStreamingStart: () => ({ kind: 'silent' }) as unknown as SessionFault });
      const client = await connect();
      client.send(START_8K);
      await client.untilType('ERROR');
      expect(codeOf(client.frames, 'ERROR')).to.equal('SIS.0001');
    });

    it('rejects an invalid { afterPieces } point with SisConfigError', async () => {
      await faulty();
      expect(() => emulator.injectNext({ kind: 'error', at: { afterPieces: -1 } })).to.throw(SisConfigError, /afterPieces/);
      expect(() => emulator.injectNext({ kind: 'error', at: { afterPieces: 1, afterFrames: 1 } as unknown as FaultPoint })).to.throw(SisConfigError);
    });
  });

  describe('timing', () => {
    /** Arrival time of every frame the client receives from now on. */
    const arrivals = (client: TestClient): number[] => {
      const times: number[] = [];
      client.ws.on('message', () => times.push(performance.now()));
      return times;
    };

    it('waits the think time (firstAudioDelayMs) between a sentence’s completion and its first audio', async () => {
      await start({ firstAudioDelayMs: 40 });
      const client = await connect();
      client.send(START);
      await client.untilType('START');
      for (const [i, sentence] of ['一。', '二。'].entries()) {
        const sent = performance.now();
        client.send(msg(sentence));
        await untilAudio(client, audioFor(['一。', '二。'].slice(0, i + 1)).length);
        expect(performance.now() - sent, sentence).to.be.at.least(39);
      }
    });

    it('paces the audio of consecutive sentences in real time with realtimeFactor', async () => {
      await start({ realtimeFactor: 8, frameBytes: 640 });
      const client = await connect();
      const times = arrivals(client);
      const sent = performance.now();
      client
        .send({ command: 'START', config: { ...CONFIG, sample_rate: '8kHz' } })
        .send(msg('你好。世界。'))
        .send(END);
      await client.closed;
      const binary = client.frames.flatMap((frame, i) => (frame.kind === 'binary' ? [times[i] ?? 0] : []));
      // Two sentences of 560 ms each in frames of 40 ms: the last frame starts at 1,080 ms of audio, 135 ms at 8×.
      expect((binary[binary.length - 1] ?? 0) - sent).to.be.at.least(134);
      expect(audioOf(client.frames).equals(audioFor(['你好。', '世界。'], { ...CONFIG, sample_rate: '8kHz' }))).to.equal(true);
    });

    it('delays every handshake answer by handshakeDelayMs, on both paths, rejections too', async () => {
      await start({ handshakeDelayMs: 40 });
      for (const [url, token, status] of [
        [rttsUrl(emulator), emulator.token, 101],
        [`${emulator.url}${streamingPath(emulator)}`, emulator.token, 101],
        [`${emulator.url}${streamingPath(emulator)}`, 'wrong-token', 401],
      ] as const) {
        const began = performance.now();
        const answer = await handshake(url, { 'X-Auth-Token': token });
        expect(answer.status).to.equal(status);
        expect(performance.now() - began, `${url} ${status}`).to.be.at.least(39);
      }
      await emulator.idle();
      expect(emulator.sessions.map((s) => [s.api, s.status])).to.deep.equal([
        ['realtime', 101],
        ['streaming', 101],
        ['streaming', 401],
      ]);
    });

    it('answers nothing to a client that gives up during the handshake delay, and leaves nothing open', async () => {
      let reached: () => void = () => undefined;
      const upgradeSeen = new Promise<void>((resolve) => {
        reached = resolve;
      });
      await start({
        handshakeDelayMs: 60_000,
        fault: () => {
          reached();
          return undefined;
        },
      });
      const ws = new WebSocket(`${emulator.url}${streamingPath(emulator)}`, { headers: { 'X-Auth-Token': emulator.token } });
      const failed = new Promise((resolve) => ws.once('error', resolve));
      await upgradeSeen;
      ws.terminate();
      await failed;
      await emulator.idle();
      expect(record()).to.include({ status: undefined, ending: 'client-closed' });
    });
  });

  describe('routes and records', () => {
    it('serves both APIs on one port and records the API of each connection', async () => {
      await start({ projectId: 'p1' });
      await converse(emulator, command({ text: '好' }));
      const client = await connect();
      client.send(START).send(END);
      await client.closed;
      const wrongProject = await handshake(`${emulator.url}/v1/p2/vcs/voices/clone`, { 'X-Auth-Token': emulator.token });
      const wrongPath = await handshake(`${emulator.url}/v1/p1/vcs/voices`, { 'X-Auth-Token': emulator.token });
      expect([wrongProject.status, wrongPath.status]).to.deep.equal([404, 404]);
      await emulator.idle();
      expect(emulator.sessions.map((s) => [s.api, s.status, s.ending])).to.deep.equal([
        ['realtime', 101, 'end-normal'],
        ['streaming', 101, 'end-normal'],
        ['streaming', 404, 'rejected'],
        ['realtime', 404, 'rejected'],
      ]);
    });

    it('requires the same authentication as real-time synthesis', async () => {
      await start();
      const answer = await handshake(`${emulator.url}${streamingPath(emulator)}`, {});
      expect(answer.status).to.equal(401);
      expect(answer.body).to.include({ error_code: 'APIG.0301' });
    });
  });

  describe('options', () => {
    for (const [key, value] of [
      ['textTimeoutMs', -1],
      ['handshakeDelayMs', 'soon'],
      ['streamingPieceLimit', 0],
      ['streamingTotalLimit', 1.5],
      ['faultOnStreamingStart', { kind: 'stall' }],
    ] as const) {
      it(`rejects ${key}: ${JSON.stringify(value)} with SisConfigError at ${key}`, async () => {
        await start();
        let error: unknown;
        try {
          await (await startEmulator({ port: 0, [key]: value } as EmulatorOptions)).close();
        } catch (rejection) {
          error = rejection;
        }
        expect(error).to.be.instanceOf(SisConfigError);
        expect((error as SisConfigError).problems.map((p) => p.path)).to.deep.equal([key]);
      });
    }

    it('makes the piece limit configurable', async () => {
      await start({ streamingPieceLimit: 3 });
      const client = await connect();
      client.send(START).send(msg('abc')).send(msg('abcd'));
      await client.untilType('ERROR');
      expect(codeOf(client.frames, 'ERROR')).to.equal('SIS.0403');
      expect(record().pieces.map((p) => p.accepted)).to.deep.equal([true, false]);
    });
  });
});
