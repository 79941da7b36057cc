#include "lib/fdt.hpp"

namespace hb::fdt {
namespace {

constexpr std::uint32_t kMagic = 0xd00dfeed;
constexpr std::uint32_t kBeginNode = 1;
constexpr std::uint32_t kEndNode = 2;
constexpr std::uint32_t kProp = 3;
constexpr std::uint32_t kNop = 4;
constexpr std::uint32_t kEnd = 9;
constexpr int kMaxDepth = 16;
constexpr std::size_t kHeaderSize = 40;

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

bool str_eq(const char* a, std::size_t a_len, const char* b) {
    std::size_t i = 0;
    for (; i < a_len && b[i] != '\0'; ++i) {
        if (a[i] != b[i]) return false;
    }
    return i == a_len && b[i] == '\0';
}

bool starts_with(const char* s, const char* prefix) {
    for (; *prefix != '\0'; ++s, ++prefix) {
        if (*s != *prefix) return false;
    }
    return true;
}

/// Length of the NUL-terminated string at `s`, or `limit` if none within it.
std::size_t bounded_strlen(const char* s, std::size_t limit) {
    std::size_t n = 0;
    while (n < limit && s[n] != '\0') ++n;
    return n;
}

/// Does the NUL-separated string list [v, v+len) contain `want`?
bool list_contains(const char* v, std::size_t len, const char* want) {
    std::size_t i = 0;
    while (i < len) {
        const std::size_t n = bounded_strlen(v + i, len - i);
        if (str_eq(v + i, n, want)) return true;
        i += n + 1;
    }
    return false;
}

struct CpuNode {
    bool is_cpu = false;
    bool okay = true;
    bool has_reg = false;
    std::uint64_t reg = 0;
};

}  // namespace

const char* error_name(Error e) {
    switch (e) {
    case Error::None: return "none";
    case Error::BadMagic: return "bad-magic";
    case Error::BadVersion: return "bad-version";
    case Error::Truncated: return "truncated";
    case Error::BadToken: return "bad-token";
    case Error::BadNesting: return "bad-nesting";
    case Error::TooManyHarts: return "too-many-harts";
    case Error::NoHarts: return "no-harts";
    }
    return "unknown";
}

std::size_t total_size(const void* blob) {
    const auto* b = static_cast<const std::uint8_t*>(blob);
    if (be32(b) != kMagic) return 0;
    return be32(b + 4);
}

Result<Platform, Error> parse(const void* blob, std::size_t max_size) {
    using R = Result<Platform, Error>;
    const auto* b = static_cast<const std::uint8_t*>(blob);
    if (blob == nullptr || max_size < kHeaderSize) return R::failure(Error::Truncated);
    if (be32(b) != kMagic) return R::failure(Error::BadMagic);
    const std::size_t total = be32(b + 4);
    const std::size_t off_struct = be32(b + 8);
    const std::size_t off_strings = be32(b + 12);
    const std::uint32_t version = be32(b + 20);
    const std::size_t size_strings = be32(b + 32);
    const std::size_t size_struct = be32(b + 36);
    if (version < 17) return R::failure(Error::BadVersion);
    if (total > max_size || total < kHeaderSize) return R::failure(Error::Truncated);
    if (off_struct > total || size_struct > total - off_struct) return R::failure(Error::Truncated);
    if (off_strings > total || size_strings > total - off_strings) return R::failure(Error::Truncated);

    const std::uint8_t* s = b + off_struct;
    const char* strings = reinterpret_cast<const char*>(b + off_strings);
    Platform out;
    CpuNode cpu;
    // Which of the interesting nodes each open level is.
    enum class Node { Other, Root, Soc, Cpus, Cpu, Chosen, Memory, Device };
    // A device node's compatible match and first reg address.
    bool device_is_finisher = false;
    std::uint64_t device_reg = 0;
    Node stack[kMaxDepth]{};
    int depth = 0;  // number of open nodes
    std::size_t pos = 0;

    auto read32 = [&](std::uint32_t& v) {
        if (size_struct - pos < 4) return false;
        v = be32(s + pos);
        pos += 4;
        return true;
    };

    for (;;) {
        std::uint32_t token = 0;
        if (!read32(token)) return R::failure(Error::Truncated);
        if (token == kBeginNode) {
            const char* name = reinterpret_cast<const char*>(s + pos);
            const std::size_t len = bounded_strlen(name, size_struct - pos);
            if (len == size_struct - pos) return R::failure(Error::Truncated);
            pos += (len + 1 + 3) & ~std::size_t{3};
            if (pos > size_struct) return R::failure(Error::Truncated);
            if (depth >= kMaxDepth) return R::failure(Error::BadNesting);
            Node parent = depth == 0 ? Node::Other : stack[depth - 1];
            Node kind = Node::Other;
            if (depth == 0) {
                kind = Node::Root;
            } else if (parent == Node::Root && str_eq(name, len, "cpus")) {
                kind = Node::Cpus;
            } else if (parent == Node::Root && str_eq(name, len, "chosen")) {
                kind = Node::Chosen;
            } else if (parent == Node::Root && starts_with(name, "memory@")) {
                kind = Node::Memory;
            } else if (parent == Node::Root && str_eq(name, len, "soc")) {
                kind = Node::Soc;
            } else if (parent == Node::Root || parent == Node::Soc) {
                // Devices sit under the root or /soc (QEMU virt uses /soc).
                kind = Node::Device;
                device_is_finisher = false;
                device_reg = 0;
            } else if (parent == Node::Cpus && starts_with(name, "cpu@")) {
                kind = Node::Cpu;
                cpu = CpuNode{};
            }
            stack[depth++] = kind;
        } else if (token == kEndNode) {
            if (depth == 0) return R::failure(Error::BadNesting);
            const Node kind = stack[--depth];
            if (kind == Node::Device && device_is_finisher && device_reg != 0 &&
                out.test_finisher == 0) {
                out.test_finisher = device_reg;
            }
            if (kind == Node::Cpu && cpu.is_cpu && cpu.okay && cpu.has_reg) {
                if (out.hart_count == kMaxDtHarts) return R::failure(Error::TooManyHarts);
                out.harts[out.hart_count++] = HartId(cpu.reg);
            }
        } else if (token == kProp) {
            std::uint32_t len = 0;
            std::uint32_t nameoff = 0;
            if (!read32(len) || !read32(nameoff)) return R::failure(Error::Truncated);
            if (len > size_struct - pos || nameoff >= size_strings) return R::failure(Error::Truncated);
            const std::uint8_t* value = s + pos;
            pos += (std::size_t{len} + 3) & ~std::size_t{3};
            if (pos > size_struct) return R::failure(Error::Truncated);
            const char* pname = strings + nameoff;
            if (bounded_strlen(pname, size_strings - nameoff) == size_strings - nameoff)
                return R::failure(Error::Truncated);
            const Node here = depth == 0 ? Node::Other : stack[depth - 1];
            const auto is = [&](const char* want) { return str_eq(pname, bounded_strlen(pname, 64), want); };
            if (here == Node::Cpus && is("timebase-frequency")) {
                if (len == 4) out.timebase_hz = be32(value);
                if (len == 8) out.timebase_hz = (std::uint64_t{be32(value)} << 32) | be32(value + 4);
            } else if (here == Node::Cpu && is("device_type")) {
                cpu.is_cpu = len >= 4 && str_eq(reinterpret_cast<const char*>(value),
                                                bounded_strlen(reinterpret_cast<const char*>(value), len), "cpu");
            } else if (here == Node::Cpu && is("status")) {
                const char* v = reinterpret_cast<const char*>(value);
                const std::size_t vlen = bounded_strlen(v, len);
                cpu.okay = str_eq(v, vlen, "okay") || str_eq(v, vlen, "ok");
            } else if (here == Node::Cpu && is("reg")) {
                if (len == 4) {
                    cpu.reg = be32(value);
                    cpu.has_reg = true;
                } else if (len == 8) {
                    cpu.reg = (std::uint64_t{be32(value)} << 32) | be32(value + 4);
                    cpu.has_reg = true;
                }
            } else if (here == Node::Memory && is("reg") && len >= 16 && out.memory_size == 0) {
                // #address-cells = #size-cells = 2 at the root of QEMU virt.
                out.memory_base = (std::uint64_t{be32(value)} << 32) | be32(value + 4);
                out.memory_size = (std::uint64_t{be32(value + 8)} << 32) | be32(value + 12);
            } else if (here == Node::Device && is("compatible")) {
                device_is_finisher =
                    list_contains(reinterpret_cast<const char*>(value), len, "sifive,test0");
            } else if (here == Node::Device && is("reg") && len >= 8) {
                // #address-cells is 2 on QEMU virt's root and /soc: a 64-bit address.
                device_reg = (std::uint64_t{be32(value)} << 32) | be32(value + 4);
            } else if (here == Node::Chosen && is("bootargs") && len > 0) {
                out.bootargs = reinterpret_cast<const char*>(value);
                out.bootargs_len = bounded_strlen(out.bootargs, len);
            }
        } else if (token == kNop) {
            continue;
        } else if (token == kEnd) {
            break;
        } else {
            return R::failure(Error::BadToken);
        }
    }
    if (depth != 0) return R::failure(Error::BadNesting);
    if (out.hart_count == 0) return R::failure(Error::NoHarts);
    return R::success(out);
}

}  // namespace hb::fdt
