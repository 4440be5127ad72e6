/* SPDX-License-Identifier: Apache-2.0 */
#include "uad-tensor.h"

static void
test_new_and_reshape (void)
{
  g_autoptr (UadTensor) t = uad_tensor_new_4d (2, 3, 4, 5);
  g_assert_cmpint (uad_tensor_numel (t), ==, 120);
  g_assert_true (t->owned);
  g_assert_cmpuint ((guintptr) t->data % 64, ==, 0);
  for (int64_t i = 0; i < 120; i++)
    g_assert_cmpfloat (t->data[i], ==, 0.0f);
  g_assert_true (uad_tensor_reshape (t, 2, (int64_t[]) { 6, 20 }));
  g_assert_cmpint (t->shape[1], ==, 20);
  g_assert_false (uad_tensor_reshape (t, 2, (int64_t[]) { 7, 20 }));
  g_assert_cmpint (t->shape[0], ==, 6);
  g_autofree char *s = uad_tensor_shape_string (t);
  g_assert_cmpstr (s, ==, "[6, 20]");
}

static void
test_borrowed_and_copy (void)
{
  float buf[6] = { 1, 2, 3, 4, 5, 6 };
  g_autoptr (UadTensor) b = uad_tensor_new_borrowed (buf, 2, (int64_t[]) { 2, 3 });
  g_assert_false (b->owned);
  g_autoptr (UadTensor) c = uad_tensor_copy (b);
  g_assert_true (c->owned);
  g_assert_true (uad_tensor_same_shape (b, c));
  buf[0] = 9;
  g_assert_cmpfloat (c->data[0], ==, 1.0f);
  uad_tensor_fill (c, 0.5f);
  g_assert_cmpfloat (c->data[5], ==, 0.5f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor/new-and-reshape", test_new_and_reshape);
  g_test_add_func ("/tensor/borrowed-and-copy", test_borrowed_and_copy);
  return g_test_run ();
}
