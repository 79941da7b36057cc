// Typed identifiers: the vocabulary of an SMP kernel.
//
// A CPU number and a hart number are both small integers, and mixing them up
// is the classic SMP bug: a table indexed by hart id overflows when firmware
// numbers harts sparsely, and an IPI sent to "cpu 1" lands on hart 1, which
// may be a different core. Here every identifier is its own type. They are
// built only explicitly, give their value back only through raw(), and do
// not convert into each other. The one place that maps CpuId <-> HartId is
// the topology table (lib/topology.hpp).
#pragma once

#include <cstdint>
#include <type_traits>

namespace hb {

// [hb:region newtype]
/// A distinct integer type: `Tag` makes two identifiers with the same
/// representation different types. Only equality and ordering are provided;
/// arithmetic on an identifier is almost always a bug, so there is none.
template <typename Tag, typename Rep>
class Id {
public:
    using rep_type = Rep;

    constexpr Id() = default;
    constexpr explicit Id(Rep value) : m_value(value) {}

    /// The raw value, for indexing arrays or talking to firmware.
    [[nodiscard]] constexpr Rep raw() const { return m_value; }

    friend constexpr bool operator==(Id, Id) = default;
    friend constexpr auto operator<=>(Id, Id) = default;

private:
    Rep m_value{};
};
// [hb:end newtype]

// [hb:region ids]
/// Dense kernel CPU number: 0 is the boot CPU, online CPUs are 0..n-1.
/// Indexes per-CPU arrays.
using CpuId = Id<struct CpuIdTag, std::uint32_t>;
/// Sparse hardware thread number as the firmware reports it (the `a0`
/// register at entry, the device tree `reg`). Never an array index.
using HartId = Id<struct HartIdTag, std::uint64_t>;
/// A task's identity, stable for its lifetime.
using TaskId = Id<struct TaskIdTag, std::uint32_t>;
// [hb:end ids]

/// Compile-time bound on CPUs. Per-CPU arrays have this many slots; harts
/// beyond it stay parked (chapter 02). Eight is QEMU virt's limit per socket.
inline constexpr std::uint32_t kMaxCpus = 8;

// [hb:region qos]
/// Quality-of-service class of a task; lower enumerator = more urgent.
/// The scheduler keeps one runqueue bucket per class (chapter 04) and work
/// stealing never takes a task of a higher class than it may (chapter 06).
enum class QosClass : std::uint8_t {
    Realtime = 0,
    Interactive = 1,
    Normal = 2,
    Background = 3,
};
inline constexpr std::uint32_t kQosClassCount = 4;

/// Index of a class in per-class arrays.
constexpr std::uint32_t qos_index(QosClass q) { return static_cast<std::uint32_t>(q); }

/// True when `a` must run before `b`.
constexpr bool qos_more_urgent(QosClass a, QosClass b) { return qos_index(a) < qos_index(b); }

/// Name for logs and the book.
constexpr const char* qos_name(QosClass q) {
    switch (q) {
    case QosClass::Realtime: return "realtime";
    case QosClass::Interactive: return "interactive";
    case QosClass::Normal: return "normal";
    case QosClass::Background: return "background";
    }
    return "?";
}
// [hb:end qos]

// [hb:region proofs]
// The newtype rule, proven by the compiler. If any of these became
// convertible, a CpuId could silently index by hart or vice versa.
static_assert(!std::is_convertible_v<HartId, CpuId>);
static_assert(!std::is_convertible_v<CpuId, HartId>);
static_assert(!std::is_convertible_v<std::uint32_t, CpuId>, "construction must be explicit");
static_assert(!std::is_convertible_v<CpuId, std::uint32_t>, "the value leaves only via raw()");
static_assert(!std::is_convertible_v<TaskId, CpuId>);
static_assert(!std::is_convertible_v<int, QosClass>, "QosClass is an enum class");
static_assert(std::is_trivially_copyable_v<CpuId> && sizeof(CpuId) == sizeof(std::uint32_t),
              "zero cost: same size and copy as the raw integer");
// [hb:end proofs]

}  // namespace hb
