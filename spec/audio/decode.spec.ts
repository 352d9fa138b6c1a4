import { expect } from 'chai';
import fc from 'fast-check';
import { alaw, mulaw } from 'alawmulaw';
import { SisConfigError } from '../../lib/errors.js';
import { alawToLinear, decodePcm16, decodeSamples, ulawToLinear, type LinearAudioFormat } from '../../lib/audio/decode.js';
import { alawSample, encodeAlaw, encodeMulaw, mulawSample } from '../../lib/emulator/audio/g711.js';

const CODES = Array.from({ length: 256 }, (_, code) => code);

/** Decodes `bytes` in pieces cut at `cuts`, carrying the odd byte from piece to piece. */
const decodeInPieces = (audioFormat: LinearAudioFormat, bytes: Uint8Array, cuts: readonly number[]): number[] => {
  const ends = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const samples: number[] = [];
  let carry: number | undefined;
  let from = 0;
  for (const end of [...ends, bytes.length]) {
    const decoded = decodeSamples(audioFormat, bytes.subarray(from, end), carry);
    samples.push(...decoded.samples);
    carry = decoded.carry;
    from = end;
  }
  return samples;
};

describe('decodeSamples', () => {
  it('refuses bad arguments with a SisConfigError naming each', () => {
    expect(() => decodeSamples('mp3' as never, 'bytes' as never, 300))
      .to.throw(SisConfigError)
      .with.property('problems')
      .that.satisfies((problems: { path: string }[]) => problems.map((p) => p.path).join() === 'audioFormat,bytes,carry');
  });

  it('decodes 16-bit little-endian PCM to samples in [-1, 1)', () => {
    const bytes = Uint8Array.from([0x00, 0x00, 0xff, 0x7f, 0x00, 0x80, 0x00, 0x40, 0xff, 0xff]);
    const { samples, carry } = decodeSamples('pcm', bytes);
    expect(Array.from(samples)).to.deep.equal([0, 32767 / 32768, -1, 0.5, -1 / 32768]);
    expect(carry).to.equal(undefined);
  });

  it('decodes PCM at any byte offset of its buffer (a view that starts at an odd byte)', () => {
    const buffer = Uint8Array.from([9, 0x00, 0x40, 0x00, 0xc0]);
    expect(Array.from(decodeSamples('pcm', buffer.subarray(1)).samples)).to.deep.equal([0.5, -0.5]);
  });

  it('returns the odd byte of a PCM chunk as carry, and completes the sample with the next chunk', () => {
    const first = decodePcm16(Uint8Array.from([0x00, 0x40, 0x00]));
    expect(Array.from(first.samples)).to.deep.equal([0.5]);
    expect(first.carry).to.equal(0x00);
    const second = decodePcm16(Uint8Array.from([0xc0]), first.carry);
    expect(Array.from(second.samples)).to.deep.equal([-0.5]);
    expect(second.carry).to.equal(undefined);
  });

  it('keeps the carry through an empty chunk', () => {
    expect(decodePcm16(new Uint8Array(0), 0x12)).to.deep.include({ carry: 0x12 });
    expect(decodePcm16(new Uint8Array(0), 0x12).samples.length).to.equal(0);
  });

  it('decodes PCM cut at any byte boundaries exactly as the whole', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
        const whole = decodeSamples('pcm', bytes);
        expect(decodeInPieces('pcm', bytes, cuts)).to.deep.equal(Array.from(whole.samples));
        expect(whole.samples.length).to.equal(bytes.length >> 1);
      }),
    );
  });

  it('decodes G.711 cut anywhere exactly as the whole, with no carry', () => {
    fc.assert(
      fc.property(fc.constantFrom<LinearAudioFormat>('alaw', 'ulaw'), fc.uint8Array({ maxLength: 100 }), fc.array(fc.nat()), (format, bytes, cuts) => {
        expect(decodeInPieces(format, bytes, cuts)).to.deep.equal(Array.from(decodeSamples(format, bytes).samples));
        expect(decodeSamples(format, bytes, 7).carry).to.equal(undefined);
      }),
    );
  });

  it('decodes every A-law and µ-law code as the alawmulaw reference does', () => {
    for (const code of CODES) {
      expect(alawToLinear(code), `A-law ${code}`).to.equal(alaw.decodeSample(code));
      expect(ulawToLinear(code), `µ-law ${code}`).to.equal(mulaw.decodeSample(code));
    }
    const bytes = Uint8Array.from(CODES);
    expect(Array.from(decodeSamples('alaw', bytes).samples)).to.deep.equal(Array.from(alaw.decode(bytes), (value) => value / 32768));
    expect(Array.from(decodeSamples('ulaw', bytes).samples)).to.deep.equal(Array.from(mulaw.decode(bytes), (value) => value / 32768));
  });

  it("round-trips every code through the emulator's G.711 encoders (µ-law's two zeros encode as one)", () => {
    for (const code of CODES) {
      expect(alawSample(alawToLinear(code)), `A-law ${code}`).to.equal(code);
      expect(mulawSample(ulawToLinear(code)), `µ-law ${code}`).to.equal(code === 0x7f ? 0xff : code);
    }
  });

  it('decodes what the emulator encodes to within a quantisation step of the original', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 64 }), (values) => {
        const pcm = Int16Array.from(values);
        for (const [format, encoded] of [
          ['alaw', encodeAlaw(pcm)],
          ['ulaw', encodeMulaw(pcm)],
        ] as const) {
          const decoded = decodeSamples(format, encoded).samples;
          values.forEach((value, i) => {
            const back = (decoded[i] ?? Number.NaN) * 32768;
            // The segment's step grows with the magnitude: 1/16 of it in A-law, 1/32 in µ-law (plus the clipping near full scale).
            const tolerance = Math.max(16, Math.abs(value) / (format === 'alaw' ? 16 : 15)) + (Math.abs(value) > 32000 ? 800 : 0);
            expect(Math.abs(back - value), `${format} ${value} → ${back}`).to.be.at.most(tolerance);
            // Encoding the decoded value again decodes to it once more: it lies in its code's own interval.
            const again = (format === 'alaw' ? encodeAlaw : encodeMulaw)(Int16Array.from([back]));
            expect((decodeSamples(format, again).samples[0] ?? Number.NaN) * 32768).to.equal(back);
          });
        }
      }),
    );
  });
});
