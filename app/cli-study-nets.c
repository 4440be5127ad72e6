/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-study-nets.h"

#include "cli-progress.h"
#include "cli-study-test-set.h"
#include "cli-training-data.h"

#include "uad-anomaly-map.h"
#include "uad-error.h"
#include "uad-layers.h"
#include "uad-train-job.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP UAD_ANOMALY_MAP_SIZE
#define CURVES_HEADER "model,classes,epoch,minutes,loss,image_auroc,pixel_auroc"
#define CLASSES_HEADER "model,classes,class,epoch,image_auroc,pixel_auroc"

/* One network to train: a contender on a class set. */
typedef struct {
  int contender;
  int class_index;  /* -1: every class */
  const char *set;  /* "all" or the class's name */
  int *train_idx;   /* its training images: indices into the features */
  int n_train;
  double budget;    /* seconds of training, 0 without --minutes */
  char *state_path;
  CliStudyNetState state; /* as saved (all zero before the first checkpoint) */
} Job;

typedef struct {
  const CliNetStudyArgs *a;
  const CliNetStudy *study;
  CliNetStudyResult *r;
  const CliTestSet *test;
  const UadTensor *train;
  Job *jobs;
  int n_jobs;
  double *rate; /* [n_contenders]: seconds per training image, measured (NaN before) */
  CliProgress bar;
} Runner;

static void
shuffle (int *idx, int n, guint64 seed, int epoch)
{
  UadRng rng;
  uad_rng_init (&rng, seed ^ ((guint64) epoch * 0x9E3779B97F4A7C15ull));
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) (uad_rng_next (&rng) % (guint64) (i + 1));
      int t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
}

/* Training seconds job still needs: from the measured rate and its epochs, within its budget. */
static double
job_left (const Runner *run, const Job *job, const CliStudyNetState *s, double rate)
{
  if (s->done)
    return 0;
  double left = INFINITY;
  if (run->a->epochs > 0 && !isnan (rate))
    left = rate * ((double) (run->a->epochs - s->epoch) * job->n_train - s->position);
  if (job->budget > 0)
    left = MIN (left, job->budget - s->seconds);
  return MAX (left, 0);
}

/* The study's time left with job j in state s: its own and every later job's. */
static double
study_left (const Runner *run, int j, const CliStudyNetState *s)
{
  double current = run->rate[run->jobs[j].contender];
  double left = job_left (run, &run->jobs[j], s, current);
  for (int k = j + 1; k < run->n_jobs; k++)
    {
      double rate = run->rate[run->jobs[k].contender];
      left += job_left (run, &run->jobs[k], &run->jobs[k].state, isnan (rate) ? current : rate);
    }
  return left;
}

static void
show_progress (Runner *run, int j, const CliStudyNetState *s, double loss)
{
  const Job *job = &run->jobs[j];
  double left = study_left (run, j, s);
  double net_left = job_left (run, job, s, run->rate[job->contender]);
  g_autofree char *epoch = cli_format_epoch (s->epoch, run->a->epochs);
  g_autofree char *net_eta = cli_format_duration (net_left);
  g_autofree char *eta = cli_format_duration (left);
  g_autofree char *text = g_strdup_printf ("network %d/%d %s (%s): %s  loss %.5f  training time left: network %s, study %s",
                                           j + 1, run->n_jobs,
                                           run->study->contenders[job->contender].name, job->set,
                                           epoch, loss, net_eta, eta);
  double spent = 0;
  for (int k = 0; k < j; k++)
    spent += run->jobs[k].state.seconds;
  spent += s->seconds;
  cli_progress_update (&run->bar, isfinite (left) ? spent / (spent + left) : 0, text);
}

/* Evaluates job's network and adds its rows: one to NAME.csv, one per class to classes.csv. */
static gboolean
checkpoint_rows (Runner *run, const Job *job, CliStudyNet *net, const CliStudyNetState *s,
                 double loss, GError **error)
{
  const CliTestSet *ts = run->test;
  const UadDataset *ds = ts->ds;
  int k = job->class_index;
  int first = k < 0 ? 0 : ts->first[k];
  int count = k < 0 ? ts->n : ds->classes[k].n_test;
  g_autofree double *scores = g_new (double, count);
  g_autofree float *maps = g_new (float, (size_t) count * MAP * MAP);
  g_autofree double *class_image = g_new (double, ds->n_classes);
  g_autofree double *class_pixel = g_new (double, ds->n_classes);
  cli_study_net_score (net, ts->features, first, count, scores, maps);
  double image, pixel;
  if (k >= 0)
    {
      cli_test_set_class_metrics (ts, k, scores, maps, &image, &pixel);
      class_image[k] = image;
      class_pixel[k] = pixel;
    }
  else
    cli_test_set_metrics (ts, scores, maps, &image, &pixel, class_image, class_pixel);
  const char *name = run->study->contenders[job->contender].name;
  g_autoptr (GString) row = g_string_new (NULL);
  g_string_append_printf (row, "%s,%s,%d,%.3f,%.6f,%.2f,", name, job->set, s->epoch,
                          s->seconds / 60, loss, image);
  cli_study_csv_number (row, pixel, 2);
  if (!cli_study_csv_add (run->r->curves, row->str, error))
    return FALSE;
  for (int c = k < 0 ? 0 : k; c < (k < 0 ? ds->n_classes : k + 1); c++)
    {
      g_string_printf (row, "%s,%s,%s,%d,%.2f,", name, job->set, ds->classes[c].name, s->epoch,
                       class_image[c]);
      cli_study_csv_number (row, class_pixel[c], 2);
      if (!cli_study_csv_add (run->r->classes, row->str, error))
        return FALSE;
    }
  g_autofree char *note = g_strdup_printf ("%s (%s) epoch %d: loss %.5f, image AUROC %.1f, "
                                           "pixel AUROC %.1f", name, job->set, s->epoch, loss,
                                           image, pixel);
  cli_progress_note (&run->bar, note);
  return TRUE;
}

/* Trains job j's network from its checkpoint (or from the start) to its last epoch or the end
 * of its budget, evaluating it at every checkpoint; FALSE with UAD_ERROR_CANCELLED when
 * stopped, after saving its checkpoint. */
static gboolean
train_job (Runner *run, int j, GError **error)
{
  const CliNetStudyArgs *a = run->a;
  Job *job = &run->jobs[j];
  if (job->state.done)
    return TRUE;
  const UadTensor *train = run->train;
  size_t per = uad_tensor_numel (train) / (size_t) train->shape[0];
  g_autoptr (CliStudyNet) net = cli_study_net_new (&run->study->contenders[job->contender],
                                                   (int) train->shape[1], a->batch,
                                                   (guint64) a->seed, error);
  if (net == NULL)
    return FALSE;
  CliStudyNetState s = { 0 };
  if (g_file_test (job->state_path, G_FILE_TEST_EXISTS)
      && !cli_study_net_load (net, &s, job->state_path, error))
    return FALSE;
  g_autofree int *order = g_new (int, job->n_train);
  g_autofree float *batch = g_new (float, per * a->batch);
  for (;;)
    {
      memcpy (order, job->train_idx, sizeof (int) * job->n_train);
      shuffle (order, job->n_train, (guint64) a->seed, s.epoch);
      while (s.position < job->n_train)
        {
          int n = MIN (a->batch, job->n_train - s.position);
          for (int i = 0; i < n; i++)
            memcpy (batch + i * per, train->data + order[s.position + i] * per, sizeof (float) * per);
          gint64 t0 = g_get_monotonic_time ();
          s.loss_sum += cli_study_net_step (net, batch, n, a->lr, a->clip);
          s.seconds += (g_get_monotonic_time () - t0) / 1e6;
          s.steps++;
          s.position += n;
          run->rate[job->contender] = s.seconds / ((double) s.epoch * job->n_train + s.position);
          show_progress (run, j, &s, s.loss_sum / s.steps);
          if (cli_interrupted ())
            {
              cli_progress_done (&run->bar, "");
              if (!cli_study_net_save (net, &s, job->state_path, error))
                return FALSE;
              g_set_error (error, UAD_ERROR, UAD_ERROR_CANCELLED, "stopped");
              return FALSE;
            }
        }
      double loss = s.loss_sum / s.steps;
      s.epoch++;
      s.position = s.steps = 0;
      s.loss_sum = 0;
      s.done = (a->epochs > 0 && s.epoch >= a->epochs) || (job->budget > 0 && s.seconds >= job->budget);
      gboolean due = a->checkpoints > 0
        ? s.seconds >= (s.evaluations + 1) * job->budget / a->checkpoints
        : s.epoch % a->every == 0;
      if (due || s.done)
        {
          s.evaluations++;
          if (!checkpoint_rows (run, job, net, &s, loss, error)
              || !cli_study_net_save (net, &s, job->state_path, error))
            return FALSE;
        }
      if (s.done)
        break;
    }
  job->state = s;
  return TRUE;
}

/* ---- Resuming ------------------------------------------------------------------------------ */

typedef struct {
  GHashTable *epochs; /* "model\tset" -> epochs covered by its checkpoint + 1 */
  int epoch_column;
} Keep;

static gboolean
keep_row (char **fields, void *user_data)
{
  const Keep *keep = user_data;
  g_autofree char *key = g_strdup_printf ("%s\t%s", fields[0], fields[1]);
  int covered = GPOINTER_TO_INT (g_hash_table_lookup (keep->epochs, key)) - 1;
  return covered >= 0 && atoi (fields[keep->epoch_column]) <= covered;
}

/* Each job's saved state; the rows its checkpoint covers are kept, the others measured again. */
static gboolean
open_tables (Runner *run, GError **error)
{
  CliNetStudyResult *r = run->r;
  gboolean resume = cli_study_out_resuming (r->out);
  g_autoptr (GHashTable) epochs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int j = 0; resume && j < run->n_jobs; j++)
    {
      Job *job = &run->jobs[j];
      if (!g_file_test (job->state_path, G_FILE_TEST_EXISTS))
        continue;
      if (!cli_study_net_load (NULL, &job->state, job->state_path, error))
        return FALSE;
      g_hash_table_insert (epochs, g_strdup_printf ("%s\t%s", run->study->contenders[job->contender].name,
                                                    job->set),
                           GINT_TO_POINTER (job->state.epoch + 1));
    }
  Keep curves = { epochs, 2 }, classes = { epochs, 3 };
  g_autofree char *curves_path = g_strdup_printf ("%s.csv", run->study->name);
  g_autofree char *path = cli_study_out_file (r->out, curves_path);
  g_autofree char *classes_path = cli_study_out_file (r->out, "classes.csv");
  r->curves = cli_study_csv_open (path, CURVES_HEADER, resume ? keep_row : NULL, &curves, error);
  r->classes = r->curves ? cli_study_csv_open (classes_path, CLASSES_HEADER,
                                               resume ? keep_row : NULL, &classes, error)
                         : NULL;
  cli_study_out_add_file (r->out, "curves", curves_path);
  cli_study_out_add_file (r->out, "classes", "classes.csv");
  return r->classes != NULL;
}

/* The jobs: for each contender, one network for all classes and/or one per class. */
static Job *
make_jobs (const CliNetStudyArgs *a, const CliNetStudy *study, const UadDataset *ds, int modes,
           const int *class_of, int n, CliStudyOut *out, int *n_jobs)
{
  int n_modes = ((modes & CLI_NET_STUDY_UNIFIED) ? 1 : 0) + ((modes & CLI_NET_STUDY_SEPARATE) ? 1 : 0);
  int sets = ((modes & CLI_NET_STUDY_UNIFIED) ? 1 : 0) + ((modes & CLI_NET_STUDY_SEPARATE) ? ds->n_classes : 0);
  double per_kind = a->minutes * 60 / (study->n_contenders * n_modes);
  Job *jobs = g_new0 (Job, study->n_contenders * sets);
  int j = 0;
  for (int c = 0; c < study->n_contenders; c++)
    for (int k = (modes & CLI_NET_STUDY_UNIFIED) ? -1 : 0;
         k < ((modes & CLI_NET_STUDY_SEPARATE) ? ds->n_classes : 0); k++, j++)
      {
        Job *job = &jobs[j];
        job->contender = c;
        job->class_index = k;
        job->set = k < 0 ? "all" : ds->classes[k].name;
        job->train_idx = g_new (int, n);
        for (int i = 0; i < n; i++)
          if (k < 0 || class_of[i] == k)
            job->train_idx[job->n_train++] = i;
        job->budget = per_kind * job->n_train / n;
        g_autofree char *key = g_strdup_printf ("%s-%s", study->contenders[c].name, job->set);
        job->state_path = cli_study_out_state (out, key, ".safetensors");
      }
  *n_jobs = j;
  return jobs;
}

static gboolean
run_jobs (Runner *run, GError **error)
{
  if (!open_tables (run, error))
    return FALSE;
  cli_progress_init (&run->bar);
  cli_catch_interrupt ();
  for (int j = 0; j < run->n_jobs; j++)
    if (!train_job (run, j, error))
      return FALSE;
  return TRUE;
}

/* The arguments that decide the results, as study.json records them. */
static GStrv
argument_list (const CliNetStudyArgs *a, int modes)
{
  char lr[G_ASCII_DTOSTR_BUF_SIZE], minutes[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *epochs = g_strdup_printf ("%d", a->epochs);
  g_autofree char *every = g_strdup_printf ("%d", a->every);
  g_autofree char *checkpoints = g_strdup_printf ("%d", a->checkpoints);
  g_autofree char *batch = g_strdup_printf ("%d", a->batch);
  g_autofree char *seed = g_strdup_printf ("%" G_GINT64_FORMAT, a->seed);
  const char *args[] = {
    "data", a->data, "classes", a->classes ? a->classes : "", "epochs", epochs,
    "minutes", g_ascii_dtostr (minutes, sizeof minutes, a->minutes), "every", every, "checkpoints", checkpoints,
    "batch", batch, "lr", g_ascii_dtostr (lr, sizeof lr, a->lr), "seed", seed,
    "training", modes == CLI_NET_STUDY_UNIFIED ? "unified"
                : modes == CLI_NET_STUDY_SEPARATE ? "separate" : "both",
    "backbone", a->bo.backbone ? a->bo.backbone : "", "weights", a->bo.weights ? a->bo.weights : "",
    NULL,
  };
  return g_strdupv ((char **) args);
}

static gboolean
run_study (const CliNetStudyArgs *a, const CliNetStudy *study, int modes, CliNetStudyReport report,
           GError **error)
{
  g_auto (GStrv) classes = a->classes ? g_strsplit (a->classes, ",", -1) : NULL;
  CliNetStudyResult r = { .args = a, .modes = modes };
  r.ds = uad_dataset_scan (a->data, (const char *const *) classes, error);
  if (r.ds == NULL || !uad_dataset_check_masks (r.ds, error))
    {
      uad_dataset_free (r.ds);
      return FALSE;
    }
  g_auto (GStrv) args = argument_list (a, modes);
  r.out = cli_study_out_open (a->out, study->name, (const char *const *) args, a->resume, error);
  gboolean ok = r.out != NULL;
  g_autofree char *sha = NULL;
  UadBackbone *bb = ok ? cli_load_backbone_sha (&a->bo, &sha, error) : NULL;
  ok = bb != NULL;
  int n = 0;
  g_autofree int *class_of = NULL;
  g_auto (GStrv) paths = ok ? uad_train_job_images (r.ds, &class_of, &n) : NULL;
  g_autoptr (UadTensor) train = ok ? cli_extract_features (bb, sha, a->cache_dir, FALSE,
                                                           (const char *const *) paths, n, error)
                                   : NULL;
  CliTestSet ts = { 0 };
  ok = train != NULL && cli_test_set_load (&ts, bb, sha, a->cache_dir, r.ds, error);
  uad_backbone_free (bb);
  Runner run = { .a = a, .study = study, .r = &r, .test = &ts, .train = train };
  if (ok)
    {
      run.jobs = make_jobs (a, study, r.ds, modes, class_of, n, r.out, &run.n_jobs);
      run.rate = g_new (double, study->n_contenders);
      for (int c = 0; c < study->n_contenders; c++)
        run.rate[c] = NAN;
      ok = run_jobs (&run, error);
    }
  g_autoptr (GString) summary = g_string_new ("{");
  if (ok)
    ok = report (study, &r, summary, error);
  g_string_append (summary, "}");
  if (r.out != NULL)
    ok = cli_study_out_finish (r.out, ok, summary->str, error);
  for (int j = 0; j < run.n_jobs; j++)
    g_free (run.jobs[j].train_idx), g_free (run.jobs[j].state_path);
  g_free (run.jobs);
  g_free (run.rate);
  cli_test_set_clear (&ts);
  cli_study_csv_free (r.curves);
  cli_study_csv_free (r.classes);
  cli_study_out_free (r.out);
  uad_dataset_free (r.ds);
  return ok;
}

gboolean
cli_net_study_last (const CliNetStudyResult *r, const char *model, const char *set, const char *cls,
                    double *image, double *pixel)
{
  GPtrArray *rows = cli_study_csv_rows (r->classes);
  int best = -1;
  for (guint i = 0; i < rows->len; i++)
    {
      char **f = rows->pdata[i];
      if (strcmp (f[0], model) == 0 && strcmp (f[1], set) == 0 && strcmp (f[2], cls) == 0
          && atoi (f[3]) > best)
        {
          best = atoi (f[3]);
          *image = cli_study_csv_value (f[4]);
          *pixel = cli_study_csv_value (f[5]);
        }
    }
  return best >= 0;
}

int
cli_net_study_main (int argc, char **argv, const CliNetStudy *study, CliNetStudyReport report)
{
  CliNetStudyArgs a = { .every = 1, .batch = 8, .lr = 5e-4, .clip = 0.1, .seed = 133 };
  g_autofree char *out_help = g_strdup_printf ("Folder for %s.csv, classes.csv, study.json, the "
                                               "tables and plots", study->name);
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &a.data, "Dataset root in MVTec AD layout", "ROOT" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &a.classes, "Only these classes (default: all)", "A,B" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &a.epochs, "Epochs of each network", "N" },
    { "minutes", 'm', 0, G_OPTION_ARG_DOUBLE, &a.minutes, "Training time of the whole study, shared equally by its model kinds (per class: by image count)", "M" },
    { "every", 0, 0, G_OPTION_ARG_INT, &a.every, "Epochs between evaluations (default 1)", "K" },
    { "checkpoints", 0, 0, G_OPTION_ARG_INT, &a.checkpoints, "With --minutes: N evaluations of each network spread over its time, instead of --every", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &a.batch, "Batch size (default 8)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &a.lr, "AdamW learning rate of every network (default 5e-4)", "LR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, out_help, "DIR" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &a.resume, "Continue the stopped study in --out (same arguments)", NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &a.seed, "Random seed (default 133)", "N" },
    { "feature-cache", 0, 0, G_OPTION_ARG_FILENAME, &a.cache_dir, "Folder for cached backbone features (default: the user cache folder)", "DIR" },
    { NULL }, { NULL }, { NULL }, { NULL }, { NULL }, { NULL },
  };
  int n_entries = G_N_ELEMENTS (entries) - 6;
  if (study->modes == 0)
    entries[n_entries++] = (GOptionEntry) { "separate", 0, 0, G_OPTION_ARG_NONE, &a.separate,
                                            "One network per class instead of one for every class", NULL };
  cli_backbone_entries (&a.bo, entries + n_entries);
  int status = CLI_EXIT_USAGE;
  if (!cli_parse (&argc, &argv, "study", study->name, study->summary, entries))
    ;
  else if (argc != 2 || a.data == NULL || a.out == NULL || (a.epochs < 1 && !(a.minutes > 0)))
    cli_error ("study", "--data ROOT, --out DIR and --epochs N or --minutes M are required (see "
               "'uniad study %s --help')", study->name);
  else if (a.checkpoints > 0 && !(a.minutes > 0))
    cli_error ("study", "--checkpoints N spreads evaluations over --minutes M: give both");
  else if (a.epochs < 0 || a.checkpoints < 0 || a.every < 1 || a.batch < 1 || a.minutes < 0 || !(a.lr > 0) || a.seed < 0)
    cli_error ("study", "--every and --batch must be >= 1, --lr > 0, --epochs, --minutes and --seed >= 0");
  else
    {
      g_autoptr (GError) error = NULL;
      int modes = study->modes ? study->modes
                               : a.separate ? CLI_NET_STUDY_SEPARATE : CLI_NET_STUDY_UNIFIED;
      status = CLI_EXIT_OK;
      if (!run_study (&a, study, modes, report, &error))
        {
          cli_error ("study", "%s", error->message);
          status = g_error_matches (error, UAD_ERROR, UAD_ERROR_CANCELLED) ? 130 : CLI_EXIT_FAILURE;
        }
    }
  cli_backbone_options_clear (&a.bo);
  g_free (a.data), g_free (a.classes), g_free (a.out), g_free (a.cache_dir);
  return status;
}
