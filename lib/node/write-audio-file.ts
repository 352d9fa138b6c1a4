import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Observable, Subscription, type OperatorFunction } from 'rxjs';
import { SisConfigError, SisFileError, type Problem } from '../errors.js';
import { check, oneOf, optional } from '../checks.js';
import { bytesOf, type AudioData } from '../audio/audio-data.js';
import { audioFormatProblems, resolveAudioFormat, wavHeader, type AudioFormatOptions } from '../audio/wav-header.js';

/** The stream's format (the request will do) and the file's container. */
export interface AudioFileOptions extends AudioFormatOptions {
  /**
   * `'wav'` (default): a WAV file with exact sizes; `'raw'`: the bytes as received, as `sis-tts --container`.
   * mp3 is always written as it is.
   */
  readonly container?: 'wav' | 'raw' | undefined;
}

/** Every problem with the arguments; the options may be a whole request, so other fields are let be. */
const fileProblems = (path: unknown, options: AudioFileOptions): Problem[] => {
  const problems = [...check('a file path', (value) => typeof value === 'string' && value.trim() !== '')('path', path), ...audioFormatProblems(options)];
  if (typeof options !== 'object' || options === null) return problems;
  return [
    ...problems,
    ...optional(oneOf(['wav', 'raw']))('container', options.container),
    // The old name: without this a `format: 'raw'` would quietly write a WAV file.
    ...(Object.hasOwn(options, 'format') ? [{ path: 'format', message: "is now 'container' ('wav' or 'raw')" }] : []),
  ];
};

/** What `writeAudioFile` emits once the file is in place. */
export interface AudioFileResult {
  /** The absolute path of the file written. */
  readonly path: string;
  /** Size of the file. */
  readonly fileBytes: number;
  /** Bytes of audio in it (without header or pad). */
  readonly audioBytes: number;
}

// Cleanups still running after an unsubscribe (the teardown itself cannot wait for them).
const pendingCleanups = new Set<Promise<void>>();

/** Resolves once every temporary file abandoned by an unsubscribe is removed (for tests and clean shutdowns). */
export const settledFileWrites = async (): Promise<void> => {
  while (pendingCleanups.size > 0) await Promise.all([...pendingCleanups]);
};

const writeAll = async (handle: FileHandle, bytes: Uint8Array, position?: number): Promise<void> => {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position === undefined ? null : position + done);
    done += bytesWritten;
  }
};

/**
 * Streams audio into a file: writes into a temporary file beside `path` as chunks arrive, and on
 * completion patches the WAV sizes, renames it to `path` and emits an {@link AudioFileResult}.
 * On an error or unsubscribe the temporary file is removed: no partial file is ever left at `path`.
 * Disk failures arrive as a {@link SisFileError}. Chunks wait in memory for the disk, which is
 * normally far faster than the network.
 * @throws {SisConfigError} (as an error notification) naming every bad argument.
 * @example client.synthesize$(request).pipe(writeAudioFile('out.wav', request)).subscribe(({ path }) => console.log(path))
 */
export const writeAudioFile =
  (path: string, options: AudioFileOptions = {}): OperatorFunction<AudioData, AudioFileResult> =>
  (source) =>
    new Observable<AudioFileResult>((subscriber) => {
      const problems = fileProblems(path, options);
      if (problems.length > 0) throw new SisConfigError(problems, 'writeAudioFile arguments');
      const { audioFormat, sampleRate } = resolveAudioFormat(options);
      const wav = (options.container ?? 'wav') === 'wav' && audioFormat !== 'mp3';
      const target = resolve(path);
      const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
      const header = wav ? wavHeader({ audioFormat, sampleRate }) : new Uint8Array(0);

      let handle: FileHandle | undefined;
      let audioBytes = 0;
      let settled = false; // the result or an error was delivered, or the subscriber left
      let tasks: Promise<void> = Promise.resolve();
      const upstream = new Subscription();

      const removeTemp = async (): Promise<void> => {
        const open = handle;
        handle = undefined;
        await open?.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
      };
      // Runs after whatever write is in flight, so the file is closed before it is removed.
      const cleanUp = (): Promise<void> => {
        tasks = tasks.then(removeTemp);
        return tasks;
      };
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        upstream.unsubscribe();
        void cleanUp().then(() => subscriber.error(error));
      };
      // Tasks run one after another; after a failure the rest are skipped.
      const enqueue = (operation: string, task: (file: FileHandle) => Promise<void>): void => {
        tasks = tasks.then(async () => {
          if (settled) return;
          try {
            if (handle === undefined) throw new Error('the file is not open');
            await task(handle);
          } catch (cause) {
            fail(new SisFileError({ path: target, operation, cause }));
          }
        });
      };

      tasks = open(temp, 'wx').then(
        (opened) => {
          handle = opened;
        },
        (cause: unknown) => fail(new SisFileError({ path: target, operation: 'open', cause })),
      );
      if (header.byteLength > 0) enqueue('write', (file) => writeAll(file, header));

      upstream.add(
        source.subscribe({
          next: (audio) => {
            const bytes = bytesOf(audio);
            audioBytes += bytes.byteLength;
            enqueue('write', (file) => writeAll(file, bytes));
          },
          error: fail,
          complete: () => {
            const pad = wav && audioBytes % 2 === 1 ? 1 : 0;
            if (pad === 1) enqueue('write', (file) => writeAll(file, new Uint8Array(1)));
            if (wav) enqueue('write', (file) => writeAll(file, wavHeader({ audioFormat, sampleRate, dataBytes: audioBytes }), 0));
            enqueue('close', async (file) => {
              await file.close();
              handle = undefined;
            });
            tasks = tasks.then(async () => {
              if (settled) return;
              try {
                await rename(temp, target);
              } catch (cause) {
                fail(new SisFileError({ path: target, operation: 'rename', cause }));
                return;
              }
              settled = true;
              subscriber.next({ path: target, fileBytes: header.byteLength + audioBytes + pad, audioBytes });
              subscriber.complete();
            });
          },
        }),
      );

      return () => {
        upstream.unsubscribe();
        if (settled) return;
        settled = true;
        const cleanup = cleanUp();
        pendingCleanups.add(cleanup);
        void cleanup.finally(() => pendingCleanups.delete(cleanup));
      };
    });
