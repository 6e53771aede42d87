// What the process runs on: threads, device, seed, and the version report.
#pragma once
#include <cstdint>
#include <string>

namespace c10 {
struct Device;
}

namespace cmclip {

const char* version();     // "0.1.0"
const char* git_commit();  // generated at build time
// Multi-line report for --version: toolkit, commit, LibTorch, BLAS, HDF5, OpenCV, CUDA.
std::string version_report(const std::string& tool);
// Which BLAS LibTorch's GEMMs will reach, e.g. "OpenBLAS 0.3.21 ... (OpenMP)" or a
// warning that the reference BLAS is loaded.
std::string blas_in_use();
bool blas_is_reference();

// Threads. A process gets a thread budget: --threads N, else default_threads(), the
// CPUs its allocation gives it. The compute pool (LibTorch's intra-op threads, OpenMP)
// gets the whole budget, except while a pool that works alongside the compute (the
// training loader's decoding threads) holds a ThreadShare: then the two add up to the
// budget, so together they never oversubscribe the allocation. Pools that run instead
// of the compute (fas-preprocess, fas-synth, the bootstrap of fas-eval) use the budget
// themselves.

// Sets the budget (n <= 0: default_threads()) and gives it to the compute pool.
// Returns the budget.
int configure_threads(int n);
// The budget configure_threads() set; default_threads() before any call.
int thread_budget();
// Caps the compute pool at `limit` threads when the budget was not given (no
// --threads), for work whose operations are too small to share: waking a sleeping
// thread for each of them costs more than it saves (the narrow builtin CLIPs;
// docs/performance.md has the measurements). The budget, and so the loader's share,
// stays. `why` goes into the log line that says so.
void cap_default_compute_threads(int limit, const std::string& why);

// The CPUs this process may run on: the smallest of its CPU affinity mask
// (sched_getaffinity: taskset, SLURM's and containers' cpusets), its cgroup CPU quota
// (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us, rounded up; the
// tightest of its cgroup and their parents) and $SLURM_CPUS_PER_TASK. At least 1.
int default_threads();
// The parts of it, each 0 where it sets no limit. `root` prefixes /proc and /sys (tests).
int affinity_cpus();
int cgroup_cpu_limit(const std::string& root = "");

// While it lives, `threads` of the budget belong to another pool and the compute pool
// runs on the rest (at least 1). Create and destroy it on the thread that computes:
// OpenMP keeps its thread count per calling thread.
class ThreadShare {
 public:
  explicit ThreadShare(int threads);
  ~ThreadShare();
  ThreadShare(const ThreadShare&) = delete;
  ThreadShare& operator=(const ThreadShare&) = delete;

 private:
  int previous_;
};

// How idle OpenMP threads wait between parallel regions. libgomp's default spins for a
// while before it sleeps: on a shared node, with another process on the cores, each
// parallel region then waits for a thread that is not running, and a builtin:tiny
// training run took 5.3x its quiet time beside one busy process (docs/performance.md);
// sleeping at once (OMP_WAIT_POLICY=PASSIVE) gave 1.7x. libgomp reads the policy once,
// when it loads, so a tool that runs a model on more than one thread, started without
// OMP_WAIT_POLICY or GOMP_SPINCOUNT in its environment, sets OMP_WAIT_POLICY=PASSIVE
// and executes itself again (same arguments, same standard streams). A policy the user
// set is kept. Returns only when no restart is needed or the restart failed (then the
// run goes on with libgomp's default and says so).
void adopt_thread_waiting_policy(int threads, char** argv);
// "PASSIVE (set by cmclip)", "ACTIVE (from the environment)", ... for logs and --version.
std::string thread_waiting_policy();

// Parses "cpu", "cuda", "cuda:N"; fails with exit status 2 when CUDA is asked for and
// this build has none, or the device index does not exist.
c10::Device parse_device(const std::string& spec);

// glibc malloc serves blocks above a dynamic threshold (32 MiB at most) with a fresh
// mmap and unmaps them on free, so every large activation of a forward pass costs
// page faults again (docs/clip.md §8.1: the Python reference took 1.4 M faults and 12 s
// of system time per batch of 32 ViT-B/16 images). This raises the mmap and trim thresholds to 1 GiB: freed
// activations stay in the heap and are reused. Does nothing when the user set
// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES, or without glibc.
// Returns whether it changed the settings. Every Tool calls it at start-up.
bool tune_malloc();

// Seeds LibTorch's generators (CPU and CUDA).
void seed_everything(uint64_t seed);

// The command line of this process, as typed (for provenance attributes).
void set_command_line(int argc, char** argv);
const std::string& command_line();
// "fas-embed 0.1.0 (abc123def456)".
std::string created_by();
// Current UTC time, ISO 8601 ("2026-11-27T19:22:44Z").
std::string utc_now_iso8601();

}  // namespace cmclip
