/* SPDX-License-Identifier: Apache-2.0 */
/* uad-image.h: the model's image input, reproducing the reference pipeline
 * (PIL Image.open (path).convert ("RGB").resize ((224, 224), Image.BILINEAR), then ToTensor and
 * Normalize) to the grey level.
 *
 * Decoding goes through GdkPixbuf (PNG, JPEG, BMP, TIFF, GIF, ...). Like PIL's convert ("RGB"):
 * grayscale is replicated to three channels, alpha is dropped (not composited), and EXIF
 * orientation is NOT applied. 16-bit PNG samples keep their high byte (as PIL does for 16-bit
 * RGB; for 16-bit grey PIL would clip every value above 255 to white, which is not copied).
 * Files whose header declares more than UAD_IMAGE_MAX_PIXELS pixels are refused before any pixel
 * is decoded, and truncated JPEGs are refused (libjpeg would silently pad them with grey; PIL
 * refuses them too). */
#pragma once

#include <glib.h>

#define UAD_IMAGE_MAX_PIXELS 100000000

typedef struct {
  int width, height;
  guint8 *rgb; /* width*height*3 bytes, row-major, R G B per pixel */
} UadImage;

/* A zeroed width x height image (both >= 1). */
UadImage *uad_image_new (int width, int height);
void uad_image_free (UadImage *img);

/* Decode path to 8-bit RGB. Errors: UAD_ERROR_IO (cannot open/read), UAD_ERROR_FORMAT (not an
 * image, corrupt, truncated), UAD_ERROR_UNSUPPORTED (over UAD_IMAGE_MAX_PIXELS); the message
 * names the file. */
UadImage *uad_image_load (const char *path, GError **error);

/* PIL Image.resize ((width, height), Image.BILINEAR) (Pillow >= 7): separable triangle filter
 * whose support widens with the downscale factor (antialiased), horizontal pass then vertical
 * pass through an 8-bit intermediate, Pillow's 22-bit fixed-point coefficients and rounding, so
 * the result equals Pillow's exactly. A pass whose size does not change is skipped, as in
 * Pillow. */
UadImage *uad_image_resize_bilinear (const UadImage *src, int width, int height);

/* PIL Image.resize (size, Image.NEAREST): output pixel x takes source column
 * floor ((x + 0.5) * in_w / out_w) (accumulated in double like Pillow), same for rows. */
UadImage *uad_image_resize_nearest (const UadImage *src, int width, int height);

typedef enum {
  UAD_NORMALIZE_IMAGENET,  /* (p/255 - mean) / std, mean (.485 .456 .406), std (.229 .224 .225) */
  UAD_NORMALIZE_SYMMETRIC, /* (p - 127.5) / 127.5 */
} UadNormalization;

/* Planar CHW float32: out[c*H*W + y*W + x], computed in float32 like torchvision
 * (ToTensor then Normalize). out holds 3*width*height floats. */
void uad_image_to_chw (const UadImage *img, UadNormalization norm, float *out);

/* The model's input: load, resize (bilinear) to size x size, normalise into out
 * (3*size*size floats). On error out is left untouched. */
gboolean uad_image_load_input (const char *path, int size, UadNormalization norm, float *out,
                               GError **error);

/* A ground-truth mask: decode, resize (nearest) to size x size, take the luma (PIL's
 * convert ("L"); the value itself for grey masks) and binarise: > 127 -> 1, else 0.
 * out holds size*size bytes. */
gboolean uad_mask_load (const char *path, int size, guint8 *out, GError **error);

/* The same for the mask of image_path, which must have the image's width and height: a mask of
 * another size belongs to another picture, and stretching it would score the wrong pixels
 * (UAD_ERROR_MISMATCH naming both files and sizes). */
gboolean uad_mask_load_for_image (const char *path, const char *image_path, int size,
                                  guint8 *out, GError **error);

/* Write img as an RGB PNG, atomically: a temporary file in the same folder renamed over path, so
 * a failure leaves no partial file under path. Errors: UAD_ERROR_IO naming path. */
gboolean uad_image_save_png (const UadImage *img, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadImage, uad_image_free)
