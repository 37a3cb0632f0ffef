// SPDX-License-Identifier: GPL-2.0
/*
 * devmap_perget: ZONE_DEVICE as of 4.5 (5c2c2587b132): every page
 * reference also takes a dev_pagemap reference (get_zone_device_page()
 * = percpu_ref_get(page->pgmap->ref)) and every put drops it; GUP also
 * takes and drops the walk's get_dev_pagemap() reference around each
 * page (devmap_perget_grab()).
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

/*
 * One page, as 4.5's gup_pte_range() (arch/x86/mm/gup.c) and
 * follow_page_pte() take it: get_dev_pagemap() (a percpu_ref_tryget_live()
 * for the first page of a range, a blind percpu_ref_get() on the cached
 * pgmap after it: both one per-CPU increment while the ref is live; the
 * model tries every time, so a dying device is refused at any page
 * rather than only at a range's first), then get_page(), which takes the
 * page ref and get_zone_device_page()'s pgmap ref, then
 * put_dev_pagemap(): three per-CPU ops, one pgmap ref left per page ref.
 */
static __always_inline struct folio *
devmap_perget_grab(struct page *page, int refs, unsigned int flags,
		   bool slow, int *err)
{
	struct dev_pagemap *pgmap = NULL;
	struct folio *folio;

	*err = 0;
	if (test_bit(PG_device, &page->flags)) {
		pgmap = page->pgmap;
		if (unlikely(!percpu_ref_tryget_live(&pgmap->ref))) {
			*err = -EFAULT;		/* device dying */
			return NULL;
		}
	}
	if (slow) {
		folio = page_folio(page);
		*err = try_grab_folio_locked(folio, refs, flags);
		if (*err)
			folio = NULL;
	} else {
		folio = try_grab_folio_fast(page, refs, flags);
	}
	if (pgmap) {
		if (folio)	/* get_zone_device_page(), per page ref */
			percpu_ref_get_many(&pgmap->ref, refs);
		percpu_ref_put(&pgmap->ref);	/* put_dev_pagemap() */
	}
	return folio;
}

static __always_inline struct folio *
devmap_perget_try_grab_fast(struct page *page, int refs, unsigned int flags)
{
	int err;

	return devmap_perget_grab(page, refs, flags, false, &err);
}

static __always_inline int devmap_perget_try_grab_slow(struct folio *folio,
						       int refs,
						       unsigned int flags)
{
	int err;

	devmap_perget_grab(&folio->page, refs, flags, true, &err);
	return err;
}

/* put_page() -> put_zone_device_page(): one pgmap put per page ref */
static __always_inline void devmap_perget_put_folio(struct folio *folio,
						    int refs,
						    unsigned int flags)
{
	struct dev_pagemap *pgmap = devmap_perget_is_device(folio) ?
				    folio->page.pgmap : NULL;

	gup_put_folio(folio, refs, flags);
	if (pgmap)
		percpu_ref_put_many(&pgmap->ref, refs);
}

static __always_inline bool devmap_perget_maybe_pinned(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

#include "gup_template.h"

const struct gup_scheme devmap_perget_scheme = {
	.name = "devmap_perget",
	.desc = "ZONE_DEVICE: a pgmap percpu_ref get/put per page reference (4.5)",
	.symbols = "get_dev_pagemap(), get_zone_device_page(), put_dev_pagemap(), put_zone_device_page()",
	GUP_TEMPLATE_OPS,
};
