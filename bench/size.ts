/**
 * (g) What the browser build costs a page: esbuild bundles three pages importing from
 * lib/index.browser.ts (`platform: 'browser'`, minified, ES module), and each bundle is measured
 * minified and gzipped (node:zlib, level 9), with what its bytes are made of, by package and by file.
 * The pages: `synthesize$` alone, `createSisClient` + `speak`, and everything the root entry exports.
 * Each page is bundled twice: with esbuild's default conditions (rxjs's `esm5` build, which calls tslib's
 * helpers) and with `conditions: ['es2015']` (rxjs's ES2015 build), to show what that bundler setting is
 * worth to a user.
 * Runs in the bench's own process in about a second; `--only size` (`npm run bench -- --only size`)
 * runs it alone.
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { ROOT } from './processes.js';
import { machine } from './report.js';
import { count } from './stats.js';

/** A page as its source, and its name in the table. */
interface Page {
  readonly label: string;
  readonly source: string;
}

const ENTRY = './lib/index.browser.ts';

export const SIZE_PAGES: readonly Page[] = [
  { label: '`synthesize$` only', source: `export { synthesize$ } from '${ENTRY}';` },
  { label: '`createSisClient` + `speak`', source: `export { createSisClient, speak } from '${ENTRY}';` },
  { label: 'the whole root entry', source: `export * from '${ENTRY}';` },
];

/** Bytes of the minified output that came from one input (a file) or one package. */
export interface SizePart {
  readonly name: string;
  readonly bytes: number;
}

/** The bytes of one bundle. */
export interface BundleBytes {
  readonly minifiedBytes: number;
  readonly gzippedBytes: number;
}

export interface PageSize extends BundleBytes {
  readonly label: string;
  /** The same page bundled with `conditions: ['es2015']`. */
  readonly es2015: BundleBytes;
  /** Every package's share of the minified output, largest first (`rx-sis-tts` is lib/). */
  readonly packages: readonly SizePart[];
  /** The five largest inputs (files), largest first. */
  readonly topInputs: readonly SizePart[];
}

export interface BundleSizeReport {
  readonly esbuild: string;
  readonly pages: readonly PageSize[];
}

/** `rxjs` for node_modules/rxjs/dist/…, `rx-sis-tts` for lib/…. */
const packageOf = (input: string): string => {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1] ?? (input.startsWith('lib/') ? 'rx-sis-tts' : input);
};

const largest = (parts: Iterable<[string, number]>, limit = Infinity): SizePart[] =>
  [...parts]
    .filter(([, bytes]) => bytes > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, bytes]) => ({ name, bytes }));

/** Bundles `page` for a browser: esbuild's default conditions, or `conditions` added to them. */
const bundle = (page: Page, conditions?: string[]) =>
  build({
    stdin: { contents: page.source, resolveDir: ROOT, loader: 'ts', sourcefile: 'page.ts' },
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    metafile: true,
    write: false,
    logLevel: 'silent',
    ...(conditions === undefined ? {} : { conditions }),
  });

const bytesOf = (contents: Uint8Array): BundleBytes => ({
  minifiedBytes: contents.byteLength,
  gzippedBytes: gzipSync(contents, { level: 9 }).byteLength,
});

const measure = async (page: Page): Promise<PageSize> => {
  const result = await bundle(page);
  const [output] = result.outputFiles;
  const meta = Object.values(result.metafile.outputs)[0];
  if (output === undefined || meta === undefined) throw new Error(`esbuild wrote nothing for ${page.label}`);
  const inputs = Object.entries(meta.inputs).map(([name, input]): [string, number] => [name, input.bytesInOutput]);
  const byPackage = new Map<string, number>();
  for (const [name, bytes] of inputs) byPackage.set(packageOf(name), (byPackage.get(packageOf(name)) ?? 0) + bytes);
  const [es2015] = (await bundle(page, ['es2015'])).outputFiles;
  if (es2015 === undefined) throw new Error(`esbuild wrote nothing for ${page.label} with conditions: ['es2015']`);
  return {
    label: page.label,
    ...bytesOf(output.contents),
    es2015: bytesOf(es2015.contents),
    packages: largest(byPackage),
    topInputs: largest(inputs, 5),
  };
};

/** Bundles and measures every page, one after the other. */
export const bundleSizes = async (): Promise<BundleSizeReport> => {
  const { version } = await import('esbuild');
  const pages: PageSize[] = [];
  for (const page of SIZE_PAGES) pages.push(await measure(page));
  return { esbuild: version, pages };
};

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const parts = (list: readonly SizePart[]): string => list.map((part) => `${part.name.replace(/^node_modules\//, '')} ${kib(part.bytes)}`).join(', ');

export const sizeMarkdown = (report: BundleSizeReport, command: string): string =>
  [
    "| (g) Browser bundle | minified | gzipped | with `conditions: ['es2015']`: minified / gzipped | by package (minified) | largest five inputs (minified) |",
    '|---|--:|--:|--:|---|---|',
    ...report.pages.map(
      (p) =>
        `| ${p.label} | ${kib(p.minifiedBytes)} | ${kib(p.gzippedBytes)} | ${kib(p.es2015.minifiedBytes)} / ${kib(p.es2015.gzippedBytes)} | ` +
        `${parts(p.packages)} | ${parts(p.topInputs)} |`,
    ),
    '',
    `Machine: ${machine()}. Command: \`${command}\`. esbuild ${report.esbuild}, \`platform: 'browser'\` (its default conditions), ` +
      `minified ES module bundling lib/index.browser.ts from source with rxjs (its \`esm5\` build; \`dist/esm\` with \`conditions: ['es2015']\`); ` +
      `gzip level 9 (node:zlib). ` +
      `Bytes are those each input left in the output (esbuild's metafile), ${count(report.pages.length)} pages measured.`,
  ].join('\n');
