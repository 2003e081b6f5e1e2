// Every hand-made malformed file in tests/fixtures/gguf/malformed/ gives the error its manifest
// documents (tests/fixtures/gguf/make_malformed.py; the table in docs/FORMATS.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "formats/gguf/gguf_file.h"
#include "support/test_support.h"

namespace hearth {
namespace {

TEST(GgufMalformedTest, EachFileGivesItsDocumentedError) {
  const std::string dir = test::fixture_path("gguf/malformed");
  const std::string text = test::read_file_text(dir + "/manifest.json");
  ASSERT_FALSE(text.empty()) << "missing " << dir << "/manifest.json";
  const auto manifest = nlohmann::json::parse(text);
  ASSERT_GE(manifest.size(), 30u);
  std::set<std::string> listed;
  for (const auto& entry : manifest) {
    const std::string file = entry["file"].get<std::string>();
    SCOPED_TRACE(file);
    listed.insert(file);
    auto parsed = GgufFile::open(dir + "/" + file);
    ASSERT_FALSE(parsed.ok()) << "malformed file was accepted (" << entry["what"] << ")";
    const Status& st = parsed.status();
    EXPECT_EQ(status_code_name(st.code()), entry["code"].get<std::string>()) << st.to_string();
    EXPECT_NE(st.message().find(entry["error"].get<std::string>()), std::string::npos)
        << st.to_string();
    EXPECT_NE(st.message().find(file), std::string::npos) << "error does not name the file";
  }
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".gguf") {
      EXPECT_TRUE(listed.count(e.path().filename().string())) << e.path() << " not in manifest";
    }
  }
}

// The valid fuzz seed, written by the gguf package's own writer, parses with the values it holds.
TEST(GgufMalformedTest, ValidSeedFromGgufWriterParses) {
  const std::string path = test::fixture_path("../fuzz/corpus/gguf/valid_small.gguf");
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(*f->architecture(), "llama");
  EXPECT_EQ(*f->get_uint("llama.context_length"), 128u);
  EXPECT_EQ(f->find("test.i16")->as_int(), -3);
  EXPECT_EQ(*f->get_float("test.f64"), 0.25);
  EXPECT_TRUE(*f->get_bool("test.flag"));
  const GgufArray* strings = *f->get_array("test.strings");
  ASSERT_EQ(strings->strings.size(), 3u);
  EXPECT_EQ(strings->strings[1], "bc");
  ASSERT_EQ(f->tensors().size(), 3u);
  const GgufTensorInfo* q8 = f->find_tensor("q8");
  ASSERT_NE(q8, nullptr);
  EXPECT_EQ(q8->dtype, DType::kQ8_0);
  EXPECT_EQ(q8->shape, (Shape{2, 32}));
  const float* f32 = static_cast<const float*>(f->tensor_view(*f->find_tensor("f32")).data());
  EXPECT_EQ(f32[5], 5.0f);
  // A type mismatch names the key and both types.
  const auto wrong = f->get_string("llama.context_length");
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(
      wrong.status().message().find("'llama.context_length' should be a string but is uint32"),
      std::string::npos)
      << wrong.status().message();
}

// docs/FORMATS.md documents every malformed case of every format; this keeps it complete.
TEST(GgufMalformedTest, DocsListEveryMalformedCase) {
  const std::string docs = test::read_file_text(test::fixture_path("../../docs/FORMATS.md"));
  ASSERT_FALSE(docs.empty()) << "docs/FORMATS.md is missing";
  for (const char* manifest_path :
       {"gguf/malformed/manifest.json", "safetensors/malformed/manifest.json",
        "hf/configs/manifest.json"}) {
    const auto manifest =
        nlohmann::json::parse(test::read_file_text(test::fixture_path(manifest_path)));
    for (const auto& entry : manifest) {
      if (!entry.contains("error")) continue;
      const std::string file = entry["file"].get<std::string>();
      EXPECT_NE(docs.find("`" + file + "`"), std::string::npos) << manifest_path << ": " << file;
      EXPECT_NE(docs.find(entry["error"].get<std::string>()), std::string::npos)
          << manifest_path << ": " << file;
    }
  }
}

}  // namespace
}  // namespace hearth
