/** `faultsByText`: faults as data, chosen by the START's text (what a JSON config file of sis-emulator holds). */
import { expect } from 'chai';
import { resolveOptions } from '../../lib/emulator/options.js';
import { SisConfigError } from '../../lib/errors.js';
import { command, converse, shape, streamingPath, TestClient } from './helpers.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

const problemPaths = (options: object): string[] => {
  try {
    resolveOptions(options);
  } catch (error) {
    if (error instanceof SisConfigError) return error.problems.map((p) => p.path);
    throw error;
  }
  return [];
};

describe('emulator faultsByText', () => {
  const sis = useEmulator({ teardown: 'idle' });

  it('gives a matching real-time session the first matching rule, by substring or /regex/flags', async () => {
    const { emulator } = await sis.start({
      faultsByText: [
        { match: '/^FLAKY/i', fault: { kind: 'fatal', at: 'before-start', errorCode: 'SIS.0413' } },
        { match: 'drop me', fault: { kind: 'drop', at: 'after-start', closeCode: 4000 } },
        { match: 'flaky', fault: { kind: 'error', at: 'after-start' } },
      ],
    });
    const frames = async (text: string): Promise<string[]> => shape((await converse(emulator, command({ text }))).frames);
    expect(await frames('flaky first')).to.deep.equal(['FATAL_ERROR']);
    expect(await frames('please drop me now')).to.deep.equal(['START']);
    expect(await frames('a flaky one')).to.deep.equal(['START', 'ERROR', 'END']);
    expect(await frames('all fine')).to.deep.equal(['START', 'binary…', 'END']);
    expect(emulator.sessions.map((s) => [s.fault?.kind, s.closeCode])).to.deep.equal([
      ['fatal', 1000],
      ['drop', 4000],
      ['error', 1000],
      [undefined, 1000],
    ]);
  });

  it('is spent after `times` sessions', async () => {
    const { emulator } = await sis.start({ faultsByText: [{ match: 'retry', fault: { kind: 'error', at: 'before-start' }, times: 2 }] });
    const frames = async (): Promise<string[]> => shape((await converse(emulator, command({ text: 'retry me' }))).frames);
    expect([await frames(), await frames(), await frames()]).to.deep.equal([
      ['ERROR', 'END'],
      ['ERROR', 'END'],
      ['START', 'binary…', 'END'],
    ]);
  });

  it('comes after faultOnStart', async () => {
    const { emulator } = await sis.start({
      faultOnStart: (c) => (c.text === 'mine' ? { kind: 'end-error', at: 'after-start' } : undefined),
      faultsByText: [{ match: 'i', fault: { kind: 'error', at: 'before-start' } }],
    });
    expect(shape((await converse(emulator, command({ text: 'mine' }))).frames)).to.deep.equal(['START', 'END']);
    expect(shape((await converse(emulator, command({ text: 'hi' }))).frames)).to.deep.equal(['ERROR', 'END']);
  });

  it('matches the text of a streaming ONLY START', async () => {
    const { emulator } = await sis.start({ faultsByText: [{ match: '坏', fault: { kind: 'fatal', at: 'after-start' } }] });
    const client = await TestClient.connect(emulator, { path: streamingPath(emulator) });
    client.send({ command: 'START', text_pieces: 'ONLY', text: '坏了。', config: { voice_name: 'chinese_huaxiaoli_common' } });
    await client.closed;
    expect(shape(client.frames)).to.deep.equal(['START', 'FATAL_ERROR']);
  });

  it('names every problem of a rule', () => {
    expect(
      problemPaths({
        faultsByText: [
          { match: '', fault: { kind: 'error', at: 'after-start' } },
          { match: '/(/', fault: { kind: 'silent' } },
          { match: 'x', fault: { kind: 'drop', at: 'soon' }, times: 0, when: 1 },
          'x',
        ],
      }),
    ).to.deep.equal([
      'faultsByText.0.match',
      'faultsByText.1.match',
      'faultsByText.1.fault.kind',
      'faultsByText.2.when',
      'faultsByText.2.fault.at',
      'faultsByText.2.times',
      'faultsByText.3',
    ]);
    expect(problemPaths({ faultsByText: {} })).to.deep.equal(['faultsByText']);
  });
});
