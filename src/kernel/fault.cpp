#include "kernel/fault.hpp"

#include "kernel/console.hpp"
#include "kernel/panic.hpp"

namespace hb::fault {
constinit std::uint64_t g_active = 0;

void init(const BootArgs& args) {
    const char* name = nullptr;
    std::size_t len = 0;
    if (!args.value("fault", name, len)) return;
    console::Line word;
    for (std::size_t i = 0; i < len; ++i) word.append(name[i]);
    Fault f{};
    if (!fault_by_name(name, len, f)) HB_PANIC("unknown fault '", word.c_str(), "' on the command line");
    g_active |= std::uint64_t{1} << static_cast<unsigned>(f);
    console::println("KINIT: fault injected: ", word.c_str());
}

}  // namespace hb::fault
