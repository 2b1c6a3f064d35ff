#ifndef AIV_CFFMPEG_SHIM_H
#define AIV_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/mathematics.h>
#include <libavutil/display.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>

// What Swift cannot import from FFmpeg's headers: function-like macros and compound constants.

static inline int aiv_averror(int code) { return AVERROR(code); }
static inline int aiv_averror_eof(void) { return AVERROR_EOF; }
static inline int aiv_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int64_t aiv_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational aiv_time_base_q(void) { return AV_TIME_BASE_Q; }

static inline int aiv_averror_eagain(void) { return AVERROR(EAGAIN); }

/// av_err2str, into a caller's buffer.
static inline void aiv_error_string(int code, char *buffer, size_t size) {
    av_strerror(code, buffer, size);
}

#endif
