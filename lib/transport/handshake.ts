/** Turning a rejected HTTP handshake into a typed error, with the gateway's JSON body parsed. */
import type { IncomingMessage } from 'node:http';
import { SisHandshakeError } from '../errors.js';
import { isRight } from '../protocol/either.js';
import { GatewayErrorBody } from '../protocol/wire.js';
import { parseJson } from '../protocol/json.js';

/** Bodies past this are cut: an error page is not worth more memory. */
export const MAX_REJECTION_BODY_BYTES = 16 * 1024;

/** Reads at most {@link MAX_REJECTION_BODY_BYTES} of a rejection's body; never rejects. */
export const readRejectionBody = (response: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      response.off('data', onData).off('end', finish).off('close', finish).off('error', finish);
      resolve(Buffer.concat(parts).toString('utf8'));
    };
    const onData = (part: Buffer): void => {
      if (size >= MAX_REJECTION_BODY_BYTES) return;
      parts.push(part.subarray(0, MAX_REJECTION_BODY_BYTES - size));
      size += part.length;
      if (size >= MAX_REJECTION_BODY_BYTES) finish();
    };
    response.on('data', onData).on('end', finish).on('close', finish).on('error', finish);
  });

/** A {@link SisHandshakeError} from the HTTP status and the body (JSON `{error_code, error_msg, request_id}` or anything else). */
export const handshakeErrorFrom = (status: number, body: string): SisHandshakeError => {
  const parsed = parseJson(body);
  const decoded = GatewayErrorBody.decode(parsed);
  const fields = isRight(decoded) && typeof parsed === 'object' && parsed !== null ? decoded.right : {};
  return new SisHandshakeError({
    status,
    errorCode: fields.error_code,
    errorMsg: fields.error_msg,
    requestId: fields.request_id,
  });
};
