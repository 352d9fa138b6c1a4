/**
 * Where a piece of spoken text may end: the punctuation rules of `sentences()`, on a buffer whose
 * index 0 is the start of the current piece.
 *
 * A boundary is a run of marks and the closers after them (`你好。”`, `Stop."`), then the whitespace
 * after that run, which stays with the piece so that the next one starts with a word:
 * - sentence: a run holding a CJK end (`。！？；…｡`) ends a sentence whatever follows; a run of only ASCII
 *   ends (`.!?;`, `...`) does so only before whitespace, the end of the text, or a CJK character
 *   (`好的!我来`), so `3.14`, `a.b` and `Node.js` never cut. A single `.` after a known abbreviation
 *   (`Mr.`, `etc.`, `e.g.`, any lowercase letter-dot run) or after a number that starts the piece (a list
 *   marker: `1. First`) does not end a sentence. Whitespace holding a line break ends one too: LLM answers
 *   are markdown, where a line is a list item, a heading or a paragraph.
 * - clause: `，、：` or `,:` (the ASCII ones, under the same rule as `.`), for the first piece and for long sentences.
 * A boundary never splits a grapheme: where the next character would combine with the previous one, there is none.
 */

const SENTENCE_MARKS_CJK = new Set(['。', '！', '？', '；', '…', '｡']);
const SENTENCE_MARKS_ASCII = new Set(['.', '!', '?', ';']);
const CLAUSE_MARKS_CJK = new Set(['，', '、', '：']);
const CLAUSE_MARKS_ASCII = new Set([',', ':']);
/** Kept with the sentence they close: quotes and brackets, Chinese and Latin. */
const CLOSERS = new Set(['"', "'", '”', '’', '」', '』', '）', ')', ']', '】', '》', '〉', '〕', '»']);
const LINE_BREAKS = new Set(['\n', '\r', '\u2028', '\u2029']);
/** A `.` after these does not end a sentence; case matters (`No.` and `no.` would, so they are not here). */
const ABBREVIATIONS = new Set(['Mr', 'Mrs', 'Ms', 'Dr', 'Prof', 'Sr', 'Jr', 'St', 'Mt', 'vs', 'etc', 'cf', 'approx', 'Fig', 'Vol']);
const LOWERCASE_INITIALS = /^(?:[a-z]\.)*[a-z]$/;
const CJK_LETTER = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const ASCII_WORD = /[A-Za-z.]/;
const DIGIT = /[0-9]/;

/** Whitespace as `String.prototype.trim` knows it (every such character is one code unit). */
export const isSpace = (unit: string): boolean => unit.trim() === '' && unit !== '';
const isSentenceMark = (unit: string): boolean => SENTENCE_MARKS_CJK.has(unit) || SENTENCE_MARKS_ASCII.has(unit);
const isClauseMark = (unit: string): boolean => CLAUSE_MARKS_CJK.has(unit) || CLAUSE_MARKS_ASCII.has(unit);

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/** The code point that starts at `i` (one or two code units). */
export const codePointAt = (text: string, i: number): string => String.fromCodePoint(text.codePointAt(i) ?? 0);

/** The code point that ends just before `i`. */
const codePointBefore = (text: string, i: number): string => {
  const low = text.charCodeAt(i - 1);
  const start = low >= 0xdc00 && low <= 0xdfff && i >= 2 && text.charCodeAt(i - 2) >= 0xd800 && text.charCodeAt(i - 2) <= 0xdbff ? i - 2 : i - 1;
  return text.slice(start, i);
};

/**
 * Whether a grapheme boundary lies at `i`, for an `i` just after whitespace or a mark: such a character
 * has no say in what follows it (it is no regional indicator, ZWJ, prepend or CR-before-LF), so the pair
 * around `i` decides it. Below U+0300 and among the common ideographs nothing extends what comes before.
 */
export const graphemeBreakAt = (text: string, i: number): boolean => {
  if (i === 0 || i >= text.length) return true;
  const next = text.codePointAt(i) ?? 0;
  if (next < 0x300 || (next >= 0x4e00 && next <= 0x9fff)) return true;
  let count = 0;
  for (const _ of graphemes.segment(codePointBefore(text, i) + codePointAt(text, i))) count++;
  return count === 2;
};

/** The end of the run of `unit`s starting at `i` that `belongs` accepts. */
const runEnd = (text: string, i: number, belongs: (unit: string) => boolean): number => {
  let j = i;
  while (j < text.length && belongs(text.charAt(j))) j++;
  return j;
};

/** A lone `.` after which no sentence ends: `e.g.`, `Mr.`, or `1.` at the start of the piece. */
const isAbbreviationDot = (text: string, dot: number): boolean => {
  let start = dot;
  while (start > 0 && ASCII_WORD.test(text.charAt(start - 1))) start--;
  const word = text.slice(start, dot);
  if (ABBREVIATIONS.has(word) || LOWERCASE_INITIALS.test(word)) return true;
  let digits = dot;
  while (digits > 0 && DIGIT.test(text.charAt(digits - 1))) digits--;
  return digits === 0 && dot > 0;
};

/** A place where a piece may end. */
export interface Boundary {
  readonly type: 'boundary';
  readonly kind: 'sentence' | 'clause';
  /** Just after the marks and closers (for a line break: where the whitespace starts). */
  readonly markEnd: number;
  /** Just after the whitespace that follows: where the next piece starts. */
  readonly end: number;
}
/** No boundary at the position scanned; scanning resumes at `next`. */
export interface NoBoundary {
  readonly type: 'none';
  readonly next: number;
}
/** The text so far cannot tell: wait for more, or for the end. */
export interface NeedMore {
  readonly type: 'more';
}
/** What {@link scanAt} found. */
export type ScanStep = Boundary | NoBoundary | NeedMore;

const MORE: NeedMore = { type: 'more' };

/**
 * What the text at `i` means for cutting. Looks only forward of `i` (to the end of the marks, closers
 * and whitespace there, plus one character), and back only for the word before a `.`; with `ended`
 * false, a run that reaches the end of `text` is undecided. The answer is therefore the same however
 * the text was cut into fragments.
 */
export const scanAt = (text: string, i: number, ended: boolean): ScanStep => {
  const unit = text.charAt(i);
  if (isSpace(unit)) {
    const end = runEnd(text, i, isSpace);
    if (end === text.length && !ended) return MORE;
    const breaks = Array.from(text.slice(i, end)).some((c) => LINE_BREAKS.has(c));
    return breaks && graphemeBreakAt(text, end) ? { type: 'boundary', kind: 'sentence', markEnd: i, end } : { type: 'none', next: end };
  }
  const sentence = isSentenceMark(unit);
  if (!sentence && !isClauseMark(unit)) {
    return { type: 'none', next: i + codePointAt(text, i).length };
  }
  const markEnd = sentence ? runEnd(text, i, (c) => isSentenceMark(c) || CLOSERS.has(c)) : runEnd(text, i + 1, (c) => CLOSERS.has(c));
  const end = runEnd(text, markEnd, isSpace);
  if (end === text.length && !ended) return MORE;
  const marks = Array.from(text.slice(i, markEnd)).filter((c) => !CLOSERS.has(c));
  const cjk = marks.some((c) => SENTENCE_MARKS_CJK.has(c) || CLAUSE_MARKS_CJK.has(c));
  const settled = cjk || end === text.length || end > markEnd || CJK_LETTER.test(text.slice(markEnd, markEnd + 2));
  const abbreviation = marks.length === 1 && marks[0] === '.' && isAbbreviationDot(text, i);
  if (!settled || abbreviation || !graphemeBreakAt(text, end)) return { type: 'none', next: markEnd };
  return { type: 'boundary', kind: sentence ? 'sentence' : 'clause', markEnd, end };
};
