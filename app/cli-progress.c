/* SPDX-License-Identifier: Apache-2.0 */
#include "cli-progress.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define PLAIN_INTERVAL_US (10 * G_USEC_PER_SEC)

void
cli_progress_init (CliProgress *p)
{
  p->tty = isatty (STDERR_FILENO);
  p->last_line_us = 0;
}

void
cli_progress_update (CliProgress *p, double fraction, const char *text)
{
  if (!p->tty)
    {
      /* Logs get a line every few seconds, not a line per step. */
      gint64 now = g_get_monotonic_time ();
      if (p->last_line_us != 0 && now - p->last_line_us < PLAIN_INTERVAL_US)
        return;
      p->last_line_us = now;
      fprintf (stderr, "%s\n", text);
      return;
    }
  char bar[BAR_WIDTH + 1];
  int filled = (int) (CLAMP (fraction, 0.0, 1.0) * BAR_WIDTH);
  for (int i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < filled ? '#' : '-';
  bar[BAR_WIDTH] = '\0';
  fprintf (stderr, "\r\033[K[%s] %s", bar, text);
  fflush (stderr);
}

void
cli_progress_note (CliProgress *p, const char *text)
{
  fprintf (stderr, "%s%s\n", p->tty ? "\r\033[K" : "", text);
  fflush (stderr);
}

void
cli_progress_done (CliProgress *p, const char *text)
{
  if (p->tty)
    fprintf (stderr, "\r\033[K");
  fprintf (stderr, "%s\n", text);
}

char *
cli_format_epoch (int epoch, int epochs)
{
  return epochs > 0 ? g_strdup_printf ("epoch %d/%d", epoch + 1, epochs)
                    : g_strdup_printf ("epoch %d", epoch + 1);
}

char *
cli_format_duration (double seconds)
{
  if (!(seconds >= 0) || seconds > 1e8)
    return g_strdup ("?");
  long s = (long) (seconds + 0.5);
  if (s >= 3600)
    return g_strdup_printf ("%ldh%02ldm", s / 3600, s / 60 % 60);
  if (s >= 60)
    return g_strdup_printf ("%ldm%02lds", s / 60, s % 60);
  return g_strdup_printf ("%lds", s);
}

static volatile sig_atomic_t interrupted;

/* Only write(2) is safe in a signal handler; its result does not matter here. */
static void
say (const char *text)
{
  ssize_t ignored = write (STDERR_FILENO, text, strlen (text));
  (void) ignored;
}

/* The first stop finishes the step and writes the checkpoint; an impatient second one must
 * not throw the run away, so only a third quits at once. */
static void
on_interrupt (int sig)
{
  interrupted++;
  if (interrupted == 1)
    say ("\nstopping: finishing this step and writing a checkpoint (--resume continues)...\n");
  else if (interrupted == 2)
    say ("\nstill writing the checkpoint; stop once more to quit without it\n");
  else
    {
      signal (sig, SIG_DFL);
      raise (sig);
    }
}

void
cli_catch_interrupt (void)
{
  struct sigaction sa = { 0 };
  sa.sa_handler = on_interrupt;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
}

gboolean
cli_interrupted (void)
{
  return interrupted != 0;
}
