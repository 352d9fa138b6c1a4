import { SisConfigError } from '../errors.js';
import { check, positiveInteger } from '../checks.js';
import { codePointLength } from '../protocol/request.js';

// How good a place to cut is, from punctuation and spaces; the best kind within the limit wins.
const SENTENCE = 3;
const CLAUSE = 2;
const SPACE = 1;
const NONE = 0;

const SENTENCE_ENDS = new Set(['。', '！', '？', '；', '.', '!', '?', ';', '\n', '\r', '…']);
const CLAUSE_ENDS = new Set(['，', ',', '、', '：', ':']);
// ASCII marks count only before a space, a closer or the end: not in "3.14", "1,000", "a.b.c".
const NEEDS_SPACE_AFTER = new Set(['.', '!', '?', ';', ',', ':']);
// What a cut carries along after the mark: closing quotes and brackets, spaces.
const CLOSERS = new Set(['"', "'", '”', '’', ')', '）', ']', '】', '》', '」', '』', '〉']);
const isSpace = (c: string): boolean => /\s/u.test(c);

// Words and grapheme clusters by the platform's Unicode rules (UAX #29, with dictionaries for
// Chinese, Japanese, Thai …).
const words = new Intl.Segmenter(undefined, { granularity: 'word' });
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
// Each step of a segmenter costs time in proportion to the whole string it segments (V8 in
// Node 20: minutes for a book), so only a few dozen code points around the limit are segmented,
// with this much context on either side for the rules (and dictionaries) to see.
const CONTEXT = 64;

/** The kind of cut punctuation and spaces allow before code point `i` (between `chars[i - 1]` and `chars[i]`). */
const punctuationCuts = (chars: readonly string[]): Uint8Array => {
  const kinds = new Uint8Array(chars.length + 1);
  for (let i = 1; i <= chars.length; i++) {
    const before = chars[i - 1] ?? '';
    const after = chars[i];
    const counts = after === undefined || isSpace(after) || CLOSERS.has(after) || !NEEDS_SPACE_AFTER.has(before);
    if (counts && SENTENCE_ENDS.has(before)) kinds[i] = SENTENCE;
    else if (counts && CLAUSE_ENDS.has(before)) kinds[i] = CLAUSE;
    else if (CLOSERS.has(before) || isSpace(before)) kinds[i] = Math.max(kinds[i - 1] ?? NONE, isSpace(before) ? SPACE : NONE);
  }
  return kinds;
};

/**
 * Whether a cluster boundary follows a mark, space or closer at `i - 1`: "\r\n", or a space and a
 * combining accent, are one cluster. After such a character the pair alone decides (UAX #29 GB3, GB9, GB9a).
 */
const clusterEndsAt = (chars: readonly string[], i: number): boolean =>
  i >= chars.length || [...graphemes.segment(`${chars[i - 1] ?? ''}${chars[i] ?? ''}`)].length === 2;

/** The boundaries of `segmenter` in the window of code points starting at `at0`, as positions in `chars`. */
const boundariesIn = (chars: readonly string[], segmenter: Intl.Segmenter, at0: number, end: number): number[] => {
  const found: number[] = [];
  let at = at0;
  for (const { segment } of segmenter.segment(chars.slice(at0, end).join(''))) {
    at += codePointLength(segment);
    found.push(at);
  }
  return found;
};

/**
 * The last boundary of `segmenter` in (start, limit] that is also a grapheme cluster boundary (a word
 * boundary may fall inside a cluster, e.g. after a prepended concatenation mark), looked for in windows
 * widening back from the limit.
 */
const lastBoundary = (chars: readonly string[], segmenter: Intl.Segmenter, start: number, limit: number): number | undefined => {
  for (let reach = CONTEXT; ; reach *= 4) {
    const from = Math.max(start, limit - reach);
    // Boundaries from `from` on are trusted only with context before them, unless `from` is the part's start.
    const at0 = from === start ? start : Math.max(start, from - CONTEXT);
    const clusters = segmenter === graphemes ? undefined : new Set(boundariesIn(chars, graphemes, at0, limit + CONTEXT));
    let last: number | undefined;
    for (const at of boundariesIn(chars, segmenter, at0, limit + CONTEXT)) {
      if (at > limit) break;
      if (at > from && (clusters === undefined || clusters.has(at))) last = at;
    }
    if (last !== undefined || from === start) return last;
  }
};

/**
 * Where the part starting at code point `start` ends, when the text goes on past `limit`: at the
 * last cut of the best kind in (start, limit] — punctuation or a space between clusters, else a
 * word boundary, else a cluster boundary; else (one cluster longer than the limit) at the limit.
 */
const partEnd = (chars: readonly string[], punctuation: Uint8Array, start: number, limit: number): number => {
  let end = limit;
  let best = NONE;
  for (let i = limit; i > start && best < SENTENCE; i--) {
    const kind = punctuation[i] ?? NONE;
    if (kind > best && clusterEndsAt(chars, i)) {
      best = kind;
      end = i;
    }
  }
  if (best !== NONE) return end;
  return lastBoundary(chars, words, start, limit) ?? lastBoundary(chars, graphemes, start, limit) ?? limit;
};

/**
 * Splits a text into parts of at most `maxLength` code points for synthesis, each as long as it
 * can be: it cuts after sentence punctuation (。！？；.!? and newlines) where one falls within the
 * limit, else after a comma or colon (，,、：:), else at a space, else between words as
 * `Intl.Segmenter` finds them (Chinese and Japanese text included), else between grapheme clusters,
 * so an emoji sequence, a flag or an accented letter is never cut. Only a single cluster longer
 * than `maxLength` is cut inside, between code points (never inside a surrogate pair). Marks carry
 * the closing quotes and spaces that follow them. The parts are never empty and join back to `text` exactly.
 * @throws {SisConfigError} if `text` is not a string or `maxLength` not a positive integer.
 * @example splitText('你好。今天天气很好！', 4) // ['你好。', '今天天气', '很好！']
 */
export const splitText = (text: string, maxLength: number): string[] => {
  const problems = [...check('a string', (value) => typeof value === 'string')('text', text), ...positiveInteger('maxLength', maxLength)];
  if (problems.length > 0) throw new SisConfigError(problems, 'splitText arguments');
  const chars = Array.from(text);
  const punctuation = punctuationCuts(chars);
  const parts: string[] = [];
  let start = 0;
  while (start < chars.length) {
    const limit = start + maxLength;
    const end = limit < chars.length ? partEnd(chars, punctuation, start, limit) : chars.length;
    parts.push(chars.slice(start, end).join(''));
    start = end;
  }
  return parts;
};
