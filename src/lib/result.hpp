// Errors as values: the kernel has no exceptions.
#pragma once

#include <utility>

namespace hb {

// [hb:region result]
/// Either a value or an error. `T` must be default-constructible (kernel
/// values are small plain structs); the value of a failed Result is unspecified.
template <typename T, typename E>
class [[nodiscard]] Result {
public:
    static constexpr Result success(T value) { return Result(std::move(value), E{}, true); }
    static constexpr Result failure(E error) { return Result(T{}, error, false); }

    [[nodiscard]] constexpr bool ok() const { return m_ok; }
    [[nodiscard]] constexpr const T& value() const { return m_value; }
    [[nodiscard]] constexpr T& value() { return m_value; }
    [[nodiscard]] constexpr E error() const { return m_error; }

private:
    constexpr Result(T v, E e, bool ok) : m_value(std::move(v)), m_error(e), m_ok(ok) {}
    T m_value;
    E m_error;
    bool m_ok;
};
// [hb:end result]

}  // namespace hb
