/**
 * Every way to authenticate, end to end over real sockets against the emulator on 127.0.0.1:
 * AK/SK signatures, IAM password tokens with their cache, and the single retry after a 401.
 */
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { SisHandshakeError, createSisClient, iamPasswordToken, sisOptionsFromEnv, type AuthOptions, type SisClient } from '../../lib/index.js';
import { SECRETS } from '../helpers/secrets.js';
import { errorOf } from '../helpers/errors.js';
import { useEmulator } from '../helpers/emulator-fixture.js';

const KEY = { ak: 'AKINTEGRATION0000001', sk: SECRETS.sk };
const USER = { domainName: 'acme', userName: 'tts-bot', password: SECRETS.password };

describe('authentication against the emulator', () => {
  const sis = useEmulator({ client: { timeouts: { connect: 2_000, firstAudio: 2_000, idle: 2_000 } }, teardown: 'idle' });
  const clientWith = (auth: AuthOptions): SisClient => sis.client({ auth });
  const synthesize = (client: SisClient) => lastValueFrom(client.synthesize$({ text: '你好' }).pipe(toArray()));
  const statuses = (): (number | undefined)[] => sis.emulator.sessions.map((s) => s.status);

  describe('AK/SK', () => {
    it('signs each handshake so that the gateway accepts it (one Host, with the port)', async () => {
      const { emulator } = await sis.start({ akSk: [KEY] });
      const client = clientWith(KEY);
      expect(await synthesize(client)).to.have.length.above(0);
      expect(await synthesize(client)).to.have.length.above(0);
      expect(statuses()).to.deep.equal([101, 101]);
      const [first] = emulator.sessions;
      expect(first?.headers).to.include({ host: `127.0.0.1:${emulator.port}`, authorization: '<redacted>' });
      expect(first?.headers)
        .to.have.property('x-sdk-date')
        .that.matches(/^\d{8}T\d{6}Z$/);
      expect(first?.headers).not.to.have.property('x-auth-token');
    });

    it('is refused with 401 for a wrong SK, without a retry, and the error shows no SK', async () => {
      await sis.start({ akSk: [KEY] });
      const error = await errorOf(synthesize(clientWith({ ak: KEY.ak, sk: SECRETS.wrongSk })));
      expect(error)
        .to.be.instanceOf(SisHandshakeError)
        .and.include({ status: 401, errorCode: 'APIG.0301', errorMsg: 'Incorrect IAM authentication information: verify aksk signature fail' });
      expect(error.message).to.match(/check the token or AK\/SK, and the clock/);
      expect(statuses()).to.deep.equal([401]);
    });

    it("is refused with 401 when the client's clock is 20 minutes off", async () => {
      await sis.start({ akSk: [KEY] });
      const error = await errorOf(synthesize(clientWith({ ...KEY, clock: () => new Date(Date.now() - 20 * 60_000) })));
      expect(error).to.be.instanceOf(SisHandshakeError).and.include({ status: 401 });
      expect((error as SisHandshakeError).errorMsg).to.match(/x-sdk-date is too far/);
    });

    it('works from the environment: HUAWEICLOUD_SIS_AK, _SK, _PROJECT_ID and _ENDPOINT', async () => {
      const { emulator } = await sis.start({ akSk: [KEY] });
      const options = sisOptionsFromEnv({
        HUAWEICLOUD_SIS_AK: KEY.ak,
        HUAWEICLOUD_SIS_SK: KEY.sk,
        HUAWEICLOUD_SIS_PROJECT_ID: emulator.projectId,
        HUAWEICLOUD_SIS_ENDPOINT: emulator.url,
      });
      expect(await synthesize(createSisClient(options))).to.have.length.above(0);
    });
  });

  describe('IAM password tokens', () => {
    const provider = () => iamPasswordToken({ ...USER, region: 'cn-north-4', iamEndpoint: sis.emulator.iamEndpoint });

    it('logs in once and reuses the token for every session', async () => {
      const { emulator } = await sis.start({ iamUsers: [USER] });
      const client = clientWith({ token: provider() });
      await synthesize(client);
      await synthesize(client);
      expect(statuses()).to.deep.equal([101, 101]);
      expect(emulator.iam).to.include({ requests: 1, tokensIssued: 1 });
    });

    it('after a 401 (the token was revoked) drops the cached token, logs in again and retries once', async () => {
      const { emulator } = await sis.start({ iamUsers: [USER] });
      const client = clientWith({ token: provider() });
      await synthesize(client);
      emulator.iam.revokeTokens();
      expect(await synthesize(client)).to.have.length.above(0);
      expect(statuses()).to.deep.equal([101, 401, 101]);
      expect(emulator.iam.requests).to.equal(2);
    });

    it('retries once, not in a loop: a second 401 is the error', async () => {
      const { emulator } = await sis.start({ iamUsers: [USER] });
      emulator.injectNext({ kind: 'reject-handshake', status: 401 }, { kind: 'reject-handshake', status: 401 });
      const error = await errorOf(synthesize(clientWith({ token: provider() })));
      expect(error).to.be.instanceOf(SisHandshakeError).and.include({ status: 401 });
      expect(statuses()).to.deep.equal([401, 401]);
      expect(emulator.iam.requests).to.equal(2);
    });

    it('fails with SisAuthError, opening no socket, when IAM refuses the password', async () => {
      const { emulator } = await sis.start({ iamUsers: [USER] });
      const token = iamPasswordToken({ ...USER, password: SECRETS.wrongPassword, region: 'cn-north-4', iamEndpoint: emulator.iamEndpoint });
      const error = await errorOf(synthesize(clientWith({ token })));
      expect(error).to.include({ code: 'AUTH_FAILED', status: 401, retryable: false });
      expect(emulator.stats.connections).to.equal(0);
    });
  });
});
