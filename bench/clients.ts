/**
 * The two sides of every comparison, doing the same work on one session: connect with X-Auth-Token,
 * send the same START JSON, count the binary bytes, stop at END, close with 1000.
 *  - `ours`: the library's one-shot `synthesize$`.
 *  - `raw`: a bare `ws` client.
 */
import WebSocket from 'ws';
import { synthesize$, type SisClientOptions, type SynthesisRequest, type Timeouts } from '../lib/index.js';

export type Side = 'ours' | 'raw';
export const SIDES: readonly Side[] = ['ours', 'raw'];

/** Where the emulator listens. */
export interface Target {
  readonly url: string;
  readonly projectId: string;
  readonly token: string;
}

/** What both sides ask for; every field explicit so the raw START matches the library's byte for byte. */
export interface BenchRequest {
  readonly text: string;
  readonly sampleRate: 8000 | 16000;
  readonly voice: string;
  readonly speed: number;
}

export interface SessionResult {
  readonly bytes: number;
  /** performance.now() at subscription / socket creation. */
  readonly startedAt: number;
  /** ms from start to the first audio chunk (NaN if none). */
  readonly firstChunkMs: number;
  /** ms from start to END. */
  readonly totalMs: number;
}

/** A session: resolves at END/NORMAL, rejects on anything else. */
export type SessionRunner = (target: Target, request: BenchRequest) => Promise<SessionResult>;

export const libraryRequest = (request: BenchRequest): SynthesisRequest => ({
  text: request.text,
  audioFormat: 'pcm',
  sampleRate: request.sampleRate,
  voice: request.voice,
  speed: request.speed,
  pitch: 0,
  volume: 50,
});

/** The START command the raw client sends, built per session like a hand-written client would. */
export const rawStartJson = (request: BenchRequest): string =>
  JSON.stringify({
    command: 'START',
    text: request.text,
    config: {
      audio_format: 'pcm',
      sample_rate: String(request.sampleRate),
      property: request.voice,
      speed: request.speed,
      pitch: 0,
      volume: 50,
    },
  });

export interface OursSettings {
  readonly maxTextLength: number;
  readonly timeouts?: Partial<Timeouts>;
}

export const oursRunner =
  (settings: OursSettings): SessionRunner =>
  (target, request) =>
    new Promise((resolve, reject) => {
      const options: SisClientOptions = {
        endpoint: target.url,
        projectId: target.projectId,
        auth: { token: target.token },
        limits: { maxTextLength: settings.maxTextLength },
        ...(settings.timeouts === undefined ? {} : { timeouts: settings.timeouts }),
      };
      let bytes = 0;
      let firstChunkMs = Number.NaN;
      const startedAt = performance.now();
      synthesize$(libraryRequest(request), options).subscribe({
        next: (chunk) => {
          if (bytes === 0) firstChunkMs = performance.now() - startedAt;
          bytes += chunk.data.byteLength;
        },
        error: (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
        complete: () => resolve({ bytes, startedAt, firstChunkMs, totalMs: performance.now() - startedAt }),
      });
    });

const byteLength = (data: WebSocket.RawData): number => (Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength);

export const textOf = (data: WebSocket.RawData): string =>
  Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('utf8');

export const rawRunner: SessionRunner = (target, request) =>
  new Promise((resolve, reject) => {
    let bytes = 0;
    let firstChunkMs = Number.NaN;
    let done = false;
    const startedAt = performance.now();
    const ws = new WebSocket(`${target.url}/v1/${target.projectId}/rtts`, {
      headers: { 'X-Auth-Token': target.token },
      perMessageDeflate: false, // as the library (and the emulator): no extension negotiated
    });
    const failWith = (message: string): void => {
      if (done) return;
      done = true;
      ws.terminate();
      reject(new Error(message));
    };
    ws.on('open', () => ws.send(rawStartJson(request)));
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (done) return;
      if (isBinary) {
        if (bytes === 0) firstChunkMs = performance.now() - startedAt;
        bytes += byteLength(data);
        return;
      }
      const frame = JSON.parse(textOf(data)) as { resp_type?: unknown; reason?: unknown; error_code?: unknown };
      if (frame.resp_type === 'END' && frame.reason === 'NORMAL') {
        done = true;
        ws.close(1000);
        resolve({ bytes, startedAt, firstChunkMs, totalMs: performance.now() - startedAt });
      } else if (frame.resp_type === 'END' || frame.resp_type === 'ERROR' || frame.resp_type === 'FATAL_ERROR') {
        failWith(`raw: ${String(frame.resp_type)} ${String(frame.error_code ?? frame.reason)}`);
      }
    });
    ws.on('unexpected-response', (_req, response) => failWith(`raw: handshake rejected with HTTP ${response.statusCode ?? 0}`));
    ws.on('error', (error) => failWith(`raw: ${error.message}`));
    ws.on('close', (code) => failWith(`raw: closed with ${code} before END`));
  });

export const runnerFor = (side: Side, ours: OursSettings): SessionRunner => (side === 'ours' ? oursRunner(ours) : rawRunner);

/** Rejects when `promise` has not settled within `ms` (the bench must stop by itself). */
export const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
};
