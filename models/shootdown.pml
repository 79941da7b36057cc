/*
 * shootdown.pml: TLB shootdown on unmap (request and acknowledge), as a
 * Spin model.
 *
 * The question: once unmap returns and the page is freed (and may be handed
 * to someone else), can any CPU still read it through a translation its TLB
 * cached before the unmap? On RISC-V, sfence.vma flushes only the hart that
 * executes it, so every other hart that may hold the translation must be
 * asked to flush, and the unmapper may free the page only after all of them
 * have done so.
 *
 * Actors. CPU 0 unmaps one page: it clears the PTE, flushes its own TLB,
 * posts a shootdown request (a mailbox bit plus an IPI) to each other CPU
 * that has the address space active, waits for every acknowledgement, and
 * returns; then the page is freed. CPUs 1..NCPUS-1 have the address space
 * active and run a thread that reads the page NREADS times through the MMU:
 * from the CPU's TLB if it caches the translation, else by a page walk that
 * fills the TLB from the PTE, or faults if the PTE is clear. A target takes
 * the request's IPI between any two of its thread's accesses, flushes its
 * TLB (sfence.vma) and acknowledges; after its thread is done it idles and
 * still takes IPIs. Each TLB may or may not hold the translation at the
 * start.
 *
 * Variants, chosen with -D on the spin command line:
 *   (none)          the real protocol: unmap waits for every ack. Must verify.
 *   NAIVE_NO_WAIT   unmap returns (and the page is freed) right after posting
 *                   the requests, before the acks. Must produce a
 *                   counterexample: a target still caching the translation
 *                   reads the freed page.
 *
 * Property (below): no access reads the page through a translation after
 * the page was freed. Asserted at every access; a safety property, so
 * run-spin.sh's `pan -a -f` reports it as an assertion violation (there are
 * no accept states for the cycle search to find).
 */

#ifndef NCPUS
#define NCPUS 3      /* CPU 0 unmaps; CPUs 1..NCPUS-1 are targets */
#endif
#ifndef NREADS
#define NREADS 2     /* accesses by the thread on each target */
#endif

bit  pte = 1;        /* the PTE that maps the page: valid */
bit  tlb[NCPUS];     /* each CPU's TLB holds the translation */
bit  mm_active[NCPUS];  /* the address space is active on this CPU */
bit  req[NCPUS];     /* a shootdown request is posted to this CPU */
bit  ack[NCPUS];     /* this CPU flushed and acknowledged */
bit  freed = 0;      /* unmap returned: the page is freed and may be reused */
byte faults = 0;     /* accesses that found no translation (the right outcome after unmap) */

/* [hb:region pml_property] */
/* One load from the page by CPU c, through the MMU. A TLB hit uses the
 * cached translation without looking at the PTE; a miss walks the page
 * table (hardware, atomic with respect to this CPU's own interrupts) and
 * caches what it finds. Reading the page after it was freed is the bug. */
inline access(c) {
    atomic {
        if
        :: tlb[c] -> assert(!freed)         /* no read through a stale translation */
        :: else ->
            if
            :: pte -> tlb[c] = 1; assert(!freed)
            :: else -> faults++             /* page fault: unmapped, as it should be */
            fi
        fi
    }
}
/* [hb:end pml_property] */

/* [hb:region pml_unmapper] */
proctype Unmapper() {
    byte i;
    /* The unmapping thread may have used the page itself. */
    if
    :: access(0)
    :: skip
    fi;
    pte = 0;                     /* clear the PTE (a store, made visible before the IPIs) */
    tlb[0] = 0;                  /* local sfence.vma */
    i = 1;
    do                           /* post a request to every CPU with the address space active */
    :: i < NCPUS ->
        if
        :: mm_active[i] -> req[i] = 1
        :: else -> skip
        fi;
        i++
    :: else -> break
    od;
#ifndef NAIVE_NO_WAIT
    i = 1;
    do                           /* wait for every acknowledgement */
    :: i < NCPUS -> (!mm_active[i] || ack[i]); i++
    :: else -> break
    od;
#endif
    freed = 1;                   /* unmap returns; the page goes back to the allocator */
    access(0)                    /* the unmapper's thread touches it again: must fault */
}
/* [hb:end pml_unmapper] */

/* [hb:region pml_target] */
/* The request's IPI handler on CPU c: flush, then acknowledge. */
inline shootdown(c) {
    tlb[c] = 0;                  /* sfence.vma on this CPU */
    req[c] = 0;
    ack[c] = 1                   /* only after the flush */
}

proctype Target(byte c) {
    byte reads = 0;
    do
    :: req[c] -> shootdown(c)    /* the IPI, between two accesses */
    :: reads < NREADS -> access(c); reads++
    :: reads == NREADS -> break
    od;
    /* The thread is done; the CPU idles with interrupts on. Waiting here
     * forever is a valid end state. */
end_idle:
    do
    :: req[c] -> shootdown(c)
    od
}
/* [hb:end pml_target] */

init {
    byte i = 1;
    atomic {
        do
        :: i < NCPUS ->
            mm_active[i] = 1;
            if                   /* the TLB may already cache the translation */
            :: tlb[i] = 1
            :: skip
            fi;
            run Target(i);
            i++
        :: else -> break
        od;
        if
        :: tlb[0] = 1
        :: skip
        fi;
        run Unmapper()
    }
}
