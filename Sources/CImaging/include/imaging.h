#ifndef CCCD_IMAGING_H
#define CCCD_IMAGING_H
#include <stddef.h>
#include <stdint.h>

/// Results of cccd_jpeg2000_to_png.
enum {
    CCCD_IMAGING_OK = 0,
    CCCD_IMAGING_NOT_JPEG2000 = 1,   /* neither a JP2 file nor a J2K codestream */
    CCCD_IMAGING_UNDECODABLE = 2,    /* OpenJPEG could not read the header or decode the image */
    CCCD_IMAGING_TOO_LARGE = 3,      /* more pixels than the caller allows */
    CCCD_IMAGING_UNSUPPORTED = 4,    /* component layout this decoder does not turn into RGB or grey */
    CCCD_IMAGING_NO_MEMORY = 5,
};

/// Decodes a JPEG 2000 image (JP2 or raw J2K) held in memory and encodes it as an 8-bit PNG (grey or RGB).
/// `max_pixels` bounds width × height (checked on the header, before any decoding). The caller checks every other
/// bound of a hostile header (components, bit depth, tiles, what decoding allocates: LDS's ImageBounds) first:
/// OpenJPEG allocates per component and per tile while it reads the header. Truncated codestreams are refused. On success `*png` is a
/// malloc'd buffer of `*png_length` bytes (free it with cccd_imaging_free) and width/height are set.
int cccd_jpeg2000_to_png(const uint8_t *data, size_t length, uint64_t max_pixels, uint8_t **png,
                         size_t *png_length, uint32_t *width, uint32_t *height);

void cccd_imaging_free(void *pointer);

#endif
