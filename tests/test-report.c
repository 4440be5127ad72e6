/* SPDX-License-Identifier: Apache-2.0 */
/* Run reports: the PDF checked with poppler's pdfinfo and pdftotext, the CSV by content, and
 * the failure modes (unwritable target, full disk, cancelled): an error and no file. */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "test-workbench-util.h"
#include "uad-anomaly-map.h"
#include "uad-error.h"
#include "workbench-report.h"

typedef struct {
  char *dir;       /* scratch folder with the images and the history */
  char *out;       /* empty folder for reports */
  UadHistory *h;
  gint64 run;
  int n_images;
} Fixture;

/* A finished run over n images: image i has class classes[i % 3] and score i % 4 * 0.8
 * (0, 0.8 pass; 1.6 review; 2.4 fail with thresholds 1 / 2), a map, and for i = 2 an
 * operator's fail with a note that needs CSV quoting and is partly Korean. */
static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  static const char *const classes[] = { "bottle", "cable", "screw" };
  g_autoptr (GError) error = NULL;
  f->n_images = GPOINTER_TO_INT (data);
  f->dir = wb_test_make_dir ();
  f->out = g_build_filename (f->dir, "reports", NULL);
  g_assert_cmpint (g_mkdir (f->out, 0755), ==, 0);
  g_autofree char *db = g_build_filename (f->dir, "history.sqlite3", NULL);
  f->h = uad_history_open (db, 0, &error);
  g_assert_no_error (error);
  gint64 model = wb_test_add_model (f->h, "report-model");
  const char *const folders[] = { f->dir, NULL };
  f->run = uad_history_begin_run (f->h, model, folders, "night shift", &error);
  g_assert_no_error (error);
  for (int i = 0; i < f->n_images; i++)
    {
      g_autofree char *name = g_strdup_printf ("part-%03d.png", i);
      g_autofree char *path = wb_test_write_png (f->dir, name, 24 + i % 5 * 8, 24, i);
      gint64 image = wb_test_add_image (f->h, path);
      g_autofree float *map = wb_test_make_map (i % 4 * 0.8f, 0.3f, 0.7f);
      gint64 in = uad_history_record_inspection (f->h, f->run, image, classes[i % 3],
                                                 i % 4 * 0.8, 1, 2, map,
                                                 UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE,
                                                 &error);
      g_assert_no_error (error);
      if (i == 2)
        g_assert_true (uad_history_set_operator_verdict (f->h, in, UAD_VERDICT_FAIL,
                                                         "dent, \"deep\"\n찍힘", &error));
    }
  g_assert_true (uad_history_finish_run (f->h, f->run, &error));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  uad_history_close (f->h);
  wb_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->out);
}

/* Runs a poppler tool on path; returns its standard output. */
static char *
poppler (const char *tool, const char *path)
{
  g_autofree char *exe = g_find_program_in_path (tool);
  if (exe == NULL)
    {
      g_test_skip_printf ("%s is not installed (poppler-utils)", tool);
      return NULL;
    }
  const char *argv[] = { exe, path, "-", NULL };
  if (strcmp (tool, "pdfinfo") == 0)
    argv[2] = NULL;
  char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s %s: %s\n%s", tool, path, error->message, err);
  g_free (err);
  return out;
}

static int
pdf_pages (const char *info)
{
  const char *line = strstr (info, "\nPages:");
  g_assert_nonnull (line);
  return atoi (line + strlen ("\nPages:"));
}

static int pdf_shortened_runs (const char *path);

/* A copy of a report under UNIAD_TEST_ARTIFACTS (when set), for people to look at. */
static void
keep_artifact (const char *path, const char *name)
{
  const char *dir = g_getenv ("UNIAD_TEST_ARTIFACTS");
  if (dir == NULL)
    return;
  g_autofree char *keep = g_build_filename (dir, name, NULL);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_true (g_file_set_contents (keep, bytes, len, NULL));
  g_test_message ("kept %s", keep);
}

static void
test_pdf (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pdf = g_build_filename (f->out, "run.pdf", NULL);
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (uad_report_write_pdf (f->h, f->run, pdf, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("PDF of %d images in %.2f s", f->n_images,
                  (g_get_monotonic_time () - t0) / 1e6);
  g_autofree char *listing = wb_test_list_dir (f->out);
  g_assert_cmpstr (listing, ==, "run.pdf");
  g_autofree char *kept = g_strdup_printf ("report-%d-images.pdf", f->n_images);
  keep_artifact (pdf, kept);

  g_autofree char *info = poppler ("pdfinfo", pdf);
  if (info == NULL)
    return;
  int pages = pdf_pages (info);
  g_test_message ("%d pages", pages);
  g_assert_nonnull (strstr (info, "Inspection report - run"));
  g_assert_nonnull (strstr (info, "A4"));
  /* Title and tables, the image table over several pages, two of three thumbnail pages. */
  g_assert_cmpint (pages, >=, f->n_images > 40 ? 4 : 2);

  g_autofree char *text = poppler ("pdftotext", pdf);
  for (int i = 0; i < f->n_images; i++)
    {
      g_autofree char *name = g_strdup_printf ("part-%03d.png", i);
      g_assert_nonnull (strstr (text, name));
    }
  g_assert_nonnull (strstr (text, "report-model.uniad"));
  g_assert_nonnull (strstr (text, "mobilenet_v2"));
  g_assert_nonnull (strstr (text, "night shift"));
  g_assert_nonnull (strstr (text, "bottle, cable, screw"));
  g_assert_nonnull (strstr (text, "Verdicts per class"));
  g_assert_nonnull (strstr (text, "Scores per class"));
  g_assert_nonnull (strstr (text, "bottle - "));
  g_assert_nonnull (strstr (text, "with their anomaly maps"));
  g_assert_cmpint (pdf_shortened_runs (pdf), ==, 0);
  /* 0.8 * i % 4 over i < n: a quarter pass at 0, a quarter at 0.8, a quarter review, a
   * quarter fail; image 2 turned from review to fail by the operator. */
  int q = f->n_images / 4;
  g_autofree char *verdicts = g_strdup_printf ("%d pass, %d review, %d fail", 2 * q, q - 1,
                                               q + 1);
  g_assert_nonnull (strstr (text, verdicts));
}

static void
test_pdf_missing_images (Fixture *f, gconstpointer data)
{
  /* Images gone since the run: the report still comes, with a note in their place. */
  for (int i = 0; i < f->n_images; i++)
    {
      g_autofree char *name = g_strdup_printf ("part-%03d.png", i);
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *pdf = g_build_filename (f->out, "run.pdf", NULL);
  g_assert_true (uad_report_write_pdf (f->h, f->run, pdf, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *text = poppler ("pdftotext", pdf);
  if (text)
    g_assert_nonnull (strstr (text, "cannot"));
}

/* Splits RFC 4180 text into rows of fields. */
static GPtrArray *
csv_parse (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = g_ptr_array_new_with_free_func (g_free);
  GString *field = g_string_new (NULL);
  gboolean quoted = FALSE;
  for (const char *c = text; *c; c++)
    {
      if (quoted)
        {
          if (*c == '"' && c[1] == '"')
            g_string_append_c (field, '"'), c++;
          else if (*c == '"')
            quoted = FALSE;
          else
            g_string_append_c (field, *c);
        }
      else if (*c == '"')
        quoted = TRUE;
      else if (*c == ',')
        g_ptr_array_add (row, g_strdup (field->str)), g_string_truncate (field, 0);
      else if (*c == '\r' && c[1] == '\n')
        {
          g_ptr_array_add (row, g_strdup (field->str)), g_string_truncate (field, 0);
          g_ptr_array_add (rows, row);
          row = g_ptr_array_new_with_free_func (g_free);
          c++;
        }
      else
        g_string_append_c (field, *c);
    }
  g_assert_false (quoted);
  g_assert_cmpuint (row->len, ==, 0); /* ends with a line break */
  g_assert_cmpuint (field->len, ==, 0);
  g_ptr_array_unref (row);
  g_string_free (field, TRUE);
  return rows;
}

static const char *
cell (GPtrArray *rows, guint r, guint c)
{
  GPtrArray *row = rows->pdata[r];
  g_assert_cmpuint (c, <, row->len);
  return row->pdata[c];
}

static void
test_csv (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *csv = g_build_filename (f->out, "run.csv", NULL);
  g_assert_true (uad_report_write_csv (f->h, f->run, csv, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_autoptr (GPtrArray) rows = csv_parse (text);
  g_assert_cmpuint (rows->len, ==, f->n_images + 1);
  const char *header[] = { "path", "class", "score", "pass_below", "fail_above",
                           "model_verdict", "operator_verdict", "note", "inspected_at",
                           "reviewed_at", "heatmap_max", "relative_path" };
  for (guint c = 0; c < G_N_ELEMENTS (header); c++)
    g_assert_cmpstr (cell (rows, 0, c), ==, header[c]);
  for (int i = 0; i < f->n_images; i++)
    {
      GPtrArray *row = rows->pdata[i + 1];
      g_assert_cmpuint (row->len, ==, G_N_ELEMENTS (header));
      g_autofree char *name = g_strdup_printf ("part-%03d.png", i);
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_assert_cmpstr (cell (rows, i + 1, 0), ==, path);
      g_assert_cmpfloat (g_ascii_strtod (cell (rows, i + 1, 2), NULL), ==, i % 4 * 0.8);
      g_assert_cmpstr (cell (rows, i + 1, 3), ==, "1");
      g_assert_cmpstr (cell (rows, i + 1, 4), ==, "2");
      const char *expect[] = { "pass", "pass", "review", "fail" };
      g_assert_cmpstr (cell (rows, i + 1, 5), ==, expect[i % 4]);
      g_assert_cmpstr (cell (rows, i + 1, 6), ==, i == 2 ? "fail" : "");
      g_assert_cmpstr (cell (rows, i + 1, 7), ==, i == 2 ? "dent, \"deep\"\n찍힘" : "");
      g_assert_true (g_regex_match_simple ("^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]{8}Z$",
                                           cell (rows, i + 1, 8), 0, 0));
      g_assert_cmpuint (strlen (cell (rows, i + 1, 9)), ==, i == 2 ? 20 : 0);
      g_assert_cmpstr (cell (rows, i + 1, 10), ==, "4"); /* twice fail_above */
      g_assert_cmpstr (cell (rows, i + 1, 11), ==, name);
    }
}

/* Runs of glyphs the PDF draws for more than 3 characters of text: Cairo marks glyphs that
 * stand for other text with /ActualText, a ligature ("fi") for 2 or 3 characters, Pango's
 * ellipsis for all it cuts. (pdftotext reads the ActualText, so it cannot see a cut.) */
/* needle in the n bytes at hay, which may hold NULs; NULL when it is not there. */
static const char *
find_bytes (const char *hay, gsize n, const char *needle)
{
  gsize k = strlen (needle);
  for (gsize i = 0; i + k <= n; i++)
    if (memcmp (hay + i, needle, k) == 0)
      return hay + i;
  return NULL;
}

static int
pdf_shortened_runs (const char *path)
{
  g_autofree char *pdf = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &pdf, &len, NULL));
  int n = 0;
  for (const char *p = pdf; (p = find_bytes (p, len - (p - pdf), "stream\n")) != NULL;)
    {
      p += strlen ("stream\n");
      const char *end = find_bytes (p, len - (p - pdf), "endstream");
      if (end == NULL)
        break;
      g_autoptr (GInputStream) raw = g_memory_input_stream_new_from_data (p, end - p, NULL);
      g_autoptr (GConverter) z = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB));
      g_autoptr (GInputStream) in = g_converter_input_stream_new (raw, z);
      g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
      /* Streams that are not compressed (fonts' own data) simply fail to inflate. */
      if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, NULL) > 0)
        {
          g_autoptr (GBytes) bytes = g_memory_output_stream_steal_as_bytes (
            G_MEMORY_OUTPUT_STREAM (out));
          g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL),
                                             g_bytes_get_size (bytes));
          for (const char *a = text; (a = strstr (a, "/ActualText <feff")) != NULL;)
            {
              a += strlen ("/ActualText <feff");
              gsize hex = strcspn (a, ">");
              if (hex / 4 > 3) /* UTF-16, 4 hex digits a character */
                n++;
            }
        }
      p = end + strlen ("endstream");
    }
  return n;
}

/* A run over an MVTec root, as a first real session had it: every defect folder has a 000.png,
 * class names are long, scores large. The report names each image by its path in the opened
 * folder, cuts no cell short (no ellipsis anywhere), and has a histogram per class. */
static void
test_pdf_real_names (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *db = g_build_filename (dir, "history.sqlite3", NULL);
  g_autoptr (UadHistory) h = uad_history_open (db, 0, &error);
  g_assert_no_error (error);
  const char *const classes[] = { "magnetic_tile", "transistor", NULL };
  gint64 model = uad_history_add_model (h, "/models/line-3.uniad", "ab12", "efficientnet_b4",
                                        classes, &error);
  g_assert_no_error (error);
  for (int c = 0; classes[c]; c++)
    g_assert_true (uad_history_set_thresholds (h, model, classes[c], 30.5, 48.25, 0.5,
                                               "Operator Kim", &error));
  g_autofree char *root = g_build_filename (dir, "mvtec", NULL);
  const char *const folders[] = { root, NULL };
  gint64 run = uad_history_begin_run (h, model, folders, NULL, &error);
  g_assert_no_error (error);
  static const struct { const char *cls, *defect; double score; } images[] = {
    { "magnetic_tile", "blowhole", 56.1234 }, { "magnetic_tile", "crack", 1234.5678 },
    { "magnetic_tile", "good", 12.0001 }, { "transistor", "misplaced", 41.75 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (images); i++)
    {
      g_autofree char *folder = g_build_filename (root, images[i].cls, "test", images[i].defect,
                                                  NULL);
      g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
      g_autofree char *path = wb_test_write_png (folder, "000.png", 32, 32, (int) i);
      gint64 image = wb_test_add_image (h, path);
      gint64 in = uad_history_record_inspection (h, run, image, images[i].cls, images[i].score,
                                                 30.5, 48.25, NULL, 0, 0, &error);
      g_assert_no_error (error);
      g_assert_true (uad_history_set_operator_verdict (h, in, UAD_VERDICT_REVIEW, NULL, &error));
    }
  g_autofree char *pdf = g_build_filename (dir, "run.pdf", NULL);
  g_assert_true (uad_report_write_pdf (h, run, pdf, NULL, &error));
  g_assert_no_error (error);
  keep_artifact (pdf, "report-real-names.pdf");
  g_autofree char *text = poppler ("pdftotext", pdf);
  if (text)
    {
      const char *expect[] = {
        "magnetic_tile/test/blowhole/000.png", "magnetic_tile/test/crack/000.png",
        "transistor/test/misplaced/000.png", "56.1234", "1234.5678", "Operator", "review",
        "Pass below", "30.5000", "48.2500", "Reviewed", "Scores per class",
        "magnetic_tile - 3 images", "transistor - 1 image", "fail above 48.2500",
      };
      for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
        if (strstr (text, expect[i]) == NULL)
          g_error ("\"%s\" is not in the report:\n%s", expect[i], text);
    }
  g_assert_cmpint (pdf_shortened_runs (pdf), ==, 0);
  uad_history_close (g_steal_pointer (&h));
  wb_test_remove_tree (dir);
}

/* How the report (and the workbench) names an image: by its path in the first folder that
 * holds it, on a path boundary. */
static void
test_relative_path (void)
{
  static const struct { const char *path, *folders[3], *name; } cases[] = {
    { "/d/mvtec/tile/test/crack/000.png", { "/d/mvtec", NULL }, "tile/test/crack/000.png" },
    { "/d/mvtec/tile/test/crack/000.png", { "/d/mvtec/", NULL }, "tile/test/crack/000.png" },
    { "/d/mvtec/tile/test/crack/000.png", { "/d/mvtec/tile", "/d/mvtec" }, "test/crack/000.png" },
    { "/d/ab/x.png", { "/d/a", NULL }, "/d/ab/x.png" },      /* not a boundary */
    { "/d/a/x.png", { "/e", "/d/a" }, "x.png" },
    { "/d/a/x.png", { NULL }, "/d/a/x.png" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = uad_image_relative_path (cases[i].path, cases[i].folders);
      g_assert_cmpstr (name, ==, cases[i].name);
    }
  g_autofree char *none = uad_image_relative_path ("/d/x.png", NULL);
  g_assert_cmpstr (none, ==, "/d/x.png");
}

/* Every failure leaves the report folder as it was: no file under the name, no temporary. */
static void
assert_refused (Fixture *f, const char *path, GQuark domain, int code, const char *says,
                gboolean pdf)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *before = wb_test_list_dir (f->out);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  if (domain == G_IO_ERROR && code == G_IO_ERROR_CANCELLED)
    g_cancellable_cancel (cancel);
  gboolean ok = pdf ? uad_report_write_pdf (f->h, f->run, path, cancel, &error)
                    : uad_report_write_csv (f->h, f->run, path, cancel, &error);
  g_assert_false (ok);
  g_assert_error (error, domain, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, says));
  g_autofree char *after = wb_test_list_dir (f->out);
  g_assert_cmpstr (after, ==, before);
}

static void
test_unwritable (Fixture *f, gconstpointer data)
{
  g_autofree char *missing = g_build_filename (f->out, "no-such-folder", "run.pdf", NULL);
  g_autofree char *folder = g_build_filename (f->out, "a-folder", NULL);
  g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
  g_autofree char *cancelled = g_build_filename (f->out, "cancelled.pdf", NULL);
  for (int pdf = 0; pdf < 2; pdf++)
    {
      assert_refused (f, missing, UAD_ERROR, UAD_ERROR_IO, "does not exist", pdf);
      assert_refused (f, folder, UAD_ERROR, UAD_ERROR_IO, "is a folder", pdf);
      g_assert_true (g_file_test (folder, G_FILE_TEST_IS_DIR));
      assert_refused (f, cancelled, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled", pdf);
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (f->out, "x.csv", NULL);
  g_assert_false (uad_report_write_csv (f->h, 4242, path, NULL, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

/* A full disk, simulated by a file size limit: writes past it fail with EFBIG (SIGXFSZ is
 * ignored so the process lives). An older report under the name survives intact. */
static void
test_disk_full (Fixture *f, gconstpointer data)
{
  g_autofree char *pdf = g_build_filename (f->out, "run.pdf", NULL);
  g_autofree char *csv = g_build_filename (f->out, "run.csv", NULL);
  g_assert_true (g_file_set_contents (pdf, "old report", -1, NULL));

  struct rlimit saved, small;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  small = saved;
  small.rlim_cur = 200;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  g_autoptr (GError) error = NULL;
  gboolean pdf_ok = uad_report_write_pdf (f->h, f->run, pdf, NULL, &error);
  g_autoptr (GError) csv_error = NULL;
  gboolean csv_ok = uad_report_write_csv (f->h, f->run, csv, NULL, &csv_error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, old_handler);

  g_assert_false (pdf_ok);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, pdf));
  g_assert_false (csv_ok);
  g_assert_error (csv_error, UAD_ERROR, UAD_ERROR_IO);
  g_autofree char *old = NULL;
  g_assert_true (g_file_get_contents (pdf, &old, NULL, NULL));
  g_assert_cmpstr (old, ==, "old report");
  g_autofree char *listing = wb_test_list_dir (f->out);
  g_assert_cmpstr (listing, ==, "run.pdf");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, n, fn) \
  g_test_add (path, Fixture, GINT_TO_POINTER (n), fixture_set_up, fn, fixture_tear_down)
  ADD ("/report/pdf", 8, test_pdf);
  ADD ("/report/pdf-paginated", 120, test_pdf);
  ADD ("/report/pdf-missing-images", 4, test_pdf_missing_images);
  ADD ("/report/csv", 8, test_csv);
  g_test_add_func ("/report/pdf-real-names", test_pdf_real_names);
  g_test_add_func ("/report/relative-path", test_relative_path);
  ADD ("/report/unwritable", 4, test_unwritable);
  ADD ("/report/disk-full", 8, test_disk_full);
  return g_test_run ();
}
