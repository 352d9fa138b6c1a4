import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject, concat, firstValueFrom, lastValueFrom, of, throwError } from 'rxjs';
import { SisConnectionError, SisFileError, type AudioChunk } from '../../lib/index.js';
import { writeAudioFile } from '../../lib/node/index.js';
import { settledFileWrites } from '../../lib/node/write-audio-file.js';
import { parseWav } from '../helpers/wav-reader.js';
import { audioChunk } from '../helpers/chunks.js';

const audio = [audioChunk([1, 2, 3, 4]), audioChunk([5, 6], { index: 1, offset: 4 })];

describe('writeAudioFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sis-write-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a WAV file with exact sizes and emits where and how much', async () => {
    const path = join(dir, 'out.wav');
    const result = await lastValueFrom(of(...audio).pipe(writeAudioFile(path, { audioFormat: 'pcm', sampleRate: 16000 })));
    expect(result).to.deep.equal({ path, fileBytes: 44 + 6, audioBytes: 6 });
    const parsed = parseWav(await readFile(path));
    expect(parsed.chunkSize).to.equal(44 - 8 + 6);
    expect(parsed.data.chunkSize).to.equal(6);
    expect(parsed.fmt).to.include({ audioFormat: 1, sampleRate: 16000, bitsPerSample: 16 });
    expect(Array.from(parsed.data.samples)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(await readdir(dir)).to.deep.equal(['out.wav']);
  });

  it('pads odd-length G.711 data and writes its fact chunk', async () => {
    const path = join(dir, 'out.wav');
    const result = await lastValueFrom(of(audioChunk([1, 2, 3])).pipe(writeAudioFile(path, { audioFormat: 'alaw' })));
    expect(result.fileBytes).to.equal(58 + 3 + 1);
    const parsed = parseWav(await readFile(path));
    expect(parsed.chunkSize).to.equal(58 - 8 + 4);
    expect(parsed.fact.dwSampleLength).to.equal(3);
    expect(parsed.fmt).to.include({ audioFormat: 6, sampleRate: 8000 });
  });

  it("writes the bytes as received with container 'raw', and mp3 always as it is", async () => {
    const raw = join(dir, 'out.pcm');
    await lastValueFrom(of(...audio).pipe(writeAudioFile(raw, { container: 'raw' })));
    expect(Array.from(await readFile(raw))).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const mp3 = join(dir, 'out.mp3');
    await lastValueFrom(of(audioChunk([0xff, 0xfb])).pipe(writeAudioFile(mp3, { audioFormat: 'mp3' })));
    expect(Array.from(await readFile(mp3))).to.deep.equal([0xff, 0xfb]);
  });

  it('replaces an existing file only on success', async () => {
    const path = join(dir, 'out.wav');
    await lastValueFrom(of(...audio).pipe(writeAudioFile(path)));
    const dropped = new SisConnectionError('connection closed (code 1006)');
    const failing = concat(
      of(audioChunk([9])),
      throwError(() => dropped),
    );
    const error: unknown = await lastValueFrom(failing.pipe(writeAudioFile(path))).catch((e: unknown) => e);
    expect(error).to.equal(dropped);
    expect(parseWav(await readFile(path)).data.chunkSize, 'the old file is untouched').to.equal(6);
    expect(await readdir(dir)).to.deep.equal(['out.wav']);
  });

  it('leaves no file at all when the audio fails', async () => {
    const dropped = new SisConnectionError('connection closed (code 1006)');
    const failing = concat(
      of(...audio),
      throwError(() => dropped),
    );
    const error: unknown = await lastValueFrom(failing.pipe(writeAudioFile(join(dir, 'out.wav')))).catch((e: unknown) => e);
    expect(error).to.equal(dropped);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('removes the temporary file when unsubscribed midway', async () => {
    const source = new Subject<AudioChunk>();
    const subscription = source.pipe(writeAudioFile(join(dir, 'out.wav'))).subscribe();
    source.next(audioChunk([1, 2]));
    subscription.unsubscribe();
    expect(source.observed).to.equal(false);
    await settledFileWrites();
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('turns disk errors into a SisFileError with the operation and the system code', async () => {
    const missing = join(dir, 'no-such-folder', 'out.wav');
    const openError: unknown = await lastValueFrom(of(...audio).pipe(writeAudioFile(missing))).catch((e: unknown) => e);
    expect(openError).to.be.instanceOf(SisFileError).and.include({ operation: 'open', systemCode: 'ENOENT', path: missing, retryable: false });

    const folder = join(dir, 'taken');
    await mkdir(join(folder, 'child'), { recursive: true });
    const renameError: unknown = await firstValueFrom(of(...audio).pipe(writeAudioFile(folder))).catch((e: unknown) => e);
    expect(renameError).to.be.instanceOf(SisFileError).and.include({ operation: 'rename', path: folder });
    expect(await readdir(dir), 'the temporary file is gone').to.deep.equal(['taken']);
  });
});
