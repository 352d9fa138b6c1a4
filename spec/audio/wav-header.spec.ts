import { expect } from 'chai';
import { SisConfigError, wavHeader } from '../../lib/index.js';
import { WAV_UNKNOWN_SIZE, wavHeaderLength } from '../../lib/audio/wav-header.js';
import { parseWav } from '../helpers/wav-reader.js';

describe('wavHeader', () => {
  it('writes a 44-byte PCM header: format 1, mono, 16-bit, at the rate, with exact sizes', () => {
    const header = wavHeader({ audioFormat: 'pcm', sampleRate: 16000, dataBytes: 6 });
    expect(header.byteLength).to.equal(44).and.equal(wavHeaderLength('pcm'));
    const parsed = parseWav(Uint8Array.from([...header, 1, 2, 3, 4, 5, 6]));
    expect(parsed.container).to.equal('RIFF');
    expect(parsed.chunkSize).to.equal(44 - 8 + 6);
    expect(parsed.fmt).to.include({ audioFormat: 1, numChannels: 1, sampleRate: 16000, byteRate: 32000, blockAlign: 2, bitsPerSample: 16 });
    expect(parsed.data.chunkSize).to.equal(6);
    expect(Array.from(parsed.data.samples)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  for (const [audioFormat, tag] of [
    ['alaw', 6],
    ['ulaw', 7],
  ] as const) {
    it(`writes a G.711 ${audioFormat} header: format ${tag}, 8-bit, with a fact chunk`, () => {
      const header = wavHeader({ audioFormat, sampleRate: 8000, dataBytes: 3 });
      expect(header.byteLength).to.equal(58).and.equal(wavHeaderLength(audioFormat));
      const parsed = parseWav(Uint8Array.from([...header, 7, 8, 9, 0]));
      expect(parsed.fmt).to.include({ audioFormat: tag, numChannels: 1, sampleRate: 8000, byteRate: 8000, blockAlign: 1, bitsPerSample: 8 });
      expect(parsed.fact).to.include({ chunkId: 'fact', dwSampleLength: 3 });
      expect(parsed.data.chunkSize).to.equal(3);
      expect(parsed.chunkSize, 'the RIFF size counts the pad byte after odd data').to.equal(58 - 8 + 3 + 1);
    });
  }

  it('uses the unknown-length convention (0xFFFFFFFF) without dataBytes', () => {
    const parsed = parseWav(Uint8Array.from([...wavHeader({ audioFormat: 'ulaw' }), 1, 2]));
    expect(parsed.chunkSize).to.equal(WAV_UNKNOWN_SIZE);
    expect(parsed.data.chunkSize).to.equal(WAV_UNKNOWN_SIZE);
    expect(parsed.fact.dwSampleLength).to.equal(WAV_UNKNOWN_SIZE);
    expect(Array.from(parsed.data.samples)).to.deep.equal([1, 2]);
  });

  it('defaults to the request defaults: pcm at 8000 Hz', () => {
    expect(parseWav(wavHeader()).fmt).to.include({ audioFormat: 1, sampleRate: 8000 });
  });

  it('refuses mp3, a bad rate and a bad length with a SisConfigError', () => {
    expect(() => wavHeader({ audioFormat: 'mp3' })).to.throw(SisConfigError, /mp3/);
    expect(() => wavHeader({ sampleRate: 0 })).to.throw(SisConfigError, /sampleRate/);
    expect(() => wavHeader({ dataBytes: -1 })).to.throw(SisConfigError, /dataBytes/);
  });
});
