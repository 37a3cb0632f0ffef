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

/* `gupbench torture ...`: argv[0] is "torture". Exit 0, 1 or 2. */
int torture_main(int argc, char **argv);

#endif
