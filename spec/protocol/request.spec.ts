import { expect } from 'chai';
import fc from 'fast-check';
import { SisRequestError, resolveRequest, type Problem } from '../../lib/index.js';
import { toStartCommand } from '../../lib/protocol/request.js';
import { codePointLength } from '../../lib/protocol/rules.js';
import { StartCommand } from '../../lib/protocol/wire.js';

const problemsOf = (request: unknown, limits?: { maxTextLength: number }): readonly Problem[] => {
  try {
    resolveRequest(request, limits);
  } catch (error) {
    expect(error).to.be.instanceOf(SisRequestError);
    return (error as SisRequestError).problems;
  }
  throw new Error('expected a SisRequestError');
};

describe('request validation', () => {
  it('fills in the documented defaults', () => {
    expect(resolveRequest({ text: '你好' })).to.deep.equal({
      text: '你好',
      audioFormat: 'pcm',
      sampleRate: 8000,
      voice: 'chinese_xiaoyan_common',
      speed: 0,
      pitch: 0,
      volume: 50,
      subtitle: undefined,
    });
  });

  it('maps to the wire with sample_rate as a string, and the codec accepts the result', () => {
    const command = toStartCommand(resolveRequest({ text: 'hi', sampleRate: 16000, audioFormat: 'ulaw', voice: 'english_amy_common', volume: 0 }));
    expect(command.config.sample_rate).to.equal('16000');
    expect(command.config.property).to.equal('english_amy_common');
    expect(command.config).not.to.have.property('subtitle');
    expect(StartCommand.is(command)).to.equal(true);
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ text: ' ', audioFormat: 'wav', sampleRate: 44100, speed: 1.5, pitch: -501, volume: 101, subtitle: 'line' });
    expect(problems.map((p) => p.path)).to.deep.equal(['text', 'audioFormat', 'sampleRate', 'speed', 'pitch', 'volume', 'subtitle']);
    expect(problems.find((p) => p.path === 'speed')?.message).to.equal('must be an integer from -500 to 500, got 1.5');
    expect(problems.find((p) => p.path === 'audioFormat')?.message).to.equal('must be "pcm", "alaw", "ulaw" or "mp3", got "wav"');
    expect(problems.find((p) => p.path === 'text')?.message).to.equal('must contain something to speak, got an empty or blank text');
  });

  it('names unknown fields, with a hint for wire-style names', () => {
    expect(problemsOf({ text: 'x', sample_rate: '8000' })).to.deep.equal([{ path: 'sample_rate', message: "unknown field (did you mean 'sampleRate'?)" }]);
  });

  it('rejects what is not an object, and a missing or non-string text', () => {
    expect(problemsOf('hello')).to.deep.equal([{ path: '', message: "must be an object like { text: '...' }, got a string" }]);
    expect(problemsOf(null)[0]?.message).to.match(/got null$/);
    expect(problemsOf([])[0]?.message).to.match(/got an array$/);
    expect(problemsOf({})).to.deep.equal([{ path: 'text', message: 'must be a non-blank string of at most 10000 characters, got nothing' }]);
    expect(problemsOf({ text: 42 })).to.deep.equal([{ path: 'text', message: 'must be a non-blank string of at most 10000 characters, got 42' }]);
  });

  it('allows unknown but well-formed voices, and rejects malformed ones', () => {
    expect(resolveRequest({ text: 'x', voice: 'chinese_newvoice_common' }).voice).to.equal('chinese_newvoice_common');
    expect(problemsOf({ text: 'x', voice: 'Chinese Voice' })).to.deep.equal([
      { path: 'voice', message: 'must be a voice name like chinese_xiaoyan_common (lowercase language_speaker_domain), got "Chinese Voice"' },
    ]);
  });

  describe('text length', () => {
    it('counts code points as the service does, not UTF-16 units', () => {
      expect(codePointLength('😀😀')).to.equal(2);
      expect('😀😀'.length).to.equal(4);
      expect(() => resolveRequest({ text: '😀'.repeat(10) }, { maxTextLength: 10 })).not.to.throw();
      expect(problemsOf({ text: '😀'.repeat(11) }, { maxTextLength: 10 })).to.deep.equal([
        { path: 'text', message: 'is 11 characters long, the limit is 10 (split it, e.g. with synthesizeLong$, or raise limits.maxTextLength)' },
      ]);
    });

    it('defaults the limit to 10,000 characters', () => {
      expect(() => resolveRequest({ text: '好'.repeat(10_000) })).not.to.throw();
      expect(problemsOf({ text: '好'.repeat(10_001) })[0]?.path).to.equal('text');
    });

    it('agrees with the spread operator for every string (property)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
          expect(codePointLength(text)).to.equal([...text].length);
        }),
        { numRuns: 1000 },
      );
    });
  });

  it('accepts every valid combination and rejects every out-of-range number (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          speed: fc.integer({ min: -600, max: 600 }),
          pitch: fc.integer({ min: -600, max: 600 }),
          volume: fc.integer({ min: -20, max: 120 }),
        }),
        ({ speed, pitch, volume }) => {
          const valid = Math.abs(speed) <= 500 && Math.abs(pitch) <= 500 && volume >= 0 && volume <= 100;
          let error: unknown;
          try {
            resolveRequest({ text: 'x', speed, pitch, volume });
          } catch (e) {
            error = e;
          }
          expect(error === undefined).to.equal(valid);
          if (!valid) expect(error).to.be.instanceOf(SisRequestError);
        },
      ),
      { numRuns: 500 },
    );
  });
});
