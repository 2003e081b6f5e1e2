// The incremental JSON scanner against nlohmann::json's validator on valid, invalid and
// truncated documents: it must accept exactly what nlohmann accepts and find the value's end.
#include "chat/tool_call/json_scanner.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace hearth {
namespace {

// kComplete: a full value ending at the last byte; kPrefix: valid so far; kInvalid.
enum class Verdict { kComplete, kPrefix, kInvalid };

Verdict scan(const std::string& text) {
  JsonScanner scanner;
  for (size_t i = 0; i < text.size(); ++i) {
    const JsonScanner::Result r = scanner.feed(text[i]);
    if (r == JsonScanner::Result::kError) return Verdict::kInvalid;
    if (r == JsonScanner::Result::kEndedBefore) return Verdict::kInvalid;  // bytes after a number
    if (r == JsonScanner::Result::kDone)
      return i + 1 == text.size() ? Verdict::kComplete : Verdict::kInvalid;
  }
  return Verdict::kPrefix;
}

TEST(JsonScanner, AgreesWithNlohmannOnContainersAndStrings) {
  const std::vector<std::string> docs = {"{}",
                                         "[]",
                                         "{\"a\": 1}",
                                         "[1, -2, 3.5, 1e10, -0.0e-3, 0]",
                                         "{\"a\": {\"b\": [true, false, "
                                         "null]}}",
                                         "\"str\\n\\u00e9\\\"\"",
                                         " { \"k\" : [ ] } ",
                                         "{\"a\": 01}",
                                         "{\"a\": 1,}",
                                         "[1 2]",
                                         "{\"a\" 1}",
                                         "{'a': 1}",
                                         "[tru]",
                                         "[nul]",
                                         "{\"a\": -}",
                                         "[1.]",
                                         "[1e]",
                                         "[.5]",
                                         "\"\\x\"",
                                         "\"\\u12g4\"",
                                         "{\"a\": \"tab\there\"}",
                                         "[[[[[]]]]]",
                                         "{\"\": \"\"}",
                                         "[1e+5, 2E-3]",
                                         "{}}",
                                         "[]]"};
  for (const std::string& doc : docs) {
    const bool valid = nlohmann::json::accept(doc);
    std::string trimmed = doc;
    while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
    const Verdict v = scan(trimmed);
    if (valid) {
      EXPECT_EQ(v, Verdict::kComplete) << doc;
    } else {
      EXPECT_NE(v, Verdict::kComplete) << doc;
    }
  }
}

TEST(JsonScanner, EveryPrefixOfAValidDocumentIsAPrefix) {
  const std::string doc =
      "{\"name\": \"f\", \"arguments\": {\"x\": [1, 2.5e-3, \"a\\\"}\", "
      "{\"y\": null}], \"z\": true}}";
  for (size_t n = 0; n < doc.size(); ++n) EXPECT_EQ(scan(doc.substr(0, n)), Verdict::kPrefix) << n;
  EXPECT_EQ(scan(doc), Verdict::kComplete);
}

TEST(JsonScanner, RandomMutationsAgreeWithNlohmann) {
  std::mt19937 rng(5);
  const std::string alphabet = "{}[]\",:0123456789.-+eE truefalsn\\u";
  for (int i = 0; i < 20000; ++i) {
    std::string doc;
    const size_t len = 1 + rng() % 24;
    for (size_t j = 0; j < len; ++j) doc += alphabet[rng() % alphabet.size()];
    if (doc.front() != '{' && doc.front() != '[' && doc.front() != '"') {
      std::string bracketed(1, '[');  // (not insert(0, ..): GCC 12 -Wrestrict false positive)
      bracketed += doc;
      doc.swap(bracketed);
    }
    if (doc.back() == ' ') continue;
    const bool valid = nlohmann::json::accept(doc);
    const Verdict v = scan(doc);
    ASSERT_EQ(valid, v == Verdict::kComplete) << doc;
  }
}

TEST(JsonScanner, NestingIsCapped) {
  JsonScanner scanner;
  JsonScanner::Result r = JsonScanner::Result::kNeedMore;
  for (size_t i = 0; i <= JsonScanner::kMaxDepth && r != JsonScanner::Result::kError; ++i) {
    r = scanner.feed('[');
  }
  EXPECT_EQ(r, JsonScanner::Result::kError);
}

}  // namespace
}  // namespace hearth
