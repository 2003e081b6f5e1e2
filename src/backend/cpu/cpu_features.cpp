#include "backend/cpu/cpu_features.h"

#include <cstdlib>
#include <string>

#if defined(HEARTH_CPU_X86)
#include <cpuid.h>
#endif

namespace hearth::cpu {

std::string_view isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar:
      return "scalar";
    case CpuIsa::kAvx2:
      return "avx2";
    case CpuIsa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

namespace {

#if defined(HEARTH_CPU_X86)
// CPUID feature bits, plus the OS's consent (XCR0) to save the vector registers they need.
struct X86Features {
  bool avx2 = false;    // AVX2 + FMA + F16C, YMM state enabled
  bool avx512 = false;  // F, BW, VL, DQ, VNNI, ZMM state enabled
};

X86Features read_x86_features() {
  X86Features f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1,
             f16c = (c >> 29) & 1;
  if (!osxsave || !avx) return f;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm_state = (xcr0_lo & 0x6u) == 0x6u;    // SSE and AVX state
  const bool zmm_state = (xcr0_lo & 0xe6u) == 0xe6u;  // plus opmask and ZMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  const bool avx2 = (b >> 5) & 1;
  f.avx2 = ymm_state && avx2 && fma && f16c;
  const bool avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
             avx512vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
  f.avx512 = f.avx2 && zmm_state && avx512f && avx512dq && avx512bw && avx512vl && vnni;
  return f;
}
#endif

}  // namespace

CpuIsa detect_best_isa() {
#if defined(HEARTH_CPU_X86)
  static const X86Features f = read_x86_features();
  if (f.avx512) return CpuIsa::kAvx512;
  return f.avx2 ? CpuIsa::kAvx2 : CpuIsa::kScalar;
#else
  return CpuIsa::kScalar;
#endif
}

Expected<CpuIsa> select_isa() {
  const CpuIsa best = detect_best_isa();
  const char* env = std::getenv("HEARTH_CPU_ISA");
  if (env == nullptr || *env == '\0') return best;
  const std::string want = env;
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (want != isa_name(isa)) continue;
    if (static_cast<int>(isa) > static_cast<int>(best)) {
      return invalid_argument("HEARTH_CPU_ISA=" + want +
                              " asks for instructions this CPU lacks (it has " +
                              std::string(isa_name(best)) + ")");
    }
    return isa;
  }
  return invalid_argument("HEARTH_CPU_ISA='" + want + "' is not one of scalar, avx2, avx512");
}

}  // namespace hearth::cpu
