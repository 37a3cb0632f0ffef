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
#define DEVMAP_PER_GET	1
#include "devmap_common.h"

const struct gup_scheme devmap_perget_scheme = {
	.name = "devmap_perget",
	.desc = "ZONE_DEVICE: a pgmap percpu_ref get/put per page reference (4.5)",
	.symbols = "get_zone_device_page(), put_zone_device_page(), percpu_ref_tryget_live()",
	GUP_TEMPLATE_OPS,
};
