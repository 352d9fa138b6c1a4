import { expect } from 'chai';
import { command, converse, handshake, rttsUrl, shape, TestClient } from './helpers.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

describe('emulator handshake', () => {
  const sis = useEmulator();

  it('listens on 127.0.0.1 on an ephemeral port, with the demo token and project id', async () => {
    const { emulator } = await sis.start();
    expect(emulator.url).to.equal(`ws://127.0.0.1:${emulator.port}`);
    expect(emulator.port).to.be.above(0);
    expect(emulator).to.include({ host: '127.0.0.1', token: 'emulator-token', projectId: 'emulator-project' });
  });

  describe('authentication', () => {
    it('answers a missing X-Auth-Token with 401 and the API gateway body', async () => {
      const { emulator } = await sis.start();
      const answer = await handshake(rttsUrl(emulator), {});
      expect(answer.status).to.equal(401);
      expect(answer.body).to.include({ error_code: 'APIG.0301', error_msg: 'Incorrect IAM authentication information: x-auth-token not found' });
      expect(answer.body)
        .to.have.property('request_id')
        .that.matches(/^[0-9a-f]{32}$/);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ status: 401, authenticated: false, ending: 'rejected' });
    });

    it('answers a wrong token with 401 APIG.0301', async () => {
      const { emulator } = await sis.start();
      const answer = await handshake(rttsUrl(emulator), { 'X-Auth-Token': 'wrong' });
      expect(answer.status).to.equal(401);
      expect(answer.body)
        .to.include({ error_code: 'APIG.0301' })
        .and.have.property('error_msg')
        .that.matches(/^Incorrect IAM authentication information: /);
      expect(JSON.stringify(answer.body)).not.to.include('wrong');
    });

    it('accepts any of the configured tokens', async () => {
      const { emulator } = await sis.start({ tokens: ['one', 'two'] });
      expect(emulator.token).to.equal('one');
      expect((await handshake(rttsUrl(emulator), { 'X-Auth-Token': 'two' })).status).to.equal(101);
      expect((await handshake(rttsUrl(emulator), { 'X-Auth-Token': 'emulator-token' })).status).to.equal(401);
    });

    it('lets everyone in with requireAuth: false', async () => {
      const { emulator } = await sis.start({ requireAuth: false });
      expect((await handshake(rttsUrl(emulator), {})).status).to.equal(101);
      await emulator.idle();
      expect(emulator.sessions[0]?.authenticated).to.equal(true);
    });

    it('uses a custom authenticate function in place of the token check', async () => {
      const { emulator } = await sis.start({
        authenticate: ({ headers }) =>
          headers['authorization'] === 'SDK-HMAC-SHA256 ok'
            ? undefined
            : { status: 401, errorCode: 'APIG.0301', errorMsg: 'Incorrect IAM authentication information: verify aksk signature fail' },
      });
      expect((await handshake(rttsUrl(emulator), { Authorization: 'SDK-HMAC-SHA256 ok' })).status).to.equal(101);
      expect((await handshake(rttsUrl(emulator), { 'X-Auth-Token': emulator.token })).body).to.include({
        error_msg: 'Incorrect IAM authentication information: verify aksk signature fail',
      });
    });

    it('keeps no credential in the records', async () => {
      const { emulator } = await sis.start({ tokens: ['secret-token'] });
      await converse(emulator, command({ text: '好' }), { headers: { 'X-Auth-Token': 'secret-token', Authorization: 'Bearer secret', 'X-Custom': 'kept' } });
      const headers = emulator.sessions[0]?.headers;
      expect(headers).to.include({ 'x-auth-token': '<redacted>', authorization: '<redacted>', 'x-custom': 'kept' });
      expect(JSON.stringify(emulator.sessions)).not.to.include('secret');
    });
  });

  describe('routes', () => {
    it('answers any other path with 404 APIG.0101', async () => {
      const { emulator } = await sis.start();
      for (const path of ['/', '/v1/emulator-project/rtts/', '/v1/emulator-project/rasr', '/v2/p/rtts', '/v1//rtts']) {
        const answer = await handshake(`${emulator.url}${path}`, { 'X-Auth-Token': emulator.token });
        expect(answer.status, path).to.equal(404);
        expect(answer.body, path).to.include({ error_code: 'APIG.0101' });
      }
      await emulator.idle();
      expect(emulator.sessions.every((s) => s.authenticated === undefined)).to.equal(true);
    });

    it('serves any project id unless one is configured', async () => {
      const first = (await sis.start()).emulator;
      expect((await handshake(rttsUrl(first, 'any-project'), { 'X-Auth-Token': first.token })).status).to.equal(101);
      await first.close();
      const { emulator } = await sis.start({ projectId: 'p1' });
      expect(emulator.projectId).to.equal('p1');
      expect((await handshake(rttsUrl(emulator, 'p1'), { 'X-Auth-Token': emulator.token })).status).to.equal(101);
      const other = await handshake(rttsUrl(emulator, 'p2'), { 'X-Auth-Token': emulator.token });
      expect(other.status).to.equal(404);
      expect(other.body).to.include({ error_code: 'APIG.0101' });
    });

    it('checks the route before the credentials, like the gateway', async () => {
      const { emulator } = await sis.start();
      expect((await handshake(`${emulator.url}/nowhere`, {})).status).to.equal(404);
    });

    it('answers plain HTTP requests with JSON: 426 on the route, 404 elsewhere', async () => {
      const { emulator } = await sis.start();
      const onRoute = await fetch(`http://127.0.0.1:${emulator.port}/v1/p/rtts`);
      expect(onRoute.status).to.equal(426);
      expect(await onRoute.json()).to.include({ error_code: 'SIS.0031' });
      const elsewhere = await fetch(`http://127.0.0.1:${emulator.port}/health`);
      expect(elsewhere.status).to.equal(404);
      expect(await elsewhere.json()).to.include({ error_code: 'APIG.0101' });
      expect(emulator.stats.httpRequests).to.equal(2);
    });
  });

  describe('connections', () => {
    it('counts open connections from the upgrade to the close, and idle() resolves at zero', async () => {
      const { emulator } = await sis.start();
      expect(emulator.openConnections()).to.equal(0);
      await emulator.idle();
      const a = await TestClient.connect(emulator);
      const b = await TestClient.connect(emulator);
      expect(emulator.openConnections()).to.equal(2);
      let idle = false;
      const idled = emulator.idle().then(() => {
        idle = true;
      });
      await a.close();
      await b.send(command({ text: '好' })).closed;
      await idled;
      expect(idle).to.equal(true);
      expect(emulator.openConnections()).to.equal(0);
      await handshake(rttsUrl(emulator), {});
      await emulator.idle();
      expect(emulator.openConnections()).to.equal(0);
    });

    it('close() ends every connection and the server, and can be called twice', async () => {
      const { emulator } = await sis.start({ faultOnStart: () => ({ kind: 'stall', at: 'after-start' }) });
      const client = await TestClient.connect(emulator);
      client.send(command({ text: '好' }));
      await client.untilType('START');
      await Promise.all([emulator.close(), emulator.close()]);
      expect((await client.closed).code).to.equal(1006);
      expect(emulator.openConnections()).to.equal(0);
      expect(emulator.sessions[0]).to.include({ ending: 'stalled', closedBy: 'emulator' });
      await emulator.close();
      const refused = await handshake(rttsUrl(emulator), {}).catch((error: unknown) => error);
      expect(refused)
        .to.be.instanceOf(Error)
        .with.property('message')
        .that.matches(/ECONNREFUSED/);
    });

    it('marks a session cut by close() as emulator-closed', async () => {
      const { emulator } = await sis.start({ realtimeFactor: 1 });
      const client = await TestClient.connect(emulator);
      client.send(command({ text: '你好世界' }));
      await client.until((f) => f.kind === 'binary');
      await emulator.close();
      expect(emulator.sessions[0]).to.include({ ending: 'emulator-closed', closedBy: 'emulator' });
      expect(shape(client.frames)[0]).to.equal('START');
    });
  });
});
