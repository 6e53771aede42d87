// core/: errors, SHA-256, atomic outputs (files and folders) and the tsv list written through one, name tables, the
// string helpers, device parsing, progress formatting, the malloc tuning, the thread budget (affinity, cgroup quotas,
// SLURM) and its sharing.
#include <boost/test/unit_test.hpp>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>
#include <c10/core/Device.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/names.hpp"
#include "cmclip/core/progress.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/core/sha256.hpp"
#include "cmclip/core/strings.hpp"
#include "cmclip/datasets/list_reader.hpp"
#include "cmclip/datasets/list_writer.hpp"
#include "test_support.hpp"

using namespace cmclip;
using cmclip::test::ScratchDir;

BOOST_AUTO_TEST_SUITE(core)

BOOST_AUTO_TEST_CASE(located_messages_leave_out_empty_parts) {
  BOOST_TEST(InputError("a.txt", "line 3", "bad label").what() == std::string("a.txt: line 3: bad label"));
  BOOST_TEST(InputError("a.txt", "", "missing").what() == std::string("a.txt: missing"));
  BOOST_TEST(int(InputError("x").code()) == 2);
  BOOST_TEST(int(UsageError("x").code()) == 2);
  BOOST_TEST(int(RuntimeFailure("x").code()) == 1);
}

BOOST_AUTO_TEST_CASE(sha256_known_vectors) {
  BOOST_TEST(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Two blocks, and a message fed in uneven pieces.
  std::string m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  BOOST_TEST(sha256_hex(m) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;
  for (char c : std::string(1000, 'a')) h.update(&c, 1);
  BOOST_TEST(h.hex_digest() == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

BOOST_AUTO_TEST_CASE(atomic_output_commits_or_leaves_nothing) {
  ScratchDir dir("atomic");
  std::string target = dir.file("out.txt");
  {
    AtomicOutput out(target);
    test::write_text(out.temp_path(), "partial");
    BOOST_TEST(!test::exists(target));
  }  // no commit: the temporary file is gone, no output
  BOOST_TEST(!test::exists(target));
  BOOST_TEST(test::count_files(dir.path()) == 0);

  test::write_text(target, "previous");
  {
    AtomicOutput out(target);
    test::write_text(out.temp_path(), "new");
    BOOST_TEST(test::read_text(target) == "previous");  // untouched until commit
    out.commit();
  }
  BOOST_TEST(test::read_text(target) == "new");
  BOOST_TEST(test::count_files(dir.path()) == 1);
}

BOOST_AUTO_TEST_CASE(atomic_output_folders_commit_whole_or_leave_nothing) {
  ScratchDir dir("atomic_folder");
  std::string target = dir.file("images");
  {
    AtomicOutput out(target, AtomicOutput::Kind::folder);
    out.make_dirs("a/b");
    write_bytes(out.temp_path() + "/a/b/x.png", "png", 3);
    BOOST_TEST(!test::exists(target));
  }  // no commit: the temporary tree is gone
  BOOST_TEST(test::count_files(dir.path()) == 0);
  {
    AtomicOutput out(target, AtomicOutput::Kind::folder);
    out.make_dirs("a");
    write_bytes(out.temp_path() + "/a/x.png", "png", 3);
    out.commit();
  }
  BOOST_TEST(test::read_text(target + "/a/x.png") == "png");
  // A folder with files in it is never mixed with new output.
  test::expect_error([&] { AtomicOutput out(target, AtomicOutput::Kind::folder); }, ExitCode::bad_input,
                     {"images", "not empty"});
  test::write_text(dir.file("plain"), "x");
  test::expect_error([&] { AtomicOutput out(dir.file("plain"), AtomicOutput::Kind::folder); }, ExitCode::bad_input,
                     {"plain", "not a folder"});
}

// What fas-synth --list-out writes, fas-preprocess --format tsv reads back unchanged; the list appears only on commit.
BOOST_AUTO_TEST_CASE(tsv_list_writer_round_trips_through_the_tsv_reader) {
  ScratchDir dir("tsv_list");
  const std::string target = dir.file("list.tsv");
  {
    datasets::TsvListWriter w(target);
    w.add({"s0001/live/0000_depth.png", kLive, Modality::depth, "", "1", "s0001/live", 0});
    w.add({"s0002/print/0003_nir.png", kAttack, Modality::nir, "print", "2", "s0002/print", 3});
    w.finish();
    BOOST_TEST(!test::exists(target));
  }  // not committed: nothing
  BOOST_TEST(test::count_files(dir.path()) == 0);
  datasets::TsvListWriter w(target);
  w.add({"a.png", kAttack, Modality::rgb, "replay", "7", "v7", 12});
  w.finish();
  w.commit();
  const std::string text = test::read_text(target);
  BOOST_TEST(text ==
             "path\tlabel\tmodality\tattack_type\tsubject\tvideo\tframe\na.png\tattack\trgb\treplay\t7\tv7\t12\n");
  std::istringstream in(text);
  datasets::ParsedList list = datasets::read_list(in, target, datasets::ListFormat::tsv);
  BOOST_REQUIRE_EQUAL(list.records.size(), 1u);
  const datasets::ListRecord& r = list.records[0];
  BOOST_TEST(r.path[size_t(Modality::rgb)] == "a.png");
  BOOST_TEST(r.label == kAttack);
  BOOST_TEST(r.attack_type == "replay");
  BOOST_TEST(r.subject == "7");
  BOOST_TEST(r.video == "v7");
  BOOST_TEST(r.frame == 12);
}

// The folder fetch-clip.sh and fetch-models.sh fill, as the tools default to it.
BOOST_AUTO_TEST_CASE(cmclip_home_follows_the_environment) {
  const char* was = std::getenv("CMCLIP_HOME");
  const std::string saved = was ? was : "";
  setenv("CMCLIP_HOME", "/models/cmclip", 1);
  BOOST_TEST(cmclip_home() == "/models/cmclip");
  setenv("CMCLIP_HOME", "", 1);  // empty counts as unset
  const char* home = std::getenv("HOME");
  BOOST_TEST(cmclip_home() == std::string(home ? home : ".") + "/.cache/cmclip");
  if (was) setenv("CMCLIP_HOME", saved.c_str(), 1);
  else unsetenv("CMCLIP_HOME");
}

BOOST_AUTO_TEST_CASE(string_helpers) {
  BOOST_TEST(starts_with("visual.proj", "visual."));
  BOOST_TEST(!starts_with("vis", "visual."));
  BOOST_TEST(ends_with("a/b.rssdk", ".rssdk"));
  BOOST_TEST(!ends_with("k", ".rssdk"));
  BOOST_TEST(ends_with("x", ""));
  BOOST_TEST(ascii_lower("CoLoR.JPG") == "color.jpg");
  BOOST_TEST(ascii_upper("avx2") == "AVX2");
  BOOST_TEST(trim(" \t live \r\n") == "live");
  BOOST_TEST(trim(" \t\r\n") == "");
  BOOST_TEST(all_digits("0015"));
  BOOST_TEST(!all_digits(""));
  BOOST_TEST(!all_digits("15a"));
  BOOST_TEST((split("a,,b", ',') == std::vector<std::string>{"a", "", "b"}));
  BOOST_TEST((split("", ',') == std::vector<std::string>{""}));
  BOOST_TEST((split("x\t", '\t') == std::vector<std::string>{"x", ""}));
}

BOOST_AUTO_TEST_CASE(name_tables_parse_print_and_list_one_set_of_names) {
  enum class Colour { red, green, blue };
  const NameTable<Colour> colours{{Colour::red, "red"}, {Colour::green, "green"}, {Colour::blue, "blue"}};
  BOOST_TEST((colours.parse("green", "--colour") == Colour::green));
  BOOST_TEST(colours.name(Colour::blue) == std::string("blue"));
  BOOST_TEST((colours.names() == std::vector<std::string>{"red", "green", "blue"}));
  BOOST_TEST(colours.either() == "red, green or blue");
  test::expect_error([&] { colours.parse("Green", "--colour"); }, ExitCode::bad_input,
                     {"--colour 'Green': expected red, green or blue"});
  const Choices sizes{"s", "m"};
  sizes.check("m", "--size");
  test::expect_error([&] { sizes.check("xl", "--size"); }, ExitCode::bad_input, {"--size 'xl': expected s or m"});
}

BOOST_AUTO_TEST_CASE(output_paths_are_checked_before_work) {
  ScratchDir dir("outpath");
  test::expect_error([&] { AtomicOutput out(dir.file("missing/out.h5")); }, ExitCode::bad_input,
                     {"missing/out.h5", "does not exist"});
  test::expect_error([&] { AtomicOutput out(dir.path()); }, ExitCode::bad_input, {"is a folder"});
  test::expect_error([&] { check_input_file(dir.file("nope.h5")); }, ExitCode::bad_input, {"nope.h5", "No such file"});
}

BOOST_AUTO_TEST_CASE(device_parsing) {
  BOOST_TEST(parse_device("cpu").is_cpu());
  test::expect_error([] { parse_device("gpu"); }, ExitCode::bad_input, {"expected cpu, cuda or cuda:N"});
  test::expect_error([] { parse_device("cuda:x"); }, ExitCode::bad_input, {"expected cpu, cuda or cuda:N"});
  test::expect_error([] { parse_device("cuda:99999999999"); }, ExitCode::bad_input, {"expected cpu, cuda or cuda:N"});
  if (!torch::cuda::is_available())
    test::expect_error([] { parse_device("cuda"); }, ExitCode::bad_input, {"CUDA is not available"});
}

BOOST_AUTO_TEST_CASE(durations_read_well) {
  BOOST_TEST(format_duration(12.34) == "12.3s");
  BOOST_TEST(format_duration(185) == "3m05s");
  BOOST_TEST(format_duration(3720) == "1h02m");
}

BOOST_AUTO_TEST_CASE(version_report_names_the_libraries) {
  std::string v = version_report("fas-test");
  for (const char* needle : {"fas-test (cmclip)", "commit:", "LibTorch:", "BLAS:", "HDF5:", "OpenCV:", "CUDA:"})
    BOOST_CHECK_MESSAGE(v.find(needle) != std::string::npos, "missing " << needle << " in\n" << v);
}

namespace {
long minor_faults() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_minflt;
}
// Allocates, touches and frees 64 MiB; returns the minor page faults that cost.
long faults_of_a_large_block() {
  const size_t bytes = size_t(64) << 20;
  long before = minor_faults();
  char* volatile p = static_cast<char*>(std::malloc(bytes));
  std::memset(p, 1, bytes);
  std::free(p);
  return minor_faults() - before;
}
}  // namespace

BOOST_AUTO_TEST_CASE(tuned_malloc_reuses_large_blocks_without_page_faults) {
  // The user's malloc settings win: tune_malloc() declines while one is set...
  const char* names[] = {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"};
  std::vector<std::pair<std::string, std::string>> saved;
  for (const char* v : names)
    if (const char* value = std::getenv(v)) saved.emplace_back(v, value);
  setenv("MALLOC_TRIM_THRESHOLD_", "131072", 1);
  BOOST_TEST(!tune_malloc());
  // ...and applies without them (mallopt works whatever glibc read at start-up).
  for (const char* v : names) unsetenv(v);
  bool tuned = tune_malloc();
  for (const auto& [name, value] : saved) setenv(name.c_str(), value.c_str(), 1);
  BOOST_TEST_REQUIRE(tuned);
  faults_of_a_large_block();  // the heap grows once
  // glibc's default would mmap a 64 MiB block afresh each time: 16384 faults of 4 KiB.
  long again = faults_of_a_large_block();
  BOOST_TEST_MESSAGE("64 MiB allocated again after tune_malloc(): " << again << " minor page faults");
  BOOST_TEST(again < 1024);
}

namespace {
// A fake /proc and /sys under `root`: the cgroup lines, one mountinfo line, and files.
void fake_cgroup(const ScratchDir& root, const std::string& cgroup, const std::string& mount,
                 const std::vector<std::pair<std::string, std::string>>& files) {
  for (const std::string& d : {"/proc", "/proc/self"}) mkdir((root.path() + d).c_str(), 0755);
  test::write_text(root.file("proc/self/cgroup"), cgroup);
  test::write_text(root.file("proc/self/mountinfo"), "22 1 0:21 / /proc rw - proc proc rw\n" + mount);
  for (const auto& [path, content] : files) {
    std::string dir = root.path();
    for (size_t p = 1; (p = path.find('/', p)) != std::string::npos; ++p)
      mkdir((dir + path.substr(0, p)).c_str(), 0755);
    test::write_text(dir + path, content);
  }
}
}  // namespace

BOOST_AUTO_TEST_CASE(cgroup_quotas_limit_the_threads) {
  {  // v2: the tightest of the cgroup and its parents, rounded up
    ScratchDir d("cg2");
    fake_cgroup(d, "0::/user.slice/job\n", "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                {{"/sys/fs/cgroup/user.slice/job/cpu.max", "150000 100000\n"},
                 {"/sys/fs/cgroup/user.slice/cpu.max", "max 100000\n"}});
    BOOST_TEST(cgroup_cpu_limit(d.path()) == 2);
    test::write_text(d.file("sys/fs/cgroup/user.slice/cpu.max"), "100000 100000\n");
    BOOST_TEST(cgroup_cpu_limit(d.path()) == 1);
  }
  {  // v1, in a container whose mount shows its own cgroup as the root
    ScratchDir d("cg1");
    fake_cgroup(d, "5:cpuset:/docker/abc\n4:cpu,cpuacct:/docker/abc\n",
                "40 25 0:30 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
                {{"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "300000\n"},
                 {"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n"}});
    BOOST_TEST(cgroup_cpu_limit(d.path()) == 3);
    test::write_text(d.file("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"), "-1\n");
    BOOST_TEST(cgroup_cpu_limit(d.path()) == 0);  // no quota
  }
  {  // no cgroup information at all
    ScratchDir d("cg0");
    BOOST_TEST(cgroup_cpu_limit(d.path()) == 0);
  }
}

BOOST_AUTO_TEST_CASE(default_threads_follow_affinity_and_slurm) {
  cpu_set_t set;
  CPU_ZERO(&set);
  BOOST_REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  const int allowed = CPU_COUNT(&set);
  BOOST_TEST(affinity_cpus() == allowed);
  BOOST_TEST(default_threads() >= 1);
  BOOST_TEST(default_threads() <= allowed);
  const char* saved = std::getenv("SLURM_CPUS_PER_TASK");
  const std::string saved_value = saved ? saved : "";
  setenv("SLURM_CPUS_PER_TASK", "1", 1);
  BOOST_TEST(default_threads() == 1);
  setenv("SLURM_CPUS_PER_TASK", "100000", 1);  // the allocation is smaller: it wins
  BOOST_TEST(default_threads() <= allowed);
  if (saved) setenv("SLURM_CPUS_PER_TASK", saved_value.c_str(), 1);
  else unsetenv("SLURM_CPUS_PER_TASK");
  // One CPU in the mask: one thread.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) {
      CPU_SET(c, &one);
      break;
    }
  BOOST_REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  const int pinned = default_threads();
  sched_setaffinity(0, sizeof set, &set);
  BOOST_TEST(pinned == 1);
}

BOOST_AUTO_TEST_CASE(a_thread_share_lends_part_of_the_budget) {
  const int before = at::get_num_threads();
  BOOST_TEST(configure_threads(4) == 4);
  BOOST_TEST(thread_budget() == 4);
  BOOST_TEST(at::get_num_threads() == 4);
  {
    ThreadShare share(1);
    BOOST_TEST(at::get_num_threads() == 3);
  }
  BOOST_TEST(at::get_num_threads() == 4);
  {
    ThreadShare share(6);  // more than the budget: the compute keeps one
    BOOST_TEST(at::get_num_threads() == 1);
  }
  BOOST_TEST(at::get_num_threads() == 4);
  configure_threads(before);
}

BOOST_AUTO_TEST_SUITE_END()
