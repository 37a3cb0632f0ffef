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
#include <unistd.h>

#include "fixture.h"

#define NR_PAGES	8	/* small: collisions are frequent */

struct stress {
	struct fx *f;
	int stop;
	long false_neg;
	long negative;
	/* pinner calls; competitor ops; forks; migrations done or zaps */
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

/* A fork whose child exits at once: copy_page_range() and the teardown */
static void fork_and_exit(struct mm_struct *mm)
{
	struct mm_struct *child = mm_fork(mm, NULL, NULL);

	if (child)
		mm_free(child);
}

/*
 * Run @n threads on @x for @ms ms and, with @until_comp, until the
 * competitor (ops[1]) has done something; then stop and join them, and
 * make the checks every stress case makes.
 */
static void run_threads(struct stress *x, void *(*const fn[])(void *),
			int n, long ms, bool until_comp)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	pthread_t thr[4];
	int i;

	for (i = 0; i < n; i++)
		pthread_create(&thr[i], NULL, fn[i], x);
	nanosleep(&ts, NULL);
	while (until_comp && !__atomic_load_n(&x->ops[1], __ATOMIC_RELAXED))
		usleep(100);
	__atomic_store_n(&x->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		pthread_join(thr[i], NULL);
	CHECK_EQ(x->false_neg, 0);
	CHECK_EQ(x->negative, 0);
}

/* Two pinners and one competitor for GUPBENCH_STRESS_MS (300 ms). */
static void run_stress(struct stress *x, void *(*pin)(void *),
		       void *(*comp)(void *))
{
	void *(*const fn[])(void *) = { pin, pin, comp };
	const char *env = getenv("GUPBENCH_STRESS_MS");

	run_threads(x, fn, 3, env ? atol(env) : 300, false);
	CHECK_MSG(x->ops[0] > 10 && x->ops[1] > 0 && x->ops[2] > 0 &&
		  x->ops[3] > 0, "too little work: %ld pins, %ld competitor "
		  "ops, %ld forks, %ld migrations or zaps", x->ops[0],
		  x->ops[1], x->ops[2], x->ops[3]);
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

		switch (r % 4) {
		case 0:
			fork_and_exit(x->f->mm);
			x->ops[2]++;
			break;
		case 1:
			if (!mm_migrate_page(x->f->mm, addr))
				x->ops[3]++;
			break;
		default:
			spec_probe(x, x->f->mm, addr);
			break;
		}
		__atomic_add_fetch(&x->ops[1], 1, __ATOMIC_RELAXED);
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

/* fork (copy_huge_pmd, which splits a pinned THP), COW writes (which
 * split a shared one), zap + re-fault, speculative gets */
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

		switch (r % 5) {
		case 0:
			fork_and_exit(mm);
			x->ops[2]++;
			break;
		case 1:
			mmap_read_lock(mm);
			handle_mm_fault(mm, addr, FAULT_FLAG_WRITE, &st);
			mmap_read_unlock(mm);
			break;
		case 2:
			mm_zap_range(mm, FX_THP, PMD_SIZE);
			mm_populate(mm, FX_THP, PMD_SIZE);
			x->ops[3]++;
			break;
		default:
			spec_probe(x, mm, addr);
			break;
		}
		__atomic_add_fetch(&x->ops[1], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Pins of THP subpages (GUP-fast's PMD leaf, the slow path's
 * follow_huge_pmd, unshare of shared THPs) against fork and COW (either
 * splits the PMD at the first chance; the range stays PTE-mapped after),
 * zap and re-fault (small pages once the range is PTE-mapped or the
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

/*
 * The PMD split itself under live pins: each round maps a fresh THP,
 * starts the two THP pinners, and after a random delay splits the PMD
 * under them, by a fork (which splits a pinned THP) or a zap of one
 * subpage; then speculative gets until the round ends, while another
 * thread looks the subpages up locklessly throughout. GUP-fast must
 * back off from a PMD that changed under its grab, and every count
 * must come back (fx_teardown) with the folio PTE-mapped.
 */
#define SPLIT_ROUNDS	24

static void *thp_splitter(void *arg)
{
	struct stress *x = arg;
	struct mm_struct *mm = x->f->mm;
	unsigned long seed = (unsigned long)x ^ 0x2545f4914f6cdd1dUL;
	unsigned long r = xorshift(&seed);

	gup_thread_register();
	usleep(200 + r % 3000);
	if (r & 1)
		fork_and_exit(mm);
	else
		mm_zap_range(mm, FX_THP + (r >> 8) % HPAGE_PMD_NR * PAGE_SIZE,
			     PAGE_SIZE);
	__atomic_add_fetch(&x->ops[1], 1, __ATOMIC_RELAXED);
	while (!stop(x))
		spec_probe(x, mm, FX_THP + xorshift(&seed) % HPAGE_PMD_NR *
				  PAGE_SIZE);
	return NULL;
}

/*
 * Lockless lookups while the PMD splits: a PMD read as a leaf and then
 * as a table must not be taken for a page (a wild pfn).
 */
static void *thp_prober(void *arg)
{
	struct stress *x = arg;
	unsigned long seed = (unsigned long)x ^ 0x9e3779b97f4a7c15UL;

	gup_thread_register();
	while (!stop(x)) {
		unsigned long addr = FX_THP + xorshift(&seed) % HPAGE_PMD_NR *
				     PAGE_SIZE;
		struct page *p = mm_lookup_page(x->f->mm, addr, NULL);

		if (p && page_to_pfn(p) >= max_pfn)
			__atomic_add_fetch(&x->negative, 1, __ATOMIC_RELAXED);
		spec_probe(x, x->f->mm, addr);
	}
	return NULL;
}

static void case_stress_thp_split(void *arg)
{
	void *(*const fn[])(void *) = { thp_pinner, thp_pinner, thp_splitter,
					thp_prober };
	const struct gup_scheme *s = arg;
	unsigned long splits = thp_split_pmd_events();
	int round;

	for (round = 0; round < SPLIT_ROUNDS; round++) {
		struct stress x = { 0 };
		struct fx f;

		fx_setup(&f, s);
		x.f = &f;
		run_threads(&x, fn, 4, 8, true);
		fx_teardown(&f);
	}
	/* a zap always splits, a fork only a pinned THP */
	CHECK_MSG(thp_split_pmd_events() - splits >= SPLIT_ROUNDS / 4,
		  "only %lu splits in %d rounds",
		  thp_split_pmd_events() - splits, SPLIT_ROUNDS);
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

/*
 * A race against a one-way event (a kill, a teardown): threads start
 * together at @go, the main thread waits a random while, does the event,
 * raises @killed, lets them run on a little, then raises @stop.
 */
struct race {
	pthread_barrier_t go;
	int stop, killed;
};

static bool race_flag(int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* Main thread, after starting the threads: a random head start. */
static void race_go(struct race *rc, unsigned long *seed,
		    unsigned int max_spin)
{
	unsigned int spin;

	pthread_barrier_wait(&rc->go);
	for (spin = xorshift(seed) % max_spin; spin; spin--)
		cpu_relax();
}

/* Main thread, after the event: the threads keep trying, then stop. */
static void race_end(struct race *rc, unsigned int spin)
{
	__atomic_store_n(&rc->killed, 1, __ATOMIC_RELEASE);
	while (spin--)
		cpu_relax();
	__atomic_store_n(&rc->stop, 1, __ATOMIC_RELEASE);
}

/*
 * percpu_ref_kill() against live owners (the ZONE_DEVICE pgmap ref):
 * owners take refs with tryget_live, nest a get, drop both, while the
 * main thread kills the ref at a random moment. No tryget may succeed
 * once kill has returned; afterwards every per-CPU slot is folded and
 * the count is exactly zero (a lost or double-counted update in the
 * switch to atomic mode leaves it off by one). While an owner holds a
 * ref the count never reads zero and never goes negative: puts that
 * reach the atomic count before kill folds the slots in find it biased
 * (without the bias, 221 WARNs in 200 rounds). The ordering rests on
 * membarrier (asymmetric fences), which ThreadSanitizer cannot see, so
 * this runs in the normal and ASan/UBSan builds only.
 */
#define KILL_OWNERS	3
#define KILL_ROUNDS	200

struct kill_race {
	struct percpu_ref *ref;
	struct race *rc;
	long got, late;		/* per owner: successful trygets, after kill */
	long zero;		/* read as zero while this owner held refs */
};

static void *kill_owner(void *arg)
{
	struct kill_race *k = arg;
	unsigned long seed = (unsigned long)(uintptr_t)k | 1;

	gup_thread_register();
	pthread_barrier_wait(&k->rc->go);
	while (!race_flag(&k->rc->stop)) {
		bool after = race_flag(&k->rc->killed);
		unsigned int spin = xorshift(&seed) % 32;

		if (!percpu_ref_tryget_live(k->ref))
			continue;
		k->got++;
		if (after)
			k->late++;
		percpu_ref_get(k->ref);
		while (spin--)
			cpu_relax();
		percpu_ref_put(k->ref);
		if (percpu_ref_is_zero(k->ref))
			k->zero++;
		percpu_ref_put(k->ref);
	}
	return NULL;
}

static void case_percpu_kill(void *arg)
{
	struct percpu_ref *ref = aligned_alloc(64, sizeof(*ref));
	struct kill_race k[KILL_OWNERS];
	pthread_t thr[KILL_OWNERS];
	struct race rc;
	unsigned long seed = 0x853c49e6748fea9bUL;
	long warns = atomic_long_read(&gup_warnings), got = 0;
	unsigned int round, i;

	(void)arg;
	CHECK(ref != NULL);
	if (!ref)
		return;
	pthread_barrier_init(&rc.go, NULL, KILL_OWNERS + 1);
	for (round = 0; round < KILL_ROUNDS; round++) {
		percpu_ref_init(ref);
		rc.stop = rc.killed = 0;
		for (i = 0; i < KILL_OWNERS; i++) {
			k[i] = (struct kill_race){ .ref = ref, .rc = &rc };
			CHECK_EQ(pthread_create(&thr[i], NULL, kill_owner,
						&k[i]), 0);
		}
		race_go(&rc, &seed, 20000);
		percpu_ref_kill(ref);
		race_end(&rc, 2000);
		for (i = 0; i < KILL_OWNERS; i++) {
			pthread_join(thr[i], NULL);
			CHECK_MSG(!k[i].late, "round %u: owner %u got %ld refs "
				  "after percpu_ref_kill() returned", round, i,
				  k[i].late);
			CHECK_MSG(!k[i].zero, "round %u: owner %u saw the ref "
				  "at zero %ld times while holding one", round,
				  i, k[i].zero);
			got += k[i].got;
		}
		CHECK_MSG(percpu_ref_sum(ref) == 0 && percpu_ref_is_zero(ref),
			  "round %u: count %ld after kill and every put", round,
			  percpu_ref_sum(ref));
	}
	CHECK_EQ(atomic_long_read(&gup_warnings), warns);
	/* the owners really raced the kill, not an already dead ref */
	CHECK_MSG(got > KILL_ROUNDS, "only %ld refs taken in %u rounds", got,
		  KILL_ROUNDS);
	pthread_barrier_destroy(&rc.go);
	free(ref);
}

/*
 * Device teardown (memunmap_pages: percpu_ref_kill, then the pages' idle
 * references) while two threads pin and unpin device pages. perget and
 * walk take pgmap refs in GUP: once the kill has returned no GUP may
 * pin a page (tryget_live fails, the walk undoes what it took), and
 * after the last unpin every page is back at its count and the pgmap
 * ref is at zero. single's pages hold the pgmap and its GUP never looks
 * at it: the device is marked dead and its range zapped first, as a
 * driver does before memunmap_pages(), so no fault maps a page again;
 * pins taken before stay valid, and the ref reaches zero only when the
 * last of them is put.
 */
#define TEARDOWN_ROUNDS	40

struct teardown {
	struct fx *f;
	struct race *rc;
	long pins, late;
};

static void *dev_pinner(void *arg)
{
	struct teardown *d = arg;
	const struct gup_scheme *s = d->f->s;
	struct gup_stats st = { 0 };
	struct page *pages[FX_DEV_PAGES];
	unsigned long seed = (unsigned long)(uintptr_t)&st | 1;

	gup_thread_register();
	pthread_barrier_wait(&d->rc->go);
	while (!race_flag(&d->rc->stop)) {
		unsigned long r = xorshift(&seed);
		unsigned long first = r % FX_DEV_PAGES;
		unsigned long nr = 1 + (r >> 8) % (FX_DEV_PAGES - first);
		unsigned int flags = pick_flags(r >> 16);
		bool after = race_flag(&d->rc->killed);
		long got = s->gup_fast(d->f->mm, FX_DEV + first * PAGE_SIZE,
				       nr, flags, pages, &st);

		if (got <= 0)
			continue;
		d->pins++;
		if (after)
			d->late++;
		s->release_pages(pages, (unsigned long)got, flags);
	}
	vmstat_flush_thread();
	return NULL;
}

static void case_devmap_teardown(void *arg)
{
	const struct gup_scheme *s = arg;
	bool single = s->features & SF_DEVMAP_PAGEREF;
	unsigned long seed = 0xda3e39cb94b95bdbUL;
	int ref0[FX_DEV_PAGES];
	struct teardown d[2];
	pthread_t thr[2];
	struct race rc;
	unsigned int round, i;
	long pins = 0;
	struct fx f;

	pthread_barrier_init(&rc.go, NULL, 3);
	for (round = 0; round < TEARDOWN_ROUNDS; round++) {
		fx_setup(&f, s);
		for (i = 0; i < FX_DEV_PAGES; i++)
			ref0[i] = folio_ref_count(page_folio(
				fx_page(&f, FX_DEV + i * PAGE_SIZE)));
		rc.stop = rc.killed = 0;
		for (i = 0; i < 2; i++) {
			d[i] = (struct teardown){ .f = &f, .rc = &rc };
			CHECK_EQ(pthread_create(&thr[i], NULL, dev_pinner,
						&d[i]), 0);
		}
		race_go(&rc, &seed, 200000);
		/* kill_dax(), the driver's unmap, then memunmap_pages() */
		mem_devmap_kill();
		if (single)
			mm_zap_range(f.mm, FX_DEV, FX_DEV_PAGES * PAGE_SIZE);
		mem_devmap_teardown();
		race_end(&rc, 20000);
		for (i = 0; i < 2; i++) {
			pthread_join(thr[i], NULL);
			CHECK_MSG(!d[i].late, "round %u: %ld pins after the "
				  "device was torn down", round, d[i].late);
			pins += d[i].pins;
		}
		CHECK_MSG(percpu_ref_is_zero(&mem_pgmap->ref), "round %u: "
			  "pgmap ref %ld after teardown and every unpin",
			  round, percpu_ref_sum(&mem_pgmap->ref));
		if (!single)
			for (i = 0; i < FX_DEV_PAGES; i++)
				CHECK_EQ(folio_ref_count(page_folio(fx_page(&f,
					FX_DEV + i * PAGE_SIZE))), ref0[i]);
		fx_teardown(&f);
	}
	/* the pinners really raced the teardown */
	CHECK_MSG(pins > TEARDOWN_ROUNDS, "only %ld pins in %u rounds", pins,
		  TEARDOWN_ROUNDS);
	pthread_barrier_destroy(&rc.go);
}

/* CASE/SCHEME for one scheme, then the memory it set up goes. */
static void scheme_case(const char *what, t_fn fn,
			const struct gup_scheme *s)
{
	char name[96];

	snprintf(name, sizeof(name), "%s/%s", what, s->name);
	t_case_named(name, fn, (void *)s);
	if (vmemmap)
		mem_exit();
}

int main(void)
{
	unsigned int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t_case_named("percpu_slots", case_percpu_slots, NULL);
	t_case_named("percpu_kill", case_percpu_kill, NULL);
	for (i = 0; i < nr_gup_schemes; i++) {
		const struct gup_scheme *s = gup_schemes[i];

		/* empty holds nothing: pages may go away under its "pins" */
		if (s->features & SF_CALIBRATION)
			continue;
		scheme_case("stress", case_stress, s);
		scheme_case("stress_thp", case_stress_thp, s);
		scheme_case("stress_thp_split", case_stress_thp_split, s);
		if (s->features & SF_DEVMAP)
			scheme_case("devmap_teardown", case_devmap_teardown, s);
	}
	return t_done();
}
