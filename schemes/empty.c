// SPDX-License-Identifier: GPL-2.0
/*
 * empty: no atomics at all. With the raw workload it is the harness
 * floor (loop + one READ_ONCE of page->compound_head per op); with pin it
 * is the bare GUP-fast walk (page-table reads, write_protect_seq, PTE
 * recheck) with nothing pinned. A calibration, not a protocol.
 */
#include "scheme.h"

#define S_NAME		empty
#define S_FEATURES	(SF_PIN | SF_WP_SEQ | SF_CALIBRATION)

static __always_inline struct folio *empty_try_grab_fast(struct page *page,
							 int refs,
							 unsigned int flags)
{
	return page_folio(page);
}

static __always_inline int empty_try_grab_slow(struct folio *folio, int refs,
					       unsigned int flags)
{
	return 0;
}

static __always_inline void empty_put_folio(struct folio *folio, int refs,
					    unsigned int flags)
{
	barrier();	/* keep the loop: one op is one iteration */
}

static __always_inline bool empty_maybe_pinned(struct folio *folio)
{
	return false;
}

#include "gup_template.h"

const struct gup_scheme empty_scheme = {
	.name = "empty",
	.desc = "no atomics: raw = harness floor, pin = the bare walk",
	.symbols = "gup_fast_pte_range() without try_grab_folio_fast()",
	GUP_TEMPLATE_OPS,
};
