/** The request's rules, once: what the codecs accept, how they name it, and that the client and the emulator agree. */
import { expect } from 'chai';
import { isRight } from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import type * as t from 'io-ts';
import { checkStart } from '../../lib/protocol/start-check.js';
import { SisRequestError } from '../../lib/errors.js';
import { problemsFrom } from '../../lib/protocol/problems.js';
import { resolveRequest, toStartCommand, type ResolvedRequest } from '../../lib/protocol/request.js';
import {
  AUDIO_FORMATS,
  AudioFormat,
  codePointLength,
  isBlank,
  Pitch,
  RANGES,
  SAMPLE_RATES,
  SampleRate,
  Speed,
  SpokenText,
  SUBTITLE_LEVELS,
  textWithin,
  toWireSampleRate,
  VoiceName,
  Volume,
  WIRE_SAMPLE_RATES,
  WireSampleRate,
} from '../../lib/protocol/rules.js';
import { DEFAULT_VOICE, KNOWN_VOICES } from '../../lib/protocol/voices.js';
import { responseCodecs, StartCommand } from '../../lib/protocol/wire.js';

/** The problems a codec finds in a value, as users read them. */
const problemsOf = (codec: t.Decoder<unknown, unknown>, value: unknown): string[] => {
  const decoded = codec.decode(value);
  return isRight(decoded) ? [] : problemsFrom(decoded.left).map((p) => p.message);
};

describe('the request rules (lib/protocol/rules.ts)', () => {
  it('name each range, format and rate by what they accept', () => {
    expect([Speed.name, Pitch.name, Volume.name]).to.deep.equal(['an integer from -500 to 500', 'an integer from -500 to 500', 'an integer from 0 to 100']);
    expect(AudioFormat.name).to.equal('"pcm", "alaw", "ulaw" or "mp3"');
    expect(SampleRate.name).to.equal('8000 or 16000');
    expect(WireSampleRate.name).to.equal('"8000" or "16000"');
    expect(problemsOf(Volume, 101)).to.deep.equal(['must be an integer from 0 to 100, got 101']);
    expect(problemsOf(AudioFormat, 'wav')).to.deep.equal(['must be "pcm", "alaw", "ulaw" or "mp3", got "wav"']);
  });

  it('accept exactly the integers of each range', () => {
    for (const [field, codec] of [
      ['speed', Speed],
      ['pitch', Pitch],
      ['volume', Volume],
    ] as const) {
      const { min, max } = RANGES[field];
      fc.assert(
        fc.property(fc.oneof(fc.integer({ min: min - 100, max: max + 100 }), fc.double()), (n) => {
          expect(codec.is(n), `${field} ${n}`).to.equal(Number.isInteger(n) && n >= min && n <= max);
        }),
      );
    }
  });

  it('spell sample rates on the wire as strings, and only the two rates', () => {
    expect(SAMPLE_RATES.map(toWireSampleRate)).to.deep.equal(['8000', '16000']);
    expect(WIRE_SAMPLE_RATES).to.deep.equal(['8000', '16000']);
    for (const bad of [8000, '8k', '44100', '']) expect(WireSampleRate.is(bad), String(bad)).to.equal(false);
  });

  it('take a voice name of lowercase words joined by _, known or not', () => {
    for (const voice of KNOWN_VOICES) expect(VoiceName.is(voice), voice).to.equal(true);
    expect(VoiceName.is('chinese_newvoice_common')).to.equal(true);
    for (const bad of ['Chinese Voice', 'chinese', 'chinese__xiaoyan', '_x_y', 'x_y_', 42]) expect(VoiceName.is(bad), String(bad)).to.equal(false);
  });

  describe('a text to speak', () => {
    it('must have something to speak', () => {
      for (const blank of ['', ' ', '\t\n', '\u3000']) {
        expect(isBlank(blank)).to.equal(true);
        expect(problemsOf(SpokenText, blank)).to.deep.equal(['must contain something to speak, got an empty or blank text']);
      }
      expect(problemsOf(SpokenText, 42)).to.deep.equal(['must be a non-blank string, got 42']);
    });

    it('is limited in code points, with the advice given', () => {
      const codec = textWithin(3, 'split it');
      expect(codec.is('😀😀😀')).to.equal(true);
      expect(problemsOf(codec, '😀😀😀😀')).to.deep.equal(['is 4 characters long, the limit is 3 (split it)']);
      expect(codePointLength('😀a\ud800')).to.equal(3);
    });
  });

  it('know the server frames by the keys of responseCodecs', () => {
    expect(Object.keys(responseCodecs).sort()).to.deep.equal(['END', 'ERROR', 'FATAL_ERROR', 'RESULT', 'START']);
  });

  it('make every resolved request a valid START command (property)', () => {
    const resolved: fc.Arbitrary<ResolvedRequest> = fc.record({
      text: fc.string({ minLength: 1, maxLength: 30 }).filter((text) => !isBlank(text)),
      audioFormat: fc.constantFrom(...AUDIO_FORMATS),
      sampleRate: fc.constantFrom(...SAMPLE_RATES),
      voice: fc.constantFrom(...KNOWN_VOICES),
      speed: fc.integer(RANGES.speed),
      pitch: fc.integer(RANGES.pitch),
      volume: fc.integer(RANGES.volume),
      subtitle: fc.option(fc.constantFrom(...SUBTITLE_LEVELS), { nil: undefined }),
    });
    fc.assert(fc.property(resolved, (request) => StartCommand.is(toStartCommand(request))));
  });
});

describe('the client and the emulator agree on every request', () => {
  // Short limits, so that generated texts cross them.
  const maxTextLength = 10;

  /** Any value or a wrong one, for each field; `undefined` leaves the field out (its default applies). */
  const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 3 });
  const number = (min: number, max: number): fc.Arbitrary<number> =>
    fc.oneof(fc.integer({ min: min - 100, max: max + 100 }), fc.constantFrom(min, max, min - 1, max + 1, -0, 0.5, Number.NaN, Infinity), fc.double());
  const request = fc.record({
    text: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 14 }),
      fc.string({ unit: 'grapheme', minLength: 8, maxLength: 12 }),
      fc.constantFrom('', ' ', '\t\n', '\u3000', '😀'.repeat(10), '😀'.repeat(11)),
      fc.integer(),
    ),
    audioFormat: maybe(fc.oneof(fc.constantFrom(...AUDIO_FORMATS), fc.constantFrom('wav', 'PCM', ''))),
    sampleRate: maybe(fc.oneof(fc.constantFrom(...SAMPLE_RATES), fc.constantFrom(22050, 0, 8000.5, -8000, 16000.0001))),
    voice: maybe(fc.oneof(fc.constantFrom(...KNOWN_VOICES), fc.stringMatching(/^[a-zA-Z0-9_ -]{0,16}$/))),
    speed: maybe(number(RANGES.speed.min, RANGES.speed.max)),
    pitch: maybe(number(RANGES.pitch.min, RANGES.pitch.max)),
    volume: maybe(number(RANGES.volume.min, RANGES.volume.max)),
    subtitle: maybe(fc.oneof(fc.constantFrom(...SUBTITLE_LEVELS), fc.constantFrom('sentence_level', ''))),
  });
  type Generated = typeof request extends fc.Arbitrary<infer R> ? R : never;

  /** What a client that skipped its own checks would send: the fields as given, the defaults for the rest. */
  const startOf = (r: Generated): object => ({
    command: 'START',
    text: r.text,
    config: {
      audio_format: r.audioFormat ?? 'pcm',
      sample_rate: String(r.sampleRate ?? 8000),
      property: r.voice ?? DEFAULT_VOICE,
      speed: r.speed ?? 0,
      pitch: r.pitch ?? 0,
      volume: r.volume ?? 50,
      ...(r.subtitle === undefined ? {} : { subtitle: r.subtitle }),
    },
  });

  const clientAccepts = (r: Generated): ResolvedRequest | undefined => {
    const given = Object.fromEntries(Object.entries(r).filter(([, value]) => value !== undefined));
    try {
      return resolveRequest(given, { maxTextLength });
    } catch (error) {
      expect(error).to.be.instanceOf(SisRequestError);
      return undefined;
    }
  };

  it('accepts on one side exactly what it accepts on the other (property)', () => {
    fc.assert(
      fc.property(request, (r) => {
        const resolved = clientAccepts(r);
        const sent = JSON.parse(JSON.stringify(startOf(r))) as unknown;
        const answer = checkStart(JSON.stringify(sent), { textLimit: maxTextLength, voices: 'any' });
        expect(answer.ok, `client ${resolved === undefined ? 'rejects' : 'accepts'}, emulator answers ${JSON.stringify(answer)}`).to.equal(
          resolved !== undefined,
        );
        // What the client really sends for an accepted request is what the model above sends.
        if (resolved !== undefined) expect(JSON.parse(JSON.stringify(toStartCommand(resolved)))).to.deep.equal(sent);
      }),
      { numRuns: 3000 },
    );
  });
});
