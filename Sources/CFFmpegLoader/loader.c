// FFmpeg, loaded when a media step first needs it rather than when aiv starts.
//
// Linking libavformat directly made every aiv process (`aiv validate`, a cached re-run) load
// about 140 shared libraries that FFmpeg depends on (codecs, X11, cairo, ...): 31 ms of
// start-up on this machine, twice what the rest of aiv needs, for commands that never touch
// media. No library generates lazy bindings for a Swift package, so this file does by hand
// what a linker's lazy binding would: each FFmpeg function aiv calls is defined here with
// FFmpeg's own prototype and forwards to the real one, found with dlsym after one dlopen.
// The soname comes from the headers aiv was compiled against, so the ABI always matches.

#include "aiv_ffmpeg_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mathematics.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>

#define AIV_STRINGIFY_(x) #x
#define AIV_STRINGIFY(x) AIV_STRINGIFY_(x)
#define AIV_AVFORMAT_SONAME "libavformat.so." AIV_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR)
#define AIV_SWSCALE_SONAME "libswscale.so." AIV_STRINGIFY(LIBSWSCALE_VERSION_MAJOR)
#define AIV_AVFILTER_SONAME "libavfilter.so." AIV_STRINGIFY(LIBAVFILTER_VERSION_MAJOR)

// X(return type, name, parameters, arguments) for every function aiv calls.
#define AIV_FFMPEG_FUNCTIONS(X) \
    X(int, av_read_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt)) \
    X(void, av_packet_unref, (AVPacket *pkt), (pkt)) \
    X(void, av_packet_free, (AVPacket **pkt), (pkt)) \
    X(AVPacket *, av_packet_alloc, (void), ()) \
    X(void, av_packet_rescale_ts, (AVPacket *pkt, AVRational tb_src, AVRational tb_dst), (pkt, tb_src, tb_dst)) \
    X(void, avformat_close_input, (AVFormatContext **s), (s)) \
    X(const char *, avcodec_get_name, (enum AVCodecID id), (id)) \
    X(uint8_t *, av_stream_get_side_data, (const AVStream *stream, enum AVPacketSideDataType type, size_t *size), (stream, type, size)) \
    X(uint8_t *, av_stream_new_side_data, (AVStream *stream, enum AVPacketSideDataType type, size_t size), (stream, type, size)) \
    X(int, av_dict_copy, (AVDictionary **dst, const AVDictionary *src, int flags), (dst, src, flags)) \
    X(int, av_dict_set, (AVDictionary **pm, const char *key, const char *value, int flags), (pm, key, value, flags)) \
    X(AVDictionaryEntry *, av_dict_get, (const AVDictionary *m, const char *key, const AVDictionaryEntry *prev, int flags), (m, key, prev, flags)) \
    X(void, av_dict_free, (AVDictionary **m), (m)) \
    X(int64_t, avio_size, (AVIOContext *s), (s)) \
    X(int, avio_open, (AVIOContext **s, const char *url, int flags), (s, url, flags)) \
    X(int, avio_closep, (AVIOContext **s), (s)) \
    X(int, avformat_write_header, (AVFormatContext *s, AVDictionary **options), (s, options)) \
    X(int, avformat_query_codec, (const AVOutputFormat *ofmt, enum AVCodecID codec_id, int std_compliance), (ofmt, codec_id, std_compliance)) \
    X(int, avformat_open_input, (AVFormatContext **ps, const char *url, const AVInputFormat *fmt, AVDictionary **options), (ps, url, fmt, options)) \
    X(AVStream *, avformat_new_stream, (AVFormatContext *s, const AVCodec *c), (s, c)) \
    X(void, avformat_free_context, (AVFormatContext *s), (s)) \
    X(int, avformat_find_stream_info, (AVFormatContext *ic, AVDictionary **options), (ic, options)) \
    X(int, avformat_alloc_output_context2, (AVFormatContext **ctx, const AVOutputFormat *oformat, const char *format_name, const char *filename), (ctx, oformat, format_name, filename)) \
    X(int, av_write_trailer, (AVFormatContext *s), (s)) \
    X(int, av_seek_frame, (AVFormatContext *s, int stream_index, int64_t timestamp, int flags), (s, stream_index, timestamp, flags)) \
    X(int, av_interleaved_write_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt)) \
    X(int, av_find_best_stream, (AVFormatContext *ic, enum AVMediaType type, int wanted_stream_nb, int related_stream, const AVCodec **decoder_ret, int flags), (ic, type, wanted_stream_nb, related_stream, decoder_ret, flags)) \
    X(int, avcodec_parameters_to_context, (AVCodecContext *codec, const AVCodecParameters *par), (codec, par)) \
    X(int, avcodec_parameters_copy, (AVCodecParameters *dst, const AVCodecParameters *src), (dst, src)) \
    X(int, avcodec_open2, (AVCodecContext *avctx, const AVCodec *codec, AVDictionary **options), (avctx, codec, options)) \
    X(void, avcodec_free_context, (AVCodecContext **avctx), (avctx)) \
    X(const AVCodec *, avcodec_find_decoder, (enum AVCodecID id), (id)) \
    X(int, avcodec_decode_subtitle2, (AVCodecContext *avctx, AVSubtitle *sub, int *got_sub_ptr, AVPacket *avpkt), (avctx, sub, got_sub_ptr, avpkt)) \
    X(AVCodecContext *, avcodec_alloc_context3, (const AVCodec *codec), (codec)) \
    X(void, avsubtitle_free, (AVSubtitle *sub), (sub)) \
    X(void, av_log_set_level, (int level), (level)) \
    X(double, av_display_rotation_get, (const int32_t matrix[9]), (matrix)) \
    X(int, av_strerror, (int errnum, char *errbuf, size_t errbuf_size), (errnum, errbuf, errbuf_size)) \
    X(int, avcodec_send_packet, (AVCodecContext *avctx, const AVPacket *avpkt), (avctx, avpkt)) \
    X(int, avcodec_receive_frame, (AVCodecContext *avctx, AVFrame *frame), (avctx, frame)) \
    X(int, avcodec_send_frame, (AVCodecContext *avctx, const AVFrame *frame), (avctx, frame)) \
    X(int, avcodec_receive_packet, (AVCodecContext *avctx, AVPacket *avpkt), (avctx, avpkt)) \
    X(const AVCodec *, avcodec_find_encoder_by_name, (const char *name), (name)) \
    X(const AVCodec *, avcodec_find_encoder, (enum AVCodecID id), (id)) \
    X(int, avcodec_parameters_from_context, (AVCodecParameters *par, const AVCodecContext *codec), (par, codec)) \
    X(AVFrame *, av_frame_alloc, (void), ()) \
    X(void, av_frame_free, (AVFrame **frame), (frame)) \
    X(void, av_frame_unref, (AVFrame *frame), (frame)) \
    X(int, av_frame_get_buffer, (AVFrame *frame, int align), (frame, align)) \
    X(int, av_frame_make_writable, (AVFrame *frame), (frame)) \
    X(const char *, av_get_pix_fmt_name, (enum AVPixelFormat pix_fmt), (pix_fmt))

// libswscale, which libavformat does not depend on: loaded on its own, by the one step that
// re-encodes (clip.reframe), so the others never need it. (The same for libavfilter below.)
#define AIV_SWSCALE_FUNCTIONS(X) \
    X(struct SwsContext *, sws_getContext, (int srcW, int srcH, enum AVPixelFormat srcFormat, int dstW, int dstH, enum AVPixelFormat dstFormat, int flags, SwsFilter *srcFilter, SwsFilter *dstFilter, const double *param), (srcW, srcH, srcFormat, dstW, dstH, dstFormat, flags, srcFilter, dstFilter, param)) \
    X(int, sws_scale, (struct SwsContext *c, const uint8_t *const srcSlice[], const int srcStride[], int srcSliceY, int srcSliceH, uint8_t *const dst[], const int dstStride[]), (c, srcSlice, srcStride, srcSliceY, srcSliceH, dst, dstStride)) \
    X(void, sws_freeContext, (struct SwsContext *swsContext), (swsContext)) \
    X(const int *, sws_getCoefficients, (int colorspace), (colorspace)) \
    X(int, sws_setColorspaceDetails, (struct SwsContext *c, const int inv_table[4], int srcRange, const int table[4], int dstRange, int brightness, int contrast, int saturation), (c, inv_table, srcRange, table, dstRange, brightness, contrast, saturation))

// libavfilter, for captions drawn onto a reframed clip (its `subtitles` filter, which uses libass).
#define AIV_AVFILTER_FUNCTIONS(X) \
    X(AVFilterGraph *, avfilter_graph_alloc, (void), ()) \
    X(void, avfilter_graph_free, (AVFilterGraph **graph), (graph)) \
    X(const AVFilter *, avfilter_get_by_name, (const char *name), (name)) \
    X(int, avfilter_graph_create_filter, (AVFilterContext **filt_ctx, const AVFilter *filt, const char *name, const char *args, void *opaque, AVFilterGraph *graph_ctx), (filt_ctx, filt, name, args, opaque, graph_ctx)) \
    X(AVFilterContext *, avfilter_graph_alloc_filter, (AVFilterGraph *graph, const AVFilter *filter, const char *name), (graph, filter, name)) \
    X(int, avfilter_init_dict, (AVFilterContext *ctx, AVDictionary **options), (ctx, options)) \
    X(int, avfilter_link, (AVFilterContext *src, unsigned srcpad, AVFilterContext *dst, unsigned dstpad), (src, srcpad, dst, dstpad)) \
    X(int, avfilter_graph_config, (AVFilterGraph *graphctx, void *log_ctx), (graphctx, log_ctx)) \
    X(int, av_buffersrc_add_frame_flags, (AVFilterContext *buffer_src, AVFrame *frame, int flags), (buffer_src, frame, flags)) \
    X(int, av_buffersink_get_frame, (AVFilterContext *ctx, AVFrame *frame), (ctx, frame))

// The resolved addresses, one per function.
#define AIV_POINTER(ret, name, params, args) static ret (*real_##name) params;
AIV_FFMPEG_FUNCTIONS(AIV_POINTER)
AIV_SWSCALE_FUNCTIONS(AIV_POINTER)
AIV_AVFILTER_FUNCTIONS(AIV_POINTER)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded = 0;
static char load_error[512];

static void load(void) {
    void *library = dlopen(AIV_AVFORMAT_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "FFmpeg could not be loaded (%s): %s; install FFmpeg's libavformat %d (Debian: apt install libavformat%d)",
                 AIV_AVFORMAT_SONAME, reason ? reason : "unknown error", LIBAVFORMAT_VERSION_MAJOR, LIBAVFORMAT_VERSION_MAJOR);
        return;
    }
    // dlsym on the handle searches libavformat and the libraries it depends on (avcodec, avutil).
#define AIV_RESOLVE(ret, name, params, args) \
    real_##name = (ret (*) params)dlsym(library, #name); \
    if (real_##name == NULL) { \
        snprintf(load_error, sizeof load_error, "FFmpeg (%s) lacks the function %s", AIV_AVFORMAT_SONAME, #name); \
        return; \
    }
    AIV_FFMPEG_FUNCTIONS(AIV_RESOLVE)
#undef AIV_RESOLVE
    loaded = 1;
}

int aiv_ffmpeg_load(char *error, size_t error_size) {
    pthread_once(&load_once, load);
    if (!loaded && error != NULL && error_size > 0) {
        snprintf(error, error_size, "%s", load_error);
    }
    return loaded;
}

// A forwarder reached before a successful load is a bug in aiv (every media entry point loads
// first): say so rather than jump to address zero.
static void require_loaded(const char *name) {
    if (!loaded) {
        fprintf(stderr, "aiv: internal error: FFmpeg function %s called before FFmpeg was loaded\n", name);
        abort();
    }
}

#define AIV_FORWARD(ret, name, params, args) \
    ret name params { \
        require_loaded(#name); \
        return real_##name args; \
    }
AIV_FFMPEG_FUNCTIONS(AIV_FORWARD)
#undef AIV_FORWARD

// The optional libraries (libswscale, libavfilter) are each loaded on their own, the first time
// a step that needs one asks; AIV_OPTIONAL_LIBRARY defines the loader and the forwarders of one.
#define AIV_OPTIONAL_LIBRARY(tag, SONAME, FUNCTIONS, package_hint)                                             \
    static pthread_once_t tag##_once = PTHREAD_ONCE_INIT;                                                     \
    static int tag##_loaded = 0;                                                                              \
    static char tag##_error[512];                                                                             \
    static void load_##tag(void) {                                                                            \
        void *library = dlopen(SONAME, RTLD_NOW | RTLD_LOCAL);                                                \
        if (library == NULL) {                                                                                \
            const char *reason = dlerror();                                                                   \
            snprintf(tag##_error, sizeof tag##_error, "FFmpeg's %s could not be loaded: %s; install it (Debian: apt install %s)", \
                     SONAME, reason ? reason : "unknown error", package_hint);                                \
            return;                                                                                           \
        }                                                                                                     \
        FUNCTIONS(AIV_RESOLVE_OPTIONAL_##tag)                                                                 \
        tag##_loaded = 1;                                                                                     \
    }                                                                                                         \
    int aiv_##tag##_load(char *error, size_t error_size) {                                                    \
        pthread_once(&tag##_once, load_##tag);                                                                \
        if (!tag##_loaded && error != NULL && error_size > 0) snprintf(error, error_size, "%s", tag##_error); \
        return tag##_loaded;                                                                                  \
    }                                                                                                         \
    FUNCTIONS(AIV_FORWARD_OPTIONAL_##tag)

#define AIV_RESOLVE_OPTIONAL(tag, SONAME, ret, name, params)                                                  \
    real_##name = (ret (*) params)dlsym(library, #name);                                                      \
    if (real_##name == NULL) {                                                                                \
        snprintf(tag##_error, sizeof tag##_error, "FFmpeg (%s) lacks the function %s", SONAME, #name);       \
        return;                                                                                               \
    }
#define AIV_FORWARD_OPTIONAL(tag, ret, name, params, args)                                                    \
    ret name params {                                                                                         \
        if (!tag##_loaded) {                                                                                  \
            fprintf(stderr, "aiv: internal error: FFmpeg function %s called before its library was loaded\n", #name); \
            abort();                                                                                          \
        }                                                                                                     \
        return real_##name args;                                                                              \
    }

#define AIV_RESOLVE_OPTIONAL_swscale(ret, name, params, args) AIV_RESOLVE_OPTIONAL(swscale, AIV_SWSCALE_SONAME, ret, name, params)
#define AIV_FORWARD_OPTIONAL_swscale(ret, name, params, args) AIV_FORWARD_OPTIONAL(swscale, ret, name, params, args)
AIV_OPTIONAL_LIBRARY(swscale, AIV_SWSCALE_SONAME, AIV_SWSCALE_FUNCTIONS, "libswscale" AIV_STRINGIFY(LIBSWSCALE_VERSION_MAJOR))

#define AIV_RESOLVE_OPTIONAL_avfilter(ret, name, params, args) AIV_RESOLVE_OPTIONAL(avfilter, AIV_AVFILTER_SONAME, ret, name, params)
#define AIV_FORWARD_OPTIONAL_avfilter(ret, name, params, args) AIV_FORWARD_OPTIONAL(avfilter, ret, name, params, args)
AIV_OPTIONAL_LIBRARY(avfilter, AIV_AVFILTER_SONAME, AIV_AVFILTER_FUNCTIONS, "libavfilter" AIV_STRINGIFY(LIBAVFILTER_VERSION_MAJOR))
