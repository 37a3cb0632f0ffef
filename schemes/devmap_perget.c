// SPDX-License-Identifier: GPL-2.0
/*
 * devmap_perget: ZONE_DEVICE as of 4.5 (5c2c2587b132): every page
 * reference also takes a dev_pagemap reference (get_zone_device_page()
 * = percpu_ref_get(page->pgmap->ref)) and every put drops it. Modelled
 * with percpu_ref_tryget_live() so a dying device refuses new gets.
 */
#include "gup_common.h"

#define S_NAME		devmap_perget
#define S_FEATURES	(SF_PIN | SF_WP_SEQ | SF_DEVMAP)
#define S_DEVMAP_MODE	GUP_DEVMAP_PERGET

/* get_zone_device_page() applies to device pages only */
static __always_inline bool devmap_perget_is_device(struct folio *folio)
{
	return test_bit(PG_device, folio_flags(folio));
}

static __always_inline struct folio *
devmap_perget_try_grab_fast(struct page *page, int refs, unsigned int flags)
{
	struct folio *folio = try_grab_folio_fast(page, refs, flags);

	if (folio && devmap_perget_is_device(folio) &&
	    unlikely(!percpu_ref_tryget_live(&folio->page.pgmap->ref))) {
		gup_put_folio(folio, refs, flags);	/* device dying */
		return NULL;
	}
	return folio;
}

static __always_inline int devmap_perget_try_grab_slow(struct folio *folio,
						       int refs,
						       unsigned int flags)
{
	int ret = try_grab_folio_locked(folio, refs, flags);

	if (!ret && devmap_perget_is_device(folio) &&
	    !percpu_ref_tryget_live(&folio->page.pgmap->ref)) {
		gup_put_folio(folio, refs, flags);
		return -EFAULT;
	}
	return ret;
}

static __always_inline void devmap_perget_put_folio(struct folio *folio,
						    int refs,
						    unsigned int flags)
{
	struct dev_pagemap *pgmap = devmap_perget_is_device(folio) ?
				    folio->page.pgmap : NULL;

	gup_put_folio(folio, refs, flags);
	if (pgmap)
		percpu_ref_put(&pgmap->ref);
}

static __always_inline bool devmap_perget_maybe_pinned(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

#include "gup_template.h"

const struct gup_scheme devmap_perget_scheme = {
	.name = "devmap_perget",
	.desc = "ZONE_DEVICE: a pgmap percpu_ref get/put per page reference (4.5)",
	.symbols = "get_zone_device_page(), put_zone_device_page(), percpu_ref_tryget_live()",
	GUP_TEMPLATE_OPS,
};
