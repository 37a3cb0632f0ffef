/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One benchmark configuration and the measurement protocol that runs it
 * (refscale's): threads bound before they start, gated start, warm-up
 * until every thread has checked in, a fixed-duration window in which all
 * threads run (a stop flag, never an op count), cool-down under load
 * until every thread has stopped measuring.
 */
#ifndef GUPBENCH_RUN_H
#define GUPBENCH_RUN_H

#include <stdio.h>

#include "gbench.h"
#include "perfctr.h"
#include "scheme.h"
#include "topo.h"

/* Workloads: the table drives --list, --help and validation. */
/* the walking workloads first: kind <= WL_GET walks the page tables */
enum workload_kind {
	WL_PIN, WL_PIN_RO, WL_PIN_DIRTY, WL_GET, WL_RAW, WL_C2C
};

struct workload {
	const char *name;
	enum workload_kind kind;
	unsigned int gup_flags;
	const char *desc;
};

extern const struct workload workloads[];
extern const unsigned int nr_workloads;

/* Competitor operations that run beside the pinners. */
enum comp_kind {
	C_GETPUT, C_QUERY, C_MKCLEAN, C_FORK, C_MIGRATE, C_COLLAPSE, C_NR
};

struct competitor_desc {
	const char *name;
	const char *desc;
};

extern const struct competitor_desc competitors[C_NR];

enum share_mode { SHARE_SAME, SHARE_POOL, SHARE_PRIVATE };

#define MAX_THREADS	1024

struct config {
	const struct gup_scheme *scheme;
	const struct workload *wl;
	unsigned long pages;		/* pages per gup call */
	enum share_mode share;
	unsigned long pool;		/* SHARE_POOL: pages in the pool */
	unsigned int with[C_NR];	/* competitor threads of each kind */
	char with_str[64];		/* "fork:1+migrate:1" or "" */
	char placement[256];		/* a list:CPUS fits, checked */
	unsigned int threads;		/* pinner threads */
	char name[512];			/* fits every part at its longest */
	int *pus;			/* PU of each thread: pinners first */
	struct mem_place mp;		/* where the struct pages go */
};

/* Options shared by every configuration of one launch. */
struct run_opts {
	struct topo *topo;
	const char *mem_policy;
	double duration;		/* measured window, s */
	double warmup;			/* minimum warm-up, s */
	struct perfctr_set *events;
	bool oversubscribe;
	bool quiet;
	double writeback_us;		/* mkclean: I/O time of a writeback */
#define WB_QUEUE_DEPTH	64		/* a block queue's depth: in flight at most */
	bool stable_writes;		/* mkclean: write faults wait for it */
};

extern struct run_opts run_opts;

unsigned int config_nr_competitors(const struct config *c);
/* The role of thread i: "pin", "fork", ... */
const char *config_role(const struct config *c, unsigned int i);
/* Run one configuration (a gbench_fn). */
void config_run(void *arg, struct gbench_result *out);

/*
 * One pinner's latency samples: which ops to time (by count, at jittered
 * indices gap ops apart on average) and their TSC ticks. The gap follows
 * the thread's rate, so that samples come about @period ticks apart, and
 * each sample records the gap it was chosen at: the ops it stands for.
 * Weighted by that, every op of the window counts alike.
 */
#define SAMPLER_MAX	(1 << 14)

struct op_sample {
	uint32_t ticks;
	uint32_t ops;			/* the ops it stands for */
};

struct op_sampler {
	struct op_sample *buf;		/* SAMPLER_MAX of them */
	unsigned int n;
	unsigned long taken;		/* since the start, thinned or not */
	double taken_ops;		/* the ops those stood for */
	unsigned long gap;		/* mean ops between samples */
	unsigned long next;		/* the op (count) to time next */
	uint64_t last, period;		/* TSC: the last sample, the aim */
	unsigned long last_ops;		/* the op count at the last sample */
	unsigned long seed;		/* jitters the choice; not 0 */
};

/*
 * The window starts at op @ops, TSC @now: @gap ops between samples to
 * begin with (>= 1), then as many as take @period ticks.
 */
void sampler_start(struct op_sampler *s, unsigned long ops, double gap,
		   uint64_t now, uint64_t period);
/* How many of the next @batch ops run before the one to time (@batch: none). */
unsigned long sampler_before(const struct op_sampler *s, unsigned long ops,
			     unsigned long batch);
/*
 * The timed op took @ticks and ended at TSC @now; @ops counts it. Returns
 * the ops the sample stands for. Thins out a full buffer.
 */
unsigned long sampler_add(struct op_sampler *s, uint64_t ticks,
			  unsigned long ops, uint64_t now);

/* A latency sample and what it stands for: its thread's ops per sample. */
struct wsample {
	uint32_t ticks;
	double weight;
};

/* Sort by ticks. */
void wsample_sort(struct wsample *s, unsigned long n);
/*
 * The p-th percentile of the ops the sorted samples stand for, nearest
 * rank: the smallest sample at which the cumulative weight reaches p% of
 * the total. With equal weights, the ceil(n * p / 100)-th smallest.
 */
uint32_t wsample_percentile(const struct wsample *s, unsigned long n,
			    unsigned int p);

/*
 * Host steal time in /proc/stat format @f: the sum of the eighth value
 * (steal, in USER_HZ ticks) of the cpuN lines of the @n CPUs @cpus into
 * @ticks. Returns how many of the @n CPUs had a line with a steal value
 * (a CPU listed twice counts twice).
 */
unsigned int proc_stat_steal(FILE *f, const int *cpus, unsigned int n,
			     unsigned long long *ticks);

#endif
