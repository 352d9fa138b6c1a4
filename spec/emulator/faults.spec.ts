import { expect } from 'chai';
import { SisConfigError } from '../../lib/errors.js';
import { synthesizeAudio, type Fault, type FaultContext, type FaultPoint, type SessionFault } from '../../lib/emulator/index.js';
import { audioOf, command, converse, handshake, rttsUrl, shape, TestClient, textFrames, typeOf } from './helpers.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

// 8 kHz PCM at 640 bytes per frame: '你好' is 6400 bytes, 10 frames.
const REQUEST = command({ text: '你好' });
const FRAMES = 10;
const AUDIO = synthesizeAudio(REQUEST).length;

describe('emulator faults', () => {
  const sis = useEmulator({ options: { frameBytes: 640 } });

  /** Frame types with every binary frame counted: `['START', 'binary×2', 'ERROR']`. */
  const counted = (types: string[]): string[] =>
    types.reduce<string[]>((acc, type) => {
      const last = acc[acc.length - 1];
      if (type === 'binary' && last?.startsWith('binary×') === true) acc[acc.length - 1] = `binary×${Number(last.slice(7)) + 1}`;
      else acc.push(type === 'binary' ? 'binary×1' : type);
      return acc;
    }, []);
  const run = async (fault: Fault): Promise<{ types: string[]; code: number; frames: Awaited<ReturnType<typeof converse>>['frames'] }> => {
    const { emulator } = sis;
    emulator.injectNext(fault);
    const { frames, closed } = await converse(emulator, REQUEST);
    await emulator.idle();
    return { types: counted(frames.map(typeOf)), code: closed.code, frames };
  };

  // What comes before each point, and the number of audio frames sent before it.
  const points: [FaultPoint, string[]][] = [
    ['before-start', []],
    ['after-start', ['START']],
    [{ afterFrames: 0 }, ['START']],
    [{ afterFrames: 3 }, ['START', 'binary×3']],
    ['before-end', ['START', `binary×${FRAMES}`]],
    [{ afterFrames: 99 }, ['START', `binary×${FRAMES}`]],
  ];

  for (const [at, before] of points) {
    const where = JSON.stringify(at);
    describe(`at ${where}`, () => {
      it('error: sends ERROR then END/ERROR, and the client closes', async () => {
        const { emulator } = await sis.start();
        const { types, frames } = await run({ kind: 'error', at, errorCode: 'SIS.0413', errorMsg: 'engine internal error' });
        expect(types).to.deep.equal([...before, 'ERROR', 'END']);
        expect(textFrames(frames, 'ERROR')[0]).to.deep.equal({
          resp_type: 'ERROR',
          trace_id: emulator.sessions[0]?.traceId,
          error_code: 'SIS.0413',
          error_msg: 'engine internal error',
        });
        expect(textFrames(frames, 'END')[0]?.['reason']).to.equal('ERROR');
        expect(emulator.sessions[0]).to.include({ ending: 'end-error', errorCode: 'SIS.0413', closedBy: 'client' });
      });

      it('fatal: sends FATAL_ERROR, then the server closes', async () => {
        const { emulator } = await sis.start();
        const { types, code, frames } = await run({ kind: 'fatal', at });
        expect(types).to.deep.equal([...before, 'FATAL_ERROR']);
        expect(textFrames(frames, 'FATAL_ERROR')[0]).to.include({ error_code: 'SIS.0413', trace_id: emulator.sessions[0]?.traceId });
        expect(code).to.equal(1000);
        expect(emulator.sessions[0]).to.include({ ending: 'fatal', closedBy: 'server' });
      });

      it('end-error: sends END/ERROR', async () => {
        const { emulator } = await sis.start();
        const { types, frames } = await run({ kind: 'end-error', at });
        expect(types).to.deep.equal([...before, 'END']);
        expect(textFrames(frames, 'END')[0]?.['reason']).to.equal('ERROR');
        expect(emulator.sessions[0]?.ending).to.equal('end-error');
      });

      it('drop: closes with 1011 by default, or the given code and reason', async () => {
        const { emulator } = await sis.start();
        const dropped = await run({ kind: 'drop', at });
        expect(dropped.types).to.deep.equal(before);
        expect(dropped.code).to.equal(1011);
        emulator.injectNext({ kind: 'drop', at, closeCode: 4001, closeReason: 'going away' });
        const client = await TestClient.connect(emulator);
        client.send(REQUEST);
        expect(await client.closed).to.deep.equal({ code: 4001, reason: 'going away' });
        await emulator.idle();
        expect(emulator.sessions[1]).to.include({ ending: 'dropped', closedBy: 'server', closeCode: 4001 });
      });

      it('drop with how: reset destroys the TCP connection without a close frame', async () => {
        const { emulator } = await sis.start();
        const { types, code } = await run({ kind: 'drop', at, how: 'reset' });
        expect(types).to.deep.equal(before);
        expect(code).to.equal(1006);
        expect(emulator.sessions[0]).to.include({ ending: 'reset', closedBy: 'server' });
      });

      it('malformed: sends a text frame that is not JSON, then nothing', async () => {
        const { emulator } = await sis.start();
        emulator.injectNext({ kind: 'malformed', at });
        const client = await TestClient.connect(emulator);
        client.send(REQUEST);
        await client.until((f) => typeOf(f) === 'malformed');
        await client.close();
        expect(counted(client.frames.map(typeOf))).to.deep.equal([...before, 'malformed']);
        const last = client.frames[client.frames.length - 1];
        expect(last?.kind === 'text' && last.raw).to.equal('{"resp_type":');
        await emulator.idle();
        expect(emulator.sessions[0]).to.include({ ending: 'malformed', closedBy: 'client' });
      });

      it('unknown-type: sends a well-formed frame of an unknown type and goes on', async () => {
        const { emulator } = await sis.start();
        const { types, frames } = await run({ kind: 'unknown-type', at, respType: 'EVENT' });
        const event = types.indexOf('EVENT');
        expect(types.slice(0, event)).to.deep.equal(before);
        expect(counted(frames.map(typeOf).filter((type) => type !== 'EVENT'))).to.deep.equal(['START', `binary×${FRAMES}`, 'END']);
        expect(audioOf(frames).length).to.equal(AUDIO);
        expect(textFrames(frames, 'EVENT')[0]).to.deep.equal({ resp_type: 'EVENT', trace_id: emulator.sessions[0]?.traceId });
        expect(emulator.sessions[0]?.ending).to.equal('end-normal');
      });

      it('stall: stops sending and keeps the socket open until the client closes', async () => {
        const { emulator } = await sis.start({ closeGraceMs: 1 });
        emulator.injectNext({ kind: 'stall', at });
        const client = await TestClient.connect(emulator);
        client.send(REQUEST);
        await client.untilCount(before.reduce((n, type) => n + (type.startsWith('binary×') ? Number(type.slice(7)) : 1), 0));
        // A whole second session takes longer than the close grace time, which a stall ignores.
        await converse(emulator, REQUEST);
        // Anything sent before the close would arrive before the close completes.
        await client.close();
        expect(counted(client.frames.map(typeOf))).to.deep.equal(before);
        await emulator.idle();
        expect(emulator.sessions[0]).to.include({ ending: 'stalled', closedBy: 'client' });
      });
    });
  }

  describe('out of order', () => {
    it('audio-before-start: the first audio frame comes before START', async () => {
      await sis.start();
      const { types, frames } = await run({ kind: 'out-of-order', what: 'audio-before-start' });
      expect(types).to.deep.equal(['binary×1', 'START', `binary×${FRAMES - 1}`, 'END']);
      expect(audioOf(frames).length).to.equal(AUDIO);
    });

    it('duplicate-start: START twice', async () => {
      await sis.start();
      const { types, frames } = await run({ kind: 'out-of-order', what: 'duplicate-start' });
      expect(types).to.deep.equal(['START', 'START', `binary×${FRAMES}`, 'END']);
      expect(textFrames(frames, 'START')[0]).to.deep.equal(textFrames(frames, 'START')[1]);
    });

    it('end-before-start: an END/NORMAL before START', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'out-of-order', what: 'end-before-start' });
      const client = await TestClient.connect(emulator, { closeOnEnd: false });
      client.send(REQUEST);
      await client.untilType('START');
      await client.close();
      expect(client.frames.map(typeOf).slice(0, 2)).to.deep.equal(['END', 'START']);
      expect(textFrames(client.frames, 'END')[0]?.['reason']).to.equal('NORMAL');
    });

    it('result-before-start: a RESULT before START, with or without subtitles', async () => {
      const { emulator } = await sis.start();
      const plain = await run({ kind: 'out-of-order', what: 'result-before-start' });
      expect(plain.types).to.deep.equal(['RESULT', 'START', `binary×${FRAMES}`, 'END']);
      emulator.injectNext({ kind: 'out-of-order', what: 'result-before-start' });
      const { frames } = await converse(emulator, command({ text: '你好', subtitle: 'word_level' }));
      expect(shape(frames)).to.deep.equal(['RESULT', 'START', 'binary…', 'RESULT', 'binary…', 'END']);
      expect(textFrames(frames, 'RESULT').map((r) => (r['result'] as { text: string }[])[0]?.text)).to.deep.equal(['你', '好']);
    });
  });

  describe('at the handshake', () => {
    it('reject-handshake: answers with the HTTP status and a gateway JSON body', async () => {
      const { emulator } = await sis.start();
      emulator.injectNext({ kind: 'reject-handshake', status: 503 }, { kind: 'reject-handshake', status: 429, errorCode: 'SIS.0312', errorMsg: 'too many' });
      const headers = { 'X-Auth-Token': emulator.token };
      const first = await handshake(rttsUrl(emulator), headers);
      expect(first.status).to.equal(503);
      expect(first.body)
        .to.include({ error_code: 'APIG.0201' })
        .and.to.have.property('request_id')
        .that.matches(/^[0-9a-f]{32}$/);
      expect((await handshake(rttsUrl(emulator), headers)).body).to.include({ error_code: 'SIS.0312', error_msg: 'too many' });
      expect((await handshake(rttsUrl(emulator), headers)).status).to.equal(101);
      await emulator.idle();
      expect(emulator.sessions.map((s) => s.status)).to.deep.equal([503, 429, 101]);
      expect(emulator.sessions[0]?.ending).to.equal('rejected');
    });

    it('silent: accepts the handshake and never answers, not even with the idle timeout', async () => {
      const { emulator } = await sis.start({ idleTimeoutMs: 20 });
      emulator.injectNext({ kind: 'silent' });
      const silent = await TestClient.connect(emulator);
      silent.send(REQUEST);
      // The second connection's idle timer starts later than the first one's: once it fired, the first would have too.
      const other = await TestClient.connect(emulator);
      await other.closed;
      expect(shape(other.frames)).to.deep.equal(['FATAL_ERROR']);
      await silent.close();
      expect(silent.frames).to.deep.equal([]);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'silent', closedBy: 'client' });
    });
  });

  describe('choosing faults', () => {
    it('injectNext is a FIFO, one fault per connection, before the fault option', async () => {
      const { emulator } = await sis.start({ fault: { kind: 'end-error', at: 'before-end' } });
      emulator.injectNext({ kind: 'error', at: 'after-start' });
      emulator.injectNext({ kind: 'fatal', at: 'after-start' });
      const endings = [];
      for (let i = 0; i < 3; i++) {
        await converse(emulator, REQUEST);
        await emulator.idle();
        endings.push(emulator.sessions[i]?.ending);
      }
      expect(endings).to.deep.equal(['end-error', 'fatal', 'end-error']);
      expect(emulator.sessions.map((s) => s.fault?.kind)).to.deep.equal(['error', 'fatal', 'end-error']);
      expect(emulator.stats.faultsApplied).to.equal(3);
    });

    it('asks a fault function once per connection, with the connection number and redacted headers', async () => {
      const seen: FaultContext[] = [];
      const { emulator } = await sis.start({
        fault: (context) => {
          seen.push(context);
          return context.connection === 2 ? { kind: 'error', at: 'before-start' } : undefined;
        },
      });
      const first = await converse(emulator, REQUEST);
      const second = await converse(emulator, REQUEST);
      expect(shape(first.frames)).to.deep.equal(['START', 'binary…', 'END']);
      expect(shape(second.frames)).to.deep.equal(['ERROR', 'END']);
      expect(seen.map((c) => [c.connection, c.path, c.headers['x-auth-token']])).to.deep.equal([
        [1, '/v1/emulator-project/rtts', '<redacted>'],
        [2, '/v1/emulator-project/rtts', '<redacted>'],
      ]);
    });

    it('faultOnStart picks a fault by the command, for concurrent sessions', async () => {
      const { emulator } = await sis.start({
        faultOnStart: (c) => (c.text.startsWith('fail') ? { kind: 'error', at: { afterFrames: 1 }, errorCode: 'SIS.0401' } : undefined),
      });
      const texts = ['ok 1', 'fail 1', 'ok 2', 'fail 2'];
      const results = await Promise.all(texts.map((text) => converse(emulator, command({ text }))));
      expect(results.map((r) => textFrames(r.frames, 'END')[0]?.['reason'])).to.deep.equal(['NORMAL', 'ERROR', 'NORMAL', 'ERROR']);
      expect(results.map((r) => textFrames(r.frames, 'ERROR')[0]?.['error_code'])).to.deep.equal([undefined, 'SIS.0401', undefined, 'SIS.0401']);
    });

    it('rejects an invalid fault given to injectNext with SisConfigError', async () => {
      const { emulator } = await sis.start();
      expect(() => emulator.injectNext({ kind: 'drop', at: { afterFrames: -1 }, closeCode: 1005 })).to.throw(
        SisConfigError,
        /afterFrames[\s\S]*closeCode|closeCode[\s\S]*afterFrames/,
      );
      expect(() => emulator.injectNext({ kind: 'nonsense' } as unknown as Fault)).to.throw(SisConfigError, /kind/);
    });

    it('answers ERROR SIS.0001 when faultOnStart returns an invalid fault', async () => {
      const { emulator } = await sis.start({ faultOnStart: () => ({ kind: 'silent' }) as unknown as SessionFault });
      const { frames } = await converse(emulator, REQUEST);
      expect(textFrames(frames, 'ERROR')[0]).to.include({ error_code: 'SIS.0001' });
    });

    it('answers with HTTP 500 when a fault function returns an invalid fault', async () => {
      const { emulator } = await sis.start({ fault: () => ({ kind: 'error', at: 'whenever' }) as unknown as Fault });
      const answer = await handshake(rttsUrl(emulator), { 'X-Auth-Token': emulator.token });
      expect(answer.status).to.equal(500);
      expect(answer.body).to.include({ error_code: 'SIS.0001' });
    });
  });
});
