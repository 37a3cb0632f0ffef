/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hooks shared by the separate-counter schemes; the including file
 * defines S_NAME, S_FEATURES, PINCOUNT_PTR(folio), where the counter
 * lives, and PINCOUNT_PUT(folio, ptr), the release of that lookup.
 * Pin = add-unless-zero(_refcount, refs) + atomic_add(pincount, refs) +
 * smp_mb__after_atomic(); unpin = atomic_sub(pincount) then
 * folio_put_refs(); query = pincount > 0 (exact).
 */
#define pc_(x)	CONCAT(CONCAT(S_NAME, _), x)

static __always_inline struct folio *pc_(try_grab_fast)(struct page *page,
							int refs,
							unsigned int flags)
{
	struct folio *folio;
	atomic_t *p;

	if (unlikely(gup_p2pdma_refused(page, flags)))
		return NULL;
	if (flags & FOLL_GET)
		return try_get_folio(page, refs);
	if (unlikely(page == zero_page))
		return page_folio(page);
	folio = try_get_folio(page, refs);
	if (!folio || gup_longterm_refused(folio, refs, flags))
		return NULL;
	p = PINCOUNT_PTR(folio);
	atomic_add(refs, p);
	PINCOUNT_PUT(folio, p);
	/* pairs with smp_mb() in folio_try_share_anon_rmap_*() */
	smp_mb__after_atomic();
	node_stat_mod_folio(folio, NR_FOLL_PIN_ACQUIRED, refs);
	return folio;
}

static __always_inline int pc_(try_grab_slow)(struct folio *folio, int refs,
					      unsigned int flags)
{
	if (WARN_ON_ONCE(folio_ref_count(folio) <= 0))
		return -ENOMEM;
	if (unlikely(gup_p2pdma_refused(&folio->page, flags)))
		return -EREMOTEIO;
	if ((flags & FOLL_PIN) && is_zero_folio(folio))
		return 0;
	folio_ref_add(folio, refs);
	if (flags & FOLL_PIN) {
		atomic_t *p = PINCOUNT_PTR(folio);

		atomic_add(refs, p);
		PINCOUNT_PUT(folio, p);
		node_stat_mod_folio(folio, NR_FOLL_PIN_ACQUIRED, refs);
	}
	return 0;
}

static __always_inline void pc_(put_folio)(struct folio *folio, int refs,
					   unsigned int flags)
{
	if (flags & FOLL_PIN) {
		atomic_t *p;

		if (is_zero_folio(folio))
			return;
		node_stat_mod_folio(folio, NR_FOLL_PIN_RELEASED, refs);
		p = PINCOUNT_PTR(folio);
		atomic_sub(refs, p);
		PINCOUNT_PUT(folio, p);
	}
	folio_put_refs(folio, refs);
}

static __always_inline bool pc_(maybe_pinned)(struct folio *folio)
{
	atomic_t *p = PINCOUNT_PTR(folio);
	bool pinned = atomic_read(p) > 0;

	PINCOUNT_PUT(folio, p);
	return pinned;
}

#include "gup_template.h"
