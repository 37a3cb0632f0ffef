/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal test harness shared by every tests/test_*.c.
 *
 * A case is a function; t_case() runs it and prints one line:
 *   ok   NAME
 *   FAIL NAME: file:line: expression (message)
 *   SKIP NAME: hint naming the fix
 * A failed CHECK() ends the case at once (longjmp). t_done() prints
 * "N passed, N failed, N skipped" and returns main()'s exit code;
 * tests/run.sh adds those lines up across binaries and builds.
 */
#ifndef GUPBENCH_TESTS_UNIT_H
#define GUPBENCH_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct t_stats {
	int passed, failed, skipped;
	jmp_buf env;
	int in_case;
	char why[512];
};

static struct t_stats t_stats;

static inline void t_vmsg(const char *fmt, va_list ap)
{
	vsnprintf(t_stats.why, sizeof(t_stats.why), fmt, ap);
}

static inline __attribute__((noreturn, format(printf, 1, 2)))
void t_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vmsg(fmt, ap);
	va_end(ap);
	if (!t_stats.in_case) {
		fprintf(stderr, "FAIL outside a case: %s\n", t_stats.why);
		exit(1);
	}
	longjmp(t_stats.env, 1);
}

/* Mark the running case skipped: a missing facility, never a failure. */
static inline __attribute__((noreturn, format(printf, 1, 2)))
void t_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_vmsg(fmt, ap);
	va_end(ap);
	longjmp(t_stats.env, 2);
}

#define CHECK(cond) do {						\
	if (!(cond))							\
		t_fail("%s:%d: %s", __FILE__, __LINE__, #cond);	\
} while (0)

#define CHECK_MSG(cond, ...) do {					\
	if (!(cond)) {							\
		char __m[384];						\
		snprintf(__m, sizeof(__m), __VA_ARGS__);		\
		t_fail("%s:%d: %s (%s)", __FILE__, __LINE__, #cond, __m); \
	}								\
} while (0)

/* Compare two integers and print both on failure. */
#define CHECK_EQ(a, b) do {						\
	long long __a = (long long)(a), __b = (long long)(b);		\
	if (__a != __b)							\
		t_fail("%s:%d: %s == %s (%lld != %lld)", __FILE__,	\
		       __LINE__, #a, #b, __a, __b);			\
} while (0)

typedef void (*t_fn)(void *arg);

static inline void t_case_named(const char *name, t_fn fn, void *arg)
{
	const char *filter = getenv("TEST_CASE");
	int r;

	if (filter && *filter && !strstr(name, filter))
		return;
	t_stats.why[0] = '\0';
	t_stats.in_case = 1;
	r = setjmp(t_stats.env);
	if (r == 0) {
		fn(arg);
		t_stats.passed++;
		printf("ok   %s\n", name);
	} else if (r == 1) {
		t_stats.failed++;
		printf("FAIL %s: %s\n", name, t_stats.why);
	} else {
		t_stats.skipped++;
		printf("SKIP %s: %s\n", name, t_stats.why);
	}
	t_stats.in_case = 0;
	fflush(stdout);
}

#define t_case(fn, arg) t_case_named(#fn, fn, arg)

static inline int t_done(void)
{
	const char *filter = getenv("TEST_CASE");

	if (filter && *filter &&
	    !(t_stats.passed + t_stats.failed + t_stats.skipped))
		fprintf(stderr, "note: TEST_CASE=%s matches no case here\n",
			filter);
	printf("%d passed, %d failed, %d skipped\n", t_stats.passed,
	       t_stats.failed, t_stats.skipped);
	return t_stats.failed ? 1 : 0;
}

#endif
