import { expect } from 'chai';
import { SisError } from '../../lib/errors.js';

/** The SisError a stream ends with (fails the test if it completes, or ends with anything else). */
export const errorOf = async (stream: Promise<unknown>): Promise<SisError> => {
  try {
    await stream;
  } catch (error) {
    expect(error).to.be.instanceOf(SisError);
    return error as SisError;
  }
  throw new Error('expected the stream to error');
};
