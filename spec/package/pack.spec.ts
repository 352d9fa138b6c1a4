/**
 * The published artefact, proven once: `npm pack`'s tarball (built by `prepack`) installs into a
 * scratch project, where a consumer under the strictest compiler settings typechecks against every
 * subpath, an ES module and a CommonJS file (`require`, Node 20.19+) each run a synthesis against
 * the packaged emulator, a page bundled for the browser gets the browser build, the declaration maps
 * point at shipped sources, and the bins run.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..', '..');
const BUFFER = { maxBuffer: 16 * 1024 * 1024 };

/** A consumer as a strict user writes it: every subpath, optional values forwarded as they are. */
const STRICT_CONSUMER = `// ESM module: top-level await
import { createSisClient, isSisError, type AudioChunk, type SisClientOptions } from 'rx-sis-tts';
import { toReadable } from 'rx-sis-tts/node';
import { regionEndpoint, wsWebSocketFactory, type WebSocketFactory } from 'rx-sis-tts/transport';
import { startEmulator, type EmulatorOptions } from 'rx-sis-tts/emulator';
import { createTestingClient, type TestSession } from 'rx-sis-tts/testing';
import { playAudio, type AudioContextLike, type PlaybackProgress } from 'rx-sis-tts/browser';
import { createSisRelay, memoryLimitStore, type SisRelayOptions } from 'rx-sis-tts/relay';
import { redisLimitStore } from 'rx-sis-tts/relay/redis';
import { lastValueFrom, reduce, type OperatorFunction, type SchedulerLike } from 'rxjs';

// A page's playback, typed against the structural Web Audio types (no DOM lib here).
const player = (context: AudioContextLike): OperatorFunction<AudioChunk, PlaybackProgress> => playAudio({ context, audioFormat: 'pcm', sampleRate: 16000 });
void player;
// A relay holding the credentials, its limits in a store (Redis for a fleet: ioredis is the app's).
const relayOptions = (token: string): SisRelayOptions => ({
  sis: { region: 'cn-north-4', projectId: 'p', auth: { token } },
  authorize: (request) => (request.headers.cookie === undefined ? undefined : 'user'),
  origins: ['https://app.example'],
  store: memoryLimitStore(),
});
const fleetStore: typeof redisLimitStore = redisLimitStore;
void fleetStore;

// The testing kit: a real client over fake sockets, answered by the test.
const testing = createTestingClient();
testing.client.synthesize$({ text: 'tested' }).subscribe();
const tested: TestSession = testing.controller.expectOne('tested').start().audio(1).end();
testing.controller.verify();
if (!tested.closed) throw new Error('the testing client did not close its session');

// exactOptionalPropertyTypes: a string | undefined and a SchedulerLike | undefined are accepted as they are.
const endpointOptions = (endpoint: string, projectId: string, token: string, scheduler?: SchedulerLike): SisClientOptions => ({
  endpoint,
  projectId,
  auth: { token },
  enterpriseProjectId: process.env.SIS_ENTERPRISE_PROJECT_ID,
  scheduler,
  webSocketFactory: wsWebSocketFactory satisfies WebSocketFactory,
});

// RxJS types the error as any: isSisError, then the code narrows to the class and its fields.
const explain = (error: unknown): string => {
  if (!isSisError(error)) return 'not a SisError';
  switch (error.code) {
    case 'SERVICE_ERROR':
      return \`\${error.code} \${error.errorCode ?? '-'} \${error.traceId === undefined ? 'untraced' : 'traced'}\`;
    case 'TIMEOUT':
      return \`\${error.code} \${error.phase} \${error.timeoutMs}\`;
    case 'HANDSHAKE_REJECTED':
      return \`\${error.code} \${error.status}\`;
    default:
      return error.code;
  }
};

const regional = createSisClient({ region: 'cn-north-4', projectId: 'p', auth: { ak: 'AK', sk: 'not-a-real-sk' } });
const both = () =>
  // @ts-expect-error -- a region and an endpoint together are refused
  createSisClient({ region: 'cn-north-4', endpoint: regionEndpoint('cn-north-4'), projectId: 'p', auth: { token: 't' } });

const emulatorOptions: EmulatorOptions = { port: 0 };
const emulator = await startEmulator(emulatorOptions);
try {
  const client = createSisClient(endpointOptions(emulator.url, emulator.projectId, emulator.token));
  const bytes = await lastValueFrom(client.synthesize$({ text: 'packaged' }).pipe(reduce((n: number, c: AudioChunk) => n + c.data.byteLength, 0)));
  let streamed = 0;
  for await (const piece of toReadable((paused$) => client.synthesize$({ text: 'streamed' }, { paused$ }))) streamed += (piece as Uint8Array).byteLength;
  emulator.injectNext({ kind: 'error', at: 'after-start', errorCode: 'SIS.0413' });
  const failure = await lastValueFrom(client.synthesize$({ text: 'failing' })).then(() => 'completed', explain);
  let refused = 'created';
  try {
    both();
  } catch (error) {
    refused = explain(error);
  }
  const relay = createSisRelay(relayOptions(emulator.token));
  const relayed = relay.stats().sessions;
  await relay.close();
  console.log(JSON.stringify({ bytes, streamed, failure, refused, regional: typeof regional.synthesize$, relayed }));
} finally {
  await emulator.close();
}
`;

/** The same package from CommonJS, through Node's require(esm). */
const COMMONJS_CONSUMER = `'use strict';
const { createSisClient, isSisError } = require('rx-sis-tts');
const { toReadable } = require('rx-sis-tts/node');
const { startEmulator } = require('rx-sis-tts/emulator');
const { lastValueFrom, reduce } = require('rxjs');

(async () => {
  const emulator = await startEmulator({ port: 0 });
  try {
    const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });
    const bytes = await lastValueFrom(client.synthesize$({ text: 'required' }).pipe(reduce((n, c) => n + c.data.byteLength, 0)));
    console.log(JSON.stringify({ bytes, isSisError: typeof isSisError, toReadable: typeof toReadable }));
  } finally {
    await emulator.close();
  }
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** The types from CommonJS TypeScript (\`import x = require(…)\` of the ESM package, module nodenext). */
const COMMONJS_TYPES = `import sis = require('rx-sis-tts');
import emulator = require('rx-sis-tts/emulator');
const guard: (value: unknown) => value is sis.SisFailure = sis.isSisError;
const start: typeof emulator.startEmulator = emulator.startEmulator;
export = { guard, start };
`;

describe('the npm package', function () {
  this.timeout(180_000);
  let scratch: string;
  let files: string[];
  let installed: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'rx-sis-tts-pack-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, ...BUFFER });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    if (packed === undefined) throw new Error('npm pack reported nothing');
    files = packed.files.map((f) => f.path);

    await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(scratch, packed.filename), 'rxjs@^7.8', 'ioredis@^5'], {
      cwd: scratch,
      ...BUFFER,
    });
    installed = join(scratch, 'node_modules', 'rx-sis-tts');
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('ships the build, its sources and its licence, and nothing else', async () => {
    expect(files).to.include.members([
      'dist/index.js',
      'dist/index.d.ts',
      'dist/index.d.ts.map',
      'dist/emulator/index.js',
      'dist/emulator/bin.js',
      'lib/index.ts',
      'LICENSE',
      'README.md',
      'package.json',
    ]);
    expect(files.filter((f) => !/^(dist|lib)\//.test(f) && !['LICENSE', 'README.md', 'package.json'].includes(f))).to.deep.equal([]);
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).to.deep.equal([]);
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { name: string; scripts: Record<string, string> };
    expect(manifest.name).to.equal('rx-sis-tts');
    // npm runs neither prepack nor a build when the tarball is installed.
    expect(manifest.scripts).not.to.have.any.keys('prepare', 'preinstall', 'install', 'postinstall');
  });

  it('has declaration and source maps that point at sources inside the package', async () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps).to.include.members(['dist/index.d.ts.map', 'dist/index.js.map', 'dist/emulator/index.d.ts.map']);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(await readFile(join(installed, map), 'utf8')) as { sources: string[]; sourceRoot?: string };
      expect(sources, map).to.have.length.above(0);
      for (const source of sources) {
        const target = posix.normalize(posix.join(posix.dirname(map), sourceRoot, source));
        if (!files.includes(target)) missing.push(`${map} → ${target}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });

  it('typechecks a consumer of every subpath under strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess and verbatimModuleSyntax', async () => {
    await writeFile(join(scratch, 'main.ts'), STRICT_CONSUMER);
    await writeFile(join(scratch, 'require.cts'), COMMONJS_TYPES);
    await writeFile(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          verbatimModuleSyntax: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['main.ts', 'require.cts'],
      }),
    );
    const typecheck = await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(scratch, 'tsconfig.json')], { cwd: scratch, ...BUFFER }).catch(
      (error: { stdout?: string }) => ({ stdout: `tsc failed:\n${error.stdout ?? String(error)}` }),
    );
    expect(typecheck.stdout).to.equal('');
  });

  it('runs a synthesis from an ES module, and reports failures as narrowable SisErrors', async () => {
    await writeFile(join(scratch, 'main.mts'), STRICT_CONSUMER);
    const result = await run(process.execPath, ['--import', 'tsx', join(scratch, 'main.mts')], { cwd: root, ...BUFFER });
    const printed = JSON.parse(result.stdout.trim()) as Record<string, unknown>;
    expect(printed).to.include({ failure: 'SERVICE_ERROR SIS.0413 traced', refused: 'CONFIG_INVALID', regional: 'function', relayed: 0 });
    expect(printed['bytes']).to.be.a('number').greaterThan(0);
    expect(printed['streamed']).to.be.a('number').greaterThan(0);
  });

  it('runs a synthesis from CommonJS through require (Node 20.19+)', async () => {
    await writeFile(join(scratch, 'main.cjs'), COMMONJS_CONSUMER);
    const result = await run(process.execPath, [join(scratch, 'main.cjs')], { cwd: scratch, ...BUFFER });
    const printed = JSON.parse(result.stdout.trim()) as Record<string, unknown>;
    expect(printed).to.include({ isSisError: 'function', toReadable: 'function' });
    expect(printed['bytes']).to.be.a('number').greaterThan(0);
  });

  it("bundles for a page through the package's browser condition: the browser build, without ws or node: modules", async () => {
    await writeFile(
      join(scratch, 'page.mjs'),
      "import { synthesize$ } from 'rx-sis-tts';\nimport { playAudio } from 'rx-sis-tts/browser';\nglobalThis.page = { synthesize$, playAudio };\n",
    );
    const { build } = await import('esbuild');
    const result = await build({
      absWorkingDir: scratch,
      entryPoints: ['page.mjs'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).to.include('node_modules/rx-sis-tts/dist/index.browser.js');
    expect(inputs.filter((input) => /node_modules\/ws\/|^node:|node_modules\/rx-sis-tts\/dist\/(index|transport\/ws-factory)\.js$/.test(input))).to.deep.equal(
      [],
    );
  });

  it('links the bins, which run as plain Node (shebang kept by the build)', async () => {
    const emulatorHelp = await run(join(scratch, 'node_modules', '.bin', 'sis-emulator'), ['--help'], { cwd: scratch });
    expect(emulatorHelp.stdout).to.match(/^usage: sis-emulator/i);
    const cliHelp = await run(join(scratch, 'node_modules', '.bin', 'sis-tts'), ['--help'], { cwd: scratch });
    expect(cliHelp.stdout).to.include('sis-tts');
  });
});
