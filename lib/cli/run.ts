/**
 * `sis-tts` from parsed arguments to an exit code: read the text, pick the service or the embedded
 * emulator, synthesise (long texts in parts), write the audio, report. Everything the process
 * touches comes in through {@link CliIo}, so it can be tested in-process.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tap, type Observable, type Subscription } from 'rxjs';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { bytesPerSecond, type SynthesisRequest } from '../protocol/request.js';
import { createSisClient, type SisClient } from '../session/client.js';
import { synthesizeLong$, type LongAudioChunk } from '../compose/synthesize-long.js';
import { toReadable } from '../node/to-readable.js';
import { toWav } from '../operators/to-wav.js';
import { settledFileWrites, writeAudioFile } from '../node/write-audio-file.js';
import { parseArgs, type CliOptions } from './args.js';
import { ENV, resolveCredentials } from './credentials.js';
import { EXIT, UsageError, describeError, exitCodeFor, type ExitCode } from './exit-codes.js';
import { progressBar } from './progress.js';

type Tty = { isTTY?: boolean };

export interface CliIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: Readable & Tty;
  readonly stdout: Writable & Tty;
  readonly stderr: Writable & Tty;
  /** Aborting (e.g. on SIGINT) stops the synthesis and removes the unfinished file. */
  readonly signal?: AbortSignal | undefined;
}

/** What `--json` prints. */
export interface CliReport {
  readonly output: string;
  readonly emulator: boolean;
  readonly audioFormat: string;
  readonly sampleRate: number;
  readonly container: 'wav' | 'raw';
  readonly fileBytes: number | undefined;
  readonly audioBytes: number;
  readonly seconds: number | undefined;
  readonly parts: readonly { readonly part: number; readonly traceId: string; readonly audioBytes: number }[];
}

// lib/cli/run.ts and dist/cli/run.js are both two levels below package.json.
const version = (): string => {
  try {
    const pkg: unknown = createRequire(import.meta.url)('../../package.json');
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
};

const readAll = async (stream: Readable): Promise<string> => {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.isBuffer(part) ? part : Buffer.from(String(part)));
  return Buffer.concat(parts).toString('utf8');
};

const readText = async (options: CliOptions, io: CliIo): Promise<string> => {
  if (options.text !== undefined && options.file !== undefined) throw new UsageError('give the text as an argument or with --file, not both');
  if (options.text !== undefined) return options.text;
  if (options.file !== undefined) {
    try {
      return await readFile(options.file, 'utf8');
    } catch (cause) {
      throw new UsageError(`cannot read --file ${options.file}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  if (io.stdin.isTTY === true) throw new UsageError('no text: give it as an argument, with --file, or on stdin');
  return readAll(io.stdin);
};

const containerOf = (options: CliOptions): 'wav' | 'raw' => {
  if (options.audioFormat === 'mp3') return 'raw';
  if (options.container !== undefined) return options.container;
  return options.output === '-' || options.output.toLowerCase().endsWith('.wav') ? 'wav' : 'raw';
};

/** The run was stopped by the signal (SIGINT, SIGTERM). */
class Interrupted extends Error {}

/** Resolves with the last value, or rejects; unsubscribes (and waits for file cleanup) when aborted. */
const untilDone = <T>(audio$: Observable<T>, signal: AbortSignal | undefined): Promise<T | undefined> =>
  new Promise<T | undefined>((resolve, reject) => {
    let last: T | undefined;
    let subscription: Subscription | undefined;
    const abort = (): void => {
      subscription?.unsubscribe();
      void settledFileWrites().then(() => reject(new Interrupted()));
    };
    if (signal?.aborted === true) return abort();
    signal?.addEventListener('abort', abort, { once: true });
    subscription = audio$.subscribe({
      next: (value) => (last = value),
      error: (error: unknown) => {
        signal?.removeEventListener('abort', abort);
        reject(error);
      },
      complete: () => {
        signal?.removeEventListener('abort', abort);
        resolve(last);
      },
    });
  });


interface Backend {
  readonly client: SisClient;
  readonly emulator: Emulator | undefined;
  readonly secrets: readonly string[];
}

const connect = async (options: CliOptions, io: CliIo): Promise<Backend> => {
  const credentials = resolveCredentials(io.env);
  if (!options.emulator && credentials.kind === 'incomplete') {
    throw new UsageError(`credentials are incomplete: ${credentials.problems.join('; ')} (or pass --emulator)`);
  }
  if (options.emulator || credentials.kind !== 'service') {
    if (!options.emulator) {
      io.stderr.write(
        `sis-tts: no credentials configured (${ENV.ak} + ${ENV.sk} or ${ENV.token}, ${ENV.projectId}, ${ENV.region} or ${ENV.endpoint}): using the embedded emulator (--emulator)\n`,
      );
    }
    const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
    const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
    return { client, emulator, secrets: [] };
  }
  const client = createSisClient({
    endpoint: credentials.endpoint,
    projectId: credentials.projectId,
    auth: credentials.auth,
    ...(credentials.enterpriseProjectId === undefined ? {} : { enterpriseProjectId: credentials.enterpriseProjectId }),
  });
  return { client, emulator: undefined, secrets: credentials.secrets };
};

const synthesize = async (options: CliOptions, text: string, backend: Backend, io: CliIo): Promise<CliReport> => {
  const request: SynthesisRequest = {
    text,
    audioFormat: options.audioFormat,
    sampleRate: options.sampleRate,
    ...(options.voice === undefined ? {} : { voice: options.voice }),
    ...(options.speed === undefined ? {} : { speed: options.speed }),
    ...(options.pitch === undefined ? {} : { pitch: options.pitch }),
    ...(options.volume === undefined ? {} : { volume: options.volume }),
  };
  const container = containerOf(options);
  const rate = bytesPerSecond(options.audioFormat, options.sampleRate);
  const parts = new Map<number, { part: number; traceId: string; audioBytes: number }>();
  let audioBytes = 0;
  const progress = progressBar(io.stderr);
  const track = tap((chunk: LongAudioChunk) => {
    const part = parts.get(chunk.part) ?? { part: chunk.part, traceId: chunk.traceId, audioBytes: 0 };
    part.audioBytes += chunk.data.byteLength;
    parts.set(chunk.part, part);
    audioBytes += chunk.data.byteLength;
    progress.update(chunk.part, chunk.parts, rate === undefined ? undefined : audioBytes / rate);
  });
  const long = { client: backend.client, concurrency: options.concurrency, maxPartLength: options.maxPartLength, retry: { count: options.retries } };

  let fileBytes: number | undefined;
  try {
    if (options.output === '-') {
      const readable = toReadable((paused$) => {
        const audio$ = synthesizeLong$(request, { ...long, paused$ }).pipe(track);
        return container === 'wav' ? audio$.pipe(toWav(request)) : audio$;
      });
      await pipeline(readable, io.stdout, ...(io.signal === undefined ? [] : [{ signal: io.signal }]));
    } else {
      const written = await untilDone(
        synthesizeLong$(request, long).pipe(track, writeAudioFile(options.output, { format: container, audioFormat: options.audioFormat, sampleRate: options.sampleRate })),
        io.signal,
      );
      fileBytes = written?.fileBytes;
    }
  } finally {
    progress.stop();
  }
  return {
    output: options.output,
    emulator: backend.emulator !== undefined,
    audioFormat: options.audioFormat,
    sampleRate: options.sampleRate,
    container,
    fileBytes,
    audioBytes,
    seconds: rate === undefined ? undefined : audioBytes / rate,
    parts: [...parts.values()].sort((a, b) => a.part - b.part),
  };
};

/** Runs `sis-tts`; resolves with the exit code (never rejects). */
export const main = async (io: CliIo): Promise<ExitCode> => {
  const parsed = parseArgs(io.argv, { out: (s) => io.stdout.write(s), err: (s) => io.stderr.write(s) }, version());
  if (parsed.kind === 'exit') return parsed.code === 0 ? EXIT.ok : EXIT.usage;
  const { options } = parsed;
  let backend: Backend | undefined;
  try {
    if (options.json && options.output === '-') throw new UsageError('--json prints to stdout, so the audio cannot go there too (-o -)');
    const text = await readText(options, io);
    backend = await connect(options, io);
    const report = await synthesize(options, text, backend, io);
    if (options.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (options.output !== '-') {
      const length = report.seconds === undefined ? `${report.audioBytes} bytes` : `${report.seconds.toFixed(2)} s`;
      io.stderr.write(`sis-tts: wrote ${options.output} (${length} of ${report.audioFormat} at ${report.sampleRate} Hz, ${report.parts.length} part${report.parts.length === 1 ? '' : 's'})\n`);
    }
    return EXIT.ok;
  } catch (error) {
    // The reader of stdout went away (e.g. `| head`): nothing left to tell.
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPIPE') return EXIT.ok;
    if (error instanceof Interrupted || io.signal?.aborted === true) {
      io.stderr.write('sis-tts: interrupted\n');
      return EXIT.interrupted;
    }
    io.stderr.write(`${describeError(error, backend?.secrets ?? [])}\n`);
    return exitCodeFor(error);
  } finally {
    await backend?.emulator?.close();
  }
};
