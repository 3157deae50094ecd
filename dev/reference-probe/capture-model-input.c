/*
 * LD_PRELOAD shim for the sherpa-onnx reference: wraps onnxruntime's OrtApi so that every
 * float tensor the reference creates over its own buffer with shape [2, splits, 512, 1024]
 * (the Spleeter model input, i.e. the reference's STFT magnitudes) is also written to
 * $CAPTURE_DIR/input-<n>.f32. The fidelity test feeds these exact inputs to our model stage,
 * so it can check everything downstream of the FFT bit-for-bit independently of float32
 * rounding differences between FFT implementations.
 *
 * OrtApi is a table of function pointers; CreateTensorWithDataAsOrtValue is entry 49 of it in
 * every onnxruntime release since 1.0 (the table is append-only).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const void *(*GetApi)(uint32_t version);
  const char *(*GetVersionString)(void);
} OrtApiBase;

typedef void *(*CreateTensorWithData)(const void *info, void *data, size_t bytes, const int64_t *shape,
                                      size_t rank, int type, void **out);

enum { CREATE_TENSOR_WITH_DATA = 49, API_ENTRIES_COPIED = 1024 };

static const OrtApiBase *real_base;
static OrtApiBase wrapped_base;
static void **api_copy;
static CreateTensorWithData real_create;
static int captured;

static void *capture_create(const void *info, void *data, size_t bytes, const int64_t *shape, size_t rank,
                            int type, void **out) {
  const char *dir = getenv("CAPTURE_DIR");
  if (dir && rank == 4 && shape[0] == 2 && shape[2] == 512 && shape[3] == 1024) {
    char path[4096];
    snprintf(path, sizeof path, "%s/input-%d.f32", dir, captured++);
    FILE *f = fopen(path, "wb");
    if (f) {
      fwrite(data, 1, bytes, f);
      fclose(f);
    }
  }
  return real_create(info, data, bytes, shape, rank, type, out);
}

static const void *wrapped_get_api(uint32_t version) {
  const void *api = real_base->GetApi(version);
  if (!api) return api;
  if (!api_copy) {
    api_copy = malloc(sizeof(void *) * API_ENTRIES_COPIED);
    memcpy(api_copy, api, sizeof(void *) * API_ENTRIES_COPIED);
    real_create = (CreateTensorWithData)api_copy[CREATE_TENSOR_WITH_DATA];
    api_copy[CREATE_TENSOR_WITH_DATA] = (void *)capture_create;
  }
  return api_copy;
}

const OrtApiBase *OrtGetApiBase(void) {
  const OrtApiBase *(*next)(void) = (const OrtApiBase *(*)(void))dlsym(RTLD_NEXT, "OrtGetApiBase");
  real_base = next();
  wrapped_base.GetApi = wrapped_get_api;
  wrapped_base.GetVersionString = real_base->GetVersionString;
  return &wrapped_base;
}
