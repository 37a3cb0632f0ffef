// SPDX-License-Identifier: GPL-2.0
/*
 * pincount_sameline: the pincount scheme with the pin counter in the
 * head struct page, beside _refcount in one cache line: both RMWs of a
 * pin hit the same line (what Glisse's "two counts" would cost when the
 * counts share a line).
 */
#include "gup_common.h"

#define S_NAME		pincount_sameline
#define S_FEATURES	(SF_PIN | SF_WP_SEQ)

static __always_inline atomic_t *sameline_ptr(struct folio *folio)
{
	return &folio->page._pincount;
}

#define PINCOUNT_PTR	sameline_ptr
#include "pincount_common.h"

const struct gup_scheme pincount_sameline_scheme = {
	.name = "pincount_sameline",
	.desc = "pincount with _pincount beside _refcount in one cache line",
	.symbols = "folio->_pincount moved into the head page's line",
	GUP_TEMPLATE_OPS,
};
