/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The emulated mm: struct page in a vmemmap-like array, folios, a 4-level
 * radix page table with split PT locks, struct mm_struct with mmap_lock,
 * write_protect_seq and MMF_HAS_PINNED, the page lock with hashed wait
 * queues, ZONE_DEVICE's dev_pagemap/percpu_ref, and the mm operations that
 * compete with GUP (fault, COW, fork, migration, mkclean, zap).
 *
 * Names and layout follow include/linux/mm_types.h, page_ref.h, pgtable.h
 * and mm/gup.c so that logic can move between a kernel patch and a scheme.
 */
#ifndef GUPBENCH_MM_H
#define GUPBENCH_MM_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "kcompat.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PTRS_PER_TABLE	512
#define PMD_SHIFT	21
#define PMD_SIZE	(1UL << PMD_SHIFT)
#define PUD_SHIFT	30
#define PGDIR_SHIFT	39
#define HPAGE_PMD_ORDER	9
#define HPAGE_PMD_NR	(1 << HPAGE_PMD_ORDER)

/* GUP_PIN_COUNTING_BIAS: include/linux/mm.h */
#define GUP_PIN_COUNTING_BIAS	(1U << 10)

/* page->flags bits (include/linux/page-flags.h). */
enum pageflags {
	PG_locked = 0,		/* folio lock; bit 0 as in the kernel */
	PG_writeback = 1,	/* writeback under way (mkclean competitor) */
	PG_referenced = 2,
	PG_uptodate = 3,
	PG_dirty = 4,
	PG_lru = 5,		/* on an LRU list (the lists are not modelled) */
	PG_head = 6,		/* first page of a large folio */
	PG_waiters = 7,		/* bit 7: folio_unlock's negative-byte test */
	PG_anon_exclusive = 8,	/* aliases PG_mappedtodisk in the kernel */
	PG_anon = 9,		/* kernel: PAGE_MAPPING_ANON in ->mapping */
	PG_device = 10,		/* ZONE_DEVICE page (page->pgmap valid) */
	PG_free = 11,		/* on the free list; struct page poisoned */
	PG_active = 12,		/* the flag of the active LRU list (no lists) */
};

#define PAGE_POISON	0xdead000000000100UL

/*
 * struct page: 64 bytes, one cache line. Fields follow mm_types.h where
 * they exist; _pincount is the kernel's folio->_pincount when the page is
 * page[1] of a large folio, and the pincount_sameline scheme's own pin
 * counter when it is an order-0 page.
 */
struct page {
	unsigned long flags;		/* PG_* bits, atomic bitops */
	unsigned long compound_head;	/* tail: head | 1; else 0 */
	void *mapping;			/* owner mm (rmap shortcut); fsdax:
					 * the device's pgmap; NULL: none */
	unsigned long index;		/* virtual page number in ->mapping */
	unsigned long private;		/* emulated page contents (one word),
					 * DMA-written through pins: *_ONCE */
	struct dev_pagemap *pgmap;	/* ZONE_DEVICE pages only */
	atomic_t _mapcount;		/* page-table mappings - 1 */
	atomic_t _refcount;		/* folio->_refcount on the head */
	atomic_t _pincount;		/* see above */
	unsigned int order;		/* head: folio order (page[1] in kernel) */
} ____cacheline_aligned;

_Static_assert(sizeof(struct page) == 64, "struct page is one cache line");

/* A folio is its head page; page[1] holds _pincount for large folios. */
struct folio {
	struct page page;
};

/*
 * page_ext (mm/page_ext.c under SPARSEMEM): per-page extension entries,
 * page_ext_size bytes each and packed, in one array per memory section,
 * found through the section's page_ext pointer. The pincount scheme is
 * the only client here: 4 bytes an entry and no shared flags word (that
 * only a client such as page_owner asks for), so sixteen pages' counters
 * share a cache line, none of them the line of a _refcount.
 */
struct page_ext {
	atomic_t pincount;
};

_Static_assert(sizeof(struct page_ext) == 4, "page_ext entries are packed");

#define PFN_SECTION_SHIFT	(27 - PAGE_SHIFT)	/* x86-64 SECTION_SIZE_BITS */

/* include/linux/mmzone.h's, with CONFIG_PAGE_EXTENSION */
struct mem_section {
	unsigned long section_mem_map;
	void *usage;
	unsigned long page_ext;	/* entry of pfn: page_ext + pfn * size */
	unsigned long pad;
};

/* SPARSEMEM_EXTREME: one page of sections per root */
#define SECTIONS_PER_ROOT	(PAGE_SIZE / sizeof(struct mem_section))

extern struct mem_section **mem_section;
extern unsigned long page_ext_size;

/* The "physical memory": vmemmap and its allocator. */
extern struct page *vmemmap;
extern struct page_ext *page_ext_map;
extern unsigned long max_pfn;

static __always_inline struct page *pfn_to_page(unsigned long pfn)
{
	return vmemmap + pfn;
}

static __always_inline unsigned long page_to_pfn(const struct page *page)
{
	return (unsigned long)(page - vmemmap);
}

/*
 * mm/page_ext.c's API, out of line as there: page_ext_get() ->
 * lookup_page_ext(): pfn to section (root, then section:
 * __pfn_to_section()), the section's page_ext (NULL or PAGE_EXT_INVALID,
 * a section going offline, gives NULL), then the entry at pfn *
 * page_ext_size; page_ext_put() after the client is done. The kernel
 * brackets the two with rcu_read_lock()/unlock(), free on the
 * non-preemptible kernels this models. A client finds its data at its
 * ops' offset (page_ext_data()), a load of its page_ext_operations.
 */
#define PAGE_EXT_INVALID	0x1UL

struct page_ext_operations {
	size_t offset;		/* set by page_ext_init(): 0 for the one client */
	size_t size;
};

extern struct page_ext_operations page_pincount_ops;

struct page_ext *page_ext_get(const struct page *page);
void page_ext_put(struct page_ext *page_ext);

static __always_inline void *page_ext_data(struct page_ext *page_ext,
					   const struct page_ext_operations *ops)
{
	return (char *)page_ext + READ_ONCE(ops->offset);
}

static __always_inline struct folio *page_folio(struct page *page)
{
	unsigned long head = READ_ONCE(page->compound_head);

	if (unlikely(head & 1))
		return (struct folio *)(head - 1);
	return (struct folio *)page;
}

static __always_inline struct page *folio_page(struct folio *folio,
					       unsigned long n)
{
	return &folio->page + n;
}

static __always_inline unsigned long *folio_flags(struct folio *folio)
{
	return &folio->page.flags;
}

static __always_inline bool folio_test_large(struct folio *folio)
{
	return test_bit(PG_head, folio_flags(folio));
}

static __always_inline long folio_nr_pages(struct folio *folio)
{
	return folio_test_large(folio) ? 1L << folio->page.order : 1;
}

/*
 * Where a folio counts its mappings, less one: an order-0 page's
 * _mapcount; for a large folio the total over its PMD and PTE mappings,
 * in page[1] as the kernel's folio->_large_mapcount (6.10+). The
 * kernel also keeps an entire (PMD) count beside it and each subpage's
 * own _mapcount on the subpage's line; the model keeps neither.
 */
static __always_inline atomic_t *folio_mapcount_ptr(struct folio *folio)
{
	if (folio_test_large(folio))
		return &folio_page(folio, 1)->_mapcount;
	return &folio->page._mapcount;
}

/* folio_has_pincount(): every large folio on 64-bit (2025 kernels). */
static __always_inline bool folio_has_pincount(struct folio *folio)
{
	return folio_test_large(folio);
}

static __always_inline atomic_t *folio_pincount_ptr(struct folio *folio)
{
	return &folio_page(folio, 1)->_pincount;
}

static __always_inline bool folio_test_anon(struct folio *folio)
{
	return test_bit(PG_anon, folio_flags(folio));
}

/*
 * PG_referenced: GUP sets it on every folio it returns with an atomic
 * set_bit (a locked OR on x86), whether or not it is already set.
 */
static __always_inline void folio_set_referenced(struct folio *folio)
{
	set_bit(PG_referenced, folio_flags(folio));
}

static __always_inline void folio_clear_referenced(struct folio *folio)
{
	clear_bit(PG_referenced, folio_flags(folio));
}

static __always_inline bool folio_test_referenced(struct folio *folio)
{
	return test_bit(PG_referenced, folio_flags(folio));
}

/*
 * folio_mark_accessed() (mm/swap.c, the classic LRU; MGLRU instead
 * counts references in ->flags): the first access sets PG_referenced,
 * the next activates the folio and clears PG_referenced; an active folio
 * is left alone. The model has no LRU lists, so activation is the flag
 * alone (the kernel queues the folio on a per-CPU batch, with a
 * reference, and moves it under the lruvec lock later). A folio off the
 * LRU (ZONE_DEVICE, or isolated) only toggles PG_referenced.
 */
static inline void folio_mark_accessed(struct folio *folio)
{
	unsigned long *flags = folio_flags(folio);

	if (!test_bit(PG_referenced, flags)) {
		set_bit(PG_referenced, flags);
	} else if (!test_bit(PG_active, flags)) {
		if (test_bit(PG_lru, flags))	/* folio_activate() */
			set_bit(PG_active, flags);
		clear_bit(PG_referenced, flags);
	}
}

/* ---- page_ref.h: one verb each ---- */

static __always_inline int folio_ref_count(struct folio *folio)
{
	return atomic_read(&folio->page._refcount);
}

static __always_inline void folio_ref_add(struct folio *folio, int nr)
{
	atomic_add(nr, &folio->page._refcount);
}

static __always_inline void folio_ref_sub(struct folio *folio, int nr)
{
	atomic_sub(nr, &folio->page._refcount);
}

static __always_inline bool folio_ref_sub_and_test(struct folio *folio, int nr)
{
	return atomic_sub_and_test(nr, &folio->page._refcount);
}

/* page_ref_add_unless(page, nr, 0): the speculative get. */
static __always_inline bool folio_ref_try_add(struct folio *folio, int nr)
{
	return atomic_add_unless(&folio->page._refcount, nr, 0);
}

/* folio_ref_freeze(): cmpxchg count -> 0, fully ordered on success. */
static __always_inline bool folio_ref_freeze(struct folio *folio, int count)
{
	return atomic_cmpxchg(&folio->page._refcount, count, 0) == count;
}

/* folio_ref_unfreeze(): release store of the new count. */
static __always_inline void folio_ref_unfreeze(struct folio *folio, int count)
{
	atomic_set_release(&folio->page._refcount, count);
}

void free_folio(struct folio *folio);

/* folio_put_refs(): drop refs; the last one frees the folio. */
static __always_inline void folio_put_refs(struct folio *folio, int refs)
{
	if (folio_ref_sub_and_test(folio, refs))
		free_folio(folio);
}

static __always_inline void folio_get(struct folio *folio)
{
	folio_ref_add(folio, 1);
}

static __always_inline void folio_put(struct folio *folio)
{
	folio_put_refs(folio, 1);
}

/*
 * The LRU as far as isolation sees it: PG_lru alone, no lists and no
 * lruvec lock. folio_add_lru() sets it (the kernel's per-CPU batch sets
 * it at its drain, which migrate_pages(2) and move_pages(2) force with
 * lru_cache_disable(); here at once); folio_isolate_lru() is its
 * test-and-clear, an RMW on the flags of the struct page whose line also
 * holds a small folio's _refcount, so that of two isolations (migration,
 * collapse) one fails; folio_putback_lru() sets it again and drops the
 * isolation's reference. A free clears it with the other flags.
 */
void folio_add_lru(struct folio *folio);

static __always_inline bool folio_isolate_lru(struct folio *folio)
{
	if (!test_and_clear_bit(PG_lru, folio_flags(folio)))
		return false;
	folio_get(folio);
	return true;
}

static __always_inline void folio_putback_lru(struct folio *folio)
{
	folio_add_lru(folio);
	folio_put(folio);
}

/* The shared zero page: never refcounted or pinned by GUP (>= 2023). */
extern struct page *zero_page;

static __always_inline bool is_zero_folio(struct folio *folio)
{
	return &folio->page == zero_page;
}

/* ---- page tables: entries, bits and tables ---- */

#define _PAGE_PRESENT	BIT(0)
#define _PAGE_RW	BIT(1)
#define _PAGE_DIRTY	BIT(6)
#define _PAGE_PSE	BIT(7)		/* PMD leaf (THP) */
#define _PAGE_PROTNONE	BIT(8)		/* NUMA hinting: not accessible */
#define _PAGE_SPECIAL	BIT(9)		/* no struct page to refcount */
#define _PAGE_DEVMAP	BIT(10)		/* ZONE_DEVICE pfn */
#define _PAGE_TABLE	BIT(11)		/* points to a lower table */
/* Non-present swap-type entries. */
#define _SWP_MIGRATION	BIT(2)		/* migration entry */
#define _SWP_MIG_WRITE	BIT(3)		/* writable migration entry */
#define _SWP_MIG_EXCL	BIT(4)		/* readable_exclusive migration entry */
#define PTE_PFN_SHIFT	PAGE_SHIFT

typedef struct { unsigned long pte; } pte_t;
typedef struct { unsigned long pmd; } pmd_t;

static __always_inline unsigned long pte_val(pte_t pte) { return pte.pte; }
static __always_inline unsigned long pmd_val(pmd_t pmd) { return pmd.pmd; }
static __always_inline pte_t __pte(unsigned long v) { return (pte_t){ v }; }
static __always_inline pmd_t __pmd(unsigned long v) { return (pmd_t){ v }; }

static __always_inline bool pte_none(pte_t pte) { return !pte.pte; }
static __always_inline bool pte_present(pte_t pte)
{
	return pte.pte & (_PAGE_PRESENT | _PAGE_PROTNONE);
}
static __always_inline bool pte_protnone(pte_t pte)
{
	return (pte.pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;
}
static __always_inline bool pte_write(pte_t pte) { return pte.pte & _PAGE_RW; }
static __always_inline bool pte_dirty(pte_t pte) { return pte.pte & _PAGE_DIRTY; }
static __always_inline bool pte_special(pte_t pte) { return pte.pte & _PAGE_SPECIAL; }
static __always_inline bool pte_devmap(pte_t pte) { return pte.pte & _PAGE_DEVMAP; }
static __always_inline unsigned long pte_pfn(pte_t pte)
{
	return pte.pte >> PTE_PFN_SHIFT;
}
static __always_inline struct page *pte_page(pte_t pte)
{
	return pfn_to_page(pte_pfn(pte));
}
static __always_inline bool is_migration_entry(pte_t pte)
{
	return !pte_present(pte) && (pte.pte & _SWP_MIGRATION);
}
static __always_inline pte_t pfn_pte(unsigned long pfn, unsigned long prot)
{
	return __pte((pfn << PTE_PFN_SHIFT) | prot);
}
static __always_inline pte_t pte_wrprotect(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_RW);
}
static __always_inline pte_t pte_mkclean(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_DIRTY);
}

/*
 * pte_access_permitted(): present (not protnone) and, for a write,
 * writable. GUP-fast uses it to refuse what needs a fault.
 */
static __always_inline bool pte_access_permitted(pte_t pte, bool write)
{
	if ((pte.pte & _PAGE_PRESENT) == 0)
		return false;
	return !write || pte_write(pte);
}

static __always_inline bool pmd_none(pmd_t pmd) { return !pmd.pmd; }
static __always_inline bool pmd_present(pmd_t pmd)
{
	return pmd.pmd & (_PAGE_PRESENT | _PAGE_PROTNONE);
}
static __always_inline bool pmd_leaf(pmd_t pmd) { return pmd.pmd & _PAGE_PSE; }
static __always_inline bool pmd_protnone(pmd_t pmd)
{
	return (pmd.pmd & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;
}
static __always_inline bool pmd_write(pmd_t pmd) { return pmd.pmd & _PAGE_RW; }
static __always_inline unsigned long pmd_pfn(pmd_t pmd)
{
	return pmd.pmd >> PTE_PFN_SHIFT;
}
static __always_inline struct page *pmd_page(pmd_t pmd)
{
	return pfn_to_page(pmd_pfn(pmd));
}
static __always_inline bool pmd_access_permitted(pmd_t pmd, bool write)
{
	if ((pmd.pmd & _PAGE_PRESENT) == 0)
		return false;
	return !write || pmd_write(pmd);
}

/*
 * One page-table page of any level: 512 entries read locklessly by
 * GUP-fast, plus its split PT lock (the kernel keeps it in the ptdesc).
 * Upper levels store a pointer to the lower table | _PAGE_TABLE|PRESENT.
 */
struct pt_table {
	unsigned long e[PTRS_PER_TABLE];
	spinlock_t ptl;
	/*
	 * A PMD table: the PTE tables deposited for its THP leaves
	 * (pgtable_trans_huge_deposit(), the kernel's pmd_huge_pte list),
	 * one per leaf, so that splitting a PMD never allocates. A
	 * deposited table: the next one in that list.
	 */
	struct pt_table *huge_pte;
} __aligned(4096);

static __always_inline unsigned int pgd_index(unsigned long a)
{
	return (a >> PGDIR_SHIFT) & (PTRS_PER_TABLE - 1);
}
static __always_inline unsigned int pud_index(unsigned long a)
{
	return (a >> PUD_SHIFT) & (PTRS_PER_TABLE - 1);
}
static __always_inline unsigned int pmd_index(unsigned long a)
{
	return (a >> PMD_SHIFT) & (PTRS_PER_TABLE - 1);
}
static __always_inline unsigned int pte_index(unsigned long a)
{
	return (a >> PAGE_SHIFT) & (PTRS_PER_TABLE - 1);
}
static __always_inline struct pt_table *entry_table(unsigned long e)
{
	return (struct pt_table *)(e & ~(PAGE_SIZE - 1));
}
static __always_inline bool entry_is_table(unsigned long e)
{
	return (e & (_PAGE_TABLE | _PAGE_PRESENT)) ==
	       (_PAGE_TABLE | _PAGE_PRESENT);
}

/* The end of @addr's PMD range, or @end if that comes first. */
static __always_inline unsigned long pmd_addr_end(unsigned long addr,
						  unsigned long end)
{
	unsigned long boundary = (addr + PMD_SIZE) & ~(PMD_SIZE - 1);

	return boundary - 1 < end - 1 ? boundary : end;
}

/* The table that holds *pmdp (the kernel's pmd_ptdesc()). */
static __always_inline struct pt_table *pmd_table_of(pmd_t *pmdp)
{
	return (struct pt_table *)((unsigned long)pmdp & ~(PAGE_SIZE - 1));
}

/* The split PT lock of the table that holds *pmdp (pmd_lockptr()). */
static __always_inline spinlock_t *pmd_lockptr(pmd_t *pmdp)
{
	return &pmd_table_of(pmdp)->ptl;
}

struct mm_struct;
/* pte_alloc_one()/pte_free(): a zeroed PTE table, counted in the mm. */
struct pt_table *pte_alloc_one(struct mm_struct *mm);
void pte_free(struct mm_struct *mm, struct pt_table *t);
/* Keep a PTE table for the THP leaf at *pmdp; take one back. PMD lock. */
void pgtable_trans_huge_deposit(pmd_t *pmdp, struct pt_table *pgtable);
struct pt_table *pgtable_trans_huge_withdraw(pmd_t *pmdp);

/* ptep_get_lockless(): one READ_ONCE on 64-bit. */
static __always_inline pte_t ptep_get(pte_t *ptep)
{
	return __pte(READ_ONCE(ptep->pte));
}
/*
 * Entries that may point to a lower table are read as the kernel reads
 * them, with READ_ONCE, whose address dependency orders the reads of the
 * table after the stores that filled it (pmd_install()'s smp_wmb() and
 * the publishing cmpxchg here). C11 has no usable consume order; acquire
 * is the same plain load on x86 and tells ThreadSanitizer about the order.
 */
static __always_inline unsigned long table_entry_get(unsigned long *slot)
{
	return smp_load_acquire(slot);
}

static __always_inline pmd_t pmdp_get(pmd_t *pmdp)
{
	return __pmd(table_entry_get(&pmdp->pmd));
}
static __always_inline void set_pte(pte_t *ptep, pte_t pte)
{
	WRITE_ONCE(ptep->pte, pte.pte);
}
static __always_inline void set_pmd(pmd_t *pmdp, pmd_t pmd)
{
	WRITE_ONCE(pmdp->pmd, pmd.pmd);
}
/* ptep_get_and_clear(): xchg, as x86 does for a present PTE. */
static __always_inline pte_t ptep_get_and_clear(pte_t *ptep)
{
	return __pte(xchg(&ptep->pte, 0UL));
}

/* ---- struct mm_struct, VMAs ---- */

#define VM_READ		BIT(0)
#define VM_WRITE	BIT(1)
#define VM_SHARED	BIT(3)		/* MAP_SHARED file-like mapping */
#define VM_HUGEPAGE	BIT(4)		/* PMD-mapped THP */
#define VM_DEVMAP	BIT(5)		/* ZONE_DEVICE pfns (fsdax-like) */

#define MMF_HAS_PINNED	0	/* mm->flags bit: some FOLL_PIN happened */

/* one per private region, so one per pinner thread: room for big boxes */
#define MM_MAX_VMAS	1024

struct vm_area_struct {
	unsigned long vm_start, vm_end;
	unsigned long vm_flags;
	struct dev_pagemap *pgmap;	/* VM_DEVMAP: the backing device */
	unsigned long dev_pfn;		/* VM_DEVMAP: pfn mapped at vm_start */
};

struct gup_scheme;

/* Where mm operations call out to tests and torture (debug only). */
enum gup_debug_point {
	GUP_DP_FAST_AFTER_READ,		/* PTE read, before the grab */
	GUP_DP_FAST_AFTER_GRAB,		/* grabbed, before the recheck */
	GUP_DP_FAST_END,		/* walk done, before seq retry */
	GUP_DP_MIGRATE_UNMAPPED,	/* migration entries in place */
	GUP_DP_MIGRATE_CHECKED,		/* refs as expected: it moves */
	GUP_DP_MIGRATE_RESTORED,	/* a batch failed, old PTEs back */
	GUP_DP_MIGRATE_RETRY,		/* a pass failed (-EAGAIN) */
	GUP_DP_MIGRATE_REMAPPED,	/* new PTE to the still-locked dst */
	GUP_DP_FORK_CHECKED,		/* fork decided to share, PTE still RW */
	GUP_DP_FORK_COPIED,		/* fork inside write_protect_seq */
	GUP_DP_MKCLEAN_LOCKED,
	GUP_DP_HUGE_FAULT_LOCKED,	/* THP fault: PMD none under its lock */
	GUP_DP_COLLAPSE_CLEARED,	/* PMD cleared, walkers waited out */
	GUP_DP_COLLAPSE_COPIED,		/* isolated and copied, old PTEs up */
	GUP_DP_COW_COPIED,		/* COW copy made, PT lock dropped */
	GUP_DP_MAX,
};

struct mm_struct {
	struct pt_table *pgd;		/* read-mostly: GUP-fast walks it */
	const struct gup_scheme *scheme; /* the pinning scheme in force */
	void (*debug_hook)(struct mm_struct *mm, enum gup_debug_point dp,
			   unsigned long addr, void *arg);
	void *debug_arg;
	unsigned long flags ____cacheline_aligned; /* MMF_* bits */
	/*
	 * 5.9-5.12's atomic_t mm->has_pinned, beside mm_count (5.11-5.12
	 * near write_protect_seq): every FOLL_PIN call stored 1 to it, read
	 * or not, until "only set if not set" and MMF_HAS_PINNED (5.13).
	 * Its own line here: the store's bounce between pinners, not its
	 * neighbours'.
	 */
	atomic_t has_pinned ____cacheline_aligned;
	/* fork's write side; GUP-fast FOLL_PIN reads it twice per call */
	seqcount_t write_protect_seq ____cacheline_aligned;
	pthread_rwlock_t mmap_lock ____cacheline_aligned;
	/*
	 * The anon_vma's rwsem, one for the whole mm: rmap walks that run
	 * without mmap_lock (migration's unmap and remap) take it shared,
	 * collapse takes it exclusive while the PMD is cleared.
	 */
	pthread_rwlock_t anon_vma_lock;
	/*
	 * The anon_vma chain: a root mm (anon_parent NULL) lists every mm
	 * forked from it or from its descendants (anon_vma_fork()), whose
	 * PTEs may map its anon folios, linked under the root's
	 * anon_vma_lock for write and walked under it for read by
	 * migration's rmap walks (try_to_migrate(), remove_migration_ptes()).
	 * A child is unlinked when it exits, after its PTEs are zapped and
	 * before its tables are freed.
	 */
	struct mm_struct *anon_parent;
	struct mm_struct *anon_children;
	struct mm_struct *anon_sibling;
	atomic_long_t nr_tables;	/* page-table pages allocated */
	/*
	 * Other threads walk this mm (mm_cpumask has CPUs besides the
	 * caller's): a TLB flush interrupts them and waits for their irq-off
	 * sections, see flush_tlb_mm(). Set by whoever shares the mm among
	 * threads and wants that cost (the benchmark, tests/test_flush.c);
	 * a fork child, which no CPU has loaded, torture and the other
	 * tests leave it false.
	 */
	bool ipi_flush;
	/*
	 * mm_writeback_start() leaves out its pin query (it returns 0), which
	 * only the tests and torture read; the kernel's writeback never asks
	 * folio_maybe_dma_pinned(). Set by the benchmark.
	 */
	bool wb_no_pin_query;
	/*
	 * The file's backing device wants stable pages during writeback
	 * (mapping_stable_writes(): integrity checksums, some RAID): a write
	 * fault on a shared page under writeback waits for it
	 * (folio_wait_stable()). Off by default, as for most block devices.
	 */
	bool stable_writes;
	/*
	 * The xa_lock of the file behind the VM_SHARED mappings (one file
	 * per mm; a file folio's ->mapping is its mm): a folio that becomes
	 * dirty (__folio_mark_dirty()) and a writeback's start and end
	 * (__folio_start_writeback(), __folio_end_writeback()) take it to
	 * move the folio's tags, so pinners that re-dirty different pages of
	 * the file and the writeback all meet on it.
	 */
	spinlock_t i_pages_lock ____cacheline_aligned;
	int nr_vmas;
	/* last: mm_alloc() clears only what is above it */
	struct vm_area_struct vmas[MM_MAX_VMAS];
};

/*
 * Deliberately broken variants for torture's self-test. They exist only
 * where GUP_MUTANTS is defined (the build/mut test tree); elsewhere
 * GUP_MUTANT() is a constant false and the code is gone.
 */
enum gup_mutant {
	GUP_MUT_NONE,
	GUP_MUT_NO_PTE_RECHECK,		/* gup_fast skips the PMD/PTE recheck */
	GUP_MUT_BIAS_UNPIN_SUB1,	/* unpin subtracts 1, not the bias */
	GUP_MUT_FORK_SHARES_PINNED,	/* fork shares a maybe-pinned page */
	GUP_MUT_ANONEXCL_NO_SEQ,	/* anonexcl ignores write_protect_seq */
	GUP_MUT_MIGRATE_IGNORES_REFS,	/* migration moves a referenced folio */
	GUP_MUT_PAGELOCK_NO_TRYLOCK,	/* pagelock ignores a failed trylock */
	GUP_MUT_NO_PMD_RECHECK,		/* no PMD recheck, no collapse sync */
	GUP_MUT_FORK_COPIES_MIG_ENTRY,	/* 5.x fork copies migration entries */
	GUP_MUT_MAX,
};

#ifdef GUP_MUTANTS
extern int gup_mutant;
#define GUP_MUTANT(m)	unlikely(READ_ONCE(gup_mutant) == GUP_MUT_##m)
#else
#define GUP_MUTANT(m)	0
#endif

/* Call out at a debug point; compiled into the walk as one test. */
void gup_debug_point(struct mm_struct *mm, enum gup_debug_point dp,
		     unsigned long addr);

static __always_inline void mm_debug(struct mm_struct *mm,
				     enum gup_debug_point dp,
				     unsigned long addr)
{
	if (unlikely(READ_ONCE(mm->debug_hook) != NULL))
		gup_debug_point(mm, dp, addr);
}

/* mm_set_has_pinned_flag(): read first, to avoid bouncing the line. */
static __always_inline void mm_set_has_pinned_flag(struct mm_struct *mm)
{
	if (!test_bit(MMF_HAS_PINNED, &mm->flags))
		set_bit(MMF_HAS_PINNED, &mm->flags);
}

/* Whether a FOLL_PIN ever happened on @mm (fork asks; mmops.c) */
bool mm_has_pinned(struct mm_struct *mm);

/* 5.9-5.12: atomic_set(&mm->has_pinned, 1) on every FOLL_PIN call */
static __always_inline void mm_store_has_pinned(struct mm_struct *mm)
{
	atomic_set(&mm->has_pinned, 1);
}

static inline void mmap_read_lock(struct mm_struct *mm)
{
	pthread_rwlock_rdlock(&mm->mmap_lock);
}
static inline void mmap_read_unlock(struct mm_struct *mm)
{
	pthread_rwlock_unlock(&mm->mmap_lock);
}
static inline void mmap_write_lock(struct mm_struct *mm)
{
	pthread_rwlock_wrlock(&mm->mmap_lock);
}
static inline void mmap_write_unlock(struct mm_struct *mm)
{
	pthread_rwlock_unlock(&mm->mmap_lock);
}
/*
 * The mm whose anon_vma is the root of @mm's chain: every fork links its
 * child to the root (anon_vma_fork() links the child's VMA into each
 * anon_vma of the parent's chain, the root's included), and the root's
 * lock is the chain's (anon_vma_lock_*() take anon_vma->root's rwsem).
 */
static inline struct mm_struct *anon_vma_root(struct mm_struct *mm)
{
	struct mm_struct *root = READ_ONCE(mm->anon_parent);

	return root ? root : mm;
}

/* Each mm an rmap walk visits: the root @root, then every mm forked from it. */
#define for_each_rmap_mm(m, root)					\
	for ((m) = (root); (m);						\
	     (m) = (m) == (root) ? (root)->anon_children : (m)->anon_sibling)

static inline void anon_vma_lock_read(struct mm_struct *mm)
{
	pthread_rwlock_rdlock(&anon_vma_root(mm)->anon_vma_lock);
}
static inline void anon_vma_unlock_read(struct mm_struct *mm)
{
	pthread_rwlock_unlock(&anon_vma_root(mm)->anon_vma_lock);
}
static inline void anon_vma_lock_write(struct mm_struct *mm)
{
	pthread_rwlock_wrlock(&anon_vma_root(mm)->anon_vma_lock);
}
static inline void anon_vma_unlock_write(struct mm_struct *mm)
{
	pthread_rwlock_unlock(&anon_vma_root(mm)->anon_vma_lock);
}

/* ---- GUP flags and per-thread statistics ---- */

#define FOLL_WRITE	BIT(0)
#define FOLL_GET	BIT(1)
#define FOLL_PIN	BIT(2)
#define FOLL_LONGTERM	BIT(3)
#define FOLL_FAST_ONLY	BIT(4)
#define FOLL_TOUCH	BIT(5)
#define FOLL_PCI_P2PDMA	BIT(6)	/* the caller takes P2PDMA pages (6.2+) */

/* What one thread's GUP calls did; the engine reports these. */
struct gup_stats {
	unsigned long fast_pages;	/* pages taken by GUP-fast */
	unsigned long slow_calls;	/* calls that entered the slow path */
	unsigned long slow_pages;	/* pages taken by the slow path */
	unsigned long fast_undo;	/* grabs undone: recheck/unshare */
	unsigned long seq_retry;	/* write_protect_seq changed: unpin all */
	unsigned long faults;		/* slow-path faults (incl. unshare) */
	unsigned long unshares;		/* FAULT_FLAG_UNSHARE faults */
	unsigned long cow_copies;	/* pages copied by COW or unshare */
	unsigned long retries;		/* slow-path lookups repeated */
	unsigned long pagelock_waits;	/* slept on a page lock */
	unsigned long errors;		/* calls that returned < nr pages */
} ____cacheline_aligned;

/* ---- page lock: PG_locked + PG_waiters, hashed wait queues, futex ---- */

/*
 * Page-lock owner tracking for torture: when folio_lock_debug is set,
 * every acquisition and release is checked against a per-pfn owner
 * table (filemap.c). One predictable branch when it is off.
 */
extern bool folio_lock_debug;
void folio_lock_track(struct folio *folio, bool lock);
void folio_lock_tracking(long *owner,
			 void (*bad)(struct folio *folio, long owner, bool lock));
long folio_lock_token(void);		/* this thread's owner token */

static __always_inline void folio_lock_note(struct folio *folio, bool lock)
{
	if (unlikely(READ_ONCE(folio_lock_debug)))
		folio_lock_track(folio, lock);
}

static __always_inline bool folio_trylock(struct folio *folio)
{
	if (unlikely(test_and_set_bit_lock(PG_locked, folio_flags(folio))))
		return false;
	folio_lock_note(folio, true);
	return true;
}

static __always_inline bool folio_test_locked(struct folio *folio)
{
	return test_bit(PG_locked, folio_flags(folio));
}

void __folio_lock(struct folio *folio);
void folio_wake_bit(struct folio *folio, int bit_nr);
/* Sleep until PG_locked is clear, without taking the lock. */
void folio_wait_locked(struct folio *folio);
unsigned long folio_lock_sleeps(void);	/* sleeps by this thread */
/* Queue on @folio's lock while holding @ptl; drop it; sleep. */
void migration_entry_wait_on_locked(struct folio *folio, spinlock_t *ptl);
/* Sleep until PG_writeback is clear (folio_wait_writeback()). */
void folio_wait_writeback(struct folio *folio);
/* Set PG_writeback (folio locked; the file's i_pages lock around it). */
void folio_start_writeback(struct folio *folio);
/* Clear PG_writeback, wake its waiters, drop the writeback's reference. */
void folio_end_writeback(struct folio *folio);
/* Waiters found queued with PG_locked and PG_waiters clear (never woken). */
long folio_wait_lost(void);
/* folio_mark_dirty(): true if the folio became dirty. */
bool folio_mark_dirty(struct folio *folio);

static __always_inline bool folio_test_dirty(struct folio *folio)
{
	return test_bit(PG_dirty, folio_flags(folio));
}

static __always_inline void folio_lock(struct folio *folio)
{
	if (!folio_trylock(folio)) {
		__folio_lock(folio);
		folio_lock_note(folio, true);
	}
}

/* folio_unlock(): one release RMW that also reports PG_waiters. */
static __always_inline void folio_unlock(struct folio *folio)
{
	folio_lock_note(folio, false);
	if (xor_unlock_is_negative_byte(BIT(PG_locked), folio_flags(folio)))
		folio_wake_bit(folio, PG_locked);
}

/* ---- ZONE_DEVICE: dev_pagemap and its percpu_ref ---- */

/*
 * Per-CPU counters: one slot per registered thread, at most one live
 * thread per slot (the kernel's per-CPU counters never have two writers
 * at once). Slot 0 is for threads that never registered.
 */
#define PERCPU_REF_SLOTS	2048
#define GUP_THREADS_MAX		(PERCPU_REF_SLOTS - 1)
#define __PERCPU_REF_ATOMIC	1UL
#define __PERCPU_REF_DEAD	2UL
/*
 * While the ref is per-CPU the atomic count carries a bias, so that puts
 * that reach it during the switch to atomic mode (before the slots are
 * folded in) can neither take it to zero nor below: the fold adds the
 * slots' sum less the bias. lib/percpu-refcount.c uses the top bit with
 * unsigned wrap-around; the model uses the bit below it so that the
 * signed count stays positive and percpu_ref_put_slow()'s negative-count
 * WARN keeps its meaning.
 */
#define PERCPU_COUNT_BIAS	(1L << (BITS_PER_LONG - 2))

/* One thread's slot of a percpu_ref: written by its owner only. */
struct percpu_ref_slot {
	long count;
	int in_section;		/* inside the rcu-sched-like section */
} ____cacheline_aligned;

struct percpu_ref {
	unsigned long state;		/* __PERCPU_REF_ATOMIC|DEAD */
	atomic_long_t count ____cacheline_aligned; /* atomic mode */
	struct percpu_ref_slot slot[PERCPU_REF_SLOTS];
};

/* enum memory_type: the model's device is fsdax; P2PDMA is for the test */
enum memory_type {
	MEMORY_DEVICE_FS_DAX = 3,
	MEMORY_DEVICE_PCI_P2PDMA = 5,
};

struct dev_pagemap {
	struct percpu_ref ref;
	/*
	 * 4.5's pgmap->ref was a pointer to the driver's percpu_ref (pmem:
	 * its request queue's q_usage_counter): devmap_perget reaches the
	 * same ref through it, one dependent load more.
	 */
	struct percpu_ref *ref_v45;
	unsigned long start_pfn, end_pfn;	/* [start, end) */
	enum memory_type type;		/* is_pci_p2pdma_page() reads it */
	/*
	 * kill_dax(): the device behind the pgmap is gone (the kernel keeps
	 * this in the dax_device, dax_alive()); faults on it fail.
	 */
	int dead;
};

/* The calling thread's percpu slot ("smp_processor_id()"). */
extern __thread unsigned int gup_cpu;
/*
 * Give the calling thread a percpu slot no live thread has (it keeps the
 * one it has); the slot is freed when the thread exits. More than
 * GUP_THREADS_MAX registered threads at once abort the process.
 */
void gup_thread_register(void);

/*
 * GUP-fast's local_irq_save()/local_irq_restore(). In the kernel,
 * interrupts off keep a page table from being freed or reused under the
 * lockless walk: whoever retires a table first sends an IPI, or, with
 * MMU_GATHER_RCU_TABLE_FREE, waits for an RCU-sched grace period or calls
 * tlb_remove_table_sync_one() (khugepaged's collapse does), and neither
 * completes while a CPU has interrupts off. Here each percpu slot has a
 * sequence count, odd while its thread is inside such a section; the
 * reader pays two plain stores (and compiler barriers), and
 * tlb_remove_table_sync_one() does membarrier(2) and waits until every
 * slot it found odd has moved on. A section inside a section (a debug
 * hook that walks) leaves the count alone. Threads that never registered
 * share slot 0, so only one of them may walk while a collapse runs.
 */
struct irq_section {
	unsigned long seq;	/* odd: interrupts "off" */
} ____cacheline_aligned;

extern struct irq_section irq_sections[PERCPU_REF_SLOTS];

/* flags: the slot to restore, or 0 when nested */
static __always_inline unsigned long __local_irq_save(void)
{
	struct irq_section *s = &irq_sections[gup_cpu];
	unsigned long seq = s->seq;

	if (seq & 1)
		return 0;	/* nested: already off */
	WRITE_ONCE(s->seq, seq + 1);
	barrier();
	return (unsigned long)s;
}

static __always_inline void __local_irq_restore(unsigned long flags)
{
	struct irq_section *s = (struct irq_section *)flags;

	barrier();
	if (s)
		WRITE_ONCE(s->seq, s->seq + 1);
}

#define local_irq_save(flags)		((flags) = __local_irq_save())
#define local_irq_restore(flags)	__local_irq_restore(flags)

/*
 * Wait until no thread is still inside a section it entered before the
 * call (mm/mmu_gather.c: an IPI to every CPU, which irq-off sections
 * delay). The caller's own slot is skipped, as a CPU does not wait for
 * itself. It must hold no lock an irq-off section may spin on.
 */
void tlb_remove_table_sync_one(void);

/*
 * x86's flush_tlb_mm()/flush_tlb_page() (ptep_clear_flush(),
 * pmdp_invalidate(), tlb_finish_mmu()): an IPI to every other CPU that
 * runs the mm, which each takes only when its irq-off section (GUP-fast)
 * is over, and the sender waits for all of them. Here that is
 * tlb_remove_table_sync_one(): membarrier(2) interrupts the process's
 * running threads, as the IPIs interrupt the pinners' CPUs, then it waits
 * for every section that was open. Free when no other thread walks the
 * mm (mm->ipi_flush false), as a flush that finds no other CPU in
 * mm_cpumask sends nothing. The caller may hold page-table and folio
 * locks (the kernel does) but nothing a section spins on.
 */
static inline void flush_tlb_mm(struct mm_struct *mm)
{
	if (READ_ONCE(mm->ipi_flush))
		tlb_remove_table_sync_one();
}

static __always_inline void percpu_ref_get_many(struct percpu_ref *ref,
						unsigned long nr)
{
	struct percpu_ref_slot *s = &ref->slot[gup_cpu];

	/* rcu_read_lock_sched(): membarrier pairs with percpu_ref_kill() */
	WRITE_ONCE(s->in_section, 1);
	barrier();
	if (likely(!(READ_ONCE(ref->state) & __PERCPU_REF_ATOMIC)))
		WRITE_ONCE(s->count, s->count + (long)nr);
	else
		atomic_long_add((long)nr, &ref->count);
	barrier();
	WRITE_ONCE(s->in_section, 0);
}

static __always_inline bool percpu_ref_tryget_live(struct percpu_ref *ref)
{
	struct percpu_ref_slot *s = &ref->slot[gup_cpu];
	bool ret = false;
	unsigned long state;

	WRITE_ONCE(s->in_section, 1);
	barrier();
	state = READ_ONCE(ref->state);
	if (likely(!(state & __PERCPU_REF_ATOMIC))) {
		WRITE_ONCE(s->count, s->count + 1);
		ret = true;
	} else if (!(state & __PERCPU_REF_DEAD)) {
		ret = atomic_long_add_unless(&ref->count, 1, 0);
	}
	barrier();
	WRITE_ONCE(s->in_section, 0);
	return ret;
}

void percpu_ref_put_slow(struct percpu_ref *ref, unsigned long nr);

static __always_inline void percpu_ref_put_many(struct percpu_ref *ref,
						unsigned long nr)
{
	struct percpu_ref_slot *s = &ref->slot[gup_cpu];

	WRITE_ONCE(s->in_section, 1);
	barrier();
	if (likely(!(READ_ONCE(ref->state) & __PERCPU_REF_ATOMIC))) {
		WRITE_ONCE(s->count, s->count - (long)nr);
		barrier();
		WRITE_ONCE(s->in_section, 0);
		return;
	}
	barrier();
	WRITE_ONCE(s->in_section, 0);
	percpu_ref_put_slow(ref, nr);
}

#define percpu_ref_get(r)	percpu_ref_get_many((r), 1)
#define percpu_ref_put(r)	percpu_ref_put_many((r), 1)

void percpu_ref_init(struct percpu_ref *ref);
/* Kill: switch to atomic mode, mark dead, drop the initial ref. */
void percpu_ref_kill(struct percpu_ref *ref);
long percpu_ref_sum(struct percpu_ref *ref);	/* quiescent callers */
bool percpu_ref_is_zero(struct percpu_ref *ref);

/*
 * get_dev_pagemap(pfn, cached): cached and in range costs nothing;
 * otherwise xa_load(&pgmap_array, pfn) and percpu_ref_tryget_live().
 */
struct dev_pagemap *get_dev_pagemap(unsigned long pfn,
				    struct dev_pagemap *pgmap);
/*
 * 4.5's get_dev_pagemap(pfn, cached): cached and in range is a blind
 * percpu_ref_get(); otherwise a section-keyed radix_tree_lookup() and
 * percpu_ref_tryget_live().
 */
struct dev_pagemap *get_dev_pagemap_v45(unsigned long pfn,
					struct dev_pagemap *pgmap);
/* Build (at mem_init()) and free the pfn -> pgmap lookup trees. */
int pgmap_index_init(struct dev_pagemap *pgmap, unsigned long phys_pages);
void pgmap_index_exit(void);
/* Levels of pgmap_array a lookup of @pfn walks. */
unsigned int pgmap_lookup_depth(unsigned long pfn);

static __always_inline void put_dev_pagemap(struct dev_pagemap *pgmap)
{
	if (pgmap)
		percpu_ref_put(&pgmap->ref);
}

/* 4.5's put_dev_pagemap(): inline, through the ref pointer */
static __always_inline void put_dev_pagemap_v45(struct dev_pagemap *pgmap)
{
	if (pgmap)
		percpu_ref_put(READ_ONCE(pgmap->ref_v45));
}

/*
 * 4.5's get_page()/put_page() on a ZONE_DEVICE page call these, exported
 * out of line from kernel/memremap.c: a pgmap ref per page ref.
 */
void get_zone_device_page_v45(struct page *page, int refs);
void put_zone_device_page_v45(struct page *page, int refs);

/* ---- vmstat: NR_FOLL_PIN_ACQUIRED/RELEASED (mm/vmstat.c) ---- */

enum node_stat_item {
	NR_FOLL_PIN_ACQUIRED,
	NR_FOLL_PIN_RELEASED,
	NR_VM_NODE_STAT_ITEMS
};

/* The node's counters; the model's struct pages are all on node 0. */
struct pglist_data {
	atomic_long_t vm_stat[NR_VM_NODE_STAT_ITEMS] ____cacheline_aligned;
};

#define MAX_NUMNODES	64
#define NODES_PGSHIFT	(BITS_PER_LONG - 6)	/* page->flags' node field */
#define NODES_MASK	(MAX_NUMNODES - 1UL)

extern struct pglist_data *node_data[MAX_NUMNODES];

static __always_inline int page_to_nid(const struct page *page)
{
	return (int)((READ_ONCE(page->flags) >> NODES_PGSHIFT) & NODES_MASK);
}

/*
 * mod_node_page_state(): the out-of-line call every pin and unpin makes
 * (node_stat_mod_folio() in try_grab_folio*() and gup_put_folio()): a
 * per-CPU s8 differential updated by a local (unlocked) cmpxchg, folded
 * into the node's and the global counter (two atomic adds on shared
 * lines) when it passes the threshold.
 */
void mod_node_page_state(struct pglist_data *pgdat, enum node_stat_item item,
			 long delta);

static __always_inline void node_stat_mod_folio(struct folio *folio,
						enum node_stat_item item,
						long nr)
{
	mod_node_page_state(node_data[page_to_nid(&folio->page)], item, nr);
}

/* ---- memory set-up ---- */

/*
 * Where the device's pages sit for the pfn -> pgmap lookup: a 16 GiB
 * namespace at 64 GiB physical, above the DRAM of a small server, where
 * pmem and CXL windows sit. The model's own pfns are small, and the
 * model's device only a few pages, which would make the lookup tree up
 * to three levels deeper than a real namespace's.
 */
#define DEVMAP_PHYS_PFN		(1UL << (36 - PAGE_SHIFT))
#define DEVMAP_PHYS_PAGES	(1UL << (34 - PAGE_SHIFT))

/*
 * Memory layout for one run: how many order-0 pages, THP folios and
 * device pages the vmemmap holds. The caller may supply the vmemmap
 * storage (e.g. bound to a NUMA node); otherwise it is allocated here.
 */
struct mem_config {
	unsigned long nr_small;		/* order-0 pages incl. spares */
	unsigned long nr_thp;		/* 512-page folios */
	unsigned long nr_device;	/* ZONE_DEVICE pages */
	/*
	 * The device's physical range for the pfn -> pgmap lookup, in
	 * pages (>= nr_device); 0: DEVMAP_PHYS_PAGES. The pages past
	 * nr_device exist only as keys.
	 */
	unsigned long dev_phys_pages;
	bool page_ext;			/* allocate the page_ext array */
	/*
	 * Per-CPU list batch (high is 4x); 0: zone_batchsize() of
	 * nr_small: 1 below 16384 pages, 63 from 4 Mi pages (16 GiB) up.
	 */
	unsigned long pcp_batch;
	void *(*alloc)(size_t size, void *arg);	/* NULL: aligned_alloc */
	void (*free)(void *p, size_t size, void *arg);
	void *alloc_arg;
};

int mem_init(const struct mem_config *cfg);
void mem_exit(void);
size_t mem_vmemmap_bytes(const struct mem_config *cfg);
/*
 * alloc_page(): a fresh order-0 folio, ref 1, contents zero, or NULL;
 * the caller fills it and calls __folio_mark_uptodate() before mapping it.
 */
struct folio *folio_alloc(void);
struct folio *folio_alloc_thp(void);
unsigned long mem_nr_free(void);
/* A per-CPU slot's page list back to the zone (its thread exits). */
void mem_pcp_drain(unsigned int slot);
/* pcp batch of a zone of 16 GiB or more (zone_batchsize()) */
#define PCP_BATCH_LARGE	63
/*
 * Spare pages per thread for its per-CPU list with @batch: high (4 x
 * batch), a batch and one more, more than a list ever holds.
 */
static inline unsigned long mem_pcp_spare(unsigned long batch)
{
	return 5 * batch + 1;
}
unsigned long mem_nr_free_thp(void);
/* ZONE_DEVICE: the pgmap covering the device pages (NULL if none). */
extern struct dev_pagemap *mem_pgmap;
/* devmap_single: pages hold one pgmap ref while alive (4.13-5.17). */
void mem_devmap_set_page_refs(bool per_page_ref);
/*
 * Mark the device dead (kill_dax()): a fault that has not mapped its
 * page yet fails, so after this and a zap of the device's mappings none
 * comes back. Drivers do this before memunmap_pages().
 */
void mem_devmap_kill(void);
/* memunmap_pages(): mark the device dead if it is not, kill the pgmap
 * ref, drop the pages' refs. */
void mem_devmap_teardown(void);

/* Poison check: a freed page touched later is reported here. */
bool page_is_poisoned(const struct page *page);
/*
 * Allocations that found a free page's poison disturbed (a write after
 * free), and the pfn of the last one.
 */
long mem_poison_touched(unsigned long *last_pfn);
/*
 * Called with each order-0 page allocated (@alloc true, after it is set
 * up) and freed (false, before it is poisoned); NULL: off. For torture's
 * per-page logs; set it only while no other thread runs.
 */
extern void (*mem_page_hook)(struct page *page, bool alloc);

/* ---- mm set-up, mapping, faults ---- */

struct mm_struct *mm_alloc(const struct gup_scheme *scheme);
/* zaps everything, leaves the anon_vma chain, frees tables (children first) */
void mm_free(struct mm_struct *mm);
/*
 * __split_huge_pmd(): turn the anon THP leaf at *pmdp into a PTE table
 * that maps the same 512 subpages with the same rights (the folio stays
 * whole, now PTE-mapped: one reference and one mapping per PTE). Takes
 * the PMD lock; nothing to do if *pmdp is no longer a leaf.
 */
void split_huge_pmd(struct mm_struct *mm, pmd_t *pmdp);
/* PMD leaves split since start-up (the kernel's thp_split_pmd event). */
unsigned long thp_split_pmd_events(void);

/* mmap a VMA at addr (2 MiB aligned for VM_HUGEPAGE); 0 or -errno. */
int mm_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
	    unsigned long vm_flags);
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);
/* MADV_HUGEPAGE of a whole PMD-aligned anon VMA; 0 or -EINVAL. */
int mm_madvise_hugepage(struct mm_struct *mm, unsigned long addr,
			unsigned long len);
/* Fault in [addr, addr+len) for write (populate, like MAP_POPULATE). */
int mm_populate(struct mm_struct *mm, unsigned long addr, unsigned long len);

/* Walk helpers: find (and with alloc create) the PTE/PMD slot. */
pmd_t *mm_find_pmd(struct mm_struct *mm, unsigned long addr, bool alloc);
pte_t *mm_find_pte(struct mm_struct *mm, unsigned long addr, bool alloc,
		   spinlock_t **ptl);

/* handle_mm_fault() flags */
#define FAULT_FLAG_WRITE	BIT(0)
#define FAULT_FLAG_UNSHARE	BIT(1)

/*
 * handle_mm_fault(): called with mmap_lock held for read. Fills a none
 * PTE, waits for a migration entry, breaks COW for a write or unshares
 * for FAULT_FLAG_UNSHARE. 0, -EAGAIN (retry the lookup) or -EFAULT.
 */
int handle_mm_fault(struct mm_struct *mm, unsigned long addr,
		    unsigned int fault_flags, struct gup_stats *st);

/* The PTE, or PMD leaf, slot that maps @addr (lockless), or NULL. */
pte_t *mm_find_entry(struct mm_struct *mm, unsigned long addr, bool *leaf);

/* The page entry @pte maps at @addr (a PMD leaf maps 512 of them). */
static inline struct page *entry_page(pte_t pte, bool leaf,
				      unsigned long addr)
{
	if (leaf)
		return pmd_page(__pmd(pte_val(pte))) +
		       ((addr & (PMD_SIZE - 1)) >> PAGE_SHIFT);
	return pte_page(pte);
}
/* The page an address maps now (no reference taken), or NULL. */
struct page *mm_lookup_page(struct mm_struct *mm, unsigned long addr,
			    pte_t *out_pte);

/* ---- competing operations ---- */

/*
 * Speculative page-cache style get (mm.c): add-unless-zero on the folio,
 * then the entry must still map it; the caller folio_put()s it.
 */
struct folio *spec_get_folio(struct mm_struct *mm, unsigned long addr);
/*
 * fork: copy_page_range of every COW VMA into a new child mm, linked to
 * the parent's anon_vma chain (migration's rmap walks visit it).
 */
struct mm_struct *mm_fork(struct mm_struct *parent, unsigned long *copied,
			  unsigned long *shared);
/*
 * migrate one page (migrate_pages for the folio at addr), in @mm and every
 * mm of its anon_vma chain that shares it; 0/-EAGAIN/-EBUSY
 */
int mm_migrate_page(struct mm_struct *mm, unsigned long addr);
/*
 * madvise(MADV_COLLAPSE) of the PMD range around @addr (mmops.c): 0,
 * -EAGAIN (pinned, referenced or locked), -ENOMEM or -EINVAL; @old_pfn
 * (HPAGE_PMD_NR entries, or NULL) gets the pfn each PTE mapped.
 */
int mm_collapse_huge_page(struct mm_struct *mm, unsigned long addr,
			  unsigned long *old_pfn);
unsigned long thp_collapse_events(void);
/* page_mkclean-style writeback of the page at addr (shared VMAs). */
int mm_mkclean_page(struct mm_struct *mm, unsigned long addr);
/*
 * The same, with the I/O left in flight: on success *@wb holds the folio
 * under PG_writeback and a reference; folio_end_writeback() completes it
 * (NULL for a device page: fsdax writeback is a cache flush, no I/O).
 * @poll, if not NULL, is called while the page lock is taken by someone
 * else (the caller completes its own I/O meanwhile, as interrupts would).
 */
int mm_writeback_start(struct mm_struct *mm, unsigned long addr,
		       struct folio **wb, void (*poll)(void *arg), void *arg);
/* mprotect(PROT_READ) of a whole VMA: VM_WRITE off, entries RO. */
int mm_mprotect_ro(struct mm_struct *mm, unsigned long addr,
		   unsigned long len);
/* zap [addr, addr+len): clear PTEs, drop rmaps and refs. */
void mm_zap_range(struct mm_struct *mm, unsigned long addr,
		  unsigned long len);
/* Emulated DMA/CPU write through a pinned page: page->private = val. */
static inline void page_dma_write(struct page *page, unsigned long val)
{
	WRITE_ONCE(page->private, val);
}

/* what copying or clearing one 4 KiB page costs, nothing else */
void copy_page_cost(void);
void clear_page_cost(void);
/* fsdax writeback's flush of one page's lines (arch_wb_cache_pmem()). */
void pmem_flush_cost(void);

/*
 * copy_highpage(): copy the emulated contents. The source may be
 * DMA-written through a pin meanwhile, and the copy is published to
 * GUP-fast without a lock (see __folio_mark_uptodate()): both sides are
 * *_ONCE, as every access to ->private is. The emulated page holds one
 * word; copy_page_cost() copies 4 KiB besides, so that COW, migration,
 * fork's copy of a pinned page and collapse (512 copies under
 * mmap_lock) take as long as the kernel's copy_page() at least.
 */
static inline void copy_highpage(struct page *to, struct page *from)
{
	copy_page_cost();
	WRITE_ONCE(to->private, READ_ONCE(from->private));
}

/*
 * __folio_mark_uptodate(): a new folio's contents are written. The
 * barrier orders them before the set_pte()/set_pmd() that maps the
 * folio; it pairs with the address dependency from GUP-fast's lockless
 * PTE read to the page (do_anonymous_page(), wp_page_copy(),
 * folio_migrate_flags()). Atomic set_bit(): a speculative get may read
 * ->flags of a folio it is racing to grab.
 */
static inline void __folio_mark_uptodate(struct folio *folio)
{
	smp_wmb();
	set_bit(PG_uptodate, folio_flags(folio));
}

#endif /* GUPBENCH_MM_H */
