/* SPDX-License-Identifier: MIT */
/* The models of demos/bench (Boost's fcontext is in demos/bench-fcontext). */
#include <stddef.h>
#include "model.h"

extern const struct model model_pagedstack, model_copystack, model_threads,
    model_guarded, model_fixed;

const struct model *const models[] = {
    &model_pagedstack, &model_copystack, &model_threads, &model_guarded,
    &model_fixed, NULL,
};
