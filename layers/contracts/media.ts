/** Audio types in and formats out: what the API accepts and what it can write. */

/** File extension -> the content type clients send for it. */
export const CONTENT_TYPE_BY_EXTENSION: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg', wav: 'audio/wav', flac: 'audio/flac', ogg: 'audio/ogg', opus: 'audio/opus', m4a: 'audio/mp4',
  mp4: 'audio/mp4', aac: 'audio/aac', aif: 'audio/aiff', aiff: 'audio/aiff', webm: 'audio/webm',
};

/** What browsers and scripts may upload (the presigned policy pins the one given). */
export const AUDIO_CONTENT_TYPES = [
  'audio/mpeg', 'audio/mp3', 'audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'audio/flac', 'audio/x-flac',
  'audio/ogg', 'audio/opus', 'audio/webm', 'audio/mp4', 'audio/x-m4a', 'audio/aac', 'audio/aiff', 'audio/x-aiff',
] as const;

/** The content type for a file name, from its extension; undefined when it is not audio we take. */
export function contentTypeForName(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? undefined : CONTENT_TYPE_BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
}

/** Output formats: the id clients choose, the file extension and content type it gives. */
export const OUTPUT_FORMATS = {
  wav16: { ext: 'wav', contentType: 'audio/wav', label: 'WAV 16-bit' },
  wav24: { ext: 'wav', contentType: 'audio/wav', label: 'WAV 24-bit' },
  wav32f: { ext: 'wav', contentType: 'audio/wav', label: 'WAV 32-bit float' },
  flac: { ext: 'flac', contentType: 'audio/flac', label: 'FLAC 24-bit' },
  mp3: { ext: 'mp3', contentType: 'audio/mpeg', label: 'MP3 320 kbps' },
} as const;
export type OutputFormatId = keyof typeof OUTPUT_FORMATS;
export const DEFAULT_FORMAT: OutputFormatId = 'wav16';
