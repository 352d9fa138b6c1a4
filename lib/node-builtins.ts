/**
 * Node's built-in modules, looked up when first needed instead of imported: the root entry must also
 * load in a browser, where `node:crypto` and `node:diagnostics_channel` do not exist and a bundler
 * refuses an `import` of them. `process.getBuiltinModule` is in Node ≥ 20.16 (the package needs 20.19).
 * Outside Node each lookup gives `undefined`, and the caller decides: diagnostics become a no-op, signing
 * fails with an error that says where to sign instead.
 */

/** The one member of `process` used here, absent outside Node (or in Node before 20.16). */
interface BuiltinLoader {
  readonly getBuiltinModule?: NodeJS.Process['getBuiltinModule'] | undefined;
}

const loader = (): BuiltinLoader | undefined => (globalThis as { readonly process?: BuiltinLoader | undefined }).process;

/** `node:crypto`, or `undefined` outside Node. */
export const nodeCrypto = (): typeof import('node:crypto') | undefined => loader()?.getBuiltinModule?.('node:crypto');

/** `node:diagnostics_channel`, or `undefined` outside Node. */
export const nodeDiagnosticsChannel = (): typeof import('node:diagnostics_channel') | undefined => loader()?.getBuiltinModule?.('node:diagnostics_channel');

/**
 * The key Node's `util.inspect` looks for (`util.inspect.custom`), without importing `node:util`:
 * it is a registered symbol, the same in every realm.
 */
export const INSPECT_CUSTOM: unique symbol = Symbol.for('nodejs.util.inspect.custom');

/** The third argument Node passes to an `[INSPECT_CUSTOM]` method: `util.inspect` itself. */
export type InspectFunction = (value: unknown, options?: object) => string;

/**
 * A value's `[INSPECT_CUSTOM]` method that prints `label` and then `view()` as `util.inspect` would,
 * with the caller's options (colours, depth). Without Node's inspect at hand, the view as JSON.
 */
export const inspectAs =
  (label: string, view: () => unknown): ((depth: number, options: object, inspect?: InspectFunction) => string) =>
  (_depth, options, inspect) =>
    `${label} ${inspect === undefined ? JSON.stringify(view()) : inspect(view(), options)}`;
