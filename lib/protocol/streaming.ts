/**
 * io-ts codecs of the streaming synthesis API (protocol.md §2): many text pieces over one socket,
 * made for reading out an LLM's answer while it is written. The client sends START, then one MSG per
 * piece, then END; the server answers START, binary audio, EVENT notices and END (or ERROR /
 * FATAL_ERROR, whose codecs are shared with real-time synthesis).
 */
import * as t from 'io-ts';
import { oneOf, Pitch, Speed, Volume } from './rules.js';

/** The path of the streaming endpoint; `{project_id}` is replaced. It is the voice-clone path in the docs: keep it configurable. */
export const STREAMING_PATH = '/v1/{project_id}/vcs/voices/clone';

/** Longest MSG (and ONLY text), in characters. */
export const STREAMING_PIECE_LIMIT = 300;
/** Characters per session; the service ignores text past it with EVENT `EXCEEDED_TOTAL_TEXT_LENGTH`. */
export const STREAMING_TOTAL_LIMIT = 100_000;

export const STREAMING_AUDIO_FORMATS = ['pcm', 'mp3'] as const;
export type StreamingAudioFormat = (typeof STREAMING_AUDIO_FORMATS)[number];

/** Sample rates of the streaming API in Hz, and as the wire spells them (unlike real-time's `"8000"`). */
export const STREAMING_SAMPLE_RATES = [8000, 16000, 24000] as const;
export type StreamingSampleRate = (typeof STREAMING_SAMPLE_RATES)[number];
export const WireStreamingSampleRate = oneOf(['8kHz', '16kHz', '24kHz'] as const);
export type WireStreamingSampleRate = t.TypeOf<typeof WireStreamingSampleRate>;
export const streamingWireRate = (hz: StreamingSampleRate): WireStreamingSampleRate => (hz === 8000 ? '8kHz' : hz === 16000 ? '16kHz' : '24kHz');
/** The rate in Hz of a wire spelling: the inverse of {@link streamingWireRate}. */
export const streamingRateHz = (wire: WireStreamingSampleRate): StreamingSampleRate => (wire === '8kHz' ? 8000 : wire === '16kHz' ? 16000 : 24000);

/** The preset voices of the streaming API (all Chinese-English, 8/16/24 kHz); registered (cloned) voices are accepted too. */
export const STREAMING_PRESET_VOICES = ['li', 'zhi', 'tian', 'yuan', 'jing', 'bo', 'rou', 'you', 'qing', 'xi', 'tong', 'ya', 'wei', 'shuai', 'jie'].map(
  (name) => `chinese_huaxiao${name}_common`,
);

export const STREAMING_DEFAULTS = {
  voice: 'chinese_huaxiaoli_common',
  audioFormat: 'pcm',
  sampleRate: 16000,
  speed: 0,
  pitch: 0,
  volume: 50,
} as const;

/** `config` of the streaming START command. */
export const StreamingConfig = t.intersection(
  [
    t.type({ voice_name: t.string }),
    t.partial({
      audio_format: oneOf(STREAMING_AUDIO_FORMATS),
      sample_rate: WireStreamingSampleRate,
      speed: Speed,
      pitch: Pitch,
      volume: Volume,
    }),
  ],
  'StreamingConfig',
);
export type StreamingConfig = t.TypeOf<typeof StreamingConfig>;

/** @hidden The codec; the emulator's entry point exports only the type. */
export const StreamingStartCommand = t.intersection(
  [t.type({ command: t.literal('START'), config: StreamingConfig }), t.partial({ text_pieces: oneOf(['MULTI', 'ONLY'] as const), text: t.string })],
  'StreamingStartCommand',
);
/**
 * The streaming START command: `config` names the voice; `text_pieces` is `'MULTI'` (the default: text follows in MSG
 * commands) or `'ONLY'` (one `text` of at most 300 characters, in this command).
 * @useDeclaredType
 */
export type StreamingStartCommand = t.TypeOf<typeof StreamingStartCommand>;

export const MsgCommand = t.type({ command: t.literal('MSG'), text: t.string }, 'MsgCommand');
export type MsgCommand = t.TypeOf<typeof MsgCommand>;

export const EndCommand = t.type({ command: t.literal('END') }, 'EndCommand');
export type EndCommand = t.TypeOf<typeof EndCommand>;

export type StreamingCommand = StreamingStartCommand | MsgCommand | EndCommand;

/** The service's notices: a command was ignored, the session goes on. The docs spell the time both ways. */
export const EventResponse = t.intersection(
  [
    t.type({ resp_type: t.literal('EVENT'), event: t.string }),
    t.partial({ trace_id: t.string, time_stamp: t.union([t.number, t.string]), timestamp: t.union([t.number, t.string]) }),
  ],
  'EventResponse',
);
export type EventResponse = t.TypeOf<typeof EventResponse>;

/** The EVENT names the docs list. */
export const STREAMING_EVENTS = ['EXCEEDED_TOTAL_TEXT_LENGTH', 'VCS_END'] as const;
