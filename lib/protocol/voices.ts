/**
 * Voices (`config.property`) known when this was written. The list changes over time, so it is a
 * hint for autocompletion and documentation, never a reason to reject a well-formed name.
 */
export const ORDINARY_VOICES = [
  'chinese_xiaoyan_common',
  'chinese_xiaoqi_common',
  'chinese_xiaoyu_common',
  'chinese_xiaowang_common',
  'chinese_xiaowen_common',
  'chinese_xiaojing_common',
  'chinese_xiaosong_common',
  'chinese_xiaoxia_common',
  'chinese_xiaodai_common',
  'chinese_xiaoqian_common',
  'english_cameal_common',
] as const;

/** Premium voices: longer texts, no `pitch`, some with phoneme-level subtitles. */
export const PREMIUM_VOICES = [
  'chinese_huaxiaomei_common',
  'chinese_huaxiaofei_common',
  'chinese_huaxiaolong_common',
  'chinese_huaxiaorui_common',
  'chinese_huaxiaohe_common',
  'chinese_huaxiaoye_common',
  'chinese_huaxiaoxue_common',
  'chinese_huaxiaojiao_common',
  'chinese_huaxiaohui_common',
  'chinese_huaxiaokang_common',
  'chinese_huaxiaokun_common',
  'chinese_huaxiaoquan_common',
  'english_amy_common',
  'english_alvin_common',
] as const;

export const INTERNATIONAL_VOICES = ['arabic_dh_male', 'arabic_dh_female', 'english_dh_male', 'english_dh_female'] as const;

/** Every voice known when this was written: the ordinary, premium and international voices, in that order. */
export const KNOWN_VOICES = [...ORDINARY_VOICES, ...PREMIUM_VOICES, ...INTERNATIONAL_VOICES] as const;
/** A name from {@link KNOWN_VOICES}. */
export type KnownVoice = (typeof KNOWN_VOICES)[number];
/** A known voice (autocompleted) or any other well-formed voice name. */
export type Voice = KnownVoice | (string & {});

export const DEFAULT_VOICE: KnownVoice = 'chinese_xiaoyan_common';

/** Whether the voice is one of {@link KNOWN_VOICES} (the shape of any voice name is rules.ts' `VoiceName`). */
export const isKnownVoice = (voice: string): voice is KnownVoice => (KNOWN_VOICES as readonly string[]).includes(voice);
