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
