// JPEG 2000 (OpenJPEG) to PNG (zlib): browsers do not render JPEG 2000, which ICAO allows for DG2 portraits.
#include "imaging.h"

#include <openjpeg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct {
    const uint8_t *data;
    size_t length;
    size_t offset;
} memory_stream;

static OPJ_SIZE_T stream_read(void *buffer, OPJ_SIZE_T count, void *user) {
    memory_stream *m = user;
    if (m->offset >= m->length) return (OPJ_SIZE_T)-1;
    size_t n = m->length - m->offset < count ? m->length - m->offset : count;
    memcpy(buffer, m->data + m->offset, n);
    m->offset += n;
    return n;
}

static OPJ_OFF_T stream_skip(OPJ_OFF_T count, void *user) {
    memory_stream *m = user;
    if (count < 0) {
        if ((uint64_t)(-count) > m->offset) return -1;
        m->offset -= (size_t)(-count);
        return count;
    }
    size_t left = m->length - m->offset;
    size_t n = (uint64_t)count > left ? left : (size_t)count;
    m->offset += n;
    return (OPJ_OFF_T)n;
}

static OPJ_BOOL stream_seek(OPJ_OFF_T position, void *user) {
    memory_stream *m = user;
    if (position < 0 || (uint64_t)position > m->length) return OPJ_FALSE;
    m->offset = (size_t)position;
    return OPJ_TRUE;
}

// OpenJPEG's messages describe the (possibly hostile) input: not for the terminal.
static void quiet(const char *message, void *user) {
    (void)message;
    (void)user;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

// Appends one PNG chunk (length, type, data, CRC of type and data) at *out.
static uint8_t *chunk(uint8_t *out, const char type[4], const uint8_t *data, uint32_t length) {
    put32(out, length);
    memcpy(out + 4, type, 4);
    if (length) memcpy(out + 8, data, length);
    uLong crc = crc32(0L, out + 4, 4 + length);
    put32(out + 8 + length, (uint32_t)crc);
    return out + 12 + length;
}

static int encode_png(const uint8_t *rows, size_t rows_length, uint32_t width, uint32_t height, int channels,
                      uint8_t **png, size_t *png_length) {
    uLongf deflated_length = compressBound((uLong)rows_length);
    uint8_t *deflated = malloc(deflated_length);
    if (!deflated) return CCCD_IMAGING_NO_MEMORY;
    if (compress2(deflated, &deflated_length, rows, (uLong)rows_length, 6) != Z_OK) {
        free(deflated);
        return CCCD_IMAGING_NO_MEMORY;
    }
    size_t total = 8 + (12 + 13) + (12 + deflated_length) + 12;
    uint8_t *out = malloc(total);
    if (!out) {
        free(deflated);
        return CCCD_IMAGING_NO_MEMORY;
    }
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memcpy(out, signature, 8);
    uint8_t header[13];
    put32(header, width);
    put32(header + 4, height);
    header[8] = 8;                          // bit depth
    header[9] = channels == 3 ? 2 : 0;      // colour type: truecolour or greyscale
    header[10] = header[11] = header[12] = 0;  // deflate, adaptive filtering, no interlace
    uint8_t *p = chunk(out + 8, "IHDR", header, 13);
    p = chunk(p, "IDAT", deflated, (uint32_t)deflated_length);
    p = chunk(p, "IEND", NULL, 0);
    free(deflated);
    *png = out;
    *png_length = (size_t)(p - out);
    return CCCD_IMAGING_OK;
}

static uint8_t sample(const opj_image_comp_t *c, size_t index) {
    int64_t v = c->data[index];
    if (c->sgnd) v += (int64_t)1 << (c->prec - 1);
    if (c->prec > 8) v >>= (c->prec - 8);
    else if (c->prec < 8) v <<= (8 - c->prec);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static uint8_t clamp(double v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5); }

int cccd_jpeg2000_to_png(const uint8_t *data, size_t length, uint64_t max_pixels, uint8_t **png,
                         size_t *png_length, uint32_t *width, uint32_t *height) {
    static const uint8_t jp2[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
    static const uint8_t j2k[4] = {0xFF, 0x4F, 0xFF, 0x51};
    OPJ_CODEC_FORMAT format;
    if (length >= 12 && memcmp(data, jp2, 12) == 0) format = OPJ_CODEC_JP2;
    else if (length >= 4 && memcmp(data, j2k, 4) == 0) format = OPJ_CODEC_J2K;
    else return CCCD_IMAGING_NOT_JPEG2000;

    memory_stream m = {data, length, 0};
    opj_stream_t *stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
    opj_codec_t *codec = opj_create_decompress(format);
    if (!stream || !codec) {
        if (stream) opj_stream_destroy(stream);
        if (codec) opj_destroy_codec(codec);
        return CCCD_IMAGING_NO_MEMORY;
    }
    opj_stream_set_user_data(stream, &m, NULL);
    opj_stream_set_user_data_length(stream, length);
    opj_stream_set_read_function(stream, stream_read);
    opj_stream_set_skip_function(stream, stream_skip);
    opj_stream_set_seek_function(stream, stream_seek);
    opj_set_error_handler(codec, quiet, NULL);
    opj_set_warning_handler(codec, quiet, NULL);
    opj_set_info_handler(codec, quiet, NULL);

    opj_dparameters_t parameters;
    opj_set_default_decoder_parameters(&parameters);
    opj_image_t *image = NULL;
    int result = CCCD_IMAGING_UNDECODABLE;
    uint8_t *rows = NULL;
    // Strict: a codestream cut short is an error, not a partly grey picture (the caller checked the header's
    // sizes against its bounds before calling).
    if (!opj_setup_decoder(codec, &parameters) || !opj_decoder_set_strict_mode(codec, OPJ_TRUE) ||
        !opj_read_header(stream, codec, &image) || !image)
        goto done;
    uint64_t w = image->x1 > image->x0 ? image->x1 - image->x0 : 0;
    uint64_t h = image->y1 > image->y0 ? image->y1 - image->y0 : 0;
    if (w == 0 || h == 0 || image->numcomps == 0) goto done;
    if (w * h > max_pixels || w > 0xFFFF || h > 0xFFFF) {
        result = CCCD_IMAGING_TOO_LARGE;
        goto done;
    }
    if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) goto done;

    const opj_image_comp_t *c = image->comps;
    uint32_t cw = c[0].w, ch = c[0].h;
    int channels = image->numcomps >= 3 ? 3 : 1;
    result = CCCD_IMAGING_UNSUPPORTED;
    if ((uint64_t)cw * ch > max_pixels || cw == 0 || ch == 0) goto done;
    for (int i = 0; i < channels; i++) {
        if (!c[i].data || c[i].w != cw || c[i].h != ch || c[i].prec < 1 || c[i].prec > 16) goto done;
    }
    size_t stride = 1 + (size_t)cw * channels;
    size_t rows_length = stride * ch;
    rows = malloc(rows_length);
    if (!rows) {
        result = CCCD_IMAGING_NO_MEMORY;
        goto done;
    }
    int ycc = image->color_space == OPJ_CLRSPC_SYCC && channels == 3;
    for (uint32_t y = 0; y < ch; y++) {
        uint8_t *row = rows + (size_t)y * stride;
        row[0] = 0;  // filter: none
        for (uint32_t x = 0; x < cw; x++) {
            size_t i = (size_t)y * cw + x;
            if (channels == 1) {
                row[1 + x] = sample(&c[0], i);
            } else if (ycc) {
                double Y = sample(&c[0], i), cb = sample(&c[1], i) - 128.0, cr = sample(&c[2], i) - 128.0;
                row[1 + 3 * x] = clamp(Y + 1.402 * cr);
                row[2 + 3 * x] = clamp(Y - 0.344136 * cb - 0.714136 * cr);
                row[3 + 3 * x] = clamp(Y + 1.772 * cb);
            } else {
                for (int k = 0; k < 3; k++) row[1 + 3 * x + k] = sample(&c[k], i);
            }
        }
    }
    result = encode_png(rows, rows_length, cw, ch, channels, png, png_length);
    if (result == CCCD_IMAGING_OK) {
        *width = cw;
        *height = ch;
    }
done:
    free(rows);
    if (image) opj_image_destroy(image);
    opj_destroy_codec(codec);
    opj_stream_destroy(stream);
    return result;
}

void cccd_imaging_free(void *pointer) { free(pointer); }
