/** The local SIS synthesis emulator (real-time and streaming synthesis): `rx-sis-tts/emulator`. */
export { startEmulator, type Emulator } from './server.js';
export { synthesizeAudio, synthesizeStreamingAudio } from './audio/synthesize.js';
export type { EmulatorOptions } from './options.js';
export type {
  EmulatedApi,
  Fault,
  HandshakeFault,
  FaultPoint,
  FaultContext,
  FaultChooser,
  SessionFault,
  StartFaultChooser,
  StreamingStartFaultChooser,
  TextFaultRule,
  RedactedHeaders,
} from './faults.js';
export type { SessionRecord, RealtimeSessionRecord, StreamingSessionRecord, PieceRecord, EmulatorStats } from './records.js';
export type { SessionEnding } from './script.js';
export type { StartCommand } from '../protocol/wire.js';
export type { StreamingStartCommand } from '../protocol/streaming.js';
export { tokenAuthenticator, type Authenticator, type HandshakeRequest, type HandshakeRejection } from './auth.js';
export { akskAuthenticator, gatewayAuthenticator, type AkSkCheckOptions, type AkSkKey } from './auth.js';
export type { EmulatorIam, IamFailure, IamUser } from './iam.js';
