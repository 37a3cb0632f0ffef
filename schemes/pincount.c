// SPDX-License-Identifier: GPL-2.0
/*
 * pincount: a separate pin counter for every folio, off the _refcount
 * line: folio->_pincount (page[1]) for large folios, a packed page_ext
 * entry for order-0 pages (page_ext_get(), its mem_section lookup,
 * page_ext_data() and page_ext_put() around every access, out of line as
 * in mm/page_ext.c); plus one _refcount per pin. Pin = add-unless-zero(ref)
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
	return page_ext_data(page_ext_get(&folio->page), &page_pincount_ops);
}

static __always_inline void pincount_put(struct folio *folio, atomic_t *p)
{
	if (!folio_test_large(folio))
		page_ext_put((struct page_ext *)((char *)p -
				READ_ONCE(page_pincount_ops.offset)));
}

#define PINCOUNT_PTR	pincount_ptr
#define PINCOUNT_PUT	pincount_put
#include "pincount_common.h"

const struct gup_scheme pincount_scheme = {
	.name = "pincount",
	.desc = "separate _pincount off the _refcount line (page_ext for order-0) + 1 ref per pin; exact query",
	.symbols = "folio->_pincount, folio_has_pincount(), page_ext",
	GUP_TEMPLATE_OPS,
};
