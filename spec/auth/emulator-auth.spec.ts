/** The emulator's gateway authentication: AK/SK signatures and its IAM token service, over real sockets. */
import { expect } from 'chai';
import { connect } from 'node:net';
import { signHandshake, sdkDate } from '../../lib/auth/aksk.js';
import { akskAuthenticator, startEmulator, type Emulator } from '../../lib/emulator/index.js';
import { SisConfigError } from '../../lib/index.js';
import { handshake, rttsUrl, type HttpAnswer } from '../emulator/helpers.js';
import { SECRETS } from '../helpers/secrets.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

const KEY = { ak: 'AKEMULATOR0000000001', sk: SECRETS.sk };
const USER = { domainName: 'acme', userName: 'tts-bot', password: SECRETS.password };
const MINUTE = 60_000;

const login = (emulator: Emulator, user: { domainName: string; userName: string; password: string }, project = 'cn-north-4'): Promise<Response> =>
  fetch(`${emulator.iamEndpoint}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user.userName, password: user.password, domain: { name: user.domainName } } } },
        scope: { project: { name: project } },
      },
    }),
  });

/** Sends a raw upgrade request and resolves with the status line of the answer (then hangs up). */
const rawHandshake = (emulator: Emulator, lines: readonly string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(emulator.port, emulator.host);
    let answer = '';
    socket.on('data', (data: Buffer) => {
      answer += data.toString('latin1');
      const end = answer.indexOf('\r\n');
      if (end < 0) return;
      resolve(answer.slice(0, end));
      socket.destroy();
    });
    socket.once('error', reject);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });

describe('emulator authentication', () => {
  let now = Date.UTC(2024, 5, 1, 12, 0, 0);
  const sis = useEmulator({ options: { clock: () => new Date(now) }, teardown: 'idle' });
  beforeEach(() => {
    now = Date.UTC(2024, 5, 1, 12, 0, 0);
  });

  const expectRejected = (answer: HttpAnswer, why: RegExp): void => {
    expect(answer.status).to.equal(401);
    expect(answer.body).to.include({ error_code: 'APIG.0301' }).and.have.property('error_msg').that.matches(why);
    expect(answer.body)
      .to.have.property('request_id')
      .that.matches(/^[0-9a-f]{32}$/);
  };

  describe('AK/SK signatures', () => {
    const signed = (url: string, key: { ak: string; sk: string } = KEY, at = now): Record<string, string> => signHandshake(url, key, new Date(at));

    it('opens a handshake signed with a configured key, signed for the host and port sent', async () => {
      const { emulator } = await sis.start({ akSk: [{ ak: 'OTHER', sk: 'other-sk' }, KEY] });
      expect((await handshake(rttsUrl(emulator), signed(rttsUrl(emulator)))).status).to.equal(101);
      await emulator.idle();
      expect(emulator.sessions[0]).to.include({ status: 101, authenticated: true });
      expect(emulator.sessions[0]?.headers).to.include({ authorization: '<redacted>', 'x-sdk-date': sdkDate(new Date(now)) });
      expect(JSON.stringify(emulator.sessions).includes(SECRETS.sk)).to.equal(false);
    });

    it('answers a wrong signature, an unknown AK, or a signature for another host, path or query with 401', async () => {
      const { emulator } = await sis.start({ akSk: [KEY] });
      const url = rttsUrl(emulator);
      expectRejected(await handshake(url, signed(url, { ak: KEY.ak, sk: SECRETS.wrongSk })), /verify aksk signature fail$/);
      expectRejected(await handshake(url, signed(url, { ak: 'AKUNKNOWN', sk: KEY.sk })), /ak not exist$/);
      expectRejected(await handshake(url, signed(url.replace(`:${emulator.port}`, ':1'))), /verify aksk signature fail$/);
      expectRejected(await handshake(url, signed(rttsUrl(emulator, 'another-project'))), /verify aksk signature fail$/);
      expectRejected(await handshake(`${url}?a=1`, signed(`${url}?a=2`)), /verify aksk signature fail$/);
      expect((await handshake(`${url}?a=1`, signed(`${url}?a=1`))).status).to.equal(101);
    });

    it('answers an X-Sdk-Date more than 15 minutes off with 401, either way', async () => {
      const { emulator } = await sis.start({ akSk: [KEY] });
      const url = rttsUrl(emulator);
      for (const off of [-16 * MINUTE, 16 * MINUTE]) expectRejected(await handshake(url, signed(url, KEY, now + off)), /x-sdk-date is too far/);
      for (const off of [-14 * MINUTE, 14 * MINUTE]) expect((await handshake(url, signed(url, KEY, now + off))).status).to.equal(101);
    });

    it('answers missing or malformed headers with 401', async () => {
      const { emulator } = await sis.start({ akSk: [KEY] });
      const url = rttsUrl(emulator);
      const { 'X-Sdk-Date': date = '', Authorization: authorization = '' } = signed(url);
      expectRejected(await handshake(url, { Authorization: authorization }), /x-sdk-date not found$/);
      expectRejected(await handshake(url, { 'X-Sdk-Date': date }), /x-auth-token not found$/);
      expectRejected(await handshake(url, { 'X-Sdk-Date': '2024-06-01T12:00:00Z', Authorization: authorization }), /format YYYYMMDDTHHMMSSZ$/);
      expectRejected(
        await handshake(url, { 'X-Sdk-Date': date, Authorization: authorization.replace('Access=', 'Key=') }),
        /not an SDK-HMAC-SHA256 signature$/,
      );
      expectRejected(
        await handshake(url, { 'X-Sdk-Date': date, Authorization: authorization.replace('host;x-sdk-date', 'host') }),
        /must include host and x-sdk-date$/,
      );
    });

    it('answers a request with two Host headers with 401', async () => {
      const { emulator } = await sis.start({ akSk: [KEY] });
      const url = rttsUrl(emulator);
      const headers = signed(url);
      const request = (hosts: readonly string[]): string[] => [
        `GET /v1/${emulator.projectId}/rtts HTTP/1.1`,
        ...hosts.map((host) => `Host: ${host}`),
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        `X-Sdk-Date: ${headers['X-Sdk-Date'] ?? ''}`,
        `Authorization: ${headers['Authorization'] ?? ''}`,
      ];
      const host = `${emulator.host}:${emulator.port}`;
      expect(await rawHandshake(emulator, request([host]))).to.equal('HTTP/1.1 101 Switching Protocols');
      expect(await rawHandshake(emulator, request([host, host]))).to.equal('HTTP/1.1 401 Unauthorized');
    });

    it('still accepts the configured tokens alongside AK/SK', async () => {
      const { emulator } = await sis.start({ akSk: [KEY], tokens: [SECRETS.token] });
      expect((await handshake(rttsUrl(emulator), { 'X-Auth-Token': SECRETS.token })).status).to.equal(101);
    });

    it('is a plain Authenticator too, with its own clock and skew', () => {
      const check = akskAuthenticator([KEY], { clock: () => new Date(now), maxSkewMs: 1_000 });
      const url = 'ws://127.0.0.1:8080/v1/p/rtts';
      const request = (at: number) => {
        const headers = signHandshake(url, KEY, new Date(at));
        return {
          method: 'GET',
          url: '/v1/p/rtts',
          path: '/v1/p/rtts',
          headers: { host: '127.0.0.1:8080', 'x-sdk-date': headers['X-Sdk-Date'], authorization: headers['Authorization'] },
        };
      };
      expect(check(request(now))).to.equal(undefined);
      expect(check(request(now + 2_000))).to.include({ status: 401, errorCode: 'APIG.0301' });
    });
  });

  describe('the IAM token service (POST /v3/auth/tokens)', () => {
    it('issues a project-scoped token in X-Subject-Token with expires_at from the configured lifetime', async () => {
      const { emulator } = await sis.start({ iamUsers: [USER], iamTokenLifetimeMs: 60 * MINUTE });
      const response = await login(emulator, USER);
      expect(response.status).to.equal(201);
      const token = response.headers.get('x-subject-token') ?? '';
      expect(token).to.match(/^MII/);
      const body = (await response.json()) as { token: Record<string, unknown> };
      expect(body.token).to.deep.include({
        methods: ['password'],
        issued_at: '2024-06-01T12:00:00.000000Z',
        expires_at: '2024-06-01T13:00:00.000000Z',
        user: { name: 'tts-bot', domain: { name: 'acme' } },
      });
      expect(body.token['project']).to.include({ name: 'cn-north-4' });
      expect(emulator.iam).to.include({ requests: 1, tokensIssued: 1 });
      expect(emulator.stats.httpRequests).to.equal(0);
    });

    it('issues tokens that open handshakes until they expire or are revoked', async () => {
      const { emulator } = await sis.start({ iamUsers: [USER], iamTokenLifetimeMs: 60 * MINUTE });
      const token = (await login(emulator, USER)).headers.get('x-subject-token') ?? '';
      expect((await handshake(rttsUrl(emulator), { 'X-Auth-Token': token })).status).to.equal(101);
      now += 61 * MINUTE;
      expectRejected(await handshake(rttsUrl(emulator), { 'X-Auth-Token': token }), /decrypt token fail$/);
      const second = (await login(emulator, USER)).headers.get('x-subject-token') ?? '';
      expect((await handshake(rttsUrl(emulator), { 'X-Auth-Token': second })).status).to.equal(101);
      emulator.iam.revokeTokens();
      expectRejected(await handshake(rttsUrl(emulator), { 'X-Auth-Token': second }), /decrypt token fail$/);
    });

    it("answers a wrong user, domain or password with 401 and IAM's error body, never echoing the password", async () => {
      const { emulator } = await sis.start({ iamUsers: [USER] });
      for (const user of [
        { ...USER, password: SECRETS.wrongPassword },
        { ...USER, userName: 'nobody' },
        { ...USER, domainName: 'other' },
      ]) {
        const response = await login(emulator, user);
        expect(response.status).to.equal(401);
        expect(response.headers.get('x-subject-token')).to.equal(null);
        const text = await response.text();
        expect(JSON.parse(text)).to.deep.equal({ error: { code: '401', message: 'The username or password is wrong.', title: 'Unauthorized' } });
        expect(text.includes(SECRETS.wrongPassword) || text.includes(SECRETS.password)).to.equal(false);
      }
      expect(emulator.iam).to.include({ requests: 3, tokensIssued: 0 });
    });

    it('serves injected failures first, one per request, and counts every request', async () => {
      const { emulator } = await sis.start({ iamUsers: [USER] });
      emulator.iam.injectFailure({ status: 500 }, { status: 429, errorCode: 'IAM.0999', errorMsg: 'slow down' });
      expect((await login(emulator, USER)).status).to.equal(500);
      const throttled = await login(emulator, USER);
      expect(throttled.status).to.equal(429);
      expect(await throttled.json()).to.deep.equal({ error: { code: 'IAM.0999', message: 'slow down', title: 'Too Many Requests' } });
      expect((await login(emulator, USER)).status).to.equal(201);
      expect(emulator.iam).to.include({ requests: 3, tokensIssued: 1 });
      expect(() => emulator.iam.injectFailure({ status: 200 })).to.throw(SisConfigError, /400 to 599/);
    });

    it('answers other methods with 405 and malformed bodies with 400', async () => {
      const { emulator } = await sis.start({ iamUsers: [USER] });
      expect((await fetch(`${emulator.iamEndpoint}/v3/auth/tokens`)).status).to.equal(405);
      const post = (body: string) => fetch(`${emulator.iamEndpoint}/v3/auth/tokens`, { method: 'POST', body });
      expect((await post('{')).status).to.equal(400);
      expect((await post(JSON.stringify({ auth: { identity: { methods: ['token'] } } }))).status).to.equal(400);
    });
  });

  it('checks the new options without quoting a secret', async () => {
    const problems = await startEmulator({
      akSk: [
        { ak: 'AK', sk: '' },
        { ak: '', sk: SECRETS.sk },
      ],
      iamUsers: [{ ...USER, userName: '' }],
      iamTokenLifetimeMs: 0,
    }).then(
      () => [],
      (error: unknown) => {
        expect(error).to.be.instanceOf(SisConfigError);
        expect(String(error).includes(SECRETS.sk) || String(error).includes(SECRETS.password)).to.equal(false);
        return (error as SisConfigError).problems.map((p) => p.path);
      },
    );
    expect(problems).to.deep.equal(['akSk.0', 'akSk.1', 'iamUsers.0', 'iamTokenLifetimeMs']);
  });
});
