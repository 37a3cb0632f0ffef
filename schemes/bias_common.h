/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hooks of the schemes that use mainline pin accounting unchanged
 * (try_grab_folio_fast(), try_grab_folio(), gup_put_folio(),
 * folio_maybe_dma_pinned()); the including file defines S_NAME and
 * S_FEATURES, which is where those schemes differ.
 */
#define bc_(x)	CONCAT(CONCAT(S_NAME, _), x)

static __always_inline struct folio *bc_(try_grab_fast)(struct page *page,
							int refs,
							unsigned int flags)
{
	return try_grab_folio_fast(page, refs, flags);
}

static __always_inline int bc_(try_grab_slow)(struct folio *folio, int refs,
					      unsigned int flags)
{
	return try_grab_folio_locked(folio, refs, flags);
}

static __always_inline void bc_(put_folio)(struct folio *folio, int refs,
					   unsigned int flags)
{
	gup_put_folio(folio, refs, flags);
}

static __always_inline bool bc_(maybe_pinned)(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

#include "gup_template.h"
