// SPDX-License-Identifier: GPL-2.0
/*
 * pincount: a separate pin counter for every folio, in its own cache
 * line: folio->_pincount (page[1]) for large folios, a page_ext line for
 * order-0 pages; plus one _refcount per pin. Pin = add-unless-zero(ref)
 * + atomic_add(pincount) + smp_mb__after_atomic(); unpin subtracts
 * pincount first; the query is exact: pincount > 0.
 */
#include "gup_common.h"

#define S_NAME		pincount
#define S_FEATURES	(SF_PIN | SF_WP_SEQ | SF_PAGE_EXT)

static __always_inline atomic_t *pincount_ptr(struct folio *folio)
{
	if (folio_test_large(folio))
		return folio_pincount_ptr(folio);
	return &page_ext_get(&folio->page)->pincount;
}

#define PINCOUNT_PTR	pincount_ptr
#include "pincount_common.h"

const struct gup_scheme pincount_scheme = {
	.name = "pincount",
	.desc = "separate _pincount in its own cache line + 1 ref per pin; exact query",
	.symbols = "folio->_pincount, folio_has_pincount(), page_ext",
	GUP_TEMPLATE_OPS,
};
