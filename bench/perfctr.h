/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-thread perf counter groups over libperf (the kernel's tools/lib/perf),
 * with libpfm4 turning event names into struct perf_event_attr, plus TSC
 * helpers.
 *
 * A perfctr_set is parsed and probed once, on one thread: events this
 * machine cannot count (no hardware PMU in a VM, perf_event_paranoid) are
 * dropped and recorded, so the run goes on with what works and says so
 * once (perfctr_set_status()). Each measuring thread then opens its own
 * group on itself with perfctr_thread_open() and brackets only the
 * measured window with perfctr_thread_enable()/perfctr_thread_disable().
 *
 * Library functions never print: they return -errno and, where useful, a
 * message for the caller to print as "gupbench: warning: ...".
 */
#ifndef GUPBENCH_PERFCTR_H
#define GUPBENCH_PERFCTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Most events one set may hold: callers may size vals[] arrays with it. */
#define PERFCTR_MAX_EVENTS	16

/* One row of the event table that drives --list and the default list. */
struct perfctr_event_desc {
	const char *name;	/* libpfm4 / perf generic name */
	const char *desc;	/* one line for --list */
};

/* cycles, instructions, cache-misses, context-switches. */
extern const struct perfctr_event_desc perfctr_default_events[];
extern const size_t perfctr_nr_default_events;

/* The default list as one "a,b,c" string, for --events' default. */
const char *perfctr_default_list(void);

struct perfctr_set;

/*
 * Parse a comma list of libpfm4 or perf generic event names, then probe
 * each event once on the calling thread (open, close). Events that cannot
 * be opened are dropped and recorded as unsupported; if
 * perf_event_paranoid refuses kernel-mode counting, every event is retried
 * user-only (exclude_kernel) and the set records it.
 *
 * Returns 0, -EINVAL (err: "unknown event 'foo'", empty list, too many
 * events) or -ENOMEM. A set where nothing can be counted is not an error:
 * perfctr_set_nr() is then 0 and perfctr_set_status() says why.
 */
int perfctr_set_create(struct perfctr_set **out, const char *list,
		       char *err, size_t errlen);
void perfctr_set_free(struct perfctr_set *s);

/* Events that will be counted, in list order. */
unsigned int perfctr_set_nr(const struct perfctr_set *s);
const char *perfctr_set_name(const struct perfctr_set *s, unsigned int i);

/*
 * One line of context for the JSON and a single warning, e.g.
 * "hardware PMU: not available (KVM guest?); counting: context-switches
 * (software); unsupported: cycles, instructions, cache-misses (not
 * supported); kernel counting: yes"
 */
const char *perfctr_set_status(const struct perfctr_set *s);
/* Dropped events as "a,b,c", or "" when every event is counted. */
const char *perfctr_set_unsupported(const struct perfctr_set *s);
/* Whether a hardware event (cycles) can be counted on this machine. */
bool perfctr_set_has_hw(const struct perfctr_set *s);
/* Whether events count kernel mode too (false: user-only, paranoid). */
bool perfctr_set_kernel(const struct perfctr_set *s);

struct perfctr_thread;

/*
 * Open the set's events on the calling thread (pid 0, cpu -1), disabled:
 * one group led by the first event, or independent counters if the kernel
 * refuses the group. Returns 0, -ENOENT when the set counts nothing (*out
 * is then NULL), or the open's -errno.
 */
int perfctr_thread_open(const struct perfctr_set *s,
			struct perfctr_thread **out);
/* Start/stop counting; one ioctl on the group leader. NULL is a no-op. */
void perfctr_thread_enable(struct perfctr_thread *t);
void perfctr_thread_disable(struct perfctr_thread *t);
/*
 * Read the counts, scaled by time_enabled / time_running, into vals[nr]
 * (set order). *multiplexed (may be NULL) is set if any event ran for
 * less than it was enabled. Returns 0 or -errno: -ENODATA when an event
 * was enabled but never ran (multiplexed out all the time: no estimate).
 */
int perfctr_thread_read(struct perfctr_thread *t, double *vals,
			bool *multiplexed);
/* Whether the events were opened as one group. */
bool perfctr_thread_grouped(const struct perfctr_thread *t);
void perfctr_thread_close(struct perfctr_thread *t);

/*
 * TSC helpers. On x86 these read the time-stamp counter; elsewhere they
 * fall back to CLOCK_MONOTONIC_RAW nanoseconds and tsc_hz() is 1e9.
 * rdtsc_begin()/rdtsc_end() order the read against the measured code as
 * in Intel's "How to Benchmark Code Execution Times" note, with LFENCE in
 * place of CPUID: begin waits for earlier instructions and keeps later
 * ones from starting first; end (RDTSCP) waits for the measured code.
 */
#if defined(__x86_64__) || defined(__i386__)
static inline uint64_t rdtsc_now(void)
{
	return __rdtsc();
}

static inline uint64_t rdtsc_begin(void)
{
	uint64_t t;

	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
}

static inline uint64_t rdtsc_end(void)
{
	unsigned int aux;
	uint64_t t;

	t = __rdtscp(&aux);
	_mm_lfence();
	return t;
}
#else
static inline uint64_t rdtsc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline uint64_t rdtsc_begin(void)
{
	return rdtsc_now();
}

static inline uint64_t rdtsc_end(void)
{
	return rdtsc_now();
}
#endif

/* Ticks per second of rdtsc_now(), calibrated once (~50 ms), cached. */
uint64_t tsc_hz(void);
/*
 * 1 if the CPU says its TSC runs at a constant rate in every P-, C- and
 * T-state (CPUID 80000007H EDX bit 8), 0 if not, -1 where there is no
 * TSC (the clock fallback, which needs none).
 */
int tsc_invariant(void);
/*
 * The smallest step between two rdtsc_now() reads that differ, in ticks:
 * 1 on bare metal, often tens under a hypervisor that scales the TSC.
 * A timed op's latency is only known to this step.
 */
uint64_t tsc_step(void);

#ifdef __cplusplus
}
#endif

#endif /* GUPBENCH_PERFCTR_H */
