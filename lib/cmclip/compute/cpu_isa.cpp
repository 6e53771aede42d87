#include "cmclip/compute/cpu_isa.hpp"

#include <dlfcn.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <iterator>

#include <fmt/format.h>

#include "cmclip/core/strings.hpp"

namespace cmclip::compute::isa {

namespace {
struct Level {
  const char* name;
  const char* alias;  // oneDNN 3.x renamed some sets; both names are accepted
  unsigned mask;
};
// In increasing order: a set comes after every set it includes.
constexpr Level kLevels[] = {
    {"SSE41", nullptr, kSse41},
    {"AVX", nullptr, kAvx},
    {"AVX2", nullptr, kAvx2},
    {"AVX2_VNNI", nullptr, kAvx2Vnni},
    {"AVX2_VNNI_2", nullptr, kAvx2Vnni2},
    {"AVX512_CORE", nullptr, kAvx512Core},
    {"AVX512_CORE_VNNI", nullptr, kAvx512CoreVnni},
    {"AVX512_CORE_BF16", nullptr, kAvx512CoreBf16},
    {"AVX10_1_512", "AVX512_CORE_FP16", kAvx512CoreFp16},
    {"AVX10_1_512_AMX", "AVX512_CORE_AMX", kAvx512CoreAmx},
    {"AVX10_1_512_AMX_FP16", "AVX512_CORE_AMX_FP16", kAvx512CoreAmxFp16},
};

#if defined(__x86_64__) || defined(__i386__)
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};
Regs cpuid(unsigned leaf, unsigned sub) {
  Regs r;
  if (!__get_cpuid_count(leaf, sub, &r.a, &r.b, &r.c, &r.d)) return Regs{};
  return r;
}
uint64_t xgetbv0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}
bool bit(unsigned reg, int n) { return (reg >> n) & 1u; }
#endif
}  // namespace

unsigned cap_from_name(const std::string& value) {
  const std::string v = ascii_upper(value);
  for (const Level& l : kLevels)
    if (v == l.name || (l.alias && v == l.alias)) return l.mask;
  return kUncapped;  // ALL, DEFAULT, or a name oneDNN would not know either
}

unsigned environment_cap(std::string* variable) {
  for (const char* var : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"})
    if (const char* v = std::getenv(var)) {
      if (variable) *variable = fmt::format("{}={}", var, v);
      return cap_from_name(v);
    }
  if (variable) variable->clear();
  return kUncapped;
}

unsigned cpu_isa() {
#if defined(__x86_64__) || defined(__i386__)
  const Regs l1 = cpuid(1, 0), l7 = cpuid(7, 0), l71 = cpuid(7, 1);
  // The OS must save the vector registers: XMM+YMM (bits 1-2) for AVX, and opmask and
  // ZMM (bits 5-7) for AVX-512.
  const bool osxsave = bit(l1.c, 27);
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0;
  const bool avx512 = zmm && bit(l7.b, 16) && bit(l7.b, 17) && bit(l7.b, 30) && bit(l7.b, 31);  // F DQ BW VL
  const bool has[] = {
      bit(l1.c, 19),                                              // SSE4.1
      ymm && bit(l1.c, 28),                                       // AVX
      ymm && bit(l7.b, 5) && bit(l1.c, 12),                       // AVX2, FMA
      ymm && bit(l71.a, 4),                                       // AVX-VNNI
      ymm && bit(l71.d, 4) && bit(l71.d, 5),                      // AVX-VNNI-INT8, AVX-NE-CONVERT
      avx512,                                                     // AVX-512 F DQ BW VL
      avx512 && bit(l7.c, 11),                                    // AVX512_VNNI
      avx512 && bit(l71.a, 5),                                    // AVX512_BF16
      avx512 && bit(l7.d, 23),                                    // AVX512_FP16
      avx512 && bit(l7.d, 22) && bit(l7.d, 24) && bit(l7.d, 25),  // AMX BF16 TILE INT8
      avx512 && bit(l71.a, 21),                                   // AMX_FP16
  };
  static_assert(sizeof(has) / sizeof(has[0]) == std::size(kLevels));
  // A level counts when its own instructions and every level it includes are present.
  unsigned mask = 0;
  for (size_t i = 0; i < std::size(kLevels); ++i) {
    bool ok = has[i];
    for (size_t j = 0; j < i && ok; ++j)
      if (includes(kLevels[i].mask, kLevels[j].mask) && !includes(mask, kLevels[j].mask)) ok = false;
    if (ok) mask |= kLevels[i].mask;
  }
  return mask;
#else
  return 0;
#endif
}

unsigned effective_isa() {
  // oneDNN 2.x and 3.x both encode the AVX-512 sets as above, so the bits we test
  // (AVX512_CORE, AVX512_CORE_BF16) read the same from either.
  using EffectiveFn = int (*)();
  if (auto fn = reinterpret_cast<EffectiveFn>(dlsym(RTLD_DEFAULT, "dnnl_get_effective_cpu_isa")))
    return static_cast<unsigned>(fn());
  const unsigned cap = environment_cap();
  unsigned mask = 0;
  const unsigned cpu = cpu_isa();
  for (const Level& l : kLevels)
    if (includes(cpu, l.mask) && includes(cap, l.mask)) mask |= l.mask;
  return mask;
}

std::string name(unsigned isa) {
  const char* best = nullptr;
  for (const Level& l : kLevels)
    if (includes(isa, l.mask)) best = l.name;
  return best ? best : "below SSE41";
}

std::string describe_effective() {
  std::string variable;
  const unsigned cap = environment_cap(&variable);
  const unsigned effective = effective_isa();
  std::string text = name(effective);
  if (cap != kUncapped && !includes(cap, cpu_isa())) text += fmt::format(" (capped by {})", variable);
  return text;
}

}  // namespace cmclip::compute::isa
