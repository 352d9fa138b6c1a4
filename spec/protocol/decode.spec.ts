import { expect } from 'chai';
import fc from 'fast-check';
import { decodeServerFrame } from '../../lib/protocol/decode.js';
import { decodeFast } from '../../lib/protocol/either.js';
import { SynthesisRequestCodec } from '../../lib/protocol/request.js';
import { AnyResponse, responseCodecs } from '../../lib/protocol/wire.js';

const decode = (frame: unknown) => decodeServerFrame(typeof frame === 'string' ? frame : JSON.stringify(frame));

describe('decodeServerFrame', () => {
  it('decodes the END response of the seed page', () => {
    const result = decode({ resp_type: 'END', trace_id: '567e8537-a89c-13c3-a882-826321939651', reason: 'NORMAL' });
    expect(result).to.deep.equal({
      _tag: 'Right',
      right: { known: true, response: { resp_type: 'END', trace_id: '567e8537-a89c-13c3-a882-826321939651', reason: 'NORMAL' } },
    });
  });

  it('decodes ERROR and FATAL_ERROR with or without a trace id', () => {
    for (const respType of ['ERROR', 'FATAL_ERROR']) {
      expect(decode({ resp_type: respType, error_code: 'SIS.0032', error_msg: 'bad' })._tag).to.equal('Right');
      expect(decode({ resp_type: respType, trace_id: 't', error_code: 'SIS.0032', error_msg: 'bad' })._tag).to.equal('Right');
      expect(decode({ resp_type: respType, trace_id: 't', error_msg: 'bad' })._tag).to.equal('Left');
    }
  });

  it('reports an unknown resp_type as unknown, not as an error', () => {
    const result = decode({ resp_type: 'HEARTBEAT', n: 1 });
    expect(result).to.deep.equal({ _tag: 'Right', right: { known: false, respType: 'HEARTBEAT', frame: { resp_type: 'HEARTBEAT', n: 1 } } });
  });

  it('says what is wrong with a malformed known frame', () => {
    const result = decode({ resp_type: 'START' });
    expect(result._tag).to.equal('Left');
    if (result._tag === 'Left') expect(result.left).to.match(/^a malformed START frame \(trace_id: must be a string, got nothing\)/);
  });

  it('names the choices of a field with a few known values, and the index of a bad list item', () => {
    const end = decode({ resp_type: 'END', trace_id: 't', reason: 'DONE' });
    if (end._tag === 'Left') expect(end.left).to.match(/^a malformed END frame \(reason: must be "NORMAL" or "ERROR", got "DONE"\)/);
    else expect.fail('expected Left');
    const result = decode({
      resp_type: 'RESULT',
      trace_id: 't',
      result: [
        { start_time: 0, end_time: 1, text: 'a' },
        { start_time: 'x', end_time: 1, text: 'b' },
      ],
    });
    if (result._tag === 'Left') expect(result.left).to.match(/^a malformed RESULT frame \(result\.1\.start_time: must be a number, got "x"\)/);
    else expect.fail('expected Left');
  });

  it('never throws, whatever the text (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const result = decodeServerFrame(text);
          expect(['Left', 'Right']).to.include(result._tag);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('does not treat inherited names such as "constructor" as known types', () => {
    expect(decode({ resp_type: 'constructor' })).to.deep.include({ _tag: 'Right' });
    const result = decode({ resp_type: 'toString' });
    expect(result._tag === 'Right' && !result.right.known).to.equal(true);
  });
});

describe('decodeFast', () => {
  /** Values near every codec's shape: right ones, wrong field types, missing and extra fields. */
  const field = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: -600, max: 20_000 }), fc.boolean(), fc.constant(null), fc.constant(undefined));
  const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);
  const near = fc.record(
    {
      resp_type: fc.oneof(pick(['START', 'RESULT', 'END', 'ERROR', 'FATAL_ERROR', 'EVENT', 'OTHER']), field),
      trace_id: fc.oneof(fc.uuid(), field),
      reason: fc.oneof(pick(['NORMAL', 'ERROR']), field),
      error_code: fc.oneof(pick(['SIS.0001', 'SIS.0413']), field),
      error_msg: field,
      text: fc.oneof(fc.string({ maxLength: 30 }), pick(['', '   ', '你好']), field),
      audioFormat: fc.oneof(pick(['pcm', 'mp3', 'alaw', 'ulaw', 'wav']), field),
      sampleRate: fc.oneof(pick([8000, 16000, 44100]), field),
      voice: fc.oneof(pick(['chinese_xiaoyan_common', 'x']), field),
      speed: field,
      pitch: field,
      volume: field,
      subtitle: fc.oneof(pick(['none', 'word_level', 'phoneme_level']), field),
      event: field,
      subtitles: fc.oneof(fc.array(fc.record({ text: field, begin_time: field, end_time: field }), { maxLength: 2 }), field),
    },
    { requiredKeys: [] },
  );
  const codecs = { request: SynthesisRequestCodec, frame: AnyResponse, ...responseCodecs };

  it('gives what decode gives, for every codec of the package: the same value when valid, decode’s errors when not', () => {
    for (const [name, codec] of Object.entries(codecs)) {
      fc.assert(
        fc.property(fc.oneof(near, fc.anything()), (value) => {
          const fast = decodeFast(codec as typeof AnyResponse, value);
          const slow = (codec as typeof AnyResponse).decode(value);
          expect(fast, name).to.deep.equal(slow);
        }),
        { numRuns: 500 },
      );
    }
  });

  it('takes a value that is already valid as it is (the same object, no copy)', () => {
    const request = { text: '你好', sampleRate: 16000 };
    const decoded = decodeFast(SynthesisRequestCodec, request);
    expect(decoded._tag === 'Right' && decoded.right).to.equal(request);
  });
});
