/** The operators over real sockets, against the embedded emulator. */
import { expect } from 'chai';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { lastValueFrom, toArray } from 'rxjs';
import { SisPartError, SisServiceError, audioIterable, collectAudio, retrySynthesis, synthesizeLong$, synthesizeMany$ } from '../../lib/index.js';
import { toReadable, writeAudioFile } from '../../lib/node/index.js';
import { parseWav } from '../helpers/wav-reader.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

describe('operators against the emulator', () => {
  const sis = useEmulator({ teardown: 'idle' });

  it('writeAudioFile writes a WAV file a reader parses, with the audio the service sent', async () => {
    const { client, emulator } = await sis.start();
    const dir = await mkdtemp(join(tmpdir(), 'sis-emulator-'));
    try {
      const request = { text: '你好，世界。', audioFormat: 'ulaw', sampleRate: 16000 } as const;
      const result = await lastValueFrom(client.synthesize$(request).pipe(writeAudioFile(join(dir, 'out.wav'), request)));
      const parsed = parseWav(await readFile(result.path));
      expect(parsed.fmt).to.include({ audioFormat: 7, sampleRate: 16000, bitsPerSample: 8, numChannels: 1 });
      expect(parsed.data.chunkSize).to.equal(result.audioBytes).and.equal(emulator.sessions[0]?.audioBytes);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('synthesizeLong$ gives the audio of each part in text order, never more sessions at once than asked', async () => {
    // A third session at once would be refused with SIS.0312.
    const { client, emulator } = await sis.start({ maxConcurrentSessions: 2 });
    const sentences = ['春天来了。', '花开了。', '鸟儿在唱歌。', '我们去公园吧！'];
    const alone = [];
    for (const text of sentences) alone.push(await lastValueFrom(client.synthesize$({ text }).pipe(collectAudio())));
    const chunks = await lastValueFrom(synthesizeLong$({ text: sentences.join('') }, { client, maxPartLength: 7, concurrency: 2 }).pipe(toArray()));
    expect(new Set(chunks.map((c) => c.part)).size).to.equal(4);
    const together = Buffer.concat(chunks.map((c) => c.data));
    expect(together.equals(Buffer.concat(alone)), 'the parts, in order').to.equal(true);
    expect(chunks.map((c) => c.index)).to.deep.equal(chunks.map((_, i) => i));
    expect(emulator.stats.errorsSent).to.equal(0);
  });

  it('synthesizeLong$ fails with the failed part’s index and trace id', async () => {
    const { client, emulator } = await sis.start({
      faultOnStart: (command) => (command.text === '鸟儿在唱歌。' ? { kind: 'error', at: { afterFrames: 0 }, errorCode: 'SIS.0401' } : undefined),
    });
    const error: unknown = await lastValueFrom(synthesizeLong$({ text: '春天来了。花开了。鸟儿在唱歌。' }, { client, maxPartLength: 6 })).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(SisPartError).and.include({ part: 2, parts: 3, causeCode: 'SERVICE_ERROR' });
    const failed = emulator.sessions.find((s) => s.command?.text === '鸟儿在唱歌。');
    expect((error as SisPartError).traceId)
      .to.be.a('string')
      .and.equal(failed?.traceId);
    expect((error as SisPartError).cause)
      .to.be.instanceOf(SisServiceError)
      .and.include({ errorCode: 'SIS.0401' });
  });

  it('retrySynthesis reconnects after a dropped connection and delivers the audio once', async () => {
    const { client, emulator } = await sis.start();
    const expected = await lastValueFrom(client.synthesize$({ text: '重试' }).pipe(collectAudio()));
    emulator.injectNext({ kind: 'drop', at: 'after-start' }, { kind: 'error', at: 'after-start', errorCode: 'SIS.0312' });
    const audio = await lastValueFrom(client.synthesize$({ text: '重试' }).pipe(retrySynthesis({ count: 3, initialDelay: 1 }), collectAudio()));
    expect(Buffer.from(audio).equals(Buffer.from(expected))).to.equal(true);
    expect(emulator.sessions).to.have.length(4);
  });

  it('synthesizeMany$ settles every request in order over real sessions', async () => {
    const { client } = await sis.start();
    const outcomes = await lastValueFrom(
      synthesizeMany$([{ text: '一' }, { text: '二', voice: 'chinese_nobody_common' }, { text: '三' }], { client, mode: 'settle', concurrency: 3 }).pipe(
        toArray(),
      ),
    );
    expect(outcomes.map((o) => [o.index, o.ok])).to.deep.equal([
      [0, true],
      [1, false],
      [2, true],
    ]);
    const failed = outcomes[1];
    expect(failed?.ok === false && failed.error)
      .to.be.instanceOf(SisServiceError)
      .and.include({ errorCode: 'SIS.0411' });
  });

  it('toReadable pauses the socket for a slow consumer: what waits in memory stays bounded', async () => {
    const { client, emulator } = await sis.start({ frameBytes: 3200 });
    const highWaterMark = 16 * 1024;
    const readable = toReadable((paused$) => client.synthesize$({ text: '今天天气很好。'.repeat(60), sampleRate: 16000 }, { paused$ }), { highWaterMark });
    let peak = 0;
    let total = 0;
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, done) {
        total += chunk.byteLength;
        peak = Math.max(peak, readable.readableLength);
        setTimeout(done, 1); // a consumer far slower than the emulator
      },
    });
    await pipeline(readable, slow);
    expect(total).to.equal(emulator.sessions[0]?.audioBytes);
    expect(total).to.be.greaterThan(600_000);
    // What ws had already read when paused may still arrive, but nothing like the whole audio.
    expect(peak).to.be.lessThan(highWaterMark + 128 * 1024);
  });

  it('toReadable over synthesizeLong$: memory is bounded by the parts running at once, and every socket closes', async () => {
    const { client, emulator } = await sis.start();
    const text = '今天天气很好。'.repeat(40);
    const readable = toReadable((paused$) => synthesizeLong$({ text, sampleRate: 16000 }, { client, paused$, maxPartLength: 70, highWaterMark: 64 * 1024 }), {
      highWaterMark: 16 * 1024,
    });
    let peak = 0;
    let total = 0;
    await pipeline(
      readable,
      new Writable({
        highWaterMark: 1,
        write(chunk: Buffer, _encoding, done) {
          total += chunk.byteLength;
          peak = Math.max(peak, readable.readableLength);
          setTimeout(done, 1);
        },
      }),
    );
    expect(emulator.sessions).to.have.length(4);
    // Bounded by the parts running at once (2), not by the text. (A part whose socket was still
    // connecting when paused runs unpaused — ws-factory drops pause() while CONNECTING — so the bound
    // is whole parts rather than maxBufferedBytes, until the transport keeps the pause for the open.)
    const largestPart = Math.max(...emulator.sessions.map((s) => s.audioBytes));
    expect(total).to.be.greaterThan(3.5 * largestPart);
    expect(peak).to.be.lessThan(16 * 1024 + 2 * largestPart + 128 * 1024);
    expect(total).to.equal(emulator.sessions.reduce((sum, s) => sum + s.audioBytes, 0));
    // afterEach: emulator.idle() resolves only if no socket was left paused while closing.
  });

  it('audioIterable: break closes the session', async () => {
    const { client, emulator } = await sis.start({ realtimeFactor: 1 });
    let chunks = 0;
    for await (const chunk of audioIterable((paused$) => client.synthesize$({ text: '很长的一段话。'.repeat(20) }, { paused$ }))) {
      expect(chunk.data.byteLength).to.be.greaterThan(0);
      if (++chunks === 2) break;
    }
    await emulator.idle();
    expect(emulator.sessions[0]?.closedBy).to.equal('client');
  });
});
