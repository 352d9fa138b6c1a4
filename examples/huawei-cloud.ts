/**
 * Huawei Cloud from the environment, or the local emulator when nothing is configured.
 *
 *   HUAWEICLOUD_SIS_PROJECT_ID=… HUAWEICLOUD_SIS_REGION=cn-north-4 \
 *   HUAWEICLOUD_SIS_AK=… HUAWEICLOUD_SIS_SK=… npx tsx examples/huawei-cloud.ts   # or HUAWEICLOUD_SIS_TOKEN=…
 *   npx tsx examples/huawei-cloud.ts                                              # the emulator
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { startEmulator } from '../lib/emulator/index.js';
import { SisError, createSisClient, hasSisEnv, iamPasswordToken, sisOptionsFromEnv, type SisClientOptions, type SynthesisRequest } from '../lib/index.js';
import { writeAudioFile } from '../lib/node/index.js';

const request: SynthesisRequest = { text: '你好，这是华为云语音合成。', sampleRate: 16000 };
const output = join(tmpdir(), 'huawei-cloud.wav');

const synthesizeWith = async (label: string, options: SisClientOptions): Promise<void> => {
  const file = await lastValueFrom(createSisClient(options).synthesize$(request).pipe(writeAudioFile(output, request)));
  console.log(`${label}: wrote ${file.path} (${file.audioBytes} bytes of audio)`);
};

try {
  if (hasSisEnv()) {
    // Configured in part? sisOptionsFromEnv throws a SisConfigError naming every missing variable.
    await synthesizeWith('Huawei Cloud', sisOptionsFromEnv());
  } else {
    console.log(
      'No HUAWEICLOUD_SIS_* variable is set, so this runs against the local emulator. For Huawei Cloud set ' +
        'HUAWEICLOUD_SIS_PROJECT_ID, HUAWEICLOUD_SIS_REGION (e.g. cn-north-4) and HUAWEICLOUD_SIS_AK + HUAWEICLOUD_SIS_SK ' +
        '(or HUAWEICLOUD_SIS_TOKEN).',
    );
    // Demo credentials of the emulator only: the same ways to authenticate as in the cloud.
    const key = { ak: 'DEMOACCESSKEY0000001', sk: 'demo-secret-key' };
    const user = { domainName: 'demo-account', userName: 'demo-user', password: 'demo-password' };
    const emulator = await startEmulator({ port: 0, akSk: [key], iamUsers: [user] });
    try {
      const local = { endpoint: emulator.url, projectId: emulator.projectId };
      await synthesizeWith('emulator, AK/SK', { ...local, auth: key });
      const token = iamPasswordToken({ ...user, region: 'cn-north-4', iamEndpoint: emulator.iamEndpoint });
      await synthesizeWith('emulator, IAM password token', { ...local, auth: { token } });
    } finally {
      await emulator.close();
    }
  }
} catch (error) {
  // A SisError's message never contains the token, SK or password: it is safe to print.
  console.error(error instanceof SisError ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
}
