import { Observable, type OperatorFunction } from 'rxjs';
import { positiveInteger, unknownKeyProblems } from '../checks.js';
import { SisConfigError, SisRequestError, type Problem } from '../errors.js';
import { SentenceAssembler } from './sentence-assembler.js';

/** The streaming API's limit for one MSG; a real-time session takes it as well (protocol.md §1, §2). */
export const DEFAULT_MAX_SENTENCE_LENGTH = 300;

/** How `sentences()` cuts text into pieces. */
export interface SentenceOptions {
  /** The longest piece, in characters as the service counts them (Unicode code points). Default 300. */
  readonly maxLength?: number | undefined;
  /**
   * When set, the first piece may also end at a clause mark (`，、：`, or `,` `:` before a space) once it
   * holds this many characters: the first audio comes sooner, the rest goes sentence by sentence.
   * Off by default.
   */
  readonly firstClauseMinLength?: number | undefined;
}

/** The option names `sentences()` knows, for callers that check unknown keys in options of their own. */
export const SENTENCE_OPTION_KEYS = ['maxLength', 'firstClauseMinLength'] as const;

/**
 * The problems with the values of `maxLength` and `firstClauseMinLength` (not with unknown keys, so a
 * caller whose options hold more, like `speak$`, can check these within its own).
 */
export const sentenceOptionProblems = (options: SentenceOptions, prefix = ''): Problem[] => [
  ...(options.maxLength === undefined ? [] : positiveInteger(`${prefix}maxLength`, options.maxLength)),
  ...(options.firstClauseMinLength === undefined ? [] : positiveInteger(`${prefix}firstClauseMinLength`, options.firstClauseMinLength)),
];

const typeName = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);

/**
 * Assembles text that arrives in fragments (an LLM's tokens, cut anywhere) into pieces ready to be
 * spoken, each within `maxLength` characters: one piece per sentence, emitted as soon as its end is
 * certain.
 * - A sentence ends after `。！？；…`, after `.!?;` (or `...`) followed by whitespace, the end or a CJK
 *   character, and at a line break. Not in `3.14`, `Node.js`, `e.g.`, `Mr.`, `etc.`, nor after the
 *   number of a list item (`1. `). Closing quotes and brackets stay with their sentence, and so does
 *   the whitespace after it: a piece starts with a word (or a mark), never with whitespace.
 * - A sentence longer than `maxLength` is cut at its last clause mark that fits, else at the last word
 *   boundary (`Intl.Segmenter`), else between graphemes; never inside a grapheme that fits the limit.
 * - A piece without a letter or digit (`---`, `。`) is not cut off: it goes with the next one.
 * - Whitespace before the first piece, and whitespace that a cut at the limit leaves at the start of
 *   the next piece, is dropped; nothing else is, so the pieces joined give back the text but for that.
 * - The rest is emitted when the input completes. Where the fragments are cut changes nothing.
 *
 * Errors with `SisConfigError` (at subscription) for bad options, with `SisRequestError` (path `text$`)
 * if the input emits a value that is not a string; the input's own errors pass through.
 * @example llmTokens$.pipe(sentences({ firstClauseMinLength: 8 })).subscribe((piece) => queue.push(piece))
 */
export const sentences =
  (options: SentenceOptions = {}): OperatorFunction<string, string> =>
  (text$) =>
    new Observable<string>((subscriber) => {
      const problems =
        typeof options === 'object' && options !== null
          ? [...unknownKeyProblems(options, SENTENCE_OPTION_KEYS), ...sentenceOptionProblems(options)]
          : [{ path: '', message: `expected { maxLength?, firstClauseMinLength? }, got ${typeName(options)}` }];
      if (problems.length > 0) throw new SisConfigError(problems, 'sentences options');
      const assembler = new SentenceAssembler({
        maxLength: options.maxLength ?? DEFAULT_MAX_SENTENCE_LENGTH,
        firstClauseMinLength: options.firstClauseMinLength,
      });
      return text$.subscribe({
        next: (fragment: unknown) => {
          if (typeof fragment !== 'string') {
            subscriber.error(new SisRequestError([{ path: 'text$', message: `must emit strings, got ${typeName(fragment)}` }]));
            return;
          }
          for (const piece of assembler.push(fragment)) subscriber.next(piece);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          for (const piece of assembler.end()) subscriber.next(piece);
          subscriber.complete();
        },
      });
    });
