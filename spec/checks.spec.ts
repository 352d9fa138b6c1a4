/** The one vocabulary of option problems (lib/checks.ts): what each check accepts and how every problem is worded. */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  boolean,
  fn,
  headerValue,
  integerAtLeast,
  integerFrom,
  kindOf,
  nonEmptyString,
  nonNegativeInteger,
  nonNegativeMs,
  nonNegativeNumber,
  objectProblems,
  oneOf,
  optional,
  positiveInteger,
  positiveMs,
  requiredString,
  shown,
  unknownKeyProblems,
  type Check,
} from '../lib/checks.js';

const messageOf = (check: Check, value: unknown): string | undefined => check('x', value)[0]?.message;

describe('option checks (lib/checks.ts)', () => {
  it('show what was given briefly: strings quoted, long ones by length, numbers as numbers', () => {
    expect([shown('16M'), shown('a'.repeat(41)), shown(Number.NaN), shown(Infinity), shown(-0), shown(undefined), shown(() => 1), shown(null)]).to.deep.equal([
      '"16M"',
      'a string of 41 characters',
      'NaN',
      'Infinity',
      '0',
      'nothing',
      'a function',
      'null',
    ]);
    expect(shown({ a: 'b'.repeat(80) })).to.have.length(60);
    expect([kindOf('secret'), kindOf([]), kindOf(null), kindOf(1), kindOf({})]).to.deep.equal(['a string', 'an array', 'null', 'a number', 'an object']);
  });

  it('word every problem "must be …, got …"', () => {
    const cases: [Check, unknown, string][] = [
      [positiveInteger, 0, 'must be a positive integer, got 0'],
      [positiveInteger, '16M', 'must be a positive integer, got "16M"'],
      [nonNegativeInteger, -1, 'must be an integer ≥ 0, got -1'],
      [integerAtLeast(1024), 10, 'must be an integer ≥ 1024, got 10'],
      [integerFrom(0, 65535), 70000, 'must be an integer from 0 to 65535, got 70000'],
      [nonNegativeNumber, Infinity, 'must be a finite number ≥ 0, got Infinity'],
      [positiveMs({ infinity: true }), -1, 'must be a positive number of ms or Infinity, got -1'],
      [positiveMs({ infinity: false }), Infinity, 'must be a positive number of ms, got Infinity'],
      [nonNegativeMs, Number.NaN, 'must be a number of ms ≥ 0, got NaN'],
      [boolean, 'no', 'must be a boolean, got "no"'],
      [fn('a function returning a Date'), 5, 'must be a function returning a Date, got 5'],
      [nonEmptyString(), ' ', 'must be a non-empty string, got " "'],
      [headerValue(), 'a\r\nX-Evil: 1', 'must be a non-empty string without control characters, got "a\\r\\nX-Evil: 1"'],
      [oneOf(['known', 'any']), 'some', 'must be "known" or "any", got "some"'],
    ];
    for (const [check, value, message] of cases) expect(messageOf(check, value)).to.equal(message);
  });

  it('accept what they ask for', () => {
    const cases: [Check, unknown][] = [
      [positiveInteger, 1],
      [nonNegativeInteger, 0],
      [integerFrom(0, 65535), 65535],
      [positiveMs({ infinity: true }), Infinity],
      [positiveMs({ infinity: false }), 0.5],
      [nonNegativeMs, 0],
      [boolean, false],
      [fn(), () => undefined],
      [nonEmptyString(), 'a'],
      [headerValue(), 'tok-1'],
      [oneOf(['known', 'any']), 'any'],
    ];
    for (const [check, value] of cases) expect(check('x', value), String(value)).to.deep.equal([]);
    expect(optional(positiveInteger)('x', undefined)).to.deep.equal([]);
  });

  it('never show a secret: a secret check says what it expects and stops (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{12,24}$/), fc.constantFrom('\r\n', '\u0000', '\u007f'), (secret, control) => {
        const problems = headerValue({ secret: true })('auth.token', `${secret}${control}`);
        expect(problems).to.deep.equal([{ path: 'auth.token', message: 'must be a non-empty string without control characters' }]);
        expect(nonEmptyString({ secret: true })('password', '')).to.deep.equal([{ path: 'password', message: 'must be a non-empty string' }]);
        expect(objectProblems('', secret, '{ token }')[0]?.message).to.equal('must be an object like { token }, got a string');
      }),
    );
  });

  it('say "is required" of a string option left out, and "must be" of a wrong one', () => {
    const projectId = requiredString('the project id');
    expect(projectId('projectId', undefined)).to.deep.equal([{ path: 'projectId', message: 'is required (the project id)' }]);
    expect(projectId('projectId', ' ')).to.deep.equal([{ path: 'projectId', message: 'is required (the project id)' }]);
    expect(projectId('projectId', 42)).to.deep.equal([{ path: 'projectId', message: 'must be a non-empty string (the project id), got 42' }]);
  });

  it('name unknown keys, suggesting the option meant', () => {
    expect(unknownKeyProblems({ idel: 1, sample_rate: 1, zzz: 1, idle: 1 }, ['idle', 'sampleRate'], 'timeouts.')).to.deep.equal([
      { path: 'timeouts.idel', message: "unknown field (did you mean 'idle'?)" },
      { path: 'timeouts.sample_rate', message: "unknown field (did you mean 'sampleRate'?)" },
      { path: 'timeouts.zzz', message: 'unknown field' },
    ]);
  });
});
