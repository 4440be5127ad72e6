/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz-model.c: the model loader on arbitrary bytes (safetensors container, "uniad" metadata
 * JSON, every part's tensors), then what the CLI and workbench read from a loaded model: its
 * description, classes and default thresholds. */
#include "fuzz-util.h"

#include "uad-model.h"
#include "uad-verdict.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = fuzz_write_input ("input.uniad", data, size, NULL);
  if (path == NULL)
    return 0;
  g_autoptr (UadModel) model = uad_model_load (path, NULL);
  if (model == NULL)
    return 0;
  g_free (uad_model_describe (model));
  for (int c = 0; c < model->n_classes; c++)
    {
      (void) uad_model_find_class (model, model->classes[c].name);
      (void) uad_verdict_default_thresholds (model->classes[c].score_mean,
                                             model->classes[c].score_std);
    }
  (void) uad_model_class_from_path (model, "/data/bottle/test/broken_large/000.png");
  return 0;
}
