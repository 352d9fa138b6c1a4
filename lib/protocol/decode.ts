/** Text frames enter a session only through here: JSON, then the codec of their `resp_type`. */
import type * as t from 'io-ts';
import { decodeFast, isLeft, left, right, type Either } from './either.js';
import { problemsFrom } from './problems.js';
import { AnyResponse, responseCodecs, type KnownResponseType, type ServerResponse } from './wire.js';
import { parseJson } from './json.js';

export type DecodedFrame =
  | { readonly known: true; readonly response: ServerResponse }
  | { readonly known: false; readonly respType: string; readonly frame: Readonly<Record<string, unknown>> };

/** A short, printable excerpt of a frame for error messages. */
export const excerpt = (text: string, max = 120): string => JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);

const isKnown = (respType: string): respType is KnownResponseType => Object.hasOwn(responseCodecs, respType);

const decodeKnown = (respType: KnownResponseType, json: unknown): Either<t.Errors, ServerResponse> => {
  const codec: { readonly is: t.Is<ServerResponse>; decode(value: unknown): t.Validation<ServerResponse> } = responseCodecs[respType];
  return decodeFast(codec, json);
};

/**
 * Decodes one server text frame. Left: why it is not a valid frame. A well-formed frame with an
 * unknown `resp_type` is Right and `known: false` (the service adds message types over time).
 */
export const decodeServerFrame = (text: string): Either<string, DecodedFrame> => {
  const json = parseJson(text);
  if (json === undefined) return left(`a text frame that is not JSON: ${excerpt(text)}`);
  const typed = decodeFast(AnyResponse, json);
  if (isLeft(typed)) return left(`a frame without a string resp_type: ${excerpt(text)}`);
  const { resp_type } = typed.right;
  if (!isKnown(resp_type)) return right({ known: false, respType: resp_type, frame: json as Record<string, unknown> });
  const decoded = decodeKnown(resp_type, json);
  if (isLeft(decoded)) {
    const problems = problemsFrom(decoded.left).map((p) => `${p.path}: ${p.message}`);
    return left(`a malformed ${resp_type} frame (${problems.join('; ')}): ${excerpt(text)}`);
  }
  return right({ known: true, response: decoded.right });
};
