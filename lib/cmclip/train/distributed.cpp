#include "cmclip/train/distributed.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "cmclip/compute/onednn.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/core/strings.hpp"
#include "cmclip/core/torch_version.hpp"

namespace cmclip::train {

namespace {
// LibTorch 2.0 split the process group into a front (c10d::ProcessGroup) and its
// transports (c10d::Backend, which ProcessGroupGloo and ProcessGroupNCCL now derive
// from); one transport is all this communicator needs.
#if CMCLIP_TORCH_AT_LEAST(2, 0)
using Transport = c10d::Backend;
#else
using Transport = c10d::ProcessGroup;
#endif

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int fallback) {
  const char* v = env(name);
  if (!v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 1000000000)
    throw UsageError(fmt::format("environment variable {}='{}' is not a non-negative number", name, v));
  return static_cast<int>(x);
}

class C10dCommunicator : public Communicator {
 public:
  C10dCommunicator(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<Transport> pg, int rank, int world,
                   c10::Device device)
      : store_(std::move(store)), pg_(std::move(pg)), rank_(rank), world_(world), device_(device) {}
  int rank() const override { return rank_; }
  int world() const override { return world_; }

  void allreduce_sum(std::vector<at::Tensor>& tensors) override { reduce(tensors, false, "sum all-reduce"); }
  void allreduce_mean(std::vector<at::Tensor>& tensors) override { reduce(tensors, true, "gradient all-reduce"); }

  void broadcast(std::vector<at::Tensor>& tensors) override {
    if (tensors.empty()) return;
    at::Tensor flat = flatten(tensors);
    std::vector<at::Tensor> v{flat};
    wait(pg_->broadcast(v), "broadcast of the parameters from rank 0");
    unflatten(flat, tensors);
  }

  bool any(bool flag) override {
    std::vector<at::Tensor> v{at::full({1}, flag ? 1.0f : 0.0f, at::TensorOptions(device_))};
    wait(pg_->allreduce(v), "agreement on stopping");
    return v[0].item<float>() > 0;
  }

  void barrier() override { wait(pg_->barrier(), "barrier"); }

 private:
  // One flat buffer for all tensors, on the transport's device: one collective per
  // call whatever the count.
  at::Tensor flatten(const std::vector<at::Tensor>& tensors) const {
    std::vector<at::Tensor> flat;
    for (const auto& t : tensors) flat.push_back(t.reshape({-1}).to(device_));
    return at::cat(flat);
  }
  static void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& tensors) {
    int64_t offset = 0;
    for (auto& t : tensors) {
      t.copy_(flat.slice(0, offset, offset + t.numel()).view_as(t));
      offset += t.numel();
    }
  }
  void reduce(std::vector<at::Tensor>& tensors, bool mean, const char* what) {
    if (tensors.empty()) return;
    at::Tensor flat = flatten(tensors);
    std::vector<at::Tensor> v{flat};
    wait(pg_->allreduce(v), what);
    if (mean) flat.div_(world_);
    unflatten(flat, tensors);
  }
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      std::string detail = e.what();
      detail = detail.substr(0, detail.find('\n'));  // c10 appends a C++ backtrace
      throw RuntimeFailure(fmt::format("rank {}/{}: {} failed: another rank died or stopped answering ({})", rank_,
                                       world_, what, detail));
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Transport> pg_;
  int rank_, world_;
  c10::Device device_;
};

bool is_loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address == "localhost";
}

std::string numeric_address(const sockaddr* a) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (a->sa_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, buf, sizeof buf);
  else if (a->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, buf, sizeof buf);
  return buf;
}

// The first non-empty `try_one(address, fd)` over the addresses `host` (and `service`)
// resolves to for sockets of `socktype`, each tried on a fresh socket ("" if none).
template <class TryOne>
std::string first_address(const std::string& host, const char* service, int socktype, TryOne try_one) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), service, &hints, &res) != 0) return "";
  std::string found;
  for (addrinfo* a = res; a && found.empty(); a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    found = try_one(a, fd);
    close(fd);
  }
  freeaddrinfo(res);
  return found;
}

// The first address `host` resolves to that a socket of this process can bind ("" if
// none): what Gloo's default device would use.
std::string bindable_address(const std::string& host) {
  return first_address(host, nullptr, SOCK_STREAM, [](const addrinfo* a, int fd) {
    return bind(fd, a->ai_addr, a->ai_addrlen) == 0 ? numeric_address(a->ai_addr) : std::string();
  });
}

// The local address the kernel would use to reach `host` ("" if it does not resolve).
std::string address_towards(const std::string& host) {
  return first_address(host, "9", SOCK_DGRAM, [](const addrinfo* a, int fd) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    // A UDP "connect" sends nothing; it only picks the route and source address.
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0)
      return numeric_address(reinterpret_cast<sockaddr*>(&local));
    return std::string();
  });
}

// Gloo's transport devices. GLOO_SOCKET_IFNAME (comma-separated, as in PyTorch) names
// the interfaces; otherwise this host's name if it resolves to a bindable address
// (Gloo's default), otherwise the address that reaches MASTER_ADDR, so that a host
// whose name does not resolve still works. Binding to loopback when the ranks span
// several nodes cannot work: that is an error, not a hang.
std::vector<std::shared_ptr<gloo::transport::Device>> gloo_devices(const DistEnv& d) {
  std::vector<std::shared_ptr<gloo::transport::Device>> devices;
  if (const char* ifnames = env("GLOO_SOCKET_IFNAME")) {
    for (const std::string& name : split(ifnames, ',')) {
      if (name.empty()) continue;
      try {
        devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      } catch (const std::exception& e) {
        throw UsageError(fmt::format("GLOO_SOCKET_IFNAME: interface '{}' is not usable on this host ({})", name,
                                     std::string(e.what()).substr(0, std::string(e.what()).find('\n'))));
      }
      log::debug("Gloo bound to interface {} (GLOO_SOCKET_IFNAME)", name);
    }
    if (devices.empty()) throw UsageError("GLOO_SOCKET_IFNAME names no interface");
    return devices;
  }
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string address = bindable_address(host), how = fmt::format("host name {}", host);
  if (address.empty()) {
    address = address_towards(d.master_addr);
    how = fmt::format("route to MASTER_ADDR {}; host name {} does not resolve", d.master_addr, host);
    if (address.empty())
      throw RuntimeFailure(
          fmt::format("rank {}/{}: no network address for Gloo: host name {} does not resolve "
                      "and MASTER_ADDR {} cannot be reached; set GLOO_SOCKET_IFNAME",
                      d.rank, d.world, host, d.master_addr));
  }
  if (d.nodes > 1 && is_loopback(address))
    throw UsageError(
        fmt::format("rank {}/{}: Gloo would bind to the loopback address {} ({}), but the ranks run on "
                    "{} nodes; set GLOO_SOCKET_IFNAME to the cluster network's interface (e.g. eth0, ib0)",
                    d.rank, d.world, address, how, d.nodes));
  log::debug("Gloo bound to {} ({})", address, how);
  devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(address));
  return devices;
}

// The part of SLURM's job id that names the port: its last four digits.
int port_from_job_id(const std::string& job) {
  if (job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError(fmt::format("SLURM_JOB_ID='{}' is not a job number; set MASTER_PORT", job));
  return 15000 + std::atoi(job.substr(job.size() > 4 ? job.size() - 4 : 0).c_str());
}
}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry up to a top-level comma; each bracket group keeps its first value.
  std::string out;
  for (size_t i = 0; i < nodelist.size(); ++i) {
    char c = nodelist[i];
    if (c == ',') break;
    if (c != '[') {
      out += c;
      continue;
    }
    size_t close = nodelist.find(']', i);
    if (close == std::string::npos) throw UsageError(fmt::format("node list '{}': '[' without ']'", nodelist));
    std::string range = nodelist.substr(i + 1, close - i - 1);
    out += range.substr(0, range.find_first_of(",-"));
    i = close;
  }
  if (out.empty()) throw UsageError(fmt::format("node list '{}' names no host", nodelist));
  return out;
}

DistEnv read_dist_env() {
  DistEnv d;
  if (env("WORLD_SIZE")) {
    d.source = "env";
    d.world = std::max(1, env_int("WORLD_SIZE", 1));
    d.rank = env_int("RANK", 0);
    d.local_rank = env_int("LOCAL_RANK", 0);
    d.nodes = 0;
    d.master_addr = env("MASTER_ADDR") ? env("MASTER_ADDR") : "127.0.0.1";
    d.master_port = env_int("MASTER_PORT", 29500);
  } else if (env("SLURM_STEP_ID") && env("SLURM_PROCID")) {
    d.source = "slurm";
    d.world = std::max(1, env_int("SLURM_STEP_NUM_TASKS", env_int("SLURM_NTASKS", 1)));
    d.rank = env_int("SLURM_PROCID", 0);
    d.local_rank = env_int("SLURM_LOCALID", 0);
    d.nodes = env_int("SLURM_STEP_NUM_NODES", env_int("SLURM_JOB_NUM_NODES", 0));
    const char* nodes = env("SLURM_STEP_NODELIST")  ? env("SLURM_STEP_NODELIST")
                        : env("SLURM_JOB_NODELIST") ? env("SLURM_JOB_NODELIST")
                                                    : env("SLURM_NODELIST");
    d.master_addr = env("MASTER_ADDR") ? env("MASTER_ADDR") : nodes ? first_slurm_host(nodes) : "127.0.0.1";
    d.master_port = env("MASTER_PORT") ? env_int("MASTER_PORT", 0)
                                       : port_from_job_id(env("SLURM_JOB_ID") ? env("SLURM_JOB_ID") : "");
  } else if (env("SLURM_JOB_ID") && env_int("SLURM_NTASKS", 1) > 1) {
    d.warning = fmt::format(
        "this SLURM job has {} tasks, but this process was not started by srun: it trains "
        "alone (start it with srun for data-parallel training)",
        env("SLURM_NTASKS"));
  }
  if (d.rank >= d.world)
    throw UsageError(fmt::format("rank {} is not below the world size {} ({} environment)", d.rank, d.world,
                                 d.source == "env" ? "RANK/WORLD_SIZE" : "SLURM_PROCID/SLURM_STEP_NUM_TASKS"));
  if (d.world > 1 && (d.master_port <= 0 || d.master_port > 65535))
    throw UsageError(fmt::format("MASTER_PORT {} is not a port number", d.master_port));
  return d;
}

std::string rank_device(const std::string& device, const DistEnv& env) {
  if (device == "cuda" && env.world > 1) return fmt::format("cuda:{}", env.local_rank);
  return device;
}

std::unique_ptr<Communicator> connect(const DistEnv& d, const std::string& device, std::chrono::seconds timeout) {
  if (d.world <= 1) return local_communicator();
  bool cuda = device.rfind("cuda", 0) == 0;
#ifndef USE_C10D_NCCL
  if (cuda) throw UsageError("multi-rank training on CUDA needs a LibTorch built with NCCL; this one has only Gloo");
#endif
  log::debug("rendezvous at {}:{} ({} environment, local rank {}, timeout {} s)", d.master_addr, d.master_port,
             d.source, d.local_rank, timeout.count());
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(d.master_port);
  so.isServer = d.rank == 0;
  so.numWorkers = d.world;
  so.waitWorkers = true;
  so.timeout = timeout;
#if CMCLIP_TORCH_AT_LEAST(2, 3)
  // LibTorch >= 2.4 defaults to the libuv server, which Debian's LibTorch lacks; the
  // classic one-thread server serves a rendezvous of a few ranks just as well.
  so.useLibUV = false;
#endif
  // Gloo's network address first: a configuration that cannot work fails before
  // rank 0 waits for the others at the store.
  std::vector<std::shared_ptr<gloo::transport::Device>> devices;
  if (!cuda) devices = gloo_devices(d);
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Transport> pg;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(d.master_addr, so);
    if (cuda) {
#ifdef USE_C10D_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, d.rank, d.world, opts);
#endif
    } else {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      opts->devices = devices;
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, d.rank, d.world, opts);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string detail = e.what();
    throw RuntimeFailure(fmt::format("rank {}/{}: rendezvous of {} ranks at {}:{} failed within {} s ({})", d.rank,
                                     d.world, d.world, d.master_addr, d.master_port, timeout.count(),
                                     detail.substr(0, detail.find('\n'))));
  }
  c10::Device dev = cuda ? c10::Device(device) : c10::Device(c10::kCPU);
  return std::make_unique<C10dCommunicator>(store, pg, d.rank, d.world, dev);
}

std::unique_ptr<Communicator> make_communicator(const std::string& device, std::chrono::seconds timeout) {
  DistEnv d = read_dist_env();
  if (!d.warning.empty()) log::warn("{}", d.warning);
  if (d.world <= 1) return local_communicator();
  if (env("CMCLIP_DIST_TIMEOUT")) timeout = std::chrono::seconds(std::max(1, env_int("CMCLIP_DIST_TIMEOUT", 300)));
  log::set_prefix(fmt::format("[rank {}/{}] ", d.rank, d.world));
  // Rank 0 speaks for the run; the others report only problems (all of them with -v).
  if (d.rank != 0 && log::level() == log::Level::info) log::set_level(log::Level::warning);
  // Known problem, not yet understood: with several ranks, oneDNN's directly called
  // GEMM (compute/linear) has corrupted the heap when stop signals reached every rank
  // (3 of 8 two-rank runs; 0 of 8 with LibTorch's GEMM). Multi-rank runs therefore
  // keep LibTorch's GEMM until the cause is found.
  compute::onednn::use_libtorch_gemm();
  auto comm = connect(d, rank_device(device, d), timeout);
  log::info("data-parallel over {} ranks{} (c10d {}, {}, rendezvous {}:{})", d.world,
            d.nodes > 0 ? fmt::format(" on {} node{}", d.nodes, d.nodes > 1 ? "s" : "") : std::string(),
            device.rfind("cuda", 0) == 0 ? "NCCL" : "Gloo", d.source == "slurm" ? "srun" : "RANK/WORLD_SIZE",
            d.master_addr, d.master_port);
  return comm;
}

}  // namespace cmclip::train
