// SPDX-License-Identifier: GPL-2.0
/*
 * ZONE_DEVICE's struct dev_pagemap and its percpu_ref (lib/percpu-refcount.c,
 * mm/memremap.c). In per-cpu mode get/put touch only the caller's slot
 * inside a section that percpu_ref_kill() waits out; the kernel uses
 * RCU-sched, this model uses membarrier(2) so that readers pay compiler
 * barriers only, as the kernel's readers pay preempt_disable().
 */
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
 * get_dev_pagemap(): a cached pgmap that covers @pfn is returned with no
 * new reference (the caller already holds one); otherwise the cached one
 * is put and the pfn's pgmap is looked up and tryget_live'd.
 */
struct dev_pagemap *get_dev_pagemap(unsigned long pfn,
				    struct dev_pagemap *pgmap)
{
	if (pgmap) {
		if (pfn >= pgmap->start_pfn && pfn < pgmap->end_pfn)
			return pgmap;
		put_dev_pagemap(pgmap);
	}
	/* rcu_read_lock(); xa_load(&pgmap_array, pfn) */
	pgmap = mem_pgmap;
	if (!pgmap || pfn < pgmap->start_pfn || pfn >= pgmap->end_pfn)
		return NULL;
	if (!percpu_ref_tryget_live(&pgmap->ref))
		return NULL;
	return pgmap;
}
