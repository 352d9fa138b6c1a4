/**
 * The few DOM types the example page uses, declared structurally: the project compiles without the
 * DOM library (a page of your own has it, and needs none of this). Also the test hook the page puts
 * on `window`, shared with spec/browser/chromium.spec.ts.
 */
import type { AudioBufferLike, AudioContextLike } from '../../lib/browser/index.js';

/** The elements of index.html, as much of each as the page touches. */
export interface PageElement {
  textContent: string | null;
  addEventListener(type: 'click', listener: () => void): void;
}
/** A `<button>`. */
export interface PageButton extends PageElement {
  disabled: boolean;
}
/** The `<textarea>`. */
export interface PageTextArea extends PageElement {
  value: string;
}
/** The `<progress>`. */
export interface PageProgress extends PageElement {
  value: number;
  max: number;
}

/** An `AudioContext`: playback's context, which the page also resumes (in a click) and closes. */
export interface PageAudioContext extends AudioContextLike {
  resume(): Promise<void>;
  close(): Promise<void>;
}
/** An `OfflineAudioContext`: rendered to a buffer as fast as it can be, for the test hook. */
export interface PageOfflineAudioContext extends AudioContextLike {
  startRendering(): Promise<AudioBufferLike>;
}

/** What `renderOffline` found: the synthesis played through an `OfflineAudioContext`, its output read back. */
export interface OfflineRender {
  /** 16-bit samples received from the relay (PCM bytes / 2). */
  readonly expectedSamples: number;
  /** Samples the graph played, first to last, by the context's clock (the last `scheduled` event's end × rate). */
  readonly renderedSamples: number;
  /** Length of the rendered output: the received audio and a quarter of a second of tail. */
  readonly outputSamples: number;
  /** Output samples equal to the received audio (to 1e-3; silence in the tail): all of them when nothing was lost, shifted or added. */
  readonly matchingSamples: number;
  /** Output samples louder than 1e-3 (about -60 dBFS). */
  readonly nonSilentSamples: number;
  readonly traceId: string;
}

/** The hook `window.readerTest`: what a browser test asks of the page. */
export interface ReaderTestHook {
  /** Synthesises `text` through the relay and renders it offline, exactly as the page plays it. */
  renderOffline(text: string): Promise<OfflineRender>;
}

/** The page's globals used here. */
export interface PageGlobals {
  readonly document: { getElementById(id: string): unknown };
  readonly location: { readonly protocol: string; readonly host: string };
  readonly AudioContext: new () => PageAudioContext;
  readonly OfflineAudioContext: new (channels: number, length: number, sampleRate: number) => PageOfflineAudioContext;
  readerTest?: ReaderTestHook | undefined;
}
