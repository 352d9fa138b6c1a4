import { codePointAt, scanAt } from './boundaries.js';

const words = new Intl.Segmenter('und', { granularity: 'word' });
const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/** The code-unit index just after the first `count` code points of `text` (its length if shorter). */
export const indexAfterCodePoints = (text: string, count: number): number => {
  let i = 0;
  for (let n = 0; n < count && i < text.length; n++) i += codePointAt(text, i).length;
  return i;
};

/** The segment starts in `(0, limit]`, in order. */
const segmentStarts = (segmenter: Intl.Segmenter, text: string, limit: number): number[] => {
  const starts: number[] = [];
  for (const { index } of segmenter.segment(text)) {
    if (index > limit) break;
    if (index > 0) starts.push(index);
  }
  return starts;
};

/**
 * Where to cut a piece that has no sentence end within `maxLength` code points: `window` starts at the
 * piece and holds more than `maxLength` code points (a fixed amount more, or all that is left of the
 * text), so the answer depends on nothing outside it. In order of preference, the cut falls
 * - after the last clause mark (or sentence end whose whitespace runs past the limit) that fits;
 * - else at the last word boundary that fits (`Intl.Segmenter`, which also knows Chinese words) and
 *   is a grapheme boundary too;
 * - else at the last grapheme boundary that fits;
 * - else, when a single grapheme is longer than `maxLength`, after `maxLength` code points:
 *   a pair of surrogates is never split, being one code point.
 * Returns a code-unit index in `(0, window.length)`.
 */
export const cutLong = (window: string, maxLength: number): number => {
  const limit = indexAfterCodePoints(window, maxLength);
  let clause = 0;
  for (let i = 0; i < limit; ) {
    // The window's end is where it was cut, not where the text ends; the runs that matter end before it.
    const step = scanAt(window, i, true);
    if (step.type === 'boundary') {
      if (step.markEnd > limit) break;
      // Whitespace running past the limit is cut at it, except between CR and LF, one grapheme.
      clause = step.end <= limit ? step.end : window.startsWith('\r\n', limit - 1) ? limit - 1 : limit;
      i = step.end;
    } else {
      i = step.type === 'none' ? step.next : i + 1;
    }
  }
  if (clause > 0) return clause;
  const graphemeStarts = segmentStarts(graphemes, window, limit);
  // ICU's dictionaries (Chinese, Thai) can put a word boundary before a combining vowel: not taken.
  const inGrapheme = new Set(graphemeStarts);
  const word = segmentStarts(words, window, limit).findLast((start) => inGrapheme.has(start));
  return word ?? graphemeStarts.at(-1) ?? limit;
};
