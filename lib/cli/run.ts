/**
 * `sis-tts` from parsed arguments to an exit code: read the text, pick the service or the embedded
 * emulator, synthesise (long texts in parts), write the audio, report. Everything the process
 * touches comes in through {@link CliIo}, so it can be tested in-process.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { text as readStream } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { tap, type Observable, type Subscription } from 'rxjs';
import { hasSisEnv } from '../auth/env.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { bytesPerSecond, type SynthesisRequest } from '../protocol/request.js';
import { createSisClient, type SisClient } from '../session/client.js';
import type { SisClientOptions } from '../session/options.js';
import { synthesizeLong$, type LongAudioChunk } from '../compose/synthesize-long.js';
import { toReadable } from '../node/to-readable.js';
import { toWav } from '../operators/to-wav.js';
import { settledFileWrites, writeAudioFile } from '../node/write-audio-file.js';
import { parseArgs, type CliOptions } from './args.js';
import { resolveCredentials } from './credentials.js';
import { EXIT, describeError, exitCodeFor, type ExitCode } from './exit-codes.js';
import { STDOUT, type Container } from './output.js';
import { progressBar } from './progress.js';
import { failureText, UsageError } from './usage.js';

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
  readonly container: Container;
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

const readText = async (options: CliOptions, io: CliIo): Promise<string> => {
  if (options.text !== undefined) return options.text;
  if (options.file !== undefined) {
    try {
      return await readFile(options.file, 'utf8');
    } catch (cause) {
      throw new UsageError(`cannot read --file ${options.file}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  if (io.stdin.isTTY === true) throw new UsageError('no text: give it as an argument, with --file, or on stdin');
  return readStream(io.stdin);
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

/** Where the text goes: the service, with the credentials of the environment, or the embedded emulator. */
type Target = { readonly kind: 'service'; readonly options: SisClientOptions; readonly secrets: readonly string[] } | { readonly kind: 'emulator' };

interface Backend {
  readonly client: SisClient;
  /** Closed when the run ends. */
  readonly emulator: Emulator | undefined;
}

/** Decides the target before anything is read or started: missing credentials are bad usage (exit 2). */
const chooseTarget = (options: CliOptions, io: CliIo): Target => {
  if (options.emulator) {
    if (hasSisEnv(io.env))
      io.stderr.write('sis-tts: --emulator given: using the embedded emulator, not the HUAWEICLOUD_SIS_* variables set in the environment\n');
    return { kind: 'emulator' };
  }
  const credentials = resolveCredentials(io.env, { allowPlainWs: options.allowPlainWs });
  if (credentials.kind === 'missing') {
    throw new UsageError(
      `${credentials.configured ? 'the HUAWEICLOUD_SIS_* variables are incomplete or invalid' : 'no credentials in the environment'}: ${credentials.problems.join('; ')} (or pass --emulator to use the embedded emulator)`,
    );
  }
  return { kind: 'service', options: credentials.options, secrets: credentials.secrets };
};

const connect = async (target: Target): Promise<Backend> => {
  if (target.kind === 'service') return { client: createSisClient(target.options), emulator: undefined };
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
  return { client, emulator };
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
  const { container } = options;
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
    if (options.output === STDOUT) {
      const readable = toReadable((paused$) => {
        const audio$ = synthesizeLong$(request, { ...long, paused$ }).pipe(track);
        return container === 'wav' ? audio$.pipe(toWav(request)) : audio$;
      });
      await pipeline(readable, io.stdout, ...(io.signal === undefined ? [] : [{ signal: io.signal }]));
    } else {
      const written = await untilDone(
        synthesizeLong$(request, long).pipe(
          track,
          writeAudioFile(options.output, { container, audioFormat: options.audioFormat, sampleRate: options.sampleRate }),
        ),
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
  let target: Target | undefined;
  let backend: Backend | undefined;
  try {
    target = chooseTarget(options, io);
    const text = await readText(options, io);
    backend = await connect(target);
    const report = await synthesize(options, text, backend, io);
    if (options.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (options.output !== STDOUT) {
      const length = report.seconds === undefined ? `${report.audioBytes} bytes` : `${report.seconds.toFixed(2)} s`;
      io.stderr.write(
        `sis-tts: wrote ${options.output} (${length} of ${report.audioFormat} at ${report.sampleRate} Hz, ${report.parts.length} part${report.parts.length === 1 ? '' : 's'})\n`,
      );
    }
    return EXIT.ok;
  } catch (error) {
    // The reader of stdout went away (e.g. `| head`): nothing left to tell.
    if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPIPE') return EXIT.ok;
    if (error instanceof Interrupted || io.signal?.aborted === true) {
      io.stderr.write('sis-tts: interrupted\n');
      return EXIT.interrupted;
    }
    const code = exitCodeFor(error);
    io.stderr.write(failureText('sis-tts', describeError(error, target?.kind === 'service' ? target.secrets : []), code === EXIT.usage));
    return code;
  } finally {
    await backend?.emulator?.close();
  }
};
