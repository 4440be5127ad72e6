/* SPDX-License-Identifier: Apache-2.0 */
/* Backbones against references computed by independent implementations (../shared/golden):
 * every block output, the taps and the neck within 1e-3 of each tensor's largest magnitude,
 * MobileNetV2's classifier on cat.jpg, both weight namings of EfficientNet, and clear errors
 * for wrong weights. */
#include "test-util.h"
#include "uad-backbone.h"
#include "uad-error.h"
#include "uad-safetensors.h"

#include <glib/gstdio.h>
#include <string.h>

#define TOL 1e-3
#define MAX_BLOCKS 32
#define MAX_IMAGES 2

/* Copies of every block output, per image, recorded by the tap. */
typedef struct {
  UadTensor *blocks[MAX_IMAGES][MAX_BLOCKS];
} Recorder;

static void
record_block (int image, int block, const UadTensor *output, void *user_data)
{
  Recorder *r = user_data;
  g_assert_cmpint (image, <, MAX_IMAGES);
  g_assert_cmpint (block, <, MAX_BLOCKS);
  uad_tensor_free (r->blocks[image][block]);
  r->blocks[image][block] = uad_tensor_copy (output);
}

static void
recorder_clear (Recorder *r)
{
  for (int i = 0; i < MAX_IMAGES; i++)
    for (int b = 0; b < MAX_BLOCKS; b++)
      g_clear_pointer (&r->blocks[i][b], uad_tensor_free);
}

static UadTensor *
load_golden (UadSafetensors *st, const char *name)
{
  g_autoptr (GError) error = NULL;
  UadTensor *t = uad_safetensors_load (st, name, 0, NULL, &error);
  g_assert_no_error (error);
  return t;
}

/* Compares image `image` of a golden tensor [N, ...] with got (one image's worth). */
static void
assert_image_close (const char *name, const UadTensor *want, int image, const UadTensor *got)
{
  int64_t per_image = uad_tensor_numel (want) / want->shape[0];
  g_assert_cmpint (uad_tensor_numel (got), ==, per_image);
  g_autofree char *what = g_strdup_printf ("%s[%d]", name, image);
  uad_test_assert_close (what, got->data, want->data + image * per_image, per_image, TOL);
}

static void
test_mobilenet_golden (void)
{
  g_autofree char *weights = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  g_autofree char *golden = weights ? uad_test_shared_path ("golden/mobilenet_v2/cat_224.safetensors") : NULL;
  if (golden == NULL)
    return;
  g_autoptr (GError) error = NULL;
  UadBackbone *bb = uad_backbone_load (UAD_BACKBONE_MOBILENET_V2, weights, &error);
  g_assert_no_error (error);
  g_assert_cmpint (uad_backbone_get_feature_channels (bb), ==, 168);
  g_assert_true (uad_backbone_has_classifier (bb));
  g_assert_cmpint (uad_backbone_get_n_classes (bb), ==, 1001);

  g_autoptr (UadSafetensors) st = uad_safetensors_open (golden, &error);
  g_assert_no_error (error);
  g_autoptr (UadTensor) input = load_golden (st, "input");
  Recorder rec = { 0 };
  uad_backbone_set_block_tap (bb, record_block, &rec);
  g_autoptr (UadTensor) probs = uad_tensor_new_2d (1, 1001);
  g_assert_true (uad_backbone_classify (bb, input, probs, &error));

  static const int stage_blocks[] = { 0, 2, 5, 12, 16 };
  for (int s = 0; s < 5; s++)
    {
      g_autofree char *name = g_strdup_printf ("stage%d", s + 1);
      g_autoptr (UadTensor) want = load_golden (st, name);
      assert_image_close (name, want, 0, rec.blocks[0][stage_blocks[s]]);
    }
  g_autoptr (UadTensor) want_probs = load_golden (st, "probs");
  uad_test_assert_close ("probs", probs->data, want_probs->data, 1001, TOL);
  int best = 0;
  for (int i = 1; i < 1001; i++)
    if (probs->data[i] > probs->data[best])
      best = i;
  g_assert_cmpint (best, ==, 286); /* Egyptian cat */

  /* The neck: features of the same input are the four taps resized to 14x14. */
  g_autoptr (UadTensor) features = uad_tensor_new_4d (1, 168, 14, 14);
  uad_backbone_set_block_tap (bb, NULL, NULL);
  uad_backbone_extract (bb, input, features);
  g_autoptr (UadTensor) stage4 = load_golden (st, "stage4");
  uad_test_assert_close ("neck 96-channel tap (14x14 identity)", features->data + 72 * 196,
                         stage4->data, 96 * 196, TOL);
  recorder_clear (&rec);
  uad_backbone_free (bb);
}

static void
test_mobilenet_classifies_cat_jpg (void)
{
  g_autofree char *weights = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  g_autofree char *cat = weights ? uad_test_shared_path ("golden/mobilenet_v2/cat.jpg") : NULL;
  if (cat == NULL)
    return;
  g_autoptr (GError) error = NULL;
  UadBackbone *bb = uad_backbone_load (UAD_BACKBONE_MOBILENET_V2, weights, &error);
  g_assert_no_error (error);
  g_autoptr (UadTensor) input = uad_tensor_new_4d (1, 3, 224, 224);
  g_assert_true (uad_image_load_input (cat, 224, uad_backbone_get_normalization (bb), input->data, &error));
  g_autoptr (UadTensor) probs = uad_tensor_new_2d (1, 1001);
  g_assert_true (uad_backbone_classify (bb, input, probs, &error));
  int best = 0;
  for (int i = 1; i < 1001; i++)
    if (probs->data[i] > probs->data[best])
      best = i;
  g_test_message ("cat.jpg (whole image resized): class %d at %.1f%%", best, 100 * probs->data[best]);
  g_assert_cmpint (best, ==, 286);
  uad_backbone_free (bb);
}

/* Runs EfficientNet-b4 from `weights` on the golden batch and checks every block, tap and the
 * neck; returns the features. */
static UadTensor *
check_efficientnet (const char *weights, UadSafetensors *golden)
{
  g_autoptr (GError) error = NULL;
  UadBackbone *bb = uad_backbone_load (UAD_BACKBONE_EFFICIENTNET_B4, weights, &error);
  g_assert_no_error (error);
  g_assert_cmpint (uad_backbone_get_feature_channels (bb), ==, 272);
  g_assert_false (uad_backbone_has_classifier (bb));
  g_test_message ("EfficientNet-b4 to block 21: %.3f GMAC", uad_backbone_get_macs (bb) / 1e9);

  g_autoptr (UadTensor) input = load_golden (golden, "input.image");
  Recorder rec = { 0 };
  uad_backbone_set_block_tap (bb, record_block, &rec);
  UadTensor *features = uad_tensor_new_4d (2, 272, 14, 14);
  uad_backbone_extract (bb, input, features);

  for (int b = 0; b <= 21; b++)
    {
      g_autofree char *name = g_strdup_printf ("bb.block%02d", b);
      g_autoptr (UadTensor) want = load_golden (golden, name);
      for (int i = 0; i < 2; i++)
        assert_image_close (name, want, i, rec.blocks[i][b]);
    }
  static const int tap_blocks[] = { 1, 5, 9, 21 };
  for (int t = 0; t < 4; t++)
    {
      g_autofree char *name = g_strdup_printf ("bb.features.%d", t);
      g_autoptr (UadTensor) want = load_golden (golden, name);
      for (int i = 0; i < 2; i++)
        assert_image_close (name, want, i, rec.blocks[i][tap_blocks[t]]);
    }
  g_autoptr (UadTensor) neck = load_golden (golden, "neck.feature_align");
  uad_test_assert_close ("neck.feature_align", features->data, neck->data, uad_tensor_numel (neck), TOL);
  recorder_clear (&rec);
  uad_backbone_free (bb);
  return features;
}

static void
test_efficientnet_golden (void)
{
  g_autofree char *weights = uad_test_shared_path ("golden/uniad/weights.safetensors");
  g_autofree char *tensors = weights ? uad_test_shared_path ("golden/uniad/tensors.safetensors") : NULL;
  if (tensors == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) golden = uad_safetensors_open (tensors, &error);
  g_assert_no_error (error);
  g_autoptr (UadTensor) features = check_efficientnet (weights, golden);
}

/* timm's name for an original-checkpoint backbone tensor ("backbone._blocks.7._bn1.weight"). */
static char *
timm_name (const char *original)
{
  static const int stage_starts[] = { 0, 2, 6, 10, 16, 22, 30, 32 };
  const char *rest = original + strlen ("backbone.");
  if (g_str_has_prefix (rest, "_conv_stem."))
    return g_strconcat ("conv_stem.", rest + strlen ("_conv_stem."), NULL);
  if (g_str_has_prefix (rest, "_bn0."))
    return g_strconcat ("bn1.", rest + strlen ("_bn0."), NULL);
  int block = atoi (rest + strlen ("_blocks."));
  const char *part = strchr (rest + strlen ("_blocks."), '.') + 1;
  int stage = 0;
  while (block >= stage_starts[stage + 1])
    stage++;
  gboolean expands = stage > 0;
  static const char *const map[][3] = {
    /* original, timm (expanding blocks), timm (first stage) */
    { "_expand_conv.", "conv_pw.", NULL }, { "_bn0.", "bn1.", NULL },
    { "_depthwise_conv.", "conv_dw.", "conv_dw." }, { "_bn1.", "bn2.", "bn1." },
    { "_se_reduce.", "se.conv_reduce.", "se.conv_reduce." },
    { "_se_expand.", "se.conv_expand.", "se.conv_expand." },
    { "_project_conv.", "conv_pwl.", "conv_pw." }, { "_bn2.", "bn3.", "bn2." },
  };
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_str_has_prefix (part, map[i][0]))
      return g_strdup_printf ("blocks.%d.%d.%s%s", stage, block - stage_starts[stage],
                              map[i][expands ? 1 : 2], part + strlen (map[i][0]));
  g_assert_not_reached ();
}

/* Adds golden's backbone tensors (blocks 0-21) to w under timm's names. */
static void
add_timm_blocks (UadSafetensorsWriter *w, const char *weights)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensors) src = uad_safetensors_open (weights, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < uad_safetensors_get_n_tensors (src); i++)
    {
      const char *name = uad_safetensors_get_name (src, i);
      if (!g_str_has_prefix (name, "backbone."))
        continue;
      UadDType dtype;
      int ndim;
      int64_t shape[8];
      size_t n_bytes;
      g_assert_true (uad_safetensors_get_info (src, name, &dtype, &ndim, shape));
      const guint8 *data = uad_safetensors_get_data (src, name, &n_bytes);
      g_autofree char *renamed = timm_name (name);
      uad_safetensors_writer_add_raw (w, renamed, dtype, ndim, shape, data, n_bytes);
    }
}

static void
test_efficientnet_timm_names (void)
{
  g_autofree char *weights = uad_test_shared_path ("golden/uniad/weights.safetensors");
  g_autofree char *tensors = weights ? uad_test_shared_path ("golden/uniad/tensors.safetensors") : NULL;
  if (tensors == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  add_timm_blocks (w, weights);
  g_autofree char *dir = g_dir_make_tmp ("uniad-timm-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "timm.safetensors", NULL);
  g_assert_true (uad_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);

  g_autoptr (UadSafetensors) golden = uad_safetensors_open (tensors, &error);
  g_assert_no_error (error);
  g_autoptr (UadTensor) features = check_efficientnet (path, golden);
  g_unlink (path);
  g_rmdir (dir);
}

/* A random tensor of the given shape; batch-norm variances must stay positive. */
static void
add_random (UadSafetensorsWriter *w, const char *name, int ndim, const int64_t *shape, float lo,
            float hi, guint32 seed)
{
  g_autoptr (UadTensor) t = uad_tensor_new (ndim, shape);
  uad_test_fill_random (t->data, uad_tensor_numel (t), lo, hi, seed);
  uad_safetensors_writer_add_tensor (w, name, t);
}

static void
add_random_bn (UadSafetensorsWriter *w, const char *prefix, int64_t c, guint32 seed)
{
  static const char *const parts[] = { "weight", "bias", "running_mean", "running_var" };
  static const float lo[] = { 0.5f, -0.1f, -0.1f, 0.5f }, hi[] = { 1.0f, 0.1f, 0.1f, 1.5f };
  for (int i = 0; i < 4; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s.%s", prefix, parts[i]);
      add_random (w, name, 1, (int64_t[]) { c }, lo[i], hi[i], seed + i);
    }
}

/* A full timm EfficientNet-b4 (golden blocks 0-21, random blocks 22-31, head and classifier):
 * it loads with its classifier, classifies to probabilities, and its features are still the
 * golden ones (the extra blocks come after the last tap). */
static void
test_efficientnet_full_network (void)
{
  g_autofree char *weights = uad_test_shared_path ("golden/uniad/weights.safetensors");
  g_autofree char *tensors = weights ? uad_test_shared_path ("golden/uniad/tensors.safetensors") : NULL;
  if (tensors == NULL)
    return;
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  add_timm_blocks (w, weights);
  guint32 seed = 1;
  int cin = 160;
  for (int block = 22; block < 32; block++)
    {
      int stage = block < 30 ? 5 : 6, index = block - (stage == 5 ? 22 : 30);
      int k = stage == 5 ? 5 : 3, cout = stage == 5 ? 272 : 448, cexp = cin * 6, r = cin / 4;
      const float a = 0.05f;
      g_autofree char *p = g_strdup_printf ("blocks.%d.%d.", stage, index);
      g_autofree char *pw = g_strconcat (p, "conv_pw.weight", NULL);
      g_autofree char *dw = g_strconcat (p, "conv_dw.weight", NULL);
      g_autofree char *rw = g_strconcat (p, "se.conv_reduce.weight", NULL);
      g_autofree char *rb = g_strconcat (p, "se.conv_reduce.bias", NULL);
      g_autofree char *ew = g_strconcat (p, "se.conv_expand.weight", NULL);
      g_autofree char *eb = g_strconcat (p, "se.conv_expand.bias", NULL);
      g_autofree char *pl = g_strconcat (p, "conv_pwl.weight", NULL);
      g_autofree char *bn1 = g_strconcat (p, "bn1", NULL);
      g_autofree char *bn2 = g_strconcat (p, "bn2", NULL);
      g_autofree char *bn3 = g_strconcat (p, "bn3", NULL);
      add_random (w, pw, 4, (int64_t[]) { cexp, cin, 1, 1 }, -a, a, seed++);
      add_random_bn (w, bn1, cexp, seed += 4);
      add_random (w, dw, 4, (int64_t[]) { cexp, 1, k, k }, -a, a, seed++);
      add_random_bn (w, bn2, cexp, seed += 4);
      add_random (w, rw, 4, (int64_t[]) { r, cexp, 1, 1 }, -a, a, seed++);
      add_random (w, rb, 1, (int64_t[]) { r }, -a, a, seed++);
      add_random (w, ew, 4, (int64_t[]) { cexp, r, 1, 1 }, -a, a, seed++);
      add_random (w, eb, 1, (int64_t[]) { cexp }, -a, a, seed++);
      add_random (w, pl, 4, (int64_t[]) { cout, cexp, 1, 1 }, -a, a, seed++);
      add_random_bn (w, bn3, cout, seed += 4);
      cin = cout;
    }
  add_random (w, "conv_head.weight", 4, (int64_t[]) { 1792, 448, 1, 1 }, -0.05f, 0.05f, seed++);
  add_random_bn (w, "bn2", 1792, seed += 4);
  add_random (w, "classifier.weight", 2, (int64_t[]) { 1000, 1792 }, -0.05f, 0.05f, seed++);
  add_random (w, "classifier.bias", 1, (int64_t[]) { 1000 }, -0.05f, 0.05f, seed++);
  g_autofree char *dir = g_dir_make_tmp ("uniad-full-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "full.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_safetensors_writer_save (w, path, &error));

  g_autoptr (UadSafetensors) golden = uad_safetensors_open (tensors, &error);
  g_assert_no_error (error);
  UadBackbone *bb = uad_backbone_load (UAD_BACKBONE_EFFICIENTNET_B4, path, &error);
  g_assert_no_error (error);
  g_assert_true (uad_backbone_has_classifier (bb));
  g_assert_cmpint (uad_backbone_get_n_classes (bb), ==, 1000);
  g_autoptr (UadTensor) input = load_golden (golden, "input.image");
  g_autoptr (UadTensor) features = uad_tensor_new_4d (2, 272, 14, 14);
  uad_backbone_extract (bb, input, features);
  g_autoptr (UadTensor) neck = load_golden (golden, "neck.feature_align");
  uad_test_assert_close ("neck.feature_align (full network)", features->data, neck->data,
                         uad_tensor_numel (neck), TOL);
  g_autoptr (UadTensor) probs = uad_tensor_new_2d (2, 1000);
  g_assert_true (uad_backbone_classify (bb, input, probs, &error));
  for (int n = 0; n < 2; n++)
    {
      double sum = 0;
      for (int i = 0; i < 1000; i++)
        {
          g_assert_true (probs->data[n * 1000 + i] >= 0);
          sum += probs->data[n * 1000 + i];
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
    }
  uad_backbone_free (bb);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_wrong_weights_refused (void)
{
  g_autofree char *mobilenet = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  g_autofree char *b4 = mobilenet ? uad_test_shared_path ("golden/uniad/weights.safetensors") : NULL;
  if (b4 == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_assert_null (uad_backbone_load (UAD_BACKBONE_EFFICIENTNET_B4, mobilenet, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_null (uad_backbone_load (UAD_BACKBONE_MOBILENET_V2, b4, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_null (uad_backbone_load (UAD_BACKBONE_MOBILENET_V2, "/nonexistent/weights.safetensors", &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
}

/* Weights of unknown kind: each kind is found, and a damaged file reports its own fault, not a
 * missing tensor of the last kind tried. */
static void
test_load_any (void)
{
  g_autofree char *mobilenet = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  g_autofree char *b4 = mobilenet ? uad_test_shared_path ("golden/uniad/weights.safetensors") : NULL;
  if (b4 == NULL)
    return;
  g_autoptr (GError) error = NULL;
  UadBackbone *bb = uad_backbone_load_any (mobilenet, &error);
  g_assert_no_error (error);
  g_assert_cmpint (uad_backbone_get_kind (bb), ==, UAD_BACKBONE_MOBILENET_V2);
  uad_backbone_free (bb);
  bb = uad_backbone_load_any (b4, &error);
  g_assert_no_error (error);
  g_assert_cmpint (uad_backbone_get_kind (bb), ==, UAD_BACKBONE_EFFICIENTNET_B4);
  uad_backbone_free (bb);

  g_autofree char *contents = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (mobilenet, &contents, &length, NULL));
  g_autofree char *dir = g_dir_make_tmp ("uad-backbone-XXXXXX", NULL);
  g_autofree char *truncated = g_build_filename (dir, "truncated.safetensors", NULL);
  g_assert_true (g_file_set_contents (truncated, contents, length / 2, NULL));
  g_assert_null (uad_backbone_load_any (truncated, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* Sound safetensors holding another network's tensors: a UniAD model's golden tensors. */
  g_autofree char *other = uad_test_shared_path ("golden/uniad/tensors.safetensors");
  g_assert_null (uad_backbone_load_any (other, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "neither EfficientNet-b4 nor MobileNetV2"));
  g_clear_error (&error);
  g_unlink (truncated);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backbone/mobilenet-v2/golden", test_mobilenet_golden);
  g_test_add_func ("/backbone/mobilenet-v2/cat-jpg", test_mobilenet_classifies_cat_jpg);
  g_test_add_func ("/backbone/efficientnet-b4/golden", test_efficientnet_golden);
  g_test_add_func ("/backbone/efficientnet-b4/timm-names", test_efficientnet_timm_names);
  g_test_add_func ("/backbone/efficientnet-b4/full-network", test_efficientnet_full_network);
  g_test_add_func ("/backbone/wrong-weights", test_wrong_weights_refused);
  g_test_add_func ("/backbone/load-any", test_load_any);
  return g_test_run ();
}
