// SPDX-License-Identifier: GPL-2.0
/*
 * bias1: the one-RMW pin of 5.7-5.10 (try_grab_compound_head(), Jan
 * Kara's proposal): a small page is pinned by one add-unless-zero of
 * refs * GUP_PIN_COUNTING_BIAS; the size decision is taken on the
 * unstable head before the grab; huge pages add hpage_pincount. No
 * smp_mb__after_atomic() (that came with 088b8aa537c2 in 6.0). Unpin is
 * 5.7-5.10's unpin_user_page(): one sub_and_test, page by page (no
 * folio batching before 5.12). Later 5.x differ: 5.11 made every unpin
 * put_compound_head()'s sub(refs - 1) + put_page() (two RMWs), and Jann
 * Horn's split_huge_page race fix (5.14, in stable trees too) made the
 * pin two-step (add-unless-zero(refs) + add(refs * 1023), bias's shape
 * without the barrier). The walk around the grab is today's (README), so
 * the grab also has the FOLL_LONGTERM test that 5.13 added to the walk;
 * but each FOLL_PIN call stores mm->has_pinned = 1 as 5.9-5.12 did
 * (008cfe4418b3; 5.7-5.8 had no such flag), a store to a shared line
 * per call where today's MMF_HAS_PINNED is read and left alone.
 */
#include "gup_common.h"

#define S_NAME		bias1
#define S_FEATURES	(SF_PIN | SF_WP_SEQ | SF_HAS_PINNED_STORE)
#define S_UNPIN_PER_PAGE

static __always_inline struct folio *bias1_try_grab_fast(struct page *page,
							 int refs,
							 unsigned int flags)
{
	struct folio *folio;
	bool large;
	int taken;

	if (unlikely(gup_p2pdma_refused(page, flags)))
		return NULL;
	if (flags & FOLL_GET)
		return try_get_folio(page, refs);
	if (unlikely(page == zero_page))
		return page_folio(page);
	/* hpage_pincount_available() on a head that is not yet stable */
	large = folio_test_large(page_folio(page));
	taken = large ? refs : refs * (int)GUP_PIN_COUNTING_BIAS;
	folio = try_get_folio(page, taken);
	if (!folio || gup_longterm_refused(folio, taken, flags))
		return NULL;
	/* the model never splits folios, so @large still holds */
	if (large)
		atomic_add(refs, folio_pincount_ptr(folio));
	node_stat_mod_folio(folio, NR_FOLL_PIN_ACQUIRED, refs);
	return folio;
}

static __always_inline int bias1_try_grab_slow(struct folio *folio, int refs,
					       unsigned int flags)
{
	return try_grab_folio_locked(folio, refs, flags);
}

static __always_inline void bias1_put_folio(struct folio *folio, int refs,
					    unsigned int flags)
{
	gup_put_folio(folio, refs, flags);
}

/*
 * 5.7-5.10's put_compound_head(), GUP-fast's back-off after a failed
 * recheck: the stat, then page_ref_sub(refs - 1) and put_page(), two
 * RMWs on _refcount where today's gup_put_folio() makes one ("calling
 * put_page() for each ref is unnecessarily slow. Only the last ref
 * needs a put_page()").
 */
static __always_inline void bias1_fast_undo(struct folio *folio, int refs,
					    unsigned int flags)
{
	if (flags & FOLL_PIN) {
		if (is_zero_folio(folio))
			return;		/* the grab took nothing */
		node_stat_mod_folio(folio, NR_FOLL_PIN_RELEASED, refs);
		if (folio_test_large(folio))
			atomic_sub(refs, folio_pincount_ptr(folio));
		else
			refs *= GUP_PIN_COUNTING_BIAS;
	}
	if (refs > 1)
		folio_ref_sub(folio, refs - 1);
	folio_put(folio);
}

#define S_FAST_UNDO_FOLIO	bias1_fast_undo

static __always_inline bool bias1_maybe_pinned(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

#include "gup_template.h"

const struct gup_scheme bias1_scheme = {
	.name = "bias1",
	.desc = "one RMW: add-unless-zero(1024) per small page, unpin per page (5.7-5.10 shape)",
	.symbols = "try_grab_compound_head(), page_cache_add_speculative(), hpage_pincount_add(), unpin_user_page()",
	GUP_TEMPLATE_OPS,
};
