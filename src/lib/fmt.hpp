// Bounded text formatting: a line is built in a fixed buffer and cut, never
// overflowed. Used for every console line, so that a line is written out
// whole, under one lock, and logging stays bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lib/ids.hpp"

namespace hb {

/// Hexadecimal formatting marker: `buf.append(Hex{x})`.
struct Hex {
    std::uint64_t value;
};

template <std::size_t N>
class FixedString {
public:
    static_assert(N >= 2);
    constexpr FixedString() = default;

    constexpr FixedString& append(const char* s) {
        while (s != nullptr && *s != '\0') push(*s++);
        return *this;
    }
    constexpr FixedString& append(char c) {
        push(c);
        return *this;
    }
    constexpr FixedString& append(bool b) { return append(b ? "true" : "false"); }
    template <typename T>
        requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>)
    constexpr FixedString& append(T v) {
        if constexpr (std::is_signed_v<T>) {
            if (v < 0) {
                push('-');
                return append_unsigned(static_cast<std::uint64_t>(-(v + 1)) + 1, 10);
            }
        }
        return append_unsigned(static_cast<std::uint64_t>(v), 10);
    }
    constexpr FixedString& append(Hex h) {
        append("0x");
        return append_unsigned(h.value, 16);
    }
    template <typename Tag, typename Rep>
    constexpr FixedString& append(Id<Tag, Rep> id) {
        return append(id.raw());
    }

    [[nodiscard]] constexpr const char* c_str() const { return m_buf; }
    [[nodiscard]] constexpr std::size_t size() const { return m_len; }
    /// True when something was cut because the buffer was full.
    [[nodiscard]] constexpr bool truncated() const { return m_truncated; }
    static constexpr std::size_t capacity() { return N - 1; }

private:
    constexpr void push(char c) {
        if (m_len + 1 < N) {
            m_buf[m_len++] = c;
            m_buf[m_len] = '\0';
        } else {
            m_truncated = true;
        }
    }
    constexpr FixedString& append_unsigned(std::uint64_t v, unsigned base) {
        char digits[20]{};
        int n = 0;
        do {
            const unsigned d = static_cast<unsigned>(v % base);
            digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
            v /= base;
        } while (v != 0);
        while (n > 0) push(digits[--n]);
        return *this;
    }

    char m_buf[N]{};
    std::size_t m_len = 0;
    bool m_truncated = false;
};

/// Appends every argument in order.
template <std::size_t N, typename... Args>
constexpr void append_all(FixedString<N>& s, const Args&... args) {
    (s.append(args), ...);
}

}  // namespace hb
