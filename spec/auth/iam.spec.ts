/** iamPasswordToken against the emulator's IAM on 127.0.0.1, and against scripted fetch answers. */
import { expect } from 'chai';
import { inspect } from 'node:util';
import { SisAuthError, SisConfigError, iamPasswordToken, type FetchLike, type IamPasswordTokenOptions } from '../../lib/index.js';
import { useEmulator, withEmulator } from '../helpers/emulator-fixture.js';
import { SECRETS } from '../helpers/secrets.js';

const MINUTE = 60_000;
const USER = { domainName: 'acme', userName: 'tts-bot', password: SECRETS.password };

/** The error a promise rejects with (fails the test if it resolves). */
const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

const showsPassword = (value: unknown): boolean =>
  [String(value), JSON.stringify(value) ?? '', inspect(value, { depth: 5 }), value instanceof Error ? (value.stack ?? '') : ''].some(
    (text) => text.includes(SECRETS.password) || text.includes(SECRETS.wrongPassword),
  );

/** A fetch that answers from a script, recording what it was asked. */
const scriptedFetch = (answer: { status: number; headers?: Record<string, string>; body: string } | Error) => {
  const calls: { url: string; init: Parameters<FetchLike>[1] }[] = [];
  const fake: FetchLike = async (url, init) => {
    calls.push({ url, init });
    if (answer instanceof Error) throw answer;
    const headers = new Map(Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return { status: answer.status, headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null }, text: async () => answer.body };
  };
  return { fake, calls };
};

describe('iamPasswordToken', () => {
  let now = Date.UTC(2024, 5, 1, 12, 0, 0);
  const clock = (): Date => new Date(now);
  beforeEach(() => {
    now = Date.UTC(2024, 5, 1, 12, 0, 0);
  });
  const sis = useEmulator({ startIn: 'beforeEach', options: { iamUsers: [USER], iamTokenLifetimeMs: 60 * MINUTE, clock }, teardown: 'idle' });
  const provider = (options: Partial<IamPasswordTokenOptions> = {}) =>
    iamPasswordToken({ ...USER, region: 'cn-north-4', iamEndpoint: sis.emulator.iamEndpoint, clock, ...options });

  it("posts the password login of protocol.md §3, scoped to the region's project, and returns X-Subject-Token", async () => {
    const calls: { url: string; init: Parameters<FetchLike>[1] }[] = [];
    const recording: FetchLike = (url, init) => {
      calls.push({ url, init });
      return fetch(url, init);
    };
    const token = await provider({ fetch: recording })();
    expect(token).to.match(/^MII/);
    expect(calls).to.have.length(1);
    expect(calls[0]?.url).to.equal(`${sis.emulator.iamEndpoint}/v3/auth/tokens`);
    expect(calls[0]?.init).to.include({ method: 'POST', redirect: 'error' });
    expect(calls[0]?.init.headers).to.deep.equal({ 'Content-Type': 'application/json;charset=utf8' });
    expect(JSON.parse(calls[0]?.init.body ?? '')).to.deep.equal({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'tts-bot', password: SECRETS.password, domain: { name: 'acme' } } } },
        scope: { project: { name: 'cn-north-4' } },
      },
    });
  });

  it('caches the token in memory: further calls, and other providers with the same key, ask IAM nothing', async () => {
    const first = await provider()();
    expect(await provider()()).to.equal(first);
    expect(await provider()()).to.equal(first);
    expect(sis.emulator.iam.requests).to.equal(1);
  });

  it('keys the cache by IAM endpoint, domain, user and project scope (and never serves it to another password)', async () => {
    await withEmulator({ iamUsers: [USER, { ...USER, domainName: 'acme-2' }, { ...USER, userName: 'bot-2' }], clock }, async (other) => {
      const tokens = new Set([
        await provider()(),
        await provider({ region: 'cn-east-3' })(),
        await provider({ iamEndpoint: other.iamEndpoint })(),
        await provider({ iamEndpoint: other.iamEndpoint, domainName: 'acme-2' })(),
        await provider({ iamEndpoint: other.iamEndpoint, userName: 'bot-2' })(),
      ]);
      expect(tokens.size).to.equal(5);
      expect(sis.emulator.iam.requests + other.iam.requests).to.equal(5);
      const error = await rejectionOf(provider({ password: SECRETS.wrongPassword })());
      expect(error).to.be.instanceOf(SisAuthError).and.include({ status: 401 });
      expect(sis.emulator.iam.requests).to.equal(3);
    });
  });

  it('refreshes before expires_at: 5 minutes before, or half the lifetime when that is shorter', async () => {
    const token = provider();
    const first = await token();
    now += 54 * MINUTE;
    expect(await token()).to.equal(first);
    now += 2 * MINUTE; // 56 minutes into a 60-minute token
    const second = await token();
    expect(second).not.to.equal(first);
    expect(sis.emulator.iam.requests).to.equal(2);

    await withEmulator({ iamUsers: [USER], iamTokenLifetimeMs: 4 * MINUTE, clock }, async (short) => {
      const shortLived = provider({ iamEndpoint: short.iamEndpoint });
      const a = await shortLived();
      now += 1.5 * MINUTE;
      expect(await shortLived()).to.equal(a);
      now += MINUTE; // 2.5 of 4 minutes: past half the lifetime
      expect(await shortLived()).not.to.equal(a);
      expect(short.iam.requests).to.equal(2);
    });
  });

  it("measures the lifetime on IAM's clock, so a local clock hours off still caches", async () => {
    const token = provider({ clock: () => new Date(now + 5 * 3_600_000) });
    const first = await token();
    expect(await token()).to.equal(first);
    expect(sis.emulator.iam.requests).to.equal(1);
  });

  it('shares one request among concurrent callers', async () => {
    const a = provider();
    const b = provider();
    const tokens = await Promise.all([a(), b(), a(), b(), a()]);
    expect(new Set(tokens).size).to.equal(1);
    expect(sis.emulator.iam.requests).to.equal(1);
  });

  it('fetches a fresh token after invalidate()', async () => {
    const token = provider();
    const first = await token();
    token.invalidate();
    const second = await token();
    expect(second).not.to.equal(first);
    expect(await token()).to.equal(second);
    expect(sis.emulator.iam.requests).to.equal(2);
  });

  describe('failures', () => {
    it("gives SisAuthError with IAM's status, code and message, never the password", async () => {
      const error = await rejectionOf(provider({ password: SECRETS.wrongPassword })());
      expect(error).to.be.instanceOf(SisAuthError).and.include({
        code: 'AUTH_FAILED',
        status: 401,
        errorCode: '401',
        errorMsg: 'The username or password is wrong.',
        retryable: false,
      });
      expect((error as Error).message).to.equal(
        `IAM refused a token for user "tts-bot" of domain "acme" at ${sis.emulator.iamEndpoint} with HTTP 401: 401 The username or password is wrong.`,
      );
      expect(showsPassword(error)).to.equal(false);
    });

    it('marks 5xx as retryable, caches no failure, and succeeds on the next call', async () => {
      sis.emulator.iam.injectFailure({ status: 500, errorCode: 'IAM.0001', errorMsg: 'internal error' });
      const token = provider();
      const error = await rejectionOf(token());
      expect(error).to.be.instanceOf(SisAuthError).and.include({ status: 500, errorCode: 'IAM.0001', errorMsg: 'internal error', retryable: true });
      expect(await token()).to.match(/^MII/);
      expect(sis.emulator.iam.requests).to.equal(2);
    });

    it('gives every concurrent caller the same failure', async () => {
      sis.emulator.iam.injectFailure({ status: 503 });
      const token = provider();
      const errors = await Promise.all([rejectionOf(token()), rejectionOf(token())]);
      expect(errors[0]).to.equal(errors[1]).and.be.instanceOf(SisAuthError);
      expect(sis.emulator.iam.requests).to.equal(1);
    });

    it('reports an unreachable IAM as retryable, with the cause', async () => {
      const closedEndpoint = await withEmulator({}, async (closed) => closed.iamEndpoint);
      const error = await rejectionOf(provider({ iamEndpoint: closedEndpoint })());
      expect(error).to.be.instanceOf(SisAuthError).and.include({ retryable: true, status: undefined });
      expect((error as Error).message).to.match(/^could not get an IAM token for user "tts-bot" of domain "acme" at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
      expect((error as Error).cause).to.be.instanceOf(Error);
      expect(showsPassword(error)).to.equal(false);
    });

    it("reads the gateway's error shape too, and scrubs the password if IAM echoes it", async () => {
      const { fake } = scriptedFetch({ status: 400, body: JSON.stringify({ error_code: 'IAM.0011', error_msg: `bad request: password ${SECRETS.password}` }) });
      const error = await rejectionOf(provider({ fetch: fake })());
      expect(error).to.be.instanceOf(SisAuthError).and.include({ status: 400, errorCode: 'IAM.0011', errorMsg: 'bad request: password <redacted>' });
      expect(showsPassword(error)).to.equal(false);
    });

    it('fails when IAM answers without X-Subject-Token or expires_at, or too late', async () => {
      const body = JSON.stringify({ token: { expires_at: '2024-06-02T12:00:00.000000Z' } });
      const cases: [Parameters<typeof scriptedFetch>[0], RegExp][] = [
        [{ status: 201, body }, /without a usable X-Subject-Token/],
        [{ status: 201, headers: { 'X-Subject-Token': 'MIIx' }, body: '{"token":{}}' }, /without token\.expires_at/],
        [{ status: 201, headers: { 'X-Subject-Token': 'MIIx' }, body: JSON.stringify({ token: { expires_at: 'soon' } }) }, /without token\.expires_at/],
        [new DOMException('The operation was aborted due to timeout', 'TimeoutError'), /: no answer in time/],
      ];
      for (const [answer, message] of cases) {
        const error = await rejectionOf(provider({ fetch: scriptedFetch(answer).fake, userName: `u${String(message)}` })());
        expect(error).to.be.instanceOf(SisAuthError);
        expect((error as Error).message).to.match(message);
      }
      const { fake, calls } = scriptedFetch({ status: 201, headers: { 'X-Subject-Token': 'MIIok' }, body });
      expect(await provider({ fetch: fake, userName: 'signal-check' })()).to.equal('MIIok');
      expect(calls[0]?.init.signal).to.be.instanceOf(AbortSignal);
    });
  });

  describe('options', () => {
    const problems = (options: IamPasswordTokenOptions): string[] => {
      try {
        iamPasswordToken(options);
      } catch (error) {
        expect(error).to.be.instanceOf(SisConfigError);
        expect(showsPassword(error)).to.equal(false);
        return (error as SisConfigError).problems.map((p) => `${p.path}: ${p.message}`);
      }
      return [];
    };

    it('are checked at once, never quoting the password', () => {
      expect(problems({ userName: '', password: '', domainName: ' ', region: 'north' })).to.deep.equal([
        'userName: must be a non-empty string, got ""',
        'domainName: must be a non-empty string, got " "',
        'password: must be a non-empty string',
        'region: must be a region name like cn-north-4, got "north"',
      ]);
    });

    it('require https for IAM unless it is a loopback emulator (the password is in the body)', () => {
      const base = { ...USER, region: 'cn-north-4' };
      expect(problems({ ...base, iamEndpoint: 'http://iam.example.com' })[0]).to.match(/^iamEndpoint: must use https:\/\//);
      expect(problems({ ...base, iamEndpoint: `https://u:${encodeURIComponent(SECRETS.password)}@iam.example.com` })).to.deep.equal([
        'iamEndpoint: must not carry credentials, a query or a fragment',
      ]);
      expect(problems({ ...base, iamEndpoint: 'http://127.0.0.1:1' })).to.deep.equal([]);
      expect(problems(base)).to.deep.equal([]);
    });

    it('make a provider that prints who it logs in as, never the password', () => {
      const token = provider();
      expect(inspect(token, { breakLength: Infinity })).to.equal(
        `IamTokenProvider { iamEndpoint: '${sis.emulator.iamEndpoint}', domainName: 'acme', userName: 'tts-bot', project: 'cn-north-4' }`,
      );
      expect(String(token)).to.equal('[IamTokenProvider tts-bot@acme cn-north-4]');
      expect(JSON.parse(JSON.stringify({ token }))).to.deep.equal({
        token: { type: 'IamTokenProvider', iamEndpoint: sis.emulator.iamEndpoint, domainName: 'acme', userName: 'tts-bot', project: 'cn-north-4' },
      });
      expect(showsPassword(token) || showsPassword({ auth: { token } })).to.equal(false);
    });
  });
});
