// --precision on the command line (CLI11), apart from precision.cpp so that the
// compute code builds without CLI11 (bench/gpu).
#include "cmclip/compute/precision.hpp"

#include <CLI/CLI.hpp>

#include "cmclip/core/app.hpp"

namespace cmclip::compute {

void PrecisionOptions::register_on(CLI::App& app) {
  app.add_option("--precision", precision,
                 "Arithmetic of the matrix products: fp32, or bf16 (bf16 operands, fp32 sums; faster on CPUs "
                 "with AVX512-BF16 and on CUDA; see the manual for the drift)")
      ->capture_default_str()
      ->check(one_of(precision_names().names()));
}

}  // namespace cmclip::compute
