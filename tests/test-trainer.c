/* SPDX-License-Identifier: Apache-2.0 */
/* The model file and the training loop on a small transformer: save/load round trips (unified
 * and separate), a stopped and resumed run ending bit for bit where an uninterrupted one does,
 * refusal to resume on other data, and that training reduces the loss. */
#include "test-util.h"
#include "uad-error.h"
#include "uad-gemm.h"
#include "uad-trainer.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define N_IMAGES 10
#define CHANNELS 12

static UadTensor *
random_features (guint32 seed)
{
  UadTensor *f = uad_tensor_new_4d (N_IMAGES, CHANNELS, 14, 14);
  uad_test_fill_random (f->data, uad_tensor_numel (f), 0, 1, seed);
  return f;
}

static const int class_of[N_IMAGES] = { 0, 1, 0, 1, 0, 1, 0, 1, 1, 1 };

static void
small_options (UadTrainOptions *o)
{
  uad_train_options_default (o);
  o->epochs = 3;
  o->batch = 4;
  o->lr = 1e-3;
  o->checkpoint_every = 0;
}

typedef struct {
  int stop_at; /* stop after this many steps in total (-1: never) */
  int steps;
} StopAfter;

static gboolean
stop_after (const UadTrainProgress *p, void *user_data)
{
  StopAfter *s = user_data;
  return ++s->steps != s->stop_at;
}

static void
assert_same_params (UadModel *a, UadModel *b)
{
  g_assert_cmpint (a->n_transformers, ==, b->n_transformers);
  for (int i = 0; i < a->n_transformers; i++)
    {
      size_t na, nb;
      float *pa = uad_transformer_params (a->transformers[i], &na);
      float *pb = uad_transformer_params (b->transformers[i], &nb);
      g_assert_cmpuint (na, ==, nb);
      for (int k = 0; k < uad_transformer_n_params (a->transformers[i]); k++)
        {
          const UadParamInfo *info = uad_transformer_param_info (a->transformers[i], k);
          size_t count = info->shape[0] * (info->ndim > 1 ? info->shape[1] : 1);
          if (memcmp (pa + info->offset, pb + info->offset, count * sizeof (float)) != 0)
            g_test_fail_printf ("transformer %d parameter %s differs", i, info->name);
        }
    }
}

static void
run_resume_case (gboolean separate, int stop_at)
{
  g_autoptr (UadTensor) features = random_features (7);
  UadTrainOptions o;
  small_options (&o);
  g_autoptr (GError) error = NULL;

  g_autoptr (UadModel) straight = uad_test_small_model (CHANNELS, separate);
  UadTrainer *t = uad_trainer_new (straight, features, class_of, &o, NULL);
  uad_trainer_init_weights (t);
  g_assert_true (uad_trainer_run (t, NULL, NULL, &error));
  uad_trainer_free (t);

  g_autofree char *ckpt = uad_test_temp_path ("m.uniad.checkpoint");
  g_autoptr (UadModel) first = uad_test_small_model (CHANNELS, separate);
  t = uad_trainer_new (first, features, class_of, &o, ckpt);
  uad_trainer_init_weights (t);
  StopAfter stop = { stop_at, 0 };
  g_assert_false (uad_trainer_run (t, stop_after, &stop, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_CANCELLED);
  g_clear_error (&error);
  uad_trainer_free (t);

  g_autoptr (UadModel) resumed = uad_test_small_model (CHANNELS, separate);
  t = uad_trainer_new (resumed, features, class_of, &o, ckpt);
  g_assert_true (uad_trainer_resume (t, &error));
  g_assert_no_error (error);
  g_assert_true (uad_trainer_run (t, NULL, NULL, &error));
  uad_trainer_free (t);
  assert_same_params (straight, resumed);
  g_assert_cmpfloat (straight->training.final_loss, ==, resumed->training.final_loss);
  g_assert_cmpfloat (straight->classes[1].score_mean, ==, resumed->classes[1].score_mean);

  /* Other data: refused. */
  g_autoptr (UadTensor) other = random_features (8);
  g_autoptr (UadModel) wrong = uad_test_small_model (CHANNELS, separate);
  t = uad_trainer_new (wrong, other, class_of, &o, ckpt);
  g_assert_false (uad_trainer_resume (t, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
  uad_trainer_free (t);
  uad_test_remove_temp (ckpt);
}

static void
test_resume_bit_for_bit (void)
{
  /* 10 images in batches of 4 = 3 steps an epoch: stop mid-epoch and at an epoch's end. */
  run_resume_case (FALSE, 4);
  run_resume_case (FALSE, 6);
  /* Separate: 4 + 6 images = 1 + 2 steps an epoch per class (3 + 6 steps): stop when the
   * first model is done, and inside an epoch of the second. */
  run_resume_case (TRUE, 3);
  run_resume_case (TRUE, 6);
}

/* bf16 products train too, and really run: the loss differs from fp32's in rounding. */
static void
test_bf16_training (void)
{
  if (!uad_gemm_set_bf16 (TRUE))
    {
      g_test_skip ("this CPU has no AVX512_BF16");
      return;
    }
  uad_gemm_set_bf16 (FALSE);
  g_autoptr (UadTensor) features = random_features (3);
  double loss[2];
  for (int bf16 = 0; bf16 <= 1; bf16++)
    {
      UadTrainOptions o;
      small_options (&o);
      o.epochs = 10;
      o.bf16 = bf16;
      g_autoptr (UadModel) m = uad_test_small_model (CHANNELS, FALSE);
      UadTrainer *t = uad_trainer_new (m, features, class_of, &o, NULL);
      uad_trainer_init_weights (t);
      g_autoptr (GError) error = NULL;
      g_assert_true (uad_trainer_run (t, NULL, NULL, &error));
      uad_trainer_free (t);
      loss[bf16] = m->training.final_loss;
      g_assert_false (uad_gemm_get_bf16 ()); /* scoring after training is in fp32 */
    }
  g_test_message ("final loss after 10 epochs: fp32 %.6f, bf16 %.6f", loss[0], loss[1]);
  g_assert_cmpfloat (loss[0], !=, loss[1]);
  g_assert_cmpfloat (fabs (loss[1] - loss[0]), <, 0.1 * loss[0]);
}

static void
test_training_reduces_loss (void)
{
  g_autoptr (UadTensor) features = random_features (3);
  UadTrainOptions o;
  small_options (&o);
  o.epochs = 30;
  g_autoptr (UadModel) m = uad_test_small_model (CHANNELS, FALSE);
  UadTrainer *t = uad_trainer_new (m, features, class_of, &o, NULL);
  uad_trainer_init_weights (t);
  double drop = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_trainer_run (t, NULL, NULL, &error));
  uad_trainer_free (t);
  g_autoptr (UadModel) untrained = uad_test_small_model (CHANNELS, FALSE);
  t = uad_trainer_new (untrained, features, class_of, &o, NULL);
  uad_trainer_init_weights (t);
  double scores_before[N_IMAGES], scores_after[N_IMAGES];
  uad_model_score_features (untrained, features, class_of, scores_before);
  uad_model_score_features (m, features, class_of, scores_after);
  uad_trainer_free (t);
  for (int i = 0; i < N_IMAGES; i++)
    drop += scores_before[i] - scores_after[i];
  g_test_message ("final loss %.5f after 30 epochs; mean score fell by %.4f",
                  m->training.final_loss, drop / N_IMAGES);
  g_assert_cmpfloat (drop, >, 0);
  g_assert_true (m->classes[0].score_mean > 0 && m->classes[0].score_std >= 0);
  g_assert_cmpint (m->classes[0].n_train, ==, 4);
  g_assert_cmpint (m->classes[1].n_train, ==, 6);
}

static void
test_model_file_round_trip (void)
{
  for (int separate = 0; separate < 2; separate++)
    {
      g_autoptr (UadModel) m = uad_test_small_model (CHANNELS, separate);
      UadRng rng;
      uad_rng_init (&rng, 5);
      for (int i = 0; i < m->n_transformers; i++)
        uad_transformer_init (m->transformers[i], &rng);
      m->classes[1].score_mean = 0.25;
      m->classes[1].score_std = 0.125;
      m->training.epochs = 7;
      m->training.date = g_strdup ("2026-11-26T00:00:00Z");
      g_autofree char *path = uad_test_temp_path ("m.uniad");
      g_autoptr (GError) error = NULL;
      g_assert_true (uad_model_save (m, path, &error));
      g_autoptr (UadModel) back = uad_model_load (path, &error);
      g_assert_no_error (error);
      g_assert_cmpint (back->separate, ==, separate);
      g_assert_cmpstr (back->classes[1].name, ==, "cable");
      g_assert_cmpfloat (back->classes[1].score_mean, ==, 0.25);
      g_assert_cmpfloat (back->classes[1].score_std, ==, 0.125);
      g_assert_cmpint (back->training.epochs, ==, 7);
      g_assert_cmpstr (back->training.date, ==, "2026-11-26T00:00:00Z");
      g_assert_cmpstr (back->backbone_sha256, ==, "00ff");
      assert_same_params (m, back);
      g_assert_cmpint (uad_model_class_from_path (back, "/data/cable/test/cut/000.png"), ==, 1);
      g_assert_cmpint (uad_model_class_from_path (back, "/data/other/000.png"), ==, -1);
      g_assert_false (uad_model_check_backbone (back, UAD_BACKBONE_MOBILENET_V2, "11ee", &error));
      g_assert_error (error, UAD_ERROR, UAD_ERROR_MISMATCH);
      uad_test_remove_temp (path);
    }
}

/* Plain epochs are permutations; balanced ones give each class half of the epoch (class 0 has
 * 4 of the 10 images) and still show every image; both are fixed by (seed, epoch). */
static void
test_epoch_order (void)
{
  g_autoptr (UadTensor) f = random_features (7);
  for (int balanced = 0; balanced <= 1; balanced++)
    {
      g_autoptr (UadModel) m = uad_test_small_model (CHANNELS, FALSE);
      UadTrainOptions o;
      small_options (&o);
      o.balanced = balanced;
      UadTrainer *t = uad_trainer_new (m, f, class_of, &o, NULL);
      int idx[N_IMAGES], again[N_IMAGES], next[N_IMAGES];
      g_assert_cmpint (uad_trainer_epoch_order (t, 0, 0, idx), ==, N_IMAGES);
      uad_trainer_epoch_order (t, 0, 0, again);
      uad_trainer_epoch_order (t, 0, 1, next);
      g_assert_cmpmem (idx, sizeof idx, again, sizeof again);
      g_assert_true (memcmp (idx, next, sizeof idx) != 0);
      int seen[N_IMAGES] = { 0 }, per_class[2] = { 0 };
      for (int i = 0; i < N_IMAGES; i++)
        seen[idx[i]]++, per_class[class_of[idx[i]]]++;
      g_assert_cmpint (per_class[0], ==, balanced ? 5 : 4);
      for (int i = 0; i < N_IMAGES; i++)
        g_assert_cmpint (seen[i], >=, balanced && class_of[i] == 1 ? 0 : 1);
      if (!balanced)
        for (int i = 0; i < N_IMAGES; i++)
          g_assert_cmpint (seen[i], ==, 1);
      uad_trainer_free (t);
    }
}

static void
test_not_a_model (void)
{
  g_autofree char *path = uad_test_temp_path ("plain.safetensors");
  g_autoptr (UadSafetensorsWriter) w = uad_safetensors_writer_new ();
  g_autoptr (UadTensor) t = uad_tensor_new_1d (3);
  uad_safetensors_writer_add_tensor (w, "x", t);
  g_autoptr (GError) error = NULL;
  g_assert_true (uad_safetensors_writer_save (w, path, &error));
  g_assert_null (uad_model_load (path, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  uad_safetensors_writer_add_metadata (w, "uniad", "{\"format\": 1}");
  g_assert_true (uad_safetensors_writer_save (w, path, &error));
  g_assert_null (uad_model_load (path, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  uad_test_remove_temp (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/trainer/resume-bit-for-bit", test_resume_bit_for_bit);
  g_test_add_func ("/trainer/reduces-loss", test_training_reduces_loss);
  g_test_add_func ("/trainer/bf16", test_bf16_training);
  g_test_add_func ("/trainer/epoch-order", test_epoch_order);
  g_test_add_func ("/model/file-round-trip", test_model_file_round_trip);
  g_test_add_func ("/model/not-a-model", test_not_a_model);
  return g_test_run ();
}
