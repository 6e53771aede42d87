// train/distributed: who is who under SLURM and torchrun-style launches, the SLURM
// node-list and port rules, the device of each rank, and the c10d collectives between
// two ranks of one process (two threads over loopback).
#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "cmclip/train/distributed.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::train;

namespace {
using EnvVars = std::vector<std::pair<std::string, std::string>>;

// Sets environment variables for one test and restores the previous values after it;
// every launcher variable not given is unset.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::initializer_list<EnvVars::value_type> vars) : ScopedEnv(EnvVars(vars)) {}
  explicit ScopedEnv(const EnvVars& vars) {
    for (const char* name :
         {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_JOB_ID", "SLURM_STEP_ID",
          "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID", "SLURM_STEP_NUM_NODES",
          "SLURM_JOB_NUM_NODES", "SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"}) {
      const char* old = std::getenv(name);
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
      unsetenv(name);
    }
    for (const auto& [k, v] : vars) {
      if (!saved_.count(k)) {
        const char* old = std::getenv(k.c_str());
        saved_[k] = old ? std::optional<std::string>(old) : std::nullopt;
      }
      setenv(k.c_str(), v.c_str(), 1);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

// What srun sets in task `procid` of a job step of `ntasks` tasks in job `job`, and `more`.
EnvVars srun_task(const std::string& job, const std::string& procid, const std::string& ntasks, EnvVars more = {}) {
  EnvVars vars{{"SLURM_JOB_ID", job}, {"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", procid}, {"SLURM_NTASKS", ntasks}};
  vars.insert(vars.end(), more.begin(), more.end());
  return vars;
}

// A TCP port nobody listens on right now.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

DistEnv loopback(int rank, int world, int port) {
  DistEnv d;
  d.rank = rank;
  d.world = world;
  d.master_addr = "127.0.0.1";
  d.master_port = port;
  d.source = "env";
  return d;
}

// Runs `body(rank, communicator)` on two ranks in two threads; returns when both end.
void two_ranks(const std::function<void(int, Communicator&)>& body) {
  int port = free_port();
  auto run = [&](int rank) {
    auto comm = connect(loopback(rank, 2, port), "cpu", std::chrono::seconds(30));
    body(rank, *comm);
    comm->barrier();
  };
  auto other = std::async(std::launch::async, run, 1);
  run(0);
  other.get();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(train_distributed)

BOOST_AUTO_TEST_CASE(first_host_of_slurm_node_lists) {
  // (node list, its first host)
  const std::pair<const char*, const char*> cases[] = {{"gpu7", "gpu7"},
                                                       {"node[01-04,07],gpu3", "node01"},
                                                       {"node[007,003-004]", "node007"},
                                                       {"rack[2-3]-n[5,9]", "rack2-n5"},
                                                       {"a1,b[1-2]", "a1"},
                                                       {"n-[10-11].cluster", "n-10.cluster"}};
  for (const auto& [list, first] : cases) {
    BOOST_TEST_CONTEXT("node list " << list) { BOOST_TEST(first_slurm_host(list) == first); }
  }
  test::expect_error([] { first_slurm_host("node[01-02"); }, ExitCode::bad_input, {"node[01-02", "']'"});
  test::expect_error([] { first_slurm_host(",x"); }, ExitCode::bad_input, {"names no host"});
}

BOOST_AUTO_TEST_CASE(one_process_without_launcher_variables) {
  ScopedEnv e({{"CMCLIP_TEST_UNUSED", "1"}});
  DistEnv d = read_dist_env();
  BOOST_TEST(d.world == 1);
  BOOST_TEST(d.rank == 0);
  BOOST_TEST(d.source == "single");
  BOOST_TEST(d.warning.empty());
}

BOOST_AUTO_TEST_CASE(torchrun_style_variables) {
  ScopedEnv e(
      {{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "head"}, {"MASTER_PORT", "29999"}});
  DistEnv d = read_dist_env();
  BOOST_TEST(d.source == "env");
  BOOST_TEST(d.world == 4);
  BOOST_TEST(d.rank == 3);
  BOOST_TEST(d.local_rank == 1);
  BOOST_TEST(d.master_addr == "head");
  BOOST_TEST(d.master_port == 29999);
}

BOOST_AUTO_TEST_CASE(torchrun_style_defaults) {
  ScopedEnv e({{"WORLD_SIZE", "2"}, {"RANK", "1"}});
  DistEnv d = read_dist_env();
  BOOST_TEST(d.master_addr == "127.0.0.1");
  BOOST_TEST(d.master_port == 29500);
}

BOOST_AUTO_TEST_CASE(srun_step_variables_and_derived_rendezvous) {
  ScopedEnv e(srun_task("1234567", "5", "8",
                        {{"SLURM_STEP_NUM_TASKS", "6"},
                         {"SLURM_LOCALID", "1"},
                         {"SLURM_STEP_NUM_NODES", "3"},
                         {"SLURM_STEP_NODELIST", "gpu[12-14]"},
                         {"SLURM_JOB_NODELIST", "gpu[10-14]"}}));
  DistEnv d = read_dist_env();
  BOOST_TEST(d.source == "slurm");
  BOOST_TEST(d.world == 6);  // the step's tasks, not the job's
  BOOST_TEST(d.rank == 5);
  BOOST_TEST(d.local_rank == 1);
  BOOST_TEST(d.nodes == 3);
  BOOST_TEST(d.master_addr == "gpu12");  // rank 0 runs on the step's first node
  BOOST_TEST(d.master_port == 15000 + 4567);
}

BOOST_AUTO_TEST_CASE(srun_with_explicit_master_and_short_job_id) {
  {
    ScopedEnv e(srun_task("42", "0", "2", {{"SLURM_JOB_NODELIST", "n1"}}));
    DistEnv d = read_dist_env();
    BOOST_TEST(d.world == 2);  // no SLURM_STEP_NUM_TASKS: the job's task count
    BOOST_TEST(d.master_addr == "n1");
    BOOST_TEST(d.master_port == 15042);
  }
  ScopedEnv e(
      srun_task("42", "1", "2", {{"SLURM_JOB_NODELIST", "n1"}, {"MASTER_ADDR", "10.0.0.9"}, {"MASTER_PORT", "23456"}}));
  DistEnv d = read_dist_env();
  BOOST_TEST(d.master_addr == "10.0.0.9");
  BOOST_TEST(d.master_port == 23456);
}

BOOST_AUTO_TEST_CASE(batch_script_of_a_many_task_job_trains_alone_with_a_warning) {
  // sbatch -n 2 without srun: SLURM_PROCID=0 and SLURM_NTASKS=2 but no job step.
  ScopedEnv e({{"SLURM_JOB_ID", "77"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_NODELIST", "n1"}});
  DistEnv d = read_dist_env();
  BOOST_TEST(d.world == 1);
  BOOST_TEST(d.warning.find("not started by srun") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(explicit_variables_win_over_slurm) {
  ScopedEnv e(srun_task("77", "0", "1", {{"WORLD_SIZE", "2"}, {"RANK", "1"}}));
  DistEnv d = read_dist_env();
  BOOST_TEST(d.source == "env");
  BOOST_TEST(d.world == 2);
  BOOST_TEST(d.rank == 1);
}

BOOST_AUTO_TEST_CASE(nonsense_values_are_usage_errors_naming_the_variable) {
  {
    ScopedEnv e({{"WORLD_SIZE", "2"}, {"RANK", "2"}});
    test::expect_error([] { read_dist_env(); }, ExitCode::bad_input, {"rank 2 is not below the world size 2"});
  }
  {
    ScopedEnv e({{"WORLD_SIZE", "two"}});
    test::expect_error([] { read_dist_env(); }, ExitCode::bad_input, {"WORLD_SIZE='two'"});
  }
  {
    ScopedEnv e({{"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}});
    test::expect_error([] { read_dist_env(); }, ExitCode::bad_input, {"MASTER_PORT 70000"});
  }
  {
    ScopedEnv e(srun_task("12_3", "0", "2"));
    test::expect_error([] { read_dist_env(); }, ExitCode::bad_input, {"SLURM_JOB_ID='12_3'", "MASTER_PORT"});
  }
}

BOOST_AUTO_TEST_CASE(each_rank_takes_its_local_gpu) {
  DistEnv one;
  BOOST_TEST(rank_device("cuda", one) == "cuda");
  DistEnv many = loopback(5, 8, 1);
  many.local_rank = 1;
  BOOST_TEST(rank_device("cuda", many) == "cuda:1");
  BOOST_TEST(rank_device("cuda:3", many) == "cuda:3");  // an explicit index is kept
  BOOST_TEST(rank_device("cpu", many) == "cpu");
}

BOOST_AUTO_TEST_CASE(collectives_between_two_ranks) {
  two_ranks([](int rank, Communicator& comm) {
    BOOST_TEST(comm.rank() == rank);
    BOOST_TEST(comm.world() == 2);
    // broadcast: rank 0's values everywhere, every tensor of the list.
    std::vector<at::Tensor> b{at::full({2, 3}, float(rank + 1)), at::full({4}, float(10 * rank + 7))};
    comm.broadcast(b);
    BOOST_TEST(at::equal(b[0], at::full({2, 3}, 1.0f)));
    BOOST_TEST(at::equal(b[1], at::full({4}, 7.0f)));
    // sum and mean over ranks.
    std::vector<at::Tensor> s{at::full({3}, float(rank + 1)), at::full({1}, float(rank))};
    comm.allreduce_sum(s);
    BOOST_TEST(at::equal(s[0], at::full({3}, 3.0f)));
    BOOST_TEST(at::equal(s[1], at::full({1}, 1.0f)));
    std::vector<at::Tensor> m{at::full({5}, float(2 * rank + 1))};
    comm.allreduce_mean(m);
    BOOST_TEST(at::equal(m[0], at::full({5}, 2.0f)));
    // any(): true everywhere when one rank says so.
    BOOST_TEST(comm.any(rank == 1));
    BOOST_TEST(!comm.any(false));
  });
}

BOOST_AUTO_TEST_CASE(gradients_averaged_with_a_parameter_unused_on_one_rank) {
  two_ranks([](int rank, Communicator& comm) {
    std::vector<std::pair<std::string, at::Tensor>> params{{"used", at::zeros({2}).requires_grad_()},
                                                           {"rank1_only", at::zeros({3}).requires_grad_()},
                                                           {"never", at::zeros({1}).requires_grad_()}};
    params[0].second.mutable_grad() = at::full({2}, rank == 0 ? 1.0f : 3.0f);
    if (rank == 1) params[1].second.mutable_grad() = at::full({3}, 4.0f);
    average_gradients(comm, params);
    BOOST_TEST(at::equal(params[0].second.grad(), at::full({2}, 2.0f)));
    BOOST_REQUIRE(params[1].second.grad().defined());  // zero on rank 0, 4 on rank 1
    BOOST_TEST(at::equal(params[1].second.grad(), at::full({3}, 2.0f)));
    BOOST_TEST(!params[2].second.grad().defined());  // no rank has it: stays undefined
  });
}

BOOST_AUTO_TEST_CASE(rendezvous_without_the_other_rank_fails_within_the_timeout) {
  int port = free_port();
  auto start = std::chrono::steady_clock::now();
  test::expect_error([&] { connect(loopback(0, 2, port), "cpu", std::chrono::seconds(2)); }, ExitCode::runtime,
                     {"rank 0/2", "rendezvous of 2 ranks at 127.0.0.1:" + std::to_string(port), "within 2 s"});
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(20)));
}

BOOST_AUTO_TEST_CASE(one_rank_is_the_local_communicator) {
  auto comm = connect(DistEnv{}, "cpu", std::chrono::seconds(1));
  BOOST_TEST(comm->world() == 1);
  std::vector<at::Tensor> t{at::full({2}, 3.0f)};
  comm->allreduce_mean(t);
  BOOST_TEST(at::equal(t[0], at::full({2}, 3.0f)));
}

BOOST_AUTO_TEST_CASE(cuda_without_nccl_is_refused_clearly) {
#ifndef USE_C10D_NCCL
  test::expect_error([] { connect(loopback(0, 2, 1), "cuda:0", std::chrono::seconds(1)); }, ExitCode::bad_input,
                     {"NCCL"});
#else
  BOOST_TEST_MESSAGE("built with NCCL: the refusal does not apply");
#endif
}

BOOST_AUTO_TEST_SUITE_END()
