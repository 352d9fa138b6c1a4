/** Every operator and helper rejects bad arguments with a typed SisConfigError, never a TypeError or a crash. */
import { expect } from 'chai';
import { lastValueFrom, of, type Observable } from 'rxjs';
import { SisConfigError, audioIterable, concatMapEager, splitText, synthesizeLong$, synthesizeMany$, wavHeader } from '../../lib/index.js';
import { toReadable, writeAudioFile } from '../../lib/node/index.js';
import { errorOf } from '../helpers/errors.js';

const configError = (run: () => unknown): SisConfigError => {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(SisConfigError);
    return error as SisConfigError;
  }
  throw new Error('expected a SisConfigError');
};
const paths = (error: { problems: readonly { path: string }[] }): string[] => error.problems.map((p) => p.path);

describe('argument checks', () => {
  it('toReadable and audioIterable want an Observable or a function of paused$, and options they know', () => {
    expect(paths(configError(() => toReadable(42 as unknown as Observable<Uint8Array>)))).to.deep.equal(['source']);
    expect(paths(configError(() => audioIterable('audio' as unknown as Observable<Uint8Array>)))).to.deep.equal(['source']);
    expect(paths(configError(() => toReadable(of(new Uint8Array(1)), null as never)))).to.deep.equal(['options']);
    expect(paths(configError(() => audioIterable(of(1), { highWaterMark: 1.5 })))).to.deep.equal(['highWaterMark']);
  });

  it('synthesizeMany$ wants a client, requests and a concurrency, and names every problem', async () => {
    const error = await errorOf(lastValueFrom(synthesizeMany$(42 as never, { client: {} as never, concurrency: 0 })));
    expect(error).to.be.instanceOf(SisConfigError);
    expect(paths(error as SisConfigError)).to.deep.equal(['client', 'concurrency', 'requests']);
  });

  it('synthesizeLong$ wants a client', async () => {
    const error = await errorOf(lastValueFrom(synthesizeLong$({ text: 'x' }, { client: null as never })));
    expect(paths(error as SisConfigError)).to.deep.equal(['client']);
    const none = await errorOf(lastValueFrom(synthesizeLong$({ text: 'x' }, undefined as never)));
    expect(none).to.be.instanceOf(SisConfigError);
  });

  it('splitText wants a string and a positive length', () => {
    expect(paths(configError(() => splitText(7 as unknown as string, 0)))).to.deep.equal(['text', 'maxLength']);
  });

  it('writeAudioFile wants a path, a known audio format and container, and names every problem', async () => {
    const error = await errorOf(lastValueFrom(of(new Uint8Array(2)).pipe(writeAudioFile('', { sampleRate: 0, container: 'flac' as never }))));
    expect(paths(error as SisConfigError)).to.deep.equal(['path', 'sampleRate', 'container']);
  });

  it("writeAudioFile points the old 'format' option to 'container' rather than writing a WAV file regardless", async () => {
    const error = await errorOf(lastValueFrom(of(new Uint8Array(2)).pipe(writeAudioFile('out.pcm', { format: 'raw' } as never))));
    expect((error as SisConfigError).problems).to.deep.equal([{ path: 'format', message: "is now 'container' ('wav' or 'raw')" }]);
  });

  it('wavHeader does not take inherited names for formats', () => {
    expect(paths(configError(() => wavHeader({ audioFormat: 'constructor' as never })))).to.deep.equal(['audioFormat']);
  });

  it('concatMapEager turns a throwing project into an error notification, not an uncaught exception', async () => {
    const boom = new SisConfigError([{ path: 'x', message: 'boom' }]);
    const error = await errorOf(
      lastValueFrom(
        of(1, 2).pipe(
          concatMapEager(() => {
            throw boom;
          }),
        ),
      ),
    );
    expect(error).to.equal(boom);
  });
});
