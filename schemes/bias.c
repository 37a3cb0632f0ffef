// SPDX-License-Identifier: GPL-2.0
/*
 * bias: mainline FOLL_PIN accounting (>= ~5.18 folio era). A small folio
 * pin is add-unless-zero(refs) then atomic_add(refs * 1023) then
 * smp_mb__after_atomic(); unpin subtracts refs * GUP_PIN_COUNTING_BIAS;
 * folio_maybe_dma_pinned() is (unsigned)_refcount >= 1024. Large folios
 * count in folio->_pincount (page[1]).
 */
#include "gup_common.h"

#define S_NAME		bias
#define S_FEATURES	(SF_PIN | SF_WP_SEQ)

static __always_inline struct folio *bias_try_grab_fast(struct page *page,
							int refs,
							unsigned int flags)
{
	return try_grab_folio_fast(page, refs, flags);
}

static __always_inline int bias_try_grab_slow(struct folio *folio, int refs,
					      unsigned int flags)
{
	return try_grab_folio_locked(folio, refs, flags);
}

static __always_inline void bias_put_folio(struct folio *folio, int refs,
					   unsigned int flags)
{
	gup_put_folio(folio, refs, flags);
}

static __always_inline bool bias_maybe_pinned(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

#include "gup_template.h"

const struct gup_scheme bias_scheme = {
	.name = "bias",
	.desc = "mainline small-folio pin: add-unless-zero(1) + add(1023) + mb; query ref >= 1024",
	.symbols = "GUP_PIN_COUNTING_BIAS, try_grab_folio_fast(), gup_put_folio(), folio_maybe_dma_pinned()",
	GUP_TEMPLATE_OPS,
};
