/**
 * (e) LLM → speech (issue 9), the worker's side. A simulated LLM writes an answer (Chinese and English,
 * {@link ANSWER}) in tokens of 1–4 characters, one every 15 ms (token sizes from a seeded PRNG), and
 * six clients speak it, against an emulator with a 30 ms handshake, 100 ms of think time before each
 * sentence's first audio, and audio paced in real time:
 *   - realtime:      `client.speak$(text$, { api: 'realtime', lookahead: 2 })`
 *   - streaming:     `client.speak$(text$, { api: 'streaming' })`
 *   - naive:         `text$.pipe(sentences(), concatMap((s) => client.synthesize$({ text: s })))`
 *   - whole:         the whole text first, then one `client.synthesize$({ text })`
 *   - raw-streaming: a bare `ws` client doing the streaming API by hand: START on open, a MSG per
 *                    `sentences()` piece, END when the text is complete (streaming's baseline)
 *   - raw-realtime:  a bare `ws` real-time session opened when `sentences()` has the first piece,
 *                    closed at its first audio (the floor of a real-time first audio on this machine)
 * For each: when `sentences()` emits the first piece ("first sentence ready", measured by a second
 * `sentences()` fed the same tokens in the same turn of the event loop), when the first audio arrives
 * (both from the subscription), and what a listener hears: a player that starts with the first chunk
 * and plays every byte at its real-time rate (16-bit PCM, 16 kHz: 32 bytes a millisecond); when a
 * chunk arrives after the audio before it has finished playing, the listener hears silence. The gap
 * at a sentence boundary is the silence just before the first byte of that sentence's audio (none
 * when the boundary falls inside a chunk).
 *
 * Where sentence boundaries lie in the audio: realtime, each chunk names its sentence; naive, one
 * session per sentence; streaming and raw-streaming, the sentences the emulator synthesised on that
 * socket (its session record) and their audio lengths; whole, the first sample of each sentence's
 * first character in the emulator's audio timeline of the whole text.
 *
 * The six run at once in each round, each on its own copy of the token stream and its own sockets:
 * one after the other, a round would take five times the length of the audio. The emulator runs in
 * this process: its session records locate the sentence boundaries of the one-socket methods and
 * account for every byte (checked), and the load (five speeches, a 20 ms frame every 20 ms each) is
 * small; the event loop's delay is measured and reported, so a noisy machine shows.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { concatMap, defer, map, Observable, reduce, Subject, take, tap } from 'rxjs';
import WebSocket from 'ws';
import { planAudio } from '../lib/emulator/audio/plan.js';
import { startEmulator, synthesizeStreamingAudio, type Emulator, type SessionRecord, type StreamingStartCommand } from '../lib/emulator/index.js';
import { createSisClient, sentences, type SisClient, type SpeakOptions } from '../lib/index.js';
import { rawStartJson, textOf, within } from './clients.js';
import { mulberry32 } from './stats.js';

/**
 * The answer: eight sentences (as `sentences()` cuts it), a short one first as LLMs often start, 155
 * characters, 16 s of speech. Long enough to cross seven sentence boundaries, short enough that five
 * rounds at real-time pacing take under two minutes.
 */
export const ANSWER =
  '好的。' +
  'RxJS 把每条消息变成一个 Observable。' +
  '语音合成时，每个句子是一次会话。' +
  'The next one is ready before this one ends. ' +
  '所以句子之间没有停顿！' +
  '想试试 npm run bench 吗？' +
  'Short first sentences help. ' +
  '祝你编码愉快。';

export const SPEAK_SETTINGS = {
  tokenEveryMs: 15,
  tokenChars: [1, 4],
  seed: 0x5eed,
  handshakeDelayMs: 30,
  firstAudioDelayMs: 100,
  realtimeFactor: 1,
  /** 20 ms of 16 kHz PCM: a frame is sent when its first sample is due, so a client holds at most one frame ahead of the listener. */
  frameBytes: 640,
  sampleRate: 16000,
  lookahead: 2,
} as const;

const BYTES_PER_MS = (SPEAK_SETTINGS.sampleRate * 2) / 1000;

export type SpeakMethod = 'realtime' | 'streaming' | 'naive' | 'whole' | 'raw-streaming' | 'raw-realtime';
export const SPEAK_METHODS: readonly SpeakMethod[] = ['realtime', 'streaming', 'naive', 'whole', 'raw-streaming', 'raw-realtime'];

export interface SpeakJob {
  readonly rounds: number;
}

/** One method in one round; times in ms from the subscription (raw clients: from their subscription to the tokens). */
export interface SpeakRun {
  readonly readyMs: number;
  readonly firstAudioMs: number;
  readonly totalMs: number;
  readonly bytes: number;
  /** The silence heard at each sentence boundary, in order (none for raw-realtime). */
  readonly boundaryGapsMs: number[];
  /** All the silence heard after the first audio, within sentences too (absent for raw-realtime). */
  readonly silenceMs?: number;
}

export interface SpeakReport {
  readonly rounds: number;
  readonly characters: number;
  /** Pieces `sentences()` makes of the answer. */
  readonly sentences: number;
  /** Tokens of each round (their sizes change with the round's seed). */
  readonly tokens: number[];
  /** The realtime method's audio, ms. */
  readonly audioMs: number;
  readonly runs: Record<SpeakMethod, SpeakRun[]>;
  /** The event loop's delay over the measured rounds, ms. */
  readonly loopDelayMs: { readonly p99: number; readonly max: number };
}

// ---- the simulated LLM ------------------------------------------------------------------------

/** The text in tokens of 1–4 code points (a token never splits a character). */
export const tokenize = (text: string, seed: number): string[] => {
  const random = mulberry32(seed);
  const [min, max] = SPEAK_SETTINGS.tokenChars;
  const characters = [...text];
  const tokens: string[] = [];
  for (let at = 0; at < characters.length; ) {
    const size = min + Math.floor(random() * (max - min + 1));
    tokens.push(characters.slice(at, at + size).join(''));
    at += size;
  }
  return tokens;
};

/** A token every `everyMs` from the subscription, on an absolute schedule (no drift); cold. */
const llm$ = (tokens: readonly string[], everyMs: number): Observable<string> =>
  new Observable<string>((subscriber) => {
    const origin = performance.now();
    let next = 0;
    let timer: NodeJS.Timeout | undefined;
    const tick = (): void => {
      subscriber.next(tokens[next] ?? '');
      next += 1;
      if (next >= tokens.length) return subscriber.complete();
      timer = setTimeout(tick, Math.max(0, origin + everyMs * (next + 1) - performance.now()));
    };
    timer = setTimeout(tick, everyMs);
    return () => clearTimeout(timer);
  });

/** The token stream of one method, with a `sentences()` of its own noting when the first piece is ready. */
class Probe {
  readyAt: number | undefined;
  readonly pieces: string[] = [];
  readonly text$: Observable<string>;

  constructor(tokens: readonly string[]) {
    this.text$ = defer(() => {
      const fragments = new Subject<string>();
      fragments.pipe(sentences()).subscribe((piece) => {
        this.readyAt ??= performance.now();
        this.pieces.push(piece);
      });
      return llm$(tokens, SPEAK_SETTINGS.tokenEveryMs).pipe(tap({ next: (token) => fragments.next(token), complete: () => fragments.complete() }));
    });
  }
}

// ---- the six methods ----------------------------------------------------------------------------

/** A chunk as it reached the consumer. */
interface Arrival {
  readonly atMs: number;
  readonly bytes: number;
}

/** What one method received. */
interface Trace {
  readonly startedAt: number;
  readonly arrivals: Arrival[];
  readonly totalMs: number;
  readonly traceIds: ReadonlySet<string>;
  /** Byte offsets where sentences 1, 2, … start, when the chunks say (realtime, naive). */
  readonly boundaries: number[] | undefined;
  /** Only the first audio was waited for (raw-realtime). */
  readonly firstAudioOnly?: boolean;
}

/** Audio with the sentence it speaks, where the method knows it. */
interface Heard {
  readonly data: Uint8Array;
  readonly traceId: string;
  readonly sentence: number | undefined;
}

const capture = (audio$: Observable<Heard>, sentenceKnown: boolean): Promise<Trace> =>
  new Promise((resolve, reject) => {
    const arrivals: Arrival[] = [];
    const boundaries: number[] = [];
    const traceIds = new Set<string>();
    let offset = 0;
    let sentence: number | undefined;
    const startedAt = performance.now();
    audio$.subscribe({
      next: (heard) => {
        const atMs = performance.now() - startedAt;
        if (heard.sentence !== undefined && sentence !== undefined && heard.sentence !== sentence) {
          if (heard.sentence !== sentence + 1) return reject(new Error(`sentence ${heard.sentence} came after sentence ${sentence}`));
          boundaries.push(offset);
        }
        sentence = heard.sentence;
        arrivals.push({ atMs, bytes: heard.data.byteLength });
        offset += heard.data.byteLength;
        traceIds.add(heard.traceId);
      },
      error: (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      complete: () => resolve({ startedAt, arrivals, totalMs: performance.now() - startedAt, traceIds, boundaries: sentenceKnown ? boundaries : undefined }),
    });
  });

const voice = { audioFormat: 'pcm', sampleRate: SPEAK_SETTINGS.sampleRate } as const;

const speakRealtime = (client: SisClient, text$: Observable<string>): Promise<Trace> => {
  const options: SpeakOptions = { ...voice, api: 'realtime', lookahead: SPEAK_SETTINGS.lookahead };
  return capture(client.speak$(text$, options).pipe(map((chunk) => ({ data: chunk.data, traceId: chunk.traceId, sentence: chunk.sentence?.index }))), true);
};

const speakStreaming = (client: SisClient, text$: Observable<string>): Promise<Trace> =>
  capture(
    client.speak$(text$, { ...voice, api: 'streaming' }).pipe(map((chunk) => ({ data: chunk.data, traceId: chunk.traceId, sentence: undefined }))),
    false,
  );

const naive = (client: SisClient, text$: Observable<string>): Promise<Trace> =>
  capture(
    text$.pipe(
      sentences(),
      concatMap((text, index) => client.synthesize$({ ...voice, text }).pipe(map((chunk) => ({ data: chunk.data, traceId: chunk.traceId, sentence: index })))),
    ),
    true,
  );

const whole = (client: SisClient, text$: Observable<string>): Promise<Trace> =>
  capture(
    text$.pipe(
      reduce((text, token) => text + token, ''),
      concatMap((text) => client.synthesize$({ ...voice, text })),
      map((chunk) => ({ data: chunk.data, traceId: chunk.traceId, sentence: undefined })),
    ),
    false,
  );

const rawSocket = (emulator: Emulator, path: string): WebSocket =>
  new WebSocket(`${emulator.url}/v1/${emulator.projectId}/${path}`, { headers: { 'X-Auth-Token': emulator.token }, perMessageDeflate: false });

const byteLength = (data: WebSocket.RawData): number => (Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength);

/** The streaming API by hand: what `speak$` streaming does, minus the library. */
const rawStreaming = (emulator: Emulator, text$: Observable<string>): Promise<Trace> =>
  new Promise((resolve, reject) => {
    const arrivals: Arrival[] = [];
    const traceIds = new Set<string>();
    const queued: string[] = [];
    let open = false;
    let inputDone = false;
    let done = false;
    const startedAt = performance.now();
    const ws = rawSocket(emulator, 'vcs/voices/clone');
    const send = (command: StreamingStartCommand | { command: 'MSG'; text: string } | { command: 'END' }): void => ws.send(JSON.stringify(command));
    const fail = (message: string): void => {
      if (done) return;
      done = true;
      input.unsubscribe();
      ws.terminate();
      reject(new Error(`raw: ${message}`));
    };
    const input = text$.pipe(sentences()).subscribe({
      next: (piece) => (open ? send({ command: 'MSG', text: piece }) : queued.push(piece)),
      error: (error: unknown) => fail(String(error)),
      complete: () => {
        inputDone = true;
        if (open) send({ command: 'END' });
      },
    });
    ws.on('open', () => {
      open = true;
      const config = { voice_name: 'chinese_huaxiaoli_common', audio_format: 'pcm', sample_rate: '16kHz', speed: 0, pitch: 0, volume: 50 } as const;
      send({ command: 'START', text_pieces: 'MULTI', config });
      for (const piece of queued.splice(0)) send({ command: 'MSG', text: piece });
      if (inputDone) send({ command: 'END' });
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (done) return;
      if (isBinary) {
        arrivals.push({ atMs: performance.now() - startedAt, bytes: byteLength(data) });
        return;
      }
      const frame = JSON.parse(textOf(data)) as { resp_type?: unknown; reason?: unknown; trace_id?: unknown; error_code?: unknown };
      if (typeof frame.trace_id === 'string') traceIds.add(frame.trace_id);
      if (frame.resp_type === 'END' && frame.reason === 'NORMAL') {
        done = true;
        ws.close(1000);
        resolve({ startedAt, arrivals, totalMs: performance.now() - startedAt, traceIds, boundaries: undefined });
      } else if (frame.resp_type === 'END' || frame.resp_type === 'ERROR' || frame.resp_type === 'FATAL_ERROR') {
        fail(`${String(frame.resp_type)} ${String(frame.error_code ?? frame.reason)}`);
      }
    });
    ws.on('unexpected-response', (_request, response) => fail(`handshake rejected with HTTP ${response.statusCode ?? 0}`));
    ws.on('error', (error) => fail(error.message));
    ws.on('close', (code) => fail(`closed with ${code} before END`));
  });

/** What a real-time first audio costs without the library: a session opened when the first sentence is ready, closed at its first audio. */
const rawRealtime = (emulator: Emulator, text$: Observable<string>): Promise<Trace> =>
  new Promise((resolve, reject) => {
    const traceIds = new Set<string>();
    const startedAt = performance.now();
    text$.pipe(sentences(), take(1)).subscribe({
      next: (text) => {
        const ws = rawSocket(emulator, 'rtts');
        let done = false;
        const fail = (message: string): void => {
          if (done) return;
          done = true;
          ws.terminate();
          reject(new Error(`raw-realtime: ${message}`));
        };
        ws.on('open', () => ws.send(rawStartJson({ text, sampleRate: SPEAK_SETTINGS.sampleRate, voice: 'chinese_xiaoyan_common', speed: 0 })));
        ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
          if (done) return;
          if (!isBinary) {
            const frame = JSON.parse(textOf(data)) as { resp_type?: unknown; trace_id?: unknown; error_code?: unknown };
            if (typeof frame.trace_id === 'string') traceIds.add(frame.trace_id);
            if (frame.resp_type !== 'START') fail(`${String(frame.resp_type)} ${String(frame.error_code)} before any audio`);
            return;
          }
          done = true;
          const atMs = performance.now() - startedAt;
          ws.close(1000);
          resolve({ startedAt, arrivals: [{ atMs, bytes: byteLength(data) }], totalMs: atMs, traceIds, boundaries: [], firstAudioOnly: true });
        });
        ws.on('unexpected-response', (_request, response) => fail(`handshake rejected with HTTP ${response.statusCode ?? 0}`));
        ws.on('error', (error) => fail(error.message));
        ws.on('close', (code) => fail(`closed with ${code} before any audio`));
      },
      error: (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
    });
  });

const run = (method: SpeakMethod, client: SisClient, emulator: Emulator, text$: Observable<string>): Promise<Trace> => {
  switch (method) {
    case 'realtime':
      return speakRealtime(client, text$);
    case 'streaming':
      return speakStreaming(client, text$);
    case 'naive':
      return naive(client, text$);
    case 'whole':
      return whole(client, text$);
    case 'raw-streaming':
      return rawStreaming(emulator, text$);
    case 'raw-realtime':
      return rawRealtime(emulator, text$);
  }
};

// ---- what the listener hears ------------------------------------------------------------------

const recordsOf = (emulator: Emulator, trace: Trace): SessionRecord[] => {
  const records = emulator.sessions.filter((r) => r.traceId !== undefined && trace.traceIds.has(r.traceId));
  if (records.length !== trace.traceIds.size) throw new Error(`no emulator record for some of ${[...trace.traceIds].join(', ')}`);
  return records;
};

/** Byte offsets where sentences 1, 2, … start in one socket's audio, from what the emulator synthesised. */
const boundariesOf = (record: SessionRecord, pieces: readonly string[]): number[] => {
  if (record.api === 'streaming') {
    const { command } = record;
    if (command === undefined) throw new Error('a streaming record without START');
    const offsets: number[] = [];
    let offset = 0;
    for (const sentence of record.sentences) {
      if (offset > 0) offsets.push(offset);
      offset += synthesizeStreamingAudio(command.config, sentence).byteLength;
    }
    return offsets;
  }
  // One real-time session for the whole text: where each piece's first character starts sounding.
  const text = record.command?.text ?? '';
  const plan = planAudio(text, SPEAK_SETTINGS.sampleRate, 0, 0);
  let from = 0;
  return pieces.slice(1).map((piece) => {
    const at = text.indexOf(piece.trim(), from);
    if (at < 0) throw new Error(`the piece ${JSON.stringify(piece)} is not in the synthesised text`);
    from = at + piece.trim().length;
    const syllable = plan.syllables[[...text.slice(0, at)].length];
    return (syllable?.start ?? plan.totalSamples) * 2;
  });
};

/** The player: starts with the first chunk, plays each at its real-time rate, waits (silence) for late ones. */
const listen = (trace: Trace, boundaries: readonly number[], readyMs: number): SpeakRun => {
  const gapAt = new Map<number, number>();
  let playedUntil = trace.arrivals[0]?.atMs ?? Number.NaN;
  let offset = 0;
  let silenceMs = 0;
  for (const { atMs, bytes } of trace.arrivals) {
    const gap = Math.max(0, atMs - playedUntil);
    silenceMs += gap;
    gapAt.set(offset, gap);
    playedUntil = Math.max(playedUntil, atMs) + bytes / BYTES_PER_MS;
    offset += bytes;
  }
  return {
    readyMs,
    firstAudioMs: trace.arrivals[0]?.atMs ?? Number.NaN,
    totalMs: trace.totalMs,
    bytes: offset,
    // A boundary inside a chunk is heard without a break.
    boundaryGapsMs: boundaries.map((b) => gapAt.get(b) ?? 0),
    silenceMs,
  };
};

const measure = (method: SpeakMethod, trace: Trace, probe: Probe, emulator: Emulator): SpeakRun => {
  if (probe.readyAt === undefined) throw new Error(`(e) ${method}: no sentence was ever ready`);
  const readyMs = probe.readyAt - trace.startedAt;
  if (trace.firstAudioOnly === true) {
    const [first] = trace.arrivals;
    return { readyMs, firstAudioMs: first?.atMs ?? Number.NaN, totalMs: trace.totalMs, bytes: first?.bytes ?? 0, boundaryGapsMs: [] };
  }
  const records = recordsOf(emulator, trace);
  const sent = records.reduce((n, r) => n + r.audioBytes, 0);
  const received = trace.arrivals.reduce((n, a) => n + a.bytes, 0);
  if (received !== sent || received === 0) throw new Error(`(e) ${method}: received ${received} bytes, the emulator sent ${sent}`);
  const [record] = records;
  const boundaries = trace.boundaries ?? (record === undefined ? [] : boundariesOf(record, probe.pieces));
  const expected = record?.api === 'streaming' ? record.sentences.length - 1 : probe.pieces.length - 1;
  if (boundaries.length !== expected) throw new Error(`(e) ${method}: ${boundaries.length} sentence boundaries, expected ${expected}`);
  return listen(trace, boundaries, readyMs);
};

// ---- rounds -----------------------------------------------------------------------------------

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

const fmt = (ms: number): string => ms.toFixed(1);

/**
 * Between the starts of two methods in a round. Started together, all six would have their first
 * sentence in the same millisecond, and their handshakes and think times would end in the same timer
 * turn, each first audio waiting for the others' work; staggered, no two first-audio paths overlap
 * at a timer. The order rotates every round.
 */
const STAGGER_MS = 11;

/** The six methods side by side on `text` (seeded tokens); one result per method. */
const round = async (
  emulator: Emulator,
  client: SisClient,
  text: string,
  seed: number,
  turn: number,
): Promise<{ runs: Record<SpeakMethod, SpeakRun>; tokens: number }> => {
  const tokens = tokenize(text, seed);
  const traced = await Promise.all(
    SPEAK_METHODS.map(async (method, i) => {
      await new Promise((resolve) => setTimeout(resolve, ((i + turn) % SPEAK_METHODS.length) * STAGGER_MS));
      const probe = new Probe(tokens);
      return { method, probe, trace: await within(run(method, client, emulator, probe.text$), 120_000, `(e) ${method}`) };
    }),
  );
  // Every socket closed before the next round: nothing leaks into it.
  await within(emulator.idle(), 10_000, '(e) the emulator still has connections open');
  const runs = Object.fromEntries(traced.map(({ method, probe, trace }) => [method, measure(method, trace, probe, emulator)])) as Record<SpeakMethod, SpeakRun>;
  return { runs, tokens: tokens.length };
};

export const speakRun = async ({ rounds }: SpeakJob): Promise<SpeakReport> => {
  const { handshakeDelayMs, firstAudioDelayMs, realtimeFactor, frameBytes } = SPEAK_SETTINGS;
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, handshakeDelayMs, firstAudioDelayMs, realtimeFactor, frameBytes });
  try {
    const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
    // A short answer first, so that every path is compiled before it is measured.
    await round(emulator, client, '你好。Hi there. ', SPEAK_SETTINGS.seed, 0);
    const runs: Record<SpeakMethod, SpeakRun[]> = { realtime: [], streaming: [], naive: [], whole: [], 'raw-streaming': [], 'raw-realtime': [] };
    const tokens: number[] = [];
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    for (let r = 0; r < rounds; r++) {
      const result = await round(emulator, client, ANSWER, SPEAK_SETTINGS.seed + r + 1, r);
      tokens.push(result.tokens);
      for (const method of SPEAK_METHODS) {
        const m = result.runs[method];
        runs[method].push(m);
        log(
          `(e) round ${r + 1}/${rounds} ${method.padEnd(13)}: ready ${fmt(m.readyMs)} ms, first audio ${fmt(m.firstAudioMs)} ms, ` +
            `boundary gaps [${m.boundaryGapsMs.map(fmt).join(', ')}] ms, silence ${m.silenceMs === undefined ? '—' : `${fmt(m.silenceMs)} ms`}, done ${(m.totalMs / 1000).toFixed(2)} s`,
        );
      }
    }
    delay.disable();
    const sentenceCount = (runs.realtime[0]?.boundaryGapsMs.length ?? -1) + 1;
    return {
      rounds,
      characters: [...ANSWER].length,
      sentences: sentenceCount,
      tokens,
      audioMs: (runs.realtime[0]?.bytes ?? 0) / BYTES_PER_MS,
      runs,
      loopDelayMs: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    };
  } finally {
    await emulator.close();
  }
};
