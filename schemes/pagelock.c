// SPDX-License-Identifier: GPL-2.0
/*
 * pagelock: John Hubbard's page-lock pinning (Jan 2019). GUP-fast takes
 * a speculative ref, then PageWriteback || !trylock_page -> back off to
 * the slow path; under the lock it raises the pin count (the bias) and
 * unlocks (track_gup_page_atomic()). The slow path takes a plain ref
 * under the PT lock, then lock_page() (sleeping on the hashed wait
 * queue), waits for writeback and converts it to a pin
 * (track_gup_page()). Pin state is stable under the page lock, which
 * page_mkclean-style writeback and migration also hold. The pin itself
 * is Jan Kara's variant (ref += BIAS under the lock), not the
 * prototype's mapcount + SetPageGupPinned (one more flags RMW per pin).
 */
#include "gup_common.h"

#define S_NAME		pagelock
#define S_FEATURES	(SF_PIN | SF_WP_SEQ | SF_PAGELOCK)
#define S_AFTER_SLOW_GRAB

static __always_inline struct folio *pagelock_try_grab_fast(struct page *page,
							    int refs,
							    unsigned int flags)
{
	struct folio *folio;

	if (unlikely(gup_p2pdma_refused(page, flags)))
		return NULL;
	folio = try_get_folio(page, refs);
	if (!folio || (flags & FOLL_GET))
		return folio;
	if (gup_longterm_refused(folio, refs, flags))
		return NULL;
	if (test_bit(PG_writeback, folio_flags(folio)) ||
	    (!folio_trylock(folio) && !GUP_MUTANT(PAGELOCK_NO_TRYLOCK)))
		goto out_put;			/* -EBUSY: slow path */
	if (test_bit(PG_writeback, folio_flags(folio))) {
		folio_unlock(folio);
		goto out_put;
	}
	/*
	 * try_grab_folio_fast()'s pin and barrier: the pin is visible
	 * before the PTE recheck and write_protect_seq retry (the unlock
	 * below only orders what comes before it). The vmstat update is
	 * not pin state: it runs after the unlock, not in the section that
	 * makes other pinners' trylock fail.
	 */
	pin_count_fast(folio, refs);
	folio_unlock(folio);
	node_stat_mod_folio(folio, NR_FOLL_PIN_ACQUIRED, refs);
	return folio;
out_put:
	folio_put_refs(folio, refs);
	return NULL;
}

/* Under the PT lock: a plain reference; the pin is taken below. */
static __always_inline int pagelock_try_grab_slow(struct folio *folio,
						  int refs,
						  unsigned int flags)
{
	return try_grab_folio_locked(folio, refs,
				     FOLL_GET | (flags & FOLL_PCI_P2PDMA));
}

/* track_gup_page(): lock_page, wait_on_page_writeback, pin, unlock. */
static __always_inline void pagelock_after_slow_grab(struct folio *folio,
						     int refs,
						     unsigned int flags,
						     struct gup_stats *st)
{
	unsigned long slept = folio_lock_sleeps();

	if (!(flags & FOLL_PIN))
		return;
	folio_lock(folio);
	folio_wait_writeback(folio);	/* wait_on_page_writeback() */
	/* no barrier: fork is held off by mmap_lock */
	pin_count_add(folio, refs);
	folio_unlock(folio);
	node_stat_mod_folio(folio, NR_FOLL_PIN_ACQUIRED, refs);
	st->pagelock_waits += folio_lock_sleeps() - slept;
}

static __always_inline void pagelock_put_folio(struct folio *folio, int refs,
					       unsigned int flags)
{
	gup_put_folio(folio, refs, flags);
}

static __always_inline bool pagelock_maybe_pinned(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

#include "gup_template.h"

const struct gup_scheme pagelock_scheme = {
	.name = "pagelock",
	.desc = "trylock_page in gup_fast (bail on failure), lock_page in the slow path",
	.symbols = "PG_locked, PG_waiters, folio_trylock(), folio_lock(), folio_wake_bit()",
	GUP_TEMPLATE_OPS,
};
