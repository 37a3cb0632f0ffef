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

#include "bias_common.h"

const struct gup_scheme bias_scheme = {
	.name = "bias",
	.desc = "mainline small-folio pin: add-unless-zero(1) + add(1023) + mb; query ref >= 1024",
	.symbols = "GUP_PIN_COUNTING_BIAS, try_grab_folio_fast(), gup_put_folio(), folio_maybe_dma_pinned()",
	GUP_TEMPLATE_OPS,
};
