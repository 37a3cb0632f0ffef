// SPDX-License-Identifier: GPL-2.0
/*
 * get: FOLL_GET, the baseline with no pin notion. GUP-fast takes one
 * speculative reference (try_get_folio(): folio_ref_try_add_rcu, i.e.
 * add-unless-zero), put_page() drops it (folio_put_refs ->
 * atomic_sub_and_test). Pins requested of this scheme are plain gets.
 */
#include "gup_common.h"

#define S_NAME		get
#define S_FEATURES	0

static __always_inline struct folio *get_try_grab_fast(struct page *page,
						       int refs,
						       unsigned int flags)
{
	if (unlikely(gup_p2pdma_refused(page, flags)))
		return NULL;
	return try_get_folio(page, refs);
}

static __always_inline int get_try_grab_slow(struct folio *folio, int refs,
					     unsigned int flags)
{
	return try_grab_folio_locked(folio, refs,
				     FOLL_GET | (flags & FOLL_PCI_P2PDMA));
}

static __always_inline void get_put_folio(struct folio *folio, int refs,
					  unsigned int flags)
{
	folio_put_refs(folio, refs);
}

static __always_inline bool get_maybe_pinned(struct folio *folio)
{
	return false;
}

#include "gup_template.h"

const struct gup_scheme get_scheme = {
	.name = "get",
	.desc = "FOLL_GET: +1 _refcount per page, put_page(); no pin notion",
	.symbols = "FOLL_GET, try_get_folio(), folio_put_refs()",
	GUP_TEMPLATE_OPS,
};
