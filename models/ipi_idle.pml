/*
 * ipi_idle.pml: the reschedule IPI and tickless idle of chapter 05, as a
 * Spin model.
 *
 * The question: can a CPU go to sleep for good while work is queued for it?
 * In a tickless kernel the idle CPU has no timer to wake it: the reschedule
 * IPI is the only wake-up, so one lost IPI is one CPU asleep forever.
 *
 * Actors. NSENDERS sender CPUs each queue NWORK tasks on one target CPU. The
 * target runs the idle loop and the S_SOFT trap handler. Hardware state is
 * two bits: `ssip` (the target's sip.SSIP, set by the sender's SBI call) and
 * `sie` (the target's sstatus.SIE, interrupts enabled). The mailbox is one
 * reason bit (lib/mailbox.hpp, IpiReason::Resched).
 *
 * Variants, chosen with -D on the spin command line:
 *   (none)               the real protocol: must verify
 *   NAIVE_CLEAR_AFTER    the trap handler clears SSIP after draining
 *   NAIVE_CHECK_SIE_ON   the idle loop checks its runqueue with interrupts
 *                        enabled, so the trap can fall between check and WFI
 * Each naive variant must produce a counterexample.
 *
 * Property (below): whenever work is queued, eventually the queue is empty.
 * Checked with `pan -a -f` (acceptance cycles, weak fairness). The senders are
 * bounded, so a lost wake-up shows as a run that ends with the target in WFI
 * and work queued; Spin extends such a finished run by stuttering, and the
 * claim "eventually empty" is violated on it.
 */

#ifndef NSENDERS
#define NSENDERS 2
#endif
#ifndef NWORK
#define NWORK 2    /* tasks per sender */
#endif

byte queued = 0;   /* tasks on the target's runqueue (under rq_lock) */
byte ran = 0;      /* tasks the target has picked */
bit  rq_lock = 0;  /* the target runqueue's spinlock */
bit  mailbox = 0;  /* the Resched bit of the target's mailbox */
bit  ssip = 0;     /* target sip.SSIP: an IPI is pending */
bit  sie = 0;      /* target sstatus.SIE: interrupts enabled */
bit  need_resched = 0;

/* [hb:region pml_property] */
ltl no_lost_wakeup { [] ((queued > 0) -> <> (queued == 0)) }
/* [hb:end pml_property] */

inline lock()   { atomic { rq_lock == 0 -> rq_lock = 1 } }
inline unlock() { rq_lock = 0 }

/* [hb:region pml_sender] */
/* A sender CPU: queue the task under the target's runqueue lock, release
 * the lock, then post the reason; only the poster that turned the bit on
 * sends the IPI (PostOutcome::MustSend), the others coalesce. */
proctype Sender() {
    byte n = 0;
    bit must_send;
    do
    :: n < NWORK ->
        lock(); queued++; unlock();
        atomic { must_send = (mailbox == 0); mailbox = 1 };  /* post(): fetch_or */
        if
        :: must_send -> ssip = 1                            /* SBI send_ipi */
        :: else -> skip
        fi;
        n++
    :: else -> break
    od
}
/* [hb:end pml_sender] */

/* [hb:region pml_trap] */
/* The S_SOFT trap, taken only with interrupts enabled and SSIP pending. The
 * hardware clears SIE on entry and sret restores it. */
inline trap() {
    assert(sie && ssip);
    sie = 0;
#ifndef NAIVE_CLEAR_AFTER
    ssip = 0;                                        /* clear SSIP first ... */
    atomic { bits = mailbox; mailbox = 0 };          /* ... then drain: exchange(0) */
#else
    atomic { bits = mailbox; mailbox = 0 };          /* naive: drain first ... */
    ssip = 0;                                        /* ... clear after: may erase a new IPI */
#endif
    if
    :: bits -> need_resched = 1
    :: else -> skip                                  /* an empty trap: harmless */
    fi;
    bits = 0;
    sie = 1                                          /* sret */
}

/* With interrupts enabled, a pending IPI is taken at the next instruction. */
inline interrupt_point() {
    if
    :: sie && ssip -> trap()
    :: else -> skip
    fi
}
/* [hb:end pml_trap] */

/* [hb:region pml_idle] */
/* The target CPU: pick a task if there is one, else sleep until an IPI. */
active proctype Target() {
    bit bits = 0;
    do
    ::
#ifndef NAIVE_CHECK_SIE_ON
        sie = 0;               /* interrupts off for check-then-sleep */
#else
        sie = 1;               /* naive: interrupts stay on */
        interrupt_point();
#endif
        lock();
        if
        :: queued > 0 ->
            queued--; ran++; need_resched = 0;
            unlock();
            sie = 1;           /* the task runs with interrupts on */
            interrupt_point()
        :: else ->
            unlock();
            /* Between the check and WFI. With SIE off nothing can happen
             * here; with SIE on, the IPI that announces new work can be taken
             * here, and its trap clears SSIP before WFI looks at it. */
            interrupt_point();
            /* WFI returns once SSIP is pending, even with SIE off (the
             * interrupt is then taken when SIE is set). Waiting here forever
             * is a valid end state of the system, hence the end label. */
end_wfi:    ssip == 1;
            sie = 1;
            interrupt_point()  /* SSIP is pending: the trap is taken here */
        fi
    od
}
/* [hb:end pml_idle] */

init {
    byte i = 0;
    atomic {
        do
        :: i < NSENDERS -> run Sender(); i++
        :: else -> break
        od
    }
}
