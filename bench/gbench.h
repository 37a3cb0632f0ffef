/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Google Benchmark C shim: gupbench registers each configuration as one
 * Google Benchmark (one iteration, manual time) so that libbenchmark's flags,
 * reporters and statistics work, while threads and timing stay gupbench's.
 *
 * Every row reaches libbenchmark's reporters rewritten to say what gupbench
 * measured (DESIGN.md section 4): name as registered (no
 * "/iterations:1/manual_time"), threads = pinner threads, iterations = ops,
 * real_time/cpu_time = per-op ns, and the aggregate rows (mean, median,
 * stddev, cv) computed from those values rather than from libbenchmark's
 * own runner.
 *
 * Use: gbench_init() once, gbench_add_context() and gbench_register() as
 * needed, gbench_run(), gbench_shutdown(). libbenchmark's flags are process
 * global, so one process runs one gbench_init().
 */
#ifndef GUPBENCH_GBENCH_H
#define GUPBENCH_GBENCH_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GBENCH_MAX_COUNTERS	64
#define GBENCH_ERROR_LEN	256

/*
 * Consume every --benchmark_* argument from argv (libbenchmark's
 * Initialize()) and leave the others, in order, in argv/argc. Returns 0, or
 * -EINVAL with a message in err for an unrecognised --benchmark_ flag or a
 * bad value of one (libbenchmark itself would print its usage and exit).
 * Arguments after "--" are not looked at.
 */
int gbench_init(int *argc, char **argv, char *err, size_t errlen);

/* Add a key/value pair to the "context" block of every report. */
void gbench_add_context(const char *key, const char *value);

struct gbench_counter {
	const char *name;	/* copied; the "gbench:" prefix is reserved */
	double value;		/* reported as is, not scaled */
};

/* What one run of one configuration measured; fn fills it. */
struct gbench_result {
	double real_ns_per_op;	/* becomes real_time (time_unit ns) */
	double cpu_ns_per_op;	/* becomes cpu_time */
	long long ops;		/* becomes iterations */
	int threads;		/* becomes threads (pinner threads) */
	unsigned int nr_counters;
	struct gbench_counter counters[GBENCH_MAX_COUNTERS];
	char error[GBENCH_ERROR_LEN];	/* non-empty: an error row */
};

/*
 * Run one configuration and fill *out (zeroed before the call). Called once
 * per repetition, on the thread that called gbench_run().
 */
typedef void (*gbench_fn)(void *arg, struct gbench_result *out);

/*
 * Register a configuration under name (copied). Returns 0, -EINVAL for an
 * empty name or no fn, -EEXIST for a name already registered.
 */
int gbench_register(const char *name, gbench_fn fn, void *arg);

/*
 * Run every registered configuration that --benchmark_filter selects
 * (matched against the name as registered; a leading '-' negates), with
 * the reporters --benchmark_format, --benchmark_out and
 * --benchmark_out_format choose. With --benchmark_list_tests, print the
 * selected names instead. Returns the number of configurations selected
 * (0 when none matched), or -errno: -EINVAL for a bad filter regex, the
 * open() error of --benchmark_out.
 */
int gbench_run(void);

/*
 * The number of runs of the last gbench_run() whose fn set an error (error
 * rows, "error_occurred": true); a repetition counts once per error.
 */
int gbench_errors(void);

/* True if --benchmark_list_tests was given: the caller may skip set-up. */
bool gbench_list_only(void);

/* Forget the registered configurations and release libbenchmark. */
void gbench_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif
