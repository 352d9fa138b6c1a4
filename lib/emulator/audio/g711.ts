/**
 * G.711 A-law and µ-law encoders (ITU-T G.711), 16-bit linear in, 8-bit out. Each is computed once
 * into a 64 Ki-entry table, so encoding minutes of audio is a lookup per sample.
 * Rounding follows the common reference implementation (as in the `alawmulaw` package, which the
 * tests compare against for every one of the 65,536 inputs).
 */

/** Exponent (segment) of a positive magnitude: the position of its highest set bit above bit 7. */
const highBit = (value: number): number => 31 - Math.clz32(value);

export const alawSample = (sample: number): number => {
  const clipped = sample === -32768 ? -32767 : sample;
  const sign = clipped >= 0 ? 0x80 : 0;
  const magnitude = Math.min(Math.abs(clipped), 32635);
  let code: number;
  if (magnitude >= 256) {
    const exponent = highBit(magnitude) - 7;
    code = (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0f);
  } else {
    code = magnitude >> 4;
  }
  return (code | sign) ^ 0x55;
};

const MULAW_BIAS = 0x84;

export const mulawSample = (sample: number): number => {
  const sign = sample < 0 ? 0x80 : 0;
  const magnitude = Math.min(Math.abs(sample) + MULAW_BIAS, 32635);
  const exponent = highBit(magnitude >> 7);
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
};

const tableOf = (encode: (sample: number) => number): (() => Uint8Array) => {
  let table: Uint8Array | undefined;
  return () => {
    // Indexed by the sample's 16-bit pattern, i.e. sample & 0xffff.
    table ??= Uint8Array.from({ length: 65536 }, (_, bits) => encode((bits << 16) >> 16));
    return table;
  };
};

const alawTable = tableOf(alawSample);
const mulawTable = tableOf(mulawSample);

const encodeWith = (table: Uint8Array, samples: Int16Array): Uint8Array => {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = table[(samples[i] ?? 0) & 0xffff] ?? 0;
  return out;
};

export const encodeAlaw = (samples: Int16Array): Uint8Array => encodeWith(alawTable(), samples);
export const encodeMulaw = (samples: Int16Array): Uint8Array => encodeWith(mulawTable(), samples);
