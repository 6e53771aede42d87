// compute/: the oneDNN linear and attention (values and gradients against plain ATen
// maths), the fused residual, bf16
// precision scopes (drift bounded, weight cache invalidated by in-place updates),
// option parsing, and the CPU feature probes under oneDNN's ISA cap (run again with
// ONEDNN_MAX_CPU_ISA=AVX2 by ctest: the bf16 tests then check the fp32-GEMM fallback).
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <c10/core/Device.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "cmclip/compute/attention.hpp"
#include "cmclip/compute/cpu_isa.hpp"
#include "cmclip/compute/linear.hpp"
#include "cmclip/compute/precision.hpp"
#include "test_support.hpp"

using namespace cmclip;
using compute::Precision;
using compute::PrecisionScope;

namespace {
double max_rel(const at::Tensor& got, const at::Tensor& want) {
  return ((got.to(at::kFloat) - want).abs().max() / want.abs().max()).item<double>();
}
const c10::Device kCpu(c10::kCPU);
}  // namespace

BOOST_AUTO_TEST_SUITE(compute_linear)

BOOST_AUTO_TEST_CASE(reports_its_backend) {
  BOOST_TEST_MESSAGE("GEMM backend: " << compute::gemm_backend());
  BOOST_TEST(!compute::gemm_backend().empty());
}

BOOST_AUTO_TEST_CASE(fp32_values_equal_at_linear) {
  torch::manual_seed(3);
  at::Tensor x = at::randn({2, 37, 48}), w = at::randn({20, 48}), b = at::randn({20});
  torch::NoGradGuard no_grad;
  at::Tensor want = at::linear(x, w, b);
  at::Tensor got = compute::linear(x, w, b);
  BOOST_TEST(got.sizes() == want.sizes());
  BOOST_TEST(max_rel(got, want) < 1e-5);
  BOOST_TEST(max_rel(compute::linear(x, w), at::linear(x, w)) < 1e-5);
  // A non-contiguous input and an empty batch.
  at::Tensor xt = at::randn({48, 5}).t();
  BOOST_TEST(max_rel(compute::linear(xt, w, b), at::linear(xt, w, b)) < 1e-5);
  BOOST_TEST(compute::linear(at::empty({0, 48}), w, b).sizes() == at::IntArrayRef({0, 20}));
}

BOOST_AUTO_TEST_CASE(gradients_equal_at_linear) {
  torch::manual_seed(4);
  at::Tensor x0 = at::randn({3, 11, 16}), w0 = at::randn({8, 16}), b0 = at::randn({8}), g = at::randn({3, 11, 8});
  for (bool weight_trains : {false, true}) {
    at::Tensor x1 = x0.clone().requires_grad_(true), x2 = x0.clone().requires_grad_(true);
    at::Tensor w1 = w0.clone().requires_grad_(weight_trains), w2 = w0.clone().requires_grad_(weight_trains);
    at::Tensor b1 = b0.clone().requires_grad_(weight_trains), b2 = b0.clone().requires_grad_(weight_trains);
    (compute::linear(x1, w1, b1) * g).sum().backward();
    (at::linear(x2, w2, b2) * g).sum().backward();
    BOOST_TEST(max_rel(x1.grad(), x2.grad()) < 1e-5);
    BOOST_TEST(w1.grad().defined() == weight_trains);
    if (weight_trains) {
      BOOST_TEST(max_rel(w1.grad(), w2.grad()) < 1e-5);
      BOOST_TEST(max_rel(b1.grad(), b2.grad()) < 1e-5);
    }
  }
  // Without a bias, and a weight that trains with an input that does not.
  at::Tensor w3 = w0.clone().requires_grad_(true), w4 = w0.clone().requires_grad_(true);
  (compute::linear(x0, w3) * g).sum().backward();
  (at::linear(x0, w4) * g).sum().backward();
  BOOST_TEST(max_rel(w3.grad(), w4.grad()) < 1e-5);
}

BOOST_AUTO_TEST_CASE(bf16_rounds_the_operands_and_keeps_fp32_sums) {
  torch::manual_seed(5);
  at::Tensor x = at::randn({64, 256}), w = at::randn({32, 256}), b = at::randn({32});
  torch::NoGradGuard no_grad;
  at::Tensor fp32 = compute::linear(x, w, b);
  at::Tensor bf16;
  {
    PrecisionScope scope(Precision::bf16, kCpu);
    BOOST_TEST((compute::current_precision() == Precision::bf16));
    bf16 = compute::linear(x, w, b).to(at::kFloat);
  }
  BOOST_TEST((compute::current_precision() == Precision::fp32));
  // The exact result of bf16-rounded operands summed in fp32.
  at::Tensor rounded = at::linear(x.to(at::kBFloat16).to(at::kFloat), w.to(at::kBFloat16).to(at::kFloat), b);
  double drift = max_rel(bf16, fp32), exact = max_rel(bf16, rounded);
  BOOST_TEST_MESSAGE("bf16 linear: drift from fp32 " << drift
                                                     << " (relative to the largest output), from the "
                                                        "bf16-rounded product "
                                                     << exact);
  BOOST_TEST(drift > 0.0);   // the products really were rounded
  BOOST_TEST(drift < 2e-2);  // 8 significant bits
  if (compute::onednn_gemm_available() || !compute::cpu_bf16_kernels_available()) {
    BOOST_TEST(exact < 1e-4);  // and summed in fp32 (oneDNN's bf16 GEMM, or the rounded fp32 fallback)
  } else {
    // A LibTorch whose oneDNN this process cannot call directly (the official builds)
    // runs bf16 through its CPU autocast, which also rounds the output to bf16.
    BOOST_TEST_MESSAGE("bf16 through LibTorch's CPU autocast: the output is rounded to bf16 too");
    BOOST_TEST(exact < 8e-3);  // one more bf16 rounding (2^-8 relative) of the fp32 sum
  }
}

BOOST_AUTO_TEST_CASE(bf16_weight_copies_follow_in_place_updates) {
  torch::manual_seed(6);
  at::Tensor x = at::randn({4, 16}), w = at::randn({8, 16});
  torch::NoGradGuard no_grad;
  PrecisionScope scope(Precision::bf16, kCpu);
  at::Tensor first = compute::linear(x, w).to(at::kFloat);
  w.mul_(2);  // an optimiser step: same tensor, new values
  at::Tensor second = compute::linear(x, w).to(at::kFloat);
  BOOST_TEST(max_rel(second, 2 * first) < 1e-6);
}

BOOST_AUTO_TEST_CASE(scopes_nest_and_restore) {
  BOOST_TEST((compute::current_precision() == Precision::fp32));
  {
    PrecisionScope outer(Precision::bf16, kCpu);
    {
      PrecisionScope inner(Precision::fp32, kCpu);
      BOOST_TEST((compute::current_precision() == Precision::fp32));
    }
    BOOST_TEST((compute::current_precision() == Precision::bf16));
  }
  BOOST_TEST((compute::current_precision() == Precision::fp32));
}

BOOST_AUTO_TEST_CASE(precision_names_parse) {
  BOOST_TEST((compute::parse_precision("bf16") == Precision::bf16));
  BOOST_TEST(std::string(compute::precision_name(Precision::fp32)) == "fp32");
  test::expect_error([] { compute::parse_precision("fp16"); }, ExitCode::bad_input, {"--precision", "fp16"});
}

namespace {
// The CPU's flags in /proc/cpuinfo (empty without it).
std::string cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) return line + " ";
  return "";
}
bool has_flag(const std::string& flags, const std::string& f) { return flags.find(" " + f + " ") != std::string::npos; }

// Whether ONEDNN_MAX_CPU_ISA caps oneDNN below `level` (a list of oneDNN's names, kept
// apart from the code under test).
bool capped_below(const std::vector<std::string>& lower) {
  const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  return cap && std::find(lower.begin(), lower.end(), std::string(cap)) != lower.end();
}
const std::vector<std::string> kBelowAvx512 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2"};
}  // namespace

BOOST_AUTO_TEST_CASE(avx512_bf16_probe_agrees_with_the_kernel_and_the_cap) {
  const std::string flags = cpu_flags();
  if (flags.empty()) {
    BOOST_TEST_MESSAGE("no /proc/cpuinfo: probe not compared");
    return;
  }
  std::vector<std::string> below_bf16 = kBelowAvx512;
  for (const char* n : {"AVX512_CORE", "AVX512_CORE_VNNI"}) below_bf16.push_back(n);
  const bool want = has_flag(flags, "avx512_bf16") && !capped_below(below_bf16);
  BOOST_TEST(compute::cpu_has_avx512_bf16() == want);
}

BOOST_AUTO_TEST_CASE(isa_names_and_order_are_onednn_s) {
  namespace isa = compute::isa;
  BOOST_TEST(isa::cap_from_name("AVX2") == isa::kAvx2);
  BOOST_TEST(isa::cap_from_name("avx512_core_bf16") == isa::kAvx512CoreBf16);
  BOOST_TEST(isa::cap_from_name("AVX512_CORE_AMX") == isa::cap_from_name("AVX10_1_512_AMX"));
  BOOST_TEST(isa::cap_from_name("AVX512_CORE_FP16") == isa::kAvx512CoreFp16);
  for (const char* none : {"ALL", "DEFAULT", "", "PENTIUM"})
    BOOST_TEST(isa::cap_from_name(none) == isa::kUncapped, none);
  // Each set includes the ones before it, except the AVX2 extensions and AVX-512.
  BOOST_TEST(isa::includes(isa::kAvx512CoreBf16, isa::kAvx512Core));
  BOOST_TEST(isa::includes(isa::kAvx512CoreAmx, isa::kAvx512CoreBf16));
  BOOST_TEST(!isa::includes(isa::kAvx512Core, isa::kAvx2Vnni));
  BOOST_TEST(!isa::includes(isa::kAvx2Vnni2, isa::kAvx512Core));
  BOOST_TEST(isa::name(isa::kAvx2) == "AVX2");
  BOOST_TEST(isa::name(isa::kAvx512CoreBf16) == "AVX512_CORE_BF16");
  BOOST_TEST(isa::name(0) == "below SSE41");
  // What this CPU has, from CPUID, against the kernel's flags.
  const std::string flags = cpu_flags();
  if (!flags.empty()) {
    const bool avx512 = has_flag(flags, "avx512f") && has_flag(flags, "avx512bw") && has_flag(flags, "avx512vl") &&
                        has_flag(flags, "avx512dq");
    BOOST_TEST(isa::includes(isa::cpu_isa(), isa::kAvx2) == (has_flag(flags, "avx2") && has_flag(flags, "fma")));
    BOOST_TEST(isa::includes(isa::cpu_isa(), isa::kAvx512Core) == avx512);
  }
}

BOOST_AUTO_TEST_CASE(bf16_gemm_follows_the_isa_cap) {
  BOOST_TEST_MESSAGE("oneDNN runs " << compute::isa::describe_effective() << "; GEMM: " << compute::gemm_backend());
  if (!compute::onednn_gemm_available()) {
    BOOST_TEST_MESSAGE("oneDNN GEMM not in this process: nothing to compare");
    return;
  }
  const bool avx512 = compute::isa::includes(compute::isa::effective_isa(), compute::isa::kAvx512Core);
  const bool bf16 = compute::onednn_bf16_gemm_available();  // the probe asked oneDNN
  // oneDNN has bf16 GEMM kernels from AVX-512 on. Below it oneDNN 2.x (Debian 12) has
  // none, while 3.x (Debian 13) emulates them on AVX2: either answer is right there, as
  // long as the GEMM in use follows it.
  if (avx512) BOOST_TEST(bf16);
  if (capped_below(kBelowAvx512)) BOOST_TEST(!avx512);
  if (!bf16) {
    BOOST_TEST(compute::gemm_backend().find("bf16-rounded operands") != std::string::npos, compute::gemm_backend());
    if (compute::isa::includes(compute::isa::cpu_isa(), compute::isa::kAvx512Core))  // the cap, not the CPU
      BOOST_TEST(compute::gemm_backend().find("ONEDNN_MAX_CPU_ISA") != std::string::npos, compute::gemm_backend());
  }
}

namespace {
// softmax(q k^T / sqrt(d) + mask) v with plain ATen operations, heads side by side.
at::Tensor reference_attention(const at::Tensor& qkv, int64_t heads, const at::Tensor& mask) {
  const int64_t b = qkv.size(0), l = qkv.size(1), w = qkv.size(2) / 3, d = w / heads;
  std::vector<at::Tensor> out;
  for (int64_t j = 0; j < heads; ++j) {
    at::Tensor q = qkv.narrow(2, j * d, d), k = qkv.narrow(2, w + j * d, d), v = qkv.narrow(2, 2 * w + j * d, d);
    at::Tensor s = at::bmm(q, k.transpose(1, 2)) / std::sqrt(double(d));
    if (mask.defined()) s = s + mask;
    out.push_back(at::bmm(s.softmax(-1), v));
  }
  return at::cat(out, 2);
}
}  // namespace

BOOST_AUTO_TEST_CASE(attention_values_and_gradients_equal_the_plain_maths) {
  torch::manual_seed(8);
  for (bool masked : {false, true}) {
    at::Tensor mask = masked ? at::full({9, 9}, -INFINITY).triu_(1) : at::Tensor();
    at::Tensor base = at::randn({3, 9, 3 * 12}), g = at::randn({3, 9, 12});
    at::Tensor a = base.clone().requires_grad_(true), b = base.clone().requires_grad_(true);
    at::Tensor got = compute::attention(a, 3, mask), want = reference_attention(b, 3, mask);
    BOOST_TEST(max_rel(got, want) < 1e-5, "masked " << masked);
    (got * g).sum().backward();
    (want * g).sum().backward();
    BOOST_TEST(max_rel(a.grad(), b.grad()) < 1e-5, "masked " << masked);
    torch::NoGradGuard no_grad;  // the path without autograd
    BOOST_TEST(max_rel(compute::attention(base, 3, mask), want.detach()) < 1e-5, "masked " << masked);
  }
}

// Packed sequences: each one's rows equal its own causal attention, whichever path
// (oneDNN without autograd, ATen with it) and thread count; bugs that let a sequence
// see its neighbours' rows move values by O(1).
BOOST_AUTO_TEST_CASE(packed_sequences_attend_only_to_themselves) {
  const int previous = at::get_num_threads();
  torch::manual_seed(11);
  const std::vector<int64_t> lengths = {5, 1, 9, 3};
  at::Tensor qkv = at::randn({1, 18, 3 * 16});
  at::Tensor causal = at::full({12, 12}, -INFINITY).triu_(1);  // larger than the longest: its top-left block serves
  std::vector<at::Tensor> each;
  int64_t start = 0;
  for (int64_t n : lengths) {
    at::Tensor m = causal.narrow(0, 0, n).narrow(1, 0, n);
    each.push_back(reference_attention(qkv.narrow(1, start, n), 4, m));
    start += n;
  }
  at::Tensor want = at::cat(each, 1);
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    torch::NoGradGuard no_grad;
    at::Tensor got = compute::attention(qkv, 4, compute::AttentionMask(causal, lengths));
    BOOST_TEST(max_rel(got, want) < 1e-5, threads << " threads");
  }
  at::set_num_threads(previous);
  // Without a mask each sequence still sees only itself (all of itself).
  at::Tensor unmasked = reference_attention(qkv.narrow(1, 0, 5), 4, {});
  at::Tensor got = compute::attention(qkv, 4, compute::AttentionMask(at::Tensor(), lengths));
  BOOST_TEST(max_rel(got.narrow(1, 0, 5), unmasked) < 1e-5);
  // With autograd: the ATen path, same values, gradients through each sequence.
  at::Tensor a = qkv.clone().requires_grad_(true);
  at::Tensor through = compute::attention(a, 4, compute::AttentionMask(causal, lengths));
  BOOST_TEST(max_rel(through.detach(), want) < 1e-5);
  through.narrow(1, 0, 5).sum().backward();
  BOOST_TEST(a.grad().narrow(1, 5, 13).abs().max().item<double>() == 0.0, "the first sequence reached its neighbours");
  // Lengths that do not fill the rows are refused.
  BOOST_CHECK_THROW(compute::attention(qkv, 4, compute::AttentionMask(causal, {5, 1, 9})), c10::Error);
  BOOST_CHECK_THROW(compute::attention(qkv, 4, compute::AttentionMask(causal.narrow(0, 0, 4).narrow(1, 0, 4), lengths)),
                    c10::Error);
}

// at::parallel_for opens its OpenMP region in the caller's code: a library compiled
// without OpenMP runs every range on one thread (CMakeLists.txt links OpenMP for this).
BOOST_AUTO_TEST_CASE(our_parallel_loops_use_the_threads_and_give_the_same_numbers) {
  const int previous = at::get_num_threads();
  torch::manual_seed(10);
  at::Tensor qkv = at::randn({4, 17, 3 * 16});
  at::set_num_threads(1);
  at::Tensor one = compute::attention(qkv, 4, {});
  at::set_num_threads(2);
  std::vector<int> seen(2, -1);
  at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) seen[static_cast<size_t>(i)] = at::get_thread_num();
  });
  at::Tensor two = compute::attention(qkv, 4, {});
  at::set_num_threads(previous);
  BOOST_TEST(seen[0] != seen[1], "both halves of at::parallel_for ran on thread " << seen[0]
                                     << ": libcmclip was compiled without OpenMP");
  BOOST_TEST(at::equal(one, two), "attention differs between 1 and 2 threads");
}

BOOST_AUTO_TEST_CASE(residual_is_added_with_its_gradient) {
  torch::manual_seed(9);
  at::Tensor x = at::randn({2, 5, 16}), w = at::randn({8, 16}), b = at::randn({8});
  at::Tensor r1 = at::randn({2, 5, 8}).requires_grad_(true), r2 = r1.detach().clone().requires_grad_(true);
  at::Tensor g = at::randn({2, 5, 8});
  at::Tensor got = compute::linear(x, w, b, r1), want = r2 + at::linear(x, w, b);
  BOOST_TEST(max_rel(got, want) < 1e-5);
  (got * g).sum().backward();
  (want * g).sum().backward();
  BOOST_TEST(max_rel(r1.grad(), r2.grad()) < 1e-6);
  torch::NoGradGuard no_grad;
  BOOST_TEST(max_rel(compute::linear(x, w, {}, r2), r2 + at::linear(x, w)) < 1e-5);
}

BOOST_AUTO_TEST_CASE(gemm_kernels_agree) {
  torch::manual_seed(7);
  at::Tensor a = at::randn({70, 90}), b = at::randn({90, 50});
  at::Tensor want = at::mm(a, b);
  BOOST_TEST(max_rel(compute::matmul_with(compute::GemmKernel::libtorch, a, b), want) < 1e-6);
  if (!compute::onednn_gemm_available()) {
    BOOST_TEST_MESSAGE("oneDNN GEMM not in this process: its kernels are not compared");
    return;
  }
  BOOST_TEST(max_rel(compute::matmul_with(compute::GemmKernel::onednn_fp32, a, b), want) < 1e-5);
  BOOST_TEST(max_rel(compute::matmul_with(compute::GemmKernel::onednn_bf16, a, b), want) < 2e-2);
}

BOOST_AUTO_TEST_SUITE_END()
