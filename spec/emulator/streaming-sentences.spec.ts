import { expect } from 'chai';
import fc from 'fast-check';
import { SentenceBuffer } from '../../lib/emulator/sentence-buffer.js';

/** Feeds the pieces in order; returns the sentences each one completed, and the tail END would speak. */
const feed = (pieces: readonly string[]): { completed: string[][]; tail: string } => {
  const buffer = new SentenceBuffer();
  const completed = pieces.map((piece) => buffer.push(piece));
  return { completed, tail: buffer.flush() };
};

/** Every sentence, the tail last (when there is one). */
const spoken = (pieces: readonly string[]): string[] => {
  const { completed, tail } = feed(pieces);
  return [...completed.flat(), ...(tail === '' ? [] : [tail])];
};

/** Cuts `text` at the given code point offsets (taken modulo its length), except before a character `keep` holds. */
const cut = (text: string, at: readonly number[], keep: (char: string) => boolean = () => false): string[] => {
  const chars = [...text];
  const points = [...new Set(at.map((n) => (chars.length === 0 ? 0 : n % chars.length)))].filter((point) => !keep(chars[point] ?? '')).sort((a, b) => a - b);
  return [0, ...points].map((from, i) => chars.slice(from, points[i] ?? chars.length).join(''));
};

describe('emulator streaming sentence buffer', () => {
  const cases: [string, string[], string[][], string][] = [
    [
      'ends a sentence at each of 。！？；!?;…',
      ['你好。世界！真的？是；Yes! No? So; Hm…'],
      [['你好。', '世界！', '真的？', '是；', 'Yes!', 'No?', 'So;', 'Hm…']],
      '',
    ],
    ['takes a run of ends as one', ['Really?! Wait... what'], [['Really?!', 'Wait...']], 'what'],
    [
      'keeps closing quotes and brackets with their sentence',
      ['他说：“好。”然后 (Yes.) He said "Hi!" then'],
      [['他说：“好。”', '然后 (Yes.)', 'He said "Hi!"']],
      'then',
    ],
    ["ends at '.' only before white space", ['Pi is 3.14 today. Next'], [['Pi is 3.14 today.']], 'Next'],
    ["keeps a '.' at the end waiting for what follows", ['Done.', ' Next.', '\nLast'], [[], ['Done.'], ['Next.']], 'Last'],
    ['joins a sentence cut across pieces', ['你', '好', '。世', '界'], [[], [], ['你好。'], []], '世界'],
    ['keeps unpunctuated text for END', ['Hello', ' world', '  '], [[], [], []], 'Hello world'],
    ['drops white space between sentences', ['一。  ', '\n\t二！'], [['一。'], ['二！']], ''],
  ];
  for (const [what, pieces, completed, tail] of cases) {
    it(what, () => {
      expect(feed(pieces)).to.deep.equal({ completed, tail });
    });
  }

  it('is empty again after flush', () => {
    const buffer = new SentenceBuffer();
    buffer.push('Hello. wor');
    expect(buffer.flush()).to.equal('wor');
    expect(buffer.push('ld!')).to.deep.equal(['ld!']);
    expect(buffer.flush()).to.equal('');
  });

  // A sentence whose end closes a piece is spoken at once, so marks that the next piece starts with
  // cannot join it: they begin the next sentence. Anywhere else, the cut does not matter.
  it('speaks the same sentences however the text is cut, unless a piece starts with an end or closing mark', () => {
    const text = fc
      .array(fc.constantFrom('a', 'b', '好', ' ', '\n', '.', '。', '!', '?', ';', '…', '3', '”'), { maxLength: 80 })
      .map((chars) => chars.join(''));
    const mark = (char: string): boolean => '。!?;…”'.includes(char);
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 10 }), (whole, at) => {
        expect(spoken(cut(whole, at, mark))).to.deep.equal(spoken([whole]));
      }),
    );
  });

  it('starts the next sentence with marks that a piece starts with', () => {
    expect(feed(['Why?', '! And', '” so.'])).to.deep.equal({ completed: [['Why?'], ['!'], []], tail: 'And” so.' });
  });

  it('loses and adds nothing but white space, closing marks included', () => {
    const text = fc.array(fc.constantFrom('a', '好', ' ', '.', '。', '!', '”', ')', '"', '…'), { maxLength: 80 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 10 }), (whole, at) => {
        const squeeze = (s: string): string => s.replace(/\s/gu, '');
        expect(squeeze(spoken(cut(whole, at)).join(''))).to.equal(squeeze(whole));
      }),
    );
  });
});
