// SPDX-License-Identifier: GPL-2.0
/*
 * pincount_sameline: the pincount scheme with the pin counter in the
 * head struct page, beside _refcount in one cache line: both RMWs of a
 * pin hit the same line: what a second count costs when it shares the
 * _refcount's line. (Not Glisse's "two counts", which paired _refcount
 * with the mapcount and queried them fuzzily under the page lock; this
 * is pincount's exact counter, moved.)
 */
#include "gup_common.h"

#define S_NAME		pincount_sameline
#define S_FEATURES	(SF_PIN | SF_WP_SEQ)

static __always_inline atomic_t *sameline_ptr(struct folio *folio)
{
	return &folio->page._pincount;
}

#define PINCOUNT_PTR	sameline_ptr
#define PINCOUNT_PUT(folio, p)	do { } while (0)
#include "pincount_common.h"

const struct gup_scheme pincount_sameline_scheme = {
	.name = "pincount_sameline",
	.desc = "pincount with _pincount beside _refcount in one cache line",
	.symbols = "folio->_pincount moved into the head page's line",
	GUP_TEMPLATE_OPS,
};
