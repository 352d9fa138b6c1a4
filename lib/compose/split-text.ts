import { SisConfigError } from '../errors.js';
import { positiveInteger } from '../checks.js';

// How good a place to cut is; a part ends at the best kind found within the limit.
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

/** The kind of cut possible before code point `i` (between `chars[i - 1]` and `chars[i]`). */
const cutKinds = (chars: readonly string[]): Uint8Array => {
  const kinds = new Uint8Array(chars.length + 1);
  for (let i = 1; i <= chars.length; i++) {
    const before = chars[i - 1] ?? '';
    const after = chars[i];
    const spaced = after === undefined || isSpace(after) || CLOSERS.has(after);
    const mark = (ends: Set<string>): boolean => ends.has(before) && (spaced || !NEEDS_SPACE_AFTER.has(before));
    if (mark(SENTENCE_ENDS)) kinds[i] = SENTENCE;
    else if (mark(CLAUSE_ENDS)) kinds[i] = CLAUSE;
    else if (CLOSERS.has(before) || isSpace(before)) kinds[i] = Math.max(kinds[i - 1] ?? NONE, isSpace(before) ? SPACE : NONE);
  }
  return kinds;
};

/**
 * Splits a text into parts of at most `maxLength` code points for synthesis, each as long as it
 * can be: it cuts after sentence punctuation (。！？；.!? and newlines) where one falls within the
 * limit, else after a comma or colon (，,、：:), else at a space, else hard at the limit. Marks carry the closing
 * quotes and spaces that follow them. The parts are never empty and join back to `text` exactly.
 * @throws {SisConfigError} if `text` is not a string or `maxLength` not a positive integer.
 * @example splitText('你好。今天天气很好！', 4) // ['你好。', '今天天气', '很好！']
 */
export const splitText = (text: string, maxLength: number): string[] => {
  const problems = [
    ...(typeof text === 'string' ? [] : [{ path: 'text', message: `must be a string, got ${typeof text}` }]),
    ...positiveInteger('maxLength', maxLength),
  ];
  if (problems.length > 0) throw new SisConfigError(problems, 'splitText arguments');
  const chars = Array.from(text);
  const kinds = cutKinds(chars);
  // latest[k][i]: the last cut at or before i of kind k or better (0 if none), for a linear scan.
  const latest = [SPACE, CLAUSE, SENTENCE].map((kind) => {
    const last = new Int32Array(chars.length + 1);
    for (let i = 1; i <= chars.length; i++) last[i] = (kinds[i] ?? NONE) >= kind ? i : (last[i - 1] ?? 0);
    return last;
  });
  const parts: string[] = [];
  let start = 0;
  while (start < chars.length) {
    const limit = start + maxLength;
    let end = chars.length;
    if (limit < chars.length) {
      end = limit;
      for (const last of latest.toReversed()) {
        const cut = last[limit] ?? 0;
        if (cut > start) {
          end = cut;
          break;
        }
      }
    }
    parts.push(chars.slice(start, end).join(''));
    start = end;
  }
  return parts;
};
