/* SPDX-License-Identifier: Apache-2.0 */
/* uad-decoder.h: an image decoder that renders UniAD feature maps [C, 14, 14] as pictures.
 *
 * UniAD reconstructs features, not pixels. The decoder is trained to turn the *original*
 * backbone features of good training images back into those images (mean squared error in the
 * backbone's normalised pixel space); applied to the transformer's reconstruction it shows what
 * the model believes the part looks like, and applied to the original features it gives the
 * reference to compare with, so that the decoder's own blur is not mistaken for a defect.
 *
 * Architecture (all 3x3 convolutions, zero padding):
 *   standardise each input channel (mean and std of the training features)
 *   conv0: C -> widths[0] at 14x14, ReLU
 *   conv1..conv3: nearest x2 upsampling then 3x3 conv to widths[i], ReLU (28, 56, 112)
 *   conv4: nearest x2 upsampling then 3x3 conv to 3 channels (224), no activation.
 * Nearest upsampling followed by a 3x3 convolution has no checkerboard artefacts, and it is
 * computed exactly but without the upsampled tensor: output pixel (2i+a, 2j+b) only sees input
 * rows i-1+a..i+a and columns j-1+b..j+b, so each of the four output phases (a, b) is a 2x2
 * convolution of the low-resolution input whose taps are sums of the 3x3 weights. That is 4
 * instead of 9 multiply-adds per output pixel and channel pair, which is what makes the default
 * widths (192, 128, 64, 32: 0.36 GMAC per image for C = 168) fit the decode budget of 30 ms
 * on two threads (15-25 ms measured) and train at under a minute per thousand images and
 * epoch (forward and backward, about three decodes). The widths halve as
 * the resolution doubles, so every upsampling stage costs about the same; the high-resolution
 * stages only need to place detail, the semantics come from the 14x14 stage.
 *
 * Each layer is one GEMM (uad_sgemm) of its tap matrix A [phases * taps * cout, cin] with the
 * input activations as they lie, G = A X, followed by a shifted sum of G's rows into the
 * output pixels (bias and ReLU fused); no im2col copy of the input is made. The backward pass
 * gathers dY into dG and is two GEMMs, dA = dG X^T and dX = A^T dG; dA folds back onto the
 * 3x3 weights. All parameters live in one buffer (gradients in a parallel one) for AdamW; the
 * input statistics are kept apart, as they are not trained.
 * Tensors are saved as "conv<i>.weight" [cout, cin, 3, 3], "conv<i>.bias", "input_mean" [C]
 * and "input_std" [C] under a caller's prefix. */
#pragma once

#include "uad-image.h"
#include "uad-layers.h"
#include "uad-progress.h"
#include "uad-safetensors.h"
#include "uad-tensor.h"

#define UAD_DECODER_STAGES 4 /* x2 upsampling stages: 14 -> 224 */

typedef struct {
  int channels;                     /* C: 272 (EfficientNet-b4), 168 (MobileNetV2) */
  int grid;                         /* input height and width: 14; the output is 16x that */
  int widths[UAD_DECODER_STAGES];   /* output channels of conv0..conv3 */
  UadNormalization normalization;   /* the pixel space of the output: the backbone's input */
} UadDecoderConfig;

/* The default decoder for a backbone's channels and normalisation. */
void uad_decoder_config_default (UadDecoderConfig *cfg, int channels, UadNormalization norm);
/* "imagenet" / "symmetric" <-> UadNormalization. */
const char *uad_normalization_name (UadNormalization norm);
gboolean uad_normalization_from_name (const char *name, UadNormalization *norm, GError **error);

typedef struct _UadDecoder UadDecoder;
typedef struct _UadDecoderWorkspace UadDecoderWorkspace;

/* A decoder with zero parameters and unit input statistics; fails (UAD_ERROR_INVALID) on a
 * configuration out of range. */
/* How many parameters (floats) a decoder of this configuration has, without building it. */
double uad_decoder_config_params (const UadDecoderConfig *cfg);

UadDecoder *uad_decoder_new (const UadDecoderConfig *cfg, GError **error);
void uad_decoder_free (UadDecoder *dec);
const UadDecoderConfig *uad_decoder_get_config (const UadDecoder *dec);
/* Output height and width: 16 * grid. */
int uad_decoder_get_output_size (const UadDecoder *dec);
/* Multiply-accumulates of one decode (as computed, four taps per upsampled pixel). */
double uad_decoder_get_macs (const UadDecoder *dec);

/* Kaiming-uniform weights (fan-in 9 cin; gain sqrt 2 before ReLU, 1 for the output layer),
 * zero biases, and the input statistics of features [n, C, grid, grid] (per channel over
 * images and positions; a constant channel gets std 1). */
void uad_decoder_init (UadDecoder *dec, UadRng *rng, const UadTensor *features);

/* The trainable parameters and their gradients: n floats each, laid out as conv0.weight,
 * conv0.bias, conv1.weight, ... conv4.bias (shapes as saved). */
float *uad_decoder_params (UadDecoder *dec, size_t *n);
float *uad_decoder_grads (UadDecoder *dec, size_t *n);

/* Loads every tensor from prefix + name (shapes must match; input_std must be positive and
 * finite), or fails with an error naming the file and tensor. */
gboolean uad_decoder_load (UadDecoder *dec, UadSafetensors *st, const char *prefix,
                           GError **error);
void uad_decoder_save (UadDecoder *dec, UadSafetensorsWriter *w, const char *prefix);

/* ---- Running ----------------------------------------------------------------------------- */

/* Buffers for batches of up to max_batch images; a training workspace also keeps what the
 * backward pass needs. One workspace serves one caller at a time. */
UadDecoderWorkspace *uad_decoder_workspace_new (UadDecoder *dec, int max_batch,
                                                gboolean training);
void uad_decoder_workspace_free (UadDecoderWorkspace *ws);

/* features [batch, C, grid, grid] -> images [batch, 3, S, S] in the normalised pixel space,
 * S = uad_decoder_get_output_size; the result lives in ws until its next use. */
const float *uad_decoder_forward (UadDecoder *dec, UadDecoderWorkspace *ws,
                                  const float *features, int batch);
/* After a forward pass of `batch` images on a training workspace: adds d loss / d parameters
 * to the gradient buffer, given dimages [batch, 3, S, S] = d loss / d output. */
void uad_decoder_backward (UadDecoder *dec, UadDecoderWorkspace *ws, int batch,
                           const float *dimages);
/* Zeroes the gradients, decodes, and leaves the gradients of
 * loss = mean((decoded - targets)^2) (targets [batch, 3, S, S], normalised), which it returns. */
double uad_decoder_train_step (UadDecoder *dec, UadDecoderWorkspace *ws, const float *features,
                               const float *targets, int batch);

/* Normalised planar pixels [3, size, size] back to 8-bit RGB (the inverse of
 * uad_image_to_chw, rounded and clamped to 0..255). */
UadImage *uad_decoder_to_image (const float *chw, int size, UadNormalization norm);

/* ---- Training ---------------------------------------------------------------------------- */

typedef struct {
  int epochs;          /* passes over the images; ignored when seconds > 0 */
  double seconds;      /* 0, or a budget of training time that the run fills and stops at */
  int batch;           /* images per step */
  double lr;           /* AdamW peak learning rate, decayed to 0 along a half cosine */
  double weight_decay; /* AdamW */
  guint64 seed;        /* initialisation and image order */
} UadDecoderTrainOptions;

/* 10 epochs, batch 8, lr 1e-3, weight decay 1e-4, seed 133. */
void uad_decoder_train_options_default (UadDecoderTrainOptions *opts);

typedef struct {
  int epoch, epochs;          /* epoch in progress, 0-based; epochs is 0 with a time budget */
  int step, steps_per_epoch;  /* steps done in this epoch */
  double fraction;            /* share of the run done, 0..1 */
  double epoch_loss;          /* mean loss of the steps so far in this epoch */
  double images_per_second;
  double eta_seconds;
} UadDecoderTrainProgress;

/* Called after every step; return FALSE to stop. */
typedef gboolean (*UadDecoderProgressFunc) (const UadDecoderTrainProgress *progress,
                                            void *user_data);

/* Initialises the decoder (uad_decoder_init from opts->seed and the features) and trains it to
 * decode features [n, C, grid, grid] into pixels [n, S, S, 3] (8-bit RGB, the images as the
 * backbone saw them), by epochs or within a time budget (the cosine decay follows the share of
 * steps or of the budget done). Fails with UAD_ERROR_CANCELLED when progress stops it. On
 * success *final_loss is the mean loss of the last (perhaps partial) epoch, *seconds the
 * training time and *epochs_done the epochs begun. */
gboolean uad_decoder_train (UadDecoder *dec, const UadTensor *features, const guint8 *pixels,
                            const UadDecoderTrainOptions *opts, UadDecoderProgressFunc progress,
                            void *user_data, double *final_loss, double *seconds,
                            int *epochs_done, GError **error);

/* The images of paths decoded and resized (bilinear, as the model input) to size x size, as
 * 8-bit RGB [n, size, size, 3]; decoding runs in parallel. Fails naming the first unreadable
 * file, or when progress cancels. Free with g_free. */
guint8 *uad_decoder_load_pixels (const char *const *paths, int n, int size,
                                 UadProgressFunc progress, void *user_data, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UadDecoder, uad_decoder_free)
