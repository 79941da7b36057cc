#include "kernel/vm.hpp"

#include <new>

#include "arch/riscv/csr.hpp"
#include "kernel/console.hpp"
#include "kernel/fault.hpp"
#include "kernel/panic.hpp"
#include "kernel/stacks.hpp"

extern "C" char __kernel_start[], __text_end[], __user_text_start[], __user_text_end[];
extern "C" char __rodata_start[], __data_start[], __stacks_start[], __stacks_end[];
extern "C" char __user_stack_start[], __user_stack_end[], __kernel_end[];

namespace hb::vm {
namespace {

[[gnu::section(".user.stack")]] constinit UserStack g_user_stacks[kMaxCpus];

/// Table pages for the kernel space. The image needs a root, one level-1
/// table per GiB touched and a level-0 table per 2 MiB mapped with 4 KiB
/// pages (image, stacks, MMIO); 64 leaves room, and running out is an
/// error, not a crash.
constexpr std::size_t kTablePages = 64;
constinit sv39::PageTable g_tables[kTablePages]{};
constinit sv39::TablePool g_pool(g_tables, kTablePages);
alignas(sv39::AddressSpace) constinit unsigned char g_space_storage[sizeof(sv39::AddressSpace)]{};
constinit sv39::AddressSpace* g_space = nullptr;

std::uintptr_t addr(const char* p) { return reinterpret_cast<std::uintptr_t>(p); }

void map_or_fail(std::uintptr_t va, std::uintptr_t end, std::uint64_t flags, const char* what,
                 bool allow_mega = true) {
    if (end <= va) return;
    const sv39::MapError e = g_space->map(va, va, end - va, flags, allow_mega);
    HB_ASSERT(e == sv39::MapError::None, "sv39 map ", what, " [", Hex{va}, ", ", Hex{end}, "): ",
              sv39::map_error_name(e));
}

constexpr std::uint64_t round_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

const sv39::AddressSpace& kernel_space() { return *g_space; }

std::uintptr_t user_stack_bottom(CpuId cpu) { return reinterpret_cast<std::uintptr_t>(&g_user_stacks[cpu.raw()]); }
std::uintptr_t user_stack_top(CpuId cpu) { return user_stack_bottom(cpu) + sizeof(UserStack); }

// [hb:region build_kernel_space]
void build_kernel_space(const BootInfo& boot) {
    using namespace sv39;
    g_space = new (g_space_storage) AddressSpace(g_pool);

    // Kernel image, section by section, 4 KiB pages so permissions are exact.
    std::uint64_t text_flags = kRead | kExec | kGlobal;
    if (HB_FAULT(WritableText)) text_flags |= kWrite;  // [hb:fault]
    map_or_fail(addr(__kernel_start), addr(__text_end), text_flags, "text", false);
    map_or_fail(addr(__user_text_start), addr(__user_text_end), kRead | kExec | kUser, "user text", false);
    map_or_fail(addr(__rodata_start), addr(__data_start), kRead | kGlobal, "rodata", false);
    map_or_fail(addr(__data_start), addr(__stacks_start), kRead | kWrite | kGlobal, "data", false);

    // Every stack slot: the stack mapped, its guard page NOT mapped. A store
    // into the guard page is then a page fault on the hart that made it.
    for (std::uintptr_t slot = addr(__stacks_start); slot < addr(__stacks_end); slot += kStackSlotSize) {
        std::uintptr_t first = slot + hb::kPageSize;
        if (HB_FAULT(MapGuardPages)) first = slot;  // [hb:fault]
        map_or_fail(first, slot + kStackSlotSize, kRead | kWrite | kGlobal, "stack", false);
    }
    map_or_fail(addr(__user_stack_start), addr(__user_stack_end), kRead | kWrite | kUser, "user stacks", false);

    // The rest of RAM (the device tree lives there), megapages where aligned.
    const std::uint64_t ram_end = boot.platform.memory_base + boot.platform.memory_size;
    const std::uint64_t mega = round_up(addr(__kernel_end), kMegaPageSize);
    map_or_fail(addr(__kernel_end), mega < ram_end ? mega : ram_end, kRead | kWrite | kGlobal, "ram", false);
    if (mega < ram_end) map_or_fail(mega, ram_end, kRead | kWrite | kGlobal, "ram");

    // QEMU's test finisher: power_off() writes it on failure.
    if (boot.platform.test_finisher != 0) {
        const std::uint64_t page = boot.platform.test_finisher & ~(sv39::kPageSize - 1);
        map_or_fail(page, page + sv39::kPageSize, kRead | kWrite | kGlobal, "test finisher", false);
    }
    console::println("KINIT: sv39: kernel space built with ", g_pool.used(), " of ", g_pool.capacity(),
                     " table pages");
}
// [hb:end build_kernel_space]

void enable_on_this_hart() {
    // Identity mapping: the next instruction's address means the same thing
    // before and after the switch. sfence.vma drops stale translations.
    HB_CSR_WRITE(satp, g_space->satp());
    arch::sfence_vma_all();
}

}  // namespace hb::vm
