#include "cmclip/core/runtime.hpp"

#include <dlfcn.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <H5public.h>
#include <opencv2/core/version.hpp>
#include <torch/cuda.h>
#include <torch/version.h>
#include <torch/utils.h>
#include <ATen/Parallel.h>
#include <c10/core/Device.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"

namespace cmclip {

const char* version() { return CMCLIP_VERSION; }

namespace {
std::string g_command_line;

// Which libblas.so.3 the dynamic linker resolved (Debian switches it with
// update-alternatives).
std::string loaded_blas_path() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    std::string path = line.substr(pos);
    if (path.find("libblas") != std::string::npos || path.find("libopenblas") != std::string::npos ||
        path.find("libmkl") != std::string::npos)
      return path;
  }
  return "";
}
}  // namespace

std::string blas_in_use() {
  using ConfigFn = const char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    return fn();  // "OpenBLAS 0.3.21 ... USE_OPENMP Haswell ..."
  std::string path = loaded_blas_path();
  if (path.find("mkl") != std::string::npos) return "MKL (" + path + ")";
  if (path.empty()) return "built into LibTorch (no shared BLAS loaded)";
  return "reference BLAS (" + path + ") -- 15-30x slower; install libopenblas0-openmp";
}

bool blas_is_reference() { return blas_in_use().rfind("reference", 0) == 0; }

std::string version_report(const std::string& tool) {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  std::string cuda = torch::cuda::is_available()
                         ? fmt::format("{} device(s)", torch::cuda::device_count())
                         : std::string("not available (CPU-only build or no GPU)");
  return fmt::format(
      "{} (cmclip) {}\n"
      "commit:   {}\n"
      "LibTorch: {}\n"
      "BLAS:     {}\n"
      "threads:  {} by default\n"
      "HDF5:     {}.{}.{}\n"
      "OpenCV:   {}\n"
      "CUDA:     {}\n",
      tool, version(), git_commit(), TORCH_VERSION, blas_in_use(), default_threads(), maj,
      min, rel, CV_VERSION, cuda);
}

int default_threads() {
  const char* slurm = std::getenv("SLURM_CPUS_PER_TASK");
  if (slurm && std::atoi(slurm) > 0) return std::atoi(slurm);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int configure_threads(int n) {
  if (n <= 0) n = default_threads();
  at::set_num_threads(n);
  return n;
}

c10::Device parse_device(const std::string& spec) {
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec.rfind("cuda", 0) == 0) {
    int index = 0;
    if (spec.size() > 4) {
      // At most 4 digits: a device index, and never past what std::stoi can hold.
      if (spec[4] != ':' || spec.size() == 5 || spec.size() > 9 ||
          spec.find_first_not_of("0123456789", 5) != std::string::npos)
        throw UsageError(fmt::format("--device '{}': expected cpu, cuda or cuda:N", spec));
      index = std::stoi(spec.substr(5));
    }
    if (!torch::cuda::is_available())
      throw UsageError(fmt::format(
          "--device {}: CUDA is not available (this build uses LibTorch {} {}); use --device cpu "
          "or build against a CUDA LibTorch",
          spec, TORCH_VERSION, torch::cuda::device_count() == 0 ? "without a usable GPU" : ""));
    if (index >= static_cast<int>(torch::cuda::device_count()))
      throw UsageError(fmt::format("--device {}: only {} CUDA device(s) present", spec,
                                   torch::cuda::device_count()));
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw UsageError(fmt::format("--device '{}': expected cpu, cuda or cuda:N", spec));
}

bool tune_malloc() {
#ifdef __GLIBC__
  for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"})
    if (std::getenv(v)) return false;  // the user's choice
  constexpr int kThreshold = 1 << 30;
  return mallopt(M_MMAP_THRESHOLD, kThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kThreshold) == 1;
#else
  return false;
#endif
}

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    bool quote = a.empty() || a.find_first_of(" \t\"'$\\") != std::string::npos;
    if (i) g_command_line += ' ';
    g_command_line += quote ? "'" + a + "'" : a;
  }
}

const std::string& command_line() { return g_command_line; }

std::string created_by() { return fmt::format("{} {} ({})", log::program(), version(), git_commit()); }

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace cmclip
