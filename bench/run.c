// SPDX-License-Identifier: GPL-2.0
/*
 * The measurement engine: sets up the emulated memory (struct pages
 * placed by the memory policy) and mm for one configuration, starts
 * pinner and competitor threads bound to their PUs, runs the refscale
 * protocol and turns per-thread numbers into one Google Benchmark row.
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

const struct workload workloads[] = {
	{ "pin", WL_PIN, FOLL_PIN | FOLL_WRITE,
	  "pin_user_pages_fast(FOLL_WRITE) of N pages, then unpin_user_pages()" },
	{ "pin_ro", WL_PIN_RO, FOLL_PIN,
	  "FOLL_PIN without FOLL_WRITE of a mapping mprotect()ed read-only" },
	{ "pin_dirty", WL_PIN_DIRTY, FOLL_PIN | FOLL_WRITE,
	  "FOLL_WRITE pins released by unpin_user_pages_dirty_lock() (vfio, RDMA)" },
	{ "get", WL_GET, FOLL_GET | FOLL_WRITE,
	  "get_user_pages_fast(FOLL_WRITE) + put_page() per page" },
	{ "raw", WL_RAW, FOLL_PIN,
	  "the scheme's bare pin+unpin atomics on one struct page, no walk" },
	{ "c2c", WL_C2C, 0,
	  "CAS ping-pong between the placed threads: one contended line's limit" },
};

const unsigned int nr_workloads = ARRAY_SIZE(workloads);

const struct competitor_desc competitors[C_NR] = {
	[C_GETPUT] = { "getput", "page-cache style speculative get + put" },
	[C_QUERY] = { "query", "folio_maybe_dma_pinned() readers" },
	[C_MKCLEAN] = { "mkclean", "page_mkclean-style writeback (shared mapping)" },
	[C_FORK] = { "fork", "fork() + exit of a child (copy_page_range)" },
	[C_MIGRATE] = { "migrate", "migrate_pages(MIGRATE_SYNC) of one page: "
			"up to 3 async + 7 sync passes" },
	[C_COLLAPSE] = { "collapse", "MADV_COLLAPSE of a 2 MiB range, "
			 "a PMD split when it is a THP already" },
};

struct run_opts run_opts = {
	.mem_policy = "local",
	.duration = 1.0,
	.warmup = 0.2,
};

#define REGION_BASE	0x100000000UL	/* 4 GiB: PMD and PUD aligned */
/*
 * Mean time between two timed ops of one pinner (the sampler's period).
 * A timed op is fenced (LFENCE, RDTSCP) and so costs more than
 * its neighbours, by about the fences' 20-30 ns on the development VM;
 * one per 100 us is ~0.03% of a row, while a 1 s window still gives
 * each thread about 10000 samples.
 */
#define SAMPLE_GAP_US	100
/* the longest a pinner's batch should run between two phase checks */
#define BATCH_SLICE_US	500

enum phase { PH_GATE, PH_WARMUP, PH_MEASURE, PH_COOLDOWN, PH_STOP };

/* One thread's numbers: written by it, read after join. */
struct thread_ctx {
	struct run *run;
	unsigned int idx;
	int pu;
	enum comp_kind comp;		/* competitors */
	struct gup_stats st;		/* pinners: cumulative */
	struct gup_stats st0;		/* at the window start */
	struct gup_stats st1;		/* at the window end */
	unsigned long ops;		/* in the window */
	unsigned long ok, fail;		/* competitors: outcomes in window */
	unsigned long ok_all, fail_all, ok0, fail0;
	double t_start, t_end;		/* window, CLOCK_MONOTONIC s */
	double timing_ticks;		/* timing_overhead(); 0: not timed */
	double cpu_ns;
	double runq_ns;			/* runnable, not running; < 0: unknown */
	uint64_t tsc;
	double ev[PERFCTR_MAX_EVENTS];
	bool perf_ok;
	int perf_err;			/* why not: -errno of open or read */
	bool perf_mux;			/* an event was multiplexed */
	int migrated;			/* ended on another PU */
	struct op_sampler smp;		/* latency samples (TSC ticks) */
	double smp_slow;		/* the ops that timed slow-path ops stand for */
	uint64_t warm_tsc0;		/* first step: the warm-up's rate */
	struct page **pages;		/* pages[] of the gup call: own lines */
	unsigned long *addrs;		/* pinner: op start addresses */
	unsigned int naddr;
	unsigned int addr_start;	/* where in addrs it starts */
	int bind_err;
} ____cacheline_aligned;

/* Shared run state: the phase on its own line, counters on theirs. */
struct run {
	const struct config *c;
	int phase ____cacheline_aligned;
	int warm ____cacheline_aligned;	/* threads past warm-up */
	int done ____cacheline_aligned;	/* threads done measuring */
	unsigned long c2c ____cacheline_aligned; /* the c2c line */
	struct mm_struct *mm;
	unsigned long *all_addrs;	/* every page the pinners use */
	unsigned long *pool_addrs;	/* pool: random chunk starts, shared */
	unsigned int npool;
	unsigned long nr_all;
	unsigned int nthreads;
	struct thread_ctx *t;
	unsigned long splits0, splits1;	/* thp_split_pmd_events(): window */
	unsigned long nr_small, nr_thp;	/* the free lists when all is free */
	bool membind_failed;		/* struct pages not where planned */
	/* host steal on the pinners' PUs over the window; < 0: unknown */
	double steal_ns, steal_win_s;
	unsigned int steal_pus;
	/* reference_atomic_ns() before the threads start and after; < 0: none */
	double ref_before_ns, ref_after_ns;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * The calling thread's time runnable but waiting for a CPU, from
 * schedstat (CONFIG_SCHED_INFO): what a busy or oversubscribed machine
 * takes from a window, as against time asleep (mmap_lock behind fork,
 * lock_page()), which is the model's own. -1 where the kernel has none.
 */
static double thread_runq_ns(void)
{
	unsigned long long run, wait;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%llu %llu", &run, &wait);
	fclose(f);
	return n == 2 ? (double)wait : -1;
}

unsigned int proc_stat_steal(FILE *f, const int *cpus, unsigned int n,
			     unsigned long long *ticks)
{
	unsigned long long v[8];
	unsigned int cpu, i, found = 0;
	char *line = NULL;
	size_t cap = 0;

	*ticks = 0;
	while (getline(&line, &cap, f) > 0) {
		/* "cpu  " is the sum over all CPUs, and %u skips blanks */
		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9' ||
		    sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu",
			   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6], &v[7]) != 9)
			continue;
		for (i = 0; i < n; i++)
			if (cpus[i] >= 0 && (unsigned int)cpus[i] == cpu) {
				*ticks += v[7];
				found++;
			}
	}
	free(line);
	return found;
}

/*
 * The pinners' PUs, each once, into @cpus (c->threads entries); returns
 * how many.
 */
static unsigned int pinner_pus(const struct config *c, int *cpus)
{
	unsigned int i, j, n = 0;

	for (i = 0; i < c->threads; i++) {
		for (j = 0; j < n && cpus[j] != c->pus[i]; j++)
			;
		if (j == n)
			cpus[n++] = c->pus[i];
	}
	return n;
}

/*
 * Host steal time on the @n PUs @cpus now, in ns; -1 where /proc/stat
 * has no steal value for one of them.
 */
static double steal_ns(const int *cpus, unsigned int n)
{
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	unsigned int found;

	if (!f)
		return -1;
	found = proc_stat_steal(f, cpus, n, &ticks);
	fclose(f);
	return found == n && hz > 0 ? (double)ticks * 1e9 / hz : -1;
}

unsigned int config_nr_competitors(const struct config *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < C_NR; i++)
		n += c->with[i];
	return n;
}

const char *config_role(const struct config *c, unsigned int i)
{
	unsigned int k;

	if (i < c->threads)
		return "pin";
	i -= c->threads;
	for (k = 0; k < C_NR; k++) {
		if (i < c->with[k])
			return competitors[k].name;
		i -= c->with[k];
	}
	return "-";
}

static bool phase_is(struct run *r, int ph)
{
	return __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) == ph;
}

static int phase(struct run *r)
{
	return __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE);
}

/* Window bookkeeping shared by every thread kind. */
struct window {
	bool in;
	double wall0, cpu0, runq0;
	uint64_t tsc0;
	unsigned long ops0;
};

static unsigned long xorshift(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void window_begin(struct thread_ctx *t, struct window *w,
			 struct perfctr_thread *pc, unsigned long ops)
{
	uint64_t period;

	w->in = true;
	t->st0 = t->st;
	t->ok0 = t->ok_all;
	t->fail0 = t->fail_all;
	w->ops0 = ops;
	w->runq0 = thread_runq_ns();
	if (pc)
		perfctr_thread_enable(pc);
	w->cpu0 = thread_cpu_ns();
	w->tsc0 = rdtsc_now();
	w->wall0 = now_s();
	t->t_start = w->wall0;
	/*
	 * SAMPLE_GAP_US of ops at the warm-up's rate (ops counted from 0
	 * at the first step), then following the window's (sampler_add());
	 * a thread that did none starts at every op
	 */
	period = (uint64_t)(tsc_hz() * SAMPLE_GAP_US * 1e-6);
	sampler_start(&t->smp, ops, (double)ops * period /
		      max(1.0, (double)(w->tsc0 - t->warm_tsc0)), w->tsc0,
		      period);
	t->smp_slow = 0;
}

static void window_end(struct thread_ctx *t, struct window *w,
		       struct perfctr_thread *pc, unsigned long ops)
{
	t->t_end = now_s();
	t->tsc = rdtsc_now() - w->tsc0;
	t->cpu_ns = thread_cpu_ns() - w->cpu0;
	if (pc) {
		perfctr_thread_disable(pc);
		t->perf_err = perfctr_thread_read(pc, t->ev, &t->perf_mux);
		t->perf_ok = !t->perf_err;
	}
	t->runq_ns = thread_runq_ns();
	t->runq_ns = w->runq0 >= 0 && t->runq_ns >= 0 ?
		     t->runq_ns - w->runq0 : -1;
	t->ops = ops - w->ops0;
	t->st1 = t->st;
	t->ok = t->ok_all - t->ok0;
	t->fail = t->fail_all - t->fail0;
	w->in = false;
	__atomic_add_fetch(&t->run->done, 1, __ATOMIC_RELEASE);
}

/*
 * Called between batches: moves the thread through the phases. Returns
 * false when the thread should exit.
 */
static bool thread_step(struct thread_ctx *t, struct window *w, bool *warm,
			struct perfctr_thread *pc, unsigned long ops)
{
	struct run *r = t->run;
	int ph = phase(r);

	if (!*warm) {
		*warm = true;
		t->warm_tsc0 = rdtsc_now();
		__atomic_add_fetch(&r->warm, 1, __ATOMIC_RELEASE);
	}
	/*
	 * A thread descheduled through the whole window (short --duration,
	 * busy machine) first sees the cool-down: it measures one batch
	 * late, rather than never checking out and hanging the run; its
	 * late window shows in overlap_pct.
	 */
	if ((ph == PH_MEASURE || ph == PH_COOLDOWN) && !w->in && !t->t_end)
		window_begin(t, w, pc, ops);
	else if (ph >= PH_COOLDOWN && w->in)
		window_end(t, w, pc, ops);
	return ph != PH_STOP;
}

/*
 * Latency samples: the ops to time are chosen by count, at jittered
 * indices gap ops apart on average (a fixed period could beat with
 * something periodic in the op stream). Chosen by time instead (the
 * first op after a due time), they were the ops that start at a random
 * moment, and where slow ops fill most of the time (a pinner behind a
 * writeback, between bursts of fast ops) the percentiles were those of
 * the slow ones. The gap follows the thread's rate (the ops a period took
 * between the last two samples, within a factor of 4 of the gap before),
 * so that a thread slower in its window than in its warm-up still gets
 * a sample per period; each sample stands for the gap it was chosen
 * at, which keeps every op's weight alike. When the buffer fills, keep
 * every other sample (standing for its dropped neighbour's ops too) and
 * double the period, so samples stay spread over the whole window.
 */
void sampler_start(struct op_sampler *s, unsigned long ops, double gap,
		   uint64_t now, uint64_t period)
{
	s->n = 0;
	s->taken = 0;
	s->taken_ops = 0;
	s->last = now;
	s->last_ops = ops;
	s->period = max(period, 1UL);
	s->gap = (unsigned long)min(max(1.0, gap), (double)UINT32_MAX);
	/* not the op right after the window's start: a jittered gap first */
	s->next = ops + s->gap / 2 + xorshift(&s->seed) % s->gap;
}

unsigned long sampler_before(const struct op_sampler *s, unsigned long ops,
			     unsigned long batch)
{
	if (s->next >= ops + batch)
		return batch;
	return s->next > ops ? s->next - ops : 0;
}

unsigned long sampler_add(struct op_sampler *s, uint64_t ticks,
			  unsigned long ops, uint64_t now)
{
	unsigned long stands = s->gap;
	unsigned int i;

	s->buf[s->n++] = (struct op_sample){
		.ticks = (uint32_t)min(ticks, (uint64_t)UINT32_MAX),
		.ops = (uint32_t)stands,
	};
	s->taken++;
	s->taken_ops += stands;
	if (s->n == SAMPLER_MAX) {
		for (i = 0; i < SAMPLER_MAX / 2; i++) {
			s->buf[i].ticks = s->buf[2 * i].ticks;
			s->buf[i].ops = (uint32_t)min((uint64_t)UINT32_MAX,
				(uint64_t)s->buf[2 * i].ops +
				s->buf[2 * i + 1].ops);
		}
		s->n = SAMPLER_MAX / 2;
		s->period *= 2;
	}
	if (now > s->last) {
		/* the ops one period took at the rate since the last sample */
		double want = (double)(ops - s->last_ops) * s->period /
			      (double)(now - s->last);

		want = min(max(want, s->gap / 4.0), s->gap * 4.0);
		s->gap = (unsigned long)min(max(want, 1.0), (double)UINT32_MAX);
	}
	s->last = now;
	s->last_ops = ops;
	s->next = ops + s->gap / 2 + xorshift(&s->seed) % s->gap;
	return stands;
}

/* What a loop runs: the scheme's pin sections, or raw grabs of @page. */
struct section {
	const struct gup_scheme *scheme;
	struct pin_loop *l;		/* NULL: raw_section() of @page */
	struct page *page;
};

static __always_inline unsigned long section_run(const struct section *x,
						 unsigned long n)
{
	return x->l ? x->scheme->pin_section(x->l, n) :
		      x->scheme->raw_section(x->page, n, FOLL_PIN);
}

#define TIMING_REPS 1001

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * What timing one op costs beside the op, in ticks: the fenced TSC reads
 * around a call of the op's section for no op, the code around a timed
 * op less its one iteration (the two reads alone leave out the call and
 * the loop's entry and exit: 26 ticks, one TSC step, on the guest gupbench
 * is developed on). The mean of the timings within twice their median:
 * where the TSC moves in steps, a fixed interval reads as one of the two
 * multiples around it, in proportion, so a mean finds it where a minimum
 * or a median would round it; an interrupt's timing is left out.
 */
static double timing_overhead(const struct section *x)
{
	double d[TIMING_REPS], sum = 0, lim;
	unsigned int i, n = 0;
	uint64_t t0;

	section_run(x, 0);		/* its code and data in the caches */
	for (i = 0; i < TIMING_REPS; i++) {
		t0 = rdtsc_begin();
		section_run(x, 0);
		d[i] = (double)(rdtsc_end() - t0);
	}
	qsort(d, TIMING_REPS, sizeof(*d), cmp_double);
	lim = 2 * d[TIMING_REPS / 2];
	for (i = 0; i < TIMING_REPS && d[i] <= lim; i++, n++)
		sum += d[i];
	return sum / n;
}

/* Ops between two looks at the phase in a batch outside the window. */
#define UNTIMED_CHUNK	64

/*
 * One batch of @batch ops, the ops the sampler chose split out and each
 * timed alone (in the window only). A batch whose phase changes under it
 * ends there, at the next timed op in the window or chunk of
 * UNTIMED_CHUNK ops outside it: ops that turn slow mid-batch (a pinner
 * caught in a migration storm took 1 ms each in one launch) would
 * otherwise hold its window open, or shut, for the rest of the batch.
 * Returns the thread's op count after.
 */
static __always_inline unsigned long run_batch(struct thread_ctx *t,
					       const struct window *w,
					       const struct section *x,
					       unsigned long ops,
					       unsigned long batch)
{
	unsigned long left = batch, n, ok;
	int ph = phase(t->run);

	while (left) {
		n = w->in ? sampler_before(&t->smp, ops, left) :
			    min(left, (unsigned long)UNTIMED_CHUNK);
		ok = n ? section_run(x, n) : 0;
		t->fail_all += n - ok;
		ops += n;
		left -= n;
		if (left && w->in) {
			unsigned long sc = t->st.slow_calls, stands;
			uint64_t t0 = rdtsc_begin(), t1;

			ok = section_run(x, 1);
			t1 = rdtsc_end();
			stands = sampler_add(&t->smp, t1 - t0, ++ops, t1);
			if (t->st.slow_calls != sc)
				t->smp_slow += stands;
			t->fail_all += 1 - ok;
			left--;
		}
		if (left && phase(t->run) != ph)
			break;		/* thread_step() takes it from here */
	}
	return ops;
}

/* Pinner for pin/pin_ro/pin_dirty/get: the scheme's pin_section in batches. */
static void pinner_loop(struct thread_ctx *t, struct perfctr_thread *pc)
{
	struct run *r = t->run;
	const struct config *c = r->c;
	struct page **pages = t->pages;
	struct pin_loop l = {
		.mm = r->mm,
		.addrs = t->addrs,
		.naddr = t->naddr,
		.next = t->addr_start,
		.nr_pages = c->pages,
		.gup_flags = c->wl->gup_flags,
		.pages = pages,
		.st = &t->st,
		.make_dirty = c->wl->kind == WL_PIN_DIRTY,
	};
	const struct section x = { .scheme = c->scheme, .l = &l };
	unsigned long max_batch = c->pages >= 64 ? 16 : 256, ops = 0;
	unsigned long batch = 1;
	/*
	 * A thread sees the phases only between batches: a batch that runs
	 * long (ops that sleep behind migration or fork) would open and
	 * close its window late. Start at one op and double while a batch
	 * takes under a quarter of BATCH_SLICE_US, halve while one takes
	 * more (a first batch of 256 ops of milliseconds each outlasted the
	 * whole window).
	 */
	uint64_t slice = max(1.0, tsc_hz() * BATCH_SLICE_US * 1e-6);
	uint64_t b0 = rdtsc_now(), b1;
	struct window w = { 0 };
	bool warm = false;

	while (thread_step(t, &w, &warm, pc, ops)) {
		ops = run_batch(t, &w, &x, ops, batch);
		/* one TSC read per batch: the time between two phase checks */
		b1 = rdtsc_now();
		if (b1 - b0 > slice && batch > 1)
			batch /= 2;
		else if (b1 - b0 < slice / 4 && batch < max_batch)
			batch *= 2;
		b0 = b1;
	}
	/* after the window, the core as warm as in it; before the join */
	t->timing_ticks = timing_overhead(&x);
}

/* raw: the bare grab + put on one struct page. */
static void raw_loop(struct thread_ctx *t, struct perfctr_thread *pc)
{
	struct run *r = t->run;
	const struct config *c = r->c;
	const struct section x = {
		.scheme = c->scheme,
		.page = mm_lookup_page(r->mm, t->addrs[0], NULL),
	};
	unsigned long ops = 0;
	struct window w = { 0 };
	bool warm = false;

	while (thread_step(t, &w, &warm, pc, ops))
		ops = run_batch(t, &w, &x, ops, 4096);
	t->timing_ticks = timing_overhead(&x);
}

/*
 * c2c: thread i may take the line when it holds i (mod n) and hands it
 * on with a CAS; one op is one hand-off received and passed on.
 */
static void c2c_loop(struct thread_ctx *t, struct perfctr_thread *pc)
{
	struct run *r = t->run;
	unsigned long n = r->c->threads, ops = 0, i;
	struct window w = { 0 };
	bool warm = false;

	while (thread_step(t, &w, &warm, pc, ops)) {
		for (i = 0; i < 64; i++) {
			unsigned long v = __atomic_load_n(&r->c2c,
							  __ATOMIC_ACQUIRE);

			while (v % n != t->idx) {
				if (phase_is(r, PH_STOP))
					return;
				cpu_relax();
				v = __atomic_load_n(&r->c2c, __ATOMIC_ACQUIRE);
			}
			__atomic_compare_exchange_n(&r->c2c, &v, v + 1, false,
						    __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED);
			ops++;
		}
	}
}

/*
 * The collapse competitor's other half: a PMD-mapped THP at addr is
 * split (__split_huge_pmd() under mmap_lock read, as a partial
 * mprotect() or MADV_DONTNEED would), so that the next MADV_COLLAPSE
 * has PTEs to collapse. Returns true if it split one.
 */
static bool split_thp(struct mm_struct *mm, unsigned long addr)
{
	bool split = false;
	pmd_t *pmdp;

	mmap_read_lock(mm);
	pmdp = mm_find_pmd(mm, addr, false);
	if (pmdp && pmd_leaf(pmdp_get(pmdp))) {
		split_huge_pmd(mm, pmdp);
		split = true;
	}
	mmap_read_unlock(mm);
	return split;
}

/*
 * The mkclean competitor's writebacks in flight, oldest first. Every one
 * takes --writeback-us, so they complete in the order they started. The
 * competitor completes them itself (the interrupt's work, on the
 * submitting CPU), between its writebacks and, while it has any in
 * flight, as it polls for a page lock whose holder may wait for one.
 */
struct wb_queue {
	struct folio *folio[WB_QUEUE_DEPTH];
	uint64_t due[WB_QUEUE_DEPTH];
	unsigned int head, n;
	uint64_t io_ticks;
};

static void wb_push(struct wb_queue *q, struct folio *folio)
{
	unsigned int i = (q->head + q->n++) % WB_QUEUE_DEPTH;

	q->folio[i] = folio;
	q->due[i] = rdtsc_now() + q->io_ticks;
}

static void wb_end_oldest(struct wb_queue *q)
{
	folio_end_writeback(q->folio[q->head]);
	q->head = (q->head + 1) % WB_QUEUE_DEPTH;
	q->n--;
}

/* Complete every writeback whose I/O time has passed. */
static void wb_complete(void *arg)
{
	struct wb_queue *q = arg;
	uint64_t now = q->n ? rdtsc_now() : 0;

	while (q->n && q->due[q->head] <= now)
		wb_end_oldest(q);
}

/* mkclean with I/O time: returns true if a writeback started. */
static bool wb_mkclean(struct run *r, struct wb_queue *q, unsigned long addr)
{
	struct folio *folio;

	wb_complete(q);
	while (q->n == WB_QUEUE_DEPTH) {	/* the queue is full */
		cpu_relax();
		wb_complete(q);
	}
	/*
	 * With I/O in flight, a page-lock holder may be waiting for it: poll
	 * the lock and complete the I/O meanwhile. With none, sleep on it.
	 */
	if (mm_writeback_start(r->mm, addr, &folio, q->n ? wb_complete : NULL,
			       q) < 0)
		return false;
	if (folio)		/* NULL: a device page, no I/O */
		wb_push(q, folio);
	return true;
}

static void competitor_loop(struct thread_ctx *t)
{
	struct run *r = t->run;
	unsigned long seed = 0x9e3779b97f4a7c15UL ^ (t->idx + 1), ops = 0;
	struct window w = { 0 };
	struct wb_queue wbq = {
		.io_ticks = (uint64_t)(run_opts.writeback_us * 1e-6 * tsc_hz()),
	};
	bool warm = false;

	while (thread_step(t, &w, &warm, NULL, ops)) {
		unsigned long addr = r->all_addrs[xorshift(&seed) % r->nr_all];
		struct mm_struct *child;
		struct folio *folio;
		struct page *page;
		bool ok = false;

		switch (t->comp) {
		case C_GETPUT:
			folio = spec_get_folio(r->mm, addr);
			if (folio) {
				folio_put(folio);
				ok = true;
			}
			break;
		case C_QUERY:	/* ok = read as pinned */
			page = mm_lookup_page(r->mm, addr, NULL);
			ok = page && r->c->scheme->maybe_pinned(page_folio(page));
			break;
		case C_MKCLEAN:
			if (run_opts.writeback_us > 0)
				ok = wb_mkclean(r, &wbq, addr);
			else
				ok = mm_mkclean_page(r->mm, addr) >= 0;
			break;
		case C_FORK:
			child = mm_fork(r->mm, NULL, NULL);
			if (child) {
				mm_free(child);
				ok = true;
			}
			break;
		case C_MIGRATE:
			ok = mm_migrate_page(r->mm, addr) == 0;
			break;
		case C_COLLAPSE:
			if (split_thp(r->mm, addr)) {
				ops++;
				continue;	/* counted by thp_splits */
			}
			ok = mm_collapse_huge_page(r->mm, addr, NULL) == 0;
			break;
		default:
			break;
		}
		if (ok)
			t->ok_all++;
		else
			t->fail_all++;
		ops++;
	}
	while (wbq.n)		/* the window is over: the rest end now */
		wb_end_oldest(&wbq);
}

static void *thread_main(void *arg)
{
	struct thread_ctx *t = arg;
	struct run *r = t->run;
	struct perfctr_thread *pc = NULL;
	int cpu;

	/* started on its PU (start_thread()); hwloc binds it strictly */
	t->bind_err = topo_bind_self(run_opts.topo, t->pu);
	gup_thread_register();
	if (t->comp == C_NR && run_opts.events)
		t->perf_err = perfctr_thread_open(run_opts.events, &pc);
	while (phase_is(r, PH_GATE))
		cpu_relax();
	if (t->comp != C_NR)
		competitor_loop(t);
	else if (r->c->wl->kind == WL_RAW)
		raw_loop(t, pc);
	else if (r->c->wl->kind == WL_C2C)
		c2c_loop(t, pc);
	else
		pinner_loop(t, pc);
	cpu = topo_current_pu();	/* -errno: unknown, not migrated */
	t->migrated = cpu >= 0 && cpu != t->pu;
	perfctr_thread_close(pc);
	vmstat_flush_thread();
	return NULL;
}

/* ---- set-up of memory and address space ---- */

static void *vmemmap_alloc(size_t size, void *arg)
{
	return topo_alloc(run_opts.topo, arg, size);
}

static void vmemmap_free(void *p, size_t size, void *arg)
{
	topo_free_mem(run_opts.topo, p, size);
}

/*
 * Lay the pinners' pages out: one region shared by all (same, pool) or
 * one per thread (private); each pinner gets its list of op addresses.
 */
static int setup_mm(struct run *r, struct mem_place *mp, char *err,
		    size_t errlen)
{
	const struct config *c = r->c;
	bool thp = c->pages == HPAGE_PMD_NR &&
		   !(c->scheme->features & SF_DEVMAP);
	bool dev = c->scheme->features & SF_DEVMAP;
	bool shared = c->with[C_MKCLEAN] > 0;
	/* collapse: 2 MiB anon VMAs, MADV_HUGEPAGE after the first touch */
	bool collapse = c->with[C_COLLAPSE] > 0;
	unsigned long per_region, nregions, region_pages, i, k;
	unsigned long vm_flags = VM_WRITE;
	struct mem_config mc = { 0 };
	int ret;

	if (c->share == SHARE_POOL)
		region_pages = max(c->pool, c->pages);
	else
		region_pages = c->pages;
	nregions = c->share == SHARE_PRIVATE ? c->threads : 1;
	per_region = (region_pages + HPAGE_PMD_NR - 1) & ~(HPAGE_PMD_NR - 1UL);

	if (thp) {
		/*
		 * No THP is ever copied (COW and fork split the PMD): one
		 * per region; small pages for what splits copy one by one
		 */
		mc.nr_thp = nregions * per_region / HPAGE_PMD_NR + 2;
		mc.nr_small = nregions * per_region *
			      (2 + c->with[C_FORK]) + 256;
		vm_flags |= VM_HUGEPAGE;
	} else if (dev) {
		mc.nr_device = nregions * region_pages;
		mc.nr_small = 64;
		vm_flags |= VM_DEVMAP;
	} else {
		/* spares for COW, fork copies and migration targets */
		mc.nr_small = nregions * region_pages * 3 + 256;
	}
	/*
	 * Each collapse allocates a THP; the one it replaces is freed when
	 * its last pin goes: two per 2 MiB range, and one in flight per
	 * collapse thread
	 */
	if (collapse)
		mc.nr_thp = nregions * per_region / HPAGE_PMD_NR * 2 +
			    c->with[C_COLLAPSE] + 2;
	if (shared)
		vm_flags |= VM_SHARED;
	/*
	 * Per-CPU page lists as on a machine with a zone of 16 GiB or more
	 * (zone_batchsize() 63, high 252), and spares for what every
	 * thread's list can hold, so that the zone never runs dry on their
	 * account (drain_all_pages() is for real shortage).
	 */
	mc.pcp_batch = PCP_BATCH_LARGE;
	mc.nr_small += (c->threads + config_nr_competitors(c) + 1) *
		       mem_pcp_spare(PCP_BATCH_LARGE);
	r->nr_small = mc.nr_small;
	r->nr_thp = mc.nr_thp;
	mc.page_ext = c->scheme->features & SF_PAGE_EXT;
	mc.alloc = vmemmap_alloc;
	mc.free = vmemmap_free;
	mc.alloc_arg = mp;
	ret = mem_init(&mc);
	if (ret) {
		snprintf(err, errlen, "cannot allocate %zu bytes of struct pages",
			 mem_vmemmap_bytes(&mc));
		return ret;
	}
	if (c->scheme->features & SF_DEVMAP_PAGEREF)
		mem_devmap_set_page_refs(true);
	r->mm = mm_alloc(c->scheme);
	if (!r->mm)
		return -ENOMEM;
	/* more than one thread runs the mm: TLB flushes interrupt the others */
	r->mm->ipi_flush = c->threads + config_nr_competitors(c) > 1;
	r->mm->wb_no_pin_query = true;
	r->mm->stable_writes = run_opts.stable_writes;
	r->nr_all = nregions * region_pages;
	r->all_addrs = calloc(r->nr_all, sizeof(*r->all_addrs));
	if (!r->all_addrs)
		return -ENOMEM;
	for (i = 0; i < nregions; i++) {
		unsigned long base = REGION_BASE + i * (per_region * PAGE_SIZE +
							 PMD_SIZE);
		unsigned long len = region_pages * PAGE_SIZE;

		if (thp || collapse)
			len = per_region * PAGE_SIZE;
		ret = mm_mmap(r->mm, base, len, vm_flags);
		if (ret == -ENOMEM && i >= MM_MAX_VMAS - 1)
			ret = -E2BIG;
		if (ret) {
			snprintf(err, errlen, "cannot map region %lu: %s", i,
				 ret == -E2BIG ? "too many private regions "
				 "(threads) for the model's VMA table" :
				 strerror(-ret));
			return ret;
		}
		/* collapse: the pinners' pages only, small pages first */
		ret = mm_populate(r->mm, base, thp ? len :
				  region_pages * PAGE_SIZE);
		if (!ret && collapse && !thp)
			ret = mm_madvise_hugepage(r->mm, base, len);
		/*
		 * pin_ro: written, then mprotect(PROT_READ): read-only PTEs,
		 * so GUP-fast asks gup_must_unshare() (anonexcl) as it would
		 * of any R/O PTE; the unshare fault itself needs pages that
		 * fork has shared (with:fork)
		 */
		if (!ret && c->wl->kind == WL_PIN_RO)
			ret = mm_mprotect_ro(r->mm, base, len);
		if (ret) {
			snprintf(err, errlen, "cannot populate: %s",
				 strerror(-ret));
			return ret;
		}
		for (k = 0; k < region_pages; k++)
			r->all_addrs[i * region_pages + k] = base + k * PAGE_SIZE;
	}
	return 0;
}

/*
 * pool:M: one list of random chunk starts, shared by the pinners, each
 * starting at its own random place and going round it. Four picks per
 * chunk (at least 4096), so that 98% of the chunks (1 - e^-4) are in it:
 * at most 4 Mi entries (32 MiB) for the largest pool the CLI takes.
 */
static int setup_pool(struct run *r)
{
	const struct config *c = r->c;
	unsigned long chunks = r->nr_all / c->pages, k;
	unsigned long n = chunks * 4, seed = 0x9e3779b97f4a7c15UL;

	if (n < 4096)
		n = 4096;
	r->npool = (unsigned int)n;
	r->pool_addrs = calloc(n, sizeof(*r->pool_addrs));
	if (!r->pool_addrs)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		r->pool_addrs[k] = r->all_addrs[(xorshift(&seed) % chunks) *
						c->pages];
	return 0;
}

/* The op addresses of pinner i. */
static int setup_addrs(struct run *r, struct thread_ctx *t)
{
	const struct config *c = r->c;
	unsigned long seed = 0x2545f4914f6cdd1dUL * (t->idx + 1);
	unsigned long region_pages = r->nr_all /
		(c->share == SHARE_PRIVATE ? c->threads : 1);

	if (c->share == SHARE_POOL) {
		t->addrs = r->pool_addrs;	/* shared: not freed here */
		t->naddr = r->npool;
		t->addr_start = (unsigned int)(xorshift(&seed) % r->npool);
		return 0;
	}
	t->naddr = 1;
	t->addrs = calloc(1, sizeof(*t->addrs));
	if (!t->addrs)
		return -ENOMEM;
	t->addrs[0] = r->all_addrs[c->share == SHARE_PRIVATE ?
				   t->idx * region_pages : 0];
	return 0;
}

/* ---- results ---- */

static int cmp_wsample(const void *a, const void *b)
{
	uint32_t x = ((const struct wsample *)a)->ticks;
	uint32_t y = ((const struct wsample *)b)->ticks;

	return (x > y) - (x < y);
}

void wsample_sort(struct wsample *s, unsigned long n)
{
	qsort(s, n, sizeof(*s), cmp_wsample);
}

uint32_t wsample_percentile(const struct wsample *s, unsigned long n,
			    unsigned int p)
{
	double total = 0, want, cum = 0;
	unsigned long i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		total += s[i].weight;
	/* the tolerance: n equal weights summed in any order */
	want = total * p / 100 * (1 - 1e-12);
	for (i = 0; i < n; i++) {
		cum += s[i].weight;
		if (cum >= want)
			return s[i].ticks;
	}
	return s[n - 1].ticks;
}

static void add_counter(struct gbench_result *out, const char *name, double v)
{
	if (out->nr_counters >= GBENCH_MAX_COUNTERS)
		return;
	out->counters[out->nr_counters].name = name;
	out->counters[out->nr_counters].value = v;
	out->nr_counters++;
}

/* Share of the pinners' addresses a PMD leaf still maps (THP rows). */
static double pmd_mapped_pct(struct run *r)
{
	unsigned long i, n = 0;
	bool leaf;

	for (i = 0; i < r->nr_all; i++)
		n += mm_find_entry(r->mm, r->all_addrs[i], &leaf) && leaf;
	return r->nr_all ? 100.0 * n / r->nr_all : 0;
}

/*
 * Timing one op alone delays it by the clock reads (tens of ns): an op
 * meets a competitor's event (a fork's write_protect_seq, a
 * write-protect) that lands between the end of the op before it and its
 * own check, so a delay of d adds about d times the event rate to its
 * chance of the slow path (README: 200 ns more before the timed op took
 * pin/bias beside fork:1 from 0.35% to 1.6%). For ops of tens of ns the
 * timed ops then do not take the paths the others take, and no choice of
 * ops fixes that. The row says how often its timed ops took the slow
 * path (each thread's share weighted by its ops, as the percentiles),
 * and a difference from slowpath_pct past 5 sigma of the binomial
 * noise is flagged on stderr: its percentiles are those of an op
 * perturbed by the timing.
 */
static void sampled_slowpath(const struct run *r, struct gbench_result *out,
			     double slowpath_pct)
{
	const struct config *c = r->c;
	double ops = 0, slow = 0, taken = 0, p, sigma;
	unsigned int i;

	if (c->wl->kind == WL_RAW || c->wl->kind == WL_C2C)
		return;		/* no slow path */
	for (i = 0; i < c->threads; i++) {
		const struct thread_ctx *t = &r->t[i];

		if (!t->smp.taken)
			continue;
		ops += t->ops;
		slow += t->ops * t->smp_slow / t->smp.taken_ops;
		taken += t->smp.taken;
	}
	if (!taken)
		return;
	p = 100.0 * slow / ops;
	add_counter(out, "sampled_slowpath_pct", p);
	sigma = 100.0 * sqrt(max(slowpath_pct, 1.0) / 100 *
			     max(100 - slowpath_pct, 1.0) / 100 / taken);
	if (fabs(p - slowpath_pct) > 5 * sigma + 1)
		fprintf(stderr, "gupbench: note: %s: the timed ops took the "
			"slow path %.1f%% of the time against %.1f%% of all "
			"ops: timing an op alone changes the race it is in; "
			"p50_ns/p99_ns are those of such an op\n", c->name, p,
			slowpath_pct);
}

static void fill_result(struct run *r, struct gbench_result *out)
{
	const struct config *c = r->c;
	double sum_ns = 0, sum_cpu = 0, sum_rate = 0, sum_tsc = 0;
	double wall_all = 0, cpu_all = 0, runq_all = 0, offcpu;
	double sum_ok_rate = 0, sum_rate2 = 0, rate, mean_rate, var;
	double win_start = 0, win_end = 1e300;
	double first = 1e300, last = 0, ev[PERFCTR_MAX_EVENTS] = { 0 };
	double hz = (double)tsc_hz();
	unsigned long ops = 0, slow = 0, retries = 0, ns = 0, fails = 0;
	unsigned long ev_ops = 0;	/* ops of pinners with counters */
	unsigned int no_perf = 0, mux = 0;
	int perf_err = 0;		/* the first failed pinner's reason */
	double comp_ok[C_NR] = { 0 }, comp_fail[C_NR] = { 0 };	/* per s */
	unsigned int i, e, nev = run_opts.events ?
				perfctr_set_nr(run_opts.events) : 0;
	struct wsample *all;
	double secs;

	for (i = 0; i < r->nthreads; i++) {
		struct thread_ctx *t = &r->t[i];

		win_start = max(win_start, t->t_start);
		win_end = min(win_end, t->t_end);
		first = min(first, t->t_start);
		last = max(last, t->t_end);
		if (t->comp != C_NR) {
			/* each competitor's rate over its own measured window */
			secs = t->t_end - t->t_start;
			if (secs > 0) {
				comp_ok[t->comp] += t->ok / secs;
				comp_fail[t->comp] += t->fail / secs;
			}
			continue;
		}
		ops += t->ops;
		if (!t->ops)
			continue;
		secs = t->t_end - t->t_start;
		sum_ns += secs * 1e9 / t->ops;
		sum_cpu += t->cpu_ns / t->ops;
		wall_all += secs * 1e9;
		cpu_all += t->cpu_ns;
		if (runq_all >= 0)
			runq_all = t->runq_ns >= 0 ? runq_all + t->runq_ns : -1;
		rate = t->ops / secs;
		sum_rate += rate;
		sum_rate2 += rate * rate;
		sum_tsc += (double)t->tsc / t->ops;
		slow += t->st1.slow_calls - t->st0.slow_calls;
		retries += (t->st1.retries - t->st0.retries) +
			   (t->st1.seq_retry - t->st0.seq_retry) +
			   (t->st1.fast_undo - t->st0.fast_undo);
		fails += t->fail;
		/* calls that got every page (raw: grabs that succeeded) */
		sum_ok_rate += (t->ops - t->fail) / secs;
		ns += t->smp.n;
		if (!nev)
			continue;
		if (!t->perf_ok) {
			if (!no_perf++)
				perf_err = t->perf_err;
			continue;
		}
		ev_ops += t->ops;
		mux += t->perf_mux;
		for (e = 0; e < nev; e++)
			ev[e] += t->ev[e];
	}
	if (!ops) {
		snprintf(out->error, sizeof(out->error),
			 "no operation completed in the window");
		return;
	}
	/* the spread of per-thread rates: windows differ a little in length */
	mean_rate = sum_rate / c->threads;
	var = max(0.0, sum_rate2 / c->threads - mean_rate * mean_rate);
	out->real_ns_per_op = sum_ns / c->threads;
	out->cpu_ns_per_op = sum_cpu / c->threads;
	out->ops = (long long)ops;
	out->threads = (int)c->threads;
	add_counter(out, "ops", (double)ops);
	add_counter(out, "ops_per_s", sum_rate);
	add_counter(out, "pages_per_s", sum_ok_rate *
		    (c->wl->kind <= WL_GET ? c->pages : 1));
	/* one op is one gup call */
	add_counter(out, "slowpath_pct", 100.0 * slow / ops);
	/* calls that did not get every page (raw: grabs that failed) */
	add_counter(out, "fail_pct", 100.0 * fails / ops);
	add_counter(out, "retries_per_op", (double)retries / ops);
	add_counter(out, "fairness_cov", mean_rate > 0 ?
		    sqrt(var) / mean_rate : 0);
	/*
	 * Off CPU: waiting for a CPU (runq_pct: the machine's) or asleep
	 * (mmap_lock behind fork, lock_page(): the model's, as the kernel's
	 * slow path sleeps there too). Without schedstat no runq_pct, in
	 * every row of the run alike.
	 */
	offcpu = wall_all > 0 ? max(0.0, 100.0 * (1 - cpu_all / wall_all)) : 0;
	add_counter(out, "offcpu_pct", offcpu);
	/* two clocks: never more than the time off CPU */
	if (runq_all >= 0)
		add_counter(out, "runq_pct", wall_all > 0 ?
			    min(offcpu, 100.0 * runq_all / wall_all) : 0);
	/*
	 * The hypervisor's share of the pinners' PUs over the window
	 * (/proc/stat steal, USER_HZ ticks: +-1 tick per PU), which no
	 * other counter names: a guest counts it as neither runnable nor
	 * asleep, and its CPU time includes it or not by the kernel's
	 * CONFIG_PARAVIRT_TIME_ACCOUNTING
	 */
	for (i = 0; i < c->threads; i++)
		if (r->t[i].migrated || r->t[i].bind_err)
			break;			/* not on the PUs read */
	if (i == c->threads && r->steal_ns >= 0 && r->steal_win_s > 0 &&
	    r->steal_pus)
		add_counter(out, "steal_pct", min(100.0, 100.0 * r->steal_ns /
			    (r->steal_pus * r->steal_win_s * 1e9)));
	if (r->ref_before_ns >= 0 && r->ref_after_ns >= 0)
		add_counter(out, "ref_atomic_ns",
			    (r->ref_before_ns + r->ref_after_ns) / 2);
	add_counter(out, "overlap_pct", last > first ?
		    100.0 * max(0.0, win_end - win_start) / (last - first) : 0);
	/*
	 * Threads sample about as often in time (every 100 us): a thread
	 * that did few ops (a starved one) would weigh as much as a fast
	 * one. Each sample stands for the ops it was chosen among, scaled
	 * so that a thread's samples stand for its ops: the percentiles
	 * are of the row's ops.
	 */
	all = calloc(ns ? ns : 1, sizeof(*all));
	if (all && ns) {
		unsigned long k = 0, j;
		double cost = 0;
		unsigned int timed = 0;

		for (i = 0; i < c->threads; i++) {
			const struct thread_ctx *t = &r->t[i];

			double stand = 0;

			if (!t->smp.n)
				continue;
			cost += t->timing_ticks;
			timed++;
			for (j = 0; j < t->smp.n; j++)
				stand += t->smp.buf[j].ops;
			for (j = 0; j < t->smp.n; j++) {
				all[k].ticks = t->smp.buf[j].ticks;
				all[k++].weight = t->smp.buf[j].ops * t->ops /
						  stand;
			}
		}
		/* the same code on every pinner: one mean, taken off both */
		cost /= timed;
		wsample_sort(all, ns);
		add_counter(out, "p50_ns", max(0.0, wsample_percentile(all,
				ns, 50) - cost) * 1e9 / hz);
		add_counter(out, "p99_ns", max(0.0, wsample_percentile(all,
				ns, 99) - cost) * 1e9 / hz);
		add_counter(out, "timing_overhead_ns", cost * 1e9 / hz);
	}
	add_counter(out, "latency_samples", (double)ns);
	free(all);
	sampled_slowpath(r, out, 100.0 * slow / ops);
	/*
	 * Events per op over the ops of the pinners whose counters opened
	 * and read back: a pinner without them (too few file descriptors,
	 * a failed read) would otherwise add ops and no events.
	 */
	if (no_perf)
		fprintf(stderr, "gupbench: warning: %s: perf counters failed "
			"on %u of %u pinner threads (the first: %s); %s\n",
			c->name, no_perf, c->threads,
			perf_err == -ENODATA ? "never scheduled on the PMU" :
			perf_err ? strerror(-perf_err) : "not read",
			ev_ops ? "events per op are over the other threads' "
			"ops" : "no event counters in this row");
	if (mux)
		fprintf(stderr, "gupbench: warning: %s: perf counters were "
			"multiplexed on %u of %u pinner threads: events per op "
			"are scaled estimates (time enabled / time running)\n",
			c->name, mux, c->threads);
	/*
	 * and the row says so, for whoever reads only the JSON; in every
	 * row, so that libbenchmark's aggregates over repetitions average
	 * over all of them, not over those that had the counter
	 */
	add_counter(out, "perf_failed_threads", no_perf);
	add_counter(out, "perf_multiplexed_threads", mux);
	for (e = 0; ev_ops && e < nev; e++) /* names live as long as the set */
		add_counter(out, perfctr_set_name(run_opts.events, e),
			    ev[e] / ev_ops);
	add_counter(out, "tsc_per_op", sum_tsc / c->threads);
	if (c->with[C_GETPUT])
		add_counter(out, "getput_per_s", comp_ok[C_GETPUT]);
	if (c->with[C_QUERY]) {
		add_counter(out, "query_per_s",
			    comp_ok[C_QUERY] + comp_fail[C_QUERY]);
		add_counter(out, "query_pinned_pct",
			    /* ok / (ok + 0) is 1: 100 ok / ok may not be 100 */
			    100.0 * (comp_ok[C_QUERY] /
			    max(1e-9, comp_ok[C_QUERY] + comp_fail[C_QUERY])));
	}
	if (c->with[C_MKCLEAN])
		add_counter(out, "mkclean_per_s", comp_ok[C_MKCLEAN]);
	if (c->with[C_FORK])
		add_counter(out, "forks_per_s", comp_ok[C_FORK]);
	if (c->with[C_MIGRATE]) {
		add_counter(out, "migrate_ok_per_s", comp_ok[C_MIGRATE]);
		add_counter(out, "migrate_fail_per_s", comp_fail[C_MIGRATE]);
	}
	add_counter(out, "membind_failed", r->membind_failed);
	if (c->with[C_COLLAPSE]) {
		add_counter(out, "collapse_ok_per_s", comp_ok[C_COLLAPSE]);
		add_counter(out, "collapse_fail_per_s",
			    comp_fail[C_COLLAPSE]);
	}
	if (r->nr_thp) {
		add_counter(out, "thp_splits",
			    (double)(r->splits1 - r->splits0));
		add_counter(out, "pmd_mapped_pct", pmd_mapped_pct(r));
	}
}

#define REF_OPS		20000
#define REF_REPS	9

/*
 * The machine's speed around a row (config_run() takes the mean of a
 * time before its threads start and one after they end), on its first
 * pinner's PU:
 * ns per uncontended locked add on a line of the caller's own (the
 * median of REF_REPS runs of REF_OPS). The same code in every row, so a
 * row whose value is well above the sweep's others ran while the host
 * was slower (a busy sibling thread or neighbour on a VM's host), which
 * its own counters cannot show. -1 where the PU cannot be had.
 */
static double reference_atomic_ns(int pu)
{
	static __thread struct { long v; } ____cacheline_aligned line;
	double t[REF_REPS];
	cpu_set_t old, set;
	uint64_t t0;
	int i, j;

	if (pu < 0 || pu >= CPU_SETSIZE ||
	    sched_getaffinity(0, sizeof(old), &old))
		return -1;
	CPU_ZERO(&set);
	CPU_SET(pu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	for (i = -1; i < REF_REPS; i++) {	/* the first run warms up */
		t0 = rdtsc_begin();
		for (j = 0; j < REF_OPS; j++)
			__atomic_fetch_add(&line.v, 1, __ATOMIC_SEQ_CST);
		if (i >= 0)
			t[i] = (double)(rdtsc_end() - t0) * 1e9 / tsc_hz() /
			       REF_OPS;
	}
	if (sched_setaffinity(0, sizeof(old), &old)) {
		/* polling on a pinner's PU for the whole row: say so */
		fprintf(stderr, "gupbench: warning: cannot restore the "
			"coordinator's CPU affinity: %s\n", strerror(errno));
		return -1;
	}
	qsort(t, REF_REPS, sizeof(*t), cmp_double);
	return t[REF_REPS / 2];
}

/*
 * Start a thread already on its PU (its stack's first page is touched
 * there); where the kernel refuses that affinity, start it unbound:
 * thread_main() binds it and reports what failed.
 */
static int start_thread(pthread_t *thr, struct thread_ctx *t)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int ret = -1;

	if (t->pu >= 0 && t->pu < CPU_SETSIZE && !pthread_attr_init(&attr)) {
		CPU_ZERO(&set);
		CPU_SET(t->pu, &set);
		if (!pthread_attr_setaffinity_np(&attr, sizeof(set), &set))
			ret = pthread_create(thr, &attr, thread_main, t);
		pthread_attr_destroy(&attr);
	}
	if (ret)
		ret = pthread_create(thr, NULL, thread_main, t);
	return ret;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

void config_run(void *arg, struct gbench_result *out)
{
	const struct config *c = arg;
	struct run r = { .c = c, .phase = PH_GATE };
	unsigned int n = c->threads + config_nr_competitors(c), i, k;
	struct mem_place mp = c->mp;	/* topo_alloc() notes degradation */
	pthread_t *thr = calloc(n, sizeof(*thr));
	char err[256] = "";
	long lost0 = folio_wait_lost();
	double t0, steal0;
	int *steal_pus = NULL;
	int ret;

	r.t = aligned_alloc(64, n * sizeof(*r.t));
	if (!thr || !r.t) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		goto out_free;
	}
	memset(r.t, 0, n * sizeof(*r.t));
	r.nthreads = n;
	out->threads = (int)c->threads;	/* error rows too */
	ret = setup_mm(&r, &mp, err, sizeof(err));
	if (ret) {
		snprintf(out->error, sizeof(out->error), "%s", err[0] ? err :
			 strerror(-ret));
		goto out_mem;
	}
	if (strcmp(mp.note, c->mp.note)) {
		/* the plan in the context said otherwise: say so here */
		r.membind_failed = true;
		fprintf(stderr, "gupbench: warning: %s: struct pages not "
			"bound as planned (%s): %s\n", c->name, c->mp.policy,
			mp.note);
	}
	if (c->share == SHARE_POOL && setup_pool(&r)) {
		snprintf(out->error, sizeof(out->error), "out of memory for "
			 "the pool's address list");
		goto out_mem;
	}
	for (i = 0, k = 0; i < n; i++) {
		struct thread_ctx *t = &r.t[i];
		const char *role = config_role(c, i);

		t->run = &r;
		t->idx = i;
		t->pu = c->pus[i];
		t->comp = C_NR;
		t->smp.seed = 0x2545f4914f6cdd1dUL ^ (i + 1);
		for (k = 0; k < C_NR; k++)
			if (!strcmp(role, competitors[k].name))
				t->comp = k;
		if (t->comp == C_NR) {
			/*
			 * written every op: lines no other thread writes, so
			 * they stay in the pinner's cache whichever node backs
			 * them (as this thread_ctx's counters do)
			 */
			size_t sz = (c->pages * sizeof(*t->pages) + 63) & ~63UL;

			t->smp.buf = calloc(SAMPLER_MAX,
					    sizeof(*t->smp.buf));
			t->pages = aligned_alloc(64, sz);
			if (!t->smp.buf || !t->pages || setup_addrs(&r, t)) {
				snprintf(out->error, sizeof(out->error),
					 "out of memory");
				n = 0;		/* no thread started yet */
				goto out_join;
			}
		}
	}
	r.ref_before_ns = reference_atomic_ns(c->pus[0]);
	steal_pus = calloc(c->threads ? c->threads : 1, sizeof(*steal_pus));
	if (steal_pus)
		r.steal_pus = pinner_pus(c, steal_pus);
	for (i = 0; i < n; i++)
		if (start_thread(&thr[i], &r.t[i])) {
			snprintf(out->error, sizeof(out->error),
				 "cannot start thread %u", i);
			n = i;
			goto out_join;
		}

	/* gated start, then warm-up until every thread checked in */
	__atomic_store_n(&r.phase, PH_WARMUP, __ATOMIC_RELEASE);
	t0 = now_s();
	while (__atomic_load_n(&r.warm, __ATOMIC_ACQUIRE) < (int)n ||
	       now_s() - t0 < run_opts.warmup)
		sleep_s(0.001);
	r.splits0 = thp_split_pmd_events();
	steal0 = steal_pus ? steal_ns(steal_pus, r.steal_pus) : -1;
	t0 = now_s();
	__atomic_store_n(&r.phase, PH_MEASURE, __ATOMIC_RELEASE);
	sleep_s(run_opts.duration);
	/* cool-down under load until every thread has stopped measuring */
	__atomic_store_n(&r.phase, PH_COOLDOWN, __ATOMIC_RELEASE);
	while (__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) < (int)n)
		sleep_s(0.0005);
	r.steal_win_s = now_s() - t0;
	r.steal_ns = steal0 >= 0 ? steal_ns(steal_pus, r.steal_pus) : -1;
	r.steal_ns = r.steal_ns >= 0 ? r.steal_ns - steal0 : -1;
	r.splits1 = thp_split_pmd_events();
out_join:
	__atomic_store_n(&r.phase, PH_STOP, __ATOMIC_RELEASE);
	for (i = 0; i < n; i++)
		pthread_join(thr[i], NULL);
	r.ref_after_ns = reference_atomic_ns(c->pus[0]);
	if (!out->error[0]) {
		unsigned int off_pu = 0;

		fill_result(&r, out);
		for (i = 0; i < n; i++)
			if (r.t[i].migrated || r.t[i].bind_err) {
				fprintf(stderr, "gupbench: warning: %s: thread %u "
					"%s PU %d\n", c->name, i,
					r.t[i].bind_err ? "could not bind to" :
					"migrated off", r.t[i].pu);
				off_pu++;
			}
		/* the context's placement is the plan */
		add_counter(out, "bind_failed_threads", off_pu);
		/* a model bug: the row's numbers are not the model's */
		if (folio_wait_lost() != lost0)
			snprintf(out->error, sizeof(out->error), "the model "
				 "lost %ld page-lock wake-ups (waiter queued on "
				 "a folio with PG_locked and PG_waiters clear)",
				 folio_wait_lost() - lost0);
	}
out_mem:
	/* every thread has exited: the teardown's flushes are local */
	if (r.mm)
		r.mm->ipi_flush = false;
	mm_free(r.mm);
	r.mm = NULL;
	/*
	 * Every page and THP is free once the mm is gone, or a ref leaked;
	 * a WARN_ON_ONCE() of the model fired (printed on stderr): either
	 * is a model bug, and the row says so instead of its numbers
	 */
	if (!out->error[0] && vmemmap &&
	    (mem_nr_free() != r.nr_small || mem_nr_free_thp() != r.nr_thp))
		snprintf(out->error, sizeof(out->error), "the model leaked "
			 "%ld pages and %ld THPs (a reference not put)",
			 (long)r.nr_small - (long)mem_nr_free(),
			 (long)r.nr_thp - (long)mem_nr_free_thp());
	if (!out->error[0] && vmemmap && atomic_long_read(&gup_warnings))
		snprintf(out->error, sizeof(out->error), "the model's "
			 "WARN_ON_ONCE() fired %ld times (the first is on "
			 "stderr)", atomic_long_read(&gup_warnings));
	if (vmemmap)
		mem_exit();
	free(r.all_addrs);
out_free:
	free(r.pool_addrs);
	if (r.t)
		for (i = 0; i < r.nthreads; i++) {
			free(r.t[i].smp.buf);
			free(r.t[i].pages);
			if (r.t[i].addrs != r.pool_addrs)
				free(r.t[i].addrs);
		}
	free(r.t);
	free(thr);
	free(steal_pus);
}
