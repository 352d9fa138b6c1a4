/**
 * The article reader: a page that reads a text aloud as it is synthesised. It holds no credential:
 * it connects to the relay on its own server (`/tts`, the session cookie says who it is), which
 * speaks to SIS with the server's token.
 *
 *   page ──ws://its own origin/tts──▶ relay (server.ts) ──X-Auth-Token──▶ SIS (here: the emulator)
 *     ◀── audio chunks ─────────────────┘
 *   chunks ─▶ playAudio (Web Audio, gapless) ─▶ speakers; progress ─▶ status line and bar
 *
 * Bundled by server.ts with esbuild (`platform: 'browser'`): nothing here may reach `ws` or `node:`.
 */
import { filter, from, lastValueFrom, type Subscription, take, tap, toArray } from 'rxjs';
import { playAudio, type PlaybackProgress } from '../../lib/browser/index.js';
import { createSisClient, isSisError } from '../../lib/index.browser.js';
import type { OfflineRender, PageAudioContext, PageButton, PageElement, PageGlobals, PageProgress, PageTextArea } from './page-types.js';

const page = globalThis as unknown as PageGlobals;
/** Raw PCM at 16 kHz: played without a decoder, and sample-exact for the test hook. */
const FORMAT = { audioFormat: 'pcm', sampleRate: 16000 } as const;

const element = <T>(id: string): T => {
  const found = page.document.getElementById(id);
  if (found === null) throw new Error(`index.html has no #${id}`);
  return found as T;
};
const article = element<PageTextArea>('article');
const readButton = element<PageButton>('read');
const stopButton = element<PageButton>('stop');
const signOutButton = element<PageButton>('sign-out');
const status = element<PageElement>('status');
const trace = element<PageElement>('trace');
const bar = element<PageProgress>('progress');

// The relay is on this page's own server: same origin, so the browser sends the session cookie.
const client = createSisClient({
  endpoint: `${page.location.protocol === 'https:' ? 'wss' : 'ws'}://${page.location.host}/tts`,
  projectId: 'relay',
  auth: 'relay',
});

let context: PageAudioContext | undefined;
let reading: Subscription | undefined;
let signedOut = false;

const show = (text: string): void => {
  status.textContent = text;
};
const setReading = (active: boolean): void => {
  readButton.disabled = active;
  stopButton.disabled = !active;
};

/**
 * What to tell the reader. A browser hides why a WebSocket could not open: when no audio came, the
 * relay refused the upgrade (401 signed out, 429 too many sessions) or could not be reached.
 */
const describeFailure = (error: unknown, heard: boolean): string => {
  if (!isSisError(error)) return 'failed — reload the page and try again';
  if (error.code === 'CONNECTION_LOST' && !heard) return signedOut ? 'refused — signed out: reload the page to sign in again' : 'refused — sign in again';
  return `failed — ${error.message}`;
};

const onProgress = (progress: PlaybackProgress): void => {
  bar.max = Math.max(progress.scheduled, 0.001);
  bar.value = progress.played;
  show(`playing ${progress.played.toFixed(1)} s of ${progress.scheduled.toFixed(1)} s`);
};

readButton.addEventListener('click', async () => {
  reading?.unsubscribe();
  // Browsers start an AudioContext suspended until a user gesture: this click is one.
  context ??= new page.AudioContext();
  await context.resume();
  const text = article.value.trim();
  let heard = false;
  let last: PlaybackProgress | undefined;
  show('connecting…');
  trace.textContent = '—';
  bar.value = 0;
  setReading(true);
  reading = client
    .synthesize$({ text, ...FORMAT })
    .pipe(
      tap((chunk) => {
        if (!heard) trace.textContent = chunk.traceId;
        heard = true;
      }),
      playAudio({ context, ...FORMAT }),
    )
    .subscribe({
      next: (progress) => {
        last = progress;
        onProgress(progress);
      },
      error: (error: unknown) => {
        setReading(false);
        show(describeFailure(error, heard));
      },
      complete: () => {
        setReading(false);
        bar.value = bar.max;
        show(`done — ${(last?.played ?? 0).toFixed(1)} s read aloud`);
      },
    });
});

// Unsubscribing is the whole of stopping: playback stops at once, and the socket to the relay
// closes, which closes the relay's socket to SIS.
stopButton.addEventListener('click', () => {
  reading?.unsubscribe();
  reading = undefined;
  setReading(false);
  show('stopped');
});

signOutButton.addEventListener('click', async () => {
  reading?.unsubscribe();
  setReading(false);
  await fetch('/logout', { method: 'POST' });
  signedOut = true;
  show('signed out — reload the page to sign in again');
});

/** A 16-bit little-endian PCM sample as Web Audio holds it. */
const pcmSample = (bytes: Uint8Array, index: number): number => {
  const value = (bytes[index * 2] ?? 0) | ((bytes[index * 2 + 1] ?? 0) << 8);
  return (value >= 0x8000 ? value - 0x10000 : value) / 32768;
};

/** Concatenates the chunks' bytes (a test's text is short). */
const joined = (parts: readonly Uint8Array[]): Uint8Array => {
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.byteLength;
  }
  return all;
};

/**
 * The test hook: the same synthesis and the same `playAudio`, into an `OfflineAudioContext` whose
 * output is read back. Its length must be known when it is made, so the audio is received first,
 * then played into a context a quarter of a second longer than it.
 */
const renderOffline = async (text: string): Promise<OfflineRender> => {
  const chunks = await lastValueFrom(client.synthesize$({ text, ...FORMAT }).pipe(toArray()));
  const audio = joined(chunks.map((chunk) => chunk.data));
  const expectedSamples = audio.byteLength / 2;
  const outputSamples = expectedSamples + FORMAT.sampleRate / 4;
  const offline = new page.OfflineAudioContext(1, outputSamples, FORMAT.sampleRate);
  let lastScheduled: PlaybackProgress | undefined;
  // The chunks are scheduled synchronously on subscription (PCM needs no decoder), so every
  // `scheduled` event has come before rendering starts.
  const played = lastValueFrom(
    from(chunks).pipe(
      playAudio({ context: offline, ...FORMAT, startLead: 0 }),
      tap((progress) => {
        if (progress.type === 'scheduled') lastScheduled = progress;
      }),
      filter((progress) => progress.type === 'played'),
      take(chunks.length),
    ),
    { defaultValue: undefined },
  );
  const output = (await offline.startRendering()).getChannelData(0);
  await played;
  let matchingSamples = 0;
  let nonSilentSamples = 0;
  output.forEach((sample, i) => {
    const expected = i < expectedSamples ? pcmSample(audio, i) : 0;
    if (Math.abs(sample - expected) <= 1e-3) matchingSamples += 1;
    if (Math.abs(sample) > 1e-3) nonSilentSamples += 1;
  });
  return {
    expectedSamples,
    renderedSamples: Math.round(((lastScheduled?.endTime ?? 0) - (lastScheduled?.startTime ?? 0)) * FORMAT.sampleRate),
    outputSamples: output.length,
    matchingSamples,
    nonSilentSamples,
    traceId: chunks[0]?.traceId ?? '',
  };
};

page.readerTest = { renderOffline };
setReading(false);
show('ready');
