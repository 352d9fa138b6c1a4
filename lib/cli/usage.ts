/**
 * How both bins (`sis-tts`, `sis-emulator`) read their command line and report bad usage, in one
 * place: commander parses and checks each flag, {@link UsageError} carries what commander cannot
 * check (combinations of flags), and either way the bin exits 2 with one line on stderr followed by
 * the hint to run `--help`.
 */
import { CommanderError, InvalidArgumentError, type Command } from 'commander';

/** Exit code of bad usage, for both bins. */
export const USAGE_EXIT = 2;

/** Bad command-line usage (a flag, a combination of flags, the input): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where a bin writes: help and version to `out`, failures to `err`. */
export interface BinOutput {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/**
 * What a bin prints on stderr when it fails: `bin: message` on one line and, for bad usage, the hint
 * to run `--help` on the next.
 */
export const failureText = (bin: string, message: string, usage: boolean): string =>
  `${bin}: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n${usage ? `(run ${bin} --help for usage)\n` : ''}`;

/** Either the options to run with, or the exit code to stop with (help and version: 0; bad usage: 2). */
export type CommandLine<T> = { readonly kind: 'run'; readonly options: T } | { readonly kind: 'exit'; readonly code: 0 | typeof USAGE_EXIT };

// Commander ends these by choice of the user, not by error.
const DONE = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/**
 * Parses `argv` (without node and the script) with `program`, then `interpret`s commander's result
 * into the bin's options; `interpret` throws {@link UsageError} for what commander cannot check.
 * Help and version are written to `output.out`; a usage error, commander's or `interpret`'s, to
 * `output.err` through {@link failureText}.
 */
export const parseCommandLine = <T>(program: Command, argv: readonly string[], output: BinOutput, interpret: (program: Command) => T): CommandLine<T> => {
  const bin = program.name();
  program
    .exitOverride()
    // Commander's own "error: …" line is replaced by ours, so that every usage error reads the same.
    .configureOutput({ writeOut: output.out, writeErr: output.err, outputError: () => undefined });
  try {
    program.parse([...argv], { from: 'user' });
    return { kind: 'run', options: interpret(program) };
  } catch (error) {
    if (error instanceof CommanderError) {
      if (DONE.has(error.code)) return { kind: 'exit', code: 0 };
      output.err(failureText(bin, error.message.replace(/^error: /, ''), true));
      return { kind: 'exit', code: USAGE_EXIT };
    }
    if (error instanceof UsageError) {
      output.err(failureText(bin, error.message, true));
      return { kind: 'exit', code: USAGE_EXIT };
    }
    throw error;
  }
};

/** Something with a name and a type guard: an io-ts codec, or {@link integerRange}. */
export interface Accepts<T> {
  /** What is expected, as shown to the user (e.g. `an integer from 0 to 100`). */
  readonly name: string;
  readonly is: (value: unknown) => value is T;
}

/** An integer from `min` to `max` (for flags whose range is the CLI's own, not the protocol's). */
export const integerRange = (min: number, max: number): Accepts<number> => ({
  name: `an integer from ${min} to ${max}`,
  is: (value): value is number => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max,
});

/** A commander argument parser for a whole-number flag that `accepts` (e.g. the protocol's `Speed` codec). */
export const integerArgument =
  (accepts: Accepts<number>) =>
  (value: string): number => {
    const number = /^[+-]?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!accepts.is(number)) throw new InvalidArgumentError(`expected ${accepts.name}.`);
    return number;
  };

/** A commander argument parser for a finite number flag. */
export const numberArgument = (value: string): number => {
  const number = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(number)) throw new InvalidArgumentError('expected a number.');
  return number;
};
