/**
 * A raw `ws` client for driving the emulator: it records every frame it receives, closes on END
 * like a well-behaved client, and offers event-driven waits (no sleeps).
 */
import { WebSocket, type RawData } from 'ws';
import { REQUEST_DEFAULTS, toStartCommand, type ResolvedRequest, type SynthesisRequest } from '../../lib/protocol/request.js';
import { STREAMING_PATH, type StreamingCommand } from '../../lib/protocol/streaming.js';
import type { StartCommand } from '../../lib/protocol/wire.js';
import type { Emulator } from '../../lib/emulator/index.js';

export type Frame =
  | { readonly kind: 'text'; readonly raw: string; readonly json: Record<string, unknown> | undefined }
  | { readonly kind: 'binary'; readonly data: Buffer };

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** The START command for a request in the public shape (text only is enough); not validated, so blank texts pass. */
export const command = (request: SynthesisRequest): StartCommand =>
  toStartCommand({
    ...REQUEST_DEFAULTS,
    subtitle: undefined,
    ...(Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined)) as SynthesisRequest & Partial<ResolvedRequest>),
  });

export const rttsUrl = (emulator: Emulator, projectId = emulator.projectId): string => `${emulator.url}/v1/${projectId}/rtts`;
/** The path of the streaming endpoint, for `TestClient.connect(emulator, { path })`. */
export const streamingPath = (emulator: Emulator, projectId = emulator.projectId): string => STREAMING_PATH.replace('{project_id}', projectId);

const parse = (raw: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

const toBuffer = (data: RawData): Buffer => (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));

/** `resp_type` of a text frame, `'binary'` for audio, `'malformed'` for text that is not a JSON object. */
export const typeOf = (frame: Frame): string =>
  frame.kind === 'binary' ? 'binary' : typeof frame.json?.['resp_type'] === 'string' ? String(frame.json['resp_type']) : 'malformed';

/** Frame types with runs of binary frames collapsed: `['START', 'binary…', 'END']`. */
export const shape = (frames: readonly Frame[]): string[] =>
  frames.map(typeOf).reduce<string[]>((acc, type) => {
    if (type === 'binary' && acc[acc.length - 1] === 'binary…') return acc;
    acc.push(type === 'binary' ? 'binary…' : type);
    return acc;
  }, []);

export const audioOf = (frames: readonly Frame[]): Buffer => Buffer.concat(frames.flatMap((f) => (f.kind === 'binary' ? [f.data] : [])));

export const textFrames = (frames: readonly Frame[], respType: string): Record<string, unknown>[] =>
  frames.flatMap((f) => (f.kind === 'text' && f.json !== undefined && f.json['resp_type'] === respType ? [f.json] : []));

export interface ClientOptions {
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** Close (1000) when END arrives, as the protocol asks of a client. Default true. */
  readonly closeOnEnd?: boolean;
}

/** A connected test client. */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<Closed>;
  private waiters: { test: (frame: Frame) => boolean; resolve: (frame: Frame) => void }[] = [];

  private constructor(
    readonly ws: WebSocket,
    closeOnEnd: boolean,
  ) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const frame: Frame = isBinary
        ? { kind: 'binary', data: toBuffer(data) }
        : { kind: 'text', raw: toBuffer(data).toString('utf8'), json: parse(toBuffer(data).toString('utf8')) };
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(frame)) return true;
        w.resolve(frame);
        return false;
      });
      if (closeOnEnd && typeOf(frame) === 'END') ws.close(1000);
    });
  }

  static connect(emulator: Emulator, options: ClientOptions = {}): Promise<TestClient> {
    const url = options.path === undefined ? rttsUrl(emulator) : `${emulator.url}${options.path}`;
    const ws = new WebSocket(url, { headers: options.headers ?? { 'X-Auth-Token': emulator.token } });
    const client = new TestClient(ws, options.closeOnEnd ?? true);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  send(message: StartCommand | StreamingCommand | string | Buffer): this {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
    return this;
  }

  /** The first frame (already received or to come) for which `test` holds. */
  until(test: (frame: Frame) => boolean): Promise<Frame> {
    const found = this.frames.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  /** Resolves once `count` frames have arrived. */
  async untilCount(count: number): Promise<void> {
    if (this.frames.length < count) await this.until(() => this.frames.length >= count);
  }

  untilType(respType: string): Promise<Frame> {
    return this.until((frame) => typeOf(frame) === respType);
  }

  /** Closes from the client side and waits for the close to complete. */
  async close(code = 1000): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code);
    return this.closed;
  }
}

/** One whole session: connect, send, and wait until the socket is closed (by END or by the server). */
export const converse = async (
  emulator: Emulator,
  message: StartCommand | string | Buffer,
  options: ClientOptions = {},
): Promise<{ frames: Frame[]; closed: Closed }> => {
  const client = await TestClient.connect(emulator, options);
  client.send(message);
  const closed = await client.closed;
  return { frames: client.frames, closed };
};

export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Attempts a handshake; resolves with the HTTP status and JSON body of a rejection, or 101. */
export const handshake = (url: string, headers: Record<string, string>): Promise<HttpAnswer> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close(1000);
      resolve({ status: 101, body: undefined });
    });
    ws.once('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: parse(text) ?? text });
      });
    });
    ws.once('error', reject);
  });
