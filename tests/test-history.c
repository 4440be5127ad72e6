/* SPDX-License-Identifier: Apache-2.0 */
/* The inspection history: schema and migrations, recording and reuse, verdicts, thresholds,
 * run listing, and the failure modes (locked, corrupt, killed mid-run). */
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "test-workbench-util.h"
#include "app-folders.h"
#include "uad-anomaly-map.h"
#include "uad-error.h"

#define MAP_N (UAD_ANOMALY_MAP_SIZE * UAD_ANOMALY_MAP_SIZE)

/* ---- Raw SQLite access, to look at and tamper with the file from outside the API ---- */

static sqlite3 *
raw_open (const char *path)
{
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  return db;
}

static void
raw_exec (sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  int rc = sqlite3_exec (db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
}

static gint64
raw_int (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  gint64 v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

static char *
raw_text (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  char *v = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_finalize (st);
  return v;
}

static UadHistory *
open_ok (const char *path)
{
  g_autoptr (GError) error = NULL;
  UadHistory *h = uad_history_open (path, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (h);
  return h;
}

static const char *const schema_tables[] = {
  "images", "inspections", "maps", "models", "runs", "thresholds", NULL
};

static void
assert_schema (const char *path)
{
  sqlite3 *db = raw_open (path);
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, UAD_HISTORY_SCHEMA_VERSION);
  g_assert_cmpint (raw_int (db, "PRAGMA application_id"), ==, 0x55414457);
  for (int i = 0; schema_tables[i]; i++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM sqlite_schema WHERE "
                                              "type = 'table' AND name = '%s'", schema_tables[i]);
      g_assert_cmpint (raw_int (db, sql), ==, 1);
    }
  g_autofree char *mode = raw_text (db, "PRAGMA journal_mode");
  g_assert_cmpstr (mode, ==, "wal");
  sqlite3_close (db);
}

/* ---- Schema ---- */

static void
test_schema (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  /* The folder is created too. */
  g_autofree char *path = g_build_filename (dir, "sub", "history.sqlite3", NULL);
  UadHistory *h = open_ok (path);
  g_assert_cmpstr (uad_history_get_path (h), ==, path);
  uad_history_close (h);
  assert_schema (path);
  /* Opening again changes nothing. */
  uad_history_close (open_ok (path));
  assert_schema (path);

  g_autofree char *def = app_history_default_path ();
  g_assert_true (g_str_has_suffix (def, "/uniad-workbench/history.sqlite3"));
  g_assert_true (g_str_has_prefix (def, g_get_user_data_dir ()));
  wb_test_remove_tree (dir);
}

static void
assert_file_is (const char *path, const char *bytes, gsize len)
{
  g_autofree char *now = NULL;
  gsize now_len = 0;
  g_assert_true (g_file_get_contents (path, &now, &now_len, NULL));
  g_assert_cmpmem (now, now_len, bytes, len);
}

static void
test_migration (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autoptr (GError) error = NULL;

  /* A version-0 file (before any migration: an SQLite file with no schema) is brought up to
   * date. */
  g_autofree char *v0 = g_build_filename (dir, "v0.sqlite3", NULL);
  sqlite3 *db = raw_open (v0);
  raw_exec (db, "CREATE TABLE t (x); DROP TABLE t; PRAGMA user_version = 0");
  sqlite3_close (db);
  g_assert_true (g_file_test (v0, G_FILE_TEST_EXISTS));
  UadHistory *h = open_ok (v0);
  wb_test_add_model (h, "m");
  uad_history_close (h);
  assert_schema (v0);

  /* Migrations run in one transaction: a version-0 history on which migration 1 fails half
   * way (a table it creates late is already there) keeps its version and gets no table. */
  g_autofree char *broken = g_build_filename (dir, "broken.sqlite3", NULL);
  db = raw_open (broken);
  raw_exec (db, "PRAGMA application_id = 1430340695; CREATE TABLE thresholds (x)");
  sqlite3_close (db);
  g_assert_null (uad_history_open (broken, 0, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "from schema version 0 to 1"));
  g_assert_nonnull (strstr (error->message, "thresholds"));
  g_clear_error (&error);
  db = raw_open (broken);
  g_assert_cmpint (raw_int (db, "PRAGMA user_version"), ==, 0);
  g_assert_cmpint (raw_int (db, "SELECT count(*) FROM sqlite_schema WHERE name = 'models'"),
                   ==, 0);
  sqlite3_close (db);

  /* Files of another program, or from a newer workbench, are refused and left as they were. */
  g_autofree char *foreign = g_build_filename (dir, "foreign.sqlite3", NULL);
  db = raw_open (foreign);
  raw_exec (db, "CREATE TABLE notes (x); INSERT INTO notes VALUES (1)");
  sqlite3_close (db);
  g_autofree char *newer = g_build_filename (dir, "newer.sqlite3", NULL);
  {
    g_autofree char *bytes = NULL;
    gsize len;
    g_assert_true (g_file_get_contents (v0, &bytes, &len, NULL));
    g_assert_true (g_file_set_contents (newer, bytes, len, NULL));
  }
  db = raw_open (newer);
  raw_exec (db, "PRAGMA user_version = 2");
  sqlite3_close (db);

  const struct { const char *path; int code; const char *says; } refused[] = {
    { foreign, UAD_ERROR_FORMAT, "another program" },
    { newer, UAD_ERROR_UNSUPPORTED, "schema version 2" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *before = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (refused[i].path, &before, &len, NULL));
      g_assert_null (uad_history_open (refused[i].path, 0, &error));
      g_assert_error (error, UAD_ERROR, refused[i].code);
      g_assert_nonnull (strstr (error->message, refused[i].says));
      g_assert_nonnull (strstr (error->message, refused[i].path));
      g_assert_nonnull (strstr (error->message, "left untouched"));
      g_clear_error (&error);
      assert_file_is (refused[i].path, before, len);
    }
  wb_test_remove_tree (dir);
}

/* ---- Recording, reopening, reuse ---- */

static void
test_record_reuse (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_autofree char *img_a = wb_test_write_png (dir, "a.png", 40, 30, 1);
  g_autofree char *img_b = wb_test_write_png (dir, "b.png", 20, 20, 2);
  g_autoptr (GError) error = NULL;
  g_autofree float *map = wb_test_make_map (3.0f, 0.3f, 0.6f);

  UadHistory *h = open_ok (path);
  gint64 model = wb_test_add_model (h, "model-1");
  g_autoptr (UadHistoryModel) m = uad_history_get_model (h, model, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->backbone, ==, "mobilenet_v2");
  g_assert_cmpuint (g_strv_length (m->classes), ==, 3);
  g_assert_cmpstr (m->classes[2], ==, "screw");
  /* The same file (by SHA-256) is the same model, wherever it moved. */
  const char *const classes[] = { "bottle", "cable", "screw", NULL };
  g_assert_cmpint (uad_history_add_model (h, "/moved/model-1.uniad", m->sha256, "mobilenet_v2",
                                          classes, &error), ==, model);
  g_assert_no_error (error);
  g_autoptr (UadHistoryModel) moved = uad_history_get_model (h, model, &error);
  g_assert_cmpstr (moved->path, ==, "/moved/model-1.uniad");

  g_auto (UadImageFileInfo) info = { 0 };
  g_assert_true (uad_image_file_info_read (img_a, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.width, ==, 40);
  g_assert_cmpint (info.height, ==, 30);
  g_assert_cmpstr (info.path, ==, img_a);
  g_assert_cmpint (strlen (info.sha256), ==, 64);
  g_assert_cmpint (info.size, >, 0);
  g_assert_cmpint (info.mtime, >, 0);
  gint64 image_a = uad_history_add_image (h, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (uad_history_add_image (h, &info, &error), ==, image_a);
  gint64 image_b = wb_test_add_image (h, img_b);
  g_assert_cmpint (image_b, !=, image_a);

  const char *const folders[] = { dir, NULL };
  gint64 run = uad_history_begin_run (h, model, folders, "first", &error);
  g_assert_no_error (error);
  gint64 in_a = uad_history_record_inspection (h, run, image_a, "bottle", 2.5, 1, 2, map,
                                               UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE,
                                               &error);
  g_assert_no_error (error);
  gint64 in_b = uad_history_record_inspection (h, run, image_b, NULL, 0.5, 1, 2, NULL, 0, 0,
                                               &error);
  g_assert_no_error (error);
  g_assert_true (uad_history_finish_run (h, run, &error));
  uad_history_close (h);

  /* Reopened: the run and its results as recorded. */
  h = open_ok (path);
  g_autoptr (UadHistoryRun) r = uad_history_get_run (h, run, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->model_id, ==, model);
  g_assert_cmpstr (r->folders[0], ==, dir);
  g_assert_null (r->folders[1]);
  g_assert_cmpstr (r->note, ==, "first");
  g_assert_cmpint (r->started, >, 0);
  g_assert_cmpint (r->finished, >=, r->started);
  g_assert_cmpint (r->n_inspections, ==, 2);
  g_assert_cmpint (r->n_thresholds, ==, 3);
  g_autoptr (GPtrArray) list = uad_history_list_inspections (h, run, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  UadInspection *a = list->pdata[0], *b = list->pdata[1];
  g_assert_cmpint (a->id, ==, in_a);
  g_assert_cmpstr (a->image_path, ==, img_a);
  g_assert_cmpstr (a->image_sha256, ==, info.sha256);
  g_assert_cmpstr (a->class_name, ==, "bottle");
  g_assert_cmpfloat (a->score, ==, 2.5);
  g_assert_cmpint (a->model_verdict, ==, UAD_VERDICT_FAIL);
  g_assert_cmpint (a->operator_verdict, ==, UAD_VERDICT_NONE);
  g_assert_true (a->has_map);
  g_assert_cmpint (a->inspected_at, >, 0);
  g_assert_cmpint (a->reviewed_at, ==, 0);
  g_assert_cmpint (b->id, ==, in_b);
  g_assert_null (b->class_name);
  g_assert_cmpint (b->model_verdict, ==, UAD_VERDICT_PASS);
  g_assert_false (b->has_map);

  /* The map comes back within its 16-bit quantisation step. */
  float *got = NULL;
  int mw = 0, mh = 0;
  g_assert_true (uad_history_get_map (h, in_a, &got, &mw, &mh, &error));
  g_assert_no_error (error);
  g_assert_cmpint (mw, ==, UAD_ANOMALY_MAP_SIZE);
  g_assert_cmpint (mh, ==, UAD_ANOMALY_MAP_SIZE);
  float lo = map[0], hi = map[0];
  double worst = 0;
  for (int i = 0; i < MAP_N; i++)
    lo = MIN (lo, map[i]), hi = MAX (hi, map[i]);
  for (int i = 0; i < MAP_N; i++)
    worst = MAX (worst, fabs (got[i] - map[i]));
  g_test_message ("map round trip: max error %.3g of range %.3g", worst, hi - lo);
  g_assert_cmpfloat (worst, <=, (hi - lo) / 65535.0 * 0.5 + 1e-6);
  g_free (got);
  g_assert_true (uad_history_get_map (h, in_b, &got, &mw, &mh, &error));
  g_assert_null (got);

  /* The same image content with the same model: the stored result is found. */
  g_autoptr (UadInspection) found = uad_history_find_result (h, r->model_sha256, img_a,
                                                             info.sha256, &error);
  g_assert_no_error (error);
  g_assert_nonnull (found);
  g_assert_cmpint (found->id, ==, in_a);
  /* Another content at the same path, or another model: nothing. */
  g_autofree char *other_sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "x", -1);
  g_assert_null (uad_history_find_result (h, r->model_sha256, img_a, other_sha, &error));
  g_assert_no_error (error);
  g_assert_null (uad_history_find_result (h, other_sha, img_a, info.sha256, &error));
  g_assert_no_error (error);

  /* Reused in a new run: map and the operator's judgement travel with it; the model's verdict
   * follows the new thresholds. */
  g_assert_true (uad_history_set_operator_verdict (h, in_a, UAD_VERDICT_PASS, "scratch", &error));
  gint64 run2 = uad_history_begin_run (h, model, folders, NULL, &error);
  g_assert_no_error (error);
  gint64 copy = uad_history_copy_inspection (h, in_a, run2, 1, 3, &error);
  g_assert_no_error (error);
  g_autoptr (UadInspection) c = uad_history_get_inspection (h, copy, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->run_id, ==, run2);
  g_assert_cmpint (c->image_id, ==, image_a);
  g_assert_cmpfloat (c->score, ==, 2.5);
  g_assert_cmpint (c->model_verdict, ==, UAD_VERDICT_REVIEW);
  g_assert_cmpint (c->operator_verdict, ==, UAD_VERDICT_PASS);
  g_assert_cmpstr (c->note, ==, "scratch");
  g_assert_true (c->has_map);
  g_autoptr (UadInspection) latest = uad_history_find_result (h, r->model_sha256, img_a,
                                                              info.sha256, &error);
  g_assert_cmpint (latest->id, ==, copy);

  /* Bad input is refused with a message, and nothing is recorded. */
  g_assert_cmpint (uad_history_record_inspection (h, 999, image_a, "bottle", 1, 1, 2, NULL, 0,
                                                  0, &error), ==, 0);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "run 999"));
  g_clear_error (&error);
  g_assert_cmpint (uad_history_record_inspection (h, run2, image_a, "bottle", NAN, 1, 2, NULL,
                                                  0, 0, &error), ==, 0);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  map[77] = INFINITY;
  g_assert_cmpint (uad_history_record_inspection (h, run2, image_a, "bottle", 1, 1, 2, map,
                                                  UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE,
                                                  &error), ==, 0);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (uad_history_get_run (h, 12345, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (uad_history_finish_run (h, 12345, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  const char *const none[] = { NULL };
  g_assert_cmpint (uad_history_begin_run (h, model, none, NULL, &error), ==, 0);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_auto (UadImageFileInfo) missing = { 0 };
  g_autofree char *nowhere = g_build_filename (dir, "nowhere.png", NULL);
  g_assert_false (uad_image_file_info_read (nowhere, &missing, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nowhere));
  g_clear_error (&error);
  g_assert_false (uad_image_file_info_read (path, &missing, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_clear_error (&error);
  g_autoptr (GPtrArray) after = uad_history_list_inspections (h, run2, &error);
  g_assert_cmpuint (after->len, ==, 1);

  uad_history_close (h);
  wb_test_remove_tree (dir);
}

/* ---- Verdicts (the rule itself is tested in test-verdict.c) ---- */

static void
test_verdicts (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_autofree char *img = wb_test_write_png (dir, "a.png", 8, 8, 3);
  UadHistory *h = open_ok (path);
  gint64 model = wb_test_add_model (h, "m");
  const char *const folders[] = { dir, NULL };
  gint64 run = uad_history_begin_run (h, model, folders, NULL, &error);
  gint64 in = uad_history_record_inspection (h, run, wb_test_add_image (h, img), "cable", 1.5,
                                             1, 2, NULL, 0, 0, &error);
  g_assert_no_error (error);

  gint64 before = g_get_real_time ();
  g_assert_true (uad_history_set_operator_verdict (h, in, UAD_VERDICT_FAIL,
                                                   "crack at the rim, 균열", &error));
  g_assert_no_error (error);
  g_autoptr (UadInspection) got = uad_history_get_inspection (h, in, &error);
  g_assert_cmpint (got->model_verdict, ==, UAD_VERDICT_REVIEW);
  g_assert_cmpint (got->operator_verdict, ==, UAD_VERDICT_FAIL);
  g_assert_cmpstr (got->note, ==, "crack at the rim, 균열");
  g_assert_cmpint (got->reviewed_at, >=, before);

  /* Cleared: back to the model's verdict alone. */
  g_assert_true (uad_history_set_operator_verdict (h, in, UAD_VERDICT_NONE, NULL, &error));
  g_autoptr (UadInspection) cleared = uad_history_get_inspection (h, in, &error);
  g_assert_cmpint (cleared->operator_verdict, ==, UAD_VERDICT_NONE);
  g_assert_null (cleared->note);
  g_assert_cmpint (cleared->reviewed_at, ==, 0);

  g_assert_false (uad_history_set_operator_verdict (h, in + 100, UAD_VERDICT_PASS, NULL, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "no inspection"));
  g_clear_error (&error);
  uad_history_close (h);
  wb_test_remove_tree (dir);
}

/* ---- Thresholds ---- */

static void
test_thresholds (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_autoptr (GError) error = NULL;
  UadHistory *h = open_ok (path);
  const char *const classes[] = { "bottle", "cable", NULL };
  gint64 model = uad_history_add_model (h, "/m.uniad", "ab12", "efficientnet_b4", classes,
                                        &error);
  g_assert_no_error (error);

  g_auto (UadThresholds) th = { 0 };
  gboolean found = TRUE;
  g_assert_true (uad_history_get_thresholds (h, model, "bottle", &th, &found, &error));
  g_assert_false (found);

  g_assert_true (uad_history_set_thresholds (h, model, "bottle", 1, 2, 0.5, "default", &error));
  const char *const folders[] = { dir, NULL };
  gint64 run1 = uad_history_begin_run (h, model, folders, NULL, &error);
  g_assert_true (uad_history_set_thresholds (h, model, "bottle", 1.2, 2.5, 0.6, "kim", &error));
  g_assert_true (uad_history_set_thresholds (h, model, "bottle", 1.1, 2.2, 0.7, "lee", &error));
  g_assert_no_error (error);

  g_assert_true (uad_history_get_thresholds (h, model, "bottle", &th, &found, &error));
  g_assert_true (found);
  g_assert_cmpfloat (th.pass_below, ==, 1.1);
  g_assert_cmpfloat (th.fail_above, ==, 2.2);
  g_assert_cmpfloat (th.pixel, ==, 0.7);
  g_assert_cmpstr (th.changed_by, ==, "lee");
  g_assert_cmpint (th.changed_at, >, 0);

  g_autoptr (GPtrArray) changes = uad_history_list_thresholds (h, model, "bottle", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, ==, 3);
  const char *who[] = { "default", "kim", "lee" };
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (((UadThresholds *) changes->pdata[i])->changed_by, ==, who[i]);
  g_autoptr (GPtrArray) none = uad_history_list_thresholds (h, model, "cable", &error);
  g_assert_cmpuint (none->len, ==, 0);

  /* A run keeps the thresholds it began with; a new run takes the latest. */
  gint64 run2 = uad_history_begin_run (h, model, folders, NULL, &error);
  g_autoptr (UadHistoryRun) r1 = uad_history_get_run (h, run1, &error);
  g_autoptr (UadHistoryRun) r2 = uad_history_get_run (h, run2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r1->n_thresholds, ==, 1);
  g_assert_cmpstr (r1->thresholds[0].class_name, ==, "bottle");
  g_assert_cmpfloat (r1->thresholds[0].fail_above, ==, 2);
  g_assert_cmpfloat (r1->thresholds[0].pixel, ==, 0.5);
  g_assert_cmpint (r2->n_thresholds, ==, 1);
  g_assert_cmpfloat (r2->thresholds[0].pass_below, ==, 1.1);

  /* A stored snapshot without fail_above (edited, another program's) is refused as damaged,
   * not read as NaN; the intact run still reads. */
  sqlite3 *db = raw_open (path);
  g_autofree char *tamper = g_strdup_printf ("UPDATE runs SET thresholds = '[{\"class\":"
                                             "\"bottle\",\"pass_below\":1,\"pixel\":0.5}]' "
                                             "WHERE id = %" G_GINT64_FORMAT, run1);
  raw_exec (db, tamper);
  sqlite3_close (db);
  g_assert_null (uad_history_get_run (h, run1, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "damaged"));
  g_clear_error (&error);
  g_autoptr (UadHistoryRun) intact = uad_history_get_run (h, run2, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (intact->thresholds[0].fail_above, ==, 2.2);

  /* A folder named in Latin-1 is refused, not stored as a broken folder list. */
  const char *const latin1[] = { "/data/caf\xe9", NULL };
  g_assert_cmpint (uad_history_begin_run (h, model, latin1, NULL, &error), ==, 0);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not UTF-8"));
  g_clear_error (&error);

  /* Refused: out of order, not finite, a class the model does not have, an unknown model. */
  g_assert_false (uad_history_set_thresholds (h, model, "bottle", 3, 2, 0.5, "x", &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (uad_history_set_thresholds (h, model, "bottle", 1, INFINITY, 0.5, "x", &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (uad_history_set_thresholds (h, model, "zipper", 1, 2, 0.5, "x", &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "zipper"));
  g_clear_error (&error);
  g_assert_false (uad_history_set_thresholds (h, model + 7, "bottle", 1, 2, 0.5, "x", &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_INVALID);
  g_clear_error (&error);
  g_autoptr (GPtrArray) still = uad_history_list_thresholds (h, model, "bottle", &error);
  g_assert_cmpuint (still->len, ==, 3);
  uad_history_close (h);
  wb_test_remove_tree (dir);
}

/* ---- Run listing ---- */

static void
test_list_runs (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_autoptr (GError) error = NULL;
  UadHistory *h = open_ok (path);
  gint64 model = wb_test_add_model (h, "m");
  g_autofree char *img = wb_test_write_png (dir, "a.png", 8, 8, 1);
  gint64 image = wb_test_add_image (h, img);
  const char *const folders[] = { dir, "/second/folder", NULL };

  /* Run 1: bottle pass, bottle fail. Run 2: cable review (operator: fail), cable pass,
   * screw pass. Run 3: empty. Thresholds 1 / 2. */
  struct { int run; const char *cls; double score; UadVerdict op; } rows[] = {
    { 0, "bottle", 0.5, UAD_VERDICT_NONE },
    { 0, "bottle", 2.5, UAD_VERDICT_NONE },
    { 1, "cable", 1.5, UAD_VERDICT_FAIL },
    { 1, "cable", 0.2, UAD_VERDICT_NONE },
    { 1, "screw", 0.3, UAD_VERDICT_NONE },
  };
  gint64 runs[3], started[3];
  for (int r = 0; r < 3; r++)
    {
      runs[r] = uad_history_begin_run (h, model, folders, NULL, &error);
      g_assert_no_error (error);
      g_autoptr (UadHistoryRun) got = uad_history_get_run (h, runs[r], &error);
      started[r] = got->started;
      g_usleep (2000); /* distinct start times */
      for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
        if (rows[i].run == r)
          {
            gint64 in = uad_history_record_inspection (h, runs[r], image, rows[i].cls,
                                                       rows[i].score, 1, 2, NULL, 0, 0, &error);
            g_assert_no_error (error);
            if (rows[i].op != UAD_VERDICT_NONE)
              g_assert_true (uad_history_set_operator_verdict (h, in, rows[i].op, NULL, &error));
          }
    }

  /* All runs, newest first, with their counts. */
  g_autoptr (GPtrArray) all = uad_history_list_runs (h, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 3);
  UadHistoryRun *r3 = all->pdata[0], *r2 = all->pdata[1], *r1 = all->pdata[2];
  g_assert_cmpint (r3->id, ==, runs[2]);
  g_assert_cmpint (r1->id, ==, runs[0]);
  g_assert_cmpstr (r1->folders[1], ==, "/second/folder");
  g_assert_cmpint (r3->n_inspections, ==, 0);
  g_assert_cmpint (r3->operator_counts[UAD_VERDICT_NONE], ==, 0);
  g_assert_cmpint (r1->n_inspections, ==, 2);
  g_assert_cmpint (r1->model_counts[UAD_VERDICT_PASS], ==, 1);
  g_assert_cmpint (r1->model_counts[UAD_VERDICT_FAIL], ==, 1);
  g_assert_cmpint (r1->final_counts[UAD_VERDICT_FAIL], ==, 1);
  g_assert_cmpint (r1->operator_counts[UAD_VERDICT_NONE], ==, 2);
  g_assert_cmpint (r2->n_inspections, ==, 3);
  g_assert_cmpint (r2->model_counts[UAD_VERDICT_PASS], ==, 2);
  g_assert_cmpint (r2->model_counts[UAD_VERDICT_REVIEW], ==, 1);
  g_assert_cmpint (r2->model_counts[UAD_VERDICT_FAIL], ==, 0);
  g_assert_cmpint (r2->operator_counts[UAD_VERDICT_FAIL], ==, 1);
  g_assert_cmpint (r2->operator_counts[UAD_VERDICT_NONE], ==, 2);
  g_assert_cmpint (r2->final_counts[UAD_VERDICT_PASS], ==, 2);
  g_assert_cmpint (r2->final_counts[UAD_VERDICT_REVIEW], ==, 0);
  g_assert_cmpint (r2->final_counts[UAD_VERDICT_FAIL], ==, 1);

  /* By class: only runs with that class, counting only it. */
  UadRunFilter f = { .class_name = "cable" };
  g_autoptr (GPtrArray) cable = uad_history_list_runs (h, &f, &error);
  g_assert_cmpuint (cable->len, ==, 1);
  UadHistoryRun *c = cable->pdata[0];
  g_assert_cmpint (c->id, ==, runs[1]);
  g_assert_cmpint (c->n_inspections, ==, 2);
  g_assert_cmpint (c->final_counts[UAD_VERDICT_PASS], ==, 1);

  /* By final verdict: fail is in runs 1 and 2; review in none (overridden by the operator). */
  f = (UadRunFilter) { .verdict = UAD_VERDICT_FAIL };
  g_autoptr (GPtrArray) fail = uad_history_list_runs (h, &f, &error);
  g_assert_cmpuint (fail->len, ==, 2);
  f = (UadRunFilter) { .verdict = UAD_VERDICT_REVIEW };
  g_autoptr (GPtrArray) review = uad_history_list_runs (h, &f, &error);
  g_assert_cmpuint (review->len, ==, 0);
  f = (UadRunFilter) { .class_name = "screw", .verdict = UAD_VERDICT_FAIL };
  g_autoptr (GPtrArray) screw_fail = uad_history_list_runs (h, &f, &error);
  g_assert_cmpuint (screw_fail->len, ==, 0);

  /* By start time: [from, to). */
  f = (UadRunFilter) { .started_from = started[1] };
  g_autoptr (GPtrArray) late = uad_history_list_runs (h, &f, &error);
  g_assert_cmpuint (late->len, ==, 2);
  f = (UadRunFilter) { .started_from = started[0], .started_to = started[1] };
  g_autoptr (GPtrArray) early = uad_history_list_runs (h, &f, &error);
  g_assert_cmpuint (early->len, ==, 1);
  g_assert_cmpint (((UadHistoryRun *) early->pdata[0])->id, ==, runs[0]);
  f = (UadRunFilter) { .started_from = started[2] + 1 };
  g_autoptr (GPtrArray) future = uad_history_list_runs (h, &f, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (future->len, ==, 0);
  uad_history_close (h);
  wb_test_remove_tree (dir);
}

/* ---- Failure modes ---- */

static void
test_locked (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_autofree char *img = wb_test_write_png (dir, "a.png", 8, 8, 1);
  g_autoptr (GError) error = NULL;
  const int timeout_ms = 300;
  UadHistory *h = uad_history_open (path, timeout_ms, &error);
  g_assert_no_error (error);
  gint64 model = wb_test_add_model (h, "m");
  gint64 image = wb_test_add_image (h, img);
  const char *const folders[] = { dir, NULL };
  gint64 run = uad_history_begin_run (h, model, folders, NULL, &error);

  /* Another connection holds the write lock: a clear error after the timeout, not a hang. */
  sqlite3 *other = raw_open (path);
  raw_exec (other, "BEGIN EXCLUSIVE");
  gint64 t0 = g_get_monotonic_time ();
  g_assert_cmpint (uad_history_record_inspection (h, run, image, "bottle", 1, 1, 2, NULL, 0, 0,
                                                  &error), ==, 0);
  double waited_ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_test_message ("locked: failed after %.0f ms: %s", waited_ms, error->message);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "in use by another program"));
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_assert_cmpfloat (waited_ms, >=, timeout_ms * 0.8);
  g_assert_cmpfloat (waited_ms, <, timeout_ms + 3000);

  /* Released: the same call works. */
  raw_exec (other, "COMMIT");
  g_assert_cmpint (uad_history_record_inspection (h, run, image, "bottle", 1, 1, 2, NULL, 0, 0,
                                                  &error), >, 0);
  g_assert_no_error (error);
  uad_history_close (h);
  sqlite3_close (other);

  /* A new file someone else is writing (not yet in WAL mode): opening fails the same way. */
  g_autofree char *fresh = g_build_filename (dir, "fresh.sqlite3", NULL);
  other = raw_open (fresh);
  raw_exec (other, "BEGIN EXCLUSIVE; CREATE TABLE x (y)");
  t0 = g_get_monotonic_time ();
  g_assert_null (uad_history_open (fresh, timeout_ms, &error));
  waited_ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_test_message ("locked at open: failed after %.0f ms: %s", waited_ms, error->message);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "in use by another program"));
  g_clear_error (&error);
  g_assert_cmpfloat (waited_ms, <, timeout_ms + 3000);
  raw_exec (other, "ROLLBACK");
  sqlite3_close (other);
  wb_test_remove_tree (dir);
}

static void
test_corrupt (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autoptr (GError) error = NULL;
  guint8 garbage[8192];
  for (guint i = 0; i < sizeof garbage; i++)
    garbage[i] = (guint8) (i * 2654435761u >> 13);
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) garbage, sizeof garbage, NULL));

  g_assert_null (uad_history_open (path, 0, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "not a workbench history database"));
  g_clear_error (&error);
  assert_file_is (path, (const char *) garbage, sizeof garbage);
  g_autofree char *listing = wb_test_list_dir (dir);
  g_assert_cmpstr (listing, ==, "history.sqlite3");

  /* A real history damaged in the middle: refused too, never repaired or rewritten. */
  g_autofree char *damaged = g_build_filename (dir, "damaged.sqlite3", NULL);
  UadHistory *h = open_ok (damaged);
  wb_test_add_model (h, "m");
  uad_history_close (h);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (damaged, &bytes, &len, NULL));
  g_assert_cmpuint (len, >=, 4096 * 3);
  memset (bytes + 4096, 0xA5, len - 4096); /* every page after the header page */
  g_assert_true (g_file_set_contents (damaged, bytes, len, NULL));
  h = uad_history_open (damaged, 0, &error);
  if (h == NULL)
    {
      g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
      g_clear_error (&error);
    }
  else
    {
      /* The header page survived, so opening may succeed; reading must then fail cleanly. */
      g_assert_null (uad_history_list_runs (h, NULL, &error));
      g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
      g_clear_error (&error);
      uad_history_close (h);
    }
  assert_file_is (damaged, bytes, len);
  wb_test_remove_tree (dir);
}

/* Setting a history aside: the file and its write-ahead log move together, byte for byte, to a
 * new name; nothing is overwritten; a new history then starts at the old path. */
static void
test_set_aside (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  const char garbage[] = "not a database, but kept";
  const char log[] = "its log";
  g_assert_true (g_file_set_contents (path, garbage, sizeof garbage, NULL));
  g_assert_true (g_file_set_contents (wal, log, sizeof log, NULL));

  g_autofree char *aside = uad_history_set_aside (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (aside, path));
  g_assert_true (g_str_has_prefix (aside + strlen (path), ".damaged-"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  assert_file_is (aside, garbage, sizeof garbage);
  g_autofree char *aside_wal = g_strconcat (aside, "-wal", NULL);
  assert_file_is (aside_wal, log, sizeof log);

  /* A second one in the same second gets a name of its own. */
  g_assert_true (g_file_set_contents (path, log, sizeof log, NULL));
  g_autofree char *second = uad_history_set_aside (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, !=, aside);
  assert_file_is (second, log, sizeof log);
  assert_file_is (aside, garbage, sizeof garbage);

  /* Nothing at path: an error, nothing moved. */
  g_assert_null (uad_history_set_aside (path, &error));
  g_assert_error (error, UAD_ERROR, UAD_ERROR_IO);
  g_clear_error (&error);

  UadHistory *h = open_ok (path);
  wb_test_add_model (h, "m");
  uad_history_close (h);
  assert_schema (path);
  wb_test_remove_tree (dir);
}

/* A history cut short (a copy stopped half way, a full disk) is refused as damaged at
 * open, left as it is, and can be set aside for a new one. */
static void
test_truncated (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *img = wb_test_write_png (dir, "a.png", 8, 8, 1);
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_autoptr (GError) error = NULL;
  UadHistory *h = open_ok (path);
  gint64 model = wb_test_add_model (h, "m");
  gint64 image = wb_test_add_image (h, img);
  gint64 run = uad_history_begin_run (h, model, (const char *const[]) { dir, NULL }, NULL, &error);
  for (int i = 0; i < 8; i++)
    {
      g_autofree float *map = wb_test_make_map (1 + i, 0.1f * i, 0.5f);
      g_assert_cmpint (uad_history_record_inspection (h, run, image, "bottle", i, 1, 2, map,
                                                      UAD_ANOMALY_MAP_SIZE,
                                                      UAD_ANOMALY_MAP_SIZE, &error), >, 0);
    }
  uad_history_close (h); /* the last connection: the log goes into the file */
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_cmpuint (len, >=, 4096 * 8);
  g_assert_true (g_file_set_contents (path, bytes, len / 2, NULL));

  g_assert_null (uad_history_open (path, 0, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, UAD_ERROR, UAD_ERROR_FORMAT);
  g_clear_error (&error);
  assert_file_is (path, bytes, len / 2);
  g_autofree char *aside = uad_history_set_aside (path, &error);
  g_assert_no_error (error);
  assert_file_is (aside, bytes, len / 2);
  h = open_ok (path);
  uad_history_close (h);
  wb_test_remove_tree (dir);
}

/* A scratch history works like a file one, and leaves no file behind. */
static void
test_scratch (void)
{
  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *img = wb_test_write_png (dir, "a.png", 8, 8, 1);
  g_autoptr (GError) error = NULL;
  UadHistory *h = uad_history_open_scratch (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (uad_history_get_path (h), ==, "");
  gint64 model = wb_test_add_model (h, "m");
  gint64 image = wb_test_add_image (h, img);
  gint64 run = uad_history_begin_run (h, model, (const char *const[]) { dir, NULL }, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (uad_history_record_inspection (h, run, image, "bottle", 1.5, 1, 2, NULL, 0, 0,
                                                  &error), >, 0);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) runs = uad_history_list_runs (h, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 1);
  uad_history_close (h);
  g_autofree char *listing = wb_test_list_dir (dir);
  g_assert_cmpstr (listing, ==, "a.png");
  wb_test_remove_tree (dir);
}

/* Kill safety: a child process records results one by one and is killed (SIGKILL, no
 * clean-up) with its run unfinished; every result it recorded is in the file. */
#define KILL_N 3

static void
test_killed_mid_run (void)
{
  if (g_test_subprocess ())
    {
      const char *path = g_getenv ("UNIAD_TEST_HISTORY");
      g_autoptr (GError) error = NULL;
      UadHistory *h = open_ok (path);
      gint64 model = wb_test_add_model (h, "m");
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *img = wb_test_write_png (dir, "a.png", 8, 8, 1);
      gint64 image = wb_test_add_image (h, img);
      const char *const folders[] = { dir, NULL };
      gint64 run = uad_history_begin_run (h, model, folders, NULL, &error);
      g_autofree float *map = wb_test_make_map (2, 0.5f, 0.5f);
      for (int i = 0; i < KILL_N; i++)
        uad_history_record_inspection (h, run, image, "bottle", i, 1, 2, map,
                                       UAD_ANOMALY_MAP_SIZE, UAD_ANOMALY_MAP_SIZE, &error);
      g_assert_no_error (error);
      kill (getpid (), SIGKILL);
    }

  g_autofree char *dir = wb_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "history.sqlite3", NULL);
  g_setenv ("UNIAD_TEST_HISTORY", path, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_assert_false (g_test_trap_has_passed ());

  g_autoptr (GError) error = NULL;
  UadHistory *h = open_ok (path);
  g_autoptr (GPtrArray) runs = uad_history_list_runs (h, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 1);
  UadHistoryRun *run = runs->pdata[0];
  g_assert_cmpint (run->finished, ==, 0);
  g_assert_cmpint (run->n_inspections, ==, KILL_N);
  g_autoptr (GPtrArray) list = uad_history_list_inspections (h, run->id, &error);
  for (int i = 0; i < KILL_N; i++)
    {
      float *map = NULL;
      int w, hh;
      UadInspection *in = list->pdata[i];
      g_assert_cmpfloat (in->score, ==, i);
      g_assert_true (uad_history_get_map (h, in->id, &map, &w, &hh, &error));
      g_assert_nonnull (map);
      g_free (map);
    }

  /* And while a run goes on, a second connection sees each result as soon as it is recorded. */
  UadHistory *reader = open_ok (path);
  gint64 live = uad_history_begin_run (h, run->model_id, (const char *const[]) { dir, NULL },
                                       NULL, &error);
  for (int i = 1; i <= 3; i++)
    {
      uad_history_record_inspection (h, live, ((UadInspection *) list->pdata[0])->image_id,
                                     "cable", 0.1 * i, 1, 2, NULL, 0, 0, &error);
      g_assert_no_error (error);
      g_autoptr (UadHistoryRun) seen = uad_history_get_run (reader, live, &error);
      g_assert_no_error (error);
      g_assert_cmpint (seen->n_inspections, ==, i);
    }
  uad_history_close (reader);
  uad_history_close (h);
  wb_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/history/schema", test_schema);
  g_test_add_func ("/history/migration", test_migration);
  g_test_add_func ("/history/record-reuse", test_record_reuse);
  g_test_add_func ("/history/verdicts", test_verdicts);
  g_test_add_func ("/history/thresholds", test_thresholds);
  g_test_add_func ("/history/list-runs", test_list_runs);
  g_test_add_func ("/history/locked", test_locked);
  g_test_add_func ("/history/corrupt", test_corrupt);
  g_test_add_func ("/history/set-aside", test_set_aside);
  g_test_add_func ("/history/truncated", test_truncated);
  g_test_add_func ("/history/scratch", test_scratch);
  g_test_add_func ("/history/killed-mid-run", test_killed_mid_run);
  return g_test_run ();
}
