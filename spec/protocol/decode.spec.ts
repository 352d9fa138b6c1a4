import { expect } from 'chai';
import fc from 'fast-check';
import { decodeServerFrame } from '../../lib/protocol/decode.js';

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
