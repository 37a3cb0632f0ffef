// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance: every case runs over every scheme it applies to
 * (case x scheme), each case guarding one kernel behaviour of
 * ../shared/docs/kernel-model.md. Names print as CASE/SCHEME.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

/* How a scheme answers folio_maybe_dma_pinned() for small folios. */
enum query_kind { Q_NONE, Q_BIAS, Q_EXACT };

static enum query_kind query_kind(const struct gup_scheme *s)
{
	if (!fx_has_pins(s))
		return Q_NONE;
	if (!strncmp(s->name, "pincount", 8))
		return Q_EXACT;
	return Q_BIAS;
}

static void release(struct fx *f, struct page **pages, long n,
		    unsigned int flags)
{
	if (n > 0)
		f->s->release_pages(pages, (unsigned long)n, flags);
}

/* ---- pin then unpin returns every count to baseline ---- */

struct range_case {
	const char *what;
	unsigned long addr;
	unsigned long nr;
	unsigned int flags;
};

/*
 * Pins and gets of 1, 16 and 512 (THP) pages, device and shared pages:
 * _refcount, _pincount and page_ext go back exactly to the baseline,
 * and maybe_pinned is true while pinned (no false negatives).
 */
static const struct range_case ranges[] = {
	{ "anon1", FX_ANON, 1, PIN_W },
	{ "anon16", FX_ANON + 8 * PAGE_SIZE, 16, PIN_W },
	{ "anon16_ro", FX_ANON, 16, FOLL_PIN },
	{ "anon16_get", FX_ANON, 16, FOLL_GET | FOLL_WRITE },
	{ "thp512", FX_THP, 512, PIN_W },
	{ "thp_tail", FX_THP + 100 * PAGE_SIZE, 7, PIN_W },
	{ "dev16", FX_DEV, FX_DEV_PAGES, PIN_W },
	{ "shared16", FX_SHARED, FX_SHARED_PAGES, PIN_W },
};

static void case_pin_baseline(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[512];
	int ref0[512], pc0[512];
	unsigned int r, i;
	struct fx f;

	fx_setup(&f, s);
	for (r = 0; r < ARRAY_SIZE(ranges); r++) {
		const struct range_case *rc = &ranges[r];
		long got;

		for (i = 0; i < rc->nr; i++) {
			struct folio *folio = page_folio(
				fx_page(&f, rc->addr + i * PAGE_SIZE));

			ref0[i] = folio_ref_count(folio);
			pc0[i] = fx_pincount(s, folio);
		}
		got = s->gup_fast(f.mm, rc->addr, rc->nr, rc->flags, pages,
				  &f.st);
		CHECK_MSG(got == (long)rc->nr, "%s: got %ld", rc->what, got);
		for (i = 0; i < rc->nr; i++) {
			struct folio *folio = page_folio(pages[i]);

			CHECK_MSG(pages[i] == fx_page(&f, rc->addr + i * PAGE_SIZE),
				  "%s: page %u", rc->what, i);
			if (fx_has_pins(s) && (rc->flags & FOLL_PIN))
				CHECK_MSG(s->maybe_pinned(folio),
					  "%s: false negative", rc->what);
			if (s->features & SF_CALIBRATION)
				continue;
			CHECK_MSG(folio_ref_count(folio) > ref0[i],
				  "%s: no reference taken", rc->what);
		}
		release(&f, pages, got, rc->flags);
		for (i = 0; i < rc->nr; i++) {
			struct folio *folio = page_folio(pages[i]);

			CHECK_MSG(folio_ref_count(folio) == ref0[i],
				  "%s: ref %d != %d", rc->what,
				  folio_ref_count(folio), ref0[i]);
			CHECK_MSG(fx_pincount(s, folio) == pc0[i],
				  "%s: pincount", rc->what);
			if (!folio_test_large(folio) ||
			    query_kind(s) == Q_EXACT)
				CHECK_MSG(!s->maybe_pinned(folio),
					  "%s: still pinned", rc->what);
		}
	}
	fx_teardown(&f);
}

/*
 * bias: 1024 plain references read as pinned, the documented false
 * positive of (unsigned)ref >= GUP_PIN_COUNTING_BIAS; the separate-counter
 * schemes have none.
 */
static void case_false_positive(void *arg)
{
	const struct gup_scheme *s = arg;
	struct folio *folio;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_ANON));
	CHECK(!s->maybe_pinned(folio));
	folio_ref_add(folio, 1024);
	if (query_kind(s) == Q_BIAS)
		CHECK_MSG(s->maybe_pinned(folio),
			  "documented false positive missing");
	else
		CHECK_MSG(!s->maybe_pinned(folio), "false positive");
	folio_ref_sub(folio, 1024);
	CHECK(!s->maybe_pinned(folio));
	fx_teardown(&f);
}

/*
 * Overflow (8fde12ca79af): once _refcount is negative GUP refuses new
 * references. bias reaches it after ~2^21 pins of one small page (the
 * unconditional +1023 may cross INT_MAX once); one-ref-per-pin schemes
 * after ~2^31 refs (started near the limit here). The count never wraps
 * round to 0, and unpinning everything restores the baseline.
 */
static void case_overflow(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	unsigned long n = 0, limit;
	struct folio *folio;
	struct page *page;
	int ref0, preload = 0;
	struct fx f;

	fx_setup(&f, s);
	page = fx_page(&f, FX_ANON);
	folio = page_folio(page);
	ref0 = folio_ref_count(folio);
	if (query_kind(s) == Q_BIAS) {
		limit = (1UL << 21) + 16;
	} else {
		preload = INT_MAX - 4096 - ref0;
		folio_ref_add(folio, preload);
		limit = 8192;
	}
	for (;;) {
		long got = s->gup_fast(f.mm, FX_ANON, 1,
				       flags | FOLL_FAST_ONLY, &page, &f.st);
		int ref = folio_ref_count(folio);

		CHECK_MSG(ref != 0 && (ref < 0 || ref >= ref0),
			  "count wrapped to %d after %lu", ref, n);
		if (got != 1)
			break;
		n++;
		CHECK_MSG(n < limit, "no refusal after %lu pins", n);
	}
	if (query_kind(s) == Q_BIAS)
		CHECK_MSG(n >= (1UL << 21) - 2 && n <= (1UL << 21) + 1,
			  "refused after %lu pins, not ~2^21", n);
	else
		CHECK_MSG(n >= 4096 && n <= 4098, "refused after %lu", n);
	CHECK(folio_ref_count(folio) < 0);
	if (fx_has_pins(s))
		CHECK(s->maybe_pinned(folio));	/* unsigned: still pinned */
	/* the slow path refuses too, and so does a plain get */
	CHECK(s->gup_fast(f.mm, FX_ANON, 1, flags, &page, &f.st) <= 0);
	CHECK(s->gup_fast(f.mm, FX_ANON, 1, FOLL_GET, &page, &f.st) <= 0);
	while (n--)
		s->release_pages(&page, 1, flags);
	folio_ref_sub(folio, preload);
	CHECK_EQ(folio_ref_count(folio), ref0);
	CHECK(atomic_long_read(&gup_warnings) > 0);	/* WARN_ON_ONCE fired */
	atomic_long_set(&gup_warnings, 0);
	fx_teardown(&f);
}

/* ---- races with migration, zap and fork via debug hooks ---- */

struct race {
	struct fx *f;
	pthread_t thr;
	int started;
	int checked;		/* migration compared the references */
	int fast_done;		/* GUP-fast's walk is over */
	int grabbed_late;	/* GUP-fast grabbed after the compare */
	int migrate_rc;
	enum gup_debug_point zap_at;	/* zap_hook(): where to zap */
	int zapped;
};

static void *migrate_thread(void *arg)
{
	struct race *r = arg;

	gup_thread_register();
	r->migrate_rc = mm_migrate_page(r->f->mm, FX_ANON);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* *@done set within @ms? */
static bool done_within(int *done, int ms)
{
	while (ms-- > 0 && !__atomic_load_n(done, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	return __atomic_load_n(done, __ATOMIC_ACQUIRE);
}

/*
 * @fn(@arg) in a thread of its own, that says when it is done. @fn must
 * not CHECK (a failure would longjmp out of the thread): it leaves its
 * results for the test to check after bg_finish().
 */
struct bg_call {
	void (*fn)(void *arg);
	void *arg;
	int done;
	pthread_t thr;
};

static void *bg_thread(void *arg)
{
	struct bg_call *c = arg;

	c->fn(c->arg);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void bg_start(struct bg_call *c)
{
	pthread_create(&c->thr, NULL, bg_thread, c);
}

/*
 * While the test holds @what: the call must wait for it (not done in
 * 30 ms) or must not (done in 5 s).
 */
static void bg_check_waits(struct bg_call *c, bool waits, const char *call,
			   const char *what)
{
	if (waits)
		CHECK_MSG(!done_within(&c->done, 30), "%s: did not take %s",
			  call, what);
	else
		CHECK_MSG(done_within(&c->done, 5000), "%s: waited for %s",
			  call, what);
}

/* After the test let go of what the call waited for: it ends. */
static void bg_finish(struct bg_call *c, const char *call)
{
	CHECK_MSG(done_within(&c->done, 10000), "%s: never woken", call);
	pthread_join(c->thr, NULL);
}

static void late_grab_hook(struct mm_struct *mm, enum gup_debug_point dp,
			   unsigned long addr, void *arg)
{
	struct race *r = arg;
	int i;

	(void)mm;
	if (dp == GUP_DP_FAST_AFTER_READ && addr == FX_ANON &&
	    !r->started) {
		/* GUP-fast has read the PTE: now migration runs and checks */
		r->started = 1;
		pthread_create(&r->thr, NULL, migrate_thread, r);
		while (!__atomic_load_n(&r->checked, __ATOMIC_ACQUIRE))
			sleep_ms(1);
	} else if (dp == GUP_DP_FAST_AFTER_GRAB && r->started &&
		   !r->fast_done) {
		r->grabbed_late = 1;
	} else if (dp == GUP_DP_FAST_END && r->started && !r->fast_done) {
		__atomic_store_n(&r->fast_done, 1, __ATOMIC_RELEASE);
	} else if (dp == GUP_DP_MIGRATE_CHECKED) {
		__atomic_store_n(&r->checked, 1, __ATOMIC_RELEASE);
		/* GUP-fast grabs now: wait for its walk */
		for (i = 0; i < 10000 &&
		     !__atomic_load_n(&r->fast_done, __ATOMIC_ACQUIRE); i++)
			sleep_ms(1);
	}
}

/*
 * Migration compares an anon folio's references without freezing them
 * (folio_migrate_mapping()), so a GUP-fast that read the PTE before the
 * unmap (no IPI holds migration up here, as on arm64's broadcast TLB
 * invalidation) grabs the old folio after the compare, and the move goes
 * on: the PTE recheck finds the migration entry and lets go (one undo,
 * no reference left: the old folio is freed), and the slow path waits on
 * the entry and pins the new page. pagelock's GUP-fast does not grab:
 * migration holds the page lock it trylocks.
 */
static void case_late_grab(void *arg)
{
	const struct gup_scheme *s = arg;
	bool grabs = !(s->features & SF_PAGELOCK);
	struct race r = { 0 };
	struct page *old, *page = NULL;
	long got;
	struct fx f;

	fx_setup(&f, s);
	r.f = &f;
	old = fx_page(&f, FX_ANON);
	old->private = 0x5eed;
	f.mm->debug_arg = &r;
	f.mm->debug_hook = late_grab_hook;
	got = s->gup_fast(f.mm, FX_ANON, 1, PIN_W, &page, &f.st);
	f.mm->debug_hook = NULL;
	CHECK_EQ(r.started, 1);
	pthread_join(r.thr, NULL);
	CHECK_EQ(got, 1);
	CHECK_EQ(r.migrate_rc, 0);
	CHECK_MSG(r.grabbed_late == grabs, "GUP-fast %s the old folio after "
		  "migration's reference compare", r.grabbed_late ?
		  "grabbed" : "did not grab");
	CHECK_EQ(f.st.fast_pages, 0);
	CHECK_EQ(f.st.fast_undo, grabs ? 1 : 0);
	CHECK_EQ(f.st.slow_calls, 1);
	CHECK_MSG(page != old, "pinned the old page");
	CHECK(page == fx_page(&f, FX_ANON));
	CHECK_EQ(page->private, 0x5eed);
	CHECK(page_is_poisoned(old));
	release(&f, &page, got, PIN_W);
	fx_teardown(&f);
}

static void zap_hook(struct mm_struct *mm, enum gup_debug_point dp,
		     unsigned long addr, void *arg)
{
	struct race *r = arg;

	if (dp == r->zap_at && !r->zapped) {
		r->zapped = 1;
		/* the PTE (or PMD) changes under the caller */
		mm_zap_range(mm, addr & ~(PAGE_SIZE - 1), PAGE_SIZE);
	}
}

/*
 * A PTE changed between GUP-fast's read and its recheck: the fast path
 * undoes its grab (no leaked reference: the old page is freed) and the
 * slow path faults a fresh page in (the allocator may hand back the same
 * pfn, so the free count is what shows a leak). THP: the same for a PMD;
 * the zap of its last subpage splits it, so the old THP stays, one
 * reference per PTE still mapping it, and its count shows a leak.
 */
static void case_recheck(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned long addrs[2] = { FX_ANON + 3 * PAGE_SIZE, FX_THP };
	struct page *pages[512];
	struct folio *thp;
	int i;
	struct fx f;

	fx_setup(&f, s);
	thp = page_folio(fx_page(&f, FX_THP));
	for (i = 0; i < 2; i++) {
		unsigned long nr = i ? 512 : 1;
		/* between GUP-fast's read and its recheck */
		struct race r = { .f = &f, .zap_at = GUP_DP_FAST_AFTER_GRAB };
		unsigned long free0 = mem_nr_free();
		long got;

		memset(&f.st, 0, sizeof(f.st));
		f.mm->debug_arg = &r;
		f.mm->debug_hook = zap_hook;
		got = s->gup_fast(f.mm, addrs[i], nr, PIN_W, pages, &f.st);
		f.mm->debug_hook = NULL;
		CHECK_EQ(r.zapped, 1);
		CHECK_EQ(got, (long)nr);
		CHECK_EQ(f.st.fast_undo, 1);
		CHECK_EQ(f.st.slow_calls, 1);
		CHECK(pages[0] == fx_page(&f, addrs[i]));
		release(&f, pages, got, PIN_W);
		/* the old page was freed, the fault took a new one */
		if (!i)
			CHECK_MSG(mem_nr_free() == free0,
				  "old page leaked a reference");
		else
			CHECK_MSG(folio_ref_count(thp) == HPAGE_PMD_NR - 1,
				  "old THP: %d references for %d PTEs",
				  folio_ref_count(thp), HPAGE_PMD_NR - 1);
	}
	fx_teardown(&f);
}

struct restore {
	struct folio *folio;
	unsigned long addr;
	int hits, checked;
};

static void restore_hook(struct mm_struct *mm, enum gup_debug_point dp,
			 unsigned long addr, void *arg)
{
	struct restore *r = arg;

	if (addr != r->addr)
		return;
	r->checked += dp == GUP_DP_MIGRATE_CHECKED;
	if (dp != GUP_DP_MIGRATE_RESTORED)
		return;
	r->hits++;
	/* the transient ref that failed the compare goes, then a zap */
	folio_put(r->folio);
	mm_zap_range(mm, addr, PAGE_SIZE);
}

/*
 * Migration whose reference compare fails puts the old PTE back. The
 * mapping's reference must be taken before that PTE is visible: a zap
 * (or COW) right after it drops that reference, and with only the
 * isolation reference left the folio must not be freed under migration,
 * which still holds it locked (torture found the model taking it too
 * late: PG_locked at free, then a double free).
 */
static void case_migrate_restore(void *arg)
{
	const struct gup_scheme *s = arg;
	struct restore r = { .addr = FX_ANON + 5 * PAGE_SIZE };
	unsigned long free0;
	struct page *page;
	int rc;
	struct fx f;

	fx_setup(&f, s);
	page = fx_page(&f, r.addr);
	r.folio = page_folio(page);
	folio_get(r.folio);	/* a speculative ref: the compare fails */
	free0 = mem_nr_free();
	f.mm->debug_arg = &r;
	f.mm->debug_hook = restore_hook;
	rc = mm_migrate_page(f.mm, r.addr);
	f.mm->debug_hook = NULL;
	/*
	 * The sync passes then find only the isolation's reference: the
	 * folio was freed under migration, which migrate_pages() counts as
	 * done (migrate_folio_unmap()), with nothing copied.
	 */
	CHECK_EQ(rc, 0);
	CHECK_EQ(r.hits, 1);
	CHECK_MSG(!r.checked, "a folio mapped nowhere, with only the "
		  "isolation's reference, was moved");
	CHECK_MSG(atomic_long_read(&gup_warnings) == 0,
		  "a WARN fired (the folio was freed while migration held it)");
	/* zapped: the old page is free (once), and nothing maps it */
	CHECK(page_is_poisoned(page));
	CHECK_EQ(mem_nr_free(), free0 + 1);
	CHECK(mm_lookup_page(f.mm, r.addr, NULL) == NULL);
	fx_teardown(&f);
}

/* The raw PTE at @addr (a migration entry too), or 0 without a table. */
static pte_t raw_pte(struct mm_struct *mm, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *ptep = mm_find_pte(mm, addr, false, &ptl);
	pte_t pte = __pte(0);

	if (ptep) {
		spin_lock(ptl);
		pte = ptep_get(ptep);
		spin_unlock(ptl);
	}
	return pte;
}

/*
 * Migration drops mmap_lock once it has isolated the folio, as
 * migrate_to_node() (6.7+) and compaction run: with the migration entry
 * installed the lock is free, and a fork that starts then takes it and
 * (anonexcl) copies the entry (copy_nonpresent_pte()): the writable,
 * exclusive entry becomes readable in parent and child, and the remap,
 * whose rmap walk now visits the child, maps the new page read-only in
 * both. The schemes before PG_anon_exclusive wait the entry out instead
 * (see copy_pte_range(): copying it is the fork_copies_mig_entry
 * mutant), then copy what the migration left.
 */
struct mig_fork {
	unsigned long addr;
	struct mm_struct *mm, *child;
	struct bg_call fork;		/* mig_fork() */
	int hits, lock_free, fork_done_early;
	int waiting, seq_odd;		/* fork asleep on the entry: its seq */
	bool expect_copy;
	pte_t parent_entry, child_entry;
};

static void mig_fork(void *arg)
{
	struct mig_fork *m = arg;

	gup_thread_register();
	m->child = mm_fork(m->mm, NULL, NULL);
}

static void mig_fork_hook(struct mm_struct *mm, enum gup_debug_point dp,
			  unsigned long addr, void *arg)
{
	struct mig_fork *m = arg;

	if (dp != GUP_DP_MIGRATE_UNMAPPED || addr != m->addr || m->hits++)
		return;
	if (!pthread_rwlock_trywrlock(&mm->mmap_lock)) {
		m->lock_free = 1;
		pthread_rwlock_unlock(&mm->mmap_lock);
	}
	m->mm = mm;
	m->fork = (struct bg_call){ .fn = mig_fork, .arg = m };
	bg_start(&m->fork);
	/* a fork that waits for the entry cannot finish here */
	m->fork_done_early = done_within(&m->fork.done,
					 m->expect_copy ? 10000 : 50);
	/*
	 * asleep on the entry (PG_waiters on the locked folio), the fork is
	 * out of its write_protect_seq section: GUP-fast in this mm keeps
	 * its fast path (the kernel's fork never sleeps inside it)
	 */
	if (!m->fork_done_early) {
		struct folio *folio = page_folio(pte_page(raw_pte(mm, addr)));
		int ms;

		for (ms = 0; ms < 5000 && !m->waiting; ms++) {
			m->waiting = test_bit(PG_waiters, folio_flags(folio));
			if (!m->waiting)
				usleep(1000);
		}
		m->seq_odd = READ_ONCE(mm->write_protect_seq.sequence) & 1;
	}
	m->parent_entry = raw_pte(mm, addr);
	if (m->fork_done_early && m->child)
		m->child_entry = raw_pte(m->child, addr);
}

static void case_migrate_vs_fork(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mig_fork m = {
		.addr = FX_ANON + 7 * PAGE_SIZE,
		.expect_copy = s->features & SF_ANON_EXCL,
	};
	struct page *old, *now, *in_child;
	pte_t pte, cpte;
	struct fx f;

	fx_setup(&f, s);
	old = fx_page(&f, m.addr);
	f.mm->debug_arg = &m;
	f.mm->debug_hook = mig_fork_hook;
	CHECK_EQ(mm_migrate_page(f.mm, m.addr), 0);
	f.mm->debug_hook = NULL;
	CHECK_EQ(m.hits, 1);
	pthread_join(m.fork.thr, NULL);
	CHECK_MSG(m.lock_free, "migration held mmap_lock with its entry "
		  "installed");
	CHECK(is_migration_entry(m.parent_entry));
	if (!m.expect_copy) {
		CHECK_MSG(!m.fork_done_early, "fork copied past a migration "
			  "entry without waiting for it");
		CHECK_MSG(m.waiting, "fork never queued on the entry's folio");
		CHECK_MSG(!m.seq_odd, "fork sleeps on a migration entry inside "
			  "its write_protect_seq section");
		CHECK(m.child);
		now = mm_lookup_page(f.mm, m.addr, NULL);
		in_child = mm_lookup_page(m.child, m.addr, NULL);
		CHECK(now && now != old);
		CHECK_MSG(in_child == now, "the child maps %p, the parent %p",
			  (void *)in_child, (void *)now);
		mm_free(m.child);
		fx_teardown(&f);
		return;
	}
	CHECK_MSG(m.fork_done_early, "fork waited for a migration entry "
		  "(copy_nonpresent_pte() copies it)");
	CHECK(m.child);
	CHECK(is_migration_entry(m.child_entry));
	CHECK_EQ(pte_val(m.child_entry), pte_val(m.parent_entry));
	CHECK(pte_page(m.child_entry) == old);
	CHECK_MSG(!(pte_val(m.child_entry) & (_SWP_MIG_WRITE | _SWP_MIG_EXCL)),
		  "the copied entry is still writable or exclusive");
	now = mm_lookup_page(f.mm, m.addr, &pte);
	in_child = mm_lookup_page(m.child, m.addr, &cpte);
	CHECK(now && now != old);
	CHECK_MSG(in_child == now, "the child maps %p, the parent %p",
		  (void *)in_child, (void *)now);
	CHECK(!pte_write(pte) && !pte_write(cpte));
	CHECK(!test_bit(PG_anon_exclusive, &now->flags));
	CHECK(page_is_poisoned(old));
	CHECK_EQ(atomic_read(&now->_mapcount), 1);	/* two mappings */
	CHECK_EQ(folio_ref_count(page_folio(now)), 2);
	mm_free(m.child);
	CHECK_EQ(atomic_read(&now->_mapcount), 0);
	CHECK_EQ(folio_ref_count(page_folio(now)), 1);
	fx_teardown(&f);
}

/*
 * anonexcl: the fork copies the entry of a page that a FOLL_GET holds,
 * so the compare fails and remove_migration_ptes() puts the old page back
 * in both, read-only and no longer exclusive, with the child's mapping
 * counted (a GET is no pin: the unmap's pin check let it through).
 */
static void case_migrate_vs_fork_fail(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mig_fork m = {
		.addr = FX_ANON + 7 * PAGE_SIZE,
		.expect_copy = true,
	};
	struct page *old, *got;
	pte_t pte, cpte;
	int ref0;
	struct fx f;

	fx_setup(&f, s);
	old = fx_page(&f, m.addr);
	CHECK_EQ(s->gup_fast(f.mm, m.addr, 1, FOLL_GET, &got, &f.st), 1);
	CHECK(got == old);
	ref0 = folio_ref_count(page_folio(old));
	f.mm->debug_arg = &m;
	f.mm->debug_hook = mig_fork_hook;
	CHECK_EQ(mm_migrate_page(f.mm, m.addr), -EAGAIN);
	f.mm->debug_hook = NULL;
	pthread_join(m.fork.thr, NULL);
	CHECK(m.fork_done_early && m.child);
	CHECK(is_migration_entry(m.child_entry));
	CHECK(mm_lookup_page(f.mm, m.addr, &pte) == old);
	CHECK_MSG(mm_lookup_page(m.child, m.addr, &cpte) == old,
		  "the failed migration did not restore the child's entry");
	CHECK(!pte_write(pte) && !pte_write(cpte));
	CHECK(!test_bit(PG_anon_exclusive, &old->flags));
	CHECK_EQ(atomic_read(&old->_mapcount), 1);
	CHECK_EQ(folio_ref_count(page_folio(old)), ref0 + 1);
	s->release_pages(&got, 1, FOLL_GET);
	mm_free(m.child);
	CHECK_EQ(atomic_read(&old->_mapcount), 0);
	CHECK_EQ(folio_ref_count(page_folio(old)), ref0 - 1);
	fx_teardown(&f);
}

/*
 * A page a child shares (COW after fork) is migrated in both: the rmap
 * walk unmaps the child's PTE too, so the compare finds no mapping's
 * reference, and both map the new page; a grandchild's too (every fork
 * links to the root's chain). A reference that is not a
 * mapping's (a FOLL_GET) fails the compare: both PTEs map the old page
 * again, and every count is back.
 */
static void case_migrate_shared(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned long addr = FX_ANON + 9 * PAGE_SIZE;
	struct mm_struct *child, *grandchild;
	struct page *old, *now, *got;
	int ref;
	struct fx f;

	fx_setup(&f, s);
	child = mm_fork(f.mm, NULL, NULL);
	CHECK(child);
	old = fx_page(&f, addr);
	CHECK(mm_lookup_page(child, addr, NULL) == old);
	CHECK_EQ(atomic_read(&old->_mapcount), 1);
	ref = folio_ref_count(page_folio(old));

	CHECK_EQ(s->gup_fast(f.mm, addr, 1, FOLL_GET, &got, &f.st), 1);
	CHECK(got == old);
	CHECK_EQ(mm_migrate_page(f.mm, addr), -EAGAIN);
	CHECK(mm_lookup_page(f.mm, addr, NULL) == old);
	CHECK(mm_lookup_page(child, addr, NULL) == old);
	CHECK_EQ(atomic_read(&old->_mapcount), 1);
	CHECK_EQ(folio_ref_count(page_folio(old)), ref + 1);
	s->release_pages(&got, 1, FOLL_GET);

	CHECK_EQ(mm_migrate_page(f.mm, addr), 0);
	now = mm_lookup_page(f.mm, addr, NULL);
	CHECK(now && now != old);
	CHECK_MSG(mm_lookup_page(child, addr, NULL) == now,
		  "the child still maps the old page");
	CHECK(page_is_poisoned(old));
	CHECK_EQ(atomic_read(&now->_mapcount), 1);
	CHECK_EQ(folio_ref_count(page_folio(now)), 2);

	/* a grandchild is in the root's chain too: all three move */
	grandchild = mm_fork(child, NULL, NULL);
	CHECK(grandchild && grandchild->anon_parent == f.mm);
	CHECK(mm_lookup_page(grandchild, addr, NULL) == now);
	CHECK_EQ(mm_migrate_page(f.mm, addr), 0);
	old = now;
	now = mm_lookup_page(f.mm, addr, NULL);
	CHECK(now && now != old);
	CHECK(mm_lookup_page(child, addr, NULL) == now);
	CHECK_MSG(mm_lookup_page(grandchild, addr, NULL) == now,
		  "the grandchild still maps the old page");
	CHECK_EQ(atomic_read(&now->_mapcount), 2);
	CHECK_EQ(folio_ref_count(page_folio(now)), 3);
	mm_free(grandchild);
	mm_free(child);
	CHECK_EQ(folio_ref_count(page_folio(now)), 1);
	CHECK(!f.mm->anon_children);
	fx_teardown(&f);
}

#define FX_THP2		0x80000000UL	/* an unpopulated VM_HUGEPAGE VMA */

struct thp_race {
	struct mm_struct *mm;
	pthread_t thr;
	int started;
	int rc;
};

static void *small_faulter(void *arg)
{
	struct thp_race *r = arg;

	gup_thread_register();
	r->rc = mm_populate(r->mm, FX_THP2 + 3 * PAGE_SIZE, PAGE_SIZE);
	return NULL;
}

static void thp_race_hook(struct mm_struct *mm, enum gup_debug_point dp,
			  unsigned long addr, void *arg)
{
	struct thp_race *r = arg;

	if (dp != GUP_DP_HUGE_FAULT_LOCKED || r->started)
		return;
	/* with the PMD none and locked, a fault that gets no THP runs */
	r->started = 1;
	pthread_create(&r->thr, NULL, small_faulter, r);
	sleep_ms(50);
}

/*
 * A THP fault found the PMD none under the PMD lock; another fault in
 * the same 2 MiB got no THP and falls back to a PTE table. The table
 * must go in under the same lock (pmd_install()), so the second fault
 * waits and then finds the THP: it must not install a table and map a
 * small page that the THP's set_pmd() then overwrites (a leaked page).
 */
static void case_thp_vs_pte_table(void *arg)
{
	const struct gup_scheme *s = arg;
	struct thp_race r = { 0 };
	struct folio *extra[FX_NR_THP];
	unsigned int n = 0, i;
	struct page *p;
	struct fx f;

	fx_setup(&f, s);
	CHECK_EQ(mm_mmap(f.mm, FX_THP2, PMD_SIZE, VM_WRITE | VM_HUGEPAGE), 0);
	while (mem_nr_free_thp() > 1)	/* the next THP fault takes the last */
		extra[n++] = folio_alloc_thp();
	r.mm = f.mm;
	f.mm->debug_arg = &r;
	f.mm->debug_hook = thp_race_hook;
	CHECK_EQ(mm_populate(f.mm, FX_THP2, PAGE_SIZE), 0);
	f.mm->debug_hook = NULL;
	CHECK_EQ(r.started, 1);
	pthread_join(r.thr, NULL);
	CHECK_EQ(r.rc, 0);
	p = mm_lookup_page(f.mm, FX_THP2 + 3 * PAGE_SIZE, NULL);
	CHECK_MSG(p && folio_test_large(page_folio(p)),
		  "the second fault's address is not mapped by the THP");
	for (i = 0; i < n; i++)
		folio_put(extra[i]);
	fx_teardown(&f);	/* a small page left behind is a leak */
}

/*
 * A VM_HUGEPAGE range that got no THP is PTE-mapped; a fault there on a
 * PTE that needs nothing (already present and writable) returns 0, not
 * do_huge_fault()'s "fall back to PTEs" (1), which the slow path would
 * take for a page it never got (torture found it).
 */
static void case_thp_fallback_fault(void *arg)
{
	const struct gup_scheme *s = arg;
	struct folio *extra[FX_NR_THP];
	struct page *pages[1] = { NULL }, *p;
	unsigned int n = 0, i;
	int rc;
	struct fx f;

	fx_setup(&f, s);
	CHECK_EQ(mm_mmap(f.mm, FX_THP2, PMD_SIZE, VM_WRITE | VM_HUGEPAGE), 0);
	while (mem_nr_free_thp())	/* no THP for the new range */
		extra[n++] = folio_alloc_thp();
	CHECK_EQ(mm_populate(f.mm, FX_THP2, PAGE_SIZE), 0);
	p = fx_page(&f, FX_THP2);
	CHECK(!folio_test_large(page_folio(p)));
	mmap_read_lock(f.mm);
	rc = handle_mm_fault(f.mm, FX_THP2, FAULT_FLAG_WRITE, &f.st);
	mmap_read_unlock(f.mm);
	CHECK_EQ(rc, 0);
	CHECK_EQ(s->gup(f.mm, FX_THP2, 1, PIN_W, pages, &f.st), 1);
	CHECK(pages[0] == p);
	release(&f, pages, 1, PIN_W);
	for (i = 0; i < n; i++)
		folio_put(extra[i]);
	fx_teardown(&f);
}

struct tail_pin {
	struct fx *f;
	struct page *page;
	long got;
};

static void *tail_pinner(void *arg)
{
	struct tail_pin *t = arg;

	gup_thread_register();
	t->got = t->f->s->gup(t->f->mm, FX_THP + 5 * PAGE_SIZE, 1, FOLL_PIN,
			      &t->page, &t->f->st);
	vmstat_flush_thread();	/* per-thread pin counts, as workers do */
	return NULL;
}

/*
 * Pin subpage 5 of the THP read-only through the slow path, from a
 * thread: a pin still looping after 10 s holds mmap_lock for good, so no
 * later case can run and the whole program exits with a failure.
 */
static void tail_pin_run(struct fx *f, struct tail_pin *t, const char *what)
{
	struct timespec until;
	pthread_t thr;

	memset(t, 0, sizeof(*t));
	t->f = f;
	CHECK_EQ(pthread_create(&thr, NULL, tail_pinner, t), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	if (pthread_timedjoin_np(thr, NULL, &until)) {
		printf("FAIL thp_tail_unshare/%s: R/O pin of a %s THP's tail "
		       "still looping after 10 s (%lu unshare faults); "
		       "exiting\n", f->s->name, what,
		       __atomic_load_n(&f->st.unshares, __ATOMIC_RELAXED));
		fflush(stdout);
		_exit(1);
	}
}

/*
 * A read-only pin of a THP tail page through the slow path once fork has
 * write-protected the PMD. follow_huge_pmd() asks gup_must_unshare()
 * about the head, which holds PG_anon_exclusive for a PMD mapping, and
 * anonexcl (1(d)) takes exactly one unshare fault:
 * - the child alive (the THP shared): do_huge_pmd_wp_page() cannot reuse
 *   it, the PMD is split and do_wp_page() copies subpage 5 to a small
 *   exclusive page, mapped read-only; the child keeps the THP;
 * - the child gone: the fault reuses the THP (PG_anon_exclusive on the
 *   head, the PMD still read-only) and the tail is pinned in place.
 *   Asking about the tail instead never stops (a livelock).
 * The schemes before 5.19 never unshare: the THP's own tail is pinned.
 */
static void case_thp_tail_unshare(void *arg)
{
	const unsigned long addr = FX_THP + 5 * PAGE_SIZE;
	const struct gup_scheme *s = arg;
	bool anonexcl = s->features & SF_ANON_EXCL;
	struct mm_struct *child;
	struct tail_pin t;
	struct folio *thp;
	int shared;
	bool leaf;
	pte_t pte;
	struct fx f;

	for (shared = 1; shared >= 0; shared--) {
		fx_setup(&f, s);
		thp = page_folio(fx_page(&f, FX_THP));
		child = mm_fork(f.mm, NULL, NULL);
		CHECK(child);
		if (!shared) {
			/* the PMD stays read-only, not exclusive: ours alone */
			mm_free(child);
			child = NULL;
		}
		memset(&f.st, 0, sizeof(f.st));
		tail_pin_run(&f, &t, shared ? "shared" : "no longer shared");
		CHECK_EQ(t.got, 1);
		CHECK_MSG(f.st.unshares == (anonexcl ? 1 : 0),
			  "%s THP: %lu unshare faults",
			  shared ? "shared" : "unshared", f.st.unshares);
		CHECK(mm_lookup_page(f.mm, addr, &pte) == t.page);
		CHECK_MSG(!pte_write(pte), "the R/O pin made the entry "
			  "writable");
		if (anonexcl && shared) {
			CHECK_EQ(f.st.cow_copies, 1);
			CHECK_MSG(!folio_test_large(page_folio(t.page)),
				  "pinned the shared THP");
			CHECK(test_bit(PG_anon_exclusive, &t.page->flags));
			CHECK(mm_find_entry(f.mm, FX_THP, &leaf) && !leaf);
		} else {
			CHECK_EQ(f.st.cow_copies, 0);
			CHECK(t.page == folio_page(thp, 5));
			CHECK(mm_find_entry(f.mm, FX_THP, &leaf) && leaf);
			if (anonexcl)
				CHECK(test_bit(PG_anon_exclusive,
					       folio_flags(thp)));
		}
		if (child) {
			CHECK(mm_lookup_page(child, addr, NULL) ==
			      folio_page(thp, 5));
			CHECK(mm_find_entry(child, FX_THP, &leaf) && leaf);
		}
		release(&f, &t.page, 1, FOLL_PIN);
		if (child)
			mm_free(child);
		fx_teardown(&f);
	}
}

/* ---- fork and COW ---- */

/*
 * fork with a pinned exclusive page: the child gets a copy, the parent
 * keeps the pinned page mapped writable (70e806e4e645; anonexcl:
 * folio_try_dup_anon_rmap_pte() -EBUSY).
 */
static void case_fork_pinned(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mm_struct *child;
	struct page *page, *cpage;
	unsigned long copied, shared;
	pte_t pte;
	struct fx f;

	fx_setup(&f, s);
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, &page, &f.st), 1);
	page_dma_write(page, 0xd1a);
	child = mm_fork(f.mm, &copied, &shared);
	CHECK(child);
	CHECK_EQ(copied, 1);
	CHECK(fx_page(&f, FX_ANON) == page);
	mm_lookup_page(f.mm, FX_ANON, &pte);
	CHECK_MSG(pte_write(pte), "parent lost write access to its pin");
	cpage = mm_lookup_page(child, FX_ANON, NULL);
	CHECK(cpage && cpage != page);
	CHECK_EQ(cpage->private, 0xd1a);
	if (s->features & SF_ANON_EXCL)
		CHECK(test_bit(PG_anon_exclusive, &page->flags));
	mm_free(child);
	s->release_pages(&page, 1, PIN_W);
	fx_teardown(&f);
}

/*
 * PG_anon_exclusive is 5.19's: the schemes before anonexcl never set it
 * (no locked RMW on the flags word that their kernels did not have), not
 * at the fault, not for fork's copy of a pinned page, not when a write
 * fault reuses a page the child no longer shares, nor in a THP or its
 * split; anonexcl sets it at each.
 */
static void case_anon_exclusive_era(void *arg)
{
	const struct gup_scheme *s = arg;
	bool want = s->features & SF_ANON_EXCL;
	struct mm_struct *child;
	struct page *page, *cpage, *thp;
	unsigned long copied;
	struct fx f;
	int i;

	fx_setup(&f, s);
	page = fx_page(&f, FX_ANON);
	CHECK_EQ(test_bit(PG_anon_exclusive, &page->flags), want);
	thp = fx_page(&f, FX_THP);
	CHECK_EQ(test_bit(PG_anon_exclusive, &thp->flags), want);
	/* fork: the pinned page is copied, the others shared */
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, &page, &f.st), 1);
	child = mm_fork(f.mm, &copied, NULL);
	CHECK(child);
	cpage = mm_lookup_page(child, FX_ANON, NULL);
	CHECK(cpage && cpage != page);
	CHECK_EQ(test_bit(PG_anon_exclusive, &cpage->flags), want);
	s->release_pages(&page, 1, PIN_W);
	mm_free(child);
	/* the child gone, a write fault reuses each page fork shared */
	for (i = 1; i < 3; i++) {
		struct page *p = fx_page(&f, FX_ANON + i * PAGE_SIZE), *got;

		CHECK_EQ(test_bit(PG_anon_exclusive, &p->flags), false);
		CHECK_EQ(s->gup(f.mm, FX_ANON + i * PAGE_SIZE, 1, PIN_W, &got,
				&f.st), 1);
		CHECK(got == p);	/* reused, not copied */
		CHECK_EQ(test_bit(PG_anon_exclusive, &p->flags), want);
		s->release_pages(&got, 1, PIN_W);
	}
	fx_teardown(&f);
}

/*
 * A PCI peer-to-peer page is refused before any reference is taken
 * (is_pci_p2pdma_page(), 6.2+), by GUP-fast and by the slow path
 * (-EREMOTEIO), unless the caller passes FOLL_PCI_P2PDMA.
 */
static void case_p2pdma_refused(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	struct page *dev, *got = NULL;
	int ref0;
	struct fx f;

	fx_setup(&f, s);
	dev = fx_page(&f, FX_DEV);
	ref0 = folio_ref_count(page_folio(dev));
	dev->pgmap->type = MEMORY_DEVICE_PCI_P2PDMA;
	CHECK_EQ(s->gup_fast(f.mm, FX_DEV, 1, flags, &got, &f.st),
		 -EREMOTEIO);
	CHECK_EQ(folio_ref_count(page_folio(dev)), ref0);
	CHECK_EQ(s->gup_fast(f.mm, FX_DEV, 1, flags | FOLL_PCI_P2PDMA, &got,
			     &f.st), 1);
	CHECK(got == dev);
	s->release_pages(&got, 1, flags);
	dev->pgmap->type = MEMORY_DEVICE_FS_DAX;
	CHECK_EQ(folio_ref_count(page_folio(dev)), ref0);
	fx_teardown(&f);
}

/*
 * migrate_pages(2) and move_pages(2) refuse a DAX VMA in vma_migratable()
 * before they look at a PTE: -EFAULT, the PTE and the page untouched.
 */
static void case_migrate_dax(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *dev;
	spinlock_t *ptl;
	pte_t *ptep;
	unsigned long pte0;
	int ref0;
	struct fx f;

	fx_setup(&f, s);
	dev = fx_page(&f, FX_DEV);
	ref0 = folio_ref_count(page_folio(dev));
	ptep = mm_find_pte(f.mm, FX_DEV, false, &ptl);
	CHECK(ptep != NULL);
	pte0 = pte_val(ptep_get(ptep));
	CHECK_EQ(mm_migrate_page(f.mm, FX_DEV), -EFAULT);
	CHECK_EQ(pte_val(ptep_get(ptep)), pte0);
	CHECK_EQ(folio_ref_count(page_folio(dev)), ref0);
	CHECK(fx_page(&f, FX_DEV) == dev);
	fx_teardown(&f);
}

/*
 * anon_vma_fork() links each child at the tail of the root's chain, and
 * a child's own fork links the grandchild to the same root, after it: an
 * rmap walk visits older mms first, as the interval tree does.
 */
static void case_anon_chain_order(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mm_struct *c1, *c2, *g, *m;
	struct mm_struct *want[4];
	int n = 0;
	struct fx f;

	fx_setup(&f, s);
	c1 = mm_fork(f.mm, NULL, NULL);
	c2 = mm_fork(f.mm, NULL, NULL);
	CHECK(c1 && c2);
	g = mm_fork(c1, NULL, NULL);
	CHECK(g);
	want[0] = f.mm;
	want[1] = c1;
	want[2] = c2;
	want[3] = g;
	for_each_rmap_mm(m, f.mm) {
		CHECK(n < 4);
		CHECK_MSG(m == want[n], "rmap walk visits mm %d out of order",
			  n);
		n++;
	}
	CHECK_EQ(n, 4);
	CHECK(g->anon_parent == f.mm);
	mm_free(g);
	mm_free(c2);
	mm_free(c1);
	fx_teardown(&f);
}

/*
 * The same in a VMA mprotect()ed read-only after the pin: the child's
 * copy is dirty but not writable (copy_present_page()'s maybe_mkwrite()
 * follows the VMA, not the parent's PTE).
 */
static void case_fork_pinned_ro(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mm_struct *child;
	struct page *page, *cpage;
	unsigned long copied;
	spinlock_t *ptl;
	pte_t *ptep, cpte;
	struct fx f;
	int i;

	fx_setup(&f, s);
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, &page, &f.st), 1);
	/* mprotect(PROT_READ): VM_WRITE off, the PTE write-protected */
	for (i = 0; i < f.mm->nr_vmas; i++)
		if (f.mm->vmas[i].vm_start == FX_ANON)
			f.mm->vmas[i].vm_flags &= ~VM_WRITE;
	ptep = mm_find_pte(f.mm, FX_ANON, false, &ptl);
	CHECK(ptep);
	spin_lock(ptl);
	set_pte(ptep, pte_wrprotect(ptep_get(ptep)));
	spin_unlock(ptl);
	child = mm_fork(f.mm, &copied, NULL);
	CHECK(child);
	CHECK_EQ(copied, 1);
	cpage = mm_lookup_page(child, FX_ANON, &cpte);
	CHECK(cpage && cpage != page);
	CHECK_MSG(!pte_write(cpte), "the child's copy is writable in a "
		  "read-only VMA");
	CHECK(pte_dirty(cpte));
	mm_free(child);
	s->release_pages(&page, 1, PIN_W);
	fx_teardown(&f);
}

/*
 * fork of an unpinned page: shared, write-protected in both, and
 * (anonexcl) the exclusive bit cleared; the parent's next write breaks
 * COW onto a new page while the child keeps the old one.
 */
static void case_fork_unpinned(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mm_struct *child;
	struct page *page, *got;
	pte_t pte, cpte;
	struct fx f;

	fx_setup(&f, s);
	page = fx_page(&f, FX_ANON + PAGE_SIZE);
	child = mm_fork(f.mm, NULL, NULL);
	CHECK(child);
	CHECK(mm_lookup_page(child, FX_ANON + PAGE_SIZE, &cpte) == page);
	mm_lookup_page(f.mm, FX_ANON + PAGE_SIZE, &pte);
	CHECK(!pte_write(pte) && !pte_write(cpte));
	CHECK_EQ(atomic_read(&page->_mapcount), 1);
	if (s->features & SF_ANON_EXCL)
		CHECK(!test_bit(PG_anon_exclusive, &page->flags));
	/* a writable pin now has to break COW in the parent */
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON + PAGE_SIZE, 1, PIN_W, &got,
			     &f.st), 1);
	CHECK(got != page);
	CHECK(mm_lookup_page(child, FX_ANON + PAGE_SIZE, NULL) == page);
	CHECK_EQ(f.st.cow_copies, 1);
	s->release_pages(&got, 1, PIN_W);
	mm_free(child);
	fx_teardown(&f);
}

/*
 * wp_page_copy() copies with the PT lock dropped: a PTE that changed
 * meanwhile (zapped here) is not overwritten; the copy is freed, the
 * old folio keeps only the child's references, and the retried fault
 * maps a fresh page.
 */
static void case_cow_pte_changed(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mm_struct *child;
	struct page *page, *got;
	/* while wp_page_copy() has the PT lock dropped */
	struct race r = { .zap_at = GUP_DP_COW_COPIED };
	unsigned long free0;
	struct fx f;
	int ref0;

	fx_setup(&f, s);
	page = fx_page(&f, FX_ANON + PAGE_SIZE);
	child = mm_fork(f.mm, NULL, NULL);
	CHECK(child);
	/* after the zap the child's mapping is the page's only one */
	ref0 = folio_ref_count(page_folio(page)) - 1;
	free0 = mem_nr_free();
	memset(&f.st, 0, sizeof(f.st));
	f.mm->debug_arg = &r;
	f.mm->debug_hook = zap_hook;
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON + PAGE_SIZE, 1, PIN_W, &got,
			     &f.st), 1);
	f.mm->debug_hook = NULL;
	CHECK_EQ(r.zapped, 1);
	CHECK_EQ(f.st.cow_copies, 0);	/* the copy was never mapped */
	CHECK(got != page);
	CHECK(mm_lookup_page(f.mm, FX_ANON + PAGE_SIZE, NULL) == got);
	CHECK(mm_lookup_page(child, FX_ANON + PAGE_SIZE, NULL) == page);
	CHECK_EQ(folio_ref_count(page_folio(page)), ref0);
	CHECK_EQ(atomic_read(&page->_mapcount), 0);
	/* one page in use more than before: the fresh one; the copy freed */
	CHECK_EQ(mem_nr_free(), free0 - 1);
	s->release_pages(&got, 1, PIN_W);
	mm_free(child);
	fx_teardown(&f);
}

/*
 * anonexcl: a R/O pin of a non-exclusive anon page may not be taken:
 * GUP-fast backs off (gup_must_unshare), the slow path unshares
 * (FAULT_FLAG_UNSHARE, once) onto a new exclusive page, a copy (the
 * child maps the old one) that stays read-only.
 */
static void case_ro_unshare(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mm_struct *child;
	struct page *old, *page;
	pte_t pte;
	struct fx f;

	fx_setup(&f, s);
	old = fx_page(&f, FX_ANON);
	child = mm_fork(f.mm, NULL, NULL);
	CHECK(child);
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, FOLL_PIN, &page, &f.st), 1);
	CHECK_EQ(f.st.fast_pages, 0);
	CHECK_EQ(f.st.fast_undo, 1);
	CHECK_EQ(f.st.unshares, 1);
	CHECK_EQ(f.st.cow_copies, 1);
	CHECK_MSG(page != old, "pinned the shared page");
	CHECK(test_bit(PG_anon_exclusive, &page->flags));
	CHECK(mm_lookup_page(f.mm, FX_ANON, &pte) == page);
	CHECK_MSG(!pte_write(pte), "unshare made the PTE writable");
	CHECK(mm_lookup_page(child, FX_ANON, NULL) == old);
	/* a second R/O pin of the now exclusive page takes the fast path */
	memset(&f.st, 0, sizeof(f.st));
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, FOLL_PIN, &old, &f.st), 1);
	CHECK_EQ(f.st.fast_pages, 1);
	s->release_pages(&old, 1, FOLL_PIN);
	s->release_pages(&page, 1, FOLL_PIN);
	mm_free(child);
	fx_teardown(&f);
}

/*
 * An odd write_protect_seq (fork in progress) makes FOLL_PIN GUP-fast
 * return 0 pages at once (raw_seqcount_try_begin); FOLL_GET ignores it.
 */
static void case_wp_seq_odd(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[16];
	long got;
	struct fx f;

	fx_setup(&f, s);
	raw_write_seqcount_begin(&f.mm->write_protect_seq);
	got = s->gup_fast(f.mm, FX_ANON, 16, PIN_W | FOLL_FAST_ONLY, pages,
			  &f.st);
	CHECK_EQ(got, 0);
	got = s->gup_fast(f.mm, FX_ANON, 16, FOLL_GET | FOLL_FAST_ONLY, pages,
			  &f.st);
	CHECK_EQ(got, 16);
	release(&f, pages, got, FOLL_GET);
	raw_write_seqcount_end(&f.mm->write_protect_seq);
	got = s->gup_fast(f.mm, FX_ANON, 16, PIN_W | FOLL_FAST_ONLY, pages,
			  &f.st);
	CHECK_EQ(got, 16);
	release(&f, pages, got, PIN_W);
	fx_teardown(&f);
}

static void seq_hook(struct mm_struct *mm, enum gup_debug_point dp,
		     unsigned long addr, void *arg)
{
	int *done = arg;

	if (dp == GUP_DP_FAST_END && !*done) {
		/* a whole fork ran while GUP-fast was walking */
		*done = 1;
		raw_write_seqcount_begin(&mm->write_protect_seq);
		raw_write_seqcount_end(&mm->write_protect_seq);
	}
}

/*
 * write_protect_seq changed during the walk: GUP-fast unpins everything
 * it took and returns 0 (57efa1fe5957); the slow path completes.
 */
static void case_wp_seq_retry(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[16];
	int ref0, done = 0;
	long got;
	struct fx f;

	fx_setup(&f, s);
	ref0 = folio_ref_count(page_folio(fx_page(&f, FX_ANON)));
	f.mm->debug_arg = &done;
	f.mm->debug_hook = seq_hook;
	got = s->gup_fast(f.mm, FX_ANON, 16, PIN_W | FOLL_FAST_ONLY, pages,
			  &f.st);
	f.mm->debug_hook = NULL;
	CHECK_EQ(got, 0);
	CHECK_EQ(f.st.seq_retry, 1);
	CHECK_EQ(folio_ref_count(page_folio(fx_page(&f, FX_ANON))), ref0);
	fx_teardown(&f);
}

/* ---- pagelock ---- */

struct locker {
	struct folio *folio;
	int hold_ms;
	int locked;
};

static void *lock_thread(void *arg)
{
	struct locker *l = arg;

	folio_lock(l->folio);
	__atomic_store_n(&l->locked, 1, __ATOMIC_RELEASE);
	sleep_ms(l->hold_ms);
	folio_unlock(l->folio);
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * pagelock: GUP-fast bails on a locked page (trylock_page fails), the
 * slow path sleeps in lock_page() and is woken by the unlock.
 */
static void case_pagelock(void *arg)
{
	const struct gup_scheme *s = arg;
	struct locker l = { .hold_ms = 40 };
	struct page *page;
	pthread_t thr;
	double t0;
	long got;
	struct fx f;

	fx_setup(&f, s);
	l.folio = page_folio(fx_page(&f, FX_ANON));
	pthread_create(&thr, NULL, lock_thread, &l);
	while (!__atomic_load_n(&l.locked, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	got = s->gup_fast(f.mm, FX_ANON, 1, PIN_W | FOLL_FAST_ONLY, &page,
			  &f.st);
	CHECK_EQ(got, 0);
	t0 = now_ms();
	got = s->gup_fast(f.mm, FX_ANON, 1, PIN_W, &page, &f.st);
	CHECK_EQ(got, 1);
	CHECK_MSG(now_ms() - t0 >= 10, "did not wait for the lock holder");
	CHECK_EQ(f.st.pagelock_waits, 1);
	CHECK(s->maybe_pinned(l.folio));
	pthread_join(thr, NULL);
	CHECK(!folio_test_locked(l.folio));
	CHECK(!test_bit(PG_waiters, folio_flags(l.folio)));
	s->release_pages(&page, 1, PIN_W);
	fx_teardown(&f);
}

/* ---- migration ---- */

/*
 * A pinned page is not migrated: the PTE is restored and migration
 * returns -EAGAIN (expected-refs compare fails; anonexcl: try_share
 * fails first). An unpinned one is, and no reference to the old page
 * remains (it is freed and poisoned).
 */
static void case_migrate(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	struct page *page, *now;
	pte_t pte0, pte;
	int ref;
	struct fx f;

	fx_setup(&f, s);
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, flags, &page, &f.st), 1);
	mm_lookup_page(f.mm, FX_ANON, &pte0);
	ref = folio_ref_count(page_folio(page));
	CHECK(pte_dirty(pte0) && !folio_test_dirty(page_folio(page)));
	CHECK_EQ(mm_migrate_page(f.mm, FX_ANON), -EAGAIN);
	/* try_to_migrate_one() moved the PTE's dirt to the folio */
	CHECK(folio_test_dirty(page_folio(page)));
	now = mm_lookup_page(f.mm, FX_ANON, &pte);
	CHECK(now == page);
	CHECK_EQ(pte_val(pte), pte_val(pte0));
	CHECK_EQ(folio_ref_count(page_folio(page)), ref);
	if (s->features & SF_ANON_EXCL)
		CHECK(test_bit(PG_anon_exclusive, &page->flags));
	s->release_pages(&page, 1, flags);

	page->private = 0xabc;
	CHECK_EQ(mm_migrate_page(f.mm, FX_ANON), 0);
	now = mm_lookup_page(f.mm, FX_ANON, &pte);
	CHECK(now && now != page);
	CHECK(pte_write(pte));
	CHECK(folio_test_dirty(page_folio(now)));	/* copied */
	CHECK_EQ(now->private, 0xabc);
	CHECK(page_is_poisoned(page));
	CHECK_EQ(folio_ref_count(page_folio(page)), 0);
	fx_teardown(&f);
}

struct remap_probe {
	const struct gup_scheme *s;
	struct gup_stats st;
	int hits;
	int dst_locked;
	long got;
};

static void remap_hook(struct mm_struct *mm, enum gup_debug_point dp,
		       unsigned long addr, void *arg)
{
	struct remap_probe *p = arg;
	unsigned int flags = fx_has_pins(p->s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	struct page *page = mm_lookup_page(mm, addr, NULL);
	struct page *got;

	if (dp != GUP_DP_MIGRATE_REMAPPED || p->hits++ || !page)
		return;
	p->dst_locked = folio_test_locked(page_folio(page));
	p->got = p->s->gup_fast(mm, addr, 1, flags | FOLL_FAST_ONLY, &got,
				&p->st);
	if (p->got == 1)
		p->s->release_pages(&got, 1, flags);
}

/*
 * Migration maps the new folio while it is still locked
 * (migrate_folio_unmap() trylocks dst; the end of the move unlocks it):
 * a page-lock pinner that finds the new PTE then backs off to the slow
 * path, every other scheme pins it from GUP-fast.
 */
static void case_migrate_dst_locked(void *arg)
{
	const struct gup_scheme *s = arg;
	struct remap_probe p = { .s = s };
	struct page *now;
	struct fx f;

	fx_setup(&f, s);
	f.mm->debug_arg = &p;
	f.mm->debug_hook = remap_hook;
	CHECK_EQ(mm_migrate_page(f.mm, FX_ANON), 0);
	f.mm->debug_hook = NULL;
	CHECK_EQ(p.hits, 1);
	CHECK_MSG(p.dst_locked, "the new PTE maps an unlocked folio");
	CHECK_EQ(p.got, (s->features & SF_PAGELOCK) &&
		 fx_has_pins(s) ? 0 : 1);
	now = mm_lookup_page(f.mm, FX_ANON, NULL);
	CHECK(now && !folio_test_locked(page_folio(now)));
	fx_teardown(&f);
}

/*
 * migrate_pages()' passes (migrate_pages_sync()): three in MIGRATE_ASYNC,
 * then seven in MIGRATE_SYNC, each pass right after the one before.
 * @drop_dp's @drop_at-th hit drops the transient reference @ref.
 */
struct mig_passes {
	unsigned long addr;
	int hits[GUP_DP_MAX];
	enum gup_debug_point drop_dp;
	int drop_at;
	struct folio *ref;
};

static void passes_hook(struct mm_struct *mm, enum gup_debug_point dp,
			unsigned long addr, void *arg)
{
	struct mig_passes *m = arg;

	(void)mm;
	if (addr != m->addr)
		return;
	if (++m->hits[dp] == m->drop_at && dp == m->drop_dp) {
		folio_put(m->ref);
		m->ref = NULL;
	}
}

static int migrate_counted(struct fx *f, struct mig_passes *m)
{
	int rc;

	f->mm->debug_arg = m;
	f->mm->debug_hook = passes_hook;
	rc = mm_migrate_page(f->mm, m->addr);
	f->mm->debug_hook = NULL;
	return rc;
}

/* migrate_counted() with a transient reference on @page's folio */
static int migrate_dropping(struct fx *f, struct mig_passes *m,
			    struct page *page, enum gup_debug_point drop_dp,
			    int drop_at)
{
	*m = (struct mig_passes){ .addr = m->addr, .drop_dp = drop_dp,
				  .drop_at = drop_at,
				  .ref = page_folio(page) };
	folio_get(m->ref);
	return migrate_counted(f, m);
}

/*
 * A folio held all along fails every pass: ten. anonexcl (6.3+): an
 * exclusive page that may be pinned keeps its PTE at each unmap; a
 * transient reference (no pin) lets the unmap go ahead, and the page
 * stays unmapped through its batch's failed moves, so one dropped
 * between two moves lets the next move of the same batch succeed
 * without a second unmap, and one dropped after the async batch lets
 * the sync batch move it. The schemes before it (unmap_and_move() before
 * 6.3) unmap, compare and remap at each pass.
 */
static void case_migrate_passes(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	bool excl = s->features & SF_ANON_EXCL;
	struct mig_passes m = { .addr = FX_ANON + 2 * PAGE_SIZE };
	struct page *page, *now;
	pte_t pte0, pte;
	int ref;
	struct fx f;

	fx_setup(&f, s);
	CHECK_EQ(s->gup_fast(f.mm, m.addr, 1, flags, &page, &f.st), 1);
	mm_lookup_page(f.mm, m.addr, &pte0);
	ref = folio_ref_count(page_folio(page));
	CHECK_EQ(migrate_counted(&f, &m), -EAGAIN);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_RETRY], 10);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_UNMAPPED], excl ? 0 : 10);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_RESTORED], excl ? 0 : 10);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_CHECKED], 0);
	CHECK(mm_lookup_page(f.mm, m.addr, &pte) == page);
	CHECK_EQ(pte_val(pte), pte_val(pte0));
	CHECK_EQ(folio_ref_count(page_folio(page)), ref);
	CHECK(!folio_test_locked(page_folio(page)));
	s->release_pages(&page, 1, flags);

	/* dropped after the second failed pass: the third moves it */
	CHECK_EQ(migrate_dropping(&f, &m, page, GUP_DP_MIGRATE_RETRY, 2), 0);
	CHECK(!m.ref);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_UNMAPPED], excl ? 1 : 3);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_RETRY], 2);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_RESTORED], excl ? 0 : 2);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_REMAPPED], 1);
	now = mm_lookup_page(f.mm, m.addr, NULL);
	CHECK(now && now != page && page_is_poisoned(page));

	/* dropped at the first restore: the next pass (or batch) moves it */
	page = now;
	CHECK_EQ(migrate_dropping(&f, &m, page, GUP_DP_MIGRATE_RESTORED, 1),
		 0);
	CHECK(!m.ref);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_UNMAPPED], 2);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_RETRY], excl ? 3 : 1);
	CHECK_EQ(m.hits[GUP_DP_MIGRATE_REMAPPED], 1);
	now = mm_lookup_page(f.mm, m.addr, NULL);
	CHECK(now && now != page && page_is_poisoned(page));
	fx_teardown(&f);
}

struct mig_locked {
	struct mig_passes p;	/* passes_hook() counts the retries */
	struct mm_struct *mm;
	int rc;
	struct bg_call call;
};

static void mig_locked_call(void *arg)
{
	struct mig_locked *m = arg;

	gup_thread_register();
	m->rc = mm_migrate_page(m->mm, m->p.addr);
}

/*
 * MIGRATE_ASYNC only trylocks the source: while another holds the page
 * lock its three passes give up at once, and the first sync pass sleeps
 * in folio_lock() until it is let go, then moves the page.
 */
static void case_migrate_async_trylock(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mig_locked m = { .p.addr = FX_ANON + 4 * PAGE_SIZE };
	struct page *page, *now;
	struct fx f;

	fx_setup(&f, s);
	m.mm = f.mm;
	page = fx_page(&f, m.p.addr);
	folio_lock(page_folio(page));
	f.mm->debug_arg = &m.p;
	f.mm->debug_hook = passes_hook;
	m.call = (struct bg_call){ .fn = mig_locked_call, .arg = &m };
	bg_start(&m.call);
	bg_check_waits(&m.call, true, "migration", "the page lock");
	folio_unlock(page_folio(page));
	bg_finish(&m.call, "migration");
	f.mm->debug_hook = NULL;
	CHECK_EQ(m.rc, 0);
	CHECK_EQ(m.p.hits[GUP_DP_MIGRATE_RETRY], 3);
	now = mm_lookup_page(f.mm, m.p.addr, NULL);
	CHECK(now && now != page && page_is_poisoned(page));
	fx_teardown(&f);
}

/*
 * Isolation is exclusive (folio_isolate_lru()'s PG_lru test-and-clear):
 * a second migration of a page the first still holds isolated, its PTE
 * back after a failed batch, fails with -EBUSY at once, taking nothing.
 * The failed migration puts the folio back on the LRU; a moved one's
 * copy is on it.
 */
struct mig_twice {
	struct mm_struct *mm;
	unsigned long addr;
	int hits, rc2, lru_held;
	struct bg_call second;
};

static void mig_second(void *arg)
{
	struct mig_twice *m = arg;

	gup_thread_register();
	m->rc2 = mm_migrate_page(m->mm, m->addr);
}

static void mig_twice_hook(struct mm_struct *mm, enum gup_debug_point dp,
			   unsigned long addr, void *arg)
{
	struct mig_twice *m = arg;

	if (dp != GUP_DP_MIGRATE_RESTORED || addr != m->addr || m->hits++)
		return;
	m->lru_held = test_bit(PG_lru, folio_flags(page_folio(
					mm_lookup_page(mm, addr, NULL))));
	m->second = (struct bg_call){ .fn = mig_second, .arg = m };
	bg_start(&m->second);
	done_within(&m->second.done, 5000);
}

static void case_migrate_isolated(void *arg)
{
	const struct gup_scheme *s = arg;
	struct mig_twice m = { .addr = FX_ANON + 6 * PAGE_SIZE };
	struct folio *folio, *now;
	struct fx f;
	int ref;

	fx_setup(&f, s);
	m.mm = f.mm;
	folio = page_folio(fx_page(&f, m.addr));
	CHECK(test_bit(PG_lru, folio_flags(folio)));
	folio_get(folio);	/* every pass of the first fails */
	ref = folio_ref_count(folio);
	f.mm->debug_arg = &m;
	f.mm->debug_hook = mig_twice_hook;
	CHECK_EQ(mm_migrate_page(f.mm, m.addr), -EAGAIN);
	f.mm->debug_hook = NULL;
	/* a restore per batch (6.3+), per pass before */
	CHECK_EQ(m.hits, (s->features & SF_ANON_EXCL) ? 2 : 10);
	bg_finish(&m.second, "the second migration");
	CHECK_MSG(!m.lru_held, "PG_lru set on an isolated folio");
	CHECK_EQ(m.rc2, -EBUSY);
	CHECK_EQ(folio_ref_count(folio), ref);
	CHECK_MSG(test_bit(PG_lru, folio_flags(folio)),
		  "the failed migration did not put the folio back");
	folio_put(folio);
	CHECK_EQ(mm_migrate_page(f.mm, m.addr), 0);
	now = page_folio(mm_lookup_page(f.mm, m.addr, NULL));
	CHECK(now != folio && test_bit(PG_lru, folio_flags(now)));
	fx_teardown(&f);
}

/* ---- THP ---- */

/*
 * A PMD-mapped THP is pinned with one grab on the head: tails untouched,
 * head _refcount + 512, _pincount (page[1]) + 512 (sameline: the head).
 */
static void case_thp_one_grab(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[512];
	struct folio *folio;
	int ref0, i;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_THP));
	CHECK(folio_test_large(folio));
	ref0 = folio_ref_count(folio);
	CHECK_EQ(s->gup_fast(f.mm, FX_THP, 512, PIN_W, pages, &f.st), 512);
	CHECK_EQ(f.st.fast_pages, 512);
	CHECK_EQ(folio_ref_count(folio), ref0 + 512);
	for (i = 1; i < 512; i++)
		CHECK_EQ(atomic_read(&folio_page(folio, i)->_refcount), 0);
	if (fx_has_pins(s))
		CHECK_EQ(fx_pincount(s, folio), 512);
	if (fx_has_pins(s) && strcmp(s->name, "pincount_sameline"))
		CHECK_EQ(atomic_read(&folio_page(folio, 1)->_pincount), 512);
	s->release_pages(pages, 512, PIN_W);
	CHECK_EQ(folio_ref_count(folio), ref0);
	fx_teardown(&f);
}

/* ---- PMD splits: fork, COW and zap of part of a THP ---- */

/* The THP at FX_THP is PTE-mapped: each PTE maps its own subpage. */
static void check_thp_ptes(struct fx *f, struct folio *folio, bool writable)
{
	struct page *p;
	bool leaf;
	pte_t pte;
	int i;

	CHECK_MSG(mm_find_entry(f->mm, FX_THP, &leaf) && !leaf,
		  "the THP is still PMD-mapped");
	for (i = 0; i < HPAGE_PMD_NR; i++) {
		p = mm_lookup_page(f->mm, FX_THP + i * PAGE_SIZE, &pte);
		CHECK_MSG(p == folio_page(folio, i), "PTE %d maps %p", i,
			  (void *)p);
		CHECK_MSG(pte_write(pte) == writable, "PTE %d write %d", i,
			  pte_write(pte));
		if (writable && (f->s->features & SF_ANON_EXCL))
			CHECK_MSG(test_bit(PG_anon_exclusive, &p->flags),
				  "subpage %d lost PG_anon_exclusive", i);
	}
}

/*
 * fork with a pinned THP (copy_huge_pmd(), 5.9+): the parent's PMD is
 * split, not copied; the parent keeps the same subpages mapped writable
 * (the pins intact) and the child gets a small copy of each subpage.
 * From then on GUP-fast pins the folio one PTE at a time and unpins it in
 * one batch.
 */
static void case_thp_fork_split(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[HPAGE_PMD_NR], *cpage;
	unsigned long copied, shared, splits, free_thp;
	struct mm_struct *child;
	struct folio *folio;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_THP));
	CHECK_EQ(s->gup_fast(f.mm, FX_THP, 512, PIN_W, pages, &f.st), 512);
	page_dma_write(pages[7], 0xd1a);
	splits = thp_split_pmd_events();
	free_thp = mem_nr_free_thp();
	child = mm_fork(f.mm, &copied, &shared);
	CHECK(child);
	CHECK_EQ(thp_split_pmd_events(), splits + 1);
	CHECK_EQ(copied, HPAGE_PMD_NR);
	CHECK_EQ(mem_nr_free_thp(), free_thp);	/* no THP was copied */
	check_thp_ptes(&f, folio, true);
	cpage = mm_lookup_page(child, FX_THP + 7 * PAGE_SIZE, NULL);
	CHECK(cpage && !folio_test_large(page_folio(cpage)));
	CHECK_EQ(cpage->private, 0xd1a);
	s->release_pages(pages, 512, PIN_W);
	/* one reference and one mapping per PTE */
	CHECK_EQ(folio_ref_count(folio), HPAGE_PMD_NR);
	CHECK_EQ(atomic_read(folio_mapcount_ptr(folio)), HPAGE_PMD_NR - 1);
	CHECK(!s->maybe_pinned(folio));

	memset(&f.st, 0, sizeof(f.st));
	CHECK_EQ(s->gup_fast(f.mm, FX_THP, 512, PIN_W, pages, &f.st), 512);
	CHECK_EQ(f.st.fast_pages, 512);
	CHECK_EQ(f.st.slow_calls, 0);
	CHECK(pages[511] == folio_page(folio, 511));
	CHECK(s->maybe_pinned(folio));
	CHECK_EQ(fx_pincount(s, folio), 512);
	s->release_pages(pages, 512, PIN_W);
	CHECK_EQ(folio_ref_count(folio), HPAGE_PMD_NR);
	CHECK_EQ(fx_pincount(s, folio), 0);
	mm_free(child);
	fx_teardown(&f);	/* the last PTE's zap frees the THP */
}

/*
 * A write to a THP that fork shared: do_huge_pmd_wp_page() cannot reuse
 * it, splits the parent's PMD and falls back to the PTE fault, which
 * copies the one subpage written. The other subpages stay mapped, read
 * only, from the same folio; the child keeps its PMD.
 */
static void case_thp_cow_split(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned long free_thp = mem_nr_free_thp();
	struct mm_struct *child;
	struct folio *folio;
	struct page *page, *p;
	bool leaf;
	pte_t pte;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_THP));
	free_thp = mem_nr_free_thp();
	child = mm_fork(f.mm, NULL, NULL);
	CHECK(child);
	CHECK(mm_find_entry(child, FX_THP, &leaf) && leaf);
	CHECK_EQ(folio_ref_count(folio), 2);
	CHECK_EQ(s->gup_fast(f.mm, FX_THP + 5 * PAGE_SIZE, 1, PIN_W, &page,
			     &f.st), 1);
	CHECK_EQ(f.st.cow_copies, 1);
	CHECK(!folio_test_large(page_folio(page)));
	CHECK(fx_page(&f, FX_THP + 5 * PAGE_SIZE) == page);
	CHECK(mm_find_entry(f.mm, FX_THP, &leaf) && !leaf);
	p = mm_lookup_page(f.mm, FX_THP + 6 * PAGE_SIZE, &pte);
	CHECK(p == folio_page(folio, 6) && !pte_write(pte));
	CHECK(mm_lookup_page(child, FX_THP + 5 * PAGE_SIZE, NULL) ==
	      folio_page(folio, 5));
	/* the child's PMD and the parent's other 511 PTEs */
	CHECK_EQ(folio_ref_count(folio), HPAGE_PMD_NR);
	CHECK_EQ(atomic_read(folio_mapcount_ptr(folio)), HPAGE_PMD_NR - 1);
	CHECK_EQ(mem_nr_free_thp(), free_thp);
	release(&f, &page, 1, PIN_W);
	mm_free(child);
	CHECK_EQ(folio_ref_count(folio), HPAGE_PMD_NR - 1);
	fx_teardown(&f);
}

/*
 * MADV_DONTNEED of one subpage of a PMD-mapped THP (zap_pmd_range()):
 * the PMD is split into its deposited table and only that PTE goes; the
 * next touch faults a small page in. A zap of a whole THP frees its
 * deposited table with it.
 */
static void case_thp_partial_zap(void *arg)
{
	const struct gup_scheme *s = arg;
	struct folio *folio;
	struct page *p;
	long tables;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_THP));
	tables = atomic_long_read(&f.mm->nr_tables);
	mm_zap_range(f.mm, FX_THP + 9 * PAGE_SIZE, PAGE_SIZE);
	CHECK(mm_lookup_page(f.mm, FX_THP + 9 * PAGE_SIZE, NULL) == NULL);
	CHECK(fx_page(&f, FX_THP + 10 * PAGE_SIZE) == folio_page(folio, 10));
	CHECK(fx_page(&f, FX_THP + 8 * PAGE_SIZE) == folio_page(folio, 8));
	CHECK_EQ(folio_ref_count(folio), HPAGE_PMD_NR - 1);
	CHECK_EQ(atomic_read(folio_mapcount_ptr(folio)), HPAGE_PMD_NR - 2);
	CHECK_MSG(atomic_long_read(&f.mm->nr_tables) == tables,
		  "the split allocated a table (%ld, was %ld)",
		  atomic_long_read(&f.mm->nr_tables), tables);
	CHECK_EQ(mm_populate(f.mm, FX_THP + 9 * PAGE_SIZE, PAGE_SIZE), 0);
	p = fx_page(&f, FX_THP + 9 * PAGE_SIZE);
	CHECK(!folio_test_large(page_folio(p)));
	mm_zap_range(f.mm, FX_THP, PMD_SIZE);
	CHECK_EQ(mem_nr_free_thp(), FX_NR_THP);

	CHECK_EQ(mm_mmap(f.mm, FX_THP2, PMD_SIZE, VM_WRITE | VM_HUGEPAGE), 0);
	CHECK_EQ(mm_populate(f.mm, FX_THP2, PMD_SIZE), 0);
	tables = atomic_long_read(&f.mm->nr_tables);
	CHECK_EQ(mem_nr_free_thp(), FX_NR_THP - 1);
	mm_zap_range(f.mm, FX_THP2, PMD_SIZE);
	CHECK_EQ(mem_nr_free_thp(), FX_NR_THP);
	CHECK_MSG(atomic_long_read(&f.mm->nr_tables) == tables - 1,
		  "the deposited table was not freed with the THP");
	fx_teardown(&f);
}

/*
 * A write to the last mapped subpage of a split THP that fork had
 * shared: the 5.9 rule reuses it (page_count() is the folio's, 1 now),
 * 6.x (anonexcl) never reuses a subpage of a large folio and copies.
 */
static void case_thp_last_subpage(void *arg)
{
	const struct gup_scheme *s = arg;
	bool anonexcl = s->features & SF_ANON_EXCL;
	struct mm_struct *child;
	struct folio *folio;
	struct page *page;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_THP));
	child = mm_fork(f.mm, NULL, NULL);
	CHECK(child);
	mm_free(child);		/* the PMD stays read-only, not exclusive */
	mm_zap_range(f.mm, FX_THP + PAGE_SIZE, PMD_SIZE - PAGE_SIZE);
	CHECK_EQ(folio_ref_count(folio), 1);
	CHECK_EQ(atomic_read(folio_mapcount_ptr(folio)), 0);
	CHECK_EQ(s->gup_fast(f.mm, FX_THP, 1, PIN_W, &page, &f.st), 1);
	CHECK_EQ(f.st.cow_copies, anonexcl ? 1 : 0);
	CHECK_MSG((page == &folio->page) == !anonexcl, "%s the subpage",
		  anonexcl ? "reused" : "copied");
	release(&f, &page, 1, PIN_W);
	fx_teardown(&f);
}

/* ---- khugepaged: MADV_COLLAPSE ---- */

/*
 * Split the fixture's THP by a zap of subpage 9 and fault a small page in
 * there: the range is PTE-mapped, 511 subpages of the large folio and one
 * small page. Returns the large folio.
 */
static struct folio *fx_split_thp(struct fx *f)
{
	struct folio *folio = page_folio(fx_page(f, FX_THP));

	mm_zap_range(f->mm, FX_THP + 9 * PAGE_SIZE, PAGE_SIZE);
	CHECK_EQ(mm_populate(f->mm, FX_THP + 9 * PAGE_SIZE, PAGE_SIZE), 0);
	CHECK(!folio_test_large(page_folio(fx_page(f, FX_THP +
						     9 * PAGE_SIZE))));
	return folio;
}

/*
 * collapse_huge_page() of a PTE-mapped range: a new THP mapped by a
 * writable PMD leaf, every page's contents copied, the old table
 * deposited (no table allocated or freed), the old folios freed. Then
 * GUP-fast takes it with one grab, and a second collapse has nothing to
 * do.
 */
static void case_collapse(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned long old_pfn[HPAGE_PMD_NR], collapses;
	struct page *small, *p, *pages[2];
	struct folio *old, *new;
	long tables;
	bool leaf;
	pte_t pte;
	int i;
	struct fx f;

	fx_setup(&f, s);
	old = fx_split_thp(&f);
	small = fx_page(&f, FX_THP + 9 * PAGE_SIZE);
	for (i = 0; i < HPAGE_PMD_NR; i++)
		page_dma_write(fx_page(&f, FX_THP + i * PAGE_SIZE), 0x1000 + i);
	tables = atomic_long_read(&f.mm->nr_tables);
	collapses = thp_collapse_events();
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_THP + 5 * PAGE_SIZE, old_pfn),
		 0);
	CHECK_EQ(thp_collapse_events(), collapses + 1);
	CHECK_MSG(mm_find_entry(f.mm, FX_THP, &leaf) && leaf,
		  "the range is not PMD-mapped after the collapse");
	p = mm_lookup_page(f.mm, FX_THP, &pte);
	CHECK(p);
	new = page_folio(p);
	CHECK(new != old && folio_test_large(new));
	CHECK(pmd_write(__pmd(pte_val(pte))));
	for (i = 0; i < HPAGE_PMD_NR; i++) {
		CHECK_MSG(READ_ONCE(folio_page(new, i)->private) ==
			  0x1000UL + i, "subpage %d not copied", i);
		CHECK_EQ(old_pfn[i], page_to_pfn(i == 9 ? small :
						 folio_page(old, i)));
	}
	CHECK_MSG(page_is_poisoned(&old->page) && page_is_poisoned(small),
		  "the collapsed folios were not freed");
	CHECK_EQ(folio_ref_count(new), 1);
	CHECK_EQ(atomic_read(folio_mapcount_ptr(new)), 0);
	CHECK_EQ(test_bit(PG_anon_exclusive, folio_flags(new)),
		 !!(s->features & SF_ANON_EXCL));
	CHECK_EQ(atomic_long_read(&f.mm->nr_tables), tables);
	CHECK_EQ(mem_nr_free_thp(), FX_NR_THP - 1);

	CHECK_EQ(s->gup_fast(f.mm, FX_THP, 2, PIN_W, pages, &f.st), 2);
	CHECK(pages[0] == &new->page && pages[1] == folio_page(new, 1));
	s->release_pages(pages, 2, PIN_W);
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_THP, NULL), 0);
	CHECK_EQ(thp_collapse_events(), collapses + 1);
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_ANON, NULL), -EINVAL);
	fx_teardown(&f);
}

/*
 * madvise(MADV_HUGEPAGE) of a small-page anon VMA (what bench's collapse
 * competitor does after populating): refused unless the VMA is whole,
 * PMD-aligned and private; it changes no PTE; then MADV_COLLAPSE takes
 * the range, copying the present pages and zero-filling the holes.
 */
static void case_madvise_hugepage(void *arg)
{
	const unsigned long base = 0x80000000UL;
	const struct gup_scheme *s = arg;
	struct page *p0;
	bool leaf;
	struct fx f;

	fx_setup(&f, s);
	CHECK_EQ(mm_mmap(f.mm, base, PMD_SIZE, VM_WRITE), 0);
	CHECK_EQ(mm_populate(f.mm, base, 2 * PAGE_SIZE), 0);
	CHECK_EQ(mm_populate(f.mm, base + 300 * PAGE_SIZE, PAGE_SIZE), 0);
	p0 = fx_page(&f, base);
	page_dma_write(p0, 0x77);
	page_dma_write(fx_page(&f, base + 300 * PAGE_SIZE), 0x300);
	CHECK_EQ(mm_collapse_huge_page(f.mm, base, NULL), -EINVAL);
	CHECK_EQ(mm_madvise_hugepage(f.mm, base, PAGE_SIZE), -EINVAL);
	CHECK_EQ(mm_madvise_hugepage(f.mm, FX_ANON, FX_ANON_PAGES * PAGE_SIZE),
		 -EINVAL);
	CHECK_EQ(mm_madvise_hugepage(f.mm, FX_SHARED,
				     FX_SHARED_PAGES * PAGE_SIZE), -EINVAL);
	CHECK_EQ(mm_madvise_hugepage(f.mm, base, PMD_SIZE), 0);
	CHECK(vma_lookup(f.mm, base)->vm_flags & VM_HUGEPAGE);
	CHECK(fx_page(&f, base) == p0 && !folio_test_large(page_folio(p0)));
	CHECK(mm_find_entry(f.mm, base, &leaf) && !leaf);
	CHECK(!mm_lookup_page(f.mm, base + 2 * PAGE_SIZE, NULL));
	CHECK_EQ(mm_collapse_huge_page(f.mm, base + 5 * PAGE_SIZE, NULL), 0);
	CHECK(mm_find_entry(f.mm, base, &leaf) && leaf);
	CHECK(folio_test_large(page_folio(fx_page(&f, base))));
	CHECK_EQ(READ_ONCE(fx_page(&f, base)->private), 0x77UL);
	CHECK_EQ(READ_ONCE(fx_page(&f, base + 300 * PAGE_SIZE)->private),
		 0x300UL);
	CHECK_EQ(READ_ONCE(fx_page(&f, base + 2 * PAGE_SIZE)->private), 0UL);
	CHECK_MSG(page_is_poisoned(p0), "the collapsed page was not freed");
	fx_teardown(&f);
}

/*
 * What keeps a range from being collapsed: a pin or GUP reference and a
 * speculative reference (is_refcount_suitable(): -EAGAIN, the PMD put
 * back to the same table), another mm mapping the pages (the model's
 * refusal, -EINVAL) and no writable PTE (SCAN_PAGE_RO, -EINVAL).
 */
static void case_collapse_refused(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	struct mm_struct *child;
	struct folio *old, *spec;
	struct page *page;
	pmd_t *pmdp;
	pmd_t pmd0;
	struct fx f;

	fx_setup(&f, s);
	old = fx_split_thp(&f);
	pmdp = mm_find_pmd(f.mm, FX_THP, false);
	pmd0 = pmdp_get(pmdp);
	CHECK_EQ(s->gup_fast(f.mm, FX_THP + 9 * PAGE_SIZE, 1, flags, &page,
			     &f.st), 1);
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_THP, NULL), -EAGAIN);
	CHECK_EQ(pmd_val(pmdp_get(pmdp)), pmd_val(pmd0));
	CHECK(fx_page(&f, FX_THP + 9 * PAGE_SIZE) == page);
	CHECK(!folio_test_locked(page_folio(page)) && !folio_test_locked(old));
	s->release_pages(&page, 1, flags);

	spec = spec_get_folio(f.mm, FX_THP + 3 * PAGE_SIZE);
	CHECK(spec == old);
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_THP, NULL), -EAGAIN);
	folio_put(spec);

	child = mm_fork(f.mm, NULL, NULL);
	CHECK(child);
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_THP, NULL), -EINVAL);
	mm_free(child);
	/* fork write-protected every PTE */
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_THP, NULL), -EINVAL);
	CHECK_EQ(pmd_val(pmdp_get(pmdp)), pmd_val(pmd0));
	CHECK_EQ(mm_populate(f.mm, FX_THP, PAGE_SIZE), 0);	/* a write */
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_THP, NULL), 0);
	fx_teardown(&f);
}

struct coll_walk {
	const struct gup_scheme *s;
	struct mm_struct *mm;
	unsigned int flags;
	int in_walk, walk_done, cleared_after_walk;
	int reads, ends, clears;
	struct page *page;
	long got;
	struct gup_stats st;
};

static void coll_walk_hook(struct mm_struct *mm, enum gup_debug_point dp,
			   unsigned long addr, void *arg)
{
	struct coll_walk *c = arg;

	if (dp == GUP_DP_FAST_AFTER_READ && !c->reads++) {
		__atomic_store_n(&c->in_walk, 1, __ATOMIC_RELEASE);
		usleep(50000);	/* the collapse clears the PMD meanwhile */
	} else if (dp == GUP_DP_FAST_END && !c->ends++) {
		__atomic_store_n(&c->walk_done, 1, __ATOMIC_RELEASE);
	} else if (dp == GUP_DP_COLLAPSE_CLEARED && !c->clears++) {
		c->cleared_after_walk =
			__atomic_load_n(&c->walk_done, __ATOMIC_ACQUIRE);
	}
}

static void *coll_walker(void *arg)
{
	struct coll_walk *c = arg;

	gup_thread_register();
	c->got = c->s->gup_fast(c->mm, FX_THP + 3 * PAGE_SIZE, 1, c->flags,
				&c->page, &c->st);
	vmstat_flush_thread();
	return NULL;
}

/*
 * GUP-fast against a collapse (§3.5): a walk that read the PTE before
 * the PMD was cleared is waited for by tlb_remove_table_sync_one()
 * (2ba99c5e0881) before any page is isolated, and its PMD recheck
 * (70cbc3cc78a9) sees the cleared PMD: it backs off, the collapse
 * succeeds, and the slow path pins the new THP's subpage.
 */
static void case_collapse_vs_gup_fast(void *arg)
{
	const struct gup_scheme *s = arg;
	struct coll_walk c = {
		.s = s,
		.flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE,
	};
	struct folio *old, *new;
	pthread_t thr;
	int i;
	struct fx f;

	fx_setup(&f, s);
	old = fx_split_thp(&f);
	c.mm = f.mm;
	f.mm->debug_arg = &c;
	f.mm->debug_hook = coll_walk_hook;
	pthread_create(&thr, NULL, coll_walker, &c);
	for (i = 0; i < 5000 && !__atomic_load_n(&c.in_walk, __ATOMIC_ACQUIRE);
	     i++)
		usleep(1000);
	CHECK(c.in_walk);
	CHECK_EQ(mm_collapse_huge_page(f.mm, FX_THP, NULL), 0);
	pthread_join(thr, NULL);
	f.mm->debug_hook = NULL;
	CHECK_MSG(c.cleared_after_walk, "the collapse went on while a "
		  "GUP-fast walk under the old PMD was still running");
	CHECK_EQ(c.got, 1);
	CHECK_MSG(c.st.fast_undo == 1, "the PMD recheck did not back off "
		  "(fast_undo %lu)", (unsigned long)c.st.fast_undo);
	new = page_folio(fx_page(&f, FX_THP));
	CHECK(new != old);
	CHECK_MSG(c.page == folio_page(new, 3), "the pin is not on the new "
		  "THP's subpage");
	s->release_pages(&c.page, 1, c.flags);
	fx_teardown(&f);
}


static void split_hook(struct mm_struct *mm, enum gup_debug_point dp,
		       unsigned long addr, void *arg)
{
	int *hits = arg;

	if (dp == GUP_DP_FAST_AFTER_GRAB && !(*hits)++)
		split_huge_pmd(mm, mm_find_pmd(mm, addr, false));
}

/*
 * GUP-fast grabbed a THP through its PMD, then the PMD was split: the
 * PMD recheck undoes the grab and the slow path pins the same subpages
 * through the new PTEs.
 */
static void case_thp_split_recheck(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[HPAGE_PMD_NR];
	struct folio *folio;
	int hits = 0, i;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_THP));
	f.mm->debug_arg = &hits;
	f.mm->debug_hook = split_hook;
	CHECK_EQ(s->gup_fast(f.mm, FX_THP, 512, PIN_W, pages, &f.st), 512);
	f.mm->debug_hook = NULL;
	CHECK_EQ(hits, 1);
	CHECK_EQ(f.st.fast_undo, 1);
	CHECK_EQ(f.st.slow_calls, 1);
	for (i = 0; i < HPAGE_PMD_NR; i++)
		CHECK_MSG(pages[i] == folio_page(folio, i), "page %d", i);
	check_thp_ptes(&f, folio, true);
	release(&f, pages, 512, PIN_W);
	CHECK_EQ(folio_ref_count(folio), HPAGE_PMD_NR);
	CHECK(!s->maybe_pinned(folio));
	fx_teardown(&f);
}

/* ---- ZONE_DEVICE ---- */

/*
 * devmap: pgmap references balance. perget holds one per pinned page,
 * walk none after the walk returns, single none from GUP (pages hold
 * theirs); all return to the baseline after unpin.
 */
static void case_devmap_balance(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[FX_DEV_PAGES];
	long base, during;
	struct fx f;

	fx_setup(&f, s);
	base = percpu_ref_sum(&mem_pgmap->ref);
	CHECK_EQ(s->gup_fast(f.mm, FX_DEV, FX_DEV_PAGES, PIN_W, pages, &f.st),
		 FX_DEV_PAGES);
	CHECK_EQ(f.st.fast_pages, FX_DEV_PAGES);
	during = percpu_ref_sum(&mem_pgmap->ref);
	if (!strcmp(s->name, "devmap_perget"))
		CHECK_EQ(during, base + FX_DEV_PAGES);
	else
		CHECK_EQ(during, base);
	s->release_pages(pages, FX_DEV_PAGES, PIN_W);
	CHECK_EQ(percpu_ref_sum(&mem_pgmap->ref), base);
	/*
	 * The same page pinned twice, unpinned in one batch: unpin_user_pages()
	 * puts both refs of the folio at once, and perget's pgmap refs must
	 * follow the page refs (put_many), not the calls.
	 */
	CHECK_EQ(s->gup_fast(f.mm, FX_DEV, 1, PIN_W, pages, &f.st), 1);
	CHECK_EQ(s->gup_fast(f.mm, FX_DEV, 1, PIN_W, pages + 1, &f.st), 1);
	if (!strcmp(s->name, "devmap_perget"))
		CHECK_EQ(percpu_ref_sum(&mem_pgmap->ref), base + 2);
	s->release_pages(pages, 2, PIN_W);
	CHECK_EQ(percpu_ref_sum(&mem_pgmap->ref), base);
	fx_teardown(&f);
}

/*
 * 4.5's pgmap->ref is a pointer to the driver's ref: devmap_perget's
 * gets and puts (the walk's, get_page()'s and put_page()'s) follow it.
 * Pointed at another ref, that one moves and the pgmap's own does not.
 */
static void case_devmap_perget_ref_pointer(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[FX_DEV_PAGES];
	static struct percpu_ref other;	/* per-CPU slots: too big for a stack */
	long own, base;
	struct fx f;

	fx_setup(&f, s);
	percpu_ref_init(&other);
	base = percpu_ref_sum(&other);
	own = percpu_ref_sum(&mem_pgmap->ref);
	mem_pgmap->ref_v45 = &other;
	CHECK_EQ(s->gup_fast(f.mm, FX_DEV, FX_DEV_PAGES, PIN_W, pages, &f.st),
		 FX_DEV_PAGES);
	CHECK_EQ(percpu_ref_sum(&other), base + FX_DEV_PAGES);
	CHECK_EQ(percpu_ref_sum(&mem_pgmap->ref), own);
	s->release_pages(pages, FX_DEV_PAGES, PIN_W);
	CHECK_EQ(percpu_ref_sum(&other), base);
	mem_pgmap->ref_v45 = &mem_pgmap->ref;
	fx_teardown(&f);
}

/*
 * A dying pgmap (percpu_ref_kill): perget's and walk's GUP undo what
 * they took and fail; single's pages keep the pgmap alive until the
 * last pinned page is put, then it reaches zero.
 */
static void case_devmap_dying(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *pages[FX_DEV_PAGES];
	int ref0 = 0, ref_after;
	long got;
	struct fx f;

	fx_setup(&f, s);
	if (!strcmp(s->name, "devmap_single")) {
		CHECK_EQ(s->gup_fast(f.mm, FX_DEV, 1, PIN_W, pages, &f.st), 1);
		mm_zap_range(f.mm, FX_DEV, FX_DEV_PAGES * PAGE_SIZE);
		mem_devmap_teardown();
		CHECK(!percpu_ref_is_zero(&mem_pgmap->ref));
		s->release_pages(pages, 1, PIN_W);
		CHECK(percpu_ref_is_zero(&mem_pgmap->ref));
		fx_teardown(&f);
		return;
	}
	ref0 = folio_ref_count(page_folio(fx_page(&f, FX_DEV)));
	mem_devmap_teardown();
	got = s->gup_fast(f.mm, FX_DEV, FX_DEV_PAGES, PIN_W, pages, &f.st);
	CHECK_MSG(got <= 0, "pinned %ld pages of a dying device", got);
	ref_after = folio_ref_count(page_folio(fx_page(&f, FX_DEV)));
	CHECK_EQ(ref_after, ref0);
	CHECK(percpu_ref_is_zero(&mem_pgmap->ref));
	fx_teardown(&f);
}

/*
 * GUP-fast marks every folio it returns referenced (folio_set_referenced,
 * an atomic RMW on ->flags): small pages, the THP head, device pages.
 * The calibration scheme (the walk without atomics) does not.
 */
static void case_referenced(void *arg)
{
	static const unsigned long addrs[] = {
		FX_ANON + 3 * PAGE_SIZE, FX_THP + 5 * PAGE_SIZE, FX_DEV,
		FX_SHARED,
	};
	const struct gup_scheme *s = arg;
	bool want = !(s->features & SF_CALIBRATION);
	struct page *pages[1];
	unsigned int i;
	struct fx f;

	fx_setup(&f, s);
	for (i = 0; i < ARRAY_SIZE(addrs); i++) {
		struct folio *folio = page_folio(fx_page(&f, addrs[i]));

		folio_clear_referenced(folio);
		CHECK_EQ(s->gup_fast(f.mm, addrs[i], 1, PIN_W, pages, &f.st),
			 1);
		CHECK_MSG(folio_test_referenced(folio) == want,
			  "addr %#lx: PG_referenced %d", addrs[i],
			  folio_test_referenced(folio));
		release(&f, pages, 1, PIN_W);
	}
	CHECK_EQ(f.st.slow_calls, 0);
	fx_teardown(&f);
}

/*
 * The slow path runs with FOLL_TOUCH: follow_page_pte() calls
 * folio_mark_accessed() on the folio it returns. The first lookup sets
 * PG_referenced, the second activates the folio and clears it, the third
 * sets it again and then an active, referenced folio stays as it is. A
 * ZONE_DEVICE page is never activated: it toggles PG_referenced.
 */
static void case_mark_accessed(void *arg)
{
	static const struct {
		unsigned long addr;
		bool dev;
	} at[] = { { FX_ANON + 2 * PAGE_SIZE, false }, { FX_SHARED, false },
		   { FX_DEV, true } };
	const struct gup_scheme *s = arg;
	struct page *pages[1];
	unsigned int i, n;
	struct fx f;

	fx_setup(&f, s);
	for (i = 0; i < ARRAY_SIZE(at); i++) {
		struct folio *folio = page_folio(fx_page(&f, at[i].addr));
		unsigned long *fl = folio_flags(folio);

		clear_bit(PG_referenced, fl);
		clear_bit(PG_active, fl);
		for (n = 1; n <= 4; n++) {
			bool ref = at[i].dev ? n & 1 : n != 2;
			bool act = !at[i].dev && n >= 2;

			CHECK_EQ(s->gup(f.mm, at[i].addr, 1, PIN_W, pages,
					&f.st), 1);
			CHECK_MSG(test_bit(PG_referenced, fl) == ref &&
				  test_bit(PG_active, fl) == act,
				  "addr %#lx, lookup %u: PG_referenced %d "
				  "PG_active %d, want %d %d", at[i].addr, n,
				  test_bit(PG_referenced, fl),
				  test_bit(PG_active, fl), ref, act);
			release(&f, pages, 1, PIN_W);
		}
	}
	fx_teardown(&f);
}

/*
 * gup_fast_folio_allowed(): a small folio whose ->mapping is gone
 * (truncated under us) is handed to the slow path; a long-term writable
 * pin of a shared (dirty-tracked file) page falls back and the slow
 * path refuses it; anon pages pin long-term on the fast path (pin
 * schemes only: FOLL_LONGTERM goes with FOLL_PIN).
 */
static void case_folio_allowed(void *arg)
{
	const unsigned int lt = PIN_W | FOLL_LONGTERM;
	const struct gup_scheme *s = arg;
	struct page *pages[1];
	struct folio *folio;
	void *mapping;
	long got;
	int ref0;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_SHARED));
	mapping = folio->page.mapping;
	folio->page.mapping = NULL;
	CHECK_EQ(s->gup_fast(f.mm, FX_SHARED, 1, PIN_W, pages, &f.st), 1);
	CHECK_EQ(f.st.fast_pages, 0);
	CHECK_EQ(f.st.fast_undo, 1);
	CHECK_EQ(f.st.slow_calls, 1);
	release(&f, pages, 1, PIN_W);
	folio->page.mapping = mapping;
	if (!fx_has_pins(s))
		goto out;	/* FOLL_LONGTERM is a FOLL_PIN flag */

	memset(&f.st, 0, sizeof(f.st));
	ref0 = folio_ref_count(folio);
	CHECK_EQ(s->gup_fast(f.mm, FX_SHARED, 1, lt, pages, &f.st), -EFAULT);
	CHECK_EQ(f.st.fast_pages, 0);
	CHECK_EQ(folio_ref_count(folio), ref0);

	memset(&f.st, 0, sizeof(f.st));
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, lt, pages, &f.st), 1);
	CHECK_EQ(f.st.fast_pages, 1);
	release(&f, pages, 1, lt);

	/*
	 * A folio that may not be pinned long-term (PG_device standing in
	 * for ZONE_MOVABLE or CMA behind a plain PTE): every scheme's
	 * GUP-fast grab drops what it took and leaves it to the slow path
	 * (where the kernel would migrate it; the model's, with
	 * nothing to migrate out of, pins it in place: not asserted); a
	 * short-term pin of it stays on the fast path. (The devmap
	 * schemes would take a pgmap ref for a PG_device page: theirs sit
	 * behind devmap PTEs, which bail before the grab.)
	 */
	if (s->features & SF_DEVMAP)
		goto out;
	folio = page_folio(fx_page(&f, FX_ANON));
	ref0 = folio_ref_count(folio);
	/* a ZONE_DEVICE page has a pgmap (the grab's P2PDMA test reads it) */
	folio->page.pgmap = fx_page(&f, FX_DEV)->pgmap;
	set_bit(PG_device, folio_flags(folio));
	memset(&f.st, 0, sizeof(f.st));
	got = s->gup_fast(f.mm, FX_ANON, 1, lt, pages, &f.st);
	CHECK_EQ(f.st.fast_pages, 0);
	CHECK_EQ(f.st.slow_calls, 1);
	release(&f, pages, got, lt);
	memset(&f.st, 0, sizeof(f.st));
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, pages, &f.st), 1);
	CHECK_EQ(f.st.fast_pages, 1);
	clear_bit(PG_device, folio_flags(folio));
	folio->page.pgmap = NULL;
	release(&f, pages, 1, PIN_W);
	CHECK_EQ(folio_ref_count(folio), ref0);
out:
	fx_teardown(&f);
}

/*
 * The pfn -> pgmap lookup (xa_load(&pgmap_array) for devmap_walk, 4.5's
 * section radix tree for devmap_perget) finds the pgmap for every pfn of
 * the device's physical range and nothing beside it (4.5: nothing
 * outside its sections), for ranges that end on, just before and just
 * after the tree's 64-way boundaries. The range starts at 64 GiB
 * physical (pfn 2^24, under a head node of shift 24), so a 4096-page
 * range is one entry at shift 12 (3 levels), a 1-page range one at
 * shift 0 (5 levels), a 4097-page range both; the default 16 GiB namespace is 16 slots of a
 * shift-18 node (2 levels), whatever the number of device pages.
 */
static void case_pgmap_lookup(void *arg)
{
	static const struct {
		unsigned long phys;		/* 0: the default namespace */
		unsigned long nr;		/* device pages */
		unsigned int depth_first;	/* levels for the first pfn */
		unsigned int depth_last;	/* and for the last */
	} sizes[] = {
		{ 1, 1, 5, 5 }, { 2, 2, 5, 5 }, { 63, 63, 5, 5 },
		{ 64, 64, 4, 4 }, { 65, 65, 4, 5 }, { 4095, 4095, 4, 5 },
		{ 4096, 4096, 3, 3 }, { 4097, 4097, 3, 5 },
		{ 5000, 5000, 3, 5 }, { 262144 + 7, 262144 + 7, 2, 5 },
		{ 0, 1, 2, 2 }, { 0, 4097, 2, 2 },
	};
	unsigned int i;

	(void)arg;
	gup_thread_register();
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct mem_config cfg = {
			.nr_small = 16, .nr_device = sizes[i].nr,
			.dev_phys_pages = sizes[i].phys,
		};
		unsigned long phys = sizes[i].phys ?: DEVMAP_PHYS_PAGES;
		unsigned long pfn, start, end, bad = 0, bad45 = 0;

		CHECK_EQ(mem_init(&cfg), 0);
		start = mem_pgmap->start_pfn;
		end = mem_pgmap->end_pfn;
		CHECK_EQ(end - start, sizes[i].nr);
		for (pfn = start - 1; pfn <= end; pfn++) {
			bool in = pfn >= start && pfn - start < phys;
			/* 4.5 keyed whole 128 MiB sections (2^15 pfns) */
			unsigned long sec = (pfn - start + DEVMAP_PHYS_PFN) >> 15;
			bool in45 = sec >= DEVMAP_PHYS_PFN >> 15 &&
				    sec <= (DEVMAP_PHYS_PFN + phys - 1) >> 15;
			struct dev_pagemap *pg = get_dev_pagemap(pfn, NULL);
			struct dev_pagemap *pg45 = get_dev_pagemap_v45(pfn,
								       NULL);

			bad += pg != (in ? mem_pgmap : NULL);
			bad45 += pg45 != (in45 ? mem_pgmap : NULL);
			put_dev_pagemap(pg);
			put_dev_pagemap(pg45);
		}
		CHECK_MSG(pgmap_lookup_depth(start) == sizes[i].depth_first &&
			  pgmap_lookup_depth(start + phys - 1) ==
			  sizes[i].depth_last, "%lu-page range: first and last "
			  "pfn %u and %u levels, want %u and %u", phys,
			  pgmap_lookup_depth(start),
			  pgmap_lookup_depth(start + phys - 1),
			  sizes[i].depth_first, sizes[i].depth_last);
		CHECK_MSG(!bad && !bad45, "%lu-page range: %lu wrong xa_load, "
			  "%lu wrong 4.5 lookups", phys, bad, bad45);
		/* every lookup's reference was put */
		CHECK_EQ(percpu_ref_sum(&mem_pgmap->ref), 1);
		CHECK(!get_dev_pagemap(0, NULL));
		mem_exit();
	}
}

/*
 * A FOLL_PIN call marks the mm for fork; a FOLL_GET does not. Today's
 * schemes set MMF_HAS_PINNED; bias1 (5.9-5.12) stores mm->has_pinned
 * on every call and leaves the flags word alone. The store is told from
 * "set if not set" by a value neither writes: 2 is overwritten by a
 * store, kept by a read-first set. Which scheme is which is the kernel
 * history's, by name, not the scheme's own feature bits.
 */
static void case_has_pinned(void *arg)
{
	const struct gup_scheme *s = arg;
	bool store = !strcmp(s->name, "bias1");
	struct page *got;
	struct fx f;

	fx_setup(&f, s);
	CHECK(!mm_has_pinned(f.mm));
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, FOLL_GET, &got, &f.st), 1);
	s->release_pages(&got, 1, FOLL_GET);
	CHECK(!mm_has_pinned(f.mm));
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, &got, &f.st), 1);
	CHECK(mm_has_pinned(f.mm));
	CHECK_EQ(atomic_read(&f.mm->has_pinned), store ? 1 : 0);
	CHECK_EQ(test_bit(MMF_HAS_PINNED, &f.mm->flags), !store);
	s->release_pages(&got, 1, PIN_W);
	CHECK(mm_has_pinned(f.mm));	/* for good, as in the kernel */
	if (store) {
		/* every call stores, the fast path's and the slow path's */
		atomic_set(&f.mm->has_pinned, 2);
		CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, &got, &f.st), 1);
		CHECK_EQ(atomic_read(&f.mm->has_pinned), 1);
		s->release_pages(&got, 1, PIN_W);
		atomic_set(&f.mm->has_pinned, 2);
		CHECK_EQ(s->gup(f.mm, FX_ANON, 1, PIN_W, &got, &f.st), 1);
		CHECK_EQ(atomic_read(&f.mm->has_pinned), 1);
		s->release_pages(&got, 1, PIN_W);
	}
	fx_teardown(&f);
}

/*
 * NR_FOLL_PIN_ACQUIRED/RELEASED: every pin and unpin goes through
 * mod_node_page_state(); the per-CPU differential reaches the node's
 * counter only when it passes the threshold (all of it at once, as
 * mod_node_state() with overstep 0 does).
 */
static void case_vmstat(void *arg)
{
	const struct gup_scheme *s = arg;
	struct pglist_data *pgdat = node_data[0];
	int t = vmstat_threshold(), i;
	struct page *pages[1];
	long acq0, rel0;
	struct fx f;

	fx_setup(&f, s);
	vmstat_flush_thread();
	CHECK(t >= 1 && t <= 125);
	acq0 = atomic_long_read(&pgdat->vm_stat[NR_FOLL_PIN_ACQUIRED]);
	rel0 = atomic_long_read(&pgdat->vm_stat[NR_FOLL_PIN_RELEASED]);

	for (i = 0; i < t; i++)
		CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, pages, &f.st), 1);
	CHECK_EQ(atomic_long_read(&pgdat->vm_stat[NR_FOLL_PIN_ACQUIRED]),
		 acq0);
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, pages, &f.st), 1);
	CHECK_EQ(atomic_long_read(&pgdat->vm_stat[NR_FOLL_PIN_ACQUIRED]),
		 acq0 + t + 1);
	CHECK_EQ(vmstat_foll_pin_balance(), t + 1);
	for (i = 0; i <= t; i++)
		release(&f, pages, 1, PIN_W);
	CHECK_EQ(atomic_long_read(&pgdat->vm_stat[NR_FOLL_PIN_RELEASED]),
		 rel0 + t + 1);
	CHECK_EQ(vmstat_foll_pin_balance(), 0);
	fx_teardown(&f);
}

/*
 * pincount's order-0 counters live in packed page_ext entries found
 * through mem_section (lookup_page_ext()): consecutive pfns 4 bytes
 * apart, sixteen to a cache line, outside every struct page.
 */
static void case_page_ext_layout(void *arg)
{
	const struct gup_scheme *s = arg;
	struct page *page;
	char *a, *b;
	struct fx f;

	fx_setup(&f, s);
	page = fx_page(&f, FX_ANON);
	a = (char *)page_ext_get(page);
	b = (char *)page_ext_get(page + 1);
	CHECK(a && b);
	CHECK_EQ(b - a, 4);
	CHECK_EQ((char *)page_ext_get(pfn_to_page(0)), (char *)page_ext_map);
	CHECK_EQ((char *)page_ext_get(pfn_to_page(max_pfn - 1)) -
		 (char *)page_ext_map, (long)(max_pfn - 1) * 4);
	CHECK((void *)a < (void *)vmemmap ||
	      (void *)a >= (void *)(vmemmap + max_pfn));
	fx_teardown(&f);
}

/*
 * A section whose page_ext is marked PAGE_EXT_INVALID (going offline)
 * has none: page_ext_get() answers NULL, as lookup_page_ext() does, and
 * page_ext_put(NULL) is a no-op.
 */
static void case_page_ext_invalid(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned long nr, saved;
	struct mem_section *ms;
	struct page *page;
	struct fx f;

	fx_setup(&f, s);
	page = fx_page(&f, FX_ANON);
	nr = page_to_pfn(page) >> PFN_SECTION_SHIFT;
	ms = &mem_section[nr / SECTIONS_PER_ROOT][nr % SECTIONS_PER_ROOT];
	CHECK(page_ext_get(page) != NULL);
	saved = ms->page_ext;
	ms->page_ext = saved | PAGE_EXT_INVALID;
	CHECK(page_ext_get(page) == NULL);
	page_ext_put(NULL);
	ms->page_ext = saved;
	CHECK(page_ext_get(page) != NULL);
	fx_teardown(&f);
}

/*
 * pincount finds an order-0 counter at its client offset
 * (page_ext_data()): moved 4 bytes on, a pin of a page lands on the next
 * packed entry, and its unpin takes it back from there.
 */
static void case_page_ext_offset(void *arg)
{
	const struct gup_scheme *s = arg;
	atomic_t *own, *next;
	struct page *page, *got;
	struct fx f;
	int a, b;

	fx_setup(&f, s);
	page = fx_page(&f, FX_ANON);
	own = &page_ext_get(page)->pincount;
	next = (atomic_t *)((char *)own + 4);
	a = atomic_read(own);
	b = atomic_read(next);
	page_pincount_ops.offset = 4;
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 1, PIN_W, &got, &f.st), 1);
	CHECK_EQ(atomic_read(own), a);
	CHECK_EQ(atomic_read(next), b + 1);
	s->release_pages(&got, 1, PIN_W);
	page_pincount_ops.offset = 0;
	CHECK_EQ(atomic_read(own), a);
	CHECK_EQ(atomic_read(next), b);
	fx_teardown(&f);
}

/*
 * The scheme's try_grab_folio op (the slow path's grab, pagelock's lock
 * and pin after it included) and put_folio op balance: a FOLL_PIN grab
 * reads as pinned and its put restores the counts.
 */
static void case_grab_op_balance(void *arg)
{
	const struct gup_scheme *s = arg;
	struct folio *folio;
	int ref0;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_ANON));
	ref0 = folio_ref_count(folio);
	CHECK_EQ(s->try_grab_folio(folio, 1, FOLL_PIN), 0);
	CHECK(s->maybe_pinned(folio));
	CHECK(!folio_test_locked(folio));
	s->put_folio(folio, 1, FOLL_PIN);
	CHECK_EQ(folio_ref_count(folio), ref0);
	fx_teardown(&f);
}

/*
 * Writeback of a shared page: the first pass write-protects and cleans
 * the PTE and writes the folio back; a clean folio is skipped (writeback
 * finds dirty folios only); a writable pin re-dirties it through the
 * write fault, and the next pass writes it back while it is pinned.
 */
static void case_mkclean(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	struct page *page;
	pte_t pte;
	struct fx f;

	fx_setup(&f, s);
	fx_page(&f, FX_SHARED);
	CHECK_EQ(mm_mkclean_page(f.mm, FX_SHARED), 0);
	mm_lookup_page(f.mm, FX_SHARED, &pte);
	CHECK(!pte_write(pte) && !pte_dirty(pte));
	CHECK_EQ(mm_mkclean_page(f.mm, FX_SHARED), -ENODATA);
	CHECK_EQ(s->gup_fast(f.mm, FX_SHARED, 1, flags, &page, &f.st), 1);
	CHECK_EQ(f.st.slow_calls, 1);	/* the R/O PTE: a write fault */
	mm_lookup_page(f.mm, FX_SHARED, &pte);
	CHECK(pte_write(pte));
	CHECK_EQ(mm_mkclean_page(f.mm, FX_SHARED), fx_has_pins(s) ? 1 : 0);
	s->release_pages(&page, 1, flags);
	fx_teardown(&f);
}

/* A writable pin of the shared page (a bg_call). */
struct wb_pinner {
	struct fx *f;
	const struct gup_scheme *s;
	unsigned int flags;
	struct page *page;
	long got;
};

static void wb_pin(void *arg)
{
	struct wb_pinner *p = arg;
	struct gup_stats st = { 0 };

	gup_thread_register();
	p->got = p->s->gup_fast(p->f->mm, FX_SHARED, 1, p->flags, &p->page,
				&st);
	vmstat_flush_thread();
}

/*
 * A writable pin of a shared page under writeback (the I/O in flight,
 * its PTE write-protected and clean): pagelock's slow path sleeps on
 * PG_writeback (track_gup_page()'s wait_on_page_writeback()), so the pin
 * completes only when the writeback ends; every other scheme's pin goes
 * through the write fault without waiting, unless the device wants
 * stable pages, when every scheme's write fault waits
 * (folio_wait_stable()). 30 ms without the pin is taken as waiting.
 */
static void wb_pin_case(const struct gup_scheme *s, bool stable)
{
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	bool waits = stable || (s->features & SF_PAGELOCK);
	struct wb_pinner p = { .s = s, .flags = flags };
	struct bg_call c = { .fn = wb_pin, .arg = &p };
	struct folio *folio, *wb = NULL;
	long lost0 = folio_wait_lost();
	int ref0;
	struct fx f;

	fx_setup(&f, s);
	p.f = &f;
	f.mm->stable_writes = stable;
	folio = page_folio(fx_page(&f, FX_SHARED));
	ref0 = folio_ref_count(folio);
	CHECK_EQ(mm_writeback_start(f.mm, FX_SHARED, &wb, NULL, NULL), 0);
	CHECK(wb == folio);
	CHECK(test_bit(PG_writeback, folio_flags(folio)));
	CHECK_EQ(folio_ref_count(folio), ref0 + 1);	/* the I/O's */
	/* re-dirtied (a write()): the next pass skips it, WB_SYNC_NONE */
	set_bit(PG_dirty, folio_flags(folio));
	CHECK_EQ(mm_writeback_start(f.mm, FX_SHARED, &wb, NULL, NULL), -EBUSY);
	CHECK(wb == folio);
	CHECK(test_bit(PG_dirty, folio_flags(folio)));
	CHECK(!folio_test_locked(folio));
	CHECK_EQ(folio_ref_count(folio), ref0 + 1);

	bg_start(&c);
	bg_check_waits(&c, waits, "the pin", "the writeback");
	folio_end_writeback(folio);
	bg_finish(&c, "the pin");
	CHECK_EQ(p.got, 1);
	CHECK(!test_bit(PG_writeback, folio_flags(folio)));
	CHECK(!test_bit(PG_waiters, folio_flags(folio)));
	CHECK(!folio_test_locked(folio));
	CHECK_EQ(folio_wait_lost(), lost0);	/* woken, not timed out */
	s->release_pages(&p.page, 1, flags);
	CHECK_EQ(folio_ref_count(folio), ref0);
	fx_teardown(&f);
}

static void case_writeback_pin(void *arg)
{
	wb_pin_case(arg, false);
}

static void case_writeback_pin_stable(void *arg)
{
	wb_pin_case(arg, true);
}

#define FX_DAX		0x70000000UL	/* a shared fsdax mapping */

/*
 * Writeback of a shared device (fsdax) page is dax_writeback_one()'s
 * cache flush, found by its entry's dirty tag (the dirty PTE here) and
 * blind to PG_dirty: the PTE is write-protected and cleaned, PG_dirty
 * stays as it was, and the folio never goes under PG_writeback, so
 * there is no I/O for the caller to end (*wb NULL) and no reference
 * held; with stable pages too, the write fault that follows does not
 * wait.
 */
static void case_writeback_dax(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	struct folio *folio, *wb = (struct folio *)1;
	struct page *page;
	int ref0;
	pte_t pte;
	struct fx f;

	fx_setup(&f, s);
	f.mm->stable_writes = true;
	CHECK_EQ(mm_mmap(f.mm, FX_DAX, PAGE_SIZE,
			 VM_WRITE | VM_DEVMAP | VM_SHARED), 0);
	CHECK_EQ(mm_populate(f.mm, FX_DAX, PAGE_SIZE), 0);
	folio = page_folio(fx_page(&f, FX_DAX));
	CHECK(test_bit(PG_device, folio_flags(folio)));
	/* the write fault tagged the entry (the dirty PTE), not the folio */
	CHECK(!folio_test_dirty(folio));
	folio_mark_dirty(folio);	/* as a dirty unpin would */
	ref0 = folio_ref_count(folio);
	CHECK_EQ(mm_writeback_start(f.mm, FX_DAX, &wb, NULL, NULL), 0);
	CHECK(wb == NULL);
	/* dax_writeback_one() cleans the entry, never PG_dirty */
	CHECK(folio_test_dirty(folio));
	/* and a clean entry is not found, PG_dirty or not */
	CHECK_EQ(mm_writeback_start(f.mm, FX_DAX, &wb, NULL, NULL), -ENODATA);
	CHECK(!test_bit(PG_writeback, folio_flags(folio)));
	CHECK(!folio_test_locked(folio));
	CHECK_EQ(folio_ref_count(folio), ref0);
	mm_lookup_page(f.mm, FX_DAX, &pte);
	CHECK(!pte_write(pte) && !pte_dirty(pte));
	CHECK_EQ(s->gup_fast(f.mm, FX_DAX, 1, flags, &page, &f.st), 1);
	mm_lookup_page(f.mm, FX_DAX, &pte);
	CHECK(pte_write(pte) && pte_dirty(pte));
	s->release_pages(&page, 1, flags);
	mm_zap_range(f.mm, FX_DAX, PAGE_SIZE);
	fx_teardown(&f);
}

/* ---- unpin_user_pages_dirty_lock() ---- */

struct unpinner {
	const struct gup_scheme *s;
	struct page *page;
	unsigned int flags;
	bool dirty;
};

static void unpin(void *arg)
{
	struct unpinner *u = arg;

	gup_thread_register();
	if (u->dirty)
		u->s->release_pages_dirty(&u->page, 1, u->flags);
	else
		u->s->release_pages(&u->page, 1, u->flags);
	vmstat_flush_thread();
}

/*
 * Pin @addr, then release it in a thread while the test holds the folio
 * lock: the release must wait for the lock (@waits: not done in 30 ms,
 * then woken by the unlock) or must not (done in 5 s with the lock held).
 * The pin and the reference go back to @ref0 either way.
 */
static void unpin_check(struct fx *f, unsigned long addr, unsigned int flags,
			bool dirty, bool waits, const char *what)
{
	struct unpinner u = { .s = f->s, .flags = flags, .dirty = dirty };
	struct bg_call c = { .fn = unpin, .arg = &u };
	struct folio *folio = page_folio(fx_page(f, addr));
	int ref0 = folio_ref_count(folio);

	CHECK_EQ(f->s->gup_fast(f->mm, addr, 1, flags, &u.page, &f->st), 1);
	CHECK(page_folio(u.page) == folio);
	folio_lock(folio);
	bg_start(&c);
	bg_check_waits(&c, waits, what, "the folio lock");
	if (waits)
		CHECK(!folio_test_dirty(folio));  /* marked under the lock */
	folio_unlock(folio);
	bg_finish(&c, what);
	CHECK(!folio_test_locked(folio));
	CHECK_EQ(folio_ref_count(folio), ref0);
	CHECK(!f->s->maybe_pinned(folio));
}

/*
 * unpin_user_pages_dirty_lock(make_dirty=true) (FOLL_GET schemes:
 * if (!PageDirty) set_page_dirty_lock(), then put): a clean folio is
 * locked, dirtied and unlocked before the put; a dirty one is not
 * locked; unpin_user_pages() never locks. An anon folio starts clean
 * (its dirt is in the PTE: do_anonymous_page() leaves PG_dirty alone)
 * and stays dirty after its first such release. A shared file page that
 * writeback cleaned under a pin is dirtied again (§3.11). A DAX page
 * starts clean too (its write fault tags its entry, not the folio) and
 * is dirtied by its first such release (noop_dirty_folio() sets
 * PG_dirty, 5.14+), which its writeback never clears.
 */
static void case_unpin_dirty(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int flags = fx_has_pins(s) ? PIN_W : FOLL_GET | FOLL_WRITE;
	struct folio *anon, *shared, *dev;
	struct fx f;

	fx_setup(&f, s);
	anon = page_folio(fx_page(&f, FX_ANON));
	CHECK(!folio_test_dirty(anon));
	unpin_check(&f, FX_ANON, flags, false, false, "anon, unpin");
	CHECK(!folio_test_dirty(anon));
	unpin_check(&f, FX_ANON, flags, true, true, "anon, clean");
	CHECK(folio_test_dirty(anon));
	unpin_check(&f, FX_ANON, flags, true, false, "anon, dirty");
	CHECK(folio_test_dirty(anon));

	shared = page_folio(fx_page(&f, FX_SHARED));
	CHECK(folio_test_dirty(shared));	/* fault_dirty_shared_page() */
	unpin_check(&f, FX_SHARED, flags, true, false, "shared, dirty");
	CHECK_EQ(mm_mkclean_page(f.mm, FX_SHARED), 0);
	CHECK(!folio_test_dirty(shared));
	{
		/* pinned, then written back: the release dirties it again */
		struct unpinner u = { .s = s, .flags = flags, .dirty = true };

		CHECK_EQ(s->gup_fast(f.mm, FX_SHARED, 1, flags, &u.page,
				     &f.st), 1);
		CHECK(folio_test_dirty(shared));	/* the write fault's */
		CHECK_EQ(mm_mkclean_page(f.mm, FX_SHARED),
			 fx_has_pins(s) ? 1 : 0);
		CHECK(!folio_test_dirty(shared));
		unpin(&u);
		CHECK(folio_test_dirty(shared));
		CHECK(!folio_test_locked(shared));
	}

	dev = page_folio(fx_page(&f, FX_DEV));
	CHECK(!folio_test_dirty(dev));
	unpin_check(&f, FX_DEV, flags, false, false, "dax, unpin");
	unpin_check(&f, FX_DEV, flags, true, true, "dax, clean");
	CHECK(folio_test_dirty(dev));
	unpin_check(&f, FX_DEV, flags, true, false, "dax, dirty");
	fx_teardown(&f);
}

/* ---- the file's i_pages lock ---- */

static void mark_dirty(void *folio)
{
	folio_mark_dirty(folio);
}

static void end_writeback(void *folio)
{
	folio_end_writeback(folio);
}

struct wb_start {
	struct fx *f;
	struct folio *wb;
	int rc;
};

static void start_writeback(void *arg)
{
	struct wb_start *w = arg;

	w->rc = mm_writeback_start(w->f->mm, FX_SHARED, &w->wb, NULL, NULL);
}

/* Does @fn(@arg) wait for the i_pages lock the test holds? */
static void xa_check(struct fx *f, void (*fn)(void *), void *arg, bool waits,
		     const char *what)
{
	struct bg_call c = { .fn = fn, .arg = arg };

	spin_lock(&f->mm->i_pages_lock);
	bg_start(&c);
	bg_check_waits(&c, waits, what, "the i_pages lock");
	spin_unlock(&f->mm->i_pages_lock);
	bg_finish(&c, what);
}

/*
 * The file's i_pages lock (mapping->i_pages' xa_lock): a file folio
 * that becomes dirty takes it (__folio_mark_dirty(): tags and
 * accounting), one already dirty does not (filemap_dirty_folio()'s
 * folio_test_set_dirty() first); an anon folio has no page cache, and a
 * DAX folio's noop_dirty_folio() sets the flag alone; a writeback's
 * start and end take it (__folio_start_writeback(),
 * __folio_end_writeback()).
 */
static void case_i_pages_lock(void *arg)
{
	const struct gup_scheme *s = arg;
	struct wb_start w = { .f = NULL };
	struct folio *shared, *anon, *dev;
	struct fx f;

	fx_setup(&f, s);
	w.f = &f;
	shared = page_folio(fx_page(&f, FX_SHARED));
	anon = page_folio(fx_page(&f, FX_ANON));
	CHECK(folio_test_dirty(shared));
	xa_check(&f, mark_dirty, shared, false, "dirty file folio");
	xa_check(&f, mark_dirty, anon, false, "anon folio");
	CHECK(folio_test_dirty(anon));
	dev = page_folio(fx_page(&f, FX_DEV));
	CHECK(!folio_test_dirty(dev));
	xa_check(&f, mark_dirty, dev, false, "dax folio");
	CHECK(folio_test_dirty(dev));
	clear_bit(PG_dirty, folio_flags(shared));
	xa_check(&f, mark_dirty, shared, true, "clean file folio");
	CHECK(folio_test_dirty(shared));
	/*
	 * The write fault on the cleaned page dirties it after dropping
	 * the PT lock (finish_mkwrite_fault(), then
	 * fault_dirty_shared_page()): while it waits for the i_pages lock
	 * the PT lock is free.
	 */
	CHECK_EQ(mm_mkclean_page(f.mm, FX_SHARED), 0);
	CHECK(!folio_test_dirty(shared));
	{
		struct wb_pinner p = { .f = &f, .s = s, .flags = PIN_W };
		struct bg_call c = { .fn = wb_pin, .arg = &p };
		spinlock_t *ptl;
		bool ptl_free;

		if (!fx_has_pins(s))
			p.flags = FOLL_GET | FOLL_WRITE;
		CHECK(mm_find_pte(f.mm, FX_SHARED, false, &ptl));
		spin_lock(&f.mm->i_pages_lock);
		bg_start(&c);
		bg_check_waits(&c, true, "the write fault", "the i_pages lock");
		ptl_free = spin_trylock(ptl);
		if (ptl_free)
			spin_unlock(ptl);
		spin_unlock(&f.mm->i_pages_lock);
		bg_finish(&c, "the write fault");
		CHECK_MSG(ptl_free, "the write fault dirtied the folio under "
			  "the PT lock");
		CHECK_EQ(p.got, 1);
		CHECK(folio_test_dirty(shared));
		s->release_pages(&p.page, 1, p.flags);
	}
	xa_check(&f, start_writeback, &w, true, "start of writeback");
	CHECK_EQ(w.rc, 0);
	CHECK(w.wb == shared);
	CHECK(test_bit(PG_writeback, folio_flags(shared)));
	CHECK(!folio_test_locked(shared));
	xa_check(&f, end_writeback, shared, true, "end of writeback");
	CHECK(!test_bit(PG_writeback, folio_flags(shared)));
	fx_teardown(&f);
}

static void cleaned_hook(struct mm_struct *mm, enum gup_debug_point dp,
			 unsigned long addr, void *arg)
{
	struct page *page = mm_lookup_page(mm, addr, NULL);
	spinlock_t *ptl;
	pte_t *ptep;

	if (dp != GUP_DP_MKCLEAN_LOCKED)
		return;
	/* another writeback cleaned the page before this one locked it */
	clear_bit(PG_dirty, folio_flags(page_folio(page)));
	ptep = mm_find_pte(mm, addr, false, &ptl);
	spin_lock(ptl);
	set_pte(ptep, pte_mkclean(pte_wrprotect(ptep_get(ptep))));
	spin_unlock(ptl);
	(*(int *)arg)++;
}

/*
 * A folio dirty when writeback looked it up but clean once locked
 * (folio_clear_dirty_for_io() false): nothing is written or counted,
 * and the lock and the lookup's reference are given back.
 */
static void case_mkclean_cleaned(void *arg)
{
	const struct gup_scheme *s = arg;
	struct folio *folio;
	int ran = 0, ref0;
	struct fx f;

	fx_setup(&f, s);
	folio = page_folio(fx_page(&f, FX_SHARED));
	CHECK(test_bit(PG_dirty, folio_flags(folio)));
	ref0 = folio_ref_count(folio);
	f.mm->debug_arg = &ran;
	f.mm->debug_hook = cleaned_hook;
	CHECK_EQ(mm_mkclean_page(f.mm, FX_SHARED), -ENODATA);
	f.mm->debug_hook = NULL;
	CHECK_EQ(ran, 1);
	CHECK(!test_bit(PG_locked, folio_flags(folio)));
	CHECK(!test_bit(PG_writeback, folio_flags(folio)));
	CHECK_EQ(folio_ref_count(folio), ref0);
	fx_teardown(&f);
}

/*
 * mprotect(PROT_READ) of the anon VMA and the THP: every entry read-only,
 * VM_WRITE gone. A R/O pin of an exclusive page still comes from GUP-fast
 * (gup_must_unshare() says no); a writable pin fails (-EFAULT in the slow
 * path, no VM_WRITE).
 */
static void case_mprotect_ro(void *arg)
{
	const struct gup_scheme *s = arg;
	unsigned int ro = fx_has_pins(s) ? FOLL_PIN : FOLL_GET;
	struct page *pages[16], *page;
	pte_t pte;
	long got;
	struct fx f;

	fx_setup(&f, s);
	CHECK_EQ(mm_mprotect_ro(f.mm, FX_ANON, PAGE_SIZE), -EINVAL);
	CHECK_EQ(mm_mprotect_ro(f.mm, FX_ANON, FX_ANON_PAGES * PAGE_SIZE), 0);
	CHECK_EQ(mm_mprotect_ro(f.mm, FX_THP, PMD_SIZE), 0);
	mm_lookup_page(f.mm, FX_ANON + 3 * PAGE_SIZE, &pte);
	CHECK(pte_present(pte) && !pte_write(pte));
	mm_lookup_page(f.mm, FX_THP, &pte);
	CHECK(pte_present(pte) && !pte_write(pte));
	CHECK_EQ(s->gup_fast(f.mm, FX_ANON, 16, ro, pages, &f.st), 16);
	CHECK_EQ(f.st.slow_calls, 0);
	release(&f, pages, 16, ro);
	got = s->gup_fast(f.mm, FX_ANON, 1, ro | FOLL_WRITE, &page, &f.st);
	CHECK_MSG(got < 0, "a writable pin of a read-only VMA got %ld", got);
	release(&f, &page, got, ro | FOLL_WRITE);
	fx_teardown(&f);
}

/* ---- the table ---- */

static bool all(const struct gup_scheme *s) { return true; }
static bool real(const struct gup_scheme *s)
{
	return !(s->features & SF_CALIBRATION);
}
static bool pins(const struct gup_scheme *s) { return fx_has_pins(s); }
static bool wp_seq(const struct gup_scheme *s)
{
	return (s->features & SF_WP_SEQ) && fx_has_pins(s);
}
static bool anonexcl(const struct gup_scheme *s)
{
	return s->features & SF_ANON_EXCL;
}
static bool pagelock(const struct gup_scheme *s)
{
	return s->features & SF_PAGELOCK;
}
static bool devmap(const struct gup_scheme *s)
{
	return s->features & SF_DEVMAP;
}
static bool perget(const struct gup_scheme *s)
{
	return !strcmp(s->name, "devmap_perget");
}
static bool page_ext(const struct gup_scheme *s)
{
	return s->features & SF_PAGE_EXT;
}
static bool devmap_dies(const struct gup_scheme *s)
{
	return devmap(s);
}

static const struct {
	const char *name;
	t_fn fn;
	bool (*applies)(const struct gup_scheme *s);
} cases[] = {
	{ "pin_baseline", case_pin_baseline, all },
	{ "false_positive", case_false_positive, pins },
	{ "overflow", case_overflow, real },
	{ "late_grab", case_late_grab, real },
	{ "recheck", case_recheck, all },
	{ "anon_exclusive_era", case_anon_exclusive_era, pins },
	{ "anon_chain_order", case_anon_chain_order, real },
	{ "p2pdma_refused", case_p2pdma_refused, real },
	{ "fork_pinned", case_fork_pinned, pins },
	{ "fork_pinned_ro", case_fork_pinned_ro, pins },
	{ "fork_unpinned", case_fork_unpinned, all },
	{ "cow_pte_changed", case_cow_pte_changed, all },
	{ "ro_unshare", case_ro_unshare, anonexcl },
	{ "wp_seq_odd", case_wp_seq_odd, wp_seq },
	{ "wp_seq_retry", case_wp_seq_retry, wp_seq },
	{ "pagelock", case_pagelock, pagelock },
	{ "migrate", case_migrate, real },
	{ "migrate_dst_locked", case_migrate_dst_locked, real },
	{ "migrate_passes", case_migrate_passes, real },
	{ "migrate_async_trylock", case_migrate_async_trylock, real },
	{ "migrate_isolated", case_migrate_isolated, real },
	{ "thp_one_grab", case_thp_one_grab, real },
	{ "migrate_restore", case_migrate_restore, all },
	{ "migrate_vs_fork", case_migrate_vs_fork, real },
	{ "migrate_shared", case_migrate_shared, real },
	{ "migrate_vs_fork_fail", case_migrate_vs_fork_fail, anonexcl },
	{ "thp_vs_pte_table", case_thp_vs_pte_table, all },
	{ "thp_tail_unshare", case_thp_tail_unshare, all },
	{ "thp_fallback_fault", case_thp_fallback_fault, all },
	{ "thp_fork_split", case_thp_fork_split, pins },
	{ "thp_cow_split", case_thp_cow_split, real },
	{ "thp_partial_zap", case_thp_partial_zap, all },
	{ "thp_split_recheck", case_thp_split_recheck, real },
	{ "thp_last_subpage", case_thp_last_subpage, real },
	{ "collapse", case_collapse, all },
	{ "madvise_hugepage", case_madvise_hugepage, all },
	{ "collapse_refused", case_collapse_refused, real },
	{ "collapse_vs_gup_fast", case_collapse_vs_gup_fast, real },
	{ "referenced", case_referenced, all },
	{ "mark_accessed", case_mark_accessed, all },
	{ "folio_allowed", case_folio_allowed, all },
	{ "page_ext_layout", case_page_ext_layout, page_ext },
	{ "page_ext_invalid", case_page_ext_invalid, page_ext },
	{ "page_ext_offset", case_page_ext_offset, page_ext },
	{ "grab_op_balance", case_grab_op_balance, pins },
	{ "mkclean", case_mkclean, real },
	{ "mkclean_cleaned", case_mkclean_cleaned, real },
	{ "writeback_pin", case_writeback_pin, real },
	{ "writeback_pin_stable", case_writeback_pin_stable, real },
	{ "writeback_dax", case_writeback_dax, devmap },
	{ "migrate_dax", case_migrate_dax, devmap },
	{ "unpin_dirty", case_unpin_dirty, real },
	{ "i_pages_lock", case_i_pages_lock, all },
	{ "mprotect_ro", case_mprotect_ro, real },
	{ "vmstat", case_vmstat, pins },
	{ "has_pinned", case_has_pinned, pins },
	{ "devmap_balance", case_devmap_balance, devmap },
	{ "devmap_perget_ref_pointer", case_devmap_perget_ref_pointer, perget },
	{ "devmap_dying", case_devmap_dying, devmap_dies },
};

int main(void)
{
	unsigned int c, i;
	char name[96];

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		for (i = 0; i < nr_gup_schemes; i++) {
			const struct gup_scheme *s = gup_schemes[i];

			if (!cases[c].applies(s))
				continue;
			snprintf(name, sizeof(name), "%s/%s", cases[c].name,
				 s->name);
			t_case_named(name, cases[c].fn, (void *)s);
			if (vmemmap)	/* a failed case left memory set up */
				mem_exit();
		}
	}
	t_case_named("pgmap_lookup", case_pgmap_lookup, NULL);
	if (vmemmap)
		mem_exit();
	return t_done();
}
