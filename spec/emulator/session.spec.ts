import { expect } from 'chai';
import { synthesizeAudio } from '../../lib/emulator/index.js';
import { audioOf, command, converse, shape, TestClient, textFrames, typeOf, type Frame } from './helpers.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

describe('emulator session', () => {
  const sis = useEmulator();

  describe('a normal session', () => {
    it('sends START, the audio in binary frames, then END/NORMAL, and the client closes', async () => {
      const { emulator } = await sis.start();
      const request = command({ text: '你好，世界。Hello!' });
      const { frames, closed } = await converse(emulator, request);
      expect(shape(frames)).to.deep.equal(['START', 'binary…', 'END']);
      const audio = audioOf(frames);
      expect(audio.equals(Buffer.from(synthesizeAudio(request)))).to.equal(true);
      const [startFrame] = textFrames(frames, 'START');
      const [end] = textFrames(frames, 'END');
      expect(end).to.deep.equal({ resp_type: 'END', trace_id: startFrame?.['trace_id'], reason: 'NORMAL' });
      expect(String(startFrame?.['trace_id'])).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(closed.code).to.equal(1000);
      await emulator.idle();
      expect(emulator.openConnections()).to.equal(0);
      const [record] = emulator.sessions;
      expect(record).to.include({
        connection: 1,
        path: '/v1/emulator-project/rtts',
        status: 101,
        authenticated: true,
        ending: 'end-normal',
        closedBy: 'client',
      });
      expect(record?.command).to.deep.equal(request);
      expect(record?.traceId).to.equal(startFrame?.['trace_id']);
      expect(record?.audioBytes).to.equal(audio.length);
      expect(emulator.stats).to.include({ connections: 1, sessionsStarted: 1, sessionsCompleted: 1, audioBytesSent: audio.length });
    });

    it('cuts the audio into frames of frameBytes, the last one shorter', async () => {
      const { emulator } = await sis.start({ frameBytes: 1000 });
      const request = command({ text: '你好', audioFormat: 'alaw' });
      const { frames } = await converse(emulator, request);
      const sizes = frames.flatMap((f) => (f.kind === 'binary' ? [f.data.length] : []));
      const total = synthesizeAudio(request).length;
      expect(sizes).to.deep.equal([...Array<number>(Math.floor(total / 1000)).fill(1000), ...(total % 1000 === 0 ? [] : [total % 1000])]);
      expect(emulator.sessions[0]?.audioFrames).to.equal(sizes.length);
    });

    it('streams every audio format at both rates', async () => {
      const { emulator } = await sis.start();
      for (const audioFormat of ['pcm', 'alaw', 'ulaw', 'mp3'] as const) {
        for (const sampleRate of [8000, 16000] as const) {
          const request = command({ text: 'Hi 你好', audioFormat, sampleRate });
          const { frames } = await converse(emulator, request);
          expect(audioOf(frames).equals(Buffer.from(synthesizeAudio(request))), `${audioFormat} ${sampleRate}`).to.equal(true);
        }
      }
    });

    it('closes the connection itself when the client does not close after END', async () => {
      const { emulator } = await sis.start({ closeGraceMs: 20 });
      const { frames, closed } = await converse(emulator, command({ text: '好' }), { closeOnEnd: false });
      expect(shape(frames)).to.deep.equal(['START', 'binary…', 'END']);
      expect(closed.code).to.equal(1000);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'end-normal', closedBy: 'server' });
    });

    it('stops sending as soon as the client closes', async () => {
      const { emulator } = await sis.start({ realtimeFactor: 1, frameBytes: 160 });
      const client = await TestClient.connect(emulator);
      client.send(command({ text: '你好世界' }));
      await client.until((f) => f.kind === 'binary');
      await client.close();
      await emulator.idle();
      const record = emulator.sessions[0];
      expect(record).to.include({ ending: 'client-closed', closedBy: 'client' });
      expect(record?.audioBytes).to.be.below(synthesizeAudio(command({ text: '你好世界' })).length);
    });
  });

  describe('subtitles', () => {
    const words = (frames: Frame[]): Record<string, unknown>[] =>
      textFrames(frames, 'RESULT').flatMap((f) => (Array.isArray(f['result']) ? (f['result'] as Record<string, unknown>[]) : []));

    it('interleaves one RESULT per word with cumulative times before the audio they describe', async () => {
      const { emulator } = await sis.start({ frameBytes: 800 });
      const request = command({ text: '你好, big world', subtitle: 'word_level' });
      const { frames } = await converse(emulator, request);
      const items = words(frames);
      expect(items.map((i) => i['text'])).to.deep.equal(['你', '好', 'big', 'world']);
      expect(items.map((i) => i['word_index'])).to.deep.equal([0, 1, 2, 3]);
      expect(items.map((i) => [i['start_time'], i['end_time']])).to.deep.equal([
        [0, 200],
        [200, 400],
        [520, 700],
        [740, 1040],
      ]);
      expect(items.every((i) => i['phonemes'] === undefined)).to.equal(true);
      const types = frames.map(typeOf);
      expect(types[0]).to.equal('START');
      expect(types[types.length - 1]).to.equal('END');
      // Each RESULT arrives before the audio byte where its word starts (PCM 8 kHz: 16 bytes per ms).
      let received = 0;
      for (const frame of frames) {
        if (frame.kind === 'binary') received += frame.data.length;
        else if (typeOf(frame) === 'RESULT') {
          const [item] = words([frame]);
          expect(received).to.be.at.most(Number(item?.['start_time']) * 16);
        }
      }
      expect(types.filter((t) => t === 'RESULT' || t === 'binary').length).to.be.greaterThan(types.filter((t) => t === 'RESULT').length);
      expect(frames.findIndex((f) => typeOf(f) === 'RESULT')).to.be.below(frames.findLastIndex((f) => f.kind === 'binary'));
    });

    it('adds phonemes with phoneme_level', async () => {
      const { emulator } = await sis.start();
      const { frames } = await converse(emulator, command({ text: 'ab 好', subtitle: 'phoneme_level' }));
      expect(words(frames)).to.deep.equal([
        {
          start_time: 0,
          end_time: 120,
          text: 'ab',
          word_index: 0,
          phonemes: [
            { phoneme: 'a', start_time: 0, end_time: 60, phoneme_index: 0 },
            { phoneme: 'b', start_time: 60, end_time: 120, phoneme_index: 1 },
          ],
        },
        { start_time: 160, end_time: 360, text: '好', word_index: 1, phonemes: [{ phoneme: '好', start_time: 160, end_time: 360, phoneme_index: 0 }] },
      ]);
    });

    it('sends no RESULT without subtitle', async () => {
      const { emulator } = await sis.start();
      const { frames } = await converse(emulator, command({ text: 'ab 好' }));
      expect(textFrames(frames, 'RESULT')).to.deep.equal([]);
    });
  });

  describe('the START command', () => {
    const valid = command({ text: '你好' });
    const cases: [string, string | object, string][] = [
      ['invalid JSON', '{"command": "START", ', 'SIS.0032'],
      ['a JSON array', '[1, 2]', 'SIS.0032'],
      ['no command', { text: '你好', config: valid.config }, 'SIS.0012'],
      ['a command other than START', { ...valid, command: 'STOP' }, 'SIS.0031'],
      ['no text', { command: 'START', config: valid.config }, 'SIS.0012'],
      ['an empty text', { ...valid, text: '' }, 'SIS.0012'],
      ['a text that is not a string', { ...valid, text: 42 }, 'SIS.0032'],
      ['no config', { command: 'START', text: '你好' }, 'SIS.0012'],
      ['a config field missing', { ...valid, config: { ...valid.config, volume: undefined } }, 'SIS.0012'],
      ['an unknown audio_format', { ...valid, config: { ...valid.config, audio_format: 'wav' } }, 'SIS.0410'],
      ['a numeric sample_rate', { ...valid, config: { ...valid.config, sample_rate: 8000 } }, 'SIS.0402'],
      ['an unsupported sample_rate', { ...valid, config: { ...valid.config, sample_rate: '44100' } }, 'SIS.0402'],
      ['an unknown voice', { ...valid, config: { ...valid.config, property: 'chinese_nobody_common' } }, 'SIS.0411'],
      ['a malformed voice', { ...valid, config: { ...valid.config, property: 'Chinese Voice' } }, 'SIS.0411'],
      ['speed over 500', { ...valid, config: { ...valid.config, speed: 501 } }, 'SIS.0032'],
      ['pitch under -500', { ...valid, config: { ...valid.config, pitch: -501 } }, 'SIS.0032'],
      ['volume over 100', { ...valid, config: { ...valid.config, volume: 101 } }, 'SIS.0032'],
      ['a fractional volume', { ...valid, config: { ...valid.config, volume: 50.5 } }, 'SIS.0032'],
      ['an unknown subtitle', { ...valid, config: { ...valid.config, subtitle: 'sentence_level' } }, 'SIS.0032'],
      ['a text over 10,000 characters', { ...valid, text: '好'.repeat(10_001) }, 'SIS.0403'],
    ];
    for (const [what, message, code] of cases) {
      it(`answers ${what} with ERROR ${code}, then END/ERROR`, async () => {
        const { emulator } = await sis.start();
        const { frames } = await converse(emulator, typeof message === 'string' ? message : JSON.stringify(message));
        expect(shape(frames)).to.deep.equal(['ERROR', 'END']);
        const [error] = textFrames(frames, 'ERROR');
        expect(error?.['error_code']).to.equal(code);
        expect(error?.['error_msg']).to.be.a('string').and.not.equal('');
        expect(error?.['trace_id']).to.equal(emulator.sessions[0]?.traceId);
        expect(textFrames(frames, 'END')[0]).to.include({ reason: 'ERROR', trace_id: error?.['trace_id'] });
        expect(emulator.sessions[0]).to.include({ ending: 'end-error', errorCode: code, command: undefined });
      });
    }

    it('counts the text limit in code points and makes it configurable', async () => {
      const { emulator } = await sis.start({ textLimit: 3 });
      expect(textFrames((await converse(emulator, command({ text: '😀😀😀' }))).frames, 'END')[0]?.['reason']).to.equal('NORMAL');
      expect(textFrames((await converse(emulator, command({ text: '😀😀😀😀' }))).frames, 'ERROR')[0]?.['error_code']).to.equal('SIS.0403');
    });

    it("accepts any well-formed voice with voices: 'any'", async () => {
      const { emulator } = await sis.start({ voices: 'any' });
      expect(shape((await converse(emulator, command({ text: '好', voice: 'chinese_nobody_common' }))).frames)).to.deep.equal(['START', 'binary…', 'END']);
      expect(shape((await converse(emulator, command({ text: '好', voice: 'Bad Voice' }))).frames)).to.deep.equal(['ERROR', 'END']);
    });

    it('sends the ERROR alone with errorThenEnd: false, and closes after the grace time', async () => {
      const { emulator } = await sis.start({ errorThenEnd: false, closeGraceMs: 10 });
      const { frames, closed } = await converse(emulator, 'not json', { closeOnEnd: false });
      expect(shape(frames)).to.deep.equal(['ERROR']);
      expect(closed.code).to.equal(1000);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'error', closedBy: 'server' });
    });

    it('serves one START per connection: a second message gets ERROR SIS.0031', async () => {
      const { emulator } = await sis.start();
      const client = await TestClient.connect(emulator, { closeOnEnd: false });
      client.send(command({ text: '好' })).send(command({ text: '你' }));
      const error = await client.untilType('ERROR');
      expect(error.kind === 'text' && error.json?.['error_code']).to.equal('SIS.0031');
      await client.close();
      expect(textFrames(client.frames, 'START')).to.have.length(1);
      expect(audioOf(client.frames).length).to.equal(synthesizeAudio(command({ text: '好' })).length);
    });

    it('answers a message after END with ERROR SIS.0031 alone; the session still ended normally', async () => {
      const { emulator } = await sis.start();
      const client = await TestClient.connect(emulator, { closeOnEnd: false });
      client.send(command({ text: '好' }));
      await client.untilType('END');
      client.send('{"command": "START"}');
      await client.untilType('ERROR');
      await client.close();
      expect(shape(client.frames)).to.deep.equal(['START', 'binary…', 'END', 'ERROR']);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'end-normal', errorCode: 'SIS.0031' });
    });

    it('answers a binary message with ERROR SIS.0032', async () => {
      const { emulator } = await sis.start();
      const { frames } = await converse(emulator, Buffer.from([1, 2, 3]));
      expect(shape(frames)).to.deep.equal(['ERROR', 'END']);
      expect(textFrames(frames, 'ERROR')[0]?.['error_code']).to.equal('SIS.0032');
    });

    it('ends a binary message during the audio with ERROR SIS.0032 and END/ERROR', async () => {
      const { emulator } = await sis.start({ realtimeFactor: 1, frameBytes: 160 });
      const client = await TestClient.connect(emulator);
      client.send(command({ text: '你好世界' }));
      await client.until((f) => f.kind === 'binary');
      client.send(Buffer.from([0]));
      await client.closed;
      const types = shape(client.frames);
      expect(types).to.deep.equal(['START', 'binary…', 'ERROR', 'END']);
      expect(textFrames(client.frames, 'END')[0]?.['reason']).to.equal('ERROR');
    });
  });

  describe('timeouts and limits', () => {
    it('answers a connection that sends nothing with FATAL_ERROR SIS.0304, then closes it', async () => {
      const { emulator } = await sis.start({ idleTimeoutMs: 30 });
      const client = await TestClient.connect(emulator);
      const closed = await client.closed;
      expect(shape(client.frames)).to.deep.equal(['FATAL_ERROR']);
      expect(textFrames(client.frames, 'FATAL_ERROR')[0]).to.deep.equal({
        resp_type: 'FATAL_ERROR',
        trace_id: emulator.sessions[0]?.traceId,
        error_code: 'SIS.0304',
        error_msg: 'wait voice timeout',
      });
      expect(closed.code).to.equal(1000);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ ending: 'fatal', errorCode: 'SIS.0304', closedBy: 'server' });
    });

    it('answers a START over maxConcurrentSessions with ERROR SIS.0312, and frees the slot when a session ends', async () => {
      const { emulator } = await sis.start({
        maxConcurrentSessions: 1,
        faultOnStart: (c) => (c.text === 'hold' ? { kind: 'stall', at: 'after-start' } : undefined),
      });
      const holder = await TestClient.connect(emulator);
      holder.send(command({ text: 'hold' }));
      await holder.untilType('START');
      const over = await converse(emulator, command({ text: '好' }));
      expect(textFrames(over.frames, 'ERROR')[0]?.['error_code']).to.equal('SIS.0312');
      await holder.close();
      await emulator.idle();
      expect(shape((await converse(emulator, command({ text: '好' }))).frames)).to.deep.equal(['START', 'binary…', 'END']);
    });
  });

  describe('pacing', () => {
    it('keeps the order START, audio, END in real time', async () => {
      const { emulator } = await sis.start({ realtimeFactor: 1, frameBytes: 640 });
      const request = command({ text: 'hi', subtitle: 'word_level' });
      const { frames } = await converse(emulator, request);
      expect(shape(frames)).to.deep.equal(['START', 'RESULT', 'binary…', 'END']);
      expect(audioOf(frames).equals(Buffer.from(synthesizeAudio(request)))).to.equal(true);
    });

    it('waits firstAudioDelayMs before the first audio frame, then streams fast', async () => {
      const { emulator } = await sis.start({ firstAudioDelayMs: 20, realtimeFactor: 8 });
      const { frames } = await converse(emulator, command({ text: 'hello' }));
      expect(shape(frames)).to.deep.equal(['START', 'binary…', 'END']);
    });
  });
});
