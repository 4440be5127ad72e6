/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-study-report.h"

#include "cli-study-plot.h"

#include "uad-json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const trainings[2] = { "unified", "separate" };

/* One column pair of the table: a model trained one way. */
typedef struct {
  const char *model;
  int training; /* 0 unified, 1 separate */
} Column;

static GArray *
columns (const CliNetStudy *study, int modes)
{
  GArray *cols = g_array_new (FALSE, FALSE, sizeof (Column));
  for (int c = 0; c < study->n_contenders; c++)
    for (int t = 0; t < 2; t++)
      if (modes & (t == 0 ? CLI_NET_STUDY_UNIFIED : CLI_NET_STUDY_SEPARATE))
        g_array_append_val (cols, ((Column) { study->contenders[c].name, t }));
  return cols;
}

/* values [n_classes + 1 (mean), n_cols, 2 (image, pixel)]. */
static double *
table_values (const CliNetStudyResult *r, const GArray *cols)
{
  const UadDataset *ds = r->ds;
  int n_cols = (int) cols->len;
  double *v = g_new (double, (ds->n_classes + 1) * n_cols * 2);
  for (int i = 0; i < n_cols; i++)
    {
      const Column *col = &g_array_index (cols, Column, i);
      double sum[2] = { 0, 0 };
      int n[2] = { 0, 0 };
      for (int k = 0; k < ds->n_classes; k++)
        {
          double *cell = v + (k * n_cols + i) * 2;
          const char *name = ds->classes[k].name;
          if (!cli_net_study_last (r, col->model, col->training ? name : "all", name, cell, cell + 1))
            cell[0] = cell[1] = NAN;
          for (int w = 0; w < 2; w++)
            if (!isnan (cell[w]))
              sum[w] += cell[w], n[w]++;
        }
      double *mean = v + (ds->n_classes * n_cols + i) * 2;
      for (int w = 0; w < 2; w++)
        mean[w] = n[w] ? sum[w] / n[w] : NAN;
    }
  return v;
}

static void
print_table (const CliNetStudyResult *r, const GArray *cols, const double *v)
{
  const UadDataset *ds = r->ds;
  int n_cols = (int) cols->len;
  printf ("image and pixel AUROC at the last checkpoint (unified: one network for every class; "
          "separate: one per class)\n%-16s", "");
  for (int i = 0; i < n_cols; i++)
    printf (" %-19.19s", g_array_index (cols, Column, i).model);
  printf ("\n%-16s", "");
  for (int i = 0; i < n_cols; i++)
    printf (" %-19s", trainings[g_array_index (cols, Column, i).training]);
  printf ("\n%-16s", "class");
  for (int i = 0; i < n_cols; i++)
    printf (" %9s %9s", "image", "pixel");
  printf ("\n");
  for (int k = 0; k <= ds->n_classes; k++)
    {
      printf ("%-16s", k < ds->n_classes ? ds->classes[k].name : "mean");
      for (int i = 0; i < n_cols * 2; i++)
        {
          double x = v[k * n_cols * 2 + i];
          if (isnan (x))
            printf (" %9s", "-");
          else
            printf (" %9.1f", x);
        }
      printf ("\n");
    }
}

static gboolean
write_tables (const CliNetStudy *study, const CliNetStudyResult *r, const GArray *cols,
              const double *v, GError **error)
{
  const UadDataset *ds = r->ds;
  int n_cols = (int) cols->len;
  g_autoptr (GString) csv = g_string_new ("class");
  g_autoptr (GString) md = g_string_new ("| class |");
  g_autoptr (GString) rule = g_string_new ("|---|");
  for (int i = 0; i < n_cols; i++)
    {
      const Column *col = &g_array_index (cols, Column, i);
      for (int w = 0; w < 2; w++)
        {
          const char *what = w ? "pixel" : "image";
          g_string_append_printf (csv, ",%s:%s:%s_auroc", col->model, trainings[col->training], what);
          g_string_append_printf (md, " %s %s %s |", col->model, trainings[col->training], what);
          g_string_append (rule, "---:|");
        }
    }
  g_string_append_printf (md, "\n%s\n", rule->str);
  g_string_append_c (csv, '\n');
  for (int k = 0; k <= ds->n_classes; k++)
    {
      const char *name = k < ds->n_classes ? ds->classes[k].name : "mean";
      g_string_append (csv, name);
      g_string_append_printf (md, "| %s |", name);
      for (int i = 0; i < n_cols * 2; i++)
        {
          double x = v[k * n_cols * 2 + i];
          g_string_append_c (csv, ',');
          cli_study_csv_number (csv, x, 2);
          if (isnan (x))
            g_string_append (md, " - |");
          else
            g_string_append_printf (md, " %.1f |", x);
        }
      g_string_append_c (csv, '\n');
      g_string_append_c (md, '\n');
    }
  g_autofree char *csv_name = g_strdup_printf ("%s-table.csv", study->name);
  g_autofree char *md_name = g_strdup_printf ("%s-table.md", study->name);
  g_autofree char *csv_path = cli_study_out_file (r->out, csv_name);
  g_autofree char *md_path = cli_study_out_file (r->out, md_name);
  if (!g_file_set_contents (csv_path, csv->str, (gssize) csv->len, error)
      || !g_file_set_contents (md_path, md->str, (gssize) md->len, error))
    return FALSE;
  cli_study_out_add_file (r->out, "table", csv_name);
  cli_study_out_add_file (r->out, "table_markdown", md_name);
  printf ("wrote %s and %s\n", csv_path, md_path);
  return TRUE;
}

static void
summarise_table (const CliNetStudyResult *r, const GArray *cols, const double *v, GString *j)
{
  const double *mean = v + r->ds->n_classes * cols->len * 2;
  g_string_append (j, "\"table\": {");
  for (guint i = 0; i < cols->len; i++)
    {
      const Column *col = &g_array_index (cols, Column, i);
      gboolean first_of_model = i == 0 || strcmp (g_array_index (cols, Column, i - 1).model, col->model) != 0;
      gboolean last_of_model = i + 1 == cols->len || strcmp (g_array_index (cols, Column, i + 1).model, col->model) != 0;
      if (first_of_model)
        {
          g_string_append (j, i ? ", " : "");
          uad_json_append_string (j, col->model);
          g_string_append (j, ": {");
        }
      else
        g_string_append (j, ", ");
      g_string_append_printf (j, "\"%s\": {\"image_auroc\": ", trainings[col->training]);
      uad_json_append_double (j, mean[i * 2]);
      g_string_append (j, ", \"pixel_auroc\": ");
      uad_json_append_double (j, mean[i * 2 + 1]);
      g_string_append (j, last_of_model ? "}}" : "}");
    }
  g_string_append (j, "}");
}

/* The unified networks' curves from NAME.csv, one series per model, into series, against each
 * network's minutes of training when the study had a time budget (networks of one budget run
 * very different numbers of epochs) and against epochs otherwise; also their peaks and ends into
 * the summary. Returns the largest x. */
static double
curves (const CliNetStudy *study, const CliNetStudyResult *r, GPtrArray *series, GString *j)
{
  GPtrArray *rows = cli_study_csv_rows (r->curves);
  gboolean by_minutes = r->args->minutes > 0;
  double last_x = 0;
  g_string_append (j, ", \"curves\": {");
  gboolean first = TRUE;
  for (int c = 0; c < study->n_contenders; c++)
    {
      const char *model = study->contenders[c].name;
      CliStudySeries *s = cli_study_series_new (model);
      g_ptr_array_add (series, s);
      int peak = 0, last = 0;
      double peak_image = -INFINITY;
      for (guint i = 0; i < rows->len; i++)
        {
          char **f = rows->pdata[i];
          if (strcmp (f[0], model) != 0 || strcmp (f[1], "all") != 0)
            continue;
          int epoch = atoi (f[2]);
          double x = by_minutes ? cli_study_csv_value (f[3]) : epoch;
          double image = cli_study_csv_value (f[5]);
          cli_study_series_add (s, x, image, cli_study_csv_value (f[6]), cli_study_csv_value (f[4]));
          last_x = MAX (last_x, x);
          last = epoch;
          if (image > peak_image)
            peak_image = image, peak = epoch;
        }
      guint n = s->minutes->len;
      if (n == 0)
        continue;
      g_string_append (j, first ? "" : ", ");
      first = FALSE;
      uad_json_append_string (j, model);
      g_string_append_printf (j, ": {\"peak_epoch\": %d, \"peak_image_auroc\": ", peak);
      uad_json_append_double (j, peak_image);
      g_string_append_printf (j, ", \"last_epoch\": %d, \"last_image_auroc\": ", last);
      uad_json_append_double (j, g_array_index (s->image, double, n - 1));
      g_string_append (j, ", \"first_loss\": ");
      uad_json_append_double (j, g_array_index (s->loss, double, 0));
      g_string_append (j, ", \"last_loss\": ");
      uad_json_append_double (j, g_array_index (s->loss, double, n - 1));
      g_string_append (j, "}");
    }
  g_string_append (j, "}");
  return last_x > 0 ? last_x : 1;
}

gboolean
cli_study_report (const CliNetStudy *study, const CliNetStudyResult *r, GString *summary,
                  GError **error)
{
  g_autoptr (GArray) cols = columns (study, r->modes);
  g_autofree double *v = table_values (r, cols);
  print_table (r, cols, v);
  if (!write_tables (study, r, cols, v, error))
    return FALSE;
  summarise_table (r, cols, v, summary);
  if (!(r->modes & CLI_NET_STUDY_UNIFIED))
    return TRUE;
  g_autoptr (GPtrArray) series = g_ptr_array_new_with_free_func ((GDestroyNotify) cli_study_series_free);
  double x_max = curves (study, r, series, summary);
  g_autofree char *png_name = g_strdup_printf ("%s.png", study->name);
  g_autofree char *svg_name = g_strdup_printf ("%s.svg", study->name);
  g_autofree char *png = cli_study_out_file (r->out, png_name);
  g_autofree char *svg = cli_study_out_file (r->out, svg_name);
  if (!cli_study_plot (png, svg, (CliStudySeries **) series->pdata, (int) series->len, NULL, 0,
                       x_max, r->args->minutes > 0 ? "minutes of training" : "epochs of training",
                       error))
    return FALSE;
  cli_study_out_add_file (r->out, "plot_png", png_name);
  cli_study_out_add_file (r->out, "plot_svg", svg_name);
  printf ("wrote %s and %s\n", png, svg);
  return TRUE;
}
