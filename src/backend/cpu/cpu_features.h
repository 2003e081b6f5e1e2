// Which SIMD instruction sets this CPU has, and which kernel set to run. The choice is made once
// at startup from CPUID; HEARTH_CPU_ISA=scalar|avx2|avx512 lowers it (tests use it to run every
// path on one machine), never raises it above what the CPU supports.
#pragma once

#include <cstdint>
#include <string_view>

#include "hearth/status.h"

namespace hearth::cpu {

enum class CpuIsa : uint8_t {
  kScalar,  // portable C++, any CPU
  kAvx2,    // x86-64 AVX2 + FMA + F16C (Haswell, Zen and later)
  kAvx512,  // AVX-512 F/BW/VL/DQ + VNNI (Ice Lake, Sapphire Rapids, Zen 4 and later)
};

std::string_view isa_name(CpuIsa isa);

// The best kernel set this CPU runs.
CpuIsa detect_best_isa();

// detect_best_isa(), lowered by HEARTH_CPU_ISA when set. InvalidArgument naming the variable when
// it holds an unknown name or asks for a set this CPU does not have.
Expected<CpuIsa> select_isa();

}  // namespace hearth::cpu
