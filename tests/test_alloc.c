// SPDX-License-Identifier: GPL-2.0
/*
 * The page allocator's per-CPU lists (schemes/mm.c): every page comes
 * back (the zone plus every list, and a thread's list drained when it
 * exits); pages freed on one thread and allocated on another flow
 * through the zone; pages stranded on a live thread's list are drained
 * when the zone runs dry, so the whole pool can be allocated.
 */
#include <pthread.h>
#include <stdlib.h>

#include "scheme.h"
#include "unit.h"

#define NR	512

static struct folio *got[NR];

static void *alloc_all(void *arg)
{
	long n = (long)arg, i;

	gup_thread_register();
	for (i = 0; i < n; i++)
		if (!(got[i] = folio_alloc()))
			break;
	return (void *)i;
}

static void *free_all(void *arg)
{
	long n = (long)arg, i;

	gup_thread_register();
	for (i = 0; i < n; i++)
		folio_put(got[i]);
	return NULL;
}

static long run(void *(*fn)(void *), long n)
{
	pthread_t t;
	void *ret;

	if (pthread_create(&t, NULL, fn, (void *)n) || pthread_join(t, &ret))
		t_fail("pthread");
	return (long)ret;
}

/* @batch 0: the zone's own (1 for 512 pages), 63: a large machine's. */
static void check_pool(unsigned long batch)
{
	struct mem_config cfg = { .nr_small = NR, .pcp_batch = batch };
	struct folio *f;
	long i;

	CHECK_EQ(mem_init(&cfg), 0);
	CHECK_EQ(mem_nr_free(), NR);
	/* one thread takes every page: the lists refill from the zone */
	CHECK_EQ(run(alloc_all, NR), NR);
	CHECK_EQ(mem_nr_free(), 0);
	CHECK(!folio_alloc());		/* truly empty: NULL, no hang */
	/* another frees them all (its list spills to the zone), exits */
	run(free_all, NR);
	CHECK_EQ(mem_nr_free(), NR);
	/*
	 * This thread frees a few onto its own list and stays alive; with
	 * the zone empty, another thread gets those too (drained).
	 */
	gup_thread_register();
	CHECK_EQ(run(alloc_all, NR), NR);
	for (i = 0; i < 3; i++)
		folio_put(got[i]);
	CHECK_EQ(mem_nr_free(), 3);
	CHECK_EQ(run(alloc_all, 3), 3);
	CHECK_EQ(mem_nr_free(), 0);
	run(free_all, NR);
	CHECK_EQ(mem_nr_free(), NR);
	f = folio_alloc();		/* a fresh page: ref 1, unmapped */
	CHECK(f);
	CHECK_EQ(folio_ref_count(f), 1);
	CHECK_EQ(atomic_read(&f->page._mapcount), -1);
	folio_put(f);
	CHECK_EQ(mem_nr_free(), NR);
	mem_exit();
}

static void case_pcp_zone_batch(void *arg)
{
	(void)arg;
	check_pool(0);
}

static void case_pcp_large_batch(void *arg)
{
	(void)arg;
	check_pool(63);
}

int main(void)
{
	t_case(case_pcp_zone_batch, NULL);
	t_case(case_pcp_large_batch, NULL);
	return t_done();
}
