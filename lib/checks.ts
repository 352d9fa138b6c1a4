/** Argument checks shared by the operators: each returns the problems it finds, none when all is well. */
import { isObservable } from 'rxjs';
import type { Problem } from './errors.js';

export const positiveInteger = (path: string, value: unknown): Problem[] =>
  Number.isInteger(value) && Number(value) >= 1 ? [] : [{ path, message: `must be a positive integer, got ${String(value)}` }];

/** Something with a `synthesize$(request)` method, such as `createSisClient(...)`. */
export const clientProblems = (client: unknown): Problem[] =>
  typeof client === 'object' && client !== null && typeof (client as { synthesize$?: unknown }).synthesize$ === 'function'
    ? []
    : [{ path: 'client', message: 'must be a client with synthesize$(request), e.g. createSisClient({ ... })' }];

/** An Observable, or a function of `paused$` returning one. */
export const sourceProblems = (source: unknown): Problem[] =>
  isObservable(source) || typeof source === 'function'
    ? []
    : [{ path: 'source', message: 'must be an Observable of audio, or a function (paused$) => Observable of audio' }];
