/**
 * Text → a timeline of "syllables": one per code point, a short tone for what is spoken and a short
 * silence for whitespace and punctuation. The audio renderer and the subtitle (RESULT) frames both
 * read this one timeline, so the subtitle times always match the audio.
 */

export interface Syllable {
  /** The code point this syllable speaks. */
  readonly char: string;
  /** Tone frequency in Hz, or 0 for a silence. */
  readonly frequency: number;
  /** First sample of the syllable in the whole audio. */
  readonly start: number;
  /** Length in samples (at least 1). */
  readonly length: number;
}

/** A subtitle unit: one CJK character, or a run of other letters and digits. */
export interface Word {
  readonly text: string;
  /** Index of the first and one past the last syllable of the word. */
  readonly from: number;
  readonly to: number;
}

export interface AudioPlan {
  readonly sampleRate: number;
  readonly totalSamples: number;
  readonly syllables: readonly Syllable[];
  readonly words: readonly Word[];
}

/** What a code point sounds like: its length before `speed` applies, whether it is a tone, how it joins words. */
interface Sound {
  readonly ms: number;
  readonly tone: boolean;
  /** `own`: a word by itself; `join`: part of a run of letters; `none`: separates words. */
  readonly word: 'own' | 'join' | 'none';
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const LETTER = /[\p{L}\p{N}]/u;
const MARK = /\p{M}/u;
const SPACE = /[\s\p{Cc}]/u;
const SENTENCE_END = /[.!?。！？…]/u;
const PUNCTUATION = /\p{P}/u;

/** Base durations (ms at speed 0); all are whole multiples of 1/8 ms, so sample counts at 8 and 16 kHz are exact. */
export const SOUNDS = {
  cjk: { ms: 200, tone: true, word: 'own' },
  letter: { ms: 60, tone: true, word: 'join' },
  mark: { ms: 20, tone: false, word: 'join' },
  space: { ms: 40, tone: false, word: 'none' },
  sentenceEnd: { ms: 160, tone: false, word: 'none' },
  punctuation: { ms: 80, tone: false, word: 'none' },
  symbol: { ms: 100, tone: true, word: 'own' },
} as const satisfies Record<string, Sound>;

export const soundOf = (char: string): Sound =>
  CJK.test(char)
    ? SOUNDS.cjk
    : LETTER.test(char)
      ? SOUNDS.letter
      : MARK.test(char)
        ? SOUNDS.mark
        : SPACE.test(char)
          ? SOUNDS.space
          : SENTENCE_END.test(char)
            ? SOUNDS.sentenceEnd
            : PUNCTUATION.test(char)
              ? SOUNDS.punctuation
              : SOUNDS.symbol;

/** Each character gets its own base frequency (140..390 Hz), so a sentence is not one flat beep. */
export const baseFrequency = (codePoint: number): number => 140 + ((codePoint * 37) % 101) * 2.5;

/** `speed` -500..500 → duration factor 2^(-speed/500): +500 is twice as fast, -500 twice as slow. */
export const durationFactor = (speed: number): number => 2 ** (-speed / 500);

/** `pitch` -500..500 → frequency factor 2^(pitch/500): one octave down to one octave up. */
export const pitchFactor = (pitch: number): number => 2 ** (pitch / 500);

export const planAudio = (text: string, sampleRate: number, speed: number, pitch: number): AudioPlan => {
  const stretch = durationFactor(speed);
  const transpose = pitchFactor(pitch);
  const syllables: Syllable[] = [];
  const words: Word[] = [];
  let wordStart: number | undefined;
  let start = 0;
  const closeWord = (): void => {
    if (wordStart === undefined) return;
    const from = wordStart;
    words.push({
      text: syllables
        .slice(from)
        .map((s) => s.char)
        .join(''),
      from,
      to: syllables.length,
    });
    wordStart = undefined;
  };
  for (const char of text) {
    const sound = soundOf(char);
    const length = Math.max(1, Math.round((sound.ms * stretch * sampleRate) / 1000));
    if (sound.word !== 'join') closeWord();
    if (sound.word === 'own') wordStart = syllables.length;
    // A combining mark joins the word before it but never starts one.
    if (sound.word === 'join' && sound !== SOUNDS.mark) wordStart ??= syllables.length;
    const frequency = sound.tone ? baseFrequency(char.codePointAt(0) ?? 0) * transpose : 0;
    syllables.push({ char, frequency, start, length });
    if (sound.word === 'own') closeWord();
    start += length;
  }
  closeWord();
  return { sampleRate, totalSamples: start, syllables, words };
};
