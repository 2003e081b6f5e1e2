// Unicode normalization forms and character properties, from ICU. The tokenizer needs them where
// Hugging Face tokenizers uses Rust's char methods: char::is_whitespace (White_Space),
// char::is_numeric (Nd/Nl/No) and the regex crate's \w.
#pragma once

#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth::unicode {

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };

// `text` (valid UTF-8) in the given normalization form. ASCII text is returned unchanged without
// calling ICU.
Expected<std::string> normalize(std::string_view text, NormalForm form);

bool is_white_space(char32_t cp);  // the White_Space property
bool is_numeric(char32_t cp);      // general category Nd, Nl or No
bool is_word_char(char32_t cp);    // Alphabetic, M*, Nd, Pc or Join_Control (regex \w)

}  // namespace hearth::unicode
