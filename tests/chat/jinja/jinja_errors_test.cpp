// Template errors name where they are: syntax errors carry the line and column and say what
// was expected; runtime errors carry the position of the failing expression.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "chat/jinja/template.h"

namespace hearth::jinja {
namespace {

using Json = nlohmann::ordered_json;

std::string parse_error(const std::string& source) {
  auto parsed = Template::parse(source);
  EXPECT_FALSE(parsed.ok()) << "parsed: " << source;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return parsed.status().message();
}

std::string render_error(const std::string& source, const Json& variables = Json::object()) {
  auto parsed = Template::parse(source);
  EXPECT_TRUE(parsed.ok()) << parsed.status().to_string();
  if (!parsed.ok()) return "";
  auto rendered = parsed->render(variables);
  EXPECT_FALSE(rendered.ok()) << "rendered: " << *rendered;
  return rendered.ok() ? "" : rendered.status().message();
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

TEST(JinjaSyntaxErrors, NameLineColumnAndWhatWasExpected) {
  // `}}` of "{{ 1 + }}" is the 8th character.
  std::string e = parse_error("{{ 1 + }}");
  expect_contains(e, "line 1, column 8");
  expect_contains(e, "unexpected 'end of print statement'");

  e = parse_error("line one\nline two {{ x | nope }}");
  expect_contains(e, "line 2, column 17");
  expect_contains(e, "No filter named 'nope'");

  e = parse_error("a\n{% for x in %}{% endfor %}");
  expect_contains(e, "line 2, column 13");
  expect_contains(e, "Expected an expression");

  e = parse_error("{% if true %}\n  {% for x in y %}\n    x\n  {% endif %}");
  expect_contains(e, "line 4, column 6");
  expect_contains(e, "Encountered unknown tag 'endif'");
  expect_contains(e, "'endfor' or 'else'");
  expect_contains(e, "innermost block that needs to be closed is 'for'");

  e = parse_error("{% if x %}\nnever closed");
  expect_contains(e, "line 2, column 13");
  expect_contains(e, "Unexpected end of template");
  expect_contains(e, "'elif' or 'else' or 'endif'");

  e = parse_error("text {{ 'unterminated }}");
  expect_contains(e, "line 1, column 9");
  expect_contains(e, "unexpected char");

  e = parse_error("{{ (1, 2] }}");
  expect_contains(e, "line 1, column 9");
  expect_contains(e, "unexpected ']', expected ')'");

  e = parse_error("\n\n  {{ x is frobbed }}");
  expect_contains(e, "line 3, column 11");
  expect_contains(e, "No test named 'frobbed'");

  e = parse_error("{% set x = 1 %}{% include 'other.j2' %}");
  expect_contains(e, "line 1, column 19");
  expect_contains(e, "'include' tag is not supported");

  e = parse_error("ok {# comment that never ends");
  expect_contains(e, "line 1, column 4");
  expect_contains(e, "Missing end of comment tag");

  e = parse_error("{{ x\n + 1");
  expect_contains(e, "line 1, column 1");
  expect_contains(e, "not closed");

  e = parse_error("{% break %}");
  expect_contains(e, "'break' outside of a for loop");

  e = parse_error("{{ 99999999999999999999 }}");
  expect_contains(e, "line 1, column 4");
  expect_contains(e, "too large");
}

TEST(JinjaSyntaxErrors, InvalidUtf8IsLocated) {
  const std::string e = parse_error("ok\nbad \xc3\x28 here");
  expect_contains(e, "line 2, column 5");
  expect_contains(e, "not valid UTF-8");
}

TEST(JinjaRuntimeErrors, NameTheFailingExpression) {
  std::string e = render_error("{% for m in messages %}\n  {{ m.content.upper() }}\n{% endfor %}",
                               Json::parse(R"({"messages": [{"role": "user"}]})"));
  expect_contains(e, "line 2");
  expect_contains(e, "'dict object' has no attribute 'content'");

  e = render_error("{{ 1 }}\n{{ 'a' + 1 }}");
  expect_contains(e, "line 2");
  expect_contains(e, "can only concatenate str (not \"int\") to str");

  e = render_error("{% set items = [1] %}{{ items.append(2) }}");
  expect_contains(e, "access to attribute 'append' of 'list' object is unsafe.");
}

TEST(JinjaRuntimeErrors, RaiseExceptionYieldsExactlyItsMessage) {
  auto tmpl = Template::parse("before {{ raise_exception('Roles must alternate: ' ~ n) }} after");
  ASSERT_TRUE(tmpl.ok());
  auto rendered = tmpl->render({{"n", 3}});
  ASSERT_FALSE(rendered.ok());
  EXPECT_EQ(rendered.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rendered.status().message(), "Roles must alternate: 3");
}

TEST(JinjaRuntimeErrors, VariablesMustBeAnObjectOfValidJson) {
  auto tmpl = Template::parse("{{ x }}");
  ASSERT_TRUE(tmpl.ok());
  EXPECT_EQ(tmpl->render(Json::array()).status().code(), StatusCode::kInvalidArgument);
  auto big = tmpl->render({{"x", Json::parse("[18446744073709551615]")}});
  ASSERT_FALSE(big.ok());
  expect_contains(big.status().message(), "x[0]: integer 18446744073709551615 is too large");
  auto bad = tmpl->render({{"x", {{"k", std::string("\xe2\x82")}}}});
  ASSERT_FALSE(bad.ok());
  expect_contains(bad.status().message(), "x.k: string is not valid UTF-8");
}

}  // namespace
}  // namespace hearth::jinja
