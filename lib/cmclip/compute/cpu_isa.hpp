// Which x86 instruction sets oneDNN may use in this process, in oneDNN's own terms.
//
// oneDNN picks its kernels by the CPU's features, capped by the environment variable
// ONEDNN_MAX_CPU_ISA (older name DNNL_MAX_CPU_ISA; e.g. AVX2 makes an AVX-512 machine
// behave like an AVX2 one). Our probes follow the same cap, so that what we report and
// choose agrees with what oneDNN will run, and so that the AVX2 paths can be tested on
// any machine.
//
// An ISA is a bit mask in oneDNN's encoding (dnnl_cpu_isa_t): each set carries the bits
// of every set it extends, so "A includes B" is (A & B) == B. Internal to compute/.
#pragma once
#include <string>

namespace cmclip::compute::isa {

constexpr unsigned kSse41 = 0x1, kAvx = 0x3, kAvx2 = 0x7, kAvx2Vnni = 0xf, kAvx2Vnni2 = 0x1f, kAvx512Core = 0x27,
                   kAvx512CoreVnni = 0x67, kAvx512CoreBf16 = 0xe7, kAvx512CoreFp16 = 0x1ef, kAvx512CoreAmx = 0xfef,
                   kAvx512CoreAmxFp16 = 0x1fef;
constexpr unsigned kUncapped = ~0u;

inline bool includes(unsigned isa, unsigned wanted) { return (isa & wanted) == wanted; }

// The cap a value of ONEDNN_MAX_CPU_ISA sets: kUncapped for ALL, DEFAULT, an empty or
// unknown name (oneDNN ignores those too). Case-insensitive.
unsigned cap_from_name(const std::string& name);
// The cap of this process's environment, and the variable that set it ("" if none).
unsigned environment_cap(std::string* variable = nullptr);

// The sets this CPU (and its OS) supports, from CPUID: every level whose instructions
// are present, 0 on a CPU that is not x86.
unsigned cpu_isa();

// What oneDNN runs here: oneDNN's own answer (dnnl_get_effective_cpu_isa) when the
// process has oneDNN, else cpu_isa() under environment_cap().
unsigned effective_isa();

// oneDNN's name of the largest set `isa` includes ("AVX2", "AVX512_CORE_BF16"), or
// "below SSE41".
std::string name(unsigned isa);

// "AVX2 (capped by ONEDNN_MAX_CPU_ISA=AVX2)" or "AVX512_CORE_BF16": what effective_isa()
// is and why, for messages.
std::string describe_effective();

}  // namespace cmclip::compute::isa
