/**
 * Objects that hold secrets but may end up in a log: the secrets are stored non-enumerable, and
 * `util.inspect`, `JSON.stringify` and `String()` show `'<redacted>'` in their place.
 */
import { INSPECT_CUSTOM, inspectAs } from '../node-builtins.js';

export const REDACTED = '<redacted>';

/**
 * A copy of `value` whose `secretKeys` are non-enumerable and redacted in every printed form.
 * Property access (`value.sk`) still works; spreading (`{ ...value }`) leaves the secrets out.
 */
export const withRedactedSecrets = <T extends object>(value: T, secretKeys: readonly (keyof T & string)[], label: string): T => {
  const view = (): Record<string, unknown> => {
    const shown: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) if (!secretKeys.includes(key as keyof T & string)) shown[key] = v;
    for (const key of secretKeys) if (value[key] !== undefined) shown[key] = REDACTED;
    return shown;
  };
  const copy: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!secretKeys.includes(key as keyof T & string)) copy[key] = v;
  }
  for (const key of secretKeys) {
    if (value[key] !== undefined) Object.defineProperty(copy, key, { value: value[key], enumerable: false });
  }
  Object.defineProperties(copy, {
    [INSPECT_CUSTOM]: { value: inspectAs(label, view) },
    toJSON: { value: view },
    toString: { value: () => `[${label}]` },
  });
  return copy as T;
};
