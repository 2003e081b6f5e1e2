// The moment the golden generators pass to strftime_now (jinja_reference.FIXED_NOW).
#pragma once

#include <ctime>

#include "chat/jinja/interpreter.h"

namespace hearth::jinja {

inline Clock golden_clock() {
  return [] {
    std::tm t{};
    t.tm_year = 2025 - 1900;
    t.tm_mon = 2;  // March
    t.tm_mday = 7;
    t.tm_hour = 14;
    t.tm_min = 5;
    t.tm_sec = 9;
    t.tm_wday = 5;   // Friday
    t.tm_yday = 65;  // 0-based day of the year
    return t;
  };
}

}  // namespace hearth::jinja
