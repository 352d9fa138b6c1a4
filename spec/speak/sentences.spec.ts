import { expect } from 'chai';
import fc from 'fast-check';
import { from, of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { SisConfigError, SisRequestError } from '../../lib/errors.js';
import { codePointLength } from '../../lib/protocol/request.js';
import { sentences, type SentenceOptions } from '../../lib/speak/sentences.js';
import { createTestScheduler } from '../helpers/marbles.js';

/** The pieces `sentences()` makes of `fragments`, fed one by one (synchronously). */
const piecesOf = (fragments: readonly string[], options?: SentenceOptions): string[] => {
  const pieces: string[] = [];
  let failure: unknown;
  from(fragments)
    .pipe(sentences(options))
    .subscribe({ next: (piece) => pieces.push(piece), error: (error: unknown) => (failure = error) });
  if (failure !== undefined) throw failure;
  return pieces;
};
const split = (text: string, options?: SentenceOptions): string[] => piecesOf([text], options);

// ---- A restatement of the rules, for the property tests (independent of lib/speak/boundaries.ts). ----
const TERMINALS = '。！？；…｡.!?;';
const CLOSERS = `"'”’」』）)\\]】》〉〕»`;
const SENTENCE_END = new RegExp(`([${TERMINALS}][${TERMINALS}${CLOSERS}]*)(\\s*)|\\s*[\\n\\r\\u2028\\u2029]\\s*`, 'gu');
const CLAUSE_END = new RegExp(`([，、：,:][${CLOSERS}]*)(\\s*)`, 'gu');
const CJK_AFTER = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const SPEAKABLE = /[\p{L}\p{N}]/u;
const NOT_AFTER_DOT = /(?:^|[^A-Za-z.])(?:(?:[a-z]\.)*[a-z]|Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|etc|cf|approx|Fig|Vol)$|^[0-9]+$/;

/** Where the first piece of `rest` (which starts a piece) ends by punctuation, if anywhere. */
const firstEnd = (rest: string, firstClauseMinLength?: number): number | undefined => {
  // An ASCII-only run needs whitespace, the end of the text or a CJK letter after it.
  const settled = (marks: string, spaces: string, end: number): boolean =>
    /[。！？；…｡，、：]/u.test(marks) || spaces !== '' || end === rest.length || CJK_AFTER.test(rest.slice(end));
  let sentence: number | undefined;
  const ends = new RegExp(SENTENCE_END);
  for (let match = ends.exec(rest); match !== null; match = ends.exec(rest)) {
    const [whole, marks, spaces] = match;
    const end = match.index + whole.length;
    if (!SPEAKABLE.test(rest.slice(0, match.index))) continue;
    if (marks === undefined || spaces === undefined) {
      sentence = end; // whitespace holding a line break
      break;
    }
    const loneDot = marks.replace(new RegExp(`[${CLOSERS}]`, 'gu'), '') === '.';
    if (settled(marks, spaces, end) && !(loneDot && NOT_AFTER_DOT.test(rest.slice(0, match.index)))) {
      sentence = end;
      break;
    }
    // Not an end: its whitespace may still hold a line break.
    ends.lastIndex = match.index + marks.length;
  }
  if (firstClauseMinLength === undefined) return sentence;
  for (const match of rest.matchAll(CLAUSE_END)) {
    const [whole, marks = '', spaces = ''] = match;
    const end = match.index + whole.length;
    if (sentence !== undefined && end > sentence) break;
    const long = codePointLength(rest.slice(0, match.index + marks.length)) >= firstClauseMinLength;
    if (long && SPEAKABLE.test(rest.slice(0, match.index)) && settled(marks, spaces, end)) return end;
  }
  return sentence;
};

/** Where each piece starts in `text`, checking that only whitespace lies between pieces and after the last. */
const locate = (text: string, pieces: readonly string[]): number[] | undefined => {
  const starts: number[] = [];
  let at = 0;
  for (const piece of pieces) {
    let start = at;
    while (!text.startsWith(piece, start) && start < text.length && text.charAt(start).trim() === '') start++;
    if (!text.startsWith(piece, start)) return undefined;
    starts.push(start);
    at = start + piece.length;
  }
  return text.slice(at).trim() === '' ? starts : undefined;
};

const graphemeBoundaries = (text: string): Set<number> => {
  const boundaries = new Set([text.length]);
  for (const { index } of new Intl.Segmenter('und', { granularity: 'grapheme' }).segment(text)) boundaries.add(index);
  return boundaries;
};
const longestGrapheme = (text: string): number =>
  Math.max(0, ...Array.from(new Intl.Segmenter('und', { granularity: 'grapheme' }).segment(text), ({ segment }) => codePointLength(segment)));

// Texts with every kind of cut: CJK and Latin words, all marks and closers, numbers, abbreviations, whitespace, emoji.
const token = fc.constantFrom(
  '你好',
  '今天天气很好',
  '我们去北京大学',
  'hello',
  'world',
  'Node.js',
  'e.g.',
  'Mr.',
  '3.14',
  '1,000',
  '42',
  'x',
  ' ',
  '  ',
  '\n',
  '\r\n',
  '\n\n',
  '\t',
  '。',
  '！',
  '？',
  '；',
  '…',
  '……',
  '.',
  '...',
  '!',
  '?',
  ';',
  '，',
  ',',
  '、',
  '：',
  ':',
  '”',
  '）',
  '"',
  "'",
  ')',
  '」',
  '“',
  '(',
  '-',
  '---',
  '😀',
  '👍🏽',
  '🇨🇳',
);
const tokenText = fc.array(token, { maxLength: 60 }).map((tokens) => tokens.join(''));
// The same with characters that join the one before them into a grapheme: combining marks, ZWJ, a
// variation selector, a skin tone, a Thai vowel sign, the second half of a flag.
const joiner = fc.constantFrom('\u0301', '\u0308', '\u200d', '\ufe0f', '🏽', '\u0e33', '🇳');
const joinedText = fc.array(fc.oneof(token, joiner), { maxLength: 60 }).map((tokens) => tokens.join(''));
const anyText = fc.oneof(tokenText, joinedText, fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }));
const options = fc.record(
  { maxLength: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(300)), firstClauseMinLength: fc.integer({ min: 1, max: 20 }) },
  { requiredKeys: ['maxLength'] },
);
/** A text and the same text cut into fragments anywhere (code units, so even between surrogates). */
const fragmented = (texts: fc.Arbitrary<string>) =>
  texts.chain((text) =>
    fc.tuple(
      fc.constant(text),
      fc.uniqueArray(fc.integer({ min: 0, max: text.length }), { maxLength: 20 }).map((cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), text.length];
        return points.slice(1).map((end, i) => text.slice(points[i], end));
      }),
    ),
  );

describe('sentences', () => {
  describe('as an operator', () => {
    let scheduler: TestScheduler;
    beforeEach(() => {
      scheduler = createTestScheduler();
    });

    it('emits each sentence as soon as its end is certain, and the rest when the input completes', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const tokens = cold('abcd|', { a: 'Hello', b: ' world.', c: ' How', d: ' are you' });
        expectObservable(tokens.pipe(sentences())).toBe('--x-(y|)', { x: 'Hello world. ', y: 'How are you' });
        expectSubscriptions(tokens.subscriptions).toBe('^---!');
      });
    });

    it('waits for the character after an ASCII mark: "3." may be "3.14"', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const tokens = cold('abc|', { a: 'It costs 3.', b: '14 yuan. ', c: 'OK' });
        expectObservable(tokens.pipe(sentences())).toBe('--x(y|)', { x: 'It costs 3.14 yuan. ', y: 'OK' });
      });
    });

    it('cuts after a CJK mark with the next character, unless that one is a closing quote or bracket', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const tokens = cold('abcd|', { a: '你好。今', b: '天他说“好。', c: '”', d: '然后' });
        expectObservable(tokens.pipe(sentences())).toBe('x--y(z|)', { x: '你好。', y: '今天他说“好。”', z: '然后' });
      });
    });

    it('passes the input error on, dropping the unfinished piece', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const tokens = cold('ab#', { a: '你好。今天', b: '很好' }, new Error('LLM failed'));
        expectObservable(tokens.pipe(sentences())).toBe('x-#', { x: '你好。' }, new Error('LLM failed'));
        expectSubscriptions(tokens.subscriptions).toBe('^-!');
      });
    });

    it('unsubscribes the input when unsubscribed', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const tokens = cold('a-b-c-|', { a: '你好。今', b: '天', c: '很好。' });
        expectObservable(tokens.pipe(sentences()), '^--!').toBe('x--', { x: '你好。' });
        expectSubscriptions(tokens.subscriptions).toBe('^--!');
      });
    });

    it('errors with a SisRequestError naming text$ when the input emits something other than a string', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const tokens = cold<unknown>('ab-c|', { a: '你好。世', b: 42, c: '界' });
        const error = new SisRequestError([{ path: 'text$', message: 'must emit strings, got number' }]);
        expectObservable(tokens.pipe(sentences() as never)).toBe('x#', { x: '你好。' }, error);
        expectSubscriptions(tokens.subscriptions).toBe('^!');
      });
    });

    it('errors with a SisConfigError listing every bad option, without subscribing to the input', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const tokens = cold('a|', { a: 'hi' });
        const bad = { maxLength: 0, firstClauseMinLength: 2.5, maxLenght: 10 } as SentenceOptions;
        const error = new SisConfigError(
          [
            { path: 'maxLenght', message: "unknown field (did you mean 'maxLength'?)" },
            { path: 'maxLength', message: 'must be a positive integer, got 0' },
            { path: 'firstClauseMinLength', message: 'must be a positive integer, got 2.5' },
          ],
          'sentences options',
        );
        expectObservable(tokens.pipe(sentences(bad))).toBe('#', undefined, error);
        expectSubscriptions(tokens.subscriptions).toBe([]);
      });
    });

    it('emits nothing for an empty or all-whitespace input, and completes', () => {
      scheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('|').pipe(sentences())).toBe('|');
        expectObservable(cold('ab|', { a: ' \n', b: '\t ' }).pipe(sentences())).toBe('--|');
      });
    });
  });

  describe('where a sentence ends', () => {
    it('after Chinese marks, with the closing quotes and brackets after them', () => {
      expect(split('你好。今天天气很好！明天呢？')).to.deep.equal(['你好。', '今天天气很好！', '明天呢？']);
      expect(split('他说：“好。”然后走了；（真的！）再见')).to.deep.equal(['他说：“好。”', '然后走了；', '（真的！）', '再见']);
      expect(split('真的吗？！」是的')).to.deep.equal(['真的吗？！」', '是的']);
    });

    it('after English marks followed by whitespace, which stays with the sentence', () => {
      expect(split('Hello world. How are you?  Fine!\tGood; thanks')).to.deep.equal(['Hello world. ', 'How are you?  ', 'Fine!\t', 'Good; ', 'thanks']);
      expect(split('He said "stop." Then (quietly.) left.')).to.deep.equal(['He said "stop." ', 'Then (quietly.) ', 'left.']);
      expect(split('Really?! Yes.')).to.deep.equal(['Really?! ', 'Yes.']);
    });

    it('not inside numbers, file names, abbreviations or after a list number', () => {
      expect(split('Pi is 3.14 and 1,000 is more. Use Node.js now.')).to.deep.equal(['Pi is 3.14 and 1,000 is more. ', 'Use Node.js now.']);
      expect(split('Ask Mr. Smith and Dr. Wu, e.g. today, i.e. now, etc. Then go.')).to.deep.equal([
        'Ask Mr. Smith and Dr. Wu, e.g. today, i.e. now, etc. Then go.',
      ]);
      expect(split('Meet at 10 a.m. tomorrow. It was 1999. Then')).to.deep.equal(['Meet at 10 a.m. tomorrow. ', 'It was 1999. ', 'Then']);
      expect(split('Steps: 1. Open it. 2. Close it.')).to.deep.equal(['Steps: 1. ', 'Open it. ', '2. Close it.']);
    });

    it('after ASCII marks before Chinese text, as LLMs mixing the two write it', () => {
      expect(split('好的!我来帮你.首先,打开它?')).to.deep.equal(['好的!', '我来帮你.', '首先,打开它?']);
      expect(split('版本1.0发布了')).to.deep.equal(['版本1.0发布了']);
      expect(split('1.首先打开')).to.deep.equal(['1.首先打开']);
    });

    it('after an ellipsis, … or ...', () => {
      expect(split('嗯……好吧。Well… maybe. Wait... what?')).to.deep.equal(['嗯……', '好吧。', 'Well… ', 'maybe. ', 'Wait... ', 'what?']);
      expect(split('Hmm...ok')).to.deep.equal(['Hmm...ok']);
    });

    it('at a line break: markdown lists, headings and paragraphs', () => {
      expect(split('## Plan\n\n1. Buy milk\n2. Cook\n- done\n\nThat is all')).to.deep.equal([
        '## Plan\n\n',
        '1. Buy milk\n',
        '2. Cook\n',
        '- done\n\n',
        'That is all',
      ]);
      expect(split('line one\r\nline two')).to.deep.equal(['line one\r\n', 'line two']);
    });

    it('never where the piece would hold no letter or digit: that text goes with the next sentence', () => {
      expect(split('---\n。Hello.\n***\nBye')).to.deep.equal(['---\n。Hello.\n', '***\nBye']);
    });

    it('drops the whitespace before the first piece, and keeps the whitespace at the end with the last', () => {
      expect(split('\n\n  你好。 ')).to.deep.equal(['你好。 ']);
    });

    it('not before a character that joins the mark or space before it into one grapheme', () => {
      expect(split('你好。\u0301再见。 \u0308ok')).to.deep.equal(['你好。\u0301再见。 \u0308ok']);
      expect(split('  \u0301x')).to.deep.equal([' \u0301x']);
    });
  });

  describe('a sentence longer than maxLength', () => {
    it('is cut after its last clause mark that fits', () => {
      expect(split('春天来了，花开了，鸟叫了。', { maxLength: 9 })).to.deep.equal(['春天来了，花开了，', '鸟叫了。']);
      expect(split('First, the long part, then the rest.', { maxLength: 25 })).to.deep.equal(['First, the long part, ', 'then the rest.']);
    });

    it('else at the last word boundary that fits, Chinese words included', () => {
      expect(split('one two three four five six', { maxLength: 10 })).to.deep.equal(['one two ', 'three four', 'five six']);
      expect(split('我们今天去北京大学读书', { maxLength: 6 })).to.deep.equal(['我们今天去', '北京大学读书']);
    });

    it('else between graphemes, and only a grapheme longer than the limit is cut inside', () => {
      expect(split('👍🏽👍🏽👍🏽', { maxLength: 3 })).to.deep.equal(['👍🏽', '👍🏽', '👍🏽']);
      expect(split('👍🏽', { maxLength: 1 })).to.deep.equal(['👍', '🏽']);
      // A dictionary word boundary before a combining vowel is no place to cut.
      expect(split('你好ำ́', { maxLength: 3 })).to.deep.equal(['你', '好ำ́']);
      // Whitespace cut off a too-long grapheme is dropped like any whitespace-only piece.
      expect(split(' \u0301', { maxLength: 1 })).to.deep.equal(['\u0301']);
    });

    it('counts characters as the service does: an emoji is one', () => {
      expect(split('😀😀😀😀。', { maxLength: 5 })).to.deep.equal(['😀😀😀😀。']);
    });

    it('drops the whitespace that runs past the limit, without parting CR from LF', () => {
      expect(split(`Hi.${' '.repeat(20)}There.`, { maxLength: 8 })).to.deep.equal(['Hi.     ', 'There.']);
      expect(split('好。\r\n再见', { maxLength: 3 })).to.deep.equal(['好。', '再见']);
    });
  });

  describe('firstClauseMinLength', () => {
    it('ends the first piece at the first clause mark once it holds that many characters', () => {
      expect(split('你好，我是小华，很高兴认识你。今天，好。', { firstClauseMinLength: 4 })).to.deep.equal([
        '你好，我是小华，',
        '很高兴认识你。',
        '今天，好。',
      ]);
      expect(split('Well, to begin with, yes. Then, no.', { firstClauseMinLength: 6 })).to.deep.equal(['Well, to begin with, ', 'yes. ', 'Then, no.']);
    });

    it('leaves a sentence that ends first alone, and 1,000 uncut', () => {
      expect(split('好。然后，再说。', { firstClauseMinLength: 1 })).to.deep.equal(['好。', '然后，再说。']);
      expect(split('It is 1,000 or so, I think.', { firstClauseMinLength: 3 })).to.deep.equal(['It is 1,000 or so, ', 'I think.']);
    });
  });

  describe('for every text and every way of cutting it into fragments (property tests)', () => {
    it('the pieces are the text in order, less only whitespace between them', () => {
      fc.assert(
        fc.property(fragmented(anyText), options, ([text, fragments], opts) => locate(text, piecesOf(fragments, opts)) !== undefined),
        { numRuns: 500 },
      );
    });

    it('each piece is within maxLength code points, holds more than whitespace and does not start with it', () => {
      // A piece may start with a space only when a combining mark after it makes the two one grapheme.
      const startsWithSpace = (piece: string): boolean => /^\s/u.test(piece) && graphemeBoundaries(piece).has(1);
      fc.assert(
        fc.property(fragmented(anyText), options, ([, fragments], opts) =>
          piecesOf(fragments, opts).every((piece) => codePointLength(piece) <= opts.maxLength && piece.trim() !== '' && !startsWithSpace(piece)),
        ),
        { numRuns: 500 },
      );
    });

    it('never cuts inside a grapheme that fits the limit', () => {
      fc.assert(
        fc.property(fragmented(anyText), options, ([text, fragments], opts) => {
          fc.pre(longestGrapheme(text) <= opts.maxLength);
          const pieces = piecesOf(fragments, opts);
          const boundaries = graphemeBoundaries(text);
          const starts = locate(text, pieces) ?? [];
          return starts.every((start, i) => boundaries.has(start) && boundaries.has(start + (pieces[i]?.length ?? 0)));
        }),
        { numRuns: 500 },
      );
    });

    it('every sentence end is a cut, and a piece stops short of its sentence end only when that would not fit', () => {
      fc.assert(
        fc.property(fragmented(tokenText), options, ([text, fragments], opts) => {
          const pieces = piecesOf(fragments, opts);
          const starts = locate(text, pieces) ?? [];
          return pieces.every((piece, i) => {
            const rest = text.slice(starts[i]);
            const end = firstEnd(rest, i === 0 ? opts.firstClauseMinLength : undefined) ?? rest.length;
            const fits = codePointLength(rest.slice(0, end)) <= opts.maxLength;
            return fits ? piece === rest.slice(0, end) : piece.length < end;
          });
        }),
        { numRuns: 1000 },
      );
    });

    it('gives the same pieces however the text is cut into fragments', () => {
      fc.assert(
        fc.property(fragmented(anyText), options, ([text, fragments], opts) => {
          expect(piecesOf(fragments, opts)).to.deep.equal(split(text, opts));
        }),
        { numRuns: 1000 },
      );
    });

    it('gives the same pieces for a long text fed one character at a time', () => {
      const text = '我们今天去北京大学读书然后回家吃饭睡觉'.repeat(40) + 'The end, e.g. now.'.repeat(30);
      expect(piecesOf(Array.from(text), { maxLength: 50 })).to.deep.equal(split(text, { maxLength: 50 }));
      expect(piecesOf(Array.from(text), { maxLength: 50 }).every((piece) => codePointLength(piece) <= 50)).to.equal(true);
    });
  });

  it('takes no options, and then cuts at 300 characters', () => {
    const pieces = split('字'.repeat(700));
    expect(pieces.map(codePointLength)).to.deep.equal([300, 300, 100]);
    expect(piecesOf(['a'], undefined)).to.deep.equal(['a']);
    let error: unknown;
    of('x')
      .pipe(sentences('long' as never))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.instanceOf(SisConfigError);
  });
});
