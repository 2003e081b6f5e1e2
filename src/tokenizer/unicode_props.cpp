#include "tokenizer/unicode_props.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include <algorithm>

namespace hearth::unicode {
namespace {

const icu::Normalizer2* normalizer_for(NormalForm form, UErrorCode& status) {
  switch (form) {
    case NormalForm::kNfc:
      return icu::Normalizer2::getNFCInstance(status);
    case NormalForm::kNfd:
      return icu::Normalizer2::getNFDInstance(status);
    case NormalForm::kNfkc:
      return icu::Normalizer2::getNFKCInstance(status);
    case NormalForm::kNfkd:
      return icu::Normalizer2::getNFKDInstance(status);
  }
  return nullptr;
}

}  // namespace

Expected<std::string> normalize(std::string_view text, NormalForm form) {
  // Every normalization form leaves ASCII unchanged.
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return static_cast<uint8_t>(c) < 0x80; })) {
    return std::string(text);
  }
  if (text.size() > static_cast<size_t>(INT32_MAX)) {
    return invalid_argument("text of " + std::to_string(text.size()) +
                            " bytes is too long to normalize");
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = normalizer_for(form, status);
  if (U_FAILURE(status) || normalizer == nullptr) {
    return internal_error(std::string("ICU normalizer unavailable: ") + u_errorName(status));
  }
  const icu::StringPiece input(text.data(), static_cast<int32_t>(text.size()));
  if (normalizer->isNormalizedUTF8(input, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(text.size()));
  normalizer->normalizeUTF8(0, input, sink, nullptr, status);
  if (U_FAILURE(status)) {
    return internal_error(std::string("ICU normalization failed: ") + u_errorName(status));
  }
  return out;
}

bool is_white_space(char32_t cp) {
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE) != 0;
}

bool is_numeric(char32_t cp) {
  const int8_t type = u_charType(static_cast<UChar32>(cp));
  return type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER;
}

bool is_word_char(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL)) {
    return true;
  }
  const int8_t type = u_charType(c);
  return type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
         type == U_COMBINING_SPACING_MARK || type == U_DECIMAL_DIGIT_NUMBER ||
         type == U_CONNECTOR_PUNCTUATION;
}

}  // namespace hearth::unicode
