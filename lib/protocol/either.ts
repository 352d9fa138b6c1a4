/**
 * The little of fp-ts's `Either` the library needs at run time. io-ts's `decode` returns plain
 * `{ _tag: 'Left', left }` / `{ _tag: 'Right', right }` objects, so reading one takes no library code:
 * importing `fp-ts/lib/Either.js` for `isLeft` would put fp-ts's CommonJS build (about 28 KiB minified,
 * which no bundler can tree-shake) into every page. The type is still fp-ts's, so values from io-ts
 * and from here are interchangeable.
 */
import type { Either, Left, Right } from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';

export type { Either } from 'fp-ts/lib/Either.js';

/** A failure: `{ _tag: 'Left', left }`. */
export const left = <E, A = never>(value: E): Either<E, A> => ({ _tag: 'Left', left: value });

/** A success: `{ _tag: 'Right', right }`. */
export const right = <A, E = never>(value: A): Either<E, A> => ({ _tag: 'Right', right: value });

/** Whether `either` is a failure (then `either.left` is the reason). */
export const isLeft = <E>(either: Either<E, unknown>): either is Left<E> => either._tag === 'Left';

/** Whether `either` is a success (then `either.right` is the value). */
export const isRight = <A>(either: Either<unknown, A>): either is Right<A> => either._tag === 'Right';

/**
 * `codec.decode(value)`, with the common case first: a value that already is one (`codec.is`, which
 * builds nothing) is returned as it is; only a value that is not goes through `decode`, for the
 * errors that say why. Right for codecs whose `decode` returns its input unchanged: every codec of
 * this package (`t.type`, `t.partial`, unions, literals and `refined`, no transformation); a property
 * test holds the two paths equal (spec/protocol/decode.spec.ts).
 */
export const decodeFast = <A>(codec: { readonly is: t.Is<A>; decode(value: unknown): t.Validation<A> }, value: unknown): Either<t.Errors, A> =>
  codec.is(value) ? right(value) : codec.decode(value);
