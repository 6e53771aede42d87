// Data-parallel training across processes with PyTorch's c10d: ranks from SLURM
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID under srun) or torchrun-style variables
// (RANK, WORLD_SIZE, LOCAL_RANK); rendezvous through a c10d TCPStore at
// MASTER_ADDR:MASTER_PORT (under SLURM: the first host of SLURM_JOB_NODELIST and
// 15000 + the job id's last four digits, unless set); ProcessGroupGloo on CPU,
// ProcessGroupNCCL for CUDA devices when LibTorch was built with it.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "cmclip/train/communicator.hpp"

namespace cmclip::train {

struct DistEnv {
  int rank = 0, world = 1, local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  std::string source;  // "slurm", "env" or "single"
};

// Reads the environment (UsageError on inconsistent values, e.g. RANK >= WORLD_SIZE).
DistEnv read_dist_env();
// "node[01-04,07],gpu3" -> "node01": the first host of a SLURM node list.
std::string first_slurm_host(const std::string& nodelist);

// A communicator for this process: the local one when the world has one rank, else
// c10d over Gloo (CPU) or NCCL (CUDA device, when built in). Collective operations
// that wait longer than `timeout` (a rank died or hangs) fail with a RuntimeFailure
// naming the operation. $CMCLIP_DIST_TIMEOUT (seconds) overrides the default.
std::unique_ptr<Communicator> make_communicator(const std::string& device,
                                                std::chrono::seconds timeout = std::chrono::seconds(300));

}  // namespace cmclip::train
