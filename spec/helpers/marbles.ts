import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { SisError } from '../../lib/errors.js';

// Errors compare by class and every field (code, traceId, retryable, …), not by identity.
const normalize = (value: unknown): unknown => {
  if (value instanceof SisError) return { class: value.constructor.name, ...value.toJSON() };
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Uint8Array) return Array.from(value);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, normalize(v)]));
  }
  return value;
};

export const createTestScheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => {
    expect(normalize(actual)).to.deep.equal(normalize(expected));
  });
