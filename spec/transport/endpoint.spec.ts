import { expect } from 'chai';
import { SisConfigError, createSisClient, type SisClientOptions } from '../../lib/index.js';
import { isLoopbackHost, parseEndpoint, rttsUrl } from '../../lib/transport/endpoint.js';
import type { WebSocketFactory } from '../../lib/transport/websocket-like.js';

const base: SisClientOptions = { endpoint: 'ws://127.0.0.1:8080', projectId: 'p1', auth: { token: 'secret-token-value' } };

const configProblems = (options: unknown): string[] => {
  try {
    createSisClient(options as SisClientOptions);
  } catch (error) {
    expect(error).to.be.instanceOf(SisConfigError);
    return (error as SisConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error('expected a SisConfigError');
};

describe('endpoints and options', () => {
  it('recognises loopback hosts only', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) expect(isLoopbackHost(host), host).to.equal(true);
    for (const host of ['10.0.0.1', '192.168.1.1', 'example.com', '127.0.0.1.example.com', '0.0.0.0']) expect(isLoopbackHost(host), host).to.equal(false);
  });

  it('builds {endpoint}/v1/{projectId}/rtts, keeping a base path and encoding the project id', () => {
    const parsed = parseEndpoint('wss://sis-ext.cn-north-4.myhuaweicloud.com', false).endpoint;
    expect(parsed && rttsUrl(parsed, 'abc')).to.equal('wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/abc/rtts');
    const proxied = parseEndpoint('ws://127.0.0.1:9/proxy/', false).endpoint;
    expect(proxied && rttsUrl(proxied, 'a/b c')).to.equal('ws://127.0.0.1:9/proxy/v1/a%2Fb%20c/rtts');
  });

  it('verifies certificates unless rejectUnauthorized is false, whatever allowPlainWs says', () => {
    const asked = (options: Partial<SisClientOptions>): boolean[] => {
      const seen: boolean[] = [];
      const webSocketFactory: WebSocketFactory = (request) => {
        seen.push(request.rejectUnauthorized);
        return { send: () => undefined, close: () => undefined, terminate: () => undefined };
      };
      createSisClient({ ...base, endpoint: 'wss://sis-ext.cn-east-3.myhuaweicloud.com', ...options, webSocketFactory } as SisClientOptions)
        .synthesize$({ text: 'x' })
        .subscribe()
        .unsubscribe();
      return seen;
    };
    expect(asked({})).to.deep.equal([true]);
    expect(asked({ allowPlainWs: true })).to.deep.equal([true]);
    expect(asked({ rejectUnauthorized: false })).to.deep.equal([false]);
    expect(configProblems({ ...base, rejectUnauthorized: 'no' })).to.deep.equal(['rejectUnauthorized: must be a boolean, got "no"']);
  });

  it('refuses plain ws:// to a remote host unless allowPlainWs is set', () => {
    expect(configProblems({ ...base, endpoint: 'ws://sis-ext.cn-north-4.myhuaweicloud.com' })[0]).to.match(
      /^endpoint: plain ws:\/\/ is only allowed to loopback hosts/,
    );
    expect(() => createSisClient({ ...base, endpoint: 'ws://sis-ext.cn-north-4.myhuaweicloud.com', allowPlainWs: true })).not.to.throw();
  });

  it('lists every problem with the options, and never shows the token', () => {
    const problems = configProblems({
      endpoint: 'https://x',
      projectId: '',
      auth: { token: 42 },
      timeouts: { connect: -1, idel: 5 },
      limits: { maxTextLength: 0 },
      maxPayload: 10,
      extra: true,
    });
    expect(problems).to.deep.equal([
      'extra: unknown field',
      'endpoint: must use wss:// (or ws:// to a loopback emulator), got https://',
      'projectId: is required (the project id of the region, from the console)',
      'auth.token: must be a non-empty string without control characters, or a function returning one',
      "timeouts.idel: unknown field (did you mean 'idle'?)",
      'timeouts.connect: must be a positive number of ms or Infinity, got -1',
      'limits.maxTextLength: must be a positive integer, got 0',
      'maxPayload: must be an integer ≥ 1024, got 10',
    ]);
    const error = (() => {
      try {
        createSisClient({ ...base, endpoint: 'nope' });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(String(error)).not.to.include('secret-token-value');
    expect(JSON.stringify(error)).not.to.include('secret-token-value');
  });

  it('rejects endpoints with credentials, a query or a fragment', () => {
    expect(configProblems({ ...base, endpoint: 'wss://user:pw@host' })).to.deep.equal(['endpoint: must not carry credentials; use the auth option']);
    expect(configProblems({ ...base, endpoint: 'wss://host/?a=1' })).to.deep.equal(['endpoint: must not have a query or fragment']);
  });

  it('rejects a token with control characters (header injection)', () => {
    expect(configProblems({ ...base, auth: { token: 'abc\r\nX-Evil: 1' } })).to.deep.equal([
      'auth.token: must be a non-empty string without control characters, or a function returning one',
    ]);
  });
});
