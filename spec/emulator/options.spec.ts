import { expect } from 'chai';
import { SisConfigError } from '../../lib/errors.js';
import { startEmulator, type EmulatorOptions } from '../../lib/emulator/index.js';
import { withEmulator } from '../helpers/emulator-fixture.js';

const problemsOf = async (options: unknown): Promise<string[]> => {
  const error = await startEmulator(options as EmulatorOptions).then(
    async (emulator) => {
      await emulator.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(SisConfigError);
  return error instanceof SisConfigError ? error.problems.map((p) => p.path) : [];
};

describe('emulator options', () => {
  const invalid: [string, Record<string, unknown>][] = [
    ['host', { host: '' }],
    ['port', { port: 70000 }],
    ['port', { port: 1.5 }],
    ['tokens', { tokens: [] }],
    ['tokens', { tokens: [''] }],
    ['requireAuth', { requireAuth: 'yes' }],
    ['authenticate', { authenticate: 'token' }],
    ['projectId', { projectId: 'a/b' }],
    ['textLimit', { textLimit: 0 }],
    ['voices', { voices: 'some' }],
    ['frameBytes', { frameBytes: 0 }],
    ['realtimeFactor', { realtimeFactor: -1 }],
    ['realtimeFactor', { realtimeFactor: Number.POSITIVE_INFINITY }],
    ['firstAudioDelayMs', { firstAudioDelayMs: -5 }],
    ['idleTimeoutMs', { idleTimeoutMs: 2 ** 31 }],
    ['closeGraceMs', { closeGraceMs: 'soon' }],
    ['maxConcurrentSessions', { maxConcurrentSessions: 0 }],
    ['fault.kind', { fault: { kind: 'explode' } }],
    ['fault.at', { fault: { kind: 'error', at: 'middle' } }],
    ['fault.status', { fault: { kind: 'reject-handshake', status: 200 } }],
    ['fault.closeCode', { fault: { kind: 'drop', at: 'after-start', closeCode: 1006 } }],
    ['faultOnStart', { faultOnStart: { kind: 'stall' } }],
    ['errorThenEnd', { errorThenEnd: 1 }],
    ['portt', { portt: 1 }],
  ];
  for (const [path, options] of invalid) {
    it(`rejects ${JSON.stringify(options)} with SisConfigError at ${path}`, async () => {
      expect(await problemsOf({ port: 0, ...options })).to.deep.equal([path]);
    });
  }

  it('lists every problem at once', async () => {
    expect(await problemsOf({ port: -1, frameBytes: 'big', voices: 'all', idleTimeoutMs: -1 })).to.deep.equal([
      'port',
      'voices',
      'frameBytes',
      'idleTimeoutMs',
    ]);
  });

  it('names the option in the message without echoing tokens', async () => {
    const error = await startEmulator({ port: 0, tokens: ['secret', ''] }).catch((e: unknown) => e);
    expect(error)
      .to.be.instanceOf(SisConfigError)
      .with.property('message')
      .that.matches(/^invalid emulator options: tokens: /);
    expect(String((error as Error).message)).not.to.include('secret');
  });

  it('accepts every option at once', async () => {
    const emulator = await startEmulator({
      host: '127.0.0.1',
      port: 0,
      tokens: ['t'],
      requireAuth: true,
      authenticate: () => undefined,
      projectId: 'p-1',
      textLimit: 500,
      voices: 'any',
      frameBytes: 1,
      realtimeFactor: 0.5,
      firstAudioDelayMs: 0,
      idleTimeoutMs: 0,
      closeGraceMs: 0,
      maxConcurrentSessions: 3,
      fault: { kind: 'drop', at: { afterFrames: 2 }, how: 'close', closeCode: 4000, closeReason: 'bye' },
      faultOnStart: () => undefined,
      errorThenEnd: false,
    });
    expect(emulator.projectId).to.equal('p-1');
    await emulator.close();
  });

  it('rejects with the listen error when the port is taken', async () => {
    const error = await withEmulator({}, (first) => startEmulator({ port: first.port }).catch((e: unknown) => e));
    expect(error).to.be.instanceOf(Error).with.property('code', 'EADDRINUSE');
  });
});
