/**
 * The control API on the emulator's port (`/__emulator/…`), as a test suite in another language drives
 * it: plain HTTP with JSON, loopback clients only.
 */
import { expect } from 'chai';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleControl, isLoopback } from '../../lib/emulator/control.js';
import { newStats } from '../../lib/emulator/records.js';
import type { Emulator } from '../../lib/emulator/index.js';
import { command, converse, handshake, rttsUrl, shape } from './helpers.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

const control = async (emulator: Emulator, method: 'GET' | 'POST' | 'PUT', endpoint: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
  const response = await fetch(`${emulator.iamEndpoint}/__emulator/${endpoint}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, json: await response.json() };
};

describe('emulator control API', () => {
  const sis = useEmulator({ teardown: 'idle' });

  it('POST /__emulator/faults queues the next faults, in order', async () => {
    const { emulator } = await sis.start();
    const queued = await control(emulator, 'POST', 'faults', [
      { kind: 'error', at: 'after-start', errorCode: 'SIS.0413' },
      { kind: 'reject-handshake', status: 503 },
    ]);
    expect(queued).to.deep.equal({ status: 200, json: { queued: 2 } });
    expect(shape((await converse(emulator, command({ text: '你好' }))).frames)).to.deep.equal(['START', 'ERROR', 'END']);
    expect((await handshake(rttsUrl(emulator), { 'X-Auth-Token': emulator.token })).status).to.equal(503);
    expect(emulator.sessions.map((s) => s.fault?.kind)).to.deep.equal(['error', 'reject-handshake']);
  });

  it('POST /__emulator/faults takes a single fault too', async () => {
    const { emulator } = await sis.start();
    expect(await control(emulator, 'POST', 'faults', { kind: 'fatal', at: 'before-start' })).to.deep.equal({ status: 200, json: { queued: 1 } });
    expect(shape((await converse(emulator, command({ text: '你好' }))).frames)).to.deep.equal(['FATAL_ERROR']);
  });

  it('answers 400 with every problem, and queues none of the faults, when one is invalid', async () => {
    const { emulator } = await sis.start();
    const answer = await control(emulator, 'POST', 'faults', [
      { kind: 'drop', at: 'after-start' },
      { kind: 'drop', at: 'later', closeCode: 1006 },
      { kind: 'nap' },
    ]);
    expect(answer.status).to.equal(400);
    expect((answer.json as { problems: { path: string }[] }).problems.map((p) => p.path)).to.deep.equal(['1.at', '1.closeCode', '2.kind']);
    expect((answer.json as { error: string }).error).to.match(/^1\.at: must be /);
    expect(shape((await converse(emulator, command({ text: '你好' }))).frames)).to.deep.equal(['START', 'binary…', 'END']);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const { emulator } = await sis.start();
    expect(await control(emulator, 'POST', 'faults', '{"kind":')).to.deep.include({ status: 400 });
  });

  it('GET /__emulator/sessions lists the records, secrets redacted', async () => {
    const { emulator } = await sis.start({ tokens: ['a-secret-token'] });
    await converse(emulator, command({ text: '你好' }), { headers: { 'X-Auth-Token': 'a-secret-token' } });
    await emulator.idle();
    const { status, json } = await control(emulator, 'GET', 'sessions');
    expect(status).to.equal(200);
    expect(JSON.stringify(json)).not.to.include('a-secret-token');
    expect(json).to.deep.equal(JSON.parse(JSON.stringify(emulator.sessions)));
    expect((json as { ending: string; headers: Record<string, string> }[])[0]).to.deep.include({ ending: 'end-normal', closedBy: 'client', closeCode: 1000 });
    expect((json as { headers: Record<string, string> }[])[0]?.headers['x-auth-token']).to.equal('<redacted>');
  });

  it('GET /__emulator/stats answers the counters', async () => {
    const { emulator } = await sis.start();
    await converse(emulator, command({ text: '你好' }));
    expect(await control(emulator, 'GET', 'stats')).to.deep.equal({ status: 200, json: emulator.stats });
    expect(emulator.stats).to.include({ connections: 1, sessionsCompleted: 1, httpRequests: 0 });
  });

  it('POST /__emulator/reset forgets the records, the counters and the queued faults', async () => {
    const { emulator } = await sis.start();
    await converse(emulator, command({ text: '你好' }));
    await emulator.idle();
    await control(emulator, 'POST', 'faults', { kind: 'fatal', at: 'before-start' });
    expect(await control(emulator, 'POST', 'reset')).to.deep.equal({ status: 200, json: { reset: true } });
    expect(emulator.sessions).to.deep.equal([]);
    expect(emulator.stats).to.include({ connections: 0, sessionsStarted: 0, sessionsCompleted: 0 });
    expect(shape((await converse(emulator, command({ text: '你好' }))).frames)).to.deep.equal(['START', 'binary…', 'END']);
    expect(emulator.sessions.map((s) => s.connection)).to.deep.equal([1]);
  });

  it('answers 404 naming the endpoints, and 405 to the wrong method', async () => {
    const { emulator } = await sis.start();
    const missing = await control(emulator, 'GET', 'nothing');
    expect(missing.status).to.equal(404);
    expect((missing.json as { error: string }).error).to.include('/__emulator/faults');
    expect(await control(emulator, 'GET', 'faults')).to.deep.include({ status: 405 });
    expect(await control(emulator, 'PUT', 'reset')).to.deep.include({ status: 405 });
  });

  it('answers 403 to a client that is not on loopback', () => {
    let status: number | undefined;
    const response = { writeHead: (code: number) => (status = code), end: () => undefined } as unknown as ServerResponse;
    const request = { method: 'GET', socket: { remoteAddress: '10.1.2.3' } } as unknown as IncomingMessage;
    const target = { sessions: [], stats: newStats(), injectNext: () => expect.fail('no fault queued'), reset: () => expect.fail('no reset') };
    handleControl(target, '/__emulator/stats', request, response);
    expect(status).to.equal(403);
  });

  it('tells loopback addresses from the others', () => {
    expect(['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'].filter(isLoopback)).to.have.length(4);
    expect(['10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', 'fe80::1', '::', '0.0.0.0', undefined].filter(isLoopback)).to.deep.equal([]);
  });
});
