// Data-parallel training across processes with PyTorch's c10d.
//
// Who is who: explicit torchrun-style variables (WORLD_SIZE, RANK, LOCAL_RANK) when
// WORLD_SIZE is set, else the job step of `srun` (SLURM_PROCID, SLURM_STEP_NUM_TASKS,
// SLURM_LOCALID; only inside a step, i.e. with SLURM_STEP_ID: a batch script of a
// many-task job is not rank 0 of anything), else one process.
// Rendezvous: a c10d TCPStore served by rank 0 at MASTER_ADDR:MASTER_PORT (under
// SLURM by default the first host of the step's node list and 15000 + the last four
// digits of the job id; torchrun-style by default 127.0.0.1:29500).
// Transport: ProcessGroupGloo on CPU (bound to GLOO_SOCKET_IFNAME's interfaces, else
// to this host's name, else to the address that reaches MASTER_ADDR), or
// ProcessGroupNCCL for CUDA devices when LibTorch was built with it.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "cmclip/train/communicator.hpp"

namespace cmclip::train {

struct DistEnv {
  int rank = 0, world = 1, local_rank = 0;
  int nodes = 1;  // nodes the ranks run on (SLURM_STEP_NUM_NODES; 0: unknown)
  std::string master_addr;
  int master_port = 0;
  std::string source = "single";  // "slurm", "env" or "single"
  // A note for the log (e.g. a many-task SLURM job run without srun).
  std::string warning;
};

// Reads the environment (UsageError naming the variable on nonsense values, e.g.
// RANK >= WORLD_SIZE or a MASTER_PORT that is not a port).
DistEnv read_dist_env();
// "node[01-04,07],gpu3" -> "node01", "rack[2-3]-n[5,9]" -> "rack2-n5": the first host
// of a SLURM node list.
std::string first_slurm_host(const std::string& nodelist);
// The device of this rank: "cuda" becomes "cuda:LOCAL_RANK" when there are several
// ranks (one GPU per rank on each node); anything else is kept as given.
std::string rank_device(const std::string& device, const DistEnv& env);

// Joins the process group described by `env` (world > 1): rank 0 serves the TCPStore,
// everyone connects and builds Gloo (CPU device) or NCCL (CUDA). Collectives that wait
// longer than `timeout` (a rank died or hangs) throw a RuntimeFailure naming the
// operation; so does a rendezvous that does not complete within it.
std::unique_ptr<Communicator> connect(const DistEnv& env, const std::string& device, std::chrono::seconds timeout);

// The communicator of this process: the local one for a world of one, else connect()
// with read_dist_env(). $CMCLIP_DIST_TIMEOUT (seconds) overrides `timeout`. Non-root
// ranks log only warnings and errors (unless -v), every line prefixed "[rank R/N]".
std::unique_ptr<Communicator> make_communicator(const std::string& device,
                                                std::chrono::seconds timeout = std::chrono::seconds(300));

}  // namespace cmclip::train
