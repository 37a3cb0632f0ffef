/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hooks shared by the ZONE_DEVICE schemes: mainline pin accounting on
 * the page; the including file sets S_NAME, S_FEATURES, S_DEVMAP_MODE and,
 * for the per-get variant, DEVMAP_PER_GET, which adds a pgmap reference
 * to every page reference (get_zone_device_page()/put_zone_device_page()).
 */
#define dm_(x)	CONCAT(CONCAT(S_NAME, _), x)

#ifndef DEVMAP_PER_GET
#define DEVMAP_PER_GET	0
#endif

static __always_inline bool dm_(is_device)(struct folio *folio)
{
	return DEVMAP_PER_GET && test_bit(PG_device, folio_flags(folio));
}

static __always_inline struct folio *dm_(try_grab_fast)(struct page *page,
							int refs,
							unsigned int flags)
{
	struct folio *folio = try_grab_folio_fast(page, refs, flags);

	if (folio && dm_(is_device)(folio) &&
	    unlikely(!percpu_ref_tryget_live(&folio->page.pgmap->ref))) {
		gup_put_folio(folio, refs, flags);	/* device dying */
		return NULL;
	}
	return folio;
}

static __always_inline int dm_(try_grab_slow)(struct folio *folio, int refs,
					      unsigned int flags)
{
	int ret = try_grab_folio_locked(folio, refs, flags);

	if (!ret && dm_(is_device)(folio) &&
	    !percpu_ref_tryget_live(&folio->page.pgmap->ref)) {
		gup_put_folio(folio, refs, flags);
		return -EFAULT;
	}
	return ret;
}

static __always_inline void dm_(put_folio)(struct folio *folio, int refs,
					   unsigned int flags)
{
	struct dev_pagemap *pgmap = dm_(is_device)(folio) ?
				    folio->page.pgmap : NULL;

	gup_put_folio(folio, refs, flags);
	if (pgmap)
		percpu_ref_put(&pgmap->ref);
}

static __always_inline bool dm_(maybe_pinned)(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

#include "gup_template.h"
