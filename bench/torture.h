/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gupbench torture: a randomized concurrent mix of pins, unpins, gets,
 * speculative refs, queries, fork, migration, mkclean, zap and re-fault
 * over a few shared pages, with random delays injected inside the
 * operations, checking the pinning invariants while it runs and at the
 * end. See the README's "Torture" section.
 */
#ifndef GUPBENCH_TORTURE_H
#define GUPBENCH_TORTURE_H

#include <stdbool.h>
#include <stdint.h>

/* The invariants a run checks; a violation report names one. */
enum torture_inv {
	INV_FALSE_NEGATIVE,	/* maybe_pinned false while a pin is held */
	INV_PINNED_MOVED,	/* a pinned page migrated, freed or reused */
	INV_COW,		/* DMA write lost to the pinner's page table */
	INV_COUNTS,		/* negative or unbalanced counts, WARNs */
	INV_POISON,		/* a freed struct page was touched */
	INV_PAGELOCK,		/* two holders, or a lost wake-up */
	INV_MAX,
};

struct torture_opts {
	const char *schemes;	/* comma list or "all" */
	double duration;	/* seconds per scheme; 0: no limit */
	unsigned long ops;	/* operations per scheme; 0: no limit */
	unsigned int threads;
	uint64_t seed;
	int mutant;		/* GUP_MUT_*; test build only */
	bool verbose;
};

extern const char *const torture_inv_names[INV_MAX];

/* `gupbench torture ...`: argv[0] is "torture". Exit 0, 1 or 2. */
int torture_main(int argc, char **argv);

#endif
