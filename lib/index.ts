/**
 * rx-sis-tts: Huawei Cloud SIS speech synthesis as cold RxJS Observables.
 * Node-only helpers (files, Node streams) are in `rx-sis-tts/node`, the socket seam in
 * `rx-sis-tts/transport`, the local SIS server in `rx-sis-tts/emulator`, the kit for users' own
 * marble tests in `rx-sis-tts/testing`. This is the Node build; bundlers for a browser take
 * index.browser.ts (the `browser` condition), which exports the same names.
 */

// The client and its one-shot forms, opening sockets with `ws`.
export { createSisClient, events$, synthesize$ } from './session/client.js';

// Everything else, the same in both builds.
export * from './public.js';
