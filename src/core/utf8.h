// UTF-8 validation, shared by every place untrusted text enters the engine (request bodies,
// chat templates, prompts).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace hearth {

// Byte offset of the first byte that is not part of well-formed UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF), or nullopt when `text` is valid.
std::optional<size_t> find_invalid_utf8(std::string_view text);

}  // namespace hearth
