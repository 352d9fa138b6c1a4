/** Text frames enter a session only through here: JSON, then the codec of their `resp_type`. */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type * as t from 'io-ts';
import { problemsFrom } from './problems.js';
import { AnyResponse, responseCodecs, type KnownResponseType, type ServerResponse } from './wire.js';
import { parseJson } from './json.js';

export type DecodedFrame =
  | { readonly known: true; readonly response: ServerResponse }
  | { readonly known: false; readonly respType: string; readonly frame: Readonly<Record<string, unknown>> };

/** A short, printable excerpt of a frame for error messages. */
export const excerpt = (text: string, max = 120): string => JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);

const jsonOf = (text: string): E.Either<string, unknown> => {
  const json = parseJson(text);
  return json === undefined ? E.left(`a text frame that is not JSON: ${excerpt(text)}`) : E.right(json);
};

const isKnown = (respType: string): respType is KnownResponseType => Object.hasOwn(responseCodecs, respType);

const decodeKnown = (respType: KnownResponseType, json: unknown): E.Either<t.Errors, ServerResponse> => {
  const codec: t.Decoder<unknown, ServerResponse> = responseCodecs[respType];
  return codec.decode(json);
};

/**
 * Decodes one server text frame. Left: why it is not a valid frame. A well-formed frame with an
 * unknown `resp_type` is Right and `known: false` (the service adds message types over time).
 */
export const decodeServerFrame = (text: string): E.Either<string, DecodedFrame> =>
  pipe(
    jsonOf(text),
    E.chain((json) =>
      pipe(
        AnyResponse.decode(json),
        E.mapLeft(() => `a frame without a string resp_type: ${excerpt(text)}`),
        E.chain(({ resp_type }): E.Either<string, DecodedFrame> => {
          if (!isKnown(resp_type)) return E.right({ known: false, respType: resp_type, frame: json as Record<string, unknown> });
          return pipe(
            decodeKnown(resp_type, json),
            E.bimap(
              (errors) =>
                `a malformed ${resp_type} frame (${problemsFrom(errors)
                  .map((p) => `${p.path}: ${p.message}`)
                  .join('; ')}): ${excerpt(text)}`,
              (response): DecodedFrame => ({ known: true, response }),
            ),
          );
        }),
      ),
    ),
  );
