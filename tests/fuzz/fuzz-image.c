/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-image.c: the image decode path on arbitrary bytes (GdkPixbuf's sniffing and loaders,
 * then this project's size checks, conversion to RGB, resizing and normalisation), as an
 * inspected image and as a ground-truth mask. */
#include "fuzz-util.h"

#include "uad-image.h"

/* Small, so a large decoded image costs its decode, not the resize. */
#define SIZE 16

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = fuzz_write_input ("input", data, size, NULL);
  if (path == NULL)
    return 0;
  g_autoptr (UadImage) img = uad_image_load (path, NULL);
  if (img == NULL)
    return 0; /* a mask goes through the same decoder, so it would fail the same way */
  g_autoptr (UadImage) resized = uad_image_resize_bilinear (img, SIZE, SIZE);
  g_autoptr (UadImage) nearest = uad_image_resize_nearest (img, SIZE, SIZE);
  float chw[3 * SIZE * SIZE];
  uad_image_to_chw (resized, UAD_NORMALIZE_IMAGENET, chw);
  guint8 mask[SIZE * SIZE];
  (void) uad_mask_load (path, SIZE, mask, NULL);
  return 0;
}
