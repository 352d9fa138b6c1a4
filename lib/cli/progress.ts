/** A progress bar for long texts, on a terminal only (parts done, seconds of audio). */
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** Called for every chunk, with its part, the number of parts and the seconds of audio so far. */
  update(part: number, parts: number, seconds: number | undefined): void;
  stop(): void;
}

const NONE: Progress = { update: () => undefined, stop: () => undefined };

/** A bar on `stream` if it is a TTY and the text has more than one part; otherwise nothing. */
export const progressBar = (stream: NodeJS.WritableStream & { isTTY?: boolean }): Progress => {
  if (stream.isTTY !== true) return NONE;
  let bar: SingleBar | undefined;
  return {
    update: (part, parts, seconds) => {
      if (parts < 2) return;
      const payload = { audio: seconds === undefined ? '' : ` | ${seconds.toFixed(1)} s of audio` };
      if (bar === undefined) {
        bar = new SingleBar({ stream, format: 'sis-tts [{bar}] {value}/{total} parts{audio}', hideCursor: true, clearOnComplete: true });
        bar.start(parts, part, payload);
      } else bar.update(part, payload);
    },
    stop: () => bar?.stop(),
  };
};
