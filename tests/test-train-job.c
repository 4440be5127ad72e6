/* SPDX-License-Identifier: Apache-2.0 */
/* test-train-job.c: the training job that `uniad train` and the workbench share
 * (uad-train-job.h), on real images and the MobileNetV2 weights of UNIAD_SHARED.
 *
 * Class folders make a dataset sorted by class, and bad ones are refused. A job stopped by its
 * monitor in the middle of the transformer leaves a checkpoint and no model; the job resumed
 * from it ends with the same model as a run never stopped (same final loss and class
 * statistics, bit for bit) and without the checkpoint. The monitor sees the phases in order,
 * the features counted up to every image, each step, and a summary line per phase. */
#include "test-util.h"
#include "test-workbench-util.h"
#include "uad-error.h"
#include "uad-train-job.h"
#include "uad-weights.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define N_IMAGES 4 /* per class */
#define EPOCHS 3

static const char *const classes[] = { "pcb", "magnetic_tile" };

typedef struct {
  int stop_after;     /* transformer steps before the monitor stops the job (0: never) */
  int steps;          /* transformer steps seen */
  int steps_per_epoch;
  int features_done;  /* the last count of the features phase */
  int decoder_steps;
  UadTrainPhase last; /* phases only go forward */
  int summaries[UAD_TRAIN_PHASE_DECODER + 1];
} Watch;

static gboolean
on_progress (const UadTrainJobProgress *p, void *user_data)
{
  Watch *w = user_data;
  g_assert_cmpint (p->phase, >=, w->last);
  w->last = p->phase;
  g_assert_cmpfloat (p->fraction, >=, 0);
  g_assert_cmpfloat (p->fraction, <=, 1);
  if (p->phase == UAD_TRAIN_PHASE_FEATURES)
    {
      g_assert_cmpint (p->done, >, w->features_done);
      w->features_done = p->done;
      g_assert_cmpint (p->total, ==, N_IMAGES * 2);
    }
  else if (p->phase == UAD_TRAIN_PHASE_TRANSFORMER)
    {
      g_assert_nonnull (p->transformer);
      g_assert_true (p->loss > 0);
      w->steps_per_epoch = p->transformer->steps_per_epoch;
      w->steps++;
      return w->stop_after == 0 || w->steps < w->stop_after;
    }
  else if (p->phase == UAD_TRAIN_PHASE_DECODER)
    {
      g_assert_nonnull (p->decoder);
      w->decoder_steps++;
    }
  return TRUE;
}

static void
on_log (UadTrainPhase phase, gboolean phase_done, const char *line, void *user_data)
{
  Watch *w = user_data;
  if (phase_done)
    w->summaries[phase]++;
}

/* ROOT/<class>: links to the first N_IMAGES good training images of each class. */
static char *
make_folders (const char *industrial, char ***names, char ***folders)
{
  char *root = wb_test_make_dir ();
  g_autoptr (GStrvBuilder) n = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) f = g_strv_builder_new ();
  for (guint k = 0; k < G_N_ELEMENTS (classes); k++)
    {
      g_autofree char *from = g_build_filename (industrial, classes[k], "train", "good", NULL);
      g_autofree char *to = g_build_filename (root, classes[k], NULL);
      g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
      g_auto (GStrv) images = uad_list_images (from, NULL);
      g_assert_nonnull (images);
      for (int i = 0; i < N_IMAGES; i++)
        {
          g_autofree char *name = g_path_get_basename (images[i]);
          g_autofree char *link = g_build_filename (to, name, NULL);
          g_assert_cmpint (symlink (images[i], link), ==, 0);
        }
      g_strv_builder_add (n, classes[k]);
      g_strv_builder_add (f, to);
    }
  *names = g_strv_builder_end (n);
  *folders = g_strv_builder_end (f);
  return root;
}

/* The dataset of make_folders' class folders (in *folders, under *root). */
static UadDataset *
make_dataset (const char *industrial, char **root, char ***folders)
{
  g_auto (GStrv) names = NULL;
  *root = make_folders (industrial, &names, folders);
  g_autoptr (GError) error = NULL;
  UadDataset *ds = uad_train_job_dataset_from_folders ((const char *const *) names,
                                                       (const char *const *) *folders, 2, &error);
  g_assert_no_error (error);
  return ds;
}

static void
test_dataset_from_folders (void)
{
  g_autofree char *industrial = uad_test_shared_path ("data/industrial");
  if (industrial == NULL)
    return;
  g_auto (GStrv) folders = NULL;
  g_autofree char *root = NULL;
  g_autoptr (UadDataset) ds = make_dataset (industrial, &root, &folders);
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (ds->n_classes, ==, 2);
  g_assert_cmpstr (ds->classes[0].name, ==, "magnetic_tile"); /* sorted, as a scan's */
  g_assert_cmpint (ds->classes[0].n_train, ==, N_IMAGES);
  g_assert_true (g_str_has_prefix (ds->classes[0].train[0], folders[1]));
  g_assert_cmpint (ds->classes[1].n_test, ==, 0);

  const char *twice[] = { "a", "a" };
  UadDataset *bad = uad_train_job_dataset_from_folders (twice, (const char *const *) folders, 2,
                                                        &error);
  g_assert_null (bad);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_autofree char *empty = g_build_filename (root, "empty", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  const char *empty_folder[] = { empty };
  bad = uad_train_job_dataset_from_folders (twice, empty_folder, 1, &error);
  g_assert_null (bad);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  wb_test_remove_tree (root);
}

/* Runs the job (EPOCHS epochs, no validation) into out; NULL when the monitor stopped it. */
static UadModel *
run (UadBackbone *bb, const char *sha, const UadDataset *ds, const char *out, gboolean resume,
     gboolean decoder, Watch *w, GError **error)
{
  UadTrainJobOptions opts;
  g_assert_true (uad_train_job_options_init (&opts, "fast:batch=2", NULL));
  opts.recipe.train.epochs = EPOCHS;
  opts.recipe.train.checkpoint_every = 0;
  opts.validation = 0;
  opts.train_decoder = decoder;
  opts.decoder.epochs = 1;
  opts.resume = resume;
  opts.out = out;
  UadTrainJobMonitor monitor = { on_progress, on_log, w };
  return uad_train_job_run (&opts, bb, sha, ds, NULL, &monitor, error);
}

static void
test_stop_and_resume (void)
{
  g_autofree char *industrial = uad_test_shared_path ("data/industrial");
  g_autofree char *weights = uad_test_shared_path ("weights/mobilenet_v2_1.0_224.safetensors");
  if (industrial == NULL || weights == NULL)
    return;
  g_auto (GStrv) folders = NULL;
  g_autofree char *root = NULL;
  g_autoptr (UadDataset) ds = make_dataset (industrial, &root, &folders);
  g_autoptr (GError) error = NULL;
  UadBackbone *bb = uad_backbone_load (UAD_BACKBONE_MOBILENET_V2, weights, &error);
  g_assert_no_error (error);
  g_autofree char *sha = uad_weights_sha256 (weights, &error);
  g_assert_no_error (error);

  /* Uninterrupted, with the decoder. */
  g_autofree char *straight_path = g_build_filename (root, "straight.uniad", NULL);
  Watch straight = { 0 };
  g_autoptr (UadModel) want = run (bb, sha, ds, straight_path, FALSE, TRUE, &straight, &error);
  g_assert_no_error (error);
  g_assert_nonnull (want->decoder);
  g_assert_cmpint (straight.features_done, ==, 2 * N_IMAGES);
  g_assert_cmpint (straight.steps, ==, EPOCHS * straight.steps_per_epoch);
  g_assert_cmpint (straight.decoder_steps, >, 0);
  for (int phase = 0; phase <= UAD_TRAIN_PHASE_DECODER; phase++)
    g_assert_cmpint (straight.summaries[phase], ==,
                     phase == UAD_TRAIN_PHASE_DECODER_TARGETS ? 0 : 1);
  g_assert_true (g_file_test (straight_path, G_FILE_TEST_IS_REGULAR));

  /* Stopped in the middle of the second epoch: a checkpoint, no model. */
  g_autofree char *paused_path = g_build_filename (root, "paused.uniad", NULL);
  g_autofree char *checkpoint = g_strconcat (paused_path, ".checkpoint", NULL);
  int stop_after = straight.steps_per_epoch + 2; /* in the second epoch */
  Watch first = { .stop_after = stop_after };
  UadModel *none = run (bb, sha, ds, paused_path, FALSE, FALSE, &first, &error);
  g_assert_null (none);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (paused_path, G_FILE_TEST_EXISTS));
  /* A new run does not silently start over a checkpoint. */
  Watch again = { 0 };
  none = run (bb, sha, ds, paused_path, FALSE, FALSE, &again, &error);
  g_assert_null (none);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "--resume"));
  g_clear_error (&error);

  /* Resumed: the steps left, and the uninterrupted run's transformer, bit for bit. */
  Watch second = { 0 };
  g_autoptr (UadModel) got = run (bb, sha, ds, paused_path, TRUE, FALSE, &second, &error);
  g_assert_no_error (error);
  g_assert_cmpint (second.steps, ==, straight.steps - stop_after);
  g_assert_false (g_file_test (checkpoint, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (paused_path, G_FILE_TEST_IS_REGULAR));
  g_assert_null (got->decoder);
  g_assert_cmpint (got->training.epochs, ==, want->training.epochs);
  g_assert_cmpfloat (got->training.final_loss, ==, want->training.final_loss);
  for (int k = 0; k < 2; k++)
    {
      g_assert_cmpfloat (got->classes[k].score_mean, ==, want->classes[k].score_mean);
      g_assert_cmpfloat (got->classes[k].score_std, ==, want->classes[k].score_std);
    }
  uad_backbone_free (bb);
  wb_test_remove_tree (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-job/dataset-from-folders", test_dataset_from_folders);
  g_test_add_func ("/train-job/stop-and-resume", test_stop_and_resume);
  return g_test_run ();
}
