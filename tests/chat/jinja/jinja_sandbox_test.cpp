// Hostile templates hit the sandbox limits with clear errors instead of hanging, exhausting
// memory or overflowing the stack; values can never form reference cycles.
#include <gtest/gtest.h>
#include <pthread.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "chat/jinja/template.h"

namespace hearth::jinja {
namespace {

using Json = nlohmann::ordered_json;

Status render_status(const std::string& source, const RenderLimits& limits = {},
                     const Json& variables = Json::object()) {
  auto tmpl = Template::parse(source);
  if (!tmpl.ok()) return tmpl.status();
  RenderOptions options;
  options.limits = limits;
  auto rendered = tmpl->render(variables, options);
  return rendered.ok() ? Status() : rendered.status();
}

void expect_limit(const Status& status, const std::string& what) {
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status.to_string();
  EXPECT_NE(status.message().find(what), std::string::npos) << status.to_string();
}

TEST(JinjaSandbox, InfiniteMacroRecursionHitsTheCallDepthLimit) {
  expect_limit(render_status("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"),
               "nested deeper than");
  expect_limit(render_status("{% macro a() %}{{ b() }}{% endmacro %}"
                             "{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}"),
               "nested deeper than");
}

TEST(JinjaSandbox, InfiniteRecursiveLoopHitsTheCallDepthLimit) {
  expect_limit(render_status("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}"),
               "nested deeper than");
}

TEST(JinjaSandbox, HugeOutputHitsTheOutputLimit) {
  RenderLimits limits;
  limits.max_output_bytes = 1 << 20;
  expect_limit(render_status("{% for i in range(100000) %}{% for j in range(100000) %}"
                             "0123456789{% endfor %}{% endfor %}",
                             limits),
               "rendered output exceeds the limit of 1048576 bytes");
}

TEST(JinjaSandbox, StringAndListBlowUpsHitTheValueLimit) {
  expect_limit(render_status("{{ 'x' * 1000000000000 }}"), "per string or list");
  expect_limit(render_status("{% set ns = namespace(s='abcdefgh') %}{% for i in range(64) %}"
                             "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"),
               "per string or list");
  expect_limit(render_status("{% set ns = namespace(l=[1, 2]) %}{% for i in range(64) %}"
                             "{% set ns.l = ns.l + ns.l %}{% endfor %}"),
               "per string or list");
  expect_limit(render_status("{{ ([0] * 1000000) * 1000000 }}"), "per string or list");
}

TEST(JinjaSandbox, ManySmallValuesHitTheTotalAllocationLimit) {
  RenderLimits limits;
  limits.max_allocated_bytes = 8 << 20;
  expect_limit(
      render_status("{% for i in range(100000) %}{% set s = 'x' * 1000 %}{% endfor %}", limits),
      "bytes of values in total");
}

TEST(JinjaSandbox, EndlessLoopsHitTheIterationLimit) {
  RenderLimits limits;
  limits.max_loop_iterations = 1'000'000;
  limits.time_limit =
      std::chrono::minutes(5);  // the iteration limit must come first, even under ASan
  expect_limit(render_status("{% for i in range(100000) %}{% for j in range(100000) %}"
                             "{% endfor %}{% endfor %}",
                             limits),
               "iterations in total");
}

TEST(JinjaSandbox, SlowTemplatesHitTheTimeLimit) {
  RenderLimits limits;
  limits.time_limit = std::chrono::milliseconds(200);
  const auto start = std::chrono::steady_clock::now();
  // Each `in` scans a 100000-element list: slow work that is not a loop iteration.
  expect_limit(render_status("{% set big = range(100000)|list %}{% for i in range(100000) %}"
                             "{% if -1 in big %}{% endif %}{% endfor %}",
                             limits),
               "time limit of 200 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(JinjaSandbox, RangeIsCappedAsInJinja2Sandbox) {
  const Status status = render_status("{{ range(100001)|length }}");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("MAX_RANGE (100000)"), std::string::npos);
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Deeply nested source must fail to parse cleanly, not overflow the C++ stack.
TEST(JinjaSandbox, DeepNestingInTheSourceIsRejected) {
  const int n = 20000;
  const std::vector<std::string> sources = {
      "{{ " + repeat("(", n) + "1" + repeat(")", n) + " }}",
      "{{ " + repeat("[", n) + repeat("]", n) + " }}",
      "{{ " + repeat("{'a': ", n) + "1" + repeat("}", n) + " }}",
      "{{ " + repeat("-", n) + "1 }}",
      "{{ " + repeat("not ", n) + "x }}",
      "{{ x" + repeat(".a", n) + " }}",
      "{{ x" + repeat("|upper", n) + " }}",
      "{{ x" + repeat("()", n) + " }}",
      "{{ x" + repeat("[0]", n) + " }}",
      "{{ " + repeat("1 if ", n) + "1" + repeat(" else 1", n) + " }}",
      "{{ " + repeat("1 if x else ", n) + "1 }}",
      repeat("{% if true %}", n) + repeat("{% endif %}", n),
      repeat("{% for x in y %}", n) + repeat("{% endfor %}", n),
      repeat("{% macro m() %}", n) + repeat("{% endmacro %}", n),
  };
  for (const std::string& source : sources) {
    auto parsed = Template::parse(source);
    ASSERT_FALSE(parsed.ok()) << source.substr(0, 40);
    EXPECT_NE(parsed.status().message().find("deeper than the limit"), std::string::npos)
        << parsed.status().message();
  }
}

TEST(JinjaSandbox, LongFlatChainsAreFine) {
  const int n = 20000;
  auto tmpl = Template::parse("{{ 0" + repeat(" + 1", n) + " }}|{{ 'a'" + repeat(" ~ 'a'", 10) +
                              " }}|{{ x" + repeat(" or x", n) + " }}");
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  EXPECT_EQ(tmpl->render({{"x", 0}}).value(), "20000|aaaaaaaaaaa|0");
}

TEST(JinjaSandbox, DeepValuesAreRejected) {
  const Status status = render_status(
      "{% set ns = namespace(x=1) %}{% for i in range(10000) %}{% set ns.x = [ns.x] %}"
      "{% endfor %}{{ ns.x }}");
  expect_limit(status, "value nesting exceeds");
  Json deep = 1;
  for (int i = 0; i < 1000; ++i) deep = Json::array({deep});
  expect_limit(render_status("{{ x }}", {}, {{"x", deep}}), "nested deeper than");
}

// Shared lists doubling each step: 50 small lists that print, compare or serialize as 2^50
// elements (found by jinja_fuzz as a hang). Each fails at the element cap after ~22 steps.
TEST(JinjaSandbox, SharedValuesThatExpandExponentiallyAreRejected) {
  const std::string build =
      "{% set ns = namespace(x=1) %}{% for i in range(50) %}{% set ns.x = [ns.x, {'k': ns.x}] %}"
      "{% endfor %}";
  for (const char* use : {"{{ ns.x }}", "{{ ns.x|tojson }}", "{{ ns.x == ns.x }}"}) {
    SCOPED_TRACE(use);
    expect_limit(render_status(build + use), "elements (counting each repeat");
  }
  // Below the cap, sharing is fine: 2^10 leaves print as Python prints them.
  const Status small = render_status(
      "{% set ns = namespace(x=1) %}{% for i in range(10) %}{% set ns.x = [ns.x, ns.x] %}"
      "{% endfor %}{{ ns.x|tojson|length }}");
  EXPECT_TRUE(small.ok()) << small.to_string();
}

TEST(JinjaSandbox, NamespacesCannotHoldObjectsSoNoCyclesForm) {
  for (const char* source :
       {"{% set ns = namespace() %}{% set ns.me = ns %}",
        "{% set ns = namespace() %}{% set ns.l = [ns] %}",
        "{% macro m() %}{% endmacro %}{% set ns = namespace() %}{% set ns.m = m %}",
        "{% set ns = namespace() %}{% for x in [1] %}{% set ns.l = loop %}{% endfor %}"}) {
    const Status status = render_status(source);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << source;
    EXPECT_NE(status.message().find("does not allow storing"), std::string::npos)
        << status.to_string();
  }
}

TEST(JinjaSandbox, NoAccessToPythonInternals) {
  for (const char* source : {"{{ ''.__class__.__mro__[1].__subclasses__() }}",
                             "{{ messages.__class__ }}{{ messages.__class__.x }}",
                             "{{ namespace.__init__.__globals__ }}",
                             "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
                             "{{ self.__init__ }}{{ self.__init__.x }}"}) {
    const Status status = render_status(source, {}, {{"messages", Json::array()}});
    EXPECT_FALSE(status.ok()) << source;
  }
}

struct ThreadResult {
  Status status;
};

void* render_deep_recursion(void* arg) {
  auto* result = static_cast<ThreadResult*>(arg);
  RenderLimits limits;
  limits.max_call_depth = 100000;  // rely on the evaluation-depth and stack guards
  limits.max_eval_depth = 100000;
  limits.max_stack_bytes = 512 << 10;
  result->status = render_status(
      "{% macro f(n) %}{% if n > 0 %}{{ (((f(n - 1)))) }}{% endif %}{% endmacro %}{{ f(100000) }}",
      limits);
  return nullptr;
}

// A 2 MiB thread stack and a 512 KiB stack budget: deep recursion stops at the budget.
TEST(JinjaSandbox, StackGuardStopsRecursionOnASmallThreadStack) {
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, 2u << 20), 0);
  ThreadResult result;
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, &render_deep_recursion, &result), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  expect_limit(result.status, "bytes of stack");
}

TEST(JinjaSandbox, ConcurrentRendersOfOneTemplateAgree) {
  auto tmpl = Template::parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + m|length %}"
      "{{ loop.index }}:{{ m|upper }} {% endfor %}{{ ns.n }}");
  ASSERT_TRUE(tmpl.ok());
  const Json variables = {{"messages", {"alpha", "beta", "gamma"}}};
  const std::string expected = tmpl->render(variables).value();
  EXPECT_EQ(expected, "1:ALPHA 2:BETA 3:GAMMA 14");
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(8);
  for (size_t t = 0; t < outputs.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) outputs[t] = tmpl->render(variables).value();
    });
  }
  for (auto& thread : threads) thread.join();
  for (const std::string& out : outputs) EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace hearth::jinja
