import type { Observable } from 'rxjs';
import type { RefreshableTokenSource } from '../../lib/index.js';

/** A caching token provider: it gives `tokens` in turn, moving on at each `invalidate()`; `calls` counts both. */
export const refreshable = (...tokens: (string | Observable<string>)[]) => {
  const calls = { asked: 0, invalidated: 0 };
  let current = 0;
  const source: RefreshableTokenSource = Object.assign(
    () => {
      calls.asked++;
      return tokens[Math.min(current, tokens.length - 1)] ?? '';
    },
    {
      invalidate: () => {
        calls.invalidated++;
        current++;
      },
    },
  );
  return { source, calls };
};
