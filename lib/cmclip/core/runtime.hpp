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

// Intra-op threads for LibTorch (and OpenMP). n <= 0: $SLURM_CPUS_PER_TASK if set,
// else the number of cores. Returns the number set.
int configure_threads(int n);
int default_threads();

// Parses "cpu", "cuda", "cuda:N"; fails with exit status 2 when CUDA is asked for and
// this build has none, or the device index does not exist.
c10::Device parse_device(const std::string& spec);

// glibc malloc serves blocks above a dynamic threshold (32 MiB at most) with a fresh
// mmap and unmaps them on free, so every large activation of a forward pass costs
// page faults again (CLIP-SPEC §8: 1.4 M faults and 12 s of system time per batch of
// 32 ViT-B/16 images). This raises the mmap and trim thresholds to 1 GiB: freed
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
