#include "kernel/process.hpp"

#include <atomic>
#include <new>

#include "arch/riscv/csr.hpp"
#include "kernel/fault.hpp"
#include "kernel/hartlocal.hpp"
#include "kernel/ipi.hpp"
#include "kernel/panic.hpp"
#include "kernel/smp.hpp"
#include "kernel/trace.hpp"
#include "kernel/vm.hpp"
#include "kernel/wait.hpp"

namespace hb::proc {

struct Process {
    bool claimed = false;  ///< the slot is taken (g_table_lock)
    /// Built and published: set once, after `space` is complete, never
    /// cleared (processes are not destroyed in this book yet). current()
    /// reads it without the lock, so it is the release/acquire pair that
    /// makes `space` visible.
    std::atomic<bool> live{false};
    ProcessId id{};
    sv39::PageTable* tables = nullptr;
    alignas(sv39::TablePool) unsigned char pool_storage[sizeof(sv39::TablePool)]{};
    alignas(sv39::AddressSpace) unsigned char space_storage[sizeof(sv39::AddressSpace)]{};
    sv39::AddressSpace* space = nullptr;
    ActiveSet active;
    /// Guards `space` (map and unmap). A leaf: never held across the
    /// shootdown's wait (the wait sends IPIs and serves this CPU's slot).
    IrqSpinLock lock;
};

namespace {

// The frames every process's pages come from: part of the kernel image's
// .bss, identity-mapped for the kernel, mapped U into a process's window.
struct alignas(4096) Frame {
    unsigned char bytes[sv39::kPageSize];
};
constinit Frame g_frames[kUserFrames]{};
constinit Protected<UserFramePool<kUserFrames>, IrqSpinLock> g_pool;
constinit sv39::PageTable g_tables[kMaxProcesses][kTablesPerProcess]{};
constinit Process g_processes[kMaxProcesses]{};
constinit IrqSpinLock g_table_lock;
constinit ShootdownBoard g_board;

FrameRegion region() { return {reinterpret_cast<std::uintptr_t>(&g_frames[0]), kUserFrames}; }

constinit std::atomic<std::uint64_t> g_shootdowns{0};
constinit std::atomic<std::uint64_t> g_targets{0};
constinit std::atomic<std::uint64_t> g_suppressed{0};
constinit std::atomic<std::uint64_t> g_last_rt_ns{0};
/// The counterfactual's switch: CpuId + 1 of the CPU whose next service
/// acks without flushing, or 0.
constinit std::atomic<std::uint32_t> g_suppress_flush{0};

/// How long an unmap waits for every target's ack.
constexpr std::uint64_t kShootdownTimeoutUs = 1'000'000;

// [hb:region flush]
/// A target's (or a waiting initiator's own) service of its slot: flush
/// what the request names, unless the counterfactual's switch is armed
/// for this CPU.
void flush_range(const ShootdownRange& r) {
    std::uint32_t armed = current_cpu().raw() + 1;
    if (g_suppress_flush.compare_exchange_strong(armed, 0, std::memory_order_relaxed)) {
        g_suppressed.fetch_add(1, std::memory_order_relaxed);
        return;  // acked without flushing: the stale translation survives
    }
    if (r.flush_whole_tlb()) {
        arch::sfence_vma_all();
        return;
    }
    for (std::uint64_t i = 0; i < r.pages; ++i) arch::sfence_vma_page(r.va + i * sv39::kPageSize);
}

void serve_own_slot() { g_board.slot(current_cpu()).service(&flush_range); }

/// The S_SOFT handler's part for IpiReason::TlbShootdown.
void on_shootdown_ipi(trap::TrapFrame&) {
    serve_own_slot();
    trace::record(TraceEvent::ShootdownAck);  // chapter 07
}
// [hb:end flush]

}  // namespace

const char* proc_error_name(ProcError e) {
    switch (e) {
    case ProcError::None: return "none";
    case ProcError::NoFreeProcess: return "no-free-process";
    case ProcError::OutOfTables: return "out-of-tables";
    case ProcError::OutsideWindow: return "outside-window";
    case ProcError::NoFrame: return "no-frame";
    case ProcError::AlreadyMapped: return "already-mapped";
    case ProcError::NotMapped: return "not-mapped";
    case ProcError::NotOwned: return "not-owned";
    }
    return "?";
}

void init(const BootInfo&) {
    HB_ASSERT(kernel_leaves_user_window_free(vm::kernel_space()), "the kernel maps something in the user window");
    ipi::set_reason_handler(IpiReason::TlbShootdown, &on_shootdown_ipi);
}

// [hb:region create]
Result<Process*, ProcError> create() {
    using R = Result<Process*, ProcError>;
    Process* p = nullptr;
    std::uint32_t index = 0;
    {
        LockGuard guard(g_table_lock);
        for (std::uint32_t i = 0; i < kMaxProcesses && p == nullptr; ++i) {
            if (!g_processes[i].claimed) {
                p = &g_processes[i];
                index = i;
                p->claimed = true;
            }
        }
    }
    if (p == nullptr) return R::failure(ProcError::NoFreeProcess);
    p->id = ProcessId(index + 1);  // 0 is nobody
    auto* pool = new (p->pool_storage) sv39::TablePool(g_tables[index], kTablesPerProcess);
    p->space = new (p->space_storage) sv39::AddressSpace(*pool);
    if (!p->space->ok()) {
        LockGuard guard(g_table_lock);
        p->claimed = false;  // the slot goes back: a failed create leaves nothing behind
        return R::failure(ProcError::OutOfTables);
    }
    // Every root slot the kernel uses points at the kernel's own tables;
    // slot 1, the user window, stays the process's own.
    const sv39::MapError e = p->space->share_root_slots(vm::kernel_space(), 0, sv39::kEntries);
    HB_ASSERT(e == sv39::MapError::None, "sharing the kernel's root slots: ", sv39::map_error_name(e));
    p->live.store(true, std::memory_order_release);
    return R::success(p);
}
// [hb:end create]

sched::SpawnSpace space_of(Process& p) { return {p.space->satp(), &p.active}; }
ProcessId id_of(const Process& p) { return p.id; }

Process* current() {
    const sched::Task* t = sched::current_task();
    if (t == nullptr || t->satp == 0) return nullptr;
    for (Process& p : g_processes) {
        if (p.live.load(std::memory_order_acquire) && p.space->satp() == t->satp) return &p;
    }
    return nullptr;
}

// [hb:region map_page]
Result<std::uintptr_t, ProcError> map_page(Process& p, std::uint64_t va) {
    using R = Result<std::uintptr_t, ProcError>;
    if (va % sv39::kPageSize != 0 || !in_user_window(va, sv39::kPageSize)) return R::failure(ProcError::OutsideWindow);
    const auto claimed = g_pool.with([&](auto& pool) { return pool.claim(p.id); });
    if (!claimed.ok()) return R::failure(ProcError::NoFrame);
    const std::uintptr_t pa = region().pa_of(claimed.value());
    auto* bytes = reinterpret_cast<unsigned char*>(pa);
    for (std::uint64_t i = 0; i < sv39::kPageSize; ++i) bytes[i] = 0;  // no other process's data leaks in
    UserMapOutcome o;
    {
        LockGuard guard(p.lock);
        o = g_pool.with([&](auto& pool) {
            return map_user_page(*p.space, pool, region(), p.id, va, claimed.value(),
                                 sv39::kUser | sv39::kRead | sv39::kWrite);
        });
    }
    if (!o.ok()) {
        const FrameError back = g_pool.with([&](auto& pool) { return pool.release(p.id, claimed.value()); });
        HB_ASSERT(back == FrameError::None, "returning an unmapped frame: ", frame_error_name(back));
        switch (o.map) {
        case sv39::MapError::AlreadyMapped: return R::failure(ProcError::AlreadyMapped);
        case sv39::MapError::OutOfTables: return R::failure(ProcError::OutOfTables);
        default: return R::failure(ProcError::OutsideWindow);  // the window, the flags, a shared slot: not this va
        }
    }
    return R::success(pa);
}
// [hb:end map_page]

// [hb:region unmap_page]
ProcError unmap_page(Process& p, std::uint64_t va) {
    if (va % sv39::kPageSize != 0 || !in_user_window(va, sv39::kPageSize)) return ProcError::OutsideWindow;
    const CpuId self = current_cpu();
    // 1. Under the space's lock: find the frame, check the owner, clear the PTE.
    std::uint64_t pa = 0;
    ProcError refused = ProcError::None;
    {
        LockGuard guard(p.lock);
        const sv39::Translation tr = p.space->translate(va);
        if (!tr.mapped) {
            refused = ProcError::NotMapped;
        } else {
            pa = tr.pa;
            const auto frame = region().frame_of(pa);
            const FrameError owner = frame.ok() ? g_pool.with([&](auto& pool) { return pool.check_owner(p.id, frame.value()); })
                                                : frame.error();
            if (owner != FrameError::None) {
                refused = ProcError::NotOwned;
            } else {
                const sv39::MapError e = p.space->unmap(va, sv39::kPageSize);
                HB_ASSERT(e == sv39::MapError::None, "unmap of a mapped page: ", sv39::map_error_name(e));
            }
        }
    }
    if (refused != ProcError::None) return refused;
    // 2. This CPU's TLB, then every other CPU the space was active on.
    arch::sfence_vma_page(va);
    // An offline CPU is left out: it runs nothing while stopped (it clears
    // its online bit from its scheduler loop, with no task on it), and a CPU
    // that starts again installs its space with a full flush (sched's
    // switch_space, vm::enable_on_this_hart). One that goes offline after
    // this snapshot is excused the same way while we wait (its IPI may be
    // refused, or land after it stopped); its slot keeps the request, which
    // it serves, late and harmlessly, when it comes back.
    CpuSet targets = p.active.shootdown_targets(self) & smp::online_mask().snapshot();
    if (HB_FAULT(NoShootdown)) targets = CpuSet{};  // [hb:fault]
    auto made = ShootdownRequest::make(targets, self, ShootdownRange{va, 1});
    HB_ASSERT(made.ok(), "shootdown request: ", shootdown_post_error_name(made.error()));
    ShootdownRequest& request = made.value();
    trace::record(TraceEvent::ShootdownStart, static_cast<std::uint32_t>(targets.bits()));  // chapter 07
    const std::uint64_t t0 = now_ticks();
    const std::uint64_t deadline = t0 + us_to_ticks(kShootdownTimeoutUs);
    const ShootdownWait w = run_shootdown(
        g_board, request,
        [&](CpuSet posted) { request.excuse(ipi::send(posted, IpiReason::TlbShootdown)); },  // refused: offline now
        [&] {
            serve_own_slot();  // a crossing shootdown may wait on this CPU
            request.excuse(CpuSet::from_bits(request.targets().bits() & ~smp::online_mask().snapshot().bits()));
            arch::cpu_relax();
            return now_ticks() < deadline;
        });
    if (w != ShootdownWait::Complete) {
        HB_PANIC("tlb shootdown of ", Hex{va}, ": cpus ", Hex{request.unacked(g_board).bits()}, " did not ack within ",
                 kShootdownTimeoutUs / 1000, " ms");
    }
    g_last_rt_ns.store(ticks_to_ns(now_ticks() - t0), std::memory_order_relaxed);
    g_shootdowns.fetch_add(1, std::memory_order_relaxed);
    g_targets.fetch_add(targets.count(), std::memory_order_relaxed);
    // 3. Only now may the frame go back to the pool.
    const auto frame = region().frame_of(pa);
    const FrameError back = g_pool.with([&](auto& pool) { return pool.release(p.id, frame.value()); });
    HB_ASSERT(back == FrameError::None, "releasing the unmapped frame: ", frame_error_name(back));
    return ProcError::None;
}
// [hb:end unmap_page]

void suppress_next_flush(CpuId cpu) { g_suppress_flush.store(cpu.raw() + 1, std::memory_order_relaxed); }

bool shootdown_pending(CpuId cpu) { return g_board.slot(cpu).peek().phase == SlotPhase::Posted; }

Stats stats() {
    return {g_shootdowns.load(std::memory_order_relaxed), g_targets.load(std::memory_order_relaxed),
            g_suppressed.load(std::memory_order_relaxed), g_last_rt_ns.load(std::memory_order_relaxed)};
}

}  // namespace hb::proc
