// SPDX-License-Identifier: GPL-2.0
/*
 * devmap_perget: ZONE_DEVICE as of 4.5 (5c2c2587b132): every page
 * reference also takes a dev_pagemap reference (get_zone_device_page()
 * = percpu_ref_get(page->pgmap->ref)) and every put drops it. GUP's own
 * pgmap reference (GUP_DEVMAP_PERGET in gup_template.h) is 4.5's: the
 * walk's first device page looks the pgmap up by section and
 * tryget_live's it, each later page of the range takes a blind
 * percpu_ref_get() on the cached pgmap, and each page drops it again
 * (put_dev_pagemap()) once get_page() holds the page's own; the slow
 * path looks it up afresh for every page. As in 4.5 the pgmap's ref is
 * reached through a pointer (pgmap->ref_v45) and get_zone_device_page()
 * and put_zone_device_page() are out-of-line calls. The grab itself is
 * today's (add-unless-zero loop, PTE recheck), not 4.5's plain
 * get_page().
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

/* get_page(): the page ref, and get_zone_device_page()'s pgmap ref */
static __always_inline void devmap_perget_get_pgmap(struct folio *folio,
						    int refs)
{
	if (devmap_perget_is_device(folio))
		get_zone_device_page_v45(&folio->page, refs);
}

static __always_inline struct folio *
devmap_perget_try_grab_fast(struct page *page, int refs, unsigned int flags)
{
	struct folio *folio = try_grab_folio_fast(page, refs, flags);

	if (folio)
		devmap_perget_get_pgmap(folio, refs);
	return folio;
}

static __always_inline int devmap_perget_try_grab_slow(struct folio *folio,
						       int refs,
						       unsigned int flags)
{
	int err = try_grab_folio_locked(folio, refs, flags);

	if (!err)
		devmap_perget_get_pgmap(folio, refs);
	return err;
}

/* put_page() -> put_zone_device_page(): one pgmap put per page ref */
static __always_inline void devmap_perget_put_folio(struct folio *folio,
						    int refs,
						    unsigned int flags)
{
	bool device = devmap_perget_is_device(folio);

	gup_put_folio(folio, refs, flags);
	if (device)
		put_zone_device_page_v45(&folio->page, refs);
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
