#!/usr/bin/env node
/**
 * `sis-emulator`: runs the emulator until SIGINT or SIGTERM.
 *   sis-emulator --port 8080 [--host 127.0.0.1] [--token T] [--project-id P] [--realtime 1] [--frame-bytes N]
 *                [--text-limit N] [--idle-timeout MS] [--max-concurrent N] [--voices known|any]
 * The token may also come from SIS_EMULATOR_TOKEN (keeps it out of the process list).
 */
import { parseArgs } from 'node:util';
import { SisConfigError } from '../errors.js';
import { DEFAULT_TOKEN, type EmulatorOptions } from './options.js';
import { startEmulator } from './server.js';

const USAGE =
  'usage: sis-emulator [--port 8080] [--host 127.0.0.1] [--token T] [--project-id P] [--realtime 1] [--frame-bytes 3200]\n' +
  '                    [--text-limit 10000] [--idle-timeout 20000] [--max-concurrent N] [--voices known|any]';

/** A flag whose value is not what it should be. */
class UsageError extends Error {}

const integerFlag = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} expects a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
};

const numberFlag = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new UsageError(`--${name} expects a number, got ${JSON.stringify(value)}`);
  return number;
};

const optionsFrom = (args: readonly string[]): EmulatorOptions | 'help' => {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      token: { type: 'string' },
      'project-id': { type: 'string' },
      realtime: { type: 'string' },
      'frame-bytes': { type: 'string' },
      'text-limit': { type: 'string' },
      'idle-timeout': { type: 'string' },
      'max-concurrent': { type: 'string' },
      voices: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) return 'help';
  const token = values.token ?? process.env['SIS_EMULATOR_TOKEN'];
  const port = integerFlag('port', values.port);
  const realtime = numberFlag('realtime', values.realtime);
  const frameBytes = integerFlag('frame-bytes', values['frame-bytes']);
  const textLimit = integerFlag('text-limit', values['text-limit']);
  const idleTimeoutMs = integerFlag('idle-timeout', values['idle-timeout']);
  const maxConcurrentSessions = integerFlag('max-concurrent', values['max-concurrent']);
  const { voices } = values;
  if (voices !== undefined && voices !== 'known' && voices !== 'any') throw new UsageError(`--voices expects known or any, got ${JSON.stringify(voices)}`);
  return {
    ...(port === undefined ? {} : { port }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(token === undefined || token === '' ? {} : { tokens: [token] }),
    ...(values['project-id'] === undefined ? {} : { projectId: values['project-id'] }),
    ...(realtime === undefined ? {} : { realtimeFactor: realtime }),
    ...(frameBytes === undefined ? {} : { frameBytes }),
    ...(textLimit === undefined ? {} : { textLimit }),
    ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
    ...(maxConcurrentSessions === undefined ? {} : { maxConcurrentSessions }),
    ...(voices === undefined ? {} : { voices }),
  };
};

const main = async (): Promise<void> => {
  let options: EmulatorOptions | 'help';
  try {
    options = optionsFrom(process.argv.slice(2));
  } catch (error) {
    // parseArgs throws TypeErrors with a readable message for unknown or incomplete flags.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`sis-emulator: ${message.replace(/\s*\n\s*/g, ' ')} (see --help)\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const emulator = await startEmulator(options).catch((error: unknown) => {
    // Bad values are usage errors (2); a port in use and the like are failures (1).
    const usage = error instanceof SisConfigError;
    process.stderr.write(`sis-emulator: ${usage ? '' : 'cannot start: '}${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = usage ? 2 : 1;
    return undefined;
  });
  if (emulator === undefined) return;
  // The token is printed only when it is the public demo token.
  const auth = emulator.token === DEFAULT_TOKEN ? `X-Auth-Token: ${DEFAULT_TOKEN}` : 'the X-Auth-Token you configured';
  process.stdout.write(`sis-emulator listening on ${emulator.url} (project id ${emulator.projectId}; clients connect to ${emulator.url}/v1/${emulator.projectId}/rtts and must send ${auth})\n`);
  const stop = (): void => {
    void emulator.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
};

await main();
