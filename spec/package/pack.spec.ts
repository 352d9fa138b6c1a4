/**
 * The published artefact, proven once: `npm pack`'s tarball installs into a scratch project, its
 * entry points import there (types included), and a synthesis runs against the packaged emulator.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..', '..');

describe('the npm package', function () {
  this.timeout(180_000);
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'rx-sis-tts-pack-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('installs from its tarball and works from a scratch project', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    if (packed === undefined) throw new Error('npm pack reported nothing');
    const files = packed.files.map((f) => f.path);
    expect(files).to.include.members(['dist/index.js', 'dist/index.d.ts', 'dist/emulator/index.js', 'dist/emulator/bin.js', 'package.json']);
    expect(files.filter((f) => f.startsWith('lib/') || f.startsWith('spec/') || f.startsWith('node_modules/'))).to.deep.equal([]);

    await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(scratch, packed.filename), 'rxjs@^7.8'], {
      cwd: scratch,
      maxBuffer: 16 * 1024 * 1024,
    });

    await writeFile(
      join(scratch, 'main.ts'),
      [
        "import { createSisClient, SisError, type AudioChunk } from 'rx-sis-tts';",
        "import { startEmulator } from 'rx-sis-tts/emulator';",
        "import { lastValueFrom, reduce } from 'rxjs';",
        'const emulator = await startEmulator({ port: 0 });',
        'try {',
        '  const client = createSisClient({ endpoint: emulator.url, projectId: emulator.projectId, auth: { token: emulator.token } });',
        "  const bytes = await lastValueFrom(client.synthesize$({ text: 'packaged' }).pipe(reduce((n: number, c: AudioChunk) => n + c.data.byteLength, 0)));",
        '  console.log(JSON.stringify({ bytes, sisError: typeof SisError }));',
        '} finally {',
        '  await emulator.close();',
        '}',
      ].join('\n'),
    );
    await writeFile(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['main.ts'],
      }),
    );
    await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(scratch, 'tsconfig.json')], { cwd: scratch });

    await run('cp', [join(scratch, 'main.ts'), join(scratch, 'main.mts')]);
    const result = await run(process.execPath, ['--import', 'tsx', join(scratch, 'main.mts')], { cwd: root });
    const printed = JSON.parse(result.stdout.trim()) as { bytes: number; sisError: string };
    expect(printed.sisError).to.equal('function');
    expect(printed.bytes).to.be.greaterThan(0);
    const manifest = JSON.parse(await readFile(join(scratch, 'node_modules', 'rx-sis-tts', 'package.json'), 'utf8')) as { name: string };
    expect(manifest.name).to.equal('rx-sis-tts');

    // The bins are linked and run as plain Node (shebang kept by the build).
    const emulatorHelp = await run(join(scratch, 'node_modules', '.bin', 'sis-emulator'), ['--help'], { cwd: scratch });
    expect(emulatorHelp.stdout).to.match(/^usage: sis-emulator/);
    const cliHelp = await run(join(scratch, 'node_modules', '.bin', 'sis-tts'), ['--help'], { cwd: scratch });
    expect(cliHelp.stdout).to.include('sis-tts');
  });
});
