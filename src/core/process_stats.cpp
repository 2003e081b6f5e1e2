#include "core/process_stats.h"

#include <chrono>
#include <cstdio>
#include <cstring>

namespace hearth {
namespace {

uint64_t status_kib(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kib = 0;
  const size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0) {
      unsigned long long v = 0;
      if (std::sscanf(line + key_len, " %llu", &v) == 1) kib = v;
      break;
    }
  }
  std::fclose(f);
  return kib;
}

}  // namespace

uint64_t peak_rss_bytes() {
  return status_kib("VmHWM:") * 1024;
}
uint64_t current_rss_bytes() {
  return status_kib("VmRSS:") * 1024;
}

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace hearth
