// SPDX-License-Identifier: GPL-2.0
/*
 * Short concurrent stress per scheme: pinners (writable and R/O pins of 1
 * and 16 pages, FOLL_GET), a speculative getter, a forker and a migrator
 * over the same small set of pages. While it runs: no pinned folio reads
 * as unpinned, no count is negative, and a writable pin holds the page
 * its address maps (pin_mapped()). After it: every count back to the
 * baseline (all pages free after teardown), pins acquired == released,
 * no WARN. GUPBENCH_STRESS_MS sets the length (default 300 ms).
 *
 * Left alone, the pinners are rarely caught between GUP-fast's read of
 * an entry and its recheck. So a debug point stalls some GUP-fast calls
 * there, after the read or after the grab, and hands the address to the
 * competitor, which migrates or zaps that page and then waits until the
 * call has returned and been checked (struct stress: target, done). The
 * recheck must undo each grab of a page the address no longer maps
 * (fast_undo >= handoffs; the stress cases also need handoffs > 0);
 * without it a writable pin stays on such a page (pin_mapped()).
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define NR_PAGES	8	/* small: collisions are frequent */
#define STALL_NS	2000000L	/* a stall nobody takes up */
#define HANDOFF_NS	50000000L	/* a handoff on a loaded machine */

struct stress {
	struct fx *f;
	int stop;
	long false_neg;
	long negative;
	long moved;		/* writable pins on a page no longer mapped */
	/* pinner calls; competitor ops; forks; migrations done or zaps */
	long ops[4];
	/* zaps begun, zaps done (with their re-fault): see pin_mapped() */
	long zap_begin, zap_end;
	/*
	 * A stalled GUP-fast call offers its address in target; the
	 * competitor takes it (0 again), works on it, sets done to it and
	 * waits until the pinner clears done after its call.
	 */
	unsigned long target, done;
	long stall_gap_ns;	/* a pinner's time between stalls */
	bool read_stalls;	/* only after the read: see case_stress() */
	long stall_ops;		/* an offer not taken: wait this many ops */
	long stall_ops_max;	/* no stall once it did this many (or 0) */
	long stalls;
	long raced;		/* stalled after a grab, saw the entry change */
	long handoffs;		/* grabs the recheck must undo: see stall() */
	unsigned long seed;	/* the splitter's */
	long fast_undo, slow_calls;	/* the pinners' gup_stats, summed */
};

/*
 * A pinner's GUP call, for the debug hook in its thread: where the call
 * starts, where it stalls, and for each page the count of finished zaps
 * as read after its grab (before the call for a page the slow path took).
 */
struct pin_call {
	struct stress *x;
	unsigned long seed;
	unsigned long start;
	unsigned int flags;
	long stall_at;		/* the page to stall at, or -1 */
	bool stall_grabbed;	/* after its grab, not after its read */
	long read;		/* the last page whose entry the walk read */
	unsigned long handed;	/* the address the competitor worked on */
	long undo_at;		/* a grab there must be undone, or -1 */
	long next_stall;	/* no stall before (now_ns()) */
	long grabbed;
	long zaps[16];
};

static __thread struct pin_call *this_call;

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

static long load(long *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void inc(long *p)
{
	__atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

/* Set *@p from @old to @new; false if it held something else. */
static bool cmpxchg_ul(unsigned long *p, unsigned long old, unsigned long new)
{
	return __atomic_compare_exchange_n(p, &old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Sleep a little (the other side may need this CPU); false after @ns. */
static bool nap(long t0, long ns)
{
	struct timespec nap = { 0, 20000 };

	nanosleep(&nap, NULL);
	return now_ns() - t0 < ns;
}

/* A writable pin: the kernel keeps its page mapped (fork copies it). */
static bool writable_pin(const struct gup_scheme *s, unsigned int flags)
{
	return fx_has_pins(s) && (flags & FOLL_PIN) && (flags & FOLL_WRITE);
}

static unsigned long entry_at(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte = __pte(0);

	mm_lookup_page(mm, addr, &pte);
	return pte_val(pte);
}

/*
 * Hold a GUP-fast walk at @addr, after its read or (@grabbed) its grab.
 * It offers the address (unless another stall's offer is up) and waits
 * until the competitor is done with it; a stall whose offer is not
 * taken, or that offers nothing, waits for stall_ops competitor ops.
 * Returns true if the competitor took the offer and @addr maps another
 * page now: the competitor waits, so nothing maps the old one there
 * again before the recheck, which must then undo any grab of it.
 */
static bool stall(struct pin_call *c, unsigned long addr, bool grabbed)
{
	struct stress *x = c->x;
	struct mm_struct *mm = x->f->mm;
	pte_t before = __pte(entry_at(mm, addr)), after;
	long ops = load(&x->ops[1]), t0 = now_ns();
	bool offered;

	if (x->stall_ops_max && ops >= x->stall_ops_max)
		return false;
	offered = cmpxchg_ul(&x->target, 0, addr);
	for (;;) {
		unsigned long t = __atomic_load_n(&x->target, __ATOMIC_SEQ_CST);
		bool taken = offered && t != addr;

		if (taken && __atomic_load_n(&x->done, __ATOMIC_SEQ_CST) ==
			     addr) {
			c->handed = addr;	/* cleared after the call */
			break;
		}
		if (!stop(x) && (taken || load(&x->ops[1]) - ops <
					  x->stall_ops) &&
		    nap(t0, taken ? HANDOFF_NS : STALL_NS))
			continue;
		/* leaving: withdraw the offer, unless it was just taken */
		if (!offered || taken || stop(x) ||
		    cmpxchg_ul(&x->target, addr, 0))
			break;
	}
	inc(&x->stalls);
	c->next_stall = now_ns() + x->stall_gap_ns;
	after = __pte(entry_at(mm, addr));
	if (pte_val(after) == pte_val(before))
		return false;
	if (grabbed)
		inc(&x->raced);
	return c->handed && pte_present(before) &&
	       (!pte_present(after) || pte_pfn(after) != pte_pfn(before));
}

static void stress_hook(struct mm_struct *mm, enum gup_debug_point dp,
			unsigned long addr, void *arg)
{
	struct pin_call *c = this_call;
	long i, zaps;

	(void)mm;
	(void)arg;
	if (!c || (dp != GUP_DP_FAST_AFTER_READ &&
		   dp != GUP_DP_FAST_AFTER_GRAB))
		return;		/* not a pinner's walk */
	i = (long)((addr - c->start) >> PAGE_SHIFT);
	if (dp == GUP_DP_FAST_AFTER_READ) {
		c->read = i;
		if (c->stall_at >= 0 && i >= c->stall_at &&
		    !c->stall_grabbed) {
			c->stall_at = -1;
			if (stall(c, addr, false))
				c->undo_at = i;	/* if the grab succeeds */
		}
		return;
	}
	if (c->undo_at == i) {
		inc(&c->x->handoffs);
		c->undo_at = -1;
	}
	/* a PMD leaf: no read point, one grab point for its last page */
	if (c->stall_at >= 0 && i >= c->stall_at &&
	    (c->stall_grabbed || c->read != i)) {
		c->stall_at = -1;
		if (stall(c, addr, true))
			inc(&c->x->handoffs);
	}
	/* grabbed, before the recheck: a zap done by now is one it sees */
	zaps = load(&c->x->zap_end);
	while (c->grabbed <= i)
		c->zaps[c->grabbed++] = zaps;
}

/* A writable GET, a read-only pin or a writable pin. */
static unsigned int pick_flags(unsigned long r)
{
	return (r & 6) == 0 ? FOLL_GET | FOLL_WRITE :
	       (r & 6) == 2 ? FOLL_PIN : FOLL_PIN | FOLL_WRITE;
}

/* Before a pinner's GUP call of @nr pages at @addr: see pin_call. */
static void pin_call_start(struct pin_call *c, unsigned long addr,
			   unsigned long nr, unsigned int flags)
{
	struct stress *x = c->x;
	unsigned long r = xorshift(&c->seed);
	long i, zaps = load(&x->zap_end);

	c->start = addr;
	c->flags = flags;
	c->stall_at = now_ns() < c->next_stall ? -1 : (long)((r >> 16) % nr);
	c->stall_grabbed = !x->read_stalls && (r & BIT(8));
	c->read = -1;
	c->undo_at = -1;
	c->grabbed = 0;
	for (i = 0; i < 16; i++)
		c->zaps[i] = zaps;
}

/* After the call and its checks: the competitor may go on. */
static void pin_call_end(struct pin_call *c)
{
	if (c->handed)
		cmpxchg_ul(&c->x->done, c->handed, 0);
	c->handed = 0;
}

/*
 * Migration and COW clear a PTE before they set the next one, under the
 * PT lock: a none PTE read without it may be passing; under it, none is
 * a zap (the only thing here that clears a PMD).
 */
static bool pte_none_locked(struct mm_struct *mm, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *ptep = mm_find_pte(mm, addr, false, &ptl);
	bool none;

	if (!ptep)
		return !mm_lookup_page(mm, addr, NULL);
	spin_lock(ptl);
	none = pte_none(ptep_get(ptep));
	spin_unlock(ptl);
	return none;
}

/*
 * Is @page, pinned writable for page @i of the call, what its address
 * maps (so that the device's writes through it are what the process
 * reads)? It must be, unless a zap was under way after the pin was taken
 * (at the recheck, or at the slow path's grab under the PT lock): then
 * the address may be unmapped or map a fresh page. Migration entries and
 * a PMD invalidated for a split are passing states; migration fails on
 * a pinned page, and fork copies it for the child.
 */
static bool pin_mapped(struct pin_call *c, long i, struct page *page)
{
	struct mm_struct *mm = c->x->f->mm;
	unsigned long addr = c->start + (unsigned long)i * PAGE_SIZE;
	pte_t pte = __pte(0);
	struct page *now = mm_lookup_page(mm, addr, &pte);

	if (now == page || (!now && !pte_none(pte)) ||
	    (!now && !pte_none_locked(mm, addr)))
		return true;
	return load(&c->x->zap_begin) != c->zaps[i];
}

/*
 * What a pinner checks on the @got pages it holds: pinned folios read as
 * pinned, no count is negative, a writable pin holds the mapped page; the
 * device writes through writable ones; then they are released.
 */
static void held_check_release(struct stress *x, struct pin_call *c,
			       struct page **pages, long got, unsigned long r)
{
	const struct gup_scheme *s = x->f->s;
	unsigned int flags = c->flags;
	long i;

	for (i = 0; i < got; i++) {
		struct folio *folio = page_folio(pages[i]);

		if (fx_has_pins(s) && (flags & FOLL_PIN) &&
		    !s->maybe_pinned(folio))
			__atomic_add_fetch(&x->false_neg, 1, __ATOMIC_RELAXED);
		if (folio_ref_count(folio) <= 0)
			__atomic_add_fetch(&x->negative, 1, __ATOMIC_RELAXED);
		if (writable_pin(s, flags) && !pin_mapped(c, i, pages[i]))
			inc(&x->moved);
		if (flags & FOLL_WRITE)
			page_dma_write(pages[i], r);
	}
	if (got > 0)
		s->release_pages(pages, (unsigned long)got, flags);
	x->ops[0]++;
	pin_call_end(c);
}

/* A pinner thread's end: its gup_stats into the case's sums. */
static void pinner_done(struct stress *x, struct gup_stats *st)
{
	__atomic_add_fetch(&x->fast_undo, (long)st->fast_undo,
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&x->slow_calls, (long)st->slow_calls,
			   __ATOMIC_RELAXED);
	this_call = NULL;
	vmstat_flush_thread();
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

/* A zap of [@addr, +@len), with a re-fault if @refault: see pin_mapped() */
static void zap(struct stress *x, unsigned long addr, unsigned long len,
		bool refault)
{
	inc(&x->zap_begin);
	mm_zap_range(x->f->mm, addr, len);
	if (refault)
		mm_populate(x->f->mm, addr, len);
	inc(&x->zap_end);
}

/* The competitor: the address a stalled call offers, or 0. */
static unsigned long take_target(struct stress *x)
{
	return __atomic_exchange_n(&x->target, 0, __ATOMIC_SEQ_CST);
}

/*
 * The competitor, done with @target: let the stalled call go on, and
 * wait until it has returned and been checked, so that nothing else
 * changes meanwhile (a fork would send its pins to the slow path, a
 * zap would excuse a pin on a zapped page).
 */
static void target_done(struct stress *x, unsigned long target)
{
	long t0 = now_ns();

	__atomic_store_n(&x->done, target, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&x->done, __ATOMIC_SEQ_CST) == target &&
	       !stop(x) && nap(t0, HANDOFF_NS))
		;
	cmpxchg_ul(&x->done, target, 0);
}

/*
 * Run @n threads on @x for @ms ms and, with @until_comp, until the
 * competitor (ops[1]) has done something; then stop and join them, and
 * make the checks every stress case makes. Pinner calls stall as x says.
 */
static void run_threads(struct stress *x, void *(*const fn[])(void *),
			int n, long ms, bool until_comp)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	pthread_t thr[4];
	int i;

	x->f->mm->debug_arg = x;
	x->f->mm->debug_hook = stress_hook;
	for (i = 0; i < n; i++)
		pthread_create(&thr[i], NULL, fn[i], x);
	nanosleep(&ts, NULL);
	while (until_comp && !__atomic_load_n(&x->ops[1], __ATOMIC_RELAXED))
		usleep(100);
	__atomic_store_n(&x->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		pthread_join(thr[i], NULL);
	x->f->mm->debug_hook = NULL;
	CHECK_EQ(x->false_neg, 0);
	CHECK_EQ(x->negative, 0);
	CHECK_MSG(!x->moved, "%ld writable pins on a page their address no "
		  "longer mapped", x->moved);
	CHECK_MSG(x->fast_undo >= x->handoffs, "%ld fast undos, but %ld "
		  "grabs of a page its address no longer mapped",
		  x->fast_undo, x->handoffs);
}

/*
 * Two pinners and one competitor for GUPBENCH_STRESS_MS (300 ms); the
 * stalls saw the competitor change their entries, and the recheck backed
 * off.
 */
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
	CHECK_MSG(x->handoffs > 0, "races not exercised: %ld stalls, %ld "
		  "grabs saw their entry change, %ld fast undos, %ld slow "
		  "calls", x->stalls, x->raced, x->fast_undo, x->slow_calls);
}

static void *pinner(void *arg)
{
	struct stress *x = arg;
	const struct gup_scheme *s = x->f->s;
	struct gup_stats st = { 0 };
	struct page *pages[16];
	unsigned long seed = (unsigned long)pthread_self() | 1;
	struct pin_call c = { .x = x, .seed = seed ^ 0x5851f42d4c957f2dUL };

	gup_thread_register();
	this_call = &c;
	while (!stop(x)) {
		unsigned long r = xorshift(&seed);
		unsigned long nr = (r & 1) ? 1 : NR_PAGES;
		unsigned long addr = FX_ANON + (nr == 1 ? (r >> 8) % NR_PAGES : 0) *
				     PAGE_SIZE;
		long got;

		pin_call_start(&c, addr, nr, pick_flags(r));
		got = s->gup_fast(x->f->mm, addr, nr, c.flags, pages, &st);
		held_check_release(x, &c, pages, got, r);
	}
	pinner_done(x, &st);
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
		unsigned long target = take_target(x);

		if (target) {
			/* see case_stress() */
			if (!mm_migrate_page(x->f->mm, target)) {
				x->ops[3]++;
				if (!mm_migrate_page(x->f->mm, addr))
					x->ops[3]++;
			}
			target_done(x, target);
		}
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

/*
 * The walk stalls after its read only: a grabbed page cannot migrate.
 * The competitor migrates it (if nobody holds it) and then another page,
 * whose destination is likely the one just freed: a grab of it must not
 * survive the recheck.
 */
static void case_stress(void *arg)
{
	const struct gup_scheme *s = arg;
	struct stress x = { .stall_gap_ns = 250000, .stall_ops = 4,
			    .read_stalls = true };
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
	struct pin_call c = { .x = x, .seed = seed ^ 0x5851f42d4c957f2dUL };

	gup_thread_register();
	this_call = &c;
	while (!stop(x)) {
		unsigned long r = xorshift(&seed);
		unsigned long nr = 1 + (r >> 4) % 16;
		unsigned long addr = FX_THP + (r >> 12) % (HPAGE_PMD_NR - 16) *
				     PAGE_SIZE;
		long got;

		pin_call_start(&c, addr, nr, pick_flags(r));
		got = (r & 8) ?
		      s->gup(x->f->mm, addr, nr, c.flags, pages, &st) :
		      s->gup_fast(x->f->mm, addr, nr, c.flags, pages, &st);
		held_check_release(x, &c, pages, got, r);
	}
	pinner_done(x, &st);
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
		unsigned long target = take_target(x);

		if (target) {
			/* a stalled walk's page: zap it, fault it again */
			zap(x, target, PAGE_SIZE, true);
			target_done(x, target);
		}
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
			zap(x, FX_THP, PMD_SIZE, true);
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
 * THP pool is empty); a stalled walk's page is zapped and faulted again.
 * Afterwards nothing has leaked (fx_teardown).
 */
static void case_stress_thp(void *arg)
{
	const struct gup_scheme *s = arg;
	struct stress x = { .stall_gap_ns = 500000, .stall_ops = 3 };
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
 * subpage (the one a stalled call offers, if any); then speculative gets
 * until the round ends, while another thread looks the subpages up
 * locklessly throughout. Until the split every GUP-fast call stalls
 * between its grab and its recheck: it must back off from the PMD that
 * changed under it (and not keep the zapped subpage), and every count
 * must come back (fx_teardown) with the folio PTE-mapped. Each round
 * draws its own seed, so that rounds differ in the kind of split.
 */
#define SPLIT_ROUNDS	24

static void *thp_splitter(void *arg)
{
	struct stress *x = arg;
	struct mm_struct *mm = x->f->mm;
	unsigned long seed = x->seed;
	unsigned long r = xorshift(&seed), target = 0;
	int wait;

	gup_thread_register();
	usleep(200 + r % 3000);
	if (r & 1) {
		fork_and_exit(mm);
	} else {
		/* give a pinner a chance to stall and offer its page */
		for (wait = 0; wait < 20 && !READ_ONCE(x->target); wait++)
			usleep(100);
		target = take_target(x);
		zap(x, target ?: FX_THP + (r >> 8) % HPAGE_PMD_NR * PAGE_SIZE,
		    PAGE_SIZE, false);
	}
	__atomic_add_fetch(&x->ops[1], 1, __ATOMIC_RELAXED);
	if (target)
		target_done(x, target);
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
	unsigned long seed = 0x2545f4914f6cdd1dUL;
	long raced = 0, undo = 0, stalls = 0;
	int round;

	for (round = 0; round < SPLIT_ROUNDS; round++) {
		struct stress x = { .stall_ops = 1,
				    .stall_ops_max = 1,
				    .seed = xorshift(&seed) };
		struct fx f;

		fx_setup(&f, s);
		x.f = &f;
		run_threads(&x, fn, 4, 8, true);
		fx_teardown(&f);
		stalls += x.stalls;
		raced += x.raced;
		undo += x.fast_undo;
	}
	/* a zap always splits, a fork only a pinned THP */
	CHECK_MSG(thp_split_pmd_events() - splits >= SPLIT_ROUNDS / 4,
		  "only %lu splits in %d rounds",
		  thp_split_pmd_events() - splits, SPLIT_ROUNDS);
	/* splits under stalled grabs, each of which backed off */
	CHECK_MSG(raced >= SPLIT_ROUNDS / 4 && undo >= raced,
		  "%ld of %ld stalls saw the entry change after a grab, %ld "
		  "fast undos in %d rounds", raced, stalls, undo,
		  SPLIT_ROUNDS);
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

/*
 * zap_pte_range() holds a table's lock for the whole range it zaps in
 * it: another PT-lock holder (a fault, migration's rmap walk) sees the
 * range's 16 pages all mapped or none, never part-zapped. One thread
 * zaps and re-populates, the other reads the range under the lock.
 */
#define ZAP_ROUNDS	20000
#define ZAP_PAGES	16

struct zap_watch {
	struct fx *f;
	int stop;
	unsigned long zap_seq;	/* odd while a zap runs */
	long looks, in_zap, partial;
};

static void *zap_watcher(void *arg)
{
	struct zap_watch *w = arg;
	unsigned long addr;
	spinlock_t *ptl;
	pte_t *ptep;
	int n;

	gup_thread_register();
	ptep = mm_find_pte(w->f->mm, FX_ANON, false, &ptl);
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		unsigned long seq = __atomic_load_n(&w->zap_seq,
						    __ATOMIC_ACQUIRE);

		spin_lock(ptl);
		for (n = 0, addr = 0; addr < ZAP_PAGES; addr++)
			n += pte_present(ptep_get(ptep + addr));
		spin_unlock(ptl);
		__atomic_add_fetch(&w->looks, 1, __ATOMIC_RELEASE);
		/* the population faults page by page: only a zap counts */
		if (!(seq & 1) ||
		    __atomic_load_n(&w->zap_seq, __ATOMIC_ACQUIRE) != seq)
			continue;
		__atomic_add_fetch(&w->in_zap, 1, __ATOMIC_RELAXED);
		if (n && n < ZAP_PAGES)
			__atomic_add_fetch(&w->partial, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void case_zap_table_lock(void *arg)
{
	const struct gup_scheme *s = arg;
	struct zap_watch w = { 0 };
	pthread_t thr;
	unsigned int round;
	long deadline;
	struct fx f;

	fx_setup(&f, s);
	w.f = &f;
	CHECK_EQ(pthread_create(&thr, NULL, zap_watcher, &w), 0);
	while (!__atomic_load_n(&w.looks, __ATOMIC_ACQUIRE))
		sched_yield();
	/* ZAP_ROUNDS, and on until the watcher has looked 1000 times (5 s) */
	deadline = now_ns() + 5000000000L;
	for (round = 0; !__atomic_load_n(&w.partial, __ATOMIC_RELAXED) &&
	     (round < ZAP_ROUNDS ||
	      (__atomic_load_n(&w.in_zap, __ATOMIC_RELAXED) < 1000 &&
	       now_ns() < deadline)); round++) {
		__atomic_add_fetch(&w.zap_seq, 1, __ATOMIC_RELEASE);
		mm_zap_range(f.mm, FX_ANON, ZAP_PAGES * PAGE_SIZE);
		__atomic_add_fetch(&w.zap_seq, 1, __ATOMIC_RELEASE);
		CHECK_EQ(mm_populate(f.mm, FX_ANON, ZAP_PAGES * PAGE_SIZE), 0);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	CHECK_MSG(!w.partial, "the watcher saw a part-zapped range %ld "
		  "times in %ld looks during zaps", w.partial, w.in_zap);
	CHECK_MSG(w.in_zap > 100, "only %ld looks during %u zaps", w.in_zap,
		  ZAP_ROUNDS);
	fx_teardown(&f);
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
	scheme_case("zap_table_lock", case_zap_table_lock, scheme_find("bias"));
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
