import { expect } from 'chai';
import fc from 'fast-check';
import { SisConfigError, splitText } from '../../lib/index.js';
import { codePointLength } from '../../lib/protocol/request.js';

// Pieces that make texts with every kind of cut: CJK and Latin words, all marks, spaces, newlines, emoji.
const piece = fc.constantFrom(
  '你好', '今天天气很好', '世界', 'hello', 'world', 'e.g.', '3.14', '1,000', ' ', '  ', '\n', '\r\n',
  '。', '！', '？', '；', '.', '!', '?', ';', '，', ',', '、', '：', '”', '）', '"', '😀', '👍🏽', 'a', 'x',
);
const text = fc.oneof(
  fc.array(piece, { minLength: 1, maxLength: 80 }).map((pieces) => pieces.join('')),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }),
);
const limit = fc.integer({ min: 1, max: 40 });

describe('splitText', () => {
  describe('for every text and limit (property tests)', () => {
    it('the parts join back to the text exactly', () => {
      fc.assert(fc.property(text, limit, (t, max) => splitText(t, max).join('') === t), { numRuns: 500 });
    });

    it('every part is within the limit in code points, and none is empty', () => {
      fc.assert(
        fc.property(text, limit, (t, max) =>
          splitText(t, max).every((part) => part.length > 0 && codePointLength(part) <= max),
        ),
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

    it('a text within the limit is one part; a part cut short of the limit ends at a mark or a space', () => {
      const markOrSpace = /[。！？；.!?;\n\r…，,、：:"'”’)）\]】》」』〉\s]$/u;
      fc.assert(
        fc.property(text, limit, (t, max) => {
          const parts = splitText(t, max);
          if (codePointLength(t) <= max) return parts.length === 1;
          return parts.every((part, i) => i === parts.length - 1 || codePointLength(part) === max || markOrSpace.test(part));
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

  it('falls back to commas, then spaces, then a hard cut', () => {
    expect(splitText('春天来了，花开了，鸟叫了。', 6)).to.deep.equal(['春天来了，', '花开了，', '鸟叫了。']);
    expect(splitText('one two three four', 9)).to.deep.equal(['one two ', 'three ', 'four']);
    expect(splitText('一二三四五六七', 3)).to.deep.equal(['一二三', '四五六', '七']);
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

  it('gives no part for an empty text, and refuses a limit below 1', () => {
    expect(splitText('', 5)).to.deep.equal([]);
    expect(() => splitText('x', 0)).to.throw(SisConfigError, /maxLength/);
    expect(() => splitText('x', 1.5)).to.throw(SisConfigError, /maxLength/);
  });
});
