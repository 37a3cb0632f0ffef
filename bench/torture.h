/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gupbench torture: a randomized concurrent mix of pins, unpins, gets,
 * speculative refs, queries, fork, migration, mkclean, zap, re-fault and
 * THP collapse over a few shared pages, with random delays injected inside the
 * operations, checking the pinning invariants while it runs and at the
 * end. See the README's "Torture" section.
 */
#ifndef GUPBENCH_TORTURE_H
#define GUPBENCH_TORTURE_H

#include <getopt.h>
#include <string.h>

/*
 * Right after getopt_long() returned an option that takes a value: the
 * option whose value was forgotten if that value is the next option
 * ("--scheme --ops=5"), else NULL. Both command lines ask it.
 */
static inline const char *cli_forgotten_value(char **argv)
{
	if (optarg && optind >= 2 && optarg == argv[optind - 1] &&
	    !strncmp(optarg, "--", 2))
		return argv[optind - 2];
	return NULL;
}

/* `gupbench torture ...`: argv[0] is "torture". Exit 0, 1 or 2. */
int torture_main(int argc, char **argv);

#endif
