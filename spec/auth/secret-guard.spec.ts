/**
 * The suite-wide secret guard (spec/helpers/secret-guard.ts) and the error channel it listens on:
 * proof that it sees the errors the suite makes, and that it would find a secret in any printed form.
 */
import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ERROR_CHANNEL, SisAuthError, SisHandshakeError, SisServiceError } from '../../lib/index.js';
import { lastCheckedError, leaksIn } from '../helpers/secret-guard.js';
import { SUITE_SECRETS } from '../helpers/secrets.js';

// A value no test uses as a credential: errors carrying it are safe to create here.
const CANARY = 'canary-2c5e-not-a-suite-secret';

describe('the error channel and the secret guard', () => {
  it('publishes every SisError, once constructed, on rx-sis-tts:error', async () => {
    const seen: unknown[] = [];
    const listener = (error: unknown): void => {
      seen.push(error);
    };
    subscribe(ERROR_CHANNEL, listener);
    try {
      const error = new SisServiceError({ errorCode: 'SIS.0401', traceId: 't-1' });
      expect(seen).to.deep.equal([]); // published in a microtask, when the subclass fields are set
      await Promise.resolve();
      expect(seen).to.have.length(1);
      expect(seen[0]).to.equal(error).and.include({ code: 'SERVICE_ERROR', errorCode: 'SIS.0401' });
    } finally {
      unsubscribe(ERROR_CHANNEL, listener);
    }
  });

  it('has the guard checking the errors the suite creates', async () => {
    const error = new SisHandshakeError({ status: 503 });
    await Promise.resolve();
    expect(lastCheckedError()).to.equal(error);
  });

  it('finds a secret in a message, a cause, JSON or the inspected fields, and names no secret itself', () => {
    const inMessage = new Error(`token ${CANARY}`);
    const inCause = new SisAuthError('the token provider failed', { cause: new Error(`bad ${CANARY}`) });
    const inField = Object.assign(new Error('clean'), { headers: { 'X-Auth-Token': CANARY } });
    const leaks = leaksIn([inMessage, inCause, inField, new SisAuthError('clean')], [CANARY]);
    expect(leaks).to.include('error #0 (Error): secret #0 in its message');
    expect(leaks).to.include('error #0 (Error): secret #0 in its stack');
    expect(leaks).to.include('error #1 (SisAuthError): secret #0 in its inspect');
    expect(leaks).to.include('error #2 (Error): secret #0 in its json');
    expect(leaks.filter((l) => l.startsWith('error #3'))).to.deep.equal([]);
    expect(leaks.join('\n')).not.to.include(CANARY);
  });

  it('knows the secrets this suite uses', () => {
    expect(SUITE_SECRETS).to.have.length.above(5);
    expect(SUITE_SECRETS).not.to.include(CANARY);
  });
});
