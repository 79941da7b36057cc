// The kernel command line (/chosen/bootargs, set by QEMU's -append).
// `key=value` words separated by spaces; used for fault injection in the
// mutation tests (`fault=skip-hart-start`) and for `maxcpus=N`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hb {

/// The longest grading nonce (`nonce=...`, see valid_nonce).
inline constexpr std::size_t kNonceMax = 32;

/// A grading nonce, `nonce=<word>` on the kernel command line: 1..kNonceMax
/// characters from 0-9 and a-z. With one, the console ends every KINIT and
/// KSELFTEST line with ` nonce=<word>` and the ladder requires it on every
/// marker (scripts/qemu-test.sh, NONCE=...), so a transcript saved from
/// another run cannot pass for this one.
constexpr bool valid_nonce(const char* text, std::size_t len) {
    if (len == 0 || len > kNonceMax) return false;
    for (std::size_t i = 0; i < len; ++i) {
        const char c = text[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return false;
    }
    return true;
}

class BootArgs {
public:
    constexpr BootArgs() = default;
    constexpr BootArgs(const char* text, std::size_t len) : m_text(text), m_len(len) {}

    /// Does the word `key=value` appear (whole words only)?
    [[nodiscard]] constexpr bool has(const char* key, const char* value) const {
        const char* v = nullptr;
        std::size_t vlen = 0;
        return find(key, v, vlen) && equals(v, vlen, value);
    }
    /// The decimal value of `key=N`, or `fallback` if absent or not a number.
    [[nodiscard]] constexpr std::uint64_t number(const char* key, std::uint64_t fallback) const {
        const char* v = nullptr;
        std::size_t vlen = 0;
        if (!find(key, v, vlen) || vlen == 0 || vlen > 18) return fallback;
        std::uint64_t n = 0;
        for (std::size_t i = 0; i < vlen; ++i) {
            if (v[i] < '0' || v[i] > '9') return fallback;
            n = n * 10 + static_cast<std::uint64_t>(v[i] - '0');
        }
        return n;
    }

    /// The text of `key=...` (not NUL-terminated), if present.
    constexpr bool value(const char* key, const char*& value, std::size_t& len) const {
        return find(key, value, len);
    }

private:
    static constexpr bool equals(const char* a, std::size_t alen, const char* b) {
        std::size_t i = 0;
        for (; i < alen; ++i) {
            if (b[i] == '\0' || a[i] != b[i]) return false;
        }
        return b[i] == '\0';
    }
    /// Finds the last `key=...` word (later words override earlier ones).
    constexpr bool find(const char* key, const char*& value, std::size_t& vlen) const {
        bool found = false;
        std::size_t i = 0;
        while (i < m_len) {
            while (i < m_len && m_text[i] == ' ') ++i;
            const std::size_t start = i;
            while (i < m_len && m_text[i] != ' ') ++i;
            // word is [start, i)
            std::size_t k = 0;
            while (key[k] != '\0' && start + k < i && m_text[start + k] == key[k]) ++k;
            if (key[k] == '\0' && start + k < i && m_text[start + k] == '=') {
                value = m_text + start + k + 1;
                vlen = i - (start + k + 1);
                found = true;
            }
        }
        return found;
    }

    const char* m_text = nullptr;
    std::size_t m_len = 0;
};

}  // namespace hb
