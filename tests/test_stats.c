// SPDX-License-Identifier: GPL-2.0
/*
 * The latency percentiles behind p50_ns/p99_ns (bench/run.c): nearest
 * rank, and each sample weighted by the ops it stands for, so that a
 * thread that sampled as often as another but did a tenth of the ops
 * moves the percentiles a tenth as much; and the sampler that picks
 * the ops to time by count, not by time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "unit.h"

static unsigned long fill(struct wsample *s, unsigned long n, double w)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		s[i] = (struct wsample){ (uint32_t)(n - i), w };  /* n..1 */
	wsample_sort(s, n);
	return n;
}

/* Equal weights: the ceil(n * p / 100)-th smallest, whatever the weight. */
static void case_nearest_rank(void *arg)
{
	static const struct { unsigned long n; unsigned int p; uint32_t want; }
	cases[] = {
		{ 1, 50, 1 }, { 1, 99, 1 }, { 2, 50, 1 }, { 2, 99, 2 },
		{ 3, 50, 2 }, { 100, 50, 50 }, { 100, 99, 99 },
		{ 101, 50, 51 }, { 101, 99, 100 }, { 1000, 99, 990 },
		{ 9999, 99, 9900 }, { 10000, 50, 5000 }, { 4096, 99, 4056 },
	};
	static const double weights[] = { 1, 0.1, 3.7, 12345.678 };
	struct wsample *s = calloc(10000, sizeof(*s));
	unsigned int i, w;

	(void)arg;
	CHECK(s);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (w = 0; w < sizeof(weights) / sizeof(weights[0]); w++) {
			fill(s, cases[i].n, weights[w]);
			CHECK_EQ(s[0].ticks, 1);
			CHECK_EQ(wsample_percentile(s, cases[i].n,
						    cases[i].p),
				 cases[i].want);
		}
	CHECK_EQ(wsample_percentile(s, 0, 50), 0);
	free(s);
}

/*
 * Two threads with 100 samples each: A did 900 ops at 10 ticks, B 100
 * ops at 1000 ticks (starved). By the samples B is half the row; by the
 * ops a tenth: p50 is A's, p99 B's (the top 10% of ops are B's).
 * Without B's slow ops in the top 1%, p99 would be A's.
 */
static void case_weighted(void *arg)
{
	struct wsample s[200];
	unsigned int i;

	(void)arg;
	for (i = 0; i < 100; i++) {
		s[i] = (struct wsample){ 10, 900.0 / 100 };
		s[100 + i] = (struct wsample){ 1000, 100.0 / 100 };
	}
	wsample_sort(s, 200);
	CHECK_EQ(wsample_percentile(s, 200, 50), 10);
	CHECK_EQ(wsample_percentile(s, 200, 90), 10);
	CHECK_EQ(wsample_percentile(s, 200, 91), 1000);
	CHECK_EQ(wsample_percentile(s, 200, 99), 1000);

	/* B did 0.25% of the ops: p99 is A's, though B has half the samples */
	for (i = 0; i < 100; i++)
		s[i] = (struct wsample){ 1000, 1.0 / 200 };
	for (i = 100; i < 200; i++)
		s[i] = (struct wsample){ (uint32_t)(i - 99), 199.0 / 100 };
	wsample_sort(s, 200);
	CHECK_EQ(wsample_percentile(s, 200, 50), 51);	/* of A's 1..100 */
	CHECK_EQ(wsample_percentile(s, 200, 99), 100);
	CHECK_EQ(wsample_percentile(s, 200, 100), 1000);
}

/* Run @total ops of cost(op index) ticks through the sampler, in batches. */
static void drive(struct op_sampler *smp, unsigned long total,
		  uint32_t (*cost)(unsigned long), uint64_t *clock)
{
	unsigned long ops = 0, batch = 1, pre, i;
	unsigned long rng = 88172645463325252UL;

	while (ops < total) {
		unsigned long left = batch;

		while (left) {		/* as pinner_loop() runs a batch */
			pre = sampler_before(smp, ops, left);
			CHECK(pre <= left);
			for (i = 0; i < pre; i++)
				*clock += cost(ops + i);
			ops += pre;
			left -= pre;
			if (left) {
				uint32_t c = cost(ops);

				CHECK_EQ(ops, smp->next);
				*clock += c;
				sampler_add(smp, c, ops + 1, *clock);
				ops++;
				left--;
			}
		}
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		batch = 1 + rng % 512;	/* often longer than the gap */
	}
}

/* The samples' share of slow ones (ticks >= 100), by weight and by count. */
static void slow_share(const struct op_sampler *smp, double *by_weight,
		       double *by_count)
{
	double w = 0, ws = 0, n = 0;
	unsigned int i;

	for (i = 0; i < smp->n; i++) {
		w += smp->buf[i].ops;
		if (smp->buf[i].ticks >= 100) {
			ws += smp->buf[i].ops;
			n++;
		}
	}
	*by_weight = ws / w;
	*by_count = n / smp->n;
}

static uint32_t one_in_100(unsigned long op)
{
	return op % 100 == 0 ? 10000 : 1;
}

/*
 * The sampler picks ops by count. A stream where one op in 100 is slow
 * and takes 99.0% of the time (10000 ticks against 1): about 1% of the
 * samples must be slow ones, and p50 a fast one. A sampler that timed
 * the first op after a due time would pick the slow ops nearly every
 * time (they fill the time), p50 10000. Batches of varying size, as the
 * pinners' loops run, with the timed op split out of its batch. The
 * period (1000 ticks) matches the stream's mean rate, so the gap stays
 * near 100 ops until the buffer fills and thins out.
 */
static void case_sampler_by_count(void *arg)
{
	struct op_sampler smp = { .seed = 0x2545f4914f6cdd1dUL };
	uint64_t clock = 0;
	double byw, byc;
	struct wsample *s;
	unsigned int i;

	(void)arg;
	smp.buf = calloc(SAMPLER_MAX, sizeof(*smp.buf));
	CHECK(smp.buf);
	sampler_start(&smp, 0, 100, 0, 10000);
	drive(&smp, 20000000, one_in_100, &clock);
	CHECK(smp.period > 10000);	/* the buffer filled and thinned out */
	CHECK(smp.n >= SAMPLER_MAX / 2 && smp.n < SAMPLER_MAX);
	s = calloc(smp.n, sizeof(*s));
	CHECK(s);
	for (i = 0; i < smp.n; i++)
		s[i] = (struct wsample){ smp.buf[i].ticks, smp.buf[i].ops };
	wsample_sort(s, smp.n);
	CHECK_EQ(wsample_percentile(s, smp.n, 50), 1);
	slow_share(&smp, &byw, &byc);
	/* binomial: 1% of ~10000 samples is 100 +- 10 */
	CHECK_MSG(byw > 0.005 && byw < 0.02, "slow share %.4f", byw);
	free(s);
	free(smp.buf);
}

/* 10^6 ops of 1 tick, then 10^5 of 100 ticks (10x the time, 9% of ops). */
static uint32_t slow_tail(unsigned long op)
{
	return op < 1000000 ? 1 : 100;
}

/*
 * A thread whose window turns slow after its warm-up: the gap starts at
 * the fast rate (1000 ops per 1000-tick period) and must follow the slow
 * one, or the slow tenth of the window (by count) gets 1/11 of the
 * samples and a p99 from a handful. Followed, the slow phase, 10/11 of
 * the time, gets most of the samples; weighted by the ops each stands
 * for, the slow share is still the 9% of ops, not the 91% of samples.
 */
static void case_sampler_follows_rate(void *arg)
{
	struct op_sampler smp = { .seed = 0x9e3779b97f4a7c15UL };
	uint64_t clock = 0;
	double byw, byc;

	(void)arg;
	smp.buf = calloc(SAMPLER_MAX, sizeof(*smp.buf));
	CHECK(smp.buf);
	sampler_start(&smp, 0, 1000, 0, 1000);
	drive(&smp, 1100000, slow_tail, &clock);
	CHECK_EQ(smp.n, smp.taken);	/* no thinning: counts are the plan */
	slow_share(&smp, &byw, &byc);
	CHECK_MSG(byc > 0.7, "slow samples %.3f of %u: the gap did not "
		  "follow the rate", byc, smp.n);
	CHECK_MSG(byw > 0.07 && byw < 0.11, "weighted slow share %.4f, "
		  "want 1/11", byw);
	free(smp.buf);
}

/* Parse @text as /proc/stat for @cpus; the steal ticks found. */
static unsigned int steal_of(const char *text, const int *cpus,
			     unsigned int n, unsigned long long *ticks)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	unsigned int found;

	CHECK(f);
	found = proc_stat_steal(f, cpus, n, ticks);
	fclose(f);
	return found;
}

/*
 * steal_pct's source: the eighth value of the cpuN lines, not of the
 * summed "cpu" line (whose first value would parse as a CPU number),
 * past an "intr" line longer than any buffer, and nothing from a
 * kernel whose lines stop before steal.
 */
static void case_proc_stat_steal(void *arg)
{
	static const char head[] =
		"cpu  3 0 915 12480 97 0 18 49 0 0\n"
		"cpu0 358 0 401 6477 6 0 2 24 0 0\n"
		"cpu1 609 0 513 6003 91 0 15 25 0 0\n"
		"cpu12 1 2 3 4 5 6 7 1000 0 0\n"
		"intr 66334";
	static const char old[] = "cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n";
	static const int both[] = { 1, 0 }, agg[] = { 3 }, far[] = { 12, 2 };
	unsigned long long ticks;
	char *text = malloc(sizeof(head) + 8 * 4096 + 64);
	size_t len;

	(void)arg;
	CHECK(text);
	strcpy(text, head);
	for (len = strlen(text); len < sizeof(head) + 8 * 4096; len += 2)
		strcpy(text + len, " 0");
	strcpy(text + len, "\nctxt 1\ncpu2 0 0 0 0 0 0 0 5\n");
	CHECK_EQ(steal_of(text, both, 2, &ticks), 2);
	CHECK_EQ(ticks, 49);
	CHECK_EQ(steal_of(text, agg, 1, &ticks), 0);
	CHECK_EQ(ticks, 0);
	/* a line after the long one is still read */
	CHECK_EQ(steal_of(text, far, 2, &ticks), 2);
	CHECK_EQ(ticks, 1005);
	CHECK_EQ(steal_of(old, both, 2, &ticks), 0);
	free(text);
}

int main(void)
{
	t_case(case_nearest_rank, NULL);
	t_case(case_weighted, NULL);
	t_case(case_sampler_by_count, NULL);
	t_case(case_sampler_follows_rate, NULL);
	t_case(case_proc_stat_steal, NULL);
	return t_done();
}
