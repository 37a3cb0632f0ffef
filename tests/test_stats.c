// SPDX-License-Identifier: GPL-2.0
/*
 * The latency percentiles behind p50_ns/p99_ns (bench/run.c): nearest
 * rank, and each sample weighted by the ops it stands for, so that a
 * thread that sampled as often as another but did a tenth of the ops
 * moves the percentiles a tenth as much; and the sampler that picks
 * the ops to time by count, not by time.
 */
#include <stdint.h>
#include <stdlib.h>

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

/*
 * The sampler picks ops by count. A stream where one op in 100 is slow
 * and takes 99.0% of the time (10000 ticks against 1): about 1% of the
 * samples must be slow ones, and p50 a fast one. A sampler that timed
 * the first op after a due time would pick the slow ops nearly every
 * time (they fill the time), p50 10000. Batches of varying size, as the
 * pinners' loops run, with the timed op split out of its batch.
 */
static void case_sampler_by_count(void *arg)
{
	struct op_sampler smp = { .seed = 0x2545f4914f6cdd1dUL };
	unsigned long ops = 0, batch = 1, slow = 0, total = 0, i, pre;
	unsigned long rng = 88172645463325252UL;
	struct wsample *s;

	(void)arg;
	smp.ticks = calloc(SAMPLER_MAX, sizeof(*smp.ticks));
	CHECK(smp.ticks);
	sampler_start(&smp, ops, 100);
	while (ops < 20000000) {
		unsigned long left = batch;

		while (left) {		/* as pinner_loop() runs a batch */
			pre = sampler_before(&smp, ops, left);
			CHECK(pre <= left);
			ops += pre;
			left -= pre;
			if (left) {
				CHECK_EQ(ops, smp.next);
				/* the op at index ops (counted from 0) */
				sampler_add(&smp, ops % 100 == 0 ? 10000 : 1,
					    ops + 1);
				ops++;
				left--;
			}
		}
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		batch = 1 + rng % 512;	/* often longer than the gap */
	}
	CHECK(smp.gap > 100);		/* the buffer filled and thinned out */
	CHECK(smp.n >= SAMPLER_MAX / 2 && smp.n < SAMPLER_MAX);
	s = calloc(smp.n, sizeof(*s));
	CHECK(s);
	for (i = 0; i < smp.n; i++) {
		s[i] = (struct wsample){ smp.ticks[i], 1 };
		slow += smp.ticks[i] == 10000;
		total++;
	}
	wsample_sort(s, smp.n);
	CHECK_EQ(wsample_percentile(s, smp.n, 50), 1);
	/* binomial: 1% of ~10000 samples is 100 +- 10 */
	CHECK(slow * 1000 > total * 5 && slow * 1000 < total * 20);
	free(s);
	free(smp.ticks);
}

int main(void)
{
	t_case(case_nearest_rank, NULL);
	t_case(case_weighted, NULL);
	t_case(case_sampler_by_count, NULL);
	return t_done();
}
