/**
 * The browser's socket factory and the browser build's client, against a fake `globalThis.WebSocket`
 * that records what was asked of it and fires DOM events when told; and once against the emulator,
 * with `ws`'s own WebSocket (DOM-style events, binaryType 'arraybuffer') standing in for a browser's.
 */
import { expect } from 'chai';
import { lastValueFrom, reduce, toArray } from 'rxjs';
import { WebSocket as WsWebSocket } from 'ws';
import { authHeaders$ } from '../../lib/auth/token.js';
import * as browserBuild from '../../lib/index.browser.js';
import { iamPasswordToken, SisConfigError, SisConnectionError } from '../../lib/index.js';
import { browserWebSocketFactory, type ConnectRequest, type SocketListener, type TransportFailure } from '../../lib/transport/index.js';
import { withEmulator } from '../helpers/emulator-fixture.js';
import { SECRETS } from '../helpers/secrets.js';

type Listener = (event: unknown) => void;

/** A DOM WebSocket as far as the factory uses one: it records, and fires events when the test says. */
class FakeWebSocket {
  static readonly created: FakeWebSocket[] = [];
  /** When set, the constructor throws this (as a browser does for an invalid subprotocol). */
  static refuseWith: Error | undefined;

  binaryType = 'blob';
  readonly sent: string[] = [];
  readonly closedWith: unknown[][] = [];
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    if (FakeWebSocket.refuseWith !== undefined) throw FakeWebSocket.refuseWith;
    FakeWebSocket.created.push(this);
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(...args: unknown[]): void {
    this.closedWith.push(args);
  }

  addEventListener(type: string, listener: Listener): void {
    const set = this.listeners.get(type) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(type, set);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }

  /** Listeners still attached, all event types together. */
  listenerCount(): number {
    return [...this.listeners.values()].reduce((n, set) => n + set.size, 0);
  }

  fire(type: 'open' | 'error' | 'message' | 'close', event: object = {}): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener({ type, ...event });
  }
}

/** Installs a global WebSocket for the tests of a block, and puts back whatever was there (Node 22 has one). */
const useGlobalWebSocket = (value: () => unknown): void => {
  let saved: PropertyDescriptor | undefined;
  beforeEach(() => {
    saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    FakeWebSocket.created.length = 0;
    FakeWebSocket.refuseWith = undefined;
    Object.defineProperty(globalThis, 'WebSocket', { value: value(), configurable: true, writable: true });
  });
  afterEach(() => {
    if (saved === undefined) Reflect.deleteProperty(globalThis, 'WebSocket');
    else Object.defineProperty(globalThis, 'WebSocket', saved);
  });
};

type Fact = ['open'] | ['activity'] | ['message', string | Uint8Array] | ['close', number, string] | ['error', TransportFailure];

/** A listener that writes down every fact it is told, in order. */
const recorder = (): { listener: SocketListener; facts: Fact[] } => {
  const facts: Fact[] = [];
  return {
    facts,
    listener: {
      onOpen: () => facts.push(['open']),
      onMessage: (data) => facts.push(['message', data]),
      onClose: (code, reason) => facts.push(['close', code, reason]),
      onError: (failure) => facts.push(['error', failure]),
      onActivity: () => facts.push(['activity']),
    },
  };
};

const request = (headers: Record<string, string> = {}): ConnectRequest => ({
  url: 'wss://app.example/tts/v1/relay/rtts',
  headers,
  maxPayload: 8 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  rejectUnauthorized: true,
});

/** The one socket the factory created. */
const onlySocket = (): FakeWebSocket => {
  expect(FakeWebSocket.created).to.have.length(1);
  const [socket] = FakeWebSocket.created;
  if (socket === undefined) throw new Error('no socket');
  return socket;
};

/** Lets queued microtasks run: the factory reports a refusal in one, after it has returned. */
const microtasks = (): Promise<void> => Promise.resolve();

describe('browserWebSocketFactory', () => {
  useGlobalWebSocket(() => FakeWebSocket);

  it('reports open, each message (after its activity) and the close, in order, and nothing before it returned', () => {
    const { listener, facts } = recorder();
    browserWebSocketFactory()(request(), listener);
    const socket = onlySocket();
    expect(socket.url).to.equal('wss://app.example/tts/v1/relay/rtts');
    expect(socket.protocols).to.equal(undefined);
    expect(socket.binaryType).to.equal('arraybuffer');
    expect(facts).to.deep.equal([]);

    socket.fire('open');
    socket.fire('message', { data: '{"resp_type":"START"}' });
    socket.fire('message', { data: Uint8Array.from([1, 2, 3]).buffer });
    socket.fire('close', { code: 1000, reason: 'bye' });
    expect(facts).to.deep.equal([
      ['open'],
      ['activity'],
      ['message', '{"resp_type":"START"}'],
      ['activity'],
      ['message', Uint8Array.from([1, 2, 3])],
      ['close', 1000, 'bye'],
    ]);
    expect(socket.listenerCount(), 'listeners left after close').to.equal(0);
  });

  it('hands a binary frame on as a view of its ArrayBuffer, not a copy', () => {
    const { listener, facts } = recorder();
    browserWebSocketFactory()(request(), listener);
    const buffer = Uint8Array.from([9, 8, 7, 6]).buffer;
    onlySocket().fire('open');
    onlySocket().fire('message', { data: buffer });
    const message = facts.find((fact) => fact[0] === 'message');
    const bytes = message?.[0] === 'message' ? message[1] : undefined;
    expect(bytes).to.be.instanceOf(Uint8Array);
    expect(bytes instanceof Uint8Array ? bytes.buffer : undefined).to.equal(buffer);
  });

  it('fails, and closes, when a binary frame comes as a Blob (a WebSocket that ignored binaryType)', () => {
    const { listener, facts } = recorder();
    browserWebSocketFactory()(request(), listener);
    onlySocket().fire('open');
    onlySocket().fire('message', { data: new Blob([Uint8Array.from([1])]) });
    expect(facts.slice(2)).to.deep.equal([
      ['error', { kind: 'network', message: "a binary frame arrived as Blob, not an ArrayBuffer: this WebSocket ignores binaryType 'arraybuffer'" }],
    ]);
    expect(onlySocket().closedWith).to.deep.equal([[1000]]);
  });

  it('reports the close code and reason as the browser gives them', () => {
    for (const [code, reason] of [
      [1000, ''],
      [1001, 'going away'],
      [4003, 'relay: not allowed'],
      [1006, ''],
    ] as const) {
      FakeWebSocket.created.length = 0;
      const { listener, facts } = recorder();
      browserWebSocketFactory()(request(), listener);
      onlySocket().fire('open');
      onlySocket().fire('close', { code, reason });
      expect(facts).to.deep.equal([['open'], ['close', code, reason]]);
    }
  });

  it('reports a failed upgrade (error, then close 1006) once, as a network failure saying where to look', () => {
    const { listener, facts } = recorder();
    browserWebSocketFactory()(request(), listener);
    const socket = onlySocket();
    socket.fire('error');
    socket.fire('close', { code: 1006, reason: '' });
    expect(facts).to.have.length(1);
    const [failure] = facts;
    expect(failure?.[0]).to.equal('error');
    expect(failure?.[1]).to.include({ kind: 'network' });
    expect(failure?.[0] === 'error' && failure[1].kind === 'network' ? failure[1].message : '').to.match(
      /could not open the WebSocket.*relay's log for 401, 403 or 429/,
    );
    expect(socket.listenerCount()).to.equal(0);
  });

  it('reports a failure after open once too, and never a close after it', () => {
    const { listener, facts } = recorder();
    browserWebSocketFactory()(request(), listener);
    const socket = onlySocket();
    socket.fire('open');
    socket.fire('error');
    socket.fire('message', { data: 'late' });
    socket.fire('close', { code: 1006, reason: '' });
    expect(facts).to.deep.equal([['open'], ['error', { kind: 'network', message: 'the WebSocket failed (the browser gives no detail)' }]]);
  });

  it('refuses bad options at once with a SisConfigError naming each, never quoting a protocol', () => {
    const secret = 'not-a-protocol-token';
    const error = (() => {
      try {
        browserWebSocketFactory({ protocols: [secret, 7] as never, proto: 'x' } as never);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).to.be.instanceOf(SisConfigError);
    expect((error as SisConfigError).problems.map((problem) => problem.path)).to.deep.equal(['proto', 'protocols']);
    expect((error as SisConfigError).message).to.not.include(secret);
    expect(() => browserWebSocketFactory('protocols' as never)).to.throw(SisConfigError);
  });

  it('refuses a request with headers, naming them but not their values, before opening anything', async () => {
    const { listener, facts } = recorder();
    browserWebSocketFactory()(request({ 'X-Auth-Token': SECRETS.token }), listener);
    expect(FakeWebSocket.created, 'a socket was opened').to.have.length(0);
    expect(facts, 'reported before the factory returned').to.deep.equal([]);
    await microtasks();
    expect(facts).to.have.length(1);
    const [fact] = facts;
    const message = fact?.[0] === 'error' && fact[1].kind === 'network' ? fact[1].message : '';
    expect(message).to.match(/^a browser cannot send handshake headers \(X-Auth-Token\): use auth: 'relay'/);
    expect(message).not.to.include(SECRETS.token);
  });

  it('offers the protocols given, asking a function on every connect', () => {
    let asked = 0;
    const factory = browserWebSocketFactory({
      protocols: () => {
        asked += 1;
        return ['sis-relay', `token-${asked}`];
      },
    });
    factory(request(), recorder().listener);
    factory(request(), recorder().listener);
    expect(FakeWebSocket.created.map((socket) => socket.protocols)).to.deep.equal([
      ['sis-relay', 'token-1'],
      ['sis-relay', 'token-2'],
    ]);
    FakeWebSocket.created.length = 0;
    browserWebSocketFactory({ protocols: 'one' })(request(), recorder().listener);
    expect(onlySocket().protocols).to.equal('one');
  });

  it('does not quote a subprotocol the browser refuses (it may be a token)', async () => {
    FakeWebSocket.refuseWith = Object.assign(new Error(`The subprotocol '${SECRETS.token}=' is invalid.`), { name: 'SyntaxError' });
    const { listener, facts } = recorder();
    browserWebSocketFactory({ protocols: [`${SECRETS.token}=`] })(request(), listener);
    await microtasks();
    const [fact] = facts;
    const message = fact?.[0] === 'error' && fact[1].kind === 'network' ? fact[1].message : '';
    expect(message).to.match(/^the browser refused to create the WebSocket \(SyntaxError\): each protocol must be an HTTP token/);
    expect(message).not.to.include(SECRETS.token);
  });

  it('closes with a code and reason a page may send, and reports nothing after close() or terminate()', () => {
    const closing = recorder();
    const first = browserWebSocketFactory()(request(), closing.listener);
    const opened = onlySocket();
    opened.fire('open');
    first.close(1011, 'é'.repeat(100));
    opened.fire('message', { data: 'after close' });
    opened.fire('close', { code: 1000, reason: '' });
    expect(closing.facts).to.deep.equal([['open']]);
    const [[code, reason]] = opened.closedWith as [[number, string]];
    expect(code, 'a code the DOM refuses becomes 1000').to.equal(1000);
    expect(new TextEncoder().encode(reason).byteLength).to.be.at.most(123);
    expect(reason).to.equal('é'.repeat(61));
    expect(opened.listenerCount()).to.equal(0);

    FakeWebSocket.created.length = 0;
    const aborting = recorder();
    browserWebSocketFactory()(request(), aborting.listener).terminate();
    onlySocket().fire('error');
    onlySocket().fire('close', { code: 1006, reason: '' });
    expect(aborting.facts).to.deep.equal([]);
    expect(onlySocket().closedWith).to.deep.equal([[]]);
  });

  it('fails when the runtime has no global WebSocket', async () => {
    Reflect.deleteProperty(globalThis, 'WebSocket');
    const { listener, facts } = recorder();
    browserWebSocketFactory()(request(), listener);
    await microtasks();
    expect(facts).to.deep.equal([
      ['error', { kind: 'network', message: 'there is no global WebSocket in this runtime: in Node, use wsWebSocketFactory (the default there)' }],
    ]);
  });
});

describe('the browser build', () => {
  useGlobalWebSocket(() => FakeWebSocket);
  const relay = { endpoint: 'wss://app.example/tts', projectId: 'relay', auth: 'relay' } as const;

  it("opens the page's WebSocket by default, with no headers, at {endpoint}/v1/{project}/rtts", async () => {
    const chunks = lastValueFrom(browserBuild.createSisClient(relay).synthesize$({ text: '你好' }).pipe(toArray()));
    const socket = onlySocket();
    expect(socket.url).to.equal('wss://app.example/tts/v1/relay/rtts');
    socket.fire('open');
    expect(JSON.parse(socket.sent[0] ?? '{}')).to.include({ command: 'START' });
    socket.fire('message', { data: JSON.stringify({ resp_type: 'START', trace_id: 't-1' }) });
    socket.fire('message', { data: Uint8Array.from([1, 2, 3, 4]).buffer });
    socket.fire('message', { data: JSON.stringify({ resp_type: 'END', trace_id: 't-1', reason: 'NORMAL' }) });
    expect((await chunks).map((chunk) => [...chunk.data])).to.deep.equal([[1, 2, 3, 4]]);
    expect(socket.closedWith).to.deep.equal([[1000, undefined]]);
  });

  it('refuses { token } and { ak, sk } at createSisClient, saying to use a relay, without quoting them', () => {
    for (const auth of [{ token: SECRETS.token }, { ak: 'AK1', sk: SECRETS.sk }, SECRETS.token, undefined]) {
      const options = { ...relay, auth } as unknown as browserBuild.SisClientOptions;
      const error = (() => {
        try {
          browserBuild.createSisClient(options);
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(error).to.be.instanceOf(SisConfigError);
      const message = error instanceof Error ? error.message : '';
      expect(message).to.match(/auth: (must be|is required) 'relay': a page cannot hold a token or an SK .*point the client at it with auth: 'relay'/);
      expect(message).not.to.include(SECRETS.token).and.not.to.include(SECRETS.sk);
    }
    expect(FakeWebSocket.created).to.have.length(0);
  });

  it('refuses what only a header or a TLS setting could carry', () => {
    expect(() => browserBuild.createSisClient({ ...relay, enterpriseProjectId: 'ep-1', rejectUnauthorized: false }))
      .to.throw(SisConfigError)
      .with.property('problems')
      .that.deep.equals([
        { path: 'enterpriseProjectId', message: 'is a header, and a page sends none: set it on the relay (createSisRelay in rx-sis-tts/relay)' },
        {
          path: 'rejectUnauthorized',
          message: "cannot be turned off in a page: the browser checks certificates (trust a test server's certificate in the browser instead)",
        },
      ]);
  });

  it('fails a one-shot synthesize$ with credentials as an error notification, opening nothing', async () => {
    const failure = await lastValueFrom(browserBuild.synthesize$({ text: 'x' }, { ...relay, auth: { token: SECRETS.token } })).catch((error: unknown) => error);
    expect(failure).to.be.instanceOf(SisConfigError);
    expect(FakeWebSocket.created).to.have.length(0);
  });

  it('exports the same names as the Node build', async () => {
    const nodeBuild = await import('../../lib/index.js');
    expect(Object.keys(browserBuild).sort()).to.deep.equal(Object.keys(nodeBuild).sort());
    expect(browserBuild.createSisClient).not.to.equal(nodeBuild.createSisClient);
  });
});

describe('the browser build against the emulator', () => {
  // `ws`'s WebSocket speaks the DOM's API (addEventListener, binaryType 'arraybuffer'): a browser's stand-in.
  useGlobalWebSocket(() => WsWebSocket);

  it("synthesizes over real sockets with auth: 'relay' (no header sent)", async () => {
    await withEmulator({ requireAuth: false }, async (emulator) => {
      const client = browserBuild.createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: 'relay' });
      const bytes = await lastValueFrom(client.synthesize$({ text: '你好' }).pipe(reduce((n, chunk) => n + chunk.data.byteLength, 0)));
      expect(bytes).to.be.greaterThan(0);
    });
  });

  it('reports a refused upgrade as a connection failure (the browser hides the status)', async () => {
    await withEmulator({}, async (emulator) => {
      const client = browserBuild.createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: 'relay' });
      const failure = await lastValueFrom(client.synthesize$({ text: '你好' })).catch((error: unknown) => error);
      expect(failure).to.be.instanceOf(SisConnectionError);
      expect(failure instanceof Error ? failure.message : '').to.match(/^connection failed while connecting: the browser could not open the WebSocket/);
    });
  });
});

describe("the root entry where Node's modules are missing (a page)", () => {
  let saved: PropertyDescriptor | undefined;
  beforeEach(() => {
    // An error made first: the secret guard's channel is then looked up already, and keeps checking errors.
    expect(new SisConfigError([]).code).to.equal('CONFIG_INVALID');
    saved = Object.getOwnPropertyDescriptor(process, 'getBuiltinModule');
    Object.defineProperty(process, 'getBuiltinModule', { value: undefined, configurable: true, writable: true });
  });
  afterEach(() => {
    if (saved === undefined) Reflect.deleteProperty(process, 'getBuiltinModule');
    else Object.defineProperty(process, 'getBuiltinModule', saved);
  });

  it('refuses iamPasswordToken, saying to get tokens on a server', () => {
    expect(() => iamPasswordToken({ userName: 'u', password: SECRETS.password, domainName: 'd', region: 'cn-north-4' }))
      .to.throw(SisConfigError)
      .with.property('message')
      .that.matches(/^invalid use of iamPasswordToken: it runs in Node only .*auth: 'relay'$/)
      .and.does.not.include(SECRETS.password);
  });

  it('fails AK/SK signing with what to do instead, not as a credential failure', async () => {
    const failure = await lastValueFrom(authHeaders$({ ak: 'AK1', sk: SECRETS.sk }, 'wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/p/rtts')).catch(
      (error: unknown) => error,
    );
    expect(failure).to.be.instanceOf(SisConfigError);
    expect(failure instanceof Error ? failure.message : '').to.match(/^invalid use of AK\/SK signing: it runs in Node only .*auth: 'relay'$/);
  });
});
