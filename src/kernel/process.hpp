// Processes and their address spaces (chapter 06).
//
// A process owns an Sv39 address space: its own root table, whose root slots
// point at the kernel's own tables everywhere the kernel maps something
// (sv39.hpp, share_root_slots), and whose slot 1, the user window
// [kUserBase, kUserLimit), belongs to the process alone (user_memory.hpp).
// Its tasks run with its satp (sched::SpawnSpace). Pages are mapped into the
// window from a bounded pool of frames that records each frame's owner, and
// unmapped with a TLB shootdown: every other CPU the space was ever active
// on flushes the page and acknowledges before the unmap returns and before
// the frame can be handed out again (lib/shootdown.hpp).
#pragma once

#include <cstdint>

#include "kernel/boot.hpp"
#include "kernel/irqlock.hpp"
#include "kernel/sched.hpp"
#include "lib/result.hpp"
#include "lib/shootdown.hpp"
#include "lib/sv39.hpp"
#include "lib/user_memory.hpp"

namespace hb::proc {

/// Processes at once, and table pages per process (a root, the window's
/// level-1 table and six level-0 tables, each covering one 2 MiB stretch
/// of the window that holds mapped pages).
inline constexpr std::uint32_t kMaxProcesses = 8;
inline constexpr std::size_t kTablesPerProcess = 8;
/// User frames for all processes: 1 MiB.
inline constexpr std::uint32_t kUserFrames = 256;

struct Process;

enum class ProcError : std::uint32_t {
    None,
    NoFreeProcess,   ///< the process table is full
    OutOfTables,     ///< no table page left (building the root, or a map in a new 2 MiB stretch)
    OutsideWindow,   ///< the address is not a page of [kUserBase, kUserLimit)
    NoFrame,         ///< the frame pool is empty
    AlreadyMapped,   ///< map: the page is mapped already
    NotMapped,       ///< unmap: nothing mapped there
    NotOwned,        ///< the page's frame belongs to another process
    // No ShootdownFailed: a shootdown that cannot finish panics with its evidence.
};
const char* proc_error_name(ProcError e);

/// Builds a process with an empty user window. Boot CPU or a task; after
/// vm::build_kernel_space.
Result<Process*, ProcError> create();
/// What a task of `p` is spawned with.
sched::SpawnSpace space_of(Process& p);
ProcessId id_of(const Process& p);

/// Maps a fresh, zeroed frame at user page `va` (U|R|W) and returns the
/// frame's kernel address (identity-mapped), for the kernel to fill.
Result<std::uintptr_t, ProcError> map_page(Process& p, std::uint64_t va);
/// Unmaps user page `va`: clears the PTE, flushes this CPU, shoots the page
/// down on every other CPU in the space's ActiveSet and waits for all of
/// their acks (bounded; a CPU that does not answer is a panic with the
/// evidence), then returns the frame to the pool.
ProcError unmap_page(Process& p, std::uint64_t va);

/// The TLB-shootdown IPI's work on a target (registered by init).
void init(const BootInfo& boot);

/// The counterfactual's switch: the next shootdown `cpu` serves acks
/// without flushing. One-shot.
void suppress_next_flush(CpuId cpu);

/// Statistics: shootdowns run, target CPUs acked, flushes skipped.
struct Stats {
    std::uint64_t shootdowns;
    std::uint64_t targets;
    std::uint64_t suppressed;
    std::uint64_t last_round_trip_ns;
};
Stats stats();
/// Is a shootdown request posted to `cpu` and not yet served? (A look for
/// the final invariants: at rest, none may be.)
bool shootdown_pending(CpuId cpu);

/// The process whose space this task runs in, or null (for system calls).
Process* current();

}  // namespace hb::proc
