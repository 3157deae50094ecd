/**
 * ffmpeg and ffprobe parse untrusted uploads, so every call runs them as a sandboxed decoder:
 * only local files and pipes may be opened (no http:, no nested file references) and only the
 * demuxers of audio containers may be chosen (no HLS playlists, ffconcat scripts, image2
 * sequences, SDP or other formats that open further inputs). A demuxer refused here never reads
 * the file's references, so a playlist uploaded as `song.mp3` reads nothing besides itself.
 */

/** Demuxers of the audio containers we accept (ffmpeg names; `mov` covers mp4/m4a, `matroska` webm). */
export const INPUT_DEMUXERS = [
  'mp3', 'wav', 'w64', 'flac', 'ogg', 'mov', 'matroska', 'aiff', 'aac', 'caf', 'au', 'wv', 'ape', 'tta', 'ac3', 'eac3', 'asf',
] as const;

/** What ffmpeg may open: the upload itself (a local file) and the pipes we talk through. */
export const PROTOCOLS = ['file', 'pipe'] as const;

/**
 * Input options that go before every `-i`. `demuxer` pins the one the probe found, so the
 * decoder cannot pick a different one from the same bytes.
 */
export function sandboxedInput(file: string, demuxer?: string): string[] {
  return [
    '-protocol_whitelist', PROTOCOLS.join(','),
    '-format_whitelist', INPUT_DEMUXERS.join(','),
    ...(demuxer ? ['-f', demuxer] : []),
    // `file:` so a path is never read as another protocol's URL (e.g. a name like `http:…`)
    '-i', file.startsWith('pipe:') ? file : `file:${file}`,
  ];
}

/**
 * The allowed demuxer behind ffprobe's `format_name` (a comma list for demuxers with several
 * names, e.g. `mov,mp4,m4a,3gp,3g2,mj2`), or undefined when it is not an audio container.
 */
export function allowedDemuxer(formatName: string | undefined): string | undefined {
  const names = (formatName ?? '').split(',').map((s) => s.trim());
  return (INPUT_DEMUXERS as readonly string[]).includes(names[0]) ? names[0] : undefined;
}
