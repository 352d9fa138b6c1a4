/** The emulator's START check on its own: the code each problem gets, and which of several problems is answered. */
import { expect } from 'chai';
import { checkStart, type StartLimits } from '../../lib/protocol/start-check.js';

const limits: StartLimits = { textLimit: 10, voices: 'known' };
const valid = {
  command: 'START',
  text: '你好',
  config: { audio_format: 'pcm', sample_rate: '8000', property: 'chinese_xiaoyan_common', speed: 0, pitch: 0, volume: 50 },
};
const start = (text: unknown, config: Record<string, unknown> = {}): string => JSON.stringify({ ...valid, text, config: { ...valid.config, ...config } });
const answer = (message: string, given: StartLimits = limits): 'ok' | readonly [string, string] => {
  const checked = checkStart(message, given);
  return checked.ok ? 'ok' : [checked.errorCode, checked.errorMsg];
};

describe('checkStart (the emulator)', () => {
  it('takes a valid START, and any well-formed voice with voices: any', () => {
    expect(answer(JSON.stringify(valid))).to.equal('ok');
    expect(answer(start('x', { property: 'chinese_newvoice_common' }), { ...limits, voices: 'any' })).to.equal('ok');
  });

  it('answers a text with nothing to speak as missing (SIS.0012), and a long one with its length (SIS.0403)', () => {
    expect(answer(start('  \u3000'))).to.deep.equal(['SIS.0012', "'text' is required"]);
    expect(answer(start('好'.repeat(11)))).to.deep.equal(['SIS.0403', "'text' is too long: 11 characters, the limit is 10"]);
  });

  it('names the range of a number out of it', () => {
    expect(answer(start('x', { volume: 101 }))).to.deep.equal(['SIS.0032', "'volume' is invalid: must be an integer from 0 to 100"]);
  });

  it('answers the problem of the earliest field when there are several', () => {
    expect(answer(start('好'.repeat(11), { audio_format: 'wav', speed: 999 }))).to.deep.equal([
      'SIS.0403',
      "'text' is too long: 11 characters, the limit is 10",
    ]);
    expect(answer(start('x', { property: 'chinese_nobody_common', speed: 999 }))[0]).to.equal('SIS.0411');
    expect(answer(start('x', { sample_rate: 8000, property: 'Bad Voice' }))[0]).to.equal('SIS.0402');
    expect(answer(JSON.stringify({ text: 'x' }))).to.deep.equal(['SIS.0012', "'command' is required"]);
  });
});
