// core/: errors, SHA-256, atomic outputs, device parsing, progress formatting, the
// malloc tuning.
#include <boost/test/unit_test.hpp>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

#include <c10/core/Device.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/progress.hpp"
#include "cmclip/core/runtime.hpp"
#include "cmclip/core/sha256.hpp"
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

BOOST_AUTO_TEST_CASE(output_paths_are_checked_before_work) {
  ScratchDir dir("outpath");
  test::expect_error([&] { AtomicOutput out(dir.file("missing/out.h5")); }, ExitCode::bad_input,
                     {"missing/out.h5", "does not exist"});
  test::expect_error([&] { AtomicOutput out(dir.path()); }, ExitCode::bad_input, {"is a folder"});
  test::expect_error([&] { check_input_file(dir.file("nope.h5")); }, ExitCode::bad_input,
                     {"nope.h5", "No such file"});
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
  if (!tune_malloc()) {
    BOOST_TEST_MESSAGE("malloc left as the environment sets it (MALLOC_*_ or GLIBC_TUNABLES, or not glibc): "
                       "not checked");
    return;
  }
  faults_of_a_large_block();  // the heap grows once
  // glibc's default would mmap a 64 MiB block afresh each time: 16384 faults of 4 KiB.
  long again = faults_of_a_large_block();
  BOOST_TEST_MESSAGE("64 MiB allocated again after tune_malloc(): " << again << " minor page faults");
  BOOST_TEST(again < 1024);
}

BOOST_AUTO_TEST_SUITE_END()
