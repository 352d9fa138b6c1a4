/** The local SIS real-time synthesis emulator: `rx-sis-tts/emulator`. */
export { startEmulator, type Emulator } from './server.js';
export { synthesizeAudio } from './audio/synthesize.js';
export type { EmulatorOptions } from './options.js';
export type { Fault, FaultPoint, FaultContext, FaultChooser, SessionFault, StartFaultChooser, RedactedHeaders } from './faults.js';
export type { SessionRecord, EmulatorStats } from './records.js';
export type { SessionEnding } from './script.js';
export { tokenAuthenticator, type Authenticator, type HandshakeRequest, type HandshakeRejection } from './auth.js';
export { akskAuthenticator, gatewayAuthenticator, type AkSkCheckOptions, type AkSkKey } from './auth.js';
export type { EmulatorIam, IamFailure, IamUser } from './iam.js';
