#include "cmclip/train/distributed.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"

namespace cmclip::train {

namespace {
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int fallback) {
  const char* v = env(name);
  if (!v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0) throw UsageError(fmt::format("environment variable {}='{}' is not a number", name, v));
  return static_cast<int>(x);
}

class C10dCommunicator : public Communicator {
 public:
  C10dCommunicator(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<c10d::ProcessGroup> pg, int rank,
                   int world)
      : store_(std::move(store)), pg_(std::move(pg)), rank_(rank), world_(world) {}
  int rank() const override { return rank_; }
  int world() const override { return world_; }

  void allreduce_sum(std::vector<at::Tensor>& tensors) override { reduce(tensors, false); }
  void allreduce_mean(std::vector<at::Tensor>& tensors) override { reduce(tensors, true); }

  void broadcast(std::vector<at::Tensor>& tensors) override {
    if (tensors.empty()) return;
    at::Tensor flat = flatten(tensors);
    std::vector<at::Tensor> v{flat};
    wait(pg_->broadcast(v), "broadcast of the parameters");
    unflatten(flat, tensors);
  }

  bool any(bool flag) override {
    std::vector<at::Tensor> v{at::full({1}, flag ? 1.0f : 0.0f)};
    wait(pg_->allreduce(v), "agreement on stopping");
    return v[0].item<float>() > 0;
  }

  void barrier() override { wait(pg_->barrier(), "barrier"); }

 private:
  // One flat buffer for all tensors: one collective per step, whatever the count.
  static at::Tensor flatten(const std::vector<at::Tensor>& tensors) {
    std::vector<at::Tensor> flat;
    for (const auto& t : tensors) flat.push_back(t.reshape({-1}));
    return at::cat(flat);
  }
  static void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& tensors) {
    int64_t offset = 0;
    for (auto& t : tensors) {
      t.copy_(flat.slice(0, offset, offset + t.numel()).view_as(t));
      offset += t.numel();
    }
  }
  void reduce(std::vector<at::Tensor>& tensors, bool mean) {
    if (tensors.empty()) return;
    at::Tensor flat = flatten(tensors);
    std::vector<at::Tensor> v{flat};
    wait(pg_->allreduce(v), "gradient all-reduce");
    if (mean) flat.div_(world_);
    unflatten(flat, tensors);
  }
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      throw RuntimeFailure(fmt::format("rank {}/{}: {} failed (another rank died or timed out?): {}", rank_, world_,
                                       what, e.what()));
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
  int rank_, world_;
};
}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry up to a top-level comma; a bracket range keeps its first value.
  size_t end = nodelist.size();
  int depth = 0;
  for (size_t i = 0; i < nodelist.size(); ++i) {
    if (nodelist[i] == '[') ++depth;
    else if (nodelist[i] == ']') --depth;
    else if (nodelist[i] == ',' && depth == 0) {
      end = i;
      break;
    }
  }
  std::string first = nodelist.substr(0, end);
  auto open = first.find('[');
  if (open == std::string::npos) return first;
  std::string prefix = first.substr(0, open);
  std::string range = first.substr(open + 1, first.find(']') - open - 1);
  std::string value = range.substr(0, range.find_first_of(",-"));
  return prefix + value;
}

DistEnv read_dist_env() {
  DistEnv d;
  if (env("SLURM_PROCID") && env("SLURM_NTASKS") && env_int("SLURM_NTASKS", 1) > 1) {
    d.source = "slurm";
    d.rank = env_int("SLURM_PROCID", 0);
    d.world = env_int("SLURM_NTASKS", 1);
    d.local_rank = env_int("SLURM_LOCALID", 0);
    const char* nodes = env("SLURM_JOB_NODELIST") ? env("SLURM_JOB_NODELIST") : env("SLURM_NODELIST");
    d.master_addr = env("MASTER_ADDR") ? env("MASTER_ADDR") : (nodes ? first_slurm_host(nodes) : "127.0.0.1");
    if (env("MASTER_PORT")) {
      d.master_port = env_int("MASTER_PORT", 0);
    } else {
      std::string job = env("SLURM_JOB_ID") ? env("SLURM_JOB_ID") : "0";
      d.master_port = 15000 + std::atoi(job.substr(job.size() > 4 ? job.size() - 4 : 0).c_str());
    }
  } else if (env("WORLD_SIZE") && env_int("WORLD_SIZE", 1) > 1) {
    d.source = "env";
    d.rank = env_int("RANK", 0);
    d.world = env_int("WORLD_SIZE", 1);
    d.local_rank = env_int("LOCAL_RANK", 0);
    d.master_addr = env("MASTER_ADDR") ? env("MASTER_ADDR") : "127.0.0.1";
    d.master_port = env_int("MASTER_PORT", 29500);
  } else {
    d.source = "single";
  }
  if (d.rank >= d.world)
    throw UsageError(fmt::format("rank {} is not below the world size {} ({} environment)", d.rank, d.world, d.source));
  if (d.world > 1 && (d.master_port <= 0 || d.master_port > 65535))
    throw UsageError(fmt::format("MASTER_PORT {} is not a port number", d.master_port));
  return d;
}

std::unique_ptr<Communicator> make_communicator(const std::string& device, std::chrono::seconds timeout) {
  DistEnv d = read_dist_env();
  if (d.world <= 1) return local_communicator();
  if (const char* t = env("CMCLIP_DIST_TIMEOUT")) timeout = std::chrono::seconds(std::max(1, std::atoi(t)));
  log::set_prefix(fmt::format("[rank {}/{}] ", d.rank, d.world));
  log::debug("rendezvous at {}:{} ({} environment, local rank {})", d.master_addr, d.master_port, d.source,
             d.local_rank);
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(d.master_port);
  so.isServer = d.rank == 0;
  so.numWorkers = d.world;
  so.waitWorkers = true;
  so.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(d.master_addr, so);
  } catch (const std::exception& e) {
    throw RuntimeFailure(fmt::format("rank {}/{}: rendezvous at {}:{} failed within {} s: {}", d.rank, d.world,
                                     d.master_addr, d.master_port, timeout.count(), e.what()));
  }
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  if (device.rfind("cuda", 0) == 0) {
#ifdef USE_C10D_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, d.rank, d.world, opts);
#else
    throw UsageError("multi-rank training on CUDA needs a LibTorch built with NCCL; this one has only Gloo");
#endif
  } else {
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    opts->timeout = timeout;
    pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, d.rank, d.world, opts);
  }
  if (d.rank != 0 && log::level() == log::Level::info) log::set_level(log::Level::warning);
  log::info("data-parallel over {} ranks (c10d {}, {} environment)", d.world, device == "cpu" ? "Gloo" : "NCCL",
            d.source);
  return std::make_unique<C10dCommunicator>(store, pg, d.rank, d.world);
}

}  // namespace cmclip::train
