/**
 * The error classes as users meet them: `isSisError` then `switch (error.code)` narrows to the class
 * (this file fails the typecheck if it does not), the trace id ends every message one way, and
 * `toJSON()` summarises the cause without ever serialising it.
 */
import { expect } from 'chai';
import * as errors from '../lib/errors.js';
import {
  SisAuthError,
  SisConfigError,
  SisConnectionError,
  SisError,
  SisFileError,
  SisHandshakeError,
  SisItemError,
  SisInputError,
  SisClosedError,
  SisSentenceError,
  SisOverflowError,
  SisPlaybackError,
  SisPartError,
  SisProtocolError,
  SisRequestError,
  SisServiceError,
  SisTimeoutError,
  isSisError,
  type SisErrorCode,
  type SisFailure,
} from '../lib/errors.js';

// A value no test uses as a credential (the suite's secret guard would rightly flag a real one, which
// util.inspect shows inside a cause): it stands for a token held by an object that became a cause.
const CANARY = 'canary-8d1f-not-a-suite-secret';
const TRACE = 'trace-7';

const service = new SisServiceError({ errorCode: 'SIS.0401', errorMsg: 'synthesis error', traceId: TRACE });

/** One error of every class, as the library makes them. */
const everyClass: readonly SisFailure[] = [
  new SisRequestError([{ path: 'text', message: 'is required' }]),
  new SisConfigError([{ path: 'projectId', message: 'is required' }]),
  new SisAuthError('the token provider failed', { status: 401, errorCode: 'IAM.0001' }),
  new SisHandshakeError({ status: 401, errorCode: 'APIG.0301', requestId: 'req-1' }),
  new SisConnectionError('connection closed after START (code 1006)', { closeCode: 1006, traceId: TRACE }),
  new SisTimeoutError('idle', 10_000, TRACE),
  new SisProtocolError('a frame that is not JSON', { at: 'after START and 1 audio frame', traceId: TRACE }),
  service,
  new SisFileError({ path: 'out.wav', operation: 'write', cause: Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }) }),
  new SisPartError({ part: 1, parts: 3, cause: service }),
  new SisItemError({ index: 4, cause: service }),
  new SisSentenceError({ sentence: { index: 2, text: '第三句。' }, cause: service }),
  new SisInputError({ cause: new Error('the model stopped') }),
  new SisClosedError('synthesize$'),
  new SisOverflowError(1024, 'bytes'),
  new SisPlaybackError('the audio context was closed during playback', { stage: 'context' }),
];

/** What a user's `error` callback does: every case reads fields only its class has. */
const describeFailure = (error: SisFailure): string => {
  switch (error.code) {
    case 'REQUEST_INVALID':
    case 'CONFIG_INVALID':
      return error.problems.map((p) => p.path).join(',');
    case 'AUTH_FAILED':
      return `${error.status ?? '-'} ${error.errorCode ?? '-'}`;
    case 'HANDSHAKE_REJECTED':
      return `${error.status} ${error.requestId ?? '-'}`;
    case 'CONNECTION_LOST':
      return `${error.closeCode ?? '-'} ${error.closeReason}`;
    case 'TIMEOUT':
      // @ts-expect-error -- narrowed to SisTimeoutError, which has no errorCode.
      void error.errorCode;
      return `${error.phase} ${error.timeoutMs}`;
    case 'PROTOCOL_VIOLATION':
      return error.at;
    case 'SERVICE_ERROR':
      return `${error.errorCode ?? '-'} ${error.fatal}`;
    case 'FILE_ERROR':
      return `${error.operation} ${error.path} ${error.systemCode ?? '-'}`;
    case 'PART_FAILED':
      return `${error.part}/${error.parts} ${error.causeCode}`;
    case 'ITEM_FAILED':
      return `${error.index} ${error.causeCode}`;
    case 'SENTENCE_FAILED':
      return `${error.sentence.index} ${error.causeCode}`;
    case 'INPUT_FAILED':
    case 'CLIENT_CLOSED':
      return error.message;
    case 'BUFFER_OVERFLOW':
      return `${error.limit} ${error.unit}`;
    case 'PLAYBACK_FAILED':
      return error.stage;
    default: {
      // A class added to SisFailure without a case here fails the typecheck.
      const never: never = error;
      return never;
    }
  }
};

// Every code has its class in the union: a code added without one fails the typecheck.
type CodeWithoutClass = Exclude<SisErrorCode, SisFailure['code']>;
const everyCodeHasAClass: [CodeWithoutClass] extends [never] ? true : false = true;

const json = (value: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

describe('errors', () => {
  describe('SisFailure and isSisError', () => {
    it('has one error here for every exported class, each with its own code', () => {
      const exported = Object.entries(errors).filter(([, value]) => typeof value === 'function' && value.prototype instanceof SisError);
      expect(everyCodeHasAClass).to.equal(true);
      expect(exported.map(([name]) => name).sort()).to.deep.equal(everyClass.map((e) => e.name).sort());
      expect(new Set(everyClass.map((e) => e.code)).size).to.equal(everyClass.length);
    });

    it('narrows on code to the class and its fields', () => {
      expect(everyClass.map(describeFailure)).to.deep.equal([
        'text',
        'projectId',
        '401 IAM.0001',
        '401 req-1',
        '1006 ',
        'idle 10000',
        'after START and 1 audio frame',
        'SIS.0401 false',
        'write out.wav ENOSPC',
        '1/3 SERVICE_ERROR',
        '4 SERVICE_ERROR',
        '2 SERVICE_ERROR',
        'the text input failed: the model stopped',
        'synthesize$: the client was closed (client.close()); create a new client',
        '1024 bytes',
        'context',
      ]);
    });

    it('is true for every class, and false for anything else that looks like one', () => {
      for (const error of everyClass) expect(isSisError(error), error.name).to.equal(true);
      const lookalikes: unknown[] = [
        new Error('connection closed'),
        Object.assign(new Error('timed out'), { code: 'TIMEOUT', traceId: TRACE }),
        { code: 'SERVICE_ERROR', message: 'service error', traceId: TRACE },
        'SERVICE_ERROR',
        undefined,
        null,
      ];
      for (const value of lookalikes) expect(isSisError(value), String(value)).to.equal(false);
    });
  });

  describe('messages', () => {
    it('end with the trace id, once, whenever it is known', () => {
      const traced = everyClass.filter((e) => e.traceId !== undefined);
      expect(traced.map((e) => e.code)).to.deep.equal([
        'CONNECTION_LOST',
        'TIMEOUT',
        'PROTOCOL_VIOLATION',
        'SERVICE_ERROR',
        'PART_FAILED',
        'ITEM_FAILED',
        'SENTENCE_FAILED',
      ]);
      for (const error of traced) {
        expect(error.message, error.name).to.match(/ \[trace trace-7\]$/);
        expect(error.message.split(TRACE), error.name).to.have.length(2);
      }
      expect(new SisConnectionError('connection closed (code 1006)', { traceId: TRACE }).message).to.equal('connection closed (code 1006) [trace trace-7]');
      expect(new SisPartError({ part: 1, parts: 3, cause: service }).message).to.equal(
        'part 2 of 3 failed: service error SIS.0401: synthesis error [trace trace-7]',
      );
    });

    it('carry no trace when none is known', () => {
      const untraced = [new SisConnectionError('connection failed while connecting: ECONNREFUSED'), new SisTimeoutError('connect', 10_000)];
      for (const error of untraced) expect(error.message).not.to.include('[trace');
    });
  });

  describe('toJSON', () => {
    it('keeps the fields and a summary of a SisError cause, recursively', () => {
      const item = json(new SisItemError({ index: 2, cause: new SisPartError({ part: 0, parts: 2, cause: service }) }));
      expect(item).to.include({ name: 'SisItemError', code: 'ITEM_FAILED', index: 2, traceId: TRACE, retryable: true });
      expect(item).not.to.have.property('stack');
      const part = item['cause'] as Record<string, unknown>;
      expect(part).to.include({ name: 'SisPartError', code: 'PART_FAILED', part: 0, parts: 2 });
      expect(part['cause']).to.deep.equal({
        name: 'SisServiceError',
        code: 'SERVICE_ERROR',
        message: 'service error SIS.0401: synthesis error [trace trace-7]',
        traceId: TRACE,
        retryable: true,
        errorCode: 'SIS.0401',
        errorMsg: 'synthesis error',
        fatal: false,
      });
    });

    it('summarises another Error as its name, message and code', () => {
      const file = everyClass.find((e) => e.code === 'FILE_ERROR');
      expect(json(file)['cause']).to.deep.equal({ name: 'Error', message: 'no space left on device', code: 'ENOSPC' });
      expect(json(new SisAuthError('IAM is unreachable', { cause: new TypeError('fetch failed') }))['cause']).to.deep.equal({
        name: 'TypeError',
        message: 'fetch failed',
      });
      expect(json(new SisConfigError([]))).not.to.have.property('cause');
    });

    it('never serialises a cause that is not an Error: it may hold a token', () => {
      const holdsAToken = { headers: { 'X-Auth-Token': CANARY }, token: CANARY };
      const error = new SisAuthError('the token provider failed', { cause: holdsAToken });
      expect(json(error)['cause']).to.equal('object Object');
      expect(JSON.stringify(error)).not.to.include(CANARY);
      const wrapped = new SisPartError({ part: 0, parts: 2, cause: new SisConnectionError('could not open a socket', { cause: holdsAToken }) });
      expect(JSON.stringify(wrapped)).not.to.include(CANARY);
      expect(json(new SisConnectionError('could not send the START command', { cause: CANARY }))['cause']).to.equal('string');
    });
  });
});
