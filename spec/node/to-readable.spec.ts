import { expect } from 'chai';
import { once } from 'node:events';
import { Subject, concat, of, throwError, type Observable } from 'rxjs';
import { SisConfigError, SisOverflowError, SisServiceError, type AudioChunk } from '../../lib/index.js';
import { toReadable, type ToReadableOptions } from '../../lib/node/index.js';
import { audioChunk } from '../helpers/chunks.js';

/** A source that records the paused$ flags it is given. */
const pausable = (): { source: (paused$: Observable<boolean>) => Observable<AudioChunk>; audio: Subject<AudioChunk>; flags: boolean[] } => {
  const audio = new Subject<AudioChunk>();
  const flags: boolean[] = [];
  return {
    audio,
    flags,
    source: (paused$) => {
      paused$.subscribe((paused) => flags.push(paused));
      return audio;
    },
  };
};

describe('toReadable', () => {
  it('streams the bytes of every chunk and ends when the audio completes', async () => {
    const readable = toReadable(of(audioChunk([1, 2]), audioChunk([3], { index: 1, offset: 2 })));
    const all = Buffer.concat(await readable.toArray());
    expect(Array.from(all)).to.deep.equal([1, 2, 3]);
  });

  it('subscribes only when first read', () => {
    const { source, audio } = pausable();
    const readable = toReadable(source);
    expect(audio.observed).to.equal(false);
    readable.read(0);
    expect(audio.observed).to.equal(true);
    readable.destroy();
  });

  it('pauses the source when the consumer lags behind highWaterMark, and resumes it as it reads', () => {
    const { source, audio, flags } = pausable();
    const readable = toReadable(source, { highWaterMark: 4 });
    readable.read(0);
    audio.next(audioChunk(3));
    expect(flags).to.deep.equal([false]);
    audio.next(audioChunk(3));
    expect(flags, 'paused once 6 bytes wait').to.deep.equal([false, true]);
    expect(readable.read()).to.have.length(6);
    expect(flags, 'resumed once read').to.deep.equal([false, true, false]);
    readable.destroy();
  });

  it('destroy() unsubscribes from the audio (closing the session)', async () => {
    const { source, audio } = pausable();
    const readable = toReadable(source);
    readable.read(0);
    readable.destroy();
    await once(readable, 'close');
    expect(audio.observed).to.equal(false);
  });

  it('is destroyed with the error of the audio', async () => {
    const failure = new SisServiceError({ traceId: 't', errorCode: 'SIS.0401' });
    const readable = toReadable(
      concat(
        of(audioChunk(2)),
        throwError(() => failure),
      ),
    );
    readable.resume();
    const [error] = await once(readable, 'error');
    expect(error).to.equal(failure);
  });

  it('given a plain Observable (no pause), fails with SisOverflowError past maxBufferedBytes', async () => {
    const audio = new Subject<AudioChunk>();
    const readable = toReadable(audio, { highWaterMark: 2, maxBufferedBytes: 5 });
    readable.read(0);
    audio.next(audioChunk(3));
    audio.next(audioChunk(2));
    expect(readable.destroyed).to.equal(false);
    audio.next(audioChunk(1));
    const [error] = await once(readable, 'error');
    expect(error).to.be.instanceOf(SisOverflowError).and.include({ limit: 5, unit: 'bytes' });
    expect(audio.observed).to.equal(false);
  });

  it('refuses limits that are not positive integers and unknown option names, naming each', () => {
    const options = { highWaterMark: -1, maxBufferedBytes: '16M', highWatermark: 8 } as unknown as ToReadableOptions;
    expect(() => toReadable(of(audioChunk(1)), options))
      .to.throw(SisConfigError)
      .with.property('problems')
      .that.deep.equals([
        { path: 'highWatermark', message: "unknown field (did you mean 'highWaterMark'?)" },
        { path: 'highWaterMark', message: 'must be a positive integer, got -1' },
        { path: 'maxBufferedBytes', message: 'must be a positive integer, got "16M"' },
      ]);
  });
});
