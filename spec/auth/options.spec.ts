/** Regions, auth options, options from the environment, and what option objects show when printed. */
import { expect } from 'chai';
import { inspect } from 'node:util';
import { redactedAuth } from '../../lib/auth/token.js';
import { SisConfigError, createSisClient, sisOptionsFromEnv, type SisClientOptions, type WebSocketFactory } from '../../lib/index.js';
import { regionEndpoint, wsWebSocketFactory, type ConnectRequest } from '../../lib/transport/index.js';
import { NODE_PLATFORM } from '../../lib/session/client.js';
import { resolveOptions } from '../../lib/session/options.js';
import { DEFAULT_MAX_PAYLOAD } from '../../lib/transport/websocket-like.js';
import { wsClientOptions } from '../../lib/transport/ws-factory.js';
import { SECRETS } from '../helpers/secrets.js';

const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(SisConfigError);
    return (error as SisConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected a SisConfigError');
};

/** True when any printed form of `value` shows one of the test secrets. */
const showsSecret = (value: unknown): boolean =>
  [String(value), JSON.stringify(value) ?? '', inspect(value, { depth: 8 })].some((text) => Object.values(SECRETS).some((secret) => text.includes(secret)));

/** A factory that records the request and never opens anything. */
const capture = (): { factory: WebSocketFactory; requests: ConnectRequest[] } => {
  const requests: ConnectRequest[] = [];
  return {
    requests,
    factory: (request) => {
      requests.push(request);
      return { send: () => undefined, close: () => undefined, terminate: () => undefined };
    },
  };
};

describe('regions and endpoints', () => {
  const base = { projectId: 'p1', auth: { token: SECRETS.token } };

  it('builds wss://sis-ext.{region}.myhuaweicloud.com from a region, with certificates verified', () => {
    const { factory, requests } = capture();
    createSisClient({ ...base, region: 'cn-north-4', webSocketFactory: factory })
      .synthesize$({ text: 'x' })
      .subscribe()
      .unsubscribe();
    expect(requests[0]).to.include({ url: 'wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/p1/rtts', rejectUnauthorized: true });
    expect(regionEndpoint('ap-southeast-1')).to.equal('wss://sis-ext.ap-southeast-1.myhuaweicloud.com');
  });

  it('needs exactly one of endpoint and region, and a region spelled like cn-north-4', () => {
    // @ts-expect-error -- the type already refuses both; the run-time check is for JavaScript callers.
    expect(problemsOf(() => createSisClient({ ...base, region: 'cn-north-4', endpoint: 'ws://127.0.0.1:1' }))).to.deep.equal([
      'region: give endpoint or region, not both',
    ]);
    expect(problemsOf(() => createSisClient(base as SisClientOptions))[0]).to.match(/^endpoint: is required \(or region\)/);
    for (const region of ['north-4', 'CN-NORTH-4', 'cn-north-4.evil.com/x', 'cn-north-']) {
      expect(
        problemsOf(() => createSisClient({ ...base, region })),
        region,
      ).to.deep.equal([`region: must be a region name like cn-north-4, got ${JSON.stringify(region)}`]);
    }
  });
});

describe('auth options', () => {
  const base = { endpoint: 'ws://127.0.0.1:9', projectId: 'p1' };

  it('take { ak, sk } with an optional clock, or { token }, never both', () => {
    expect(() => createSisClient({ ...base, auth: { ak: 'AK1', sk: SECRETS.sk, clock: () => new Date() } })).not.to.throw();
    const both = { token: SECRETS.token, ak: 'AK1', sk: SECRETS.sk } as unknown as SisClientOptions['auth'];
    expect(problemsOf(() => createSisClient({ ...base, auth: both }))).to.deep.equal(['auth: give either token or ak and sk, not both']);
  });

  it('name every problem of an AK/SK pair without quoting it', () => {
    const auth = { ak: 'AK 1,', skey: SECRETS.sk, clock: 5 } as unknown as SisClientOptions['auth'];
    const error = (() => {
      try {
        return createSisClient({ ...base, auth });
      } catch (e) {
        return e;
      }
    })();
    expect(showsSecret(error)).to.equal(false);
    expect(problemsOf(() => createSisClient({ ...base, auth }))).to.deep.equal([
      "auth.skey: unknown field (did you mean 'sk'?)",
      'auth.ak: must be an access key id (printable characters without spaces or commas)',
      'auth.sk: must be the secret access key, a non-empty string',
      'auth.clock: must be a function returning a Date, got 5',
    ]);
    expect(problemsOf(() => createSisClient({ ...base, auth: {} as SisClientOptions['auth'] }))).to.deep.equal([
      'auth.token: must be a non-empty string without control characters, or a function returning one',
    ]);
    expect(problemsOf(() => createSisClient({ ...base, auth: SECRETS.token as unknown as SisClientOptions['auth'] }))).to.deep.equal([
      "auth: must be an object like { token: string | () => token } or { ak, sk }, or 'relay' behind a relay, got a string",
    ]);
  });

  it("take 'relay' in Node too: the handshake then carries no credential header", () => {
    const { factory, requests } = capture();
    createSisClient({ ...base, auth: 'relay', enterpriseProjectId: 'ep-1', webSocketFactory: factory })
      .synthesize$({ text: 'x' })
      .subscribe()
      .unsubscribe();
    expect(requests[0]?.headers).to.deep.equal({ 'Enterprise-Project-Id': 'ep-1' });
    expect(problemsOf(() => createSisClient({ ...base, auth: 'relays' as 'relay' }))).to.deep.equal([
      "auth: must be an object like { token: string | () => token } or { ak, sk }, or 'relay' behind a relay, got a string",
    ]);
  });

  it('are kept out of util.inspect, JSON and String() once resolved', () => {
    for (const auth of [{ token: SECRETS.token }, { ak: 'AK1', sk: SECRETS.sk }]) {
      const config = resolveOptions({ ...base, auth }, NODE_PLATFORM);
      expect(showsSecret(config), inspect(config.auth)).to.equal(false);
      expect(showsSecret(createSisClient({ ...base, auth }))).to.equal(false);
    }
    const sealed = redactedAuth({ ak: 'AK1', sk: SECRETS.sk });
    expect(inspect(sealed)).to.equal("AkSkAuth { ak: 'AK1', sk: '<redacted>' }");
    expect(JSON.stringify(sealed)).to.equal('{"ak":"AK1","sk":"<redacted>"}');
    expect(String(sealed)).to.equal('[AkSkAuth]');
    expect('sk' in sealed ? sealed.sk : undefined).to.equal(SECRETS.sk);
    expect(Object.keys(sealed)).to.deep.equal(['ak']);
  });
});

describe('sisOptionsFromEnv', () => {
  it('reads a token or an AK/SK pair, the project, and the region or endpoint', () => {
    const fromToken = sisOptionsFromEnv({ HUAWEICLOUD_SIS_TOKEN: SECRETS.envToken, HUAWEICLOUD_SIS_PROJECT_ID: 'p1', HUAWEICLOUD_SIS_REGION: 'cn-east-3' });
    expect(fromToken).to.include({ region: 'cn-east-3', projectId: 'p1' }).and.not.have.property('endpoint');
    expect('token' in fromToken.auth ? fromToken.auth.token : undefined).to.equal(SECRETS.envToken);
    const fromKey = sisOptionsFromEnv({
      HUAWEICLOUD_SIS_AK: ' AK1 ',
      HUAWEICLOUD_SIS_SK: SECRETS.sk,
      HUAWEICLOUD_SIS_PROJECT_ID: 'p1',
      HUAWEICLOUD_SIS_ENDPOINT: 'ws://127.0.0.1:9',
      HUAWEICLOUD_SIS_ENTERPRISE_PROJECT_ID: 'ep-1',
    });
    expect(fromKey).to.include({ endpoint: 'ws://127.0.0.1:9', projectId: 'p1', enterpriseProjectId: 'ep-1' }).and.not.have.property('region');
    expect('ak' in fromKey.auth ? [fromKey.auth.ak, fromKey.auth.sk] : []).to.deep.equal(['AK1', SECRETS.sk]);
    expect(() => createSisClient({ ...fromKey, timeouts: { idle: 1_000 } })).not.to.throw();
  });

  it('needs exactly one of the region and the endpoint, as the options do', () => {
    const env = { HUAWEICLOUD_SIS_TOKEN: SECRETS.envToken, HUAWEICLOUD_SIS_PROJECT_ID: 'p1' };
    expect(problemsOf(() => sisOptionsFromEnv({ ...env, HUAWEICLOUD_SIS_REGION: 'cn-north-4', HUAWEICLOUD_SIS_ENDPOINT: 'ws://127.0.0.1:9' }))).to.deep.equal([
      'HUAWEICLOUD_SIS_REGION: is set together with HUAWEICLOUD_SIS_ENDPOINT: set one of the two',
    ]);
    // A blank variable counts as unset, as for every other variable.
    expect(sisOptionsFromEnv({ ...env, HUAWEICLOUD_SIS_REGION: ' ', HUAWEICLOUD_SIS_ENDPOINT: 'ws://127.0.0.1:9' }))
      .to.include({ endpoint: 'ws://127.0.0.1:9' })
      .and.not.have.property('region');
  });

  it('returns options that print no secret', () => {
    const options = sisOptionsFromEnv({
      HUAWEICLOUD_SIS_AK: 'AK1',
      HUAWEICLOUD_SIS_SK: SECRETS.sk,
      HUAWEICLOUD_SIS_PROJECT_ID: 'p1',
      HUAWEICLOUD_SIS_REGION: 'cn-north-4',
    });
    expect(showsSecret(options)).to.equal(false);
    expect(inspect(options, { breakLength: Infinity })).to.equal("{ region: 'cn-north-4', projectId: 'p1', auth: AkSkAuth { ak: 'AK1', sk: '<redacted>' } }");
  });

  it("names every variable that is missing, and never a secret's value", () => {
    expect(problemsOf(() => sisOptionsFromEnv({}))).to.deep.equal([
      'HUAWEICLOUD_SIS_PROJECT_ID: is not set (the project id of the region, from the console)',
      'HUAWEICLOUD_SIS_REGION: is not set: set it (e.g. cn-north-4) or HUAWEICLOUD_SIS_ENDPOINT',
      'HUAWEICLOUD_SIS_AK: is not set: set HUAWEICLOUD_SIS_AK and HUAWEICLOUD_SIS_SK (an access key), or HUAWEICLOUD_SIS_TOKEN (an IAM token)',
    ]);
    const env = { HUAWEICLOUD_SIS_PROJECT_ID: 'p1', HUAWEICLOUD_SIS_REGION: 'cn-north-4' };
    expect(problemsOf(() => sisOptionsFromEnv({ ...env, HUAWEICLOUD_SIS_SK: SECRETS.sk }))).to.deep.equal([
      'HUAWEICLOUD_SIS_AK: is not set (HUAWEICLOUD_SIS_SK is: both are needed)',
    ]);
    expect(
      problemsOf(() => sisOptionsFromEnv({ ...env, HUAWEICLOUD_SIS_TOKEN: SECRETS.envToken, HUAWEICLOUD_SIS_AK: 'AK1', HUAWEICLOUD_SIS_SK: SECRETS.sk })),
    ).to.deep.equal(['HUAWEICLOUD_SIS_TOKEN: is set together with HUAWEICLOUD_SIS_AK/HUAWEICLOUD_SIS_SK: set one kind of credential only']);
    expect(problemsOf(() => sisOptionsFromEnv({ ...env, HUAWEICLOUD_SIS_TOKEN: SECRETS.envToken, HUAWEICLOUD_SIS_REGION: 'north' }))).to.deep.equal([
      'HUAWEICLOUD_SIS_REGION: must be a region name like cn-north-4, got "north"',
    ]);
    expect(
      problemsOf(() =>
        sisOptionsFromEnv({ HUAWEICLOUD_SIS_PROJECT_ID: 'p1', HUAWEICLOUD_SIS_TOKEN: SECRETS.envToken, HUAWEICLOUD_SIS_ENDPOINT: 'ws://sis.example.com' }),
      )[0],
    ).to.match(/^HUAWEICLOUD_SIS_ENDPOINT: plain ws:\/\/ is only allowed to loopback hosts/);
    const error = (() => {
      try {
        return sisOptionsFromEnv({ HUAWEICLOUD_SIS_TOKEN: SECRETS.envToken, HUAWEICLOUD_SIS_SK: SECRETS.sk });
      } catch (e) {
        return e;
      }
    })();
    expect(error).to.be.instanceOf(SisConfigError);
    expect(showsSecret(error)).to.equal(false);
  });

  it('reads process.env by default', () => {
    const saved = { ...process.env };
    try {
      for (const name of Object.keys(process.env)) if (name.startsWith('HUAWEICLOUD_SIS_')) delete process.env[name];
      process.env['HUAWEICLOUD_SIS_TOKEN'] = SECRETS.envToken;
      process.env['HUAWEICLOUD_SIS_PROJECT_ID'] = 'from-process-env';
      process.env['HUAWEICLOUD_SIS_REGION'] = 'cn-north-4';
      expect(sisOptionsFromEnv().projectId).to.equal('from-process-env');
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

describe('the ws transport', () => {
  const request: ConnectRequest = {
    url: 'wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/p/rtts',
    headers: {},
    maxPayload: 4096,
    handshakeTimeoutMs: 11_000,
    rejectUnauthorized: true,
  };

  /** The request the session gives the factory for these client options. */
  const requestFor = (options: Partial<SisClientOptions>): ConnectRequest | undefined => {
    const { factory, requests } = capture();
    createSisClient({ endpoint: 'ws://127.0.0.1:9', projectId: 'p', auth: { token: SECRETS.token }, ...options, webSocketFactory: factory } as SisClientOptions)
      .synthesize$({ text: 'x' })
      .subscribe()
      .unsubscribe();
    return requests[0];
  };

  it('sets the handshake timeout and the frame limit it is given, verifies certificates, and follows no redirect', () => {
    expect(wsClientOptions(request)).to.include({
      maxPayload: 4096,
      handshakeTimeout: 11_000,
      rejectUnauthorized: true,
      followRedirects: false,
      perMessageDeflate: false,
    });
    expect(wsWebSocketFactory).to.be.a('function');
  });

  it('always sets a frame limit: 8 MiB unless the request gives a usable one', () => {
    expect(wsClientOptions({ ...request, maxPayload: Number.NaN }).maxPayload).to.equal(DEFAULT_MAX_PAYLOAD);
    expect(DEFAULT_MAX_PAYLOAD).to.equal(8 * 1024 * 1024);
    expect(requestFor({})?.maxPayload).to.equal(DEFAULT_MAX_PAYLOAD);
  });

  it("leaves a session's handshake to its own connect timer, and gives a warm connect a limit just past timeouts.connect", async () => {
    const sent = requestFor({ timeouts: { connect: 5_000 } });
    expect(sent?.handshakeTimeoutMs).to.equal(0);
    expect(sent && wsClientOptions(sent)).not.to.have.property('handshakeTimeout');
    const { factory, requests } = capture();
    const client = createSisClient({
      endpoint: 'ws://127.0.0.1:9',
      projectId: 'p',
      auth: { token: SECRETS.token },
      timeouts: { connect: 5_000 },
      warm: { size: 1 },
      webSocketFactory: factory,
    });
    await client.close();
    const warm = requests[0];
    expect(warm && wsClientOptions(warm).handshakeTimeout)
      .to.be.a('number')
      .within(5_000, 7_000);
  });

  it('sets no handshake timeout at all for timeouts.connect: Infinity (disabled means disabled)', () => {
    const sent = requestFor({ timeouts: { connect: Infinity } });
    expect(sent).not.to.equal(undefined);
    expect(sent && wsClientOptions(sent)).not.to.have.property('handshakeTimeout');
    expect(wsClientOptions({ ...request, handshakeTimeoutMs: Infinity })).not.to.have.property('handshakeTimeout');
  });
});
