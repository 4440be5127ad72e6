/* SPDX-License-Identifier: Apache-2.0 */
/* workbench-report.c: PDF and CSV export of a run (see workbench-report.h). */
#include "workbench-report.h"

#include <cairo-pdf.h>
#include <errno.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "uad-anomaly-map.h"
#include "uad-csv.h"
#include "uad-error.h"
#include "uad-heatmap.h"
#include "uad-image.h"
#include "uad-json.h"

/* ---- Shared ---- */

static gboolean
check_cancelled (GCancellable *cancellable, const char *path, GError **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return TRUE;
  /* The code GIO gives whatever a GCancellable stops, so that the workbench knows a cancelled
   * export from a failed one by one code. */
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "writing %s was cancelled", path);
  return FALSE;
}

/* Writes data to a temporary file beside path and renames it over path; on any failure GLib
 * removes the temporary file, so neither it nor a partial path is left behind. */
static gboolean
write_atomically (const char *path, const void *data, gsize len, const char *kind,
                  GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot write the %s to %s: it is a folder",
                   kind, path);
      return FALSE;
    }
  g_autofree char *dir = g_path_get_dirname (path);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot write the %s to %s: the folder %s "
                   "does not exist", kind, path, dir);
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot write the %s to %s: %s", kind, path,
                   local->message);
      return FALSE;
    }
  return TRUE;
}

/* A run with everything a report shows. */
typedef struct {
  UadHistoryRun *run;
  UadHistoryModel *model;
  GPtrArray *inspections; /* UadInspection * */
} RunData;

static void
run_data_clear (RunData *d)
{
  g_clear_pointer (&d->run, uad_history_run_free);
  g_clear_pointer (&d->model, uad_history_model_free);
  g_clear_pointer (&d->inspections, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RunData, run_data_clear)

static gboolean
run_data_load (UadHistory *history, gint64 run_id, RunData *d, GError **error)
{
  return (d->run = uad_history_get_run (history, run_id, error)) != NULL
    && (d->model = uad_history_get_model (history, d->run->model_id, error)) != NULL
    && (d->inspections = uad_history_list_inspections (history, run_id, error)) != NULL;
}

static UadVerdict
final_verdict (const UadInspection *in)
{
  return in->operator_verdict != UAD_VERDICT_NONE ? in->operator_verdict : in->model_verdict;
}

/* ---- CSV ---- */

static void
csv_number (GString *out, double v)
{
  uad_json_append_double (out, v);
  g_string_append_c (out, ',');
}

/* ISO 8601 UTC to the second, or NULL for 0 (unset). */
static char *
iso_time (gint64 usec)
{
  if (usec == 0)
    return NULL;
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  return t ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

gboolean
uad_report_write_csv (UadHistory *history, gint64 run_id, const char *path,
                      GCancellable *cancellable, GError **error)
{
  g_auto (RunData) d = { 0 };
  if (!run_data_load (history, run_id, &d, error))
    return FALSE;
  g_autoptr (GString) out = g_string_new ("path,class,score,pass_below,fail_above,model_verdict,"
                                          "operator_verdict,note,inspected_at,reviewed_at,"
                                          "heatmap_max,relative_path\r\n");
  for (guint i = 0; i < d.inspections->len; i++)
    {
      if (!check_cancelled (cancellable, path, error))
        return FALSE;
      const UadInspection *in = d.inspections->pdata[i];
      g_autofree char *inspected = iso_time (in->inspected_at);
      g_autofree char *reviewed = iso_time (in->reviewed_at);
      uad_csv_append_path (out, in->image_path, FALSE);
      uad_csv_append_field (out, in->class_name, FALSE);
      csv_number (out, in->score);
      csv_number (out, in->pass_below);
      csv_number (out, in->fail_above);
      uad_csv_append_field (out, uad_verdict_to_string (in->model_verdict), FALSE);
      uad_csv_append_field (out, uad_verdict_to_string (in->operator_verdict), FALSE);
      uad_csv_append_field (out, in->note, FALSE);
      uad_csv_append_field (out, inspected, FALSE);
      uad_csv_append_field (out, reviewed, FALSE);
      uad_json_append_double (out, uad_verdict_heatmap_max (in->fail_above));
      g_string_append_c (out, ',');
      g_autofree char *name = uad_image_relative_path (in->image_path,
                                                       (const char *const *) d.run->folders);
      uad_csv_append_path (out, name, TRUE);
    }
  return write_atomically (path, out->str, out->len, "CSV table", error);
}

/* ---- PDF ---- */

#define PAGE_W 595.276 /* A4 in points */
#define PAGE_H 841.890
#define MARGIN 48.0
#define CONTENT_W (PAGE_W - 2 * MARGIN)
#define ROW_H 15.0
#define THUMB_PX 224   /* thumbnail size in pixels: the anomaly map's resolution */
#define THUMB_PT 150.0 /* and on paper */
#define THUMBS_PER_ROW 3
#define THUMB_CAPTION_H 50.0 /* the name on up to two lines, two lines of facts */

#define FONT_TITLE "Sans Bold 18"
#define FONT_HEADING "Sans Bold 12"
#define FONT_BODY "Sans 9"
#define FONT_BOLD "Sans Bold 9"
#define FONT_SMALL "Sans 7.5"

typedef struct {
  cairo_t *cr;
  PangoLayout *layout;
  gint64 run_id;
  double y;
  int page;
} Pdf;

/* Lays text out in a box `width` wide (< 0: one line as long as it is): wrapped, and when
 * ellipsize is set cut after `lines` lines. Returns its size in points. */
static void
set_text (Pdf *p, double width, const char *font, const char *text, PangoAlignment align,
          PangoEllipsizeMode ellipsize, int lines, double *w, double *h)
{
  PangoFontDescription *desc = pango_font_description_from_string (font);
  pango_layout_set_font_description (p->layout, desc);
  pango_font_description_free (desc);
  pango_layout_set_width (p->layout, width < 0 ? -1 : (int) (width * PANGO_SCALE));
  pango_layout_set_height (p->layout, -lines);
  pango_layout_set_ellipsize (p->layout, ellipsize);
  pango_layout_set_wrap (p->layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_alignment (p->layout, align);
  pango_layout_set_text (p->layout, text ? text : "", -1);
  int pw, ph;
  pango_layout_get_size (p->layout, &pw, &ph);
  *w = (double) pw / PANGO_SCALE;
  *h = (double) ph / PANGO_SCALE;
}

/* Lays out text in a box `width` wide at (x, y): wrapped, or on one line ellipsized when
 * ellipsize is set. Returns its height. */
static double
draw_text (Pdf *p, double x, double y, double width, const char *font, const char *text,
           PangoAlignment align, PangoEllipsizeMode ellipsize)
{
  double w, h;
  set_text (p, width, font, text, align, ellipsize, 1, &w, &h);
  cairo_move_to (p->cr, x, y);
  pango_cairo_show_layout (p->cr, p->layout);
  return h;
}

static void
new_page (Pdf *p)
{
  if (p->page > 0)
    cairo_show_page (p->cr);
  p->page++;
  p->y = MARGIN;
  g_autofree char *footer = g_strdup_printf ("UniAD Workbench - run %" G_GINT64_FORMAT
                                             " - page %d", p->run_id, p->page);
  cairo_set_source_rgb (p->cr, 0.4, 0.4, 0.4);
  draw_text (p, MARGIN, PAGE_H - MARGIN + 12, CONTENT_W, FONT_SMALL, footer,
             PANGO_ALIGN_CENTER, PANGO_ELLIPSIZE_END);
  cairo_set_source_rgb (p->cr, 0, 0, 0);
}

/* Starts a new page unless height more points fit on this one. */
static void
need (Pdf *p, double height)
{
  if (p->y + height > PAGE_H - MARGIN)
    new_page (p);
}

static void
heading (Pdf *p, const char *text)
{
  need (p, 3 * ROW_H);
  p->y += 10;
  p->y += draw_text (p, MARGIN, p->y, CONTENT_W, FONT_HEADING, text, PANGO_ALIGN_LEFT,
                     PANGO_ELLIPSIZE_NONE) + 4;
}

/* "label   value" with the value wrapped in the rest of the line. */
static void
field (Pdf *p, const char *label, const char *value)
{
  const double label_w = 110;
  need (p, ROW_H);
  draw_text (p, MARGIN, p->y, label_w, FONT_BOLD, label, PANGO_ALIGN_LEFT, PANGO_ELLIPSIZE_END);
  p->y += MAX (ROW_H - 3, draw_text (p, MARGIN + label_w, p->y, CONTENT_W - label_w, FONT_BODY,
                                     value, PANGO_ALIGN_LEFT, PANGO_ELLIPSIZE_NONE)) + 2;
}

static void
rule (Pdf *p, double y, double width)
{
  cairo_set_line_width (p->cr, width);
  cairo_move_to (p->cr, MARGIN, y);
  cairo_line_to (p->cr, PAGE_W - MARGIN, y);
  cairo_stroke (p->cr);
}

/* ---- Tables sized to their content ---- */

#define MAX_COLUMNS 8
#define CELL_PAD 8.0     /* between columns */
#define MIN_WRAP_W 60.0  /* narrowest a wrapped column gets */
#define MAX_CELL_LINES 4 /* a longer note is cut (with an ellipsis) after these */

typedef struct {
  const char *title;
  PangoAlignment align;
  gboolean wraps; /* free text (names, notes): wraps only when the page cannot hold it */
} Column;

/* A table is laid out once all its cells are known, so that every column is as wide as its
 * widest cell: a figure is never cut. */
typedef struct {
  const Column *cols;
  int n;
  GPtrArray *rows; /* GStrv of n cells */
  int total_row;   /* index of a row set off by a rule (a total), or -1 */
  double width[MAX_COLUMNS];
} Table;

static void
table_init (Table *t, const Column *cols, int n)
{
  g_assert (n <= MAX_COLUMNS);
  t->cols = cols;
  t->n = n;
  t->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  t->total_row = -1;
}

static void
table_clear (Table *t)
{
  g_clear_pointer (&t->rows, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Table, table_clear)

static void
table_add (Table *t, const char *const *cells)
{
  char **row = g_new0 (char *, t->n + 1);
  for (int c = 0; c < t->n; c++)
    {
      /* Line breaks in a note become spaces: a row's cells start on one line. */
      row[c] = g_strdup (cells[c] ? cells[c] : "");
      g_strdelimit (row[c], "\r\n\t", ' ');
    }
  g_ptr_array_add (t->rows, row);
}

/* Column widths: each column's widest cell; when the page cannot hold that, the wrapping
 * columns share what the others leave (a narrow one keeps its width), and only when even that
 * is too little is every column narrowed in proportion. */
static void
table_fit (Pdf *p, Table *t)
{
  double natural[MAX_COLUMNS], total = 0, fixed = 0, w, h;
  int n_wrap = 0;
  for (int c = 0; c < t->n; c++)
    {
      set_text (p, -1, FONT_BOLD, t->cols[c].title, PANGO_ALIGN_LEFT, PANGO_ELLIPSIZE_NONE, 1,
                &natural[c], &h);
      for (guint r = 0; r < t->rows->len; r++)
        {
          set_text (p, -1, FONT_BODY, ((char **) t->rows->pdata[r])[c], PANGO_ALIGN_LEFT,
                    PANGO_ELLIPSIZE_NONE, 1, &w, &h);
          natural[c] = MAX (natural[c], w);
        }
      natural[c] = ceil (natural[c]) + CELL_PAD;
      t->width[c] = natural[c];
      total += natural[c];
      if (t->cols[c].wraps)
        n_wrap++;
      else
        fixed += natural[c];
    }
  if (total <= CONTENT_W)
    return;
  double room = CONTENT_W - fixed;
  if (room < n_wrap * MIN_WRAP_W)
    {
      for (int c = 0; c < t->n; c++)
        t->width[c] = natural[c] * CONTENT_W / total;
      return;
    }
  /* Water-filling: columns narrower than an equal share keep their width. */
  gboolean done[MAX_COLUMNS] = { FALSE };
  for (gboolean changed = TRUE; changed && n_wrap > 0;)
    {
      changed = FALSE;
      double share = room / n_wrap;
      for (int c = 0; c < t->n; c++)
        if (t->cols[c].wraps && !done[c] && natural[c] <= share)
          {
            done[c] = TRUE, changed = TRUE;
            room -= natural[c], n_wrap--;
          }
    }
  for (int c = 0; c < t->n; c++)
    if (t->cols[c].wraps && !done[c])
      t->width[c] = room / n_wrap;
}

/* Draws a row (or with draw FALSE only measures it); returns its height. */
static double
table_line (Pdf *p, const Table *t, const char *const *cells, const char *font, gboolean draw)
{
  double x = MARGIN, height = 0, w, h;
  for (int c = 0; c < t->n; c++)
    {
      set_text (p, t->width[c] - CELL_PAD, font, cells[c], t->cols[c].align,
                PANGO_ELLIPSIZE_END, MAX_CELL_LINES, &w, &h);
      if (draw)
        {
          cairo_move_to (p->cr, x, p->y);
          pango_cairo_show_layout (p->cr, p->layout);
        }
      height = MAX (height, h);
      x += t->width[c];
    }
  return MAX (ROW_H, height + 3);
}

static void
table_header (Pdf *p, const Table *t)
{
  const char *titles[MAX_COLUMNS];
  for (int c = 0; c < t->n; c++)
    titles[c] = t->cols[c].title;
  p->y += table_line (p, t, titles, FONT_BOLD, TRUE);
  rule (p, p->y - 2, 0.6);
  p->y += 1;
}

/* The whole table; on each new page the header comes again. */
static void
table_draw (Pdf *p, Table *t)
{
  table_fit (p, t);
  table_header (p, t);
  for (guint r = 0; r < t->rows->len; r++)
    {
      const char *const *cells = (const char *const *) t->rows->pdata[r];
      double h = table_line (p, t, cells, FONT_BODY, FALSE);
      if (p->y + h > PAGE_H - MARGIN)
        {
          new_page (p);
          table_header (p, t);
        }
      if ((int) r == t->total_row)
        rule (p, p->y - 2, 0.3);
      p->y += table_line (p, t, cells, FONT_BODY, TRUE);
    }
}

static char *
local_time (gint64 usec)
{
  if (usec == 0)
    return NULL;
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  return t ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S") : NULL;
}

static const char *
verdict_text (UadVerdict v)
{
  const char *s = uad_verdict_to_string (v);
  return s ? s : "-";
}

/* ---- Title page: summary, model, thresholds ---- */

static void
draw_summary (Pdf *p, const RunData *d)
{
  const UadHistoryRun *run = d->run;
  g_autofree char *title = g_strdup_printf ("Inspection report - run %" G_GINT64_FORMAT, run->id);
  p->y += draw_text (p, MARGIN, p->y, CONTENT_W, FONT_TITLE, title, PANGO_ALIGN_LEFT,
                     PANGO_ELLIPSIZE_NONE) + 8;

  heading (p, "Summary");
  g_autofree char *started = local_time (run->started);
  g_autofree char *finished = local_time (run->finished);
  g_autofree char *now = local_time (g_get_real_time ());
  g_autofree char *folders = g_strjoinv ("\n", run->folders);
  int reviewed = run->n_inspections - run->operator_counts[UAD_VERDICT_NONE];
  g_autofree char *images = g_strdup_printf ("%d (%d reviewed by an operator)",
                                             run->n_inspections, reviewed);
  g_autofree char *verdicts = g_strdup_printf ("%d pass, %d review, %d fail",
                                               run->final_counts[UAD_VERDICT_PASS],
                                               run->final_counts[UAD_VERDICT_REVIEW],
                                               run->final_counts[UAD_VERDICT_FAIL]);
  g_autofree char *model_verdicts = g_strdup_printf ("%d pass, %d review, %d fail",
                                                     run->model_counts[UAD_VERDICT_PASS],
                                                     run->model_counts[UAD_VERDICT_REVIEW],
                                                     run->model_counts[UAD_VERDICT_FAIL]);
  field (p, "Started", started);
  field (p, "Finished", finished ? finished : "not finished (interrupted or still running)");
  field (p, run->folders[0] && run->folders[1] ? "Folders" : "Folder", folders);
  field (p, "Images", images);
  field (p, "Verdicts", verdicts);
  field (p, "Model verdicts", model_verdicts);
  if (run->note)
    field (p, "Note", run->note);
  field (p, "Report written", now);
  need (p, ROW_H);
  p->y += draw_text (p, MARGIN, p->y, CONTENT_W, FONT_SMALL,
                     "A verdict is the operator's where given, otherwise the model's: pass "
                     "below the class's pass threshold, fail above its fail threshold, review "
                     "between.", PANGO_ALIGN_LEFT, PANGO_ELLIPSIZE_NONE);

  heading (p, "Model");
  g_autofree char *classes = g_strjoinv (", ", d->model->classes);
  field (p, "File", d->model->path);
  field (p, "SHA-256", d->model->sha256);
  field (p, "Backbone", d->model->backbone);
  field (p, "Classes", classes);

  heading (p, "Thresholds when the run began");
  if (run->n_thresholds == 0)
    {
      field (p, "", "none were set");
      return;
    }
  static const Column cols[] = {
    { "Class", PANGO_ALIGN_LEFT, TRUE },
    { "Pass below", PANGO_ALIGN_RIGHT, FALSE },
    { "Fail above", PANGO_ALIGN_RIGHT, FALSE },
    { "Pixel", PANGO_ALIGN_RIGHT, FALSE },
  };
  g_auto (Table) table = { 0 };
  table_init (&table, cols, G_N_ELEMENTS (cols));
  for (int i = 0; i < run->n_thresholds; i++)
    {
      const UadClassThresholds *t = &run->thresholds[i];
      char pass[32], fail[32], pixel[32];
      g_snprintf (pass, sizeof pass, "%.4f", t->pass_below);
      g_snprintf (fail, sizeof fail, "%.4f", t->fail_above);
      g_snprintf (pixel, sizeof pixel, "%.4f", t->pixel);
      const char *cells[] = { t->class_name, pass, fail, pixel };
      table_add (&table, cells);
    }
  table_draw (p, &table);
}

/* ---- Counts per class ---- */

typedef struct {
  char *name;
  int n, reviewed;
  int final[UAD_N_VERDICTS];
} ClassCount;

static void
class_count_free (gpointer c)
{
  g_free (((ClassCount *) c)->name);
  g_free (c);
}

static ClassCount *
class_count (GPtrArray *counts, const char *name)
{
  for (guint i = 0; i < counts->len; i++)
    if (strcmp (((ClassCount *) counts->pdata[i])->name, name) == 0)
      return counts->pdata[i];
  ClassCount *c = g_new0 (ClassCount, 1);
  c->name = g_strdup (name);
  g_ptr_array_add (counts, c);
  return c;
}

static void
count_row (Table *t, const ClassCount *c)
{
  char num[5][16];
  g_snprintf (num[0], 16, "%d", c->n);
  g_snprintf (num[1], 16, "%d", c->final[UAD_VERDICT_PASS]);
  g_snprintf (num[2], 16, "%d", c->final[UAD_VERDICT_REVIEW]);
  g_snprintf (num[3], 16, "%d", c->final[UAD_VERDICT_FAIL]);
  g_snprintf (num[4], 16, "%d", c->reviewed);
  const char *cells[] = { c->name, num[0], num[1], num[2], num[3], num[4] };
  table_add (t, cells);
}

static void
draw_class_counts (Pdf *p, const RunData *d)
{
  /* The model's classes in its order, then images of unknown class. */
  g_autoptr (GPtrArray) counts = g_ptr_array_new_with_free_func (class_count_free);
  for (int c = 0; d->model->classes[c]; c++)
    class_count (counts, d->model->classes[c]);
  ClassCount total = { .name = (char *) "All" };
  for (guint i = 0; i < d->inspections->len; i++)
    {
      const UadInspection *in = d->inspections->pdata[i];
      ClassCount *c = class_count (counts, in->class_name ? in->class_name : "(unknown class)");
      UadVerdict v = final_verdict (in);
      gboolean reviewed = in->operator_verdict != UAD_VERDICT_NONE;
      c->n++, c->final[v]++, c->reviewed += reviewed;
      total.n++, total.final[v]++, total.reviewed += reviewed;
    }
  heading (p, "Verdicts per class");
  static const Column cols[] = {
    { "Class", PANGO_ALIGN_LEFT, TRUE },
    { "Images", PANGO_ALIGN_RIGHT, FALSE },
    { "Pass", PANGO_ALIGN_RIGHT, FALSE },
    { "Review", PANGO_ALIGN_RIGHT, FALSE },
    { "Fail", PANGO_ALIGN_RIGHT, FALSE },
    { "Reviewed", PANGO_ALIGN_RIGHT, FALSE },
  };
  g_auto (Table) table = { 0 };
  table_init (&table, cols, G_N_ELEMENTS (cols));
  for (guint i = 0; i < counts->len; i++)
    if (((ClassCount *) counts->pdata[i])->n > 0)
      count_row (&table, counts->pdata[i]);
  table.total_row = (int) table.rows->len;
  count_row (&table, &total);
  table_draw (p, &table);
}

/* ---- Score histograms per class ---- */

#define HIST_BINS 40
#define HIST_H 110.0   /* the plot's height */
#define HIST_AXIS 34.0 /* room left of the plot for the counts */

static void
verdict_colour (Pdf *p, UadVerdict v)
{
  static const double rgb[UAD_N_VERDICTS][3] = {
    { 0.6, 0.6, 0.6 }, { 0.20, 0.62, 0.32 }, { 0.93, 0.62, 0.10 }, { 0.80, 0.18, 0.18 },
  };
  cairo_set_source_rgb (p->cr, rgb[v][0], rgb[v][1], rgb[v][2]);
}

/* A threshold as a dashed line across the plot, its value above it: the pass threshold's to
 * the left of its line, the fail threshold's to the right, a line higher when it would touch
 * the label at `after` (the pass label's right end). Returns the label's right end. */
static double
threshold_line (Pdf *p, double x, double top, const char *label, UadVerdict v, double after)
{
  verdict_colour (p, v);
  const double dash[] = { 3, 2 };
  cairo_set_dash (p->cr, dash, 2, 0);
  cairo_set_line_width (p->cr, 1);
  cairo_move_to (p->cr, x, top);
  cairo_line_to (p->cr, x, top + HIST_H);
  cairo_stroke (p->cr);
  cairo_set_dash (p->cr, NULL, 0, 0);
  double w, h;
  set_text (p, -1, FONT_SMALL, label, PANGO_ALIGN_LEFT, PANGO_ELLIPSIZE_NONE, 1, &w, &h);
  double left = CLAMP (v == UAD_VERDICT_PASS ? x - w - 2 : x + 2, MARGIN, PAGE_W - MARGIN - w);
  cairo_move_to (p->cr, left, top - (left < after + 4 ? 2 : 1) * (h + 1));
  pango_cairo_show_layout (p->cr, p->layout);
  cairo_set_source_rgb (p->cr, 0, 0, 0);
  return left + w;
}

/* The scores of one class's images (class_name NULL: of unknown class) in bins coloured by the
 * model's verdict, with the pass and fail thresholds the verdicts were decided with (the last
 * image's, should they have moved during the run). */
static void
draw_histogram (Pdf *p, const RunData *d, const char *class_name)
{
  double lo = INFINITY, hi = -INFINITY, pass = 0, fail = 0;
  int n = 0;
  for (guint i = 0; i < d->inspections->len; i++)
    {
      const UadInspection *in = d->inspections->pdata[i];
      if (g_strcmp0 (in->class_name, class_name) != 0 || !isfinite (in->score))
        continue;
      lo = MIN (lo, in->score), hi = MAX (hi, in->score);
      pass = in->pass_below, fail = in->fail_above;
      n++;
    }
  if (n == 0)
    return;
  lo = MIN (lo, pass), hi = MAX (hi, fail);
  double span = hi - lo > 1e-9 ? hi - lo : 1;
  /* A little room either side; scores of 0 and more keep the axis from 0. */
  lo = lo >= 0 ? MAX (0, lo - 0.02 * span) : lo - 0.02 * span;
  hi += 0.04 * span, span = hi - lo;
  int bins[HIST_BINS][UAD_N_VERDICTS] = { { 0 } }, top = 1;
  for (guint i = 0; i < d->inspections->len; i++)
    {
      const UadInspection *in = d->inspections->pdata[i];
      if (g_strcmp0 (in->class_name, class_name) != 0 || !isfinite (in->score))
        continue;
      int b = CLAMP ((int) ((in->score - lo) / span * HIST_BINS), 0, HIST_BINS - 1);
      bins[b][in->model_verdict]++;
    }
  for (int b = 0; b < HIST_BINS; b++)
    {
      int sum = 0;
      for (int v = 0; v < UAD_N_VERDICTS; v++)
        sum += bins[b][v];
      top = MAX (top, sum);
    }

  need (p, HIST_H + 5 * ROW_H);
  g_autofree char *title = g_strdup_printf ("%s - %d %s", class_name ? class_name
                                            : "(unknown class)", n, n == 1 ? "image" : "images");
  p->y += draw_text (p, MARGIN, p->y, CONTENT_W, FONT_BOLD, title, PANGO_ALIGN_LEFT,
                     PANGO_ELLIPSIZE_NONE) + 2 * ROW_H;
  const double x0 = MARGIN + HIST_AXIS, plot_w = CONTENT_W - HIST_AXIS, y0 = p->y;
  const double bar_w = plot_w / HIST_BINS;
  for (int b = 0; b < HIST_BINS; b++)
    {
      double y = y0 + HIST_H;
      for (int v = 0; v < UAD_N_VERDICTS; v++)
        {
          double h = HIST_H * bins[b][v] / top;
          verdict_colour (p, v);
          cairo_rectangle (p->cr, x0 + b * bar_w + 0.5, y - h, bar_w - 1, h);
          cairo_fill (p->cr);
          y -= h;
        }
    }
  cairo_set_source_rgb (p->cr, 0, 0, 0);
  cairo_set_line_width (p->cr, 0.6);
  cairo_move_to (p->cr, x0, y0);
  cairo_line_to (p->cr, x0, y0 + HIST_H);
  cairo_line_to (p->cr, x0 + plot_w, y0 + HIST_H);
  cairo_stroke (p->cr);
  char label[64];
  g_snprintf (label, sizeof label, "%d", top);
  draw_text (p, MARGIN, y0 - 4, HIST_AXIS - 4, FONT_SMALL, label, PANGO_ALIGN_RIGHT,
             PANGO_ELLIPSIZE_NONE);
  draw_text (p, MARGIN, y0 + HIST_H - 8, HIST_AXIS - 4, FONT_SMALL, "0", PANGO_ALIGN_RIGHT,
             PANGO_ELLIPSIZE_NONE);
  g_snprintf (label, sizeof label, "pass below %.4f", pass);
  double after = threshold_line (p, x0 + (pass - lo) / span * plot_w, y0, label,
                                 UAD_VERDICT_PASS, -G_MAXDOUBLE);
  if (fail > pass)
    {
      g_snprintf (label, sizeof label, "fail above %.4f", fail);
      threshold_line (p, x0 + (fail - lo) / span * plot_w, y0, label, UAD_VERDICT_FAIL, after);
    }
  p->y = y0 + HIST_H + 2;
  g_snprintf (label, sizeof label, "%.4f", lo);
  draw_text (p, x0, p->y, plot_w, FONT_SMALL, label, PANGO_ALIGN_LEFT, PANGO_ELLIPSIZE_NONE);
  g_snprintf (label, sizeof label, "%.4f", hi);
  draw_text (p, x0, p->y, plot_w, FONT_SMALL, label, PANGO_ALIGN_RIGHT, PANGO_ELLIPSIZE_NONE);
  draw_text (p, x0, p->y, plot_w, FONT_SMALL, "image score", PANGO_ALIGN_CENTER,
             PANGO_ELLIPSIZE_NONE);
  p->y += 2 * ROW_H;
}

static void
draw_histograms (Pdf *p, const RunData *d)
{
  new_page (p);
  heading (p, "Scores per class");
  need (p, ROW_H);
  p->y += draw_text (p, MARGIN, p->y, CONTENT_W, FONT_SMALL,
                     "Images by score, coloured by the model's verdict (green pass, amber "
                     "review, red fail); the dashed lines are the class's thresholds.",
                     PANGO_ALIGN_LEFT, PANGO_ELLIPSIZE_NONE) + ROW_H;
  for (int c = 0; d->model->classes[c]; c++)
    draw_histogram (p, d, d->model->classes[c]);
  draw_histogram (p, d, NULL);
}

/* ---- All images ---- */

static gboolean
draw_image_table (Pdf *p, const RunData *d, GCancellable *cancellable, const char *path,
                  GError **error)
{
  static const Column cols[] = {
    { "Image", PANGO_ALIGN_LEFT, TRUE },
    { "Class", PANGO_ALIGN_LEFT, TRUE },
    { "Score", PANGO_ALIGN_RIGHT, FALSE },
    { "Model", PANGO_ALIGN_LEFT, FALSE },
    { "Operator", PANGO_ALIGN_LEFT, FALSE },
    { "Note", PANGO_ALIGN_LEFT, TRUE },
  };
  g_auto (Table) table = { 0 };
  table_init (&table, cols, G_N_ELEMENTS (cols));
  for (guint i = 0; i < d->inspections->len; i++)
    {
      if (!check_cancelled (cancellable, path, error))
        return FALSE;
      const UadInspection *in = d->inspections->pdata[i];
      g_autofree char *name = uad_image_relative_path (in->image_path,
                                                       (const char *const *) d->run->folders);
      char score[32];
      g_snprintf (score, sizeof score, "%.4f", in->score);
      const char *cells[] = {
        name, in->class_name ? in->class_name : "-", score, verdict_text (in->model_verdict),
        verdict_text (in->operator_verdict), in->note ? in->note : "",
      };
      table_add (&table, cells);
    }
  new_page (p);
  heading (p, "All images");
  table_draw (p, &table);
  return TRUE;
}

/* ---- Thumbnails of fails and reviews ---- */

/* The image scaled to fit THUMB_PX (aspect kept) with its anomaly map blended over it, as a
 * cairo surface; NULL with *problem set when the image cannot be read. A missing or damaged map
 * gives the plain image and a *problem. */
static cairo_surface_t *
thumbnail (UadHistory *history, const UadInspection *in, char **problem)
{
  g_autoptr (GError) e = NULL;
  g_autoptr (UadImage) img = uad_image_load (in->image_path, &e);
  if (img == NULL)
    {
      *problem = g_strdup (e->message);
      return NULL;
    }
  int side = MAX (img->width, img->height);
  int w = MAX (1, (int) lround ((double) THUMB_PX * img->width / side));
  int h = MAX (1, (int) lround ((double) THUMB_PX * img->height / side));
  g_autoptr (UadImage) small = uad_image_resize_bilinear (img, w, h);
  g_autofree float *map = NULL;
  int mw = 0, mh = 0;
  if (!uad_history_get_map (history, in->id, &map, &mw, &mh, &e))
    *problem = g_strdup (e->message);
  else if (map == NULL)
    *problem = g_strdup ("no anomaly map stored");
  else
    {
      /* The fixed scale of uad-verdict.h, as the workbench and `uniad infer --heatmaps`. */
      uad_heatmap_overlay (small, map, mw, mh, 0, uad_verdict_heatmap_max (in->fail_above), 0.5f,
                           UAD_COLORMAP_JET);
    }
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  guint8 *data = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        const guint8 *px = small->rgb + 3 * ((gsize) y * w + x);
        ((guint32 *) (data + (gsize) y * stride))[x] = (guint32) px[0] << 16 | px[1] << 8 | px[2];
      }
  cairo_surface_mark_dirty (s);
  return s;
}

static void
draw_thumbnail (Pdf *p, UadHistory *history, const RunData *d, const UadInspection *in,
                double x, double y)
{
  g_autofree char *problem = NULL;
  cairo_surface_t *s = thumbnail (history, in, &problem);
  if (s)
    {
      int w = cairo_image_surface_get_width (s), h = cairo_image_surface_get_height (s);
      double scale = THUMB_PT / MAX (w, h);
      cairo_save (p->cr);
      cairo_translate (p->cr, x, y);
      cairo_scale (p->cr, scale, scale);
      cairo_set_source_surface (p->cr, s, 0, 0);
      cairo_pattern_set_filter (cairo_get_source (p->cr), CAIRO_FILTER_GOOD);
      cairo_paint (p->cr);
      cairo_restore (p->cr);
      cairo_surface_destroy (s);
    }
  else
    {
      cairo_set_line_width (p->cr, 0.5);
      cairo_rectangle (p->cr, x, y, THUMB_PT, THUMB_PT);
      cairo_stroke (p->cr);
    }
  if (problem)
    draw_text (p, x + 4, y + 4, THUMB_PT - 8, FONT_SMALL, problem, PANGO_ALIGN_LEFT,
               PANGO_ELLIPSIZE_NONE);

  g_autofree char *name = uad_image_relative_path (in->image_path,
                                                   (const char *const *) d->run->folders);
  g_autofree char *line = g_strdup_printf ("%s, score %.4f\nmodel %s, operator %s",
                                           in->class_name ? in->class_name : "unknown class",
                                           in->score, verdict_text (in->model_verdict),
                                           verdict_text (in->operator_verdict));
  /* The whole name, wrapped in the cell: "test/crack/000.png" is told apart by its folders. */
  double ty = y + THUMB_PT + 2, w, h;
  set_text (p, CONTENT_W / THUMBS_PER_ROW - 8, FONT_BOLD, name, PANGO_ALIGN_LEFT,
            PANGO_ELLIPSIZE_END, 2, &w, &h);
  cairo_move_to (p->cr, x, ty);
  pango_cairo_show_layout (p->cr, p->layout);
  ty += h;
  draw_text (p, x, ty, THUMB_PT, FONT_SMALL, line, PANGO_ALIGN_LEFT, PANGO_ELLIPSIZE_END);
}

/* Images the model or the operator judged review or fail. */
static gboolean
wants_thumbnail (const UadInspection *in)
{
  return in->model_verdict != UAD_VERDICT_PASS || final_verdict (in) != UAD_VERDICT_PASS;
}

static gboolean
draw_thumbnails (Pdf *p, UadHistory *history, const RunData *d, GCancellable *cancellable,
                 const char *path, GError **error)
{
  const double cell_w = CONTENT_W / THUMBS_PER_ROW, cell_h = THUMB_PT + THUMB_CAPTION_H + 12;
  int col = 0;
  gboolean any = FALSE;
  for (guint i = 0; i < d->inspections->len; i++)
    {
      const UadInspection *in = d->inspections->pdata[i];
      if (!wants_thumbnail (in))
        continue;
      if (!check_cancelled (cancellable, path, error))
        return FALSE;
      if (!any)
        {
          new_page (p);
          heading (p, "Images judged review or fail, with their anomaly maps");
          any = TRUE;
        }
      if (col == 0)
        need (p, cell_h);
      draw_thumbnail (p, history, d, in, MARGIN + col * cell_w, p->y);
      if (++col == THUMBS_PER_ROW)
        col = 0, p->y += cell_h;
    }
  return TRUE;
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

gboolean
uad_report_write_pdf (UadHistory *history, gint64 run_id, const char *path,
                      GCancellable *cancellable, GError **error)
{
  g_auto (RunData) d = { 0 };
  if (!run_data_load (history, run_id, &d, error))
    return FALSE;

  /* Built in memory, then written in one go (see write_atomically). */
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  cairo_surface_t *surface = cairo_pdf_surface_create_for_stream (append_bytes, bytes,
                                                                  PAGE_W, PAGE_H);
  g_autofree char *title = g_strdup_printf ("Inspection report - run %" G_GINT64_FORMAT, run_id);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "UniAD Workbench");
  Pdf p = { .cr = cairo_create (surface), .run_id = run_id };
  p.layout = pango_cairo_create_layout (p.cr);
  /* The page is measured in points: "Sans 9" is 9 pt on paper (Pango's default of 96 dpi made
   * every font a third larger than named, and the tables too wide for A4). */
  pango_cairo_context_set_resolution (pango_layout_get_context (p.layout), 72);
  pango_layout_context_changed (p.layout);

  new_page (&p);
  draw_summary (&p, &d);
  draw_class_counts (&p, &d);
  draw_histograms (&p, &d);
  gboolean ok = draw_image_table (&p, &d, cancellable, path, error)
    && draw_thumbnails (&p, history, &d, cancellable, path, error);

  g_object_unref (p.layout);
  cairo_destroy (p.cr);
  cairo_surface_finish (surface);
  cairo_status_t status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (!ok)
    return FALSE;
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, UAD_ERROR, UAD_ERROR_IO, "cannot make the PDF report %s: %s", path,
                   cairo_status_to_string (status));
      return FALSE;
    }
  return write_atomically (path, bytes->data, bytes->len, "PDF report", error);
}
