/*
 * steal.pml: chapter 06's bounded work steal, as a Spin model.
 *
 * The question: can two CPUs run one task? The victim's own scheduler takes
 * tasks from the head of its runqueue while thieves take free tasks from the
 * tail; a task taken twice runs twice (and, in a kernel, two harts run on
 * one stack).
 *
 * Actors. One victim CPU whose runqueue holds NTASKS free tasks (one class,
 * slots head..tail-1 of a ring, ids 0..NTASKS-1 in queue order). The
 * victim's scheduler picks from the head. NTHIEVES thief CPUs each steal a
 * batch of 1..NBATCH tasks from the tail (lib/runqueue.hpp,
 * BasicRunQueue::steal), queue the batch on their own runqueue
 * (enqueue_stolen), and their own scheduler picks and runs it. Everyone
 * stops when the victim's queue is empty.
 *
 * Variants, chosen with -D on the spin command line:
 *   (none)                 the real protocol (LockedRunQueue::steal): the
 *                          look at the tail and the take are one critical
 *                          section of the victim's lock; then, holding no
 *                          victim lock, the thief queues the batch under its
 *                          own lock. Must verify.
 *   NAIVE_LOOK_THEN_TAKE   the thief looks at the tail in one critical
 *                          section and removes that many tasks in another;
 *                          between the two, the victim or the other thief
 *                          takes the task it looked at. Must produce a
 *                          counterexample.
 *
 * Property (below): every task runs exactly once. An assertion at each run
 * (no second run), and one at the end, when every CPU has stopped (none was
 * lost). Both are safety properties; run-spin.sh's `pan -a -f` finds the
 * assertion violations too (the model has no accept states, so the cycle
 * search itself finds nothing).
 */

#ifndef NTASKS
#define NTASKS 3
#endif
#ifndef NTHIEVES
#define NTHIEVES 2
#endif
#ifndef NBATCH
#define NBATCH 2     /* most tasks one steal takes (kStealMax, scaled down) */
#endif

byte q[NTASKS];        /* the victim's free FIFO: slots head..tail-1 */
byte head = 0;
byte tail = 0;
bit  vlock = 0;        /* the victim runqueue's lock */
byte vholder = 255;    /* _pid holding it, for the one-lock-at-a-time check */
bit  tlock[NTHIEVES];  /* each thief's own runqueue lock */
byte runs[NTASKS];     /* times each task ran */
byte stopped = 0;      /* CPUs that found nothing left to do */

/* [hb:region pml_property] */
/* Running a task: count it, and it must be the first run. */
inline run_task(t) {
    atomic { runs[t]++; assert(runs[t] == 1) }   /* no task runs twice */
}

/* When every CPU has stopped: every task ran (none lost, none twice). */
inline all_ran_once() {
    byte k = 0;
    do
    :: k < NTASKS -> assert(runs[k] == 1); k++
    :: else -> break
    od
}
/* [hb:end pml_property] */

inline victim_lock()   { atomic { vlock == 0 -> vlock = 1; vholder = _pid } }
inline victim_unlock() { atomic { vholder = 255; vlock = 0 } }

/* [hb:region pml_victim] */
/* The victim's own scheduler: pick_next from the head, under its lock. */
proctype Victim() {
    byte t;
    do
    :: victim_lock();
       if
       :: head < tail ->
           t = q[head]; head++;
           victim_unlock();
           run_task(t)
       :: else ->
           victim_unlock();
           break
       fi
    od;
    stopped++
}
/* [hb:end pml_victim] */

/* [hb:region pml_thief] */
proctype Thief(byte me) {
    byte batch[NBATCH];   /* StealBatch */
    byte got = 0;         /* StealBatch::count */
    byte want;            /* n: how many this steal asks for, 1..NBATCH */
    byte mine[NTASKS];    /* the thief's own runqueue (nobody steals from it here) */
    byte mhead = 0;
    byte mtail = 0;
    byte t;
    byte i;
    do
    :: /* A steal asks for n in 1..NBATCH (never more: the bound). */
       if
       :: want = 1
       :: NBATCH > 1 -> want = NBATCH
       fi;
#ifndef NAIVE_LOOK_THEN_TAKE
       /* Real: look and take in ONE critical section of the victim's lock
        * (LockedRunQueue::steal). Newest first, like pop_back. */
       victim_lock();
       got = 0;
       do
       :: got < want && head < tail ->
           tail--; batch[got] = q[tail]; got++
       :: else -> break
       od;
       victim_unlock();
#else
       /* Naive: look at the tail under the lock, release it ... */
       victim_lock();
       got = 0;
       do
       :: got < want && head + got < tail ->
           batch[got] = q[tail - 1 - got]; got++
       :: else -> break
       od;
       victim_unlock();
       /* ... the window: the victim or the other thief takes the same tasks
        * here ... then take "them" in a second critical section, trusting
        * the look: remove as many from the tail as were seen. */
       if
       :: got > 0 ->
           victim_lock();
           i = 0;
           do
           :: i < got && head < tail -> tail--; i++
           :: else -> break
           od;
           victim_unlock()
       :: else -> skip
       fi;
#endif
       if
       :: got == 0 -> break          /* NothingEligible: stop */
       :: else -> skip
       fi;
       /* enqueue_stolen, under the thief's own lock, holding no other. */
       assert(vholder != _pid);
       atomic { tlock[me] == 0 -> tlock[me] = 1 };
       i = 0;
       do
       :: i < got -> mine[mtail] = batch[i]; mtail++; i++
       :: else -> break
       od;
       tlock[me] = 0;
       got = 0;
       /* The thief's own scheduler runs what it queued (pick_next). */
       do
       :: atomic { tlock[me] == 0 -> tlock[me] = 1 };
          if
          :: mhead < mtail ->
              t = mine[mhead]; mhead++;
              tlock[me] = 0;
              run_task(t)
          :: else ->
              tlock[me] = 0;
              break
          fi
       od
    od;
    stopped++
}
/* [hb:end pml_thief] */

init {
    byte i = 0;
    atomic {
        /* The victim's queue: NTASKS free tasks, ids in queue order. */
        do
        :: i < NTASKS -> q[tail] = i; tail++; i++
        :: else -> break
        od;
        run Victim();
        i = 0;
        do
        :: i < NTHIEVES -> run Thief(i); i++
        :: else -> break
        od
    };
    stopped == NTHIEVES + 1;   /* every CPU found the queue empty and stopped */
    all_ran_once()
}
