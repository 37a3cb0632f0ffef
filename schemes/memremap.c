// SPDX-License-Identifier: GPL-2.0
/*
 * ZONE_DEVICE's struct dev_pagemap and its percpu_ref (lib/percpu-refcount.c,
 * mm/memremap.c), the per-thread "CPU" slots they use, and the irq-off
 * sections of lockless page-table walkers (tlb_remove_table_sync_one()).
 * In per-cpu mode get/put touch only the caller's slot inside a section
 * that percpu_ref_kill() waits out; the kernel uses RCU-sched, this model
 * uses membarrier(2) so that readers pay compiler barriers only, as the
 * kernel's readers pay preempt_disable().
 */
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scheme.h"

__thread unsigned int gup_cpu;
static __thread bool gup_cpu_held;
static unsigned long slot_used[PERCPU_REF_SLOTS / 64];
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static int membarrier_ok = -1;

/* Thread exit: the slot (and what its counts hold) goes to the next. */
static void slot_release(void *unused)
{
	(void)unused;
	mem_pcp_drain(gup_cpu);		/* its pages, as a CPU going offline */
	__atomic_fetch_and(&slot_used[gup_cpu / 64], ~(1UL << (gup_cpu % 64)),
			   __ATOMIC_RELEASE);
}

static void slot_key_init(void)
{
	if (pthread_key_create(&slot_key, slot_release)) {
		fprintf(stderr, "gupbench: pthread_key_create failed\n");
		abort();
	}
}

void gup_thread_register(void)
{
	unsigned int i;

	if (gup_cpu_held)
		return;
	pthread_once(&slot_once, slot_key_init);
	for (i = 1; i < PERCPU_REF_SLOTS; i++) {
		unsigned long bit = 1UL << (i % 64);

		/* acquire: the last owner's plain slot writes happen before */
		if (!(__atomic_fetch_or(&slot_used[i / 64], bit,
					__ATOMIC_ACQ_REL) & bit)) {
			gup_cpu = i;
			gup_cpu_held = true;
			pthread_setspecific(slot_key, &gup_cpu_held);
			return;
		}
	}
	fprintf(stderr, "gupbench: more than %d threads at once: the model "
		"has %d per-CPU counter slots\n", GUP_THREADS_MAX,
		GUP_THREADS_MAX);
	abort();
}

static void membarrier_init(void)
{
	if (membarrier_ok >= 0)
		return;
	membarrier_ok = syscall(SYS_membarrier,
				MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
				0, 0) == 0;
	if (!membarrier_ok)
		fprintf(stderr, "gupbench: warning: membarrier(2) is not "
			"available: percpu_ref_kill() cannot order a reader's "
			"per-CPU section against the switch to atomic mode, so "
			"a device teardown racing GUP may lose a pgmap ref\n");
}

/* synchronize_rcu_sched() stand-in: a barrier on every running thread. */
static void sync_all_threads(void)
{
	membarrier_init();
	if (membarrier_ok)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	else
		smp_mb();
}

struct irq_section irq_sections[PERCPU_REF_SLOTS];

/*
 * tlb_remove_table_sync_one(): membarrier(2) orders every running
 * thread's section entry (a plain store, then the walk's loads) against
 * what the caller did before (cleared a PMD): a walker that entered
 * before it is seen odd here; one that enters after it sees the cleared
 * PMD. Then wait for each odd slot to move on.
 */
#define SYNC_SPINS	4096	/* 4096 PAUSEs: tens of microseconds */

void tlb_remove_table_sync_one(void)
{
	unsigned int i, spins;

	sync_all_threads();
	for (i = 0; i < PERCPU_REF_SLOTS; i++) {
		unsigned long seq;

		if (i == gup_cpu || (i && !(__atomic_load_n(&slot_used[i / 64],
						__ATOMIC_RELAXED) &
					   (1UL << (i % 64)))))
			continue;
		seq = READ_ONCE(irq_sections[i].seq);
		if (!(seq & 1))
			continue;
		/*
		 * An irq-off section lasts a walk; this one may be a walker
		 * preempted inside it, maybe on this CPU: spin a while as
		 * the IPI sender does, then give the CPU away.
		 */
		for (spins = 0; READ_ONCE(irq_sections[i].seq) == seq; spins++) {
			if (spins < SYNC_SPINS)
				cpu_relax();
			else
				sched_yield();
		}
	}
	smp_mb();
}

void percpu_ref_init(struct percpu_ref *ref)
{
	unsigned int i;

	membarrier_init();
	ref->state = 0;
	/* the initial reference, biased: the ref starts per-CPU */
	atomic_long_set(&ref->count, 1 + PERCPU_COUNT_BIAS);
	for (i = 0; i < PERCPU_REF_SLOTS; i++) {
		ref->slot[i].count = 0;
		ref->slot[i].in_section = 0;
	}
}

void percpu_ref_put_slow(struct percpu_ref *ref, unsigned long nr)
{
	long v = atomic_long_sub_return((long)nr, &ref->count);

	WARN_ON_ONCE(v < 0);
}

/*
 * percpu_ref_kill(): switch to atomic mode and mark dead, wait until no
 * reader is inside a per-cpu section, fold the slots into the atomic
 * count and take the bias off (percpu_ref_switch_to_atomic_rcu(), done
 * here in line instead of after an RCU grace period), drop the initial
 * reference. Owners' puts that find the ref atomic before the fold go
 * to the biased atomic count.
 */
void percpu_ref_kill(struct percpu_ref *ref)
{
	long sum = 0, v;
	unsigned int i;

	WRITE_ONCE(ref->state, __PERCPU_REF_ATOMIC | __PERCPU_REF_DEAD);
	sync_all_threads();
	for (i = 0; i < PERCPU_REF_SLOTS; i++)
		while (READ_ONCE(ref->slot[i].in_section))
			cpu_relax();
	sync_all_threads();
	for (i = 0; i < PERCPU_REF_SLOTS; i++) {
		sum += READ_ONCE(ref->slot[i].count);
		WRITE_ONCE(ref->slot[i].count, 0);
	}
	v = atomic_long_add_return(sum - PERCPU_COUNT_BIAS, &ref->count);
	/* "percpu ref <= 0 after switching to atomic": the initial ref */
	WARN_ON_ONCE(v <= 0);
	percpu_ref_put_slow(ref, 1);
}

long percpu_ref_sum(struct percpu_ref *ref)
{
	long sum = atomic_long_read(&ref->count);
	unsigned int i;

	if (!(READ_ONCE(ref->state) & __PERCPU_REF_ATOMIC))
		sum -= PERCPU_COUNT_BIAS;

	for (i = 0; i < PERCPU_REF_SLOTS; i++)
		sum += READ_ONCE(ref->slot[i].count);
	return sum;
}

bool percpu_ref_is_zero(struct percpu_ref *ref)
{
	return (READ_ONCE(ref->state) & __PERCPU_REF_ATOMIC) &&
	       atomic_long_read(&ref->count) == 0;
}

/*
 * The pfn -> pgmap lookup: lib/xarray.c's xa_load() over pgmap_array
 * (xa_store_range() of each range at memremap time, 4.20+), and 4.5's
 * radix_tree_lookup() over pgmap_radix, one entry per 128 MiB section.
 * Both are the same 64-way tree of nodes; a load is one dependent load
 * of the head and one per level, plus the sibling slot a multi-index
 * entry points at. The nodes keep lib/xarray.c's layout (header, then
 * slots, then marks) and entry encoding; the tree is built once, at
 * mem_init(), and freed at mem_exit(), so readers need no RCU.
 *
 * The keys are physical: the device's pages are looked up as if the
 * device were a DEVMAP_PHYS_PAGES namespace at DEVMAP_PHYS_PFN (mm.h).
 */
#define XA_CHUNK_SHIFT		6
#define XA_CHUNK_SIZE		(1UL << XA_CHUNK_SHIFT)
#define XA_CHUNK_MASK		(XA_CHUNK_SIZE - 1)

struct xa_node {
	unsigned char shift;
	unsigned char offset;
	unsigned char count;
	unsigned char nr_values;
	struct xa_node *parent;
	void *array;
	void *private_list[2];
	void *slots[XA_CHUNK_SIZE];
	unsigned long marks[3][XA_CHUNK_SIZE / BITS_PER_LONG];
};

struct xarray {
	void *xa_head;
};

static struct xarray pgmap_array, pgmap_radix;
static unsigned long pgmap_phys_offset;	/* model pfn -> physical pfn */

static inline void *xa_mk_internal(unsigned long v)
{
	return (void *)((v << 2) | 2);
}

static inline bool xa_is_internal(const void *entry)
{
	return ((unsigned long)entry & 3) == 2;
}

static inline bool xa_is_node(const void *entry)
{
	return xa_is_internal(entry) && (unsigned long)entry > 4096;
}

static inline struct xa_node *xa_to_node(const void *entry)
{
	return (struct xa_node *)((unsigned long)entry - 2);
}

static inline void *xa_mk_node(const struct xa_node *node)
{
	return (void *)((unsigned long)node | 2);
}

static inline bool xa_is_sibling(const void *entry)
{
	return xa_is_internal(entry) &&
	       entry < xa_mk_internal(XA_CHUNK_SIZE - 1);
}

static inline unsigned long xa_to_sibling(const void *entry)
{
	return (unsigned long)entry >> 2;
}

/* XA_RETRY_ENTRY and XA_ZERO_ENTRY: never stored here, but tested */
static inline bool xa_is_retry(const void *entry)
{
	return entry == xa_mk_internal(256);
}

static inline bool xa_is_zero(const void *entry)
{
	return entry == xa_mk_internal(257);
}

/*
 * xas_start() + xas_load() for one index; @depth (NULL in the lookups,
 * where the compiler drops it) counts the nodes walked.
 */
static __always_inline void *xas_load_index(struct xarray *xa,
					    unsigned long index,
					    unsigned int *depth)
{
	void *entry = READ_ONCE(xa->xa_head);
	struct xa_node *node;
	unsigned long offset;

	if (!xa_is_node(entry))
		return index ? NULL : entry;
	if ((index >> xa_to_node(entry)->shift) > XA_CHUNK_MASK)
		return NULL;
	while (xa_is_node(entry)) {
		node = xa_to_node(entry);
		if (depth)
			(*depth)++;
		offset = (index >> node->shift) & XA_CHUNK_MASK;
		entry = READ_ONCE(node->slots[offset]);
		if (xa_is_sibling(entry))
			entry = READ_ONCE(node->slots[xa_to_sibling(entry)]);
		if (!node->shift)
			break;
	}
	return entry;
}

/* xa_load(): under rcu_read_lock() (compiler barriers here) */
static noinline void *xa_load(struct xarray *xa, unsigned long index)
{
	void *entry;

	barrier();
	do {
		entry = xas_load_index(xa, index, NULL);
		if (xa_is_zero(entry))
			entry = NULL;
	} while (unlikely(xa_is_retry(entry)));
	barrier();
	return entry;
}

static struct xa_node *xa_node_alloc(struct xa_node *parent,
				     unsigned int shift, unsigned int offset)
{
	struct xa_node *node = aligned_alloc(64, sizeof(*node));

	if (!node)
		return NULL;
	memset(node, 0, sizeof(*node));
	node->shift = shift;
	node->offset = offset;
	node->parent = parent;
	node->array = parent ? parent->array : NULL;
	if (parent)
		parent->count++;
	return node;
}

/*
 * Store @entry at @index as one entry of 2^shift * (sibs + 1) indices
 * (a canonical slot and @sibs sibling slots), creating the nodes down to
 * @shift (xas_create() + xas_store() into an empty part of the tree).
 */
static int xa_build_store(struct xarray *xa, unsigned long index,
			  unsigned int shift, unsigned int sibs, void *entry)
{
	void **slot = &xa->xa_head;
	struct xa_node *node = NULL;
	unsigned long offset = 0;
	unsigned int i;

	for (;;) {
		void *cur = *slot;
		struct xa_node *child;

		if (xa_is_node(cur)) {
			node = xa_to_node(cur);
		} else {
			if (WARN_ON_ONCE(cur || !node))
				return -EINVAL;	/* head sized by the caller */
			child = xa_node_alloc(node, node->shift -
					      XA_CHUNK_SHIFT, offset);
			if (!child)
				return -ENOMEM;
			*slot = xa_mk_node(child);
			node = child;
		}
		if (WARN_ON_ONCE(shift > node->shift))
			return -EINVAL;
		offset = (index >> node->shift) & XA_CHUNK_MASK;
		if (node->shift == shift)
			break;
		slot = &node->slots[offset];
	}
	if (WARN_ON_ONCE(offset + sibs > XA_CHUNK_MASK || node->slots[offset]))
		return -EINVAL;
	node->slots[offset] = entry;
	node->count++;
	for (i = 1; i <= sibs; i++) {
		node->slots[offset + i] = xa_mk_internal(offset);
		node->count++;
	}
	return 0;
}

/* Give an empty array a head node tall enough for indices up to @max. */
static int xa_build_head(struct xarray *xa, unsigned long max)
{
	unsigned int shift = 0;
	struct xa_node *node;

	while ((max >> shift) >= XA_CHUNK_SIZE)
		shift += XA_CHUNK_SHIFT;
	node = xa_node_alloc(NULL, shift, 0);
	if (!node)
		return -ENOMEM;
	node->array = xa;
	xa->xa_head = xa_mk_node(node);
	return 0;
}

/*
 * The entry xa_store_range() stores at @first (xas_set_range()): the
 * largest whose size is a power of 64 that @first is aligned to, with as
 * many sibling slots as fit in [first, last] and in the node.
 */
static void xa_range_chunk(unsigned long first, unsigned long last,
			   unsigned int *shiftp, unsigned int *sibsp)
{
	unsigned int shift = 0, s;
	unsigned long units, room;

	for (s = XA_CHUNK_SHIFT; s < BITS_PER_LONG; s += XA_CHUNK_SHIFT) {
		if (first & ((1UL << s) - 1) ||
		    last - first < (1UL << s) - 1)
			break;
		shift = s;
	}
	units = (last - first + 1) >> shift;
	room = XA_CHUNK_SIZE - ((first >> shift) & XA_CHUNK_MASK);
	*shiftp = shift;
	*sibsp = (unsigned int)(min(units, room) - 1);
}

/*
 * xa_store_range(&pgmap_array, first, last, entry) on an empty array:
 * the head is as tall as the last index needs (one level more when the
 * range ends just below a power of two: a multi-index entry cannot
 * start at 0, xas_max()), then each xa_range_chunk() is stored.
 */
static int xa_build_range(struct xarray *xa, unsigned long first,
			  unsigned long last, void *entry)
{
	unsigned long max = last, size;
	unsigned int order = __builtin_ctzl(last + 1), shift, sibs;
	int err;

	if (last == (1UL << order) - 1)
		max++;	/* xas_max(): a multi-index entry cannot start at 0 */
	err = xa_build_head(xa, max);
	while (!err) {
		xa_range_chunk(first, last, &shift, &sibs);
		err = xa_build_store(xa, first, shift, sibs, entry);
		size = (sibs + 1UL) << shift;
		if (last - first < size)
			break;
		first += size;
	}
	return err;
}

static void xa_free_tree(void *entry)
{
	struct xa_node *node;
	unsigned long i;

	if (!xa_is_node(entry))
		return;
	node = xa_to_node(entry);
	if (node->shift)
		for (i = 0; i < XA_CHUNK_SIZE; i++)
			xa_free_tree(node->slots[i]);
	free(node);
}

/*
 * memremap_pages()' pgmap_array entry (xa_store_range over the range's
 * pfns) and 4.5's devm_memremap_pages() pgmap_radix entries (one
 * radix_tree_insert() per section of the range).
 */
int pgmap_index_init(struct dev_pagemap *pgmap, unsigned long phys_pages)
{
	unsigned long first, last, key;
	int err;

	if (WARN_ON_ONCE(phys_pages < pgmap->end_pfn - pgmap->start_pfn))
		return -EINVAL;
	pgmap_phys_offset = DEVMAP_PHYS_PFN - pgmap->start_pfn;
	first = DEVMAP_PHYS_PFN;
	last = DEVMAP_PHYS_PFN + phys_pages - 1;
	err = xa_build_range(&pgmap_array, first, last, pgmap);
	if (err)
		return err;
	err = xa_build_head(&pgmap_radix, last >> PFN_SECTION_SHIFT);
	for (key = first >> PFN_SECTION_SHIFT;
	     !err && key <= last >> PFN_SECTION_SHIFT; key++)
		err = xa_build_store(&pgmap_radix, key, 0, 0, pgmap);
	return err;
}

void pgmap_index_exit(void)
{
	xa_free_tree(pgmap_array.xa_head);
	xa_free_tree(pgmap_radix.xa_head);
	pgmap_array.xa_head = pgmap_radix.xa_head = NULL;
}

/* Levels a pgmap_array load walks for @pfn (tests). */
unsigned int pgmap_lookup_depth(unsigned long pfn)
{
	unsigned int depth = 0;

	xas_load_index(&pgmap_array, pfn + pgmap_phys_offset, &depth);
	return depth;
}

/*
 * get_dev_pagemap(): a cached pgmap that covers @pfn is returned with no
 * new reference (the caller already holds one); otherwise the cached one
 * is put and the pfn's pgmap is looked up (rcu_read_lock(); xa_load())
 * and tryget_live'd.
 */
struct dev_pagemap *get_dev_pagemap(unsigned long pfn,
				    struct dev_pagemap *pgmap)
{
	if (pgmap) {
		if (pfn >= pgmap->start_pfn && pfn < pgmap->end_pfn)
			return pgmap;
		put_dev_pagemap(pgmap);
	}
	barrier();	/* rcu_read_lock() */
	pgmap = xa_load(&pgmap_array, pfn + pgmap_phys_offset);
	if (pgmap && !percpu_ref_tryget_live(&pgmap->ref))
		pgmap = NULL;
	barrier();	/* rcu_read_unlock() */
	return pgmap;
}

/*
 * 4.5's get_dev_pagemap(): a cached pgmap that covers @pfn gets a blind
 * percpu_ref_get() (the caller's page references keep it alive);
 * otherwise radix_tree_lookup(&pgmap_radix, section) and tryget_live.
 */
struct dev_pagemap *get_dev_pagemap_v45(unsigned long pfn,
					struct dev_pagemap *pgmap)
{
	if (pgmap && pfn >= pgmap->start_pfn && pfn < pgmap->end_pfn) {
		percpu_ref_get(READ_ONCE(pgmap->ref_v45));
		return pgmap;
	}
	barrier();	/* rcu_read_lock() */
	pgmap = xa_load(&pgmap_radix,
			(pfn + pgmap_phys_offset) >> PFN_SECTION_SHIFT);
	if (pgmap && !percpu_ref_tryget_live(READ_ONCE(pgmap->ref_v45)))
		pgmap = NULL;
	barrier();	/* rcu_read_unlock() */
	return pgmap;
}

noinline void get_zone_device_page_v45(struct page *page, int refs)
{
	percpu_ref_get_many(READ_ONCE(READ_ONCE(page->pgmap)->ref_v45), refs);
}

noinline void put_zone_device_page_v45(struct page *page, int refs)
{
	percpu_ref_put_many(READ_ONCE(READ_ONCE(page->pgmap)->ref_v45), refs);
}
