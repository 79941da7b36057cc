// Typed identifiers (lib/ids.hpp): the newtype rule and the QoS vocabulary.
//
// Most of what matters here is a compile-time property: a HartId must never
// turn into a CpuId by accident. A compile-negative test ("this must not
// build") cannot live in a gtest binary, so the rule is stated as type-trait
// assertions; if a future edit adds an implicit conversion, this file stops
// compiling.
#include "lib/ids.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace {

using hb::CpuId;
using hb::HartId;
using hb::QosClass;
using hb::TaskId;

// --- The newtype rule, proven by the compiler -------------------------------

// No identifier converts into another, in either direction.
static_assert(!std::is_convertible_v<HartId, CpuId>);
static_assert(!std::is_convertible_v<CpuId, HartId>);
static_assert(!std::is_convertible_v<TaskId, CpuId>);
static_assert(!std::is_convertible_v<CpuId, TaskId>);
static_assert(!std::is_convertible_v<TaskId, HartId>);
static_assert(!std::is_convertible_v<HartId, TaskId>);
// Not even explicitly: the only bridge between CpuId and HartId is the
// topology table, never a cast.
static_assert(!std::is_constructible_v<CpuId, HartId>);
static_assert(!std::is_constructible_v<HartId, CpuId>);
static_assert(!std::is_constructible_v<CpuId, TaskId>);
static_assert(!std::is_assignable_v<CpuId&, HartId>);
static_assert(!std::is_assignable_v<HartId&, CpuId>);

// Construction from the raw integer is explicit only...
static_assert(std::is_constructible_v<CpuId, std::uint32_t>);
static_assert(std::is_constructible_v<HartId, std::uint64_t>);
static_assert(!std::is_convertible_v<std::uint32_t, CpuId>);
static_assert(!std::is_convertible_v<int, CpuId>);
static_assert(!std::is_convertible_v<std::uint64_t, HartId>);
static_assert(!std::is_convertible_v<std::uint32_t, TaskId>);
static_assert(!std::is_assignable_v<CpuId&, std::uint32_t>);
// ...and the value leaves only through raw().
static_assert(!std::is_convertible_v<CpuId, std::uint32_t>);
static_assert(!std::is_convertible_v<HartId, std::uint64_t>);
static_assert(!std::is_convertible_v<CpuId, bool>);
static_assert(!std::is_constructible_v<std::uint32_t, CpuId>);

// Representations: CpuId is a small dense index, HartId holds any firmware
// value (harts can be numbered far beyond 32 bits on big machines).
static_assert(std::is_same_v<CpuId::rep_type, std::uint32_t>);
static_assert(std::is_same_v<HartId::rep_type, std::uint64_t>);
static_assert(std::is_same_v<TaskId::rep_type, std::uint32_t>);
static_assert(std::is_same_v<decltype(CpuId(1).raw()), std::uint32_t>);
static_assert(std::is_same_v<decltype(HartId(1).raw()), std::uint64_t>);

// Zero cost.
static_assert(sizeof(CpuId) == sizeof(std::uint32_t));
static_assert(sizeof(HartId) == sizeof(std::uint64_t));
static_assert(std::is_trivially_copyable_v<CpuId>);
static_assert(std::is_trivially_copyable_v<HartId>);

// No arithmetic: an identifier is a name, not a number.
template <typename T>
concept Addable = requires(T a, T b) { a + b; };
template <typename T>
concept Incrementable = requires(T a) { ++a; };
template <typename T, typename U>
concept EqComparable = requires(T a, U b) { a == b; };
static_assert(!Addable<CpuId>);
static_assert(!Incrementable<CpuId>);
static_assert(!Addable<HartId>);
// Comparing a CpuId with a HartId (or with a bare integer) does not compile.
static_assert(EqComparable<CpuId, CpuId>);
static_assert(!EqComparable<CpuId, HartId>);
static_assert(!EqComparable<HartId, CpuId>);
static_assert(!EqComparable<CpuId, std::uint32_t>);

// QosClass is an enum class: no implicit int in either direction.
static_assert(!std::is_convertible_v<int, QosClass>);
static_assert(!std::is_convertible_v<QosClass, int>);
static_assert(std::is_enum_v<QosClass> && !std::is_convertible_v<QosClass, std::uint8_t>);

// Everything is usable in constant expressions.
static_assert(CpuId(3).raw() == 3);
static_assert(CpuId(2) < CpuId(3));
static_assert(HartId(7) == HartId(7));
static_assert(hb::qos_more_urgent(QosClass::Realtime, QosClass::Background));

// --- Runtime behaviour -------------------------------------------------------

TEST(Ids, ExplicitConstructionKeepsTheRawValue) {
    EXPECT_EQ(CpuId(0).raw(), 0u);
    EXPECT_EQ(CpuId(7).raw(), 7u);
    EXPECT_EQ(CpuId(0xffffffffu).raw(), 0xffffffffu);
    EXPECT_EQ(TaskId(1234).raw(), 1234u);
    // A hart id wider than 32 bits survives untruncated.
    const std::uint64_t wide = 0x1'0000'0002ull;
    EXPECT_EQ(HartId(wide).raw(), wide);
}

TEST(Ids, DefaultIsZero) {
    EXPECT_EQ(CpuId().raw(), 0u);
    EXPECT_EQ(HartId().raw(), 0u);
    EXPECT_EQ(TaskId().raw(), 0u);
    EXPECT_EQ(CpuId(), CpuId(0));
}

TEST(Ids, EqualityFollowsTheRawValue) {
    EXPECT_EQ(CpuId(1), CpuId(1));
    EXPECT_NE(CpuId(1), CpuId(2));
    EXPECT_EQ(HartId(0x80000000ull), HartId(0x80000000ull));
    EXPECT_NE(HartId(0), HartId(1ull << 40));
}

TEST(Ids, OrderingFollowsTheRawValue) {
    EXPECT_LT(CpuId(0), CpuId(1));
    EXPECT_LE(CpuId(1), CpuId(1));
    EXPECT_GT(CpuId(5), CpuId(4));
    EXPECT_GE(CpuId(5), CpuId(5));
    EXPECT_FALSE(CpuId(3) < CpuId(3));
    // Unsigned ordering across the full range (no sign confusion).
    EXPECT_LT(CpuId(1), CpuId(0x80000000u));
    EXPECT_LT(HartId(1), HartId(0x8000000000000000ull));
    EXPECT_TRUE((CpuId(1) <=> CpuId(2)) < 0);
    EXPECT_TRUE((HartId(9) <=> HartId(9)) == 0);
}

TEST(Ids, CopiesAreIndependentValues) {
    CpuId a(4);
    CpuId b = a;
    a = CpuId(6);
    EXPECT_EQ(b.raw(), 4u);
    EXPECT_EQ(a.raw(), 6u);
}

TEST(Ids, MaxCpusIsTheDocumentedBound) {
    // QEMU virt's per-socket limit; CpuSet relies on it fitting one word.
    EXPECT_EQ(hb::kMaxCpus, 8u);
}

TEST(Qos, IndexIsDenseAndInUrgencyOrder) {
    EXPECT_EQ(hb::qos_index(QosClass::Realtime), 0u);
    EXPECT_EQ(hb::qos_index(QosClass::Interactive), 1u);
    EXPECT_EQ(hb::qos_index(QosClass::Normal), 2u);
    EXPECT_EQ(hb::qos_index(QosClass::Background), 3u);
    EXPECT_EQ(hb::kQosClassCount, 4u);
}

TEST(Qos, MoreUrgentIsAStrictOrder) {
    const QosClass all[] = {QosClass::Realtime, QosClass::Interactive, QosClass::Normal,
                            QosClass::Background};
    for (std::size_t i = 0; i < std::size(all); ++i) {
        // Irreflexive.
        EXPECT_FALSE(hb::qos_more_urgent(all[i], all[i])) << i;
        for (std::size_t j = 0; j < std::size(all); ++j) {
            // Earlier in the list = more urgent, and never both ways.
            EXPECT_EQ(hb::qos_more_urgent(all[i], all[j]), i < j) << i << " vs " << j;
        }
    }
}

TEST(Qos, NamesAreDistinctAndStable) {
    EXPECT_STREQ(hb::qos_name(QosClass::Realtime), "realtime");
    EXPECT_STREQ(hb::qos_name(QosClass::Interactive), "interactive");
    EXPECT_STREQ(hb::qos_name(QosClass::Normal), "normal");
    EXPECT_STREQ(hb::qos_name(QosClass::Background), "background");
    // An out-of-range value (memory corruption, a bad cast) still yields a
    // printable name rather than null.
    EXPECT_STREQ(hb::qos_name(static_cast<QosClass>(9)), "?");
}

}  // namespace
