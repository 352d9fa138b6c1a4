/**
 * The article reader's server: the page, a session cookie, and the relay that lets the page speak
 * without holding a credential. SIS is the embedded emulator here; for the real service, give the
 * relay `sis: { region, projectId, auth: { ak, sk } }` instead.
 *
 *   GET  /            index.html; a new visitor gets a session cookie (sid, HttpOnly, SameSite=Strict)
 *   GET  /main.js     main.ts bundled for the browser by esbuild, in memory
 *   POST /logout      forgets the session and clears the cookie
 *   upgrade /tts/…    the relay: only this server's origin, only a known session (else 401)
 *
 *   npx tsx examples/browser/server.ts           starts, asks itself for the page once, and exits
 *   npx tsx examples/browser/server.ts --serve   stays up until Ctrl-C: open the URL it prints (PORT=8080 to choose the port)
 */
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startEmulator, type Emulator } from '../../lib/emulator/index.js';
import { createSisRelay, type SisRelay } from '../../lib/relay/index.js';

/** Options of {@link startReaderServer}. */
export interface ReaderServerOptions {
  /** Default 0: an ephemeral port (read it from `url`). */
  readonly port?: number | undefined;
  /** Default `'127.0.0.1'`. The page must be opened on this host: it is the one origin the relay accepts. */
  readonly host?: string | undefined;
}

/** A running reader server. */
export interface ReaderServer {
  /** `http://host:port/`: the page. */
  readonly url: string;
  /** The SIS the relay speaks to. */
  readonly emulator: Emulator;
  readonly relay: SisRelay;
  /** Closes the relay (both sides of every session), the server and the emulator. Idempotent. */
  close(): Promise<void>;
}

const here = import.meta.dirname;

let bundled: Promise<string> | undefined;
/** main.ts and what it imports, as one ES module for a page; built once per process. */
const pageScript = (): Promise<string> => {
  bundled ??= build({
    entryPoints: [join(here, 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then(
    (result) => result.outputFiles.map((file) => file.text).join('\n'),
    (failure: unknown) => {
      bundled = undefined;
      throw failure;
    },
  );
  return bundled;
};

/** The value of the `sid` cookie, if the request carries one. */
const sidOf = (request: IncomingMessage): string | undefined =>
  request.headers.cookie
    ?.split(';')
    .map((pair) => pair.trim().split('='))
    .find(([name]) => name === 'sid')?.[1];

/**
 * Starts the emulator, then the page's server on `host:port` with the relay attached at `/tts`.
 * @example
 * const reader = await startReaderServer();
 * console.log(`open ${reader.url}`);
 */
export const startReaderServer = async (options: ReaderServerOptions = {}): Promise<ReaderServer> => {
  const { port = 0, host = '127.0.0.1' } = options;
  const [html, script] = await Promise.all([readFile(join(here, 'index.html'), 'utf8'), pageScript()]);
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, realtimeFactor: 4 }); // four times faster than real time

  /** Signed-in visitors: session id → user id. */
  const users = new Map<string, string>();
  let visitors = 0;
  let origin = '';

  const send = (response: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
    response.writeHead(status, {
      'Content-Type': type,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      // The page may load its own script and connect to its own origin only.
      'Content-Security-Policy': `default-src 'self'; style-src 'unsafe-inline'; connect-src 'self' ${origin.replace(/^http/, 'ws')}`,
      ...headers,
    });
    response.end(body);
  };

  const server = createServer((request, response) => {
    const route = `${request.method} ${(request.url ?? '/').split('?')[0]}`;
    if (route === 'GET /') {
      const sid = sidOf(request);
      if (sid !== undefined && users.has(sid)) return send(response, 200, 'text/html; charset=utf-8', html);
      // "Signing in" is visiting: enough for an example. An app sets this cookie at its real sign-in.
      const fresh = randomBytes(18).toString('base64url');
      visitors += 1;
      users.set(fresh, `reader-${visitors}`);
      return send(response, 200, 'text/html; charset=utf-8', html, { 'Set-Cookie': `sid=${fresh}; Path=/; HttpOnly; SameSite=Strict` });
    }
    if (route === 'GET /main.js') return send(response, 200, 'text/javascript; charset=utf-8', script);
    if (route === 'POST /logout') {
      const sid = sidOf(request);
      if (sid !== undefined) users.delete(sid);
      return send(response, 204, 'text/plain', '', { 'Set-Cookie': 'sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict' });
    }
    send(response, 404, 'text/plain; charset=utf-8', 'not found: this server has GET /, GET /main.js and POST /logout');
  });
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  origin = `http://${host}:${address.port}`;

  const relay = createSisRelay({
    sis: { endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } },
    // The session cookie, sent by the browser with the upgrade (same origin), says who the page is.
    authorize: (request) => {
      const sid = sidOf(request);
      return sid === undefined ? undefined : users.get(sid);
    },
    origins: [origin],
  });
  const detach = relay.attach(server, { path: '/tts' });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await relay.close();
      detach();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
      await emulator.close();
    })();
    return closing;
  };
  return { url: `${origin}/`, emulator, relay, close };
};

const runDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (runDirectly) {
  const serve = process.argv.includes('--serve');
  const reader = await startReaderServer({ port: Number(process.env['PORT'] ?? 0) });
  console.log(`article reader on ${reader.url}`);
  const response = await fetch(reader.url);
  const page = await response.text();
  const cookie = response.headers.get('set-cookie') === null ? 'no session cookie' : 'a session cookie';
  console.log(`GET / → ${response.status}, ${page.length} characters of HTML, ${cookie}`);
  if (!response.ok) process.exitCode = 1;
  if (serve) {
    console.log('open it in a browser; Ctrl-C to stop');
    await once(process, 'SIGINT');
  }
  await reader.close();
}
