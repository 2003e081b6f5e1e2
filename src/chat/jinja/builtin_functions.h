// Declarations of the filter and test functions, registered by name in builtins.cpp.
#pragma once

#include "chat/jinja/ast.h"

namespace hearth::jinja {

#define HEARTH_JINJA_FILTER(name) \
  Value name(Interpreter& interp, const Value& input, CallArgs& args)
#define HEARTH_JINJA_TEST(name) bool name(Interpreter& interp, const Value& input, CallArgs& args)

// Text and number filters (filters_text.cpp).
HEARTH_JINJA_FILTER(filter_abs);
HEARTH_JINJA_FILTER(filter_capitalize);
HEARTH_JINJA_FILTER(filter_center);
HEARTH_JINJA_FILTER(filter_default);
HEARTH_JINJA_FILTER(filter_escape);
HEARTH_JINJA_FILTER(filter_float);
HEARTH_JINJA_FILTER(filter_forceescape);
HEARTH_JINJA_FILTER(filter_format);
HEARTH_JINJA_FILTER(filter_indent);
HEARTH_JINJA_FILTER(filter_int);
HEARTH_JINJA_FILTER(filter_lower);
HEARTH_JINJA_FILTER(filter_replace);
HEARTH_JINJA_FILTER(filter_round);
HEARTH_JINJA_FILTER(filter_safe);
HEARTH_JINJA_FILTER(filter_string);
HEARTH_JINJA_FILTER(filter_striptags);
HEARTH_JINJA_FILTER(filter_title);
HEARTH_JINJA_FILTER(filter_tojson);
HEARTH_JINJA_FILTER(filter_trim);
HEARTH_JINJA_FILTER(filter_truncate);
HEARTH_JINJA_FILTER(filter_upper);
HEARTH_JINJA_FILTER(filter_wordcount);
// A filter jinja2 has but hearth does not implement: an error when called, not when parsed.
HEARTH_JINJA_FILTER(filter_unsupported);

// Sequence and mapping filters (filters_sequence.cpp).
HEARTH_JINJA_FILTER(filter_attr);
HEARTH_JINJA_FILTER(filter_batch);
HEARTH_JINJA_FILTER(filter_dictsort);
HEARTH_JINJA_FILTER(filter_first);
HEARTH_JINJA_FILTER(filter_items);
HEARTH_JINJA_FILTER(filter_join);
HEARTH_JINJA_FILTER(filter_last);
HEARTH_JINJA_FILTER(filter_length);
HEARTH_JINJA_FILTER(filter_list);
HEARTH_JINJA_FILTER(filter_map);
HEARTH_JINJA_FILTER(filter_max);
HEARTH_JINJA_FILTER(filter_min);
HEARTH_JINJA_FILTER(filter_reject);
HEARTH_JINJA_FILTER(filter_rejectattr);
HEARTH_JINJA_FILTER(filter_reverse);
HEARTH_JINJA_FILTER(filter_select);
HEARTH_JINJA_FILTER(filter_selectattr);
HEARTH_JINJA_FILTER(filter_slice);
HEARTH_JINJA_FILTER(filter_sort);
HEARTH_JINJA_FILTER(filter_sum);
HEARTH_JINJA_FILTER(filter_unique);

// Tests (predicates.cpp).
HEARTH_JINJA_TEST(test_boolean);
HEARTH_JINJA_TEST(test_callable);
HEARTH_JINJA_TEST(test_defined);
HEARTH_JINJA_TEST(test_divisibleby);
HEARTH_JINJA_TEST(test_eq);
HEARTH_JINJA_TEST(test_escaped);
HEARTH_JINJA_TEST(test_even);
HEARTH_JINJA_TEST(test_false);
HEARTH_JINJA_TEST(test_filter);
HEARTH_JINJA_TEST(test_float);
HEARTH_JINJA_TEST(test_ge);
HEARTH_JINJA_TEST(test_gt);
HEARTH_JINJA_TEST(test_in);
HEARTH_JINJA_TEST(test_integer);
HEARTH_JINJA_TEST(test_iterable);
HEARTH_JINJA_TEST(test_le);
HEARTH_JINJA_TEST(test_lower);
HEARTH_JINJA_TEST(test_lt);
HEARTH_JINJA_TEST(test_mapping);
HEARTH_JINJA_TEST(test_ne);
HEARTH_JINJA_TEST(test_none);
HEARTH_JINJA_TEST(test_number);
HEARTH_JINJA_TEST(test_odd);
HEARTH_JINJA_TEST(test_sameas);
HEARTH_JINJA_TEST(test_sequence);
HEARTH_JINJA_TEST(test_string);
HEARTH_JINJA_TEST(test_test);
HEARTH_JINJA_TEST(test_true);
HEARTH_JINJA_TEST(test_undefined);
HEARTH_JINJA_TEST(test_upper);

#undef HEARTH_JINJA_FILTER
#undef HEARTH_JINJA_TEST

}  // namespace hearth::jinja
