/* SPDX-License-Identifier: MIT */
/*
 * The cell runner for the models built on the library's bare context switch
 * (pgs__switch, from the convenience library): separate mmap'd stacks,
 * malloc'd 128 KiB stacks and copy-stack.  compare_memory runs it once per
 * cell:  mem_switched --cell MODEL WORKLOAD N [BUDGET [RESERVE]]
 */
#include <stdio.h>
#include "mem_cell.h"

int main(int argc, char **argv)
{
    static const struct mem_model *const models[] = {
        &mem_model_mmap, &mem_model_malloc, &mem_model_copystack, NULL
    };
    if (!mem_cell_wanted(argc, argv)) {
        fprintf(stderr, "%s: run by compare_memory, as: %s --cell MODEL "
                "WORKLOAD N [BUDGET [RESERVE]]\n", argv[0], argv[0]);
        return 2;
    }
    return mem_cell_main(models, argc, argv);
}
