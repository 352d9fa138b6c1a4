import { expect } from 'chai';
import fc from 'fast-check';
import { SisConfigError, splitText } from '../../lib/index.js';
import { codePointLength } from '../../lib/protocol/request.js';

// Pieces that make texts with every kind of cut: CJK and Latin words, all marks, spaces, newlines,
// and grapheme clusters of several code points (emoji sequences, flags, accents).
const piece = fc.constantFrom(
  '你好',
  '今天天气很好',
  '世界',
  'hello',
  'world',
  'well-known',
  'e.g.',
  '3.14',
  '1,000',
  ' ',
  '  ',
  '\n',
  '\r\n',
  '。',
  '！',
  '？',
  '；',
  '.',
  '!',
  '?',
  ';',
  '，',
  ',',
  '、',
  '：',
  '”',
  '）',
  '"',
  '😀',
  '👍🏽',
  '👩‍💻',
  '🇨🇳',
  'e\u0301',
  'a',
  'x',
);
const text = fc.oneof(
  fc.array(piece, { minLength: 1, maxLength: 80 }).map((pieces) => pieces.join('')),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }),
);
const limit = fc.integer({ min: 1, max: 40 });

/** Where `Intl.Segmenter` puts boundaries in `text`, in code points (what the limit counts). */
const boundaries = (text: string, granularity: 'word' | 'grapheme'): Set<number> => {
  const at = new Set([0]);
  let length = 0;
  for (const { segment } of new Intl.Segmenter(undefined, { granularity }).segment(text)) {
    length += codePointLength(segment);
    at.add(length);
  }
  return at;
};
/** The code point offsets at which the parts were cut. */
const cuts = (parts: readonly string[]): number[] => parts.slice(0, -1).map((_, i) => codePointLength(parts.slice(0, i + 1).join('')));

describe('splitText', () => {
  describe('for every text and limit (property tests)', () => {
    it('the parts join back to the text exactly', () => {
      fc.assert(
        fc.property(text, limit, (t, max) => splitText(t, max).join('') === t),
        { numRuns: 500 },
      );
    });

    it('every part is within the limit in code points, and none is empty', () => {
      fc.assert(
        fc.property(text, limit, (t, max) => splitText(t, max).every((part) => part.length > 0 && codePointLength(part) <= max)),
        { numRuns: 500 },
      );
    });

    it('never splits a surrogate pair', () => {
      fc.assert(
        fc.property(text, limit, (t, max) =>
          splitText(t, max).every((part) => !/^[\udc00-\udfff]/.test(part) || !/[\ud800-\udbff]$/.test(t.slice(0, t.indexOf(part)))),
        ),
        { numRuns: 300 },
      );
    });

    it('never splits a grapheme cluster, unless the cluster alone is longer than the limit', () => {
      fc.assert(
        fc.property(text, limit, (t, max) => {
          const clusters = boundaries(t, 'grapheme');
          const longest = Math.max(
            ...[...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(t)].map(({ segment }) => codePointLength(segment)),
          );
          return longest > max || cuts(splitText(t, max)).every((cut) => clusters.has(cut));
        }),
        { numRuns: 500 },
      );
    });

    it('a text within the limit is one part; a part ends at a mark, a space or a word boundary wherever one fits', () => {
      const markOrSpace = /[。！？；.!?;\n\r…，,、：:"'”’)）\]】》」』〉\s]$/u;
      fc.assert(
        fc.property(text, limit, (t, max) => {
          const parts = splitText(t, max);
          if (codePointLength(t) <= max) return parts.length === 1;
          const words = boundaries(t, 'word');
          let start = 0;
          return parts.every((part, i) => {
            const end = start + codePointLength(part);
            const wordFits = [...words].some((b) => b > start && b <= start + max);
            start = end;
            return i === parts.length - 1 || markOrSpace.test(part) || words.has(end) || !wordFits;
          });
        }),
        { numRuns: 500 },
      );
    });
  });

  it('cuts after sentence punctuation when one falls within the limit', () => {
    expect(splitText('你好。今天天气很好！明天呢？', 8)).to.deep.equal(['你好。', '今天天气很好！', '明天呢？']);
    expect(splitText('First one. Second one! Third?', 14)).to.deep.equal(['First one. ', 'Second one! ', 'Third?']);
    expect(splitText('line one\nline two\n', 10)).to.deep.equal(['line one\n', 'line two\n']);
  });

  it('falls back to commas, then spaces, then word boundaries, then between characters', () => {
    expect(splitText('春天来了，花开了，鸟叫了。', 6)).to.deep.equal(['春天来了，', '花开了，', '鸟叫了。']);
    expect(splitText('one two three four', 9)).to.deep.equal(['one two ', 'three ', 'four']);
    expect(splitText('今天天气很好', 3), 'Chinese words: 今天 天气 很好').to.deep.equal(['今天', '天气', '很好']);
    expect(splitText('abcdefghij', 4), 'one word longer than the limit').to.deep.equal(['abcd', 'efgh', 'ij']);
  });

  it('cuts an unpunctuated English text only between words', () => {
    const sentence = 'the quick brown fox jumps over the lazy dog and keeps on running through the long wet grass';
    for (let max = 7; max <= 30; max++) {
      const parts = splitText(sentence, max);
      expect(
        parts.flatMap((part) => part.split(' ')).filter((word) => word !== ''),
        `limit ${max}`,
      ).to.deep.equal(sentence.split(' '));
    }
    expect(splitText('well-known state-of-the-art', 8)).to.deep.equal(['well-', 'known ', 'state-of', '-the-art']);
  });

  it('never splits an emoji ZWJ sequence, a flag or a letter and its accent', () => {
    expect(splitText('ab👩‍💻cd', 4)).to.deep.equal(['ab', '👩‍💻', 'cd']);
    expect(splitText('a🇨🇳🇯🇵', 2)).to.deep.equal(['a', '🇨🇳', '🇯🇵']);
    expect(splitText('cafe\u0301', 4)).to.deep.equal(['caf', 'e\u0301']);
    expect(splitText('a\r\nb', 2), 'CR LF is one cluster').to.deep.equal(['a', '\r\n', 'b']);
  });

  it('cuts a cluster longer than the limit between code points, and keeps whole what then fits', () => {
    const family = '👨‍👩‍👧‍👦'; // 7 code points: man ZWJ woman ZWJ girl ZWJ boy
    expect(splitText(`${family}x`, 3)).to.deep.equal(['👨‍👩', '‍', '👧‍👦', 'x']);
  });

  it('prefers the sentence end over a later comma', () => {
    expect(splitText('短句。然后很长，的一句话。', 9)).to.deep.equal(['短句。', '然后很长，', '的一句话。']);
  });

  it('keeps closing quotes and spaces with the sentence they end', () => {
    expect(splitText('他说：“好。”然后走了。', 7)).to.deep.equal(['他说：“好。”', '然后走了。']);
    expect(splitText('Stop." Then go.', 8)).to.deep.equal(['Stop." ', 'Then go.']);
  });

  it('does not cut inside numbers and abbreviations', () => {
    expect(splitText('Pi is 3.14159 ok', 12)).to.deep.equal(['Pi is ', '3.14159 ok']);
    expect(splitText('costs 1,000 yuan', 12)).to.deep.equal(['costs 1,000 ', 'yuan']);
  });

  it('counts an emoji as one character, as the service does', () => {
    expect(splitText('😀😀😀', 2)).to.deep.equal(['😀😀', '😀']);
  });

  it('splits a book in linear time: only the text around each limit is segmented', () => {
    // A segmenter over the whole text costs time in proportion to the text at every step: over 10 s here.
    const book = '从前有一座山山上有一座庙庙里有一个老和尚正在给小和尚讲故事 the quick brown fox '.repeat(6000);
    const started = performance.now();
    const parts = splitText(book, 500);
    expect(performance.now() - started).to.be.lessThan(3000);
    expect(parts.join('')).to.equal(book);
  });

  it('gives no part for an empty text, and refuses a limit below 1', () => {
    expect(splitText('', 5)).to.deep.equal([]);
    expect(() => splitText('x', 0)).to.throw(SisConfigError, /maxLength/);
    expect(() => splitText('x', 1.5)).to.throw(SisConfigError, /maxLength/);
  });
});
