// SPDX-License-Identifier: GPL-2.0
/*
 * Short concurrent stress per scheme: pinners (writable and R/O pins of 1
 * and 16 pages, FOLL_GET), a speculative getter, a forker and a migrator
 * over the same small set of pages. While it runs: no pinned folio reads
 * as unpinned, no count is negative. After it: every count back to the
 * baseline (all pages free after teardown), pins acquired == released,
 * no WARN. GUPBENCH_STRESS_MS sets the length (default 300 ms).
 */
#include <pthread.h>
#include <time.h>

#include "fixture.h"

#define NR_PAGES	8	/* small: collisions are frequent */

struct stress {
	struct fx *f;
	int stop;
	long false_neg;
	long negative;
	long ops[4];
};

static unsigned long xorshift(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool stop(struct stress *x)
{
	return __atomic_load_n(&x->stop, __ATOMIC_RELAXED);
}

/* A writable GET, a read-only pin or a writable pin. */
static unsigned int pick_flags(unsigned long r)
{
	return (r & 6) == 0 ? FOLL_GET | FOLL_WRITE :
	       (r & 6) == 2 ? FOLL_PIN : FOLL_PIN | FOLL_WRITE;
}

/*
 * What a pinner checks on the @got pages it holds: pinned folios read as
 * pinned, no count is negative; the device writes through writable
 * ones; then they are released.
 */
static void held_check_release(struct stress *x, struct page **pages,
			       long got, unsigned int flags, unsigned long r)
{
	const struct gup_scheme *s = x->f->s;
	long i;

	for (i = 0; i < got; i++) {
		struct folio *folio = page_folio(pages[i]);

		if (fx_has_pins(s) && (flags & FOLL_PIN) &&
		    !s->maybe_pinned(folio))
			__atomic_add_fetch(&x->false_neg, 1, __ATOMIC_RELAXED);
		if (folio_ref_count(folio) <= 0)
			__atomic_add_fetch(&x->negative, 1, __ATOMIC_RELAXED);
		if (flags & FOLL_WRITE)
			page_dma_write(pages[i], r);
	}
	if (got > 0)
		s->release_pages(pages, (unsigned long)got, flags);
	x->ops[0]++;
}

/* A page-cache style speculative ref: never on a zero count. */
static void spec_probe(struct stress *x, struct mm_struct *mm,
		       unsigned long addr)
{
	struct folio *folio = spec_get_folio(mm, addr);

	if (!folio)
		return;
	if (folio_ref_count(folio) <= 0)
		__atomic_add_fetch(&x->negative, 1, __ATOMIC_RELAXED);
	folio_put(folio);
}

/*
 * Two pinners and one competitor for GUPBENCH_STRESS_MS (300 ms), then
 * the checks every stress case makes.
 */
static void run_stress(struct stress *x, void *(*pin)(void *),
		       void *(*comp)(void *))
{
	const char *env = getenv("GUPBENCH_STRESS_MS");
	long ms = env ? atol(env) : 300;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	pthread_t thr[3];
	int i;

	pthread_create(&thr[0], NULL, pin, x);
	pthread_create(&thr[1], NULL, pin, x);
	pthread_create(&thr[2], NULL, comp, x);
	nanosleep(&ts, NULL);
	__atomic_store_n(&x->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 3; i++)
		pthread_join(thr[i], NULL);
	CHECK_EQ(x->false_neg, 0);
	CHECK_EQ(x->negative, 0);
	CHECK_MSG(x->ops[0] > 10 && x->ops[1] > 0, "too little work: %ld/%ld",
		  x->ops[0], x->ops[1]);
}

static void *pinner(void *arg)
{
	struct stress *x = arg;
	const struct gup_scheme *s = x->f->s;
	struct gup_stats st = { 0 };
	struct page *pages[16];
	unsigned long seed = (unsigned long)pthread_self() | 1;

	gup_thread_register();
	while (!stop(x)) {
		unsigned long r = xorshift(&seed);
		unsigned long nr = (r & 1) ? 1 : NR_PAGES;
		unsigned int flags = pick_flags(r);
		unsigned long addr = FX_ANON + (nr == 1 ? (r >> 8) % NR_PAGES : 0) *
				     PAGE_SIZE;
		long got = s->gup_fast(x->f->mm, addr, nr, flags, pages, &st);

		held_check_release(x, pages, got, flags, r);
	}
	vmstat_flush_thread();
	return NULL;
}

static void *other(void *arg)
{
	struct stress *x = arg;
	unsigned long seed = 88172645463325252UL;

	gup_thread_register();
	while (!stop(x)) {
		unsigned long r = xorshift(&seed);
		unsigned long addr = FX_ANON + (r >> 8) % NR_PAGES * PAGE_SIZE;
		struct mm_struct *child;

		switch (r % 4) {
		case 0:
			child = mm_fork(x->f->mm, NULL, NULL);
			if (child)
				mm_free(child);
			break;
		case 1:
			mm_migrate_page(x->f->mm, addr);
			break;
		default:
			spec_probe(x, x->f->mm, addr);
			break;
		}
		x->ops[1 + r % 3]++;
	}
	return NULL;
}

static void case_stress(void *arg)
{
	const struct gup_scheme *s = arg;
	struct stress x = { 0 };
	struct fx f;
	int i;

	fx_setup(&f, s);
	x.f = &f;
	run_stress(&x, pinner, other);
	for (i = 0; i < NR_PAGES; i++) {
		struct folio *folio = page_folio(fx_page(&f, FX_ANON + i * PAGE_SIZE));

		CHECK_EQ(folio_ref_count(folio), 1);	/* the mapping only */
		CHECK_EQ(atomic_read(&folio->page._mapcount), 0);
		if (fx_pincount(s, folio) >= 0)
			CHECK_EQ(fx_pincount(s, folio), 0);
		CHECK(!s->maybe_pinned(folio));
	}
	fx_teardown(&f);
}

/* ---- the same over one PMD-mapped THP ---- */

static void *thp_pinner(void *arg)
{
	struct stress *x = arg;
	const struct gup_scheme *s = x->f->s;
	struct gup_stats st = { 0 };
	struct page *pages[16];
	unsigned long seed = (unsigned long)pthread_self() | 1;

	gup_thread_register();
	while (!stop(x)) {
		unsigned long r = xorshift(&seed);
		unsigned long nr = 1 + (r >> 4) % 16;
		unsigned long addr = FX_THP + (r >> 12) % (HPAGE_PMD_NR - 16) *
				     PAGE_SIZE;
		unsigned int flags = pick_flags(r);
		long got = (r & 8) ? s->gup(x->f->mm, addr, nr, flags, pages,
					    &st) :
				     s->gup_fast(x->f->mm, addr, nr, flags,
						 pages, &st);

		held_check_release(x, pages, got, flags, r);
	}
	vmstat_flush_thread();
	return NULL;
}

/* fork (copy_huge_pmd), COW writes, zap + re-fault, speculative gets */
static void *thp_other(void *arg)
{
	struct stress *x = arg;
	struct mm_struct *mm = x->f->mm;
	unsigned long seed = 88172645463325252UL;
	struct gup_stats st = { 0 };

	gup_thread_register();
	while (!stop(x)) {
		unsigned long r = xorshift(&seed);
		unsigned long addr = FX_THP + (r >> 8) % HPAGE_PMD_NR *
				     PAGE_SIZE;
		struct mm_struct *child;

		switch (r % 5) {
		case 0:
			child = mm_fork(mm, NULL, NULL);
			if (child)
				mm_free(child);
			break;
		case 1:
			mmap_read_lock(mm);
			handle_mm_fault(mm, addr, FAULT_FLAG_WRITE, &st);
			mmap_read_unlock(mm);
			break;
		case 2:
			mm_zap_range(mm, FX_THP, PMD_SIZE);
			mm_populate(mm, FX_THP, PMD_SIZE);
			break;
		default:
			spec_probe(x, mm, addr);
			break;
		}
		x->ops[1 + r % 3]++;
	}
	return NULL;
}

/*
 * Pins of THP subpages (GUP-fast's PMD leaf, the slow path's
 * follow_huge_pmd, unshare of shared THPs) against fork, COW of the
 * whole THP, zap and re-fault (which falls back to small pages when the
 * THP pool is empty). Afterwards nothing has leaked (fx_teardown).
 */
static void case_stress_thp(void *arg)
{
	const struct gup_scheme *s = arg;
	struct stress x = { 0 };
	struct fx f;

	fx_setup(&f, s);
	x.f = &f;
	run_stress(&x, thp_pinner, thp_other);
	fx_teardown(&f);
}

#define SLOT_THREADS	64

struct slot_probe {
	unsigned int cpu;
	pthread_barrier_t *all_in;
};

static void *slot_thread(void *arg)
{
	struct slot_probe *p = arg;

	gup_thread_register();
	gup_thread_register();		/* a second call keeps the slot */
	p->cpu = gup_cpu;
	pthread_barrier_wait(p->all_in);	/* every one alive at once */
	return NULL;
}

/*
 * Per-CPU counter slots: threads alive at the same time never share one
 * (two plain writers of one slot would lose updates and ping-pong a line
 * the kernel's per-CPU counters never share), slot 0 stays for threads
 * that never registered, and a thread's slot is free again once it exits.
 */
static void case_percpu_slots(void *arg)
{
	struct slot_probe p[SLOT_THREADS];
	pthread_t thr[SLOT_THREADS];
	pthread_barrier_t all_in;
	unsigned int round, i, j, max_cpu = 0;

	(void)arg;
	pthread_barrier_init(&all_in, NULL, SLOT_THREADS);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < SLOT_THREADS; i++) {
			p[i].all_in = &all_in;
			CHECK_EQ(pthread_create(&thr[i], NULL, slot_thread,
						&p[i]), 0);
		}
		for (i = 0; i < SLOT_THREADS; i++)
			pthread_join(thr[i], NULL);
		for (i = 0; i < SLOT_THREADS; i++) {
			CHECK_MSG(p[i].cpu > 0 && p[i].cpu < PERCPU_REF_SLOTS,
				  "slot %u", p[i].cpu);
			for (j = 0; j < i; j++)
				CHECK_MSG(p[i].cpu != p[j].cpu, "threads %u "
					  "and %u share slot %u", i, j,
					  p[i].cpu);
			if (p[i].cpu > max_cpu)
				max_cpu = p[i].cpu;
		}
	}
	/* three rounds of 64 reuse the slots the exited threads freed */
	CHECK_MSG(max_cpu < 2 * SLOT_THREADS + 8, "slots not reused: up to %u",
		  max_cpu);
	pthread_barrier_destroy(&all_in);
}

int main(void)
{
	char name[96];
	unsigned int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t_case_named("percpu_slots", case_percpu_slots, NULL);
	for (i = 0; i < nr_gup_schemes; i++) {
		/* empty holds nothing: pages may go away under its "pins" */
		if (gup_schemes[i]->features & SF_CALIBRATION)
			continue;
		snprintf(name, sizeof(name), "stress/%s", gup_schemes[i]->name);
		t_case_named(name, case_stress, (void *)gup_schemes[i]);
		if (vmemmap)
			mem_exit();
		snprintf(name, sizeof(name), "stress_thp/%s",
			 gup_schemes[i]->name);
		t_case_named(name, case_stress_thp, (void *)gup_schemes[i]);
		if (vmemmap)
			mem_exit();
	}
	return t_done();
}
