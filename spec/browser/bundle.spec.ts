/**
 * The browser build's module graph, proven with a real bundler: esbuild bundles small pages importing
 * from lib/index.browser.ts for `platform: 'browser'` (its default conditions, `browser` first), and
 * nothing in the result may be `ws`, a `node:` module or another Node builtin, nor load anything at
 * run time. A control bundles the Node build the same way, to show that the check finds `ws` there.
 */
import { expect } from 'chai';
import { build, type Message, type Metafile } from 'esbuild';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = resolve(import.meta.dirname, '..', '..');
const BROWSER_ENTRY = './lib/index.browser.ts';
const NODE_ENTRY = './lib/index.ts';

/** What a bundle for a page holds that a page cannot run. */
interface BundleFindings {
  /** esbuild's errors: an unresolvable import (a Node builtin fails here for platform 'browser'). */
  readonly errors: readonly string[];
  /** Inputs that are `ws`, a `node:` module or a Node builtin (some bundlers resolve them to polyfills or stubs). */
  readonly nodeOnly: readonly string[];
  /** Imports left in the output, to be loaded at run time: there must be none. */
  readonly external: readonly string[];
  /** Whether the output calls `require` (a CommonJS module esbuild could not turn into a plain function). */
  readonly requires: boolean;
  /** Node's globals the output uses as such (a minifier renames locals, never a global). */
  readonly nodeGlobals: readonly string[];
}

/** A Node global used as one: not a property (`globalThis.process?.…` is how a lookup that may fail is written), nor part of a longer name. */
const NODE_GLOBALS = /(?<![\w$.])(Buffer|process|setImmediate|__dirname|__filename)(?![\w$])/g;

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** True for an input path that is `ws` or a Node builtin, however the bundler resolved it. */
const isNodeOnly = (input: string): boolean => {
  const path = input.replace(/^\(disabled\):/, '');
  return path.startsWith('node:') || BUILTINS.has(path) || /(^|\/)node_modules\/ws\//.test(path);
};

/** `contents` (a module in the repository's root) bundled as a page's script is, as bench/size.ts bundles it: minified, for a browser. */
const bundle = (contents: string, external: string[] = []) =>
  build({
    stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: 'page.ts' },
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    metafile: true,
    write: false,
    external,
    logLevel: 'silent',
  });

const errorText = (message: Message): string => `${message.text}${message.location === null ? '' : ` (${message.location.file})`}`;

/**
 * Bundles `contents` (a module in the repository's root) as a page's script, minified, and reports what
 * a page could not run. `external` only for the control that proves a left-over `require` is seen.
 */
const bundleForPage = async (contents: string, { external = [] }: { readonly external?: string[] } = {}): Promise<BundleFindings> => {
  let metafile: Metafile;
  let text: string;
  try {
    const result = await bundle(contents, external);
    metafile = result.metafile;
    text = result.outputFiles.map((file) => file.text).join('\n');
  } catch (failure) {
    const errors = (failure as { errors?: Message[] }).errors;
    if (errors === undefined) throw failure;
    return { errors: errors.map(errorText), nodeOnly: [], external: [], requires: false, nodeGlobals: [] };
  }
  return {
    errors: [],
    nodeOnly: Object.keys(metafile.inputs).filter(isNodeOnly),
    external: Object.values(metafile.outputs).flatMap((output) => output.imports.map((imported) => imported.path)),
    requires: /\brequire\b/.test(text),
    nodeGlobals: [...new Set([...text.matchAll(NODE_GLOBALS)].map((match) => match[0]))],
  };
};

/**
 * The most a page importing only `synthesize$` may weigh, minified and gzipped (level 9), as bench/size.ts
 * measures it: about 10 % above its size when the budget was set (21.6 KiB, once fp-ts's CommonJS build
 * had left the graph and the one-shot forms stopped building a whole client; 38.1 KiB before). Lower it
 * when the page gets smaller.
 */
const SYNTHESIZE_PAGE_BUDGET_BYTES = 24 * 1024;

/** The bytes of `contents` bundled for a page as bench/size.ts bundles it: minified, then gzipped at level 9. */
const gzippedPageBytes = async (contents: string): Promise<number> => {
  const result = await bundle(contents);
  return result.outputFiles.reduce((total, file) => total + gzipSync(file.contents, { level: 9 }).byteLength, 0);
};

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

const CLEAN: BundleFindings = { errors: [], nodeOnly: [], external: [], requires: false, nodeGlobals: [] };

describe('the browser build (bundled for a page)', function () {
  // esbuild takes well under a second per bundle; a busy shared machine may be slower.
  this.timeout(60_000);

  it('bundles synthesize$ alone without ws, a node: module or any Node builtin', async () => {
    expect(await bundleForPage(`export { synthesize$ } from '${BROWSER_ENTRY}';`)).to.deep.equal(CLEAN);
  });

  it('bundles createSisClient and speak likewise', async () => {
    expect(await bundleForPage(`export { createSisClient, speak } from '${BROWSER_ENTRY}';`)).to.deep.equal(CLEAN);
  });

  it('bundles the whole root entry likewise', async () => {
    expect(await bundleForPage(`export * from '${BROWSER_ENTRY}';`)).to.deep.equal(CLEAN);
  });

  it('would catch ws: the Node build, bundled the same way, reaches it', async () => {
    const findings = await bundleForPage(`export { synthesize$ } from '${NODE_ENTRY}';`);
    expect(findings.nodeOnly).to.include('node_modules/ws/browser.js');
  });

  it('would catch a Node builtin, resolved or not', async () => {
    const unresolved = await bundleForPage(`import { createHash } from 'node:crypto'; export const h = createHash;`);
    expect(unresolved.errors.join('\n')).to.match(/Could not resolve "node:crypto"/);
    expect(['node:diagnostics_channel', 'crypto', '(disabled):crypto', 'node_modules/ws/index.js'].filter(isNodeOnly)).to.have.length(4);
    expect(isNodeOnly('node_modules/rxjs/dist/esm5/index.js') || isNodeOnly('lib/errors.ts')).to.equal(false);
  });

  it('would catch a require left in the output, and an import loaded at run time', async () => {
    // A CommonJS require of a module esbuild leaves out becomes a `require` call that a page cannot run.
    expect(await bundleForPage(`module.exports = require('left-out');`, { external: ['left-out'] })).to.include({ requires: true });
    expect((await bundleForPage(`export { x } from 'left-out';`, { external: ['left-out'] })).external).to.deep.equal(['left-out']);
  });

  it('would catch a Node global such as Buffer, but not a lookup through globalThis', async () => {
    const findings = await bundleForPage(`export const f = (b: Uint8Array) => Buffer.from(b).toString() + String(globalThis.process?.env);`);
    expect(findings.nodeGlobals).to.deep.equal(['Buffer']);
  });

  it('keeps a page that imports only synthesize$ within its size budget', async () => {
    const bytes = await gzippedPageBytes(`export { synthesize$ } from '${BROWSER_ENTRY}';`);
    expect(
      bytes,
      `the synthesize$ page is ${kib(bytes)} gzipped, over its budget of ${kib(SYNTHESIZE_PAGE_BUDGET_BYTES)}: ` +
        '`npm run bench -- --only size` shows which packages and files grew',
    ).to.be.at.most(SYNTHESIZE_PAGE_BUDGET_BYTES);
  });

  it("is what package.json's browser condition points at", () => {
    const manifest = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    expect(manifest.exports['.']).to.include({ browser: './dist/index.browser.js', default: './dist/index.js' });
  });
});
