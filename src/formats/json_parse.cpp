#include "formats/json_parse.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace hearth {
namespace {

// Thrown from the parser callback to stop parsing; never leaves this file.
struct JsonRejected {
  std::string reason;
};

}  // namespace

Expected<nlohmann::json> parse_json_strict(std::string_view text, std::string_view what) {
  std::vector<std::set<std::string>> open_objects;
  const auto check = [&open_objects](int depth, nlohmann::json::parse_event_t event,
                                     nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (depth > kMaxJsonDepth) {
      throw JsonRejected{"nesting is deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
    }
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == Event::key && !open_objects.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) {
        throw JsonRejected{"duplicate key '" + key + "'"};
      }
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), check);
  } catch (const JsonRejected& e) {
    return corrupt_data(std::string(what) + " is not valid: " + e.reason);
  } catch (const nlohmann::json::exception& e) {
    return corrupt_data(std::string(what) + " is not valid JSON: " + e.what());
  }
}

Expected<std::string> read_text_file(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return not_found("cannot open '" + path + "': " + ec.message());
  if (size > max_bytes) {
    return resource_exhausted("'" + path + "' is " + std::to_string(size) +
                              " bytes, over the limit of " + std::to_string(max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return io_error("cannot read '" + path + "'");
  return ss.str();
}

Expected<nlohmann::json> read_json_file(const std::string& path, uint64_t max_bytes) {
  HEARTH_ASSIGN_OR_RETURN(std::string text, read_text_file(path, max_bytes));
  return parse_json_strict(text, "'" + path + "'");
}

std::optional<uint64_t> json_as_uint(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (i >= 0) return static_cast<uint64_t>(i);
  }
  return std::nullopt;
}

std::string json_describe(const nlohmann::json& v) {
  std::string dumped;
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      dumped = "string " + v.dump();
      break;
    case nlohmann::json::value_t::boolean:
      dumped = "bool " + v.dump();
      break;
    default:
      dumped = "number " + v.dump();
      break;
  }
  if (dumped.size() > 60) dumped = dumped.substr(0, 57) + "...";
  return dumped;
}

}  // namespace hearth
