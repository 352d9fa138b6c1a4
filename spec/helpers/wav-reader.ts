/** An independent WAV reader (wavefile) for checking what the operators write. */
import { createRequire } from 'node:module';

// wavefile is a UMD bundle flagged __esModule: `require` gives its exports the same way under ESM and CJS loaders.
const { WaveFile } = createRequire(import.meta.url)('wavefile') as typeof import('wavefile');

export interface ParsedWav {
  container: string;
  chunkSize: number;
  fmt: { audioFormat: number; numChannels: number; sampleRate: number; byteRate: number; blockAlign: number; bitsPerSample: number };
  fact: { chunkId: string; dwSampleLength: number };
  data: { chunkSize: number; samples: Uint8Array };
}

export const parseWav = (file: Uint8Array): ParsedWav => {
  const wav = new WaveFile();
  wav.fromBuffer(file);
  return wav as unknown as ParsedWav;
};
