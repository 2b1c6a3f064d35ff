#ifndef AIV_FFMPEG_LOADER_H
#define AIV_FFMPEG_LOADER_H

#include <stddef.h>

/// Loads FFmpeg's libraries (libavformat, and through it libavcodec and libavutil) the first
/// time it is called, and resolves every FFmpeg function aiv calls. Returns 1 when they are all
/// there; otherwise 0, with what is missing written to `error`. Safe to call from any thread,
/// any number of times: the work is done once.
int aiv_ffmpeg_load(char *error, size_t error_size);

/// Loads libswscale (picture scaling, which only re-encoding steps need) the same way: 1 when
/// it is there, otherwise 0 with the reason in `error`.
int aiv_swscale_load(char *error, size_t error_size);

/// Loads libavfilter (captions drawn onto a reframed clip) the same way.
int aiv_avfilter_load(char *error, size_t error_size);

#endif
