/** The one place untrusted text becomes a JSON value; codecs take it from there. */

/** The JSON value of `text`, or `undefined` when it is not JSON (no JSON text parses to `undefined`). */
export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};
