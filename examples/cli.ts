/**
 * The `sis-tts` command, run here against its embedded emulator (`--emulator`; without it, the
 * HUAWEICLOUD_SIS_* credentials must be set). Installed, it is simply:
 *
 *   sis-tts "你好，世界" -o hello.wav
 *   sis-tts --file story.txt --voice chinese_huaxiaomei_common --sample-rate 16k -o story.mp3 --json
 *   echo "hello" | sis-tts --audio-format alaw -o - > hello.wav
 *
 *   npx tsx examples/cli.ts
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../lib/cli/bin.ts', import.meta.url));
// Without credentials, whatever this shell has set: the last run shows what sis-tts says then.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HUAWEICLOUD_SIS_')));
const run = (...args: string[]): void => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', bin, ...args], { encoding: 'utf8', env });
  console.log(`$ sis-tts ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  process.stdout.write(result.stdout + result.stderr);
  console.log(`(exit code ${result.status})\n`);
};

run('你好，世界。', '-o', join(tmpdir(), 'hello.wav'), '--emulator');
run('你好，世界。', '-o', join(tmpdir(), 'hello.mp3'), '--emulator'); // the extension says mp3
run('第一句话。第二句话。第三句话。', '--max-part-length', '5', '--sample-rate', '16k', '-o', join(tmpdir(), 'long.wav'), '--emulator', '--json');
run('x', '--voice', 'chinese_nobody_common', '-o', join(tmpdir(), 'x.wav'), '--emulator'); // exit 3, with the trace id
run('x', '--speed', '900', '-o', join(tmpdir(), 'x.wav')); // exit 2
run('x', '--audio-format', 'pcm', '-o', join(tmpdir(), 'x.mp3'), '--emulator'); // exit 2: the extension disagrees
run('x', '-o', join(tmpdir(), 'x.wav')); // exit 2: no credentials, and they are named
