#include "cmclip/core/runtime.hpp"

#include <dlfcn.h>
#include <sched.h>
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
#include <ATen/Version.h>
#include <c10/core/Device.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
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
  // An official LibTorch links MKL statically: its products never reach the shared
  // BLAS that other libraries (OpenCV) may load into the process.
  if (at::show_config().find("BLAS_INFO=mkl") != std::string::npos) return "MKL (built into LibTorch)";
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
  std::string cuda = torch::cuda::is_available() ? fmt::format("{} device(s)", torch::cuda::device_count())
                                                 : std::string("not available (CPU-only build or no GPU)");
  return fmt::format(
      "{} (cmclip) {}\n"
      "commit:   {}\n"
      "LibTorch: {}\n"
      "BLAS:     {}\n"
      "threads:  {} by default\n"
      "waiting:  {}\n"
      "HDF5:     {}.{}.{}\n"
      "OpenCV:   {}\n"
      "CUDA:     {}\n",
      tool, version(), git_commit(), TORCH_VERSION, blas_in_use(), default_threads(), thread_waiting_policy(), maj, min,
      rel, CV_VERSION, cuda);
}

int affinity_cpus() {
  // The mask may be larger than cpu_set_t (machines with over 1024 CPUs): grow it.
  for (int n = 1024; n <= (1 << 20); n *= 2) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (!set) return 0;
    const size_t size = CPU_ALLOC_SIZE(n);
    const bool ok = sched_getaffinity(0, size, set) == 0;
    const int count = ok ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (ok) return count;
    if (errno != EINVAL) return 0;
  }
  return 0;
}

namespace {
std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// CPUs allowed by one cgroup folder: v2 "cpu.max" ("max 100000" or "150000 100000"),
// v1 cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us. 0: no limit.
int quota_in(const std::string& dir) {
  long long quota = -1, period = 0;
  std::istringstream v2(read_first_line(dir + "/cpu.max"));
  std::string q;
  if (v2 >> q >> period) {
    if (q != "max") quota = std::atoll(q.c_str());
  } else {
    quota = std::atoll(read_first_line(dir + "/cpu.cfs_quota_us").c_str());
    period = std::atoll(read_first_line(dir + "/cpu.cfs_period_us").c_str());
  }
  if (quota <= 0 || period <= 0) return 0;
  return static_cast<int>((quota + period - 1) / period);
}

bool has_word(const std::string& list, const std::string& word) {
  std::istringstream in(list);
  std::string w;
  while (std::getline(in, w, ','))
    if (w == word) return true;
  return false;
}
}  // namespace

int cgroup_cpu_limit(const std::string& root) {
  // Our cgroup per hierarchy: "0::/path" (v2), "N:cpu,cpuacct:/path" (v1).
  std::ifstream cg(root + "/proc/self/cgroup");
  std::string v2_path, v1_path, line;
  while (std::getline(cg, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty()) v2_path = path;
    else if (has_word(controllers, "cpu")) v1_path = path;
  }
  // Where those hierarchies are mounted; a container sees its own cgroup as the root of
  // the mount (mountinfo's 4th field says which cgroup that is).
  std::ifstream mi(root + "/proc/self/mountinfo");
  int limit = 0;
  while (std::getline(mi, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, mroot, mpoint, word;
    f >> id >> parent >> dev >> mroot >> mpoint;
    while (f >> word && word != "-") {
    }
    std::string fstype, source, options;
    f >> fstype >> source >> options;
    std::string path;
    if (fstype == "cgroup2") path = v2_path;
    else if (fstype == "cgroup" && has_word(options, "cpu")) path = v1_path;
    else continue;
    if (path.empty()) continue;
    if (mroot != "/" && path.compare(0, mroot.size(), mroot) == 0) path = path.substr(mroot.size());
    // The quota of every ancestor up to the mount applies too.
    while (true) {
      int q = quota_in(root + mpoint + (path == "/" ? "" : path));
      if (q > 0 && (limit == 0 || q < limit)) limit = q;
      if (path.empty() || path == "/") break;
      auto slash = path.find_last_of('/');
      path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
    }
  }
  return limit;
}

int default_threads() {
  int n = 0;
  auto tighten = [&n](int limit) {
    if (limit > 0 && (n == 0 || limit < n)) n = limit;
  };
  tighten(affinity_cpus());
  tighten(cgroup_cpu_limit());
  if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK")) tighten(std::atoi(slurm));
  if (n == 0) n = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, n);
}

namespace {
std::atomic<int> g_budget{0};
std::atomic<bool> g_budget_given{false};
std::atomic<int> g_compute_cap{0};  // 0: none

int capped(int compute_threads) {
  int cap = g_compute_cap.load();
  return cap > 0 ? std::min(cap, compute_threads) : compute_threads;
}
}  // namespace

int configure_threads(int n) {
  g_budget_given = n > 0;
  if (n <= 0) n = default_threads();
  g_budget = n;
  at::set_num_threads(capped(n));
  return n;
}

void cap_default_compute_threads(int limit, const std::string& why) {
  if (g_budget_given || limit < 1 || at::get_num_threads() <= limit) return;
  g_compute_cap = limit;
  at::set_num_threads(limit);
  log::info("computing on {} thread{} of {}: {} (--threads N overrides)", limit, limit == 1 ? "" : "s", thread_budget(),
            why);
}

int thread_budget() {
  int b = g_budget.load();
  return b > 0 ? b : default_threads();
}

ThreadShare::ThreadShare(int threads) : previous_(at::get_num_threads()) {
  at::set_num_threads(capped(std::max(1, thread_budget() - std::max(0, threads))));
}

ThreadShare::~ThreadShare() { at::set_num_threads(previous_); }

namespace {
// Marks the environment of a tool that restarted itself for the waiting policy, so the
// logs can tell a policy cmclip chose from one the user set.
constexpr const char* kPolicySetByCmclip = "CMCLIP_OMP_WAIT_POLICY_SET";
}  // namespace

void adopt_thread_waiting_policy(int threads, char** argv) {
  if (threads <= 1 || std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  setenv(kPolicySetByCmclip, "1", 1);
  std::cout.flush();
  std::cerr.flush();
  execv("/proc/self/exe", argv);
  // Only reached when the restart failed (no /proc, say): libgomp keeps its default.
  int error = errno;
  unsetenv("OMP_WAIT_POLICY");
  unsetenv(kPolicySetByCmclip);
  log::warn(
      "could not restart with OMP_WAIT_POLICY=PASSIVE ({}); idle threads spin before they sleep, "
      "which is slow when other processes share the cores: set OMP_WAIT_POLICY=PASSIVE yourself",
      std::strerror(error));
}

std::string thread_waiting_policy() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  if (policy && std::getenv(kPolicySetByCmclip)) return fmt::format("OMP_WAIT_POLICY={} (set by cmclip)", policy);
  if (policy || spin)
    return fmt::format("{}{}{} (from the environment)", policy ? std::string("OMP_WAIT_POLICY=") + policy : "",
                       policy && spin ? ", " : "", spin ? std::string("GOMP_SPINCOUNT=") + spin : "");
  return "libgomp's default (spin, then sleep); cmclip sets OMP_WAIT_POLICY=PASSIVE for runs of several threads";
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
      throw UsageError(
          fmt::format("--device {}: CUDA is not available (this build uses LibTorch {} {}); use --device cpu "
                      "or build against a CUDA LibTorch",
                      spec, TORCH_VERSION, torch::cuda::device_count() == 0 ? "without a usable GPU" : ""));
    if (index >= static_cast<int>(torch::cuda::device_count()))
      throw UsageError(fmt::format("--device {}: only {} CUDA device(s) present", spec, torch::cuda::device_count()));
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
