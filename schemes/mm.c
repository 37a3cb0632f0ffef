// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated mm: the vmemmap and its page allocator (mm/page_alloc.c's
 * prep/free with poisoning), page-table pages, struct mm_struct and its
 * VMAs, and handle_mm_fault(): do_anonymous_page(), the shared-mapping
 * write fault (->page_mkwrite), do_wp_page() COW/reuse/unshare, THP
 * faults and migration-entry waits; the lockless entry lookup and the
 * page-cache style speculative get built on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "gup_common.h"

struct page *vmemmap;
struct page_ext *page_ext_map;		/* every section's entries, packed */
struct mem_section **mem_section;
unsigned long page_ext_size = sizeof(struct page_ext);
struct page_ext_operations page_pincount_ops = {
	.offset = 0, .size = sizeof(struct page_ext),
};

noinline struct page_ext *page_ext_get(const struct page *page)
{
	unsigned long pfn = page_to_pfn(page);
	unsigned long nr = pfn >> PFN_SECTION_SHIFT;
	struct mem_section *root = READ_ONCE(mem_section)[nr / SECTIONS_PER_ROOT];
	unsigned long base = READ_ONCE(root[nr % SECTIONS_PER_ROOT].page_ext);

	/* rcu_read_lock(): free without CONFIG_PREEMPT_RCU */
	if (unlikely(!base || (base & PAGE_EXT_INVALID)))
		return NULL;	/* and rcu_read_unlock() */
	return (struct page_ext *)(base + READ_ONCE(page_ext_size) * pfn);
}

noinline void page_ext_put(struct page_ext *page_ext)
{
	if (unlikely(!page_ext))
		return;
	/* rcu_read_unlock() */
	barrier();
}
static unsigned long nr_section_roots;
unsigned long max_pfn;
struct page *zero_page;
struct dev_pagemap *mem_pgmap;
atomic_long_t gup_warnings;

/* ---- vmstat (mm/vmstat.c) ---- */

static struct pglist_data node0;
struct pglist_data *node_data[MAX_NUMNODES] = { &node0 };
static struct {
	atomic_long_t item[NR_VM_NODE_STAT_ITEMS];
} vm_node_stat ____cacheline_aligned;
/*
 * pcp->stat_threshold: the same for every CPU of the node, set once (at
 * the first mem_init()) and only read after, on a line of its own.
 */
static int stat_threshold ____cacheline_aligned;

/* per_cpu_nodestat's s8 differentials, per "CPU" (thread) */
static __thread struct {
	signed char vm_node_stat_diff[NR_VM_NODE_STAT_ITEMS];
} pcp_nodestat;

/* x86's this_cpu_try_cmpxchg(): cmpxchg with no lock prefix */
static __always_inline bool this_cpu_try_cmpxchg_s8(signed char *p,
						    signed char *old,
						    signed char new)
{
#ifdef GUP_X86_ASM
	bool ok;

	__asm__ __volatile__("cmpxchgb %3, %1"
			     : "=@ccz" (ok), "+m" (*p), "+a" (*old)
			     : "q" (new) : "memory");
	return ok;
#else
	if (*p != *old) {
		*old = *p;
		return false;
	}
	*p = new;
	return true;
#endif
}

/* node_page_state_add(): the node's and the global counter */
static void node_page_state_add(long x, struct pglist_data *pgdat,
				enum node_stat_item item)
{
	atomic_long_add(x, &pgdat->vm_stat[item]);
	atomic_long_add(x, &vm_node_stat.item[item]);
}

/*
 * A page copy's and a page clear's time: 4 KiB between two per-thread
 * buffers, or 4 KiB zeroed, which stay in the thread's cache, so this is
 * a cache-hot page (a cold one costs more in the kernel). The asm keeps
 * the compiler from dropping stores nobody reads.
 */
static __thread unsigned long copy_buf[2][PAGE_SIZE / sizeof(long)];

noinline void copy_page_cost(void)
{
	memcpy(copy_buf[1], copy_buf[0], PAGE_SIZE);
	__asm__ __volatile__("" : : "r" (copy_buf[1]) : "memory");
}

noinline void clear_page_cost(void)
{
	memset(copy_buf[1], 0, PAGE_SIZE);
	__asm__ __volatile__("" : : "r" (copy_buf[1]) : "memory");
}

/*
 * fsdax writeback's cache flush, dax_flush() -> arch_wb_cache_pmem() ->
 * clean_cache_range(): the page written back line by line, clwb where
 * the CPU has it, else clflushopt, else clflush, and no fence (the
 * caller's). The lines are the per-thread buffer's, each dirtied first,
 * as the application's writes dirtied the page's.
 */
noinline void pmem_flush_cost(void)
{
#if defined(__x86_64__)
	static __thread int insn = -1;	/* 2 clwb, 1 clflushopt, 0 clflush */
	char *p = (char *)copy_buf[1];
	unsigned int a, b, c, d, i;

	if (insn < 0) {
		insn = 0;
		if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
			insn = b & (1U << 24) ? 2 : b & (1U << 23) ? 1 : 0;
	}
	for (i = 0; i < PAGE_SIZE; i += 64) {
		WRITE_ONCE(p[i], p[i] + 1);
		if (insn == 2)
			__asm__ __volatile__("clwb %0" : "+m" (p[i]));
		else if (insn == 1)
			__asm__ __volatile__("clflushopt %0" : "+m" (p[i]));
		else
			__asm__ __volatile__("clflush %0" : "+m" (p[i]));
	}
#else
	__asm__ __volatile__("" : : "r" (copy_buf[1]) : "memory");
#endif
}

/* mod_node_state() with overstep_mode 0, as mod_node_page_state() calls it */
noinline void mod_node_page_state(struct pglist_data *pgdat,
				  enum node_stat_item item, long delta)
{
	signed char *p = &pcp_nodestat.vm_node_stat_diff[item];
	signed char o = *p;
	long n, t, z;

	do {
		z = 0;
		t = READ_ONCE(stat_threshold);
		n = delta + (long)o;
		if (labs(n) > t) {
			z = n;	/* overflow goes to the node counters */
			n = 0;
		}
	} while (!this_cpu_try_cmpxchg_s8(p, &o, (signed char)n));
	if (z)
		node_page_state_add(z, pgdat, item);
}

void vmstat_flush_thread(void)
{
	int i;

	for (i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
		long d = pcp_nodestat.vm_node_stat_diff[i];

		if (d) {
			pcp_nodestat.vm_node_stat_diff[i] = 0;
			node_page_state_add(d, node_data[0],
					    (enum node_stat_item)i);
		}
	}
}

long vmstat_foll_pin_balance(void)
{
	return atomic_long_read(&vm_node_stat.item[NR_FOLL_PIN_ACQUIRED]) +
	       pcp_nodestat.vm_node_stat_diff[NR_FOLL_PIN_ACQUIRED] -
	       atomic_long_read(&vm_node_stat.item[NR_FOLL_PIN_RELEASED]) -
	       pcp_nodestat.vm_node_stat_diff[NR_FOLL_PIN_RELEASED];
}

static int vmstat_threshold_init(void);

int vmstat_threshold(void)
{
	if (!stat_threshold)
		stat_threshold = vmstat_threshold_init();
	return stat_threshold;
}

static int fls_long(unsigned long x)
{
	return x ? BITS_PER_LONG - __builtin_clzl(x) : 0;
}

/*
 * The node's stat_threshold: the largest of its zones' (refresh_zone_stat_
 * thresholds()), as this machine's kernel has set them (/proc/zoneinfo's
 * "vm stats threshold", node 0); where that cannot be read,
 * calculate_normal_threshold() over the online CPUs and the memory.
 */
static int vmstat_threshold_init(void)
{
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[256];
	int t = 0, v, node = -1;
	long cpus, mem;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d,", &v) == 1)
			node = v;
		else if (node == 0 &&
			 sscanf(line, " vm stats threshold: %d", &v) == 1 &&
			 v > t)
			t = v;
	}
	if (f)
		fclose(f);
	if (t > 0 && t <= 125)
		return t;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	mem = sysconf(_SC_PHYS_PAGES) >> (27 - PAGE_SHIFT);
	t = 2 * fls_long(cpus > 0 ? (unsigned long)cpus : 1) *
	    (1 + fls_long(mem > 0 ? (unsigned long)mem : 0));
	return min(t, 125);
}

/* A LIFO of free pfns, under a spinlock (zone->lock). */
struct free_area {
	spinlock_t lock;
	unsigned long *pfns;
	unsigned long nr, cap;
};

/*
 * Per-CPU lists of order-0 pages (struct per_cpu_pages; one spinlock
 * each since 5.19, taken with pcp_spin_trylock()): an allocation pops
 * its slot's list, refilled with pcp_batch pages from the zone under
 * its lock when empty (rmqueue_bulk()); a free pushes onto it and, past
 * pcp_high, gives the coldest pcp_batch back (free_pcppages_bulk()). A
 * busy list lock: straight to the zone. The zone empty: every list is
 * drained (drain_all_pages()) and the allocation tried again. THPs go
 * to and from the zone directly (the model has no order-9 pcp lists).
 */
#define PCP_MAX		512
struct per_cpu_pages {
	spinlock_t lock;
	int count;
	unsigned long pfns[PCP_MAX];	/* LIFO: [count - 1] is hottest */
} ____cacheline_aligned;

static struct per_cpu_pages *pcp_lists;	/* PERCPU_REF_SLOTS of them */
static int pcp_batch, pcp_high;

static struct mem_config mem_cfg;
static size_t vmemmap_size, page_ext_bytes;
static struct free_area free_small, free_thp;
static unsigned long dev_next_pfn;
static bool devmap_page_refs;

void __gup_warn(const char *file, int line, const char *cond)
{
	if (atomic_long_add_return(1, &gup_warnings) == 1)
		fprintf(stderr, "gupbench: warning: WARN_ON_ONCE(%s) at %s:%d\n",
			cond, file, line);
}

void gup_debug_point(struct mm_struct *mm, enum gup_debug_point dp,
		     unsigned long addr)
{
	void (*hook)(struct mm_struct *, enum gup_debug_point, unsigned long,
		     void *) = READ_ONCE(mm->debug_hook);

	if (hook)
		hook(mm, dp, addr, mm->debug_arg);
}

/* ---- vmemmap and the page allocator ---- */

static unsigned long mem_layout(const struct mem_config *cfg,
				unsigned long *thp_start, unsigned long *dev)
{
	/* pfn 0 unused, pfn 1 the zero page, then small, THP, device */
	unsigned long pfn = 2 + cfg->nr_small;

	pfn = (pfn + HPAGE_PMD_NR - 1) & ~(unsigned long)(HPAGE_PMD_NR - 1);
	*thp_start = pfn;
	pfn += cfg->nr_thp * HPAGE_PMD_NR;
	*dev = pfn;
	return pfn + cfg->nr_device;
}

size_t mem_vmemmap_bytes(const struct mem_config *cfg)
{
	unsigned long t, d;

	return mem_layout(cfg, &t, &d) * sizeof(struct page);
}

static void *mem_alloc(size_t size)
{
	void *p;

	if (mem_cfg.alloc)
		p = mem_cfg.alloc(size, mem_cfg.alloc_arg);
	else
		p = aligned_alloc(4096, (size + 4095) & ~4095UL);
	if (p)
		memset(p, 0, size);
	return p;
}

static void mem_release(void *p, size_t size)
{
	if (!p)
		return;
	if (mem_cfg.free)
		mem_cfg.free(p, size, mem_cfg.alloc_arg);
	else
		free(p);
}

static int free_area_init(struct free_area *a, unsigned long cap)
{
	spin_lock_init(&a->lock);
	a->nr = 0;
	a->cap = cap;
	a->pfns = calloc(cap ? cap : 1, sizeof(*a->pfns));
	return a->pfns ? 0 : -ENOMEM;
}

static void free_area_push(struct free_area *a, unsigned long pfn)
{
	spin_lock(&a->lock);
	if (!WARN_ON_ONCE(a->nr >= a->cap))
		a->pfns[a->nr++] = pfn;
	spin_unlock(&a->lock);
}

static unsigned long free_area_pop(struct free_area *a)
{
	unsigned long pfn = 0;

	spin_lock(&a->lock);
	if (a->nr)
		pfn = a->pfns[--a->nr];
	spin_unlock(&a->lock);
	return pfn;
}

/*
 * zone_batchsize(): a quarter of the zone's pages / 1024, at most
 * 1 MiB's worth, rounded to 2^n - 1, at least 1 (63 for a zone of 16 GiB
 * or more); high is batch * 4, zone_highsize()'s floor.
 */
static int zone_batchsize(unsigned long managed)
{
	unsigned long batch = min(managed >> 10, 256UL) / 4;

	if (batch < 1)
		batch = 1;
	batch = (1UL << (fls_long(batch + batch / 2) - 1)) - 1;
	return batch ? (int)batch : 1;
}

/* free_pcppages_bulk(): the coldest @n pages back to the zone. */
static void pcp_free_bulk(struct per_cpu_pages *pcp, int n)
{
	int i;

	n = min(n, pcp->count);
	spin_lock(&free_small.lock);
	for (i = 0; i < n; i++)
		if (!WARN_ON_ONCE(free_small.nr >= free_small.cap))
			free_small.pfns[free_small.nr++] = pcp->pfns[i];
	spin_unlock(&free_small.lock);
	memmove(pcp->pfns, pcp->pfns + n,
		(pcp->count - n) * sizeof(*pcp->pfns));
	pcp->count -= n;
}

/* rmqueue_bulk(): up to pcp_batch pages from the zone, in zone order. */
static void pcp_refill(struct per_cpu_pages *pcp)
{
	unsigned long got[PCP_MAX];
	int n = 0;

	spin_lock(&free_small.lock);
	while (n < pcp_batch && free_small.nr)
		got[n++] = free_small.pfns[--free_small.nr];
	spin_unlock(&free_small.lock);
	/* the first taken is the next handed out */
	while (n)
		pcp->pfns[pcp->count++] = got[--n];
}

/* drain_pages(): a slot's list back to the zone (CPU offline, reclaim). */
void mem_pcp_drain(unsigned int slot)
{
	struct per_cpu_pages *pcp;

	if (!pcp_lists || slot >= PERCPU_REF_SLOTS)
		return;
	pcp = &pcp_lists[slot];
	spin_lock(&pcp->lock);
	pcp_free_bulk(pcp, pcp->count);
	spin_unlock(&pcp->lock);
}

static void drain_all_pages(void)
{
	unsigned int i;

	for (i = 0; i < PERCPU_REF_SLOTS; i++)
		if (READ_ONCE(pcp_lists[i].count))
			mem_pcp_drain(i);
}

static unsigned long pcp_alloc(void)
{
	struct per_cpu_pages *pcp = &pcp_lists[gup_cpu];
	unsigned long pfn = 0;

	if (spin_trylock(&pcp->lock)) {
		if (!pcp->count)
			pcp_refill(pcp);
		if (pcp->count)
			pfn = pcp->pfns[--pcp->count];
		spin_unlock(&pcp->lock);
	}
	if (!pfn)
		pfn = free_area_pop(&free_small);
	if (!pfn) {
		drain_all_pages();
		pfn = free_area_pop(&free_small);
	}
	return pfn;
}

static void pcp_free(unsigned long pfn)
{
	struct per_cpu_pages *pcp = &pcp_lists[gup_cpu];

	if (!spin_trylock(&pcp->lock)) {
		free_area_push(&free_small, pfn);
		return;
	}
	pcp->pfns[pcp->count++] = pfn;
	if (pcp->count > pcp_high)
		pcp_free_bulk(pcp, pcp_batch);
	spin_unlock(&pcp->lock);
}

/* Poison a freed struct page: later users see PG_free and POISON. */
static void poison_page(struct page *page)
{
	WRITE_ONCE(page->flags, BIT(PG_free));
	WRITE_ONCE(page->mapping, (void *)PAGE_POISON);
	page->index = PAGE_POISON;
	WRITE_ONCE(page->private, PAGE_POISON);
	atomic_set(&page->_mapcount, -1);
	atomic_set(&page->_pincount, 0);
}

bool page_is_poisoned(const struct page *page)
{
	return test_bit(PG_free, &page->flags);
}

void (*mem_page_hook)(struct page *page, bool alloc);

static atomic_long_t poison_touched;
static unsigned long poison_touched_pfn;

static void page_ext_exit(void)
{
	unsigned long r;

	for (r = 0; mem_section && r < nr_section_roots; r++)
		free(mem_section[r]);
	free(mem_section);
	mem_section = NULL;
	nr_section_roots = 0;
	mem_release(page_ext_map, page_ext_bytes);
	page_ext_map = NULL;
}

/*
 * page_ext_init() for the pincount client: the entries of all sections
 * in one packed array, and mem_section[root][nr].page_ext set so that
 * page_ext + pfn * page_ext_size is pfn's entry (the kernel stores the
 * section's base less its first pfn's offset: the same sum).
 */
static int page_ext_init(void)
{
	unsigned long nr_sections = (max_pfn >> PFN_SECTION_SHIFT) + 1, nr;

	/* placed as the struct pages are (--mem): the kernel's is per node */
	page_ext_bytes = max_pfn * page_ext_size;
	page_ext_map = mem_alloc(page_ext_bytes);
	nr_section_roots = (nr_sections + SECTIONS_PER_ROOT - 1) /
			   SECTIONS_PER_ROOT;
	mem_section = calloc(nr_section_roots, sizeof(*mem_section));
	if (!page_ext_map || !mem_section)
		goto fail;
	for (nr = 0; nr < nr_section_roots; nr++) {
		mem_section[nr] = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
		if (!mem_section[nr])
			goto fail;
		memset(mem_section[nr], 0, PAGE_SIZE);
	}
	for (nr = 0; nr < nr_sections; nr++)
		mem_section[nr / SECTIONS_PER_ROOT][nr % SECTIONS_PER_ROOT]
			.page_ext = (unsigned long)page_ext_map;
	return 0;
fail:
	page_ext_exit();
	return -ENOMEM;
}

/* Is every field of a free page still what poison_page() wrote? */
static bool poison_intact(struct page *page)
{
	return READ_ONCE(page->flags) == BIT(PG_free) &&
	       page->mapping == (struct mm_struct *)PAGE_POISON &&
	       page->index == PAGE_POISON &&
	       READ_ONCE(page->private) == PAGE_POISON &&
	       atomic_read(&page->_mapcount) == -1 &&
	       atomic_read(&page->_pincount) == 0 &&
	       atomic_read(&page->_refcount) == 0;
}

static void poison_check(struct page *page)
{
	if (likely(poison_intact(page)))
		return;
	WRITE_ONCE(poison_touched_pfn, page_to_pfn(page));
	atomic_long_add(1, &poison_touched);
}

long mem_poison_touched(unsigned long *last_pfn)
{
	if (last_pfn)
		*last_pfn = READ_ONCE(poison_touched_pfn);
	return atomic_long_read(&poison_touched);
}

int mem_init(const struct mem_config *cfg)
{
	unsigned long pfn, thp, dev, i;

	mem_cfg = *cfg;
	atomic_long_set(&gup_warnings, 0);
	for (i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
		atomic_long_set(&node0.vm_stat[i], 0);
		atomic_long_set(&vm_node_stat.item[i], 0);
		pcp_nodestat.vm_node_stat_diff[i] = 0;
	}
	vmstat_threshold();
	max_pfn = mem_layout(cfg, &thp, &dev);
	vmemmap_size = max_pfn * sizeof(struct page);
	vmemmap = mem_alloc(vmemmap_size);
	if (!vmemmap)
		return -ENOMEM;
	if (cfg->page_ext && page_ext_init())
		goto out_free_vmemmap;
	if (free_area_init(&free_small, cfg->nr_small) ||
	    free_area_init(&free_thp, cfg->nr_thp))
		goto out_free_ext;
	pcp_batch = cfg->pcp_batch ? (int)min(cfg->pcp_batch, PCP_MAX / 5UL) :
		    zone_batchsize(cfg->nr_small);
	pcp_high = pcp_batch * 4;	/* mem_pcp_spare() counts on it */
	pcp_lists = calloc(PERCPU_REF_SLOTS, sizeof(*pcp_lists));
	if (!pcp_lists)
		goto out_free_areas;
	for (i = 0; i < PERCPU_REF_SLOTS; i++)
		spin_lock_init(&pcp_lists[i].lock);

	for (pfn = 0; pfn < max_pfn; pfn++) {
		poison_page(&vmemmap[pfn]);
		atomic_set(&vmemmap[pfn]._refcount, 0);
	}
	zero_page = &vmemmap[1];
	zero_page->flags = BIT(PG_uptodate);
	atomic_set(&zero_page->_refcount, 1);

	/* push in reverse so allocation hands out ascending pfns */
	for (i = cfg->nr_small; i > 0; i--)
		free_small.pfns[free_small.nr++] = 2 + i - 1;
	for (i = cfg->nr_thp; i > 0; i--)
		free_thp.pfns[free_thp.nr++] = thp + (i - 1) * HPAGE_PMD_NR;

	dev_next_pfn = dev;
	mem_pgmap = NULL;
	if (cfg->nr_device) {
		mem_pgmap = aligned_alloc(64, (sizeof(*mem_pgmap) + 63) & ~63UL);
		if (!mem_pgmap)
			goto out_free_areas;
		memset(mem_pgmap, 0, sizeof(*mem_pgmap));
		percpu_ref_init(&mem_pgmap->ref);
		mem_pgmap->ref_v45 = &mem_pgmap->ref;
		mem_pgmap->type = MEMORY_DEVICE_FS_DAX;
		mem_pgmap->start_pfn = dev;
		mem_pgmap->end_pfn = dev + cfg->nr_device;
		for (pfn = dev; pfn < dev + cfg->nr_device; pfn++) {
			struct page *page = &vmemmap[pfn];

			page->flags = BIT(PG_device) | BIT(PG_uptodate);
			page->pgmap = mem_pgmap;
			page->mapping = mem_pgmap;	/* the fsdax file */
			page->private = 0;
		}
		if (pgmap_index_init(mem_pgmap, cfg->dev_phys_pages ?:
				     DEVMAP_PHYS_PAGES))
			goto out_free_pgmap;
	}
	devmap_page_refs = false;
	return 0;

out_free_pgmap:
	pgmap_index_exit();
	free(mem_pgmap);
	mem_pgmap = NULL;
out_free_areas:
	free(pcp_lists);
	pcp_lists = NULL;
	free(free_small.pfns);
	free(free_thp.pfns);
out_free_ext:
	page_ext_exit();
out_free_vmemmap:
	mem_release(vmemmap, vmemmap_size);
	vmemmap = NULL;
	return -ENOMEM;
}

void mem_exit(void)
{
	free(pcp_lists);
	pcp_lists = NULL;
	free(free_small.pfns);
	free(free_thp.pfns);
	free_small.pfns = free_thp.pfns = NULL;
	page_ext_exit();
	pgmap_index_exit();
	free(mem_pgmap);
	mem_pgmap = NULL;
	mem_release(vmemmap, vmemmap_size);
	vmemmap = NULL;
	max_pfn = 0;
}

/* The zone's free pages and every per-CPU list's (exact when quiet). */
unsigned long mem_nr_free(void)
{
	unsigned long nr = READ_ONCE(free_small.nr);
	unsigned int i;

	for (i = 0; pcp_lists && i < PERCPU_REF_SLOTS; i++)
		nr += READ_ONCE(pcp_lists[i].count);
	return nr;
}

unsigned long mem_nr_free_thp(void)
{
	return READ_ONCE(free_thp.nr);
}

/* prep_new_page() for an order-0 folio: ref 1, unmapped. */
struct folio *folio_alloc(void)
{
	unsigned long pfn = pcp_alloc();
	struct page *page;

	if (!pfn)
		return NULL;
	page = pfn_to_page(pfn);
	WARN_ON_ONCE(!page_is_poisoned(page));
	poison_check(page);
	/* set_compound_head()/clear: speculative page_folio() reads it */
	WRITE_ONCE(page->compound_head, 0);
	WRITE_ONCE(page->mapping, NULL);
	page->index = 0;
	WRITE_ONCE(page->private, 0);
	page->order = 0;
	atomic_set(&page->_mapcount, -1);
	atomic_set(&page->_pincount, 0);
	if (page_ext_map)
		atomic_set(&page_ext_get(page)->pincount, 0);
	WRITE_ONCE(page->flags, 0);
	atomic_set_release(&page->_refcount, 1);
	if (unlikely(mem_page_hook))
		mem_page_hook(page, true);
	return (struct folio *)page;
}

/* prep_compound_page(): head + 511 tails; _pincount in page[1]. */
struct folio *folio_alloc_thp(void)
{
	unsigned long pfn = free_area_pop(&free_thp);
	struct page *head;
	int i;

	if (!pfn)
		return NULL;
	head = pfn_to_page(pfn);
	for (i = 1; i < HPAGE_PMD_NR; i++) {
		struct page *p = head + i;

		WRITE_ONCE(p->flags, 0);	/* PG_uptodate is the head's */
		WRITE_ONCE(p->mapping, NULL);
		p->index = 0;
		WRITE_ONCE(p->private, 0);
		atomic_set(&p->_mapcount, -1);
		atomic_set(&p->_pincount, 0);
		atomic_set(&p->_refcount, 0);
		WRITE_ONCE(p->compound_head, (unsigned long)head | 1);
	}
	WRITE_ONCE(head->compound_head, 0);
	WRITE_ONCE(head->mapping, NULL);
	head->index = 0;
	WRITE_ONCE(head->private, 0);
	head->order = HPAGE_PMD_ORDER;
	atomic_set(&head->_mapcount, -1);
	atomic_set(&head->_pincount, 0);
	WRITE_ONCE(head->flags, BIT(PG_head));
	atomic_set_release(&head->_refcount, 1);
	return (struct folio *)head;
}

/* folio_add_lru(): see mm.h; the kernel's VM_BUG_ON_FOLIO(folio_test_lru()) */
void folio_add_lru(struct folio *folio)
{
	WARN_ON_ONCE(test_and_set_bit(PG_lru, folio_flags(folio)));
}

/*
 * free_folio(): the last reference is gone. Device pages go back to the
 * driver (devmap_single: and drop the pgmap ref they held); others are
 * poisoned and returned to the free list.
 */
void free_folio(struct folio *folio)
{
	struct page *page = &folio->page;
	unsigned long pfn = page_to_pfn(page);
	int i;

	if (test_bit(PG_device, &page->flags)) {
		if (devmap_page_refs)
			percpu_ref_put(&page->pgmap->ref);
		return;
	}
	WARN_ON_ONCE(page_is_poisoned(page));
	WARN_ON_ONCE(atomic_read(&page->_mapcount) != -1);
	WARN_ON_ONCE(test_bit(PG_locked, &page->flags));
	WARN_ON_ONCE(test_bit(PG_writeback, &page->flags));
	if (folio_test_large(folio)) {
		WARN_ON_ONCE(atomic_read(folio_pincount_ptr(folio)) != 0);
		WARN_ON_ONCE(atomic_read(folio_mapcount_ptr(folio)) != -1);
		for (i = 1; i < HPAGE_PMD_NR; i++)
			poison_page(page + i);
		poison_page(page);
		free_area_push(&free_thp, pfn);
		return;
	}
	if (page_ext_map)
		WARN_ON_ONCE(atomic_read(&page_ext_get(page)->pincount) != 0);
	WARN_ON_ONCE(atomic_read(&page->_pincount) != 0);
	if (unlikely(mem_page_hook))
		mem_page_hook(page, false);
	poison_page(page);
	pcp_free(pfn);
}

/*
 * devmap_single (71389703839e): every device page holds one pgmap
 * reference while it is alive and idles at refcount 1.
 */
void mem_devmap_set_page_refs(bool per_page_ref)
{
	unsigned long pfn;

	if (!mem_pgmap || devmap_page_refs == per_page_ref)
		return;
	devmap_page_refs = per_page_ref;
	for (pfn = mem_pgmap->start_pfn; pfn < mem_pgmap->end_pfn; pfn++) {
		struct page *page = pfn_to_page(pfn);

		if (per_page_ref) {
			percpu_ref_get(&mem_pgmap->ref);
			atomic_add(1, &page->_refcount);
		} else {
			atomic_sub(1, &page->_refcount);
			percpu_ref_put(&mem_pgmap->ref);
		}
	}
}

/*
 * kill_dax() + synchronize_srcu(): the kernel's fault handlers check
 * dax_alive() inside an SRCU section that the kill waits out; here the
 * fault checks under the PT lock, which a later zap of the mapping takes,
 * so a fault either mapped before the zap (which removes it) or sees the
 * device dead.
 */
void mem_devmap_kill(void)
{
	if (mem_pgmap)
		WRITE_ONCE(mem_pgmap->dead, 1);
}

/* memunmap_pages(): kill the ref; drop the pages' idle references. */
void mem_devmap_teardown(void)
{
	unsigned long pfn;

	if (!mem_pgmap)
		return;
	mem_devmap_kill();
	percpu_ref_kill(&mem_pgmap->ref);
	if (!devmap_page_refs)
		return;
	for (pfn = mem_pgmap->start_pfn; pfn < mem_pgmap->end_pfn; pfn++)
		folio_put((struct folio *)pfn_to_page(pfn));
}

/* ---- page tables ---- */

static struct pt_table *alloc_table(struct mm_struct *mm)
{
	struct pt_table *t = aligned_alloc(4096, sizeof(*t));

	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	spin_lock_init(&t->ptl);
	if (mm)
		atomic_long_add(1, &mm->nr_tables);
	return t;
}

struct pt_table *pte_alloc_one(struct mm_struct *mm)
{
	return alloc_table(mm);
}

void pte_free(struct mm_struct *mm, struct pt_table *t)
{
	WARN_ON_ONCE(t->huge_pte);
	free(t);
	if (mm)
		atomic_long_add(-1, &mm->nr_tables);
}

void pgtable_trans_huge_deposit(pmd_t *pmdp, struct pt_table *pgtable)
{
	struct pt_table *pmd_table = pmd_table_of(pmdp);

	pgtable->huge_pte = pmd_table->huge_pte;
	pmd_table->huge_pte = pgtable;
}

struct pt_table *pgtable_trans_huge_withdraw(pmd_t *pmdp)
{
	struct pt_table *pmd_table = pmd_table_of(pmdp);
	struct pt_table *pgtable = pmd_table->huge_pte;

	if (WARN_ON_ONCE(!pgtable))
		return NULL;
	pmd_table->huge_pte = pgtable->huge_pte;
	pgtable->huge_pte = NULL;
	return pgtable;
}

/*
 * Find the next-level table under *slot, creating it if asked (pXd_alloc).
 * A PTE table goes into its PMD slot under the PMD lock (@lock), as
 * pmd_install() does: a THP fault checks pmd_none() and sets the PMD
 * under that lock, and must not overwrite a table installed meanwhile.
 */
static struct pt_table *table_get(struct mm_struct *mm, unsigned long *slot,
				  bool alloc, spinlock_t *lock)
{
	unsigned long e = table_entry_get(slot);
	struct pt_table *t;

	if (entry_is_table(e))
		return entry_table(e);
	if (e || !alloc)
		return NULL;	/* a leaf, or absent */
	t = alloc_table(mm);
	if (!t)
		return NULL;
	if (lock)
		spin_lock(lock);
	e = cmpxchg(slot, 0UL, (unsigned long)t | _PAGE_TABLE | _PAGE_PRESENT);
	if (lock)
		spin_unlock(lock);
	if (e) {
		/* someone else populated it first */
		pte_free(mm, t);
		return entry_is_table(e) ? entry_table(e) : NULL;
	}
	return t;
}

pmd_t *mm_find_pmd(struct mm_struct *mm, unsigned long addr, bool alloc)
{
	struct pt_table *pud, *pmd;

	pud = table_get(mm, &mm->pgd->e[pgd_index(addr)], alloc, NULL);
	if (!pud)
		return NULL;
	pmd = table_get(mm, &pud->e[pud_index(addr)], alloc, NULL);
	if (!pmd)
		return NULL;
	return (pmd_t *)&pmd->e[pmd_index(addr)];
}

pte_t *mm_find_pte(struct mm_struct *mm, unsigned long addr, bool alloc,
		   spinlock_t **ptl)
{
	pmd_t *pmdp = mm_find_pmd(mm, addr, alloc);
	struct pt_table *pte;

	if (!pmdp)
		return NULL;
	pte = table_get(mm, &pmdp->pmd, alloc, pmd_lockptr(pmdp));
	if (!pte)
		return NULL;
	if (ptl)
		*ptl = &pte->ptl;
	return (pte_t *)&pte->e[pte_index(addr)];
}

pte_t *mm_find_entry(struct mm_struct *mm, unsigned long addr, bool *leaf)
{
	pmd_t *pmdp = mm_find_pmd(mm, addr, false);

	*leaf = false;
	if (!pmdp)
		return NULL;
	if (pmd_leaf(pmdp_get(pmdp))) {
		*leaf = true;
		return (pte_t *)pmdp;	/* same layout: one word */
	}
	return mm_find_pte(mm, addr, false, NULL);
}

/*
 * The entry that maps @addr and its value, read once. A PMD found as a
 * leaf may be a PTE table by the time its value is read (split
 * meanwhile): that value is no page, so look again, as the kernel's
 * lockless walkers decide from one read of the PMD.
 */
static pte_t *entry_read(struct mm_struct *mm, unsigned long addr,
			 bool *leaf, pte_t *pte)
{
	for (;;) {
		pte_t *ep = mm_find_entry(mm, addr, leaf);

		if (!ep)
			return NULL;
		*pte = ptep_get(ep);
		if (!*leaf || pmd_leaf(__pmd(pte_val(*pte))))
			return ep;
	}
}

/* A lockless walker: inside an irq-off section, as GUP-fast. */
struct page *mm_lookup_page(struct mm_struct *mm, unsigned long addr,
			    pte_t *out_pte)
{
	unsigned long irqflags;
	bool leaf;
	pte_t *ep;
	pte_t pte;

	local_irq_save(irqflags);
	ep = entry_read(mm, addr, &leaf, &pte);
	local_irq_restore(irqflags);
	if (!ep)
		return NULL;
	if (out_pte)
		*out_pte = pte;
	if (!pte_present(pte))
		return NULL;
	return entry_page(pte, leaf, addr);
}

/* A speculative reference, page-cache style: see mm.h. */
struct folio *spec_get_folio(struct mm_struct *mm, unsigned long addr)
{
	struct folio *folio = NULL;
	unsigned long irqflags;
	bool leaf;
	pte_t *ep;
	pte_t pte;

	local_irq_save(irqflags);
	ep = entry_read(mm, addr, &leaf, &pte);
	if (!ep || !pte_present(pte) || pte_protnone(pte))
		goto out;
	folio = try_get_folio(entry_page(pte, leaf, addr), 1);
	if (folio && pte_val(ptep_get(ep)) != pte_val(pte)) {
		folio_put(folio);	/* the entry changed: back off */
		folio = NULL;
	}
out:
	local_irq_restore(irqflags);
	return folio;
}

/* ---- mm_struct and VMAs ---- */

struct mm_struct *mm_alloc(const struct gup_scheme *scheme)
{
	struct mm_struct *mm = aligned_alloc(64, (sizeof(*mm) + 63) & ~63UL);
	pthread_rwlockattr_t attr;

	if (!mm)
		return NULL;
	memset(mm, 0, offsetof(struct mm_struct, vmas));
	mm->scheme = scheme;
	mm->pgd = alloc_table(mm);
	if (!mm->pgd) {
		free(mm);
		return NULL;
	}
	seqcount_init(&mm->write_protect_seq);
	spin_lock_init(&mm->i_pages_lock);
	/* an rwsem: writers (fork) are not starved by GUP's readers */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&mm->mmap_lock, &attr);
	pthread_rwlock_init(&mm->anon_vma_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	return mm;
}

/* The first VMA that ends above @addr (vmas[] is sorted by address). */
static int vma_index(struct mm_struct *mm, unsigned long addr)
{
	int lo = 0, hi = mm->nr_vmas;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (mm->vmas[mid].vm_end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A binary search, O(log n) as the kernel's maple tree walk. */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	int i = vma_index(mm, addr);

	if (i < mm->nr_vmas && addr >= mm->vmas[i].vm_start)
		return &mm->vmas[i];
	return NULL;
}

int mm_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
	    unsigned long vm_flags)
{
	struct vm_area_struct *vma;
	int i;

	if (!len || (addr | len) & (PAGE_SIZE - 1) || addr + len < addr ||
	    addr + len > (1UL << 47))
		return -EINVAL;
	if ((vm_flags & VM_HUGEPAGE) && ((addr | len) & (PMD_SIZE - 1)))
		return -EINVAL;
	if (mm->nr_vmas >= MM_MAX_VMAS)
		return -ENOMEM;
	i = vma_index(mm, addr);
	if (i < mm->nr_vmas && addr + len > mm->vmas[i].vm_start)
		return -EEXIST;
	if ((vm_flags & VM_DEVMAP) &&
	    (!mem_pgmap || dev_next_pfn + (len >> PAGE_SHIFT) >
	     mem_pgmap->end_pfn))
		return -ENOMEM;
	/* keep vmas[] sorted; set up before mmap, never with walkers */
	memmove(&mm->vmas[i + 1], &mm->vmas[i],
		(mm->nr_vmas - i) * sizeof(*vma));
	vma = &mm->vmas[i];
	memset(vma, 0, sizeof(*vma));
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags | VM_READ;
	if (vm_flags & VM_DEVMAP) {
		vma->pgmap = mem_pgmap;
		vma->dev_pfn = dev_next_pfn;
		dev_next_pfn += len >> PAGE_SHIFT;
	}
	mm->nr_vmas++;
	return 0;
}

/*
 * madvise(MADV_HUGEPAGE) of the whole VMA [addr, addr + len)
 * (hugepage_madvise(); no VMA split is modelled): from now on its faults
 * may map THPs and MADV_COLLAPSE may collapse it. The pages already
 * there stay as they are. Needs a PMD-aligned anon VMA.
 */
int mm_madvise_hugepage(struct mm_struct *mm, unsigned long addr,
			unsigned long len)
{
	struct vm_area_struct *vma;
	int ret = 0;

	mmap_write_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma || vma->vm_start != addr || vma->vm_end != addr + len ||
	    ((addr | len) & (PMD_SIZE - 1)) ||
	    (vma->vm_flags & (VM_SHARED | VM_DEVMAP)))
		ret = -EINVAL;
	else
		vma->vm_flags |= VM_HUGEPAGE;
	mmap_write_unlock(mm);
	return ret;
}

static void free_tables(struct pt_table *t, int level)
{
	int i;

	/* every THP leaf was zapped with its deposited table */
	WARN_ON_ONCE(t->huge_pte);
	if (level > 1)
		for (i = 0; i < PTRS_PER_TABLE; i++)
			if (entry_is_table(t->e[i]))
				free_tables(entry_table(t->e[i]), level - 1);
	free(t);
}

void mm_free(struct mm_struct *mm)
{
	int i;

	if (!mm)
		return;
	for (i = 0; i < mm->nr_vmas; i++)
		mm_zap_range(mm, mm->vmas[i].vm_start,
			     mm->vmas[i].vm_end - mm->vmas[i].vm_start);
	/*
	 * free_pgtables(): unlink_anon_vmas() before the tables go, so no
	 * rmap walk is still in them; after the zap, which took away every
	 * entry a walk would touch (migration only replaces what it finds)
	 */
	if (mm->anon_parent) {
		struct mm_struct *root = mm->anon_parent, **pp;

		anon_vma_lock_write(root);
		for (pp = &root->anon_children; *pp != mm;
		     pp = &(*pp)->anon_sibling)
			;
		*pp = mm->anon_sibling;
		anon_vma_unlock_write(root);
	} else if (WARN_ON_ONCE(mm->anon_children)) {
		/*
		 * Children exit first (the kernel keeps the root anon_vma
		 * alive until they do; the model does not). Unsupported:
		 * each survivor becomes a root of its own, and a walk or a
		 * lock waiter already in this mm's chain is not safe.
		 */
		struct mm_struct *c;

		anon_vma_lock_write(mm);
		for (c = mm->anon_children; c; c = c->anon_sibling)
			WRITE_ONCE(c->anon_parent, NULL);
		mm->anon_children = NULL;
		anon_vma_unlock_write(mm);
	}
	free_tables(mm->pgd, 4);
	pthread_rwlock_destroy(&mm->mmap_lock);
	pthread_rwlock_destroy(&mm->anon_vma_lock);
	free(mm);
}

int mm_populate(struct mm_struct *mm, unsigned long addr, unsigned long len)
{
	unsigned long end = addr + len;
	struct gup_stats st = { 0 };
	int err = 0;

	mmap_read_lock(mm);
	while (addr < end) {
		pte_t pte;
		struct page *page = mm_lookup_page(mm, addr, &pte);

		if (page && pte_write(pte)) {
			addr += PAGE_SIZE;
			continue;
		}
		err = handle_mm_fault(mm, addr, FAULT_FLAG_WRITE, &st);
		if (err && err != -EAGAIN)
			break;
		err = 0;
	}
	mmap_read_unlock(mm);
	return err;
}

/* ---- faults ---- */

/* A fresh page for this mm at addr: anon (private) or file (shared). */
static struct folio *fault_new_folio(struct mm_struct *mm,
				     struct vm_area_struct *vma,
				     unsigned long addr)
{
	struct folio *folio = folio_alloc();

	if (!folio)
		return NULL;
	WRITE_ONCE(folio->page.mapping, (void *)mm);
	folio->page.index = addr >> PAGE_SHIFT;
	if (!(vma->vm_flags & VM_SHARED)) {
		/* folio_add_new_anon_rmap(): fresh anon pages are exclusive */
		set_bit(PG_anon, folio_flags(folio));
		mm_set_anon_exclusive(mm, &folio->page);
	}
	return folio;
}

/* Map a fresh page into a none PTE (do_anonymous_page / do_fault). */
static int do_pte_none(struct mm_struct *mm, struct vm_area_struct *vma,
		       unsigned long addr, pte_t *ptep, spinlock_t *ptl,
		       unsigned int ff)
{
	unsigned long prot = _PAGE_PRESENT;
	struct folio *folio;
	unsigned long pfn;

	if (vma->vm_flags & VM_DEVMAP) {
		/* insert_pfn() of a pte_devmap entry; the map holds a ref */
		pfn = vma->dev_pfn + ((addr - vma->vm_start) >> PAGE_SHIFT);
		folio = (struct folio *)pfn_to_page(pfn);
		prot |= _PAGE_DEVMAP | _PAGE_SPECIAL;
		/*
		 * fsdax (shared): a read fault maps the pfn read-only and
		 * clean (dax_insert_entry(dirty=false): no tag)
		 */
		if ((vma->vm_flags & VM_WRITE) &&
		    (!(vma->vm_flags & VM_SHARED) || (ff & FAULT_FLAG_WRITE)))
			prot |= _PAGE_RW | _PAGE_DIRTY;
		spin_lock(ptl);
		/* dev_dax_huge_fault()/dax_iomap_fault(): VM_FAULT_SIGBUS */
		if (READ_ONCE(vma->pgmap->dead)) {
			spin_unlock(ptl);
			return -EFAULT;
		}
		if (!pte_none(ptep_get(ptep))) {
			spin_unlock(ptl);
			return 0;
		}
		folio_get(folio);
		atomic_inc(folio_mapcount_ptr(folio));
		set_pte(ptep, pfn_pte(pfn, prot));
		spin_unlock(ptl);
		return 0;
	}

	folio = fault_new_folio(mm, vma, addr);
	if (!folio)
		return -ENOMEM;
	clear_page_cost();	/* clear_user_highpage(), or the file's read */
	if ((vma->vm_flags & VM_WRITE) &&
	    (!(vma->vm_flags & VM_SHARED) || (ff & FAULT_FLAG_WRITE))) {
		prot |= _PAGE_RW | _PAGE_DIRTY;
		/*
		 * fault_dirty_shared_page(); an anon folio's dirt is in
		 * its PTE alone (PG_dirty waits for an unmap or an
		 * unpin_user_pages_dirty_lock())
		 */
		if (vma->vm_flags & VM_SHARED)
			folio_mark_dirty(folio);
	}
	__folio_mark_uptodate(folio);
	spin_lock(ptl);
	if (!pte_none(ptep_get(ptep))) {
		spin_unlock(ptl);
		folio_put(folio);
		return 0;
	}
	/* the allocation's reference becomes the mapping's */
	atomic_inc(folio_mapcount_ptr(folio));
	folio_add_lru(folio);	/* folio_add_lru_vma() */
	set_pte(ptep, pfn_pte(page_to_pfn(&folio->page), prot));
	spin_unlock(ptl);
	return 0;
}

/*
 * wp_can_reuse_anon_folio() (6.x, anonexcl) or the 5.9 page_count rule
 * (09854ba94c6a): reuse only if we are the only possible user. Called
 * with the PT lock held; folio_trylock() never sleeps.
 */
static bool wp_can_reuse_anon_folio(struct folio *folio, bool anonexcl)
{
	/*
	 * 6.x: "We could currently only reuse a subpage of a large folio
	 * if no other subpages of the large folios are still mapped.
	 * However, let's just consistently not reuse subpages even if we
	 * could reuse in that scenario, and give back a large folio a bit
	 * sooner." (until CONFIG_MM_ID's __wp_can_reuse_large_anon_folio()).
	 * The 5.9 rule reads the subpage's page_count(), the folio's: one
	 * per PTE, so it reuses only the last subpage still mapped.
	 */
	if (anonexcl && folio_test_large(folio))
		return false;
	if (folio_ref_count(folio) > 1)
		return false;
	if (!folio_trylock(folio))
		return false;
	if (folio_ref_count(folio) != 1 ||
	    atomic_read(folio_mapcount_ptr(folio)) != 0) {
		folio_unlock(folio);
		return false;
	}
	folio_unlock(folio);
	return true;
}

/*
 * do_wp_page() for a private anon PTE, PT lock held (and dropped on
 * return): reuse the page if it is exclusive (or provably ours), else
 * wp_page_copy(). With FAULT_FLAG_UNSHARE the PTE stays read-only and
 * only exclusivity is won.
 */
static int do_wp_page(struct mm_struct *mm, struct vm_area_struct *vma,
		      unsigned long addr, pte_t *ptep, spinlock_t *ptl,
		      pte_t pte, unsigned int ff, struct gup_stats *st)
{
	bool unshare = ff & FAULT_FLAG_UNSHARE;
	bool anonexcl = mm_scheme_has(mm, SF_ANON_EXCL);
	struct page *page = pte_page(pte);
	struct folio *folio = page_folio(page);
	struct folio *new;
	pte_t entry;

	if (anonexcl && test_bit(PG_anon_exclusive, &page->flags))
		goto reuse;
	if (unshare && !anonexcl)
		goto unlock;
	if (wp_can_reuse_anon_folio(folio, anonexcl)) {
		/*
		 * folio_move_anon_rmap() + SetPageAnonExclusive(), 5.19+:
		 * 5.9-5.18's reuse had neither (09854ba94c6a), and the
		 * locked set_bit() is on the _refcount line
		 */
		if (anonexcl) {
			WRITE_ONCE(folio->page.mapping, (void *)mm);
			set_bit(PG_anon_exclusive, &page->flags);
		}
		goto reuse;
	}

	/*
	 * wp_page_copy(): do_wp_page() takes a reference on the old folio
	 * and drops the PT lock; the new page is allocated and filled
	 * without it, and installed only if the PTE is still the one that
	 * faulted (pte_same()); otherwise someone else resolved the fault
	 * and the copy is freed.
	 */
	folio_get(folio);
	spin_unlock(ptl);
	new = fault_new_folio(mm, vma, addr);
	if (!new) {
		folio_put(folio);
		return -ENOMEM;
	}
	copy_highpage(&new->page, page);
	__folio_mark_uptodate(new);
	mm_debug(mm, GUP_DP_COW_COPIED, addr);
	spin_lock(ptl);
	if (pte_val(ptep_get(ptep)) != pte_val(pte)) {
		spin_unlock(ptl);
		folio_put(new);		/* never mapped */
		folio_put(folio);
		return 0;
	}
	entry = pfn_pte(page_to_pfn(&new->page), _PAGE_PRESENT |
			(unshare ? 0 : _PAGE_RW | _PAGE_DIRTY));
	atomic_inc(&new->page._mapcount);
	folio_add_lru(new);		/* folio_add_lru_vma() */
	ptep_get_and_clear(ptep);	/* ptep_clear_flush() */
	flush_tlb_mm(mm);
	set_pte(ptep, entry);
	/* folio_remove_rmap_pte() */
	atomic_dec(folio_mapcount_ptr(folio));
	st->cow_copies++;
	spin_unlock(ptl);
	folio_put(folio);		/* the old mapping's reference */
	folio_put(folio);		/* and do_wp_page()'s */
	return 0;

reuse:	/* wp_page_reuse() */
	if (!unshare)
		set_pte(ptep, __pte(pte_val(pte) | _PAGE_RW | _PAGE_DIRTY));
unlock:
	spin_unlock(ptl);
	return 0;
}

/*
 * ->page_mkwrite() on a shared mapping (filemap_page_mkwrite()): lock,
 * folio_wait_stable() (a wait for writeback only where the device wants
 * stable pages), dirty.
 */
static int do_shared_wp(struct mm_struct *mm, unsigned long addr,
			pte_t *ptep, spinlock_t *ptl, pte_t pte)
{
	struct folio *folio = page_folio(pte_page(pte));
	bool made;

	folio_get(folio);
	spin_unlock(ptl);
	folio_lock(folio);
	/* fsdax's write fault has no folio_wait_stable() */
	if (READ_ONCE(mm->stable_writes) &&
	    !test_bit(PG_device, folio_flags(folio)))
		folio_wait_writeback(folio);	/* folio_wait_stable() */
	spin_lock(ptl);
	made = pte_val(ptep_get(ptep)) == pte_val(pte);
	if (made)	/* finish_mkwrite_fault() */
		set_pte(ptep, __pte(pte_val(pte) | _PAGE_RW | _PAGE_DIRTY));
	spin_unlock(ptl);
	/*
	 * fault_dirty_shared_page(), under the folio lock alone; fsdax's
	 * ->pfn_mkwrite() tags its entry and leaves the folio alone
	 */
	if (made && !test_bit(PG_device, folio_flags(folio)))
		folio_mark_dirty(folio);
	folio_unlock(folio);
	folio_put(folio);
	return 0;
}

static atomic_long_t thp_split_pmd_count;

unsigned long thp_split_pmd_events(void)
{
	return (unsigned long)atomic_long_read(&thp_split_pmd_count);
}

/*
 * __split_huge_pmd_locked() for an anon THP, not frozen, PMD lock held
 * (mm/huge_memory.c): pmdp_invalidate() first, so that GUP-fast finds no
 * access and falls back while the PTEs are built; the deposited table
 * gets one PTE per subpage with the PMD's rights, and PG_anon_exclusive
 * of the head (a PMD mapping keeps it there) goes to every subpage
 * (RMAP_EXCLUSIVE); each PTE holds a reference and a mapping of the
 * folio (folio_ref_add(HPAGE_PMD_NR - 1), folio_add_anon_rmap_ptes(),
 * folio_remove_rmap_pmd()); smp_wmb() + pmd_populate() publish the
 * table. Pins are not consulted: a pinned THP splits like any other,
 * and its pins stay on the same folio.
 */
static void __split_huge_pmd_locked(struct mm_struct *mm, pmd_t *pmdp)
{
	struct pt_table *pgtable = pgtable_trans_huge_withdraw(pmdp);
	unsigned long old, prot, pfn;
	struct folio *folio;
	bool excl;
	int i;

	if (!pgtable)	/* WARNed; callers loop until the PMD is a table */
		pgtable = pte_alloc_one(mm);
	if (!pgtable)
		return;
	old = READ_ONCE(pmdp->pmd);
	xchg(&pmdp->pmd, old & ~(_PAGE_PRESENT | _PAGE_PROTNONE));
	flush_tlb_mm(mm);	/* pmdp_invalidate()'s flush_pmd_tlb_range() */
	pfn = pmd_pfn(__pmd(old));
	folio = page_folio(pfn_to_page(pfn));
	/* "NUMA hinting access restrictions are not transferred" */
	prot = _PAGE_PRESENT | (old & (_PAGE_RW | _PAGE_DIRTY));
	excl = test_bit(PG_anon_exclusive, folio_flags(folio));
	folio_ref_add(folio, HPAGE_PMD_NR - 1);
	/* the PMD's one mapping becomes 512 PTE mappings */
	atomic_add(HPAGE_PMD_NR - 1, folio_mapcount_ptr(folio));
	for (i = 0; i < HPAGE_PMD_NR; i++) {
		if (excl)
			set_bit(PG_anon_exclusive, &folio_page(folio, i)->flags);
		set_pte((pte_t *)&pgtable->e[i], pfn_pte(pfn + i, prot));
	}
	smp_store_release(&pmdp->pmd, (unsigned long)pgtable | _PAGE_TABLE |
					_PAGE_PRESENT);
	atomic_long_add(1, &thp_split_pmd_count);
}

void split_huge_pmd(struct mm_struct *mm, pmd_t *pmdp)
{
	spinlock_t *ptl = pmd_lockptr(pmdp);
	pmd_t pmd;

	spin_lock(ptl);
	pmd = pmdp_get(pmdp);
	if (pmd_leaf(pmd) && pmd_present(pmd))
		__split_huge_pmd_locked(mm, pmdp);
	spin_unlock(ptl);
}

/*
 * do_huge_pmd_wp_page(), PMD lock held: reuse the THP if it is
 * exclusive (or provably ours); otherwise return 1, and the caller
 * splits the PMD and falls back to the PTE fault, which copies or
 * unshares the one subpage (VM_FAULT_FALLBACK: no THP is ever copied).
 */
static int do_huge_pmd_wp_page(struct mm_struct *mm, pmd_t *pmdp, pmd_t pmd,
			       unsigned int ff)
{
	bool unshare = ff & FAULT_FLAG_UNSHARE;
	bool anonexcl = mm_scheme_has(mm, SF_ANON_EXCL);
	struct folio *folio = page_folio(pmd_page(pmd));

	if ((anonexcl && test_bit(PG_anon_exclusive, folio_flags(folio))) ||
	    (folio_ref_count(folio) == 1 &&
	     atomic_read(folio_mapcount_ptr(folio)) == 0)) {
		/* folio_move_anon_rmap() + SetPageAnonExclusive(): 5.19+ */
		if (anonexcl) {
			WRITE_ONCE(folio->page.mapping, (void *)mm);
			set_bit(PG_anon_exclusive, folio_flags(folio));
		}
		if (!unshare)
			set_pmd(pmdp, __pmd(pmd_val(pmd) | _PAGE_RW | _PAGE_DIRTY));
		return 0;
	}
	return 1;
}

/* THP fault on a VM_HUGEPAGE VMA; returns 1 to fall back to PTEs. */
static int do_huge_fault(struct mm_struct *mm, struct vm_area_struct *vma,
			 unsigned long addr, unsigned int ff)
{
	pmd_t *pmdp = mm_find_pmd(mm, addr, true);
	struct pt_table *pgtable;
	spinlock_t *ptl;
	struct folio *folio;
	pmd_t pmd;
	int ret = 0;

	if (!pmdp)
		return -ENOMEM;
	ptl = pmd_lockptr(pmdp);
	pmd = pmdp_get(pmdp);
	if (pmd_none(pmd)) {
		folio = folio_alloc_thp();
		if (!folio)
			return 1;	/* no THP: PTE-map small pages */
		/* the PTE table a later split will need (VM_FAULT_OOM) */
		pgtable = pte_alloc_one(mm);
		if (!pgtable) {
			folio_put(folio);
			return -ENOMEM;
		}
		WRITE_ONCE(folio->page.mapping, (void *)mm);
		folio->page.index = (addr & ~(PMD_SIZE - 1)) >> PAGE_SHIFT;
		set_bit(PG_anon, folio_flags(folio));
		mm_set_anon_exclusive(mm, &folio->page);
		__folio_mark_uptodate(folio);	/* the PMD is dirty, not PG_dirty */
		spin_lock(ptl);
		if (!pmd_none(pmdp_get(pmdp))) {
			spin_unlock(ptl);
			pte_free(mm, pgtable);
			folio_put(folio);
			return 0;
		}
		mm_debug(mm, GUP_DP_HUGE_FAULT_LOCKED, addr);
		pgtable_trans_huge_deposit(pmdp, pgtable);
		atomic_inc(folio_mapcount_ptr(folio));
		folio_add_lru(folio);		/* folio_add_lru_vma() */
		set_pmd(pmdp, __pmd((page_to_pfn(&folio->page) <<
				     PTE_PFN_SHIFT) | _PAGE_PRESENT |
				    _PAGE_PSE | _PAGE_RW | _PAGE_DIRTY));
		spin_unlock(ptl);
		return 0;
	}
	if (!pmd_leaf(pmd))
		return 1;
	spin_lock(ptl);
	pmd = pmdp_get(pmdp);
	if (pmd_leaf(pmd) && pmd_present(pmd) &&
	    (ff & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !pmd_write(pmd))
		ret = do_huge_pmd_wp_page(mm, pmdp, pmd, ff);
	spin_unlock(ptl);
	if (ret == 1)
		split_huge_pmd(mm, pmdp);	/* then the PTE fault */
	return ret;
}

int handle_mm_fault(struct mm_struct *mm, unsigned long addr,
		    unsigned int fault_flags, struct gup_stats *st)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	spinlock_t *ptl;
	pte_t *ptep;
	pte_t pte;
	int ret = 0;

	st->faults++;
	if (fault_flags & FAULT_FLAG_UNSHARE)
		st->unshares++;
	if (!vma)
		return -EFAULT;
	if ((fault_flags & FAULT_FLAG_WRITE) && !(vma->vm_flags & VM_WRITE))
		return -EFAULT;
	if (vma->vm_flags & VM_HUGEPAGE) {
		ret = do_huge_fault(mm, vma, addr, fault_flags);
		if (ret <= 0)
			return ret;
		ret = 0;	/* no THP here (or split): the PTE fault */
	}
	ptep = mm_find_pte(mm, addr, true, &ptl);
	if (!ptep)
		return -EAGAIN;		/* a PMD leaf appeared: look again */
	pte = ptep_get(ptep);
	if (pte_none(pte))
		return do_pte_none(mm, vma, addr, ptep, ptl, fault_flags);

	spin_lock(ptl);
	pte = ptep_get(ptep);
	if (is_migration_entry(pte)) {
		/* migration_entry_wait(): queue under the PTL, no ref */
		migration_entry_wait_on_locked(page_folio(pte_page(pte)), ptl);
		return -EAGAIN;
	}
	if (pte_none(pte)) {
		spin_unlock(ptl);
		return -EAGAIN;
	}
	if (pte_protnone(pte)) {
		/* do_numa_page(): make it accessible again */
		set_pte(ptep, __pte((pte_val(pte) & ~_PAGE_PROTNONE) |
				    _PAGE_PRESENT));
		spin_unlock(ptl);
		return 0;
	}
	if ((fault_flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) &&
	    !pte_write(pte)) {
		if (vma->vm_flags & VM_SHARED) {
			/*
			 * ->page_mkwrite(); for a devmap PTE that mkclean
			 * write-protected, fsdax's ->pfn_mkwrite() does the
			 * same (dax_iomap_fault() -> insert_pfn(mkwrite)).
			 */
			if (fault_flags & FAULT_FLAG_WRITE)
				return do_shared_wp(mm, addr, ptep, ptl, pte);
		} else if (!pte_devmap(pte)) {
			return do_wp_page(mm, vma, addr, ptep, ptl, pte,
					  fault_flags, st);
		}
	}
	spin_unlock(ptl);
	return ret;
}
