// Helpers shared by the unit suites: scratch folders, the shared fixtures, and
// checks that an expression throws a cmclip error with a given exit status and text.
#pragma once
#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>
#include <vector>

#include "cmclip/core/error.hpp"

namespace cmclip::test {

// A fresh empty folder under the build tree, removed at the end of the test.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// ../shared (or $CMCLIP_SHARED). Empty when absent.
std::string shared_dir();

// The reference BPE vocabulary, relative to shared_dir().
constexpr const char* kSharedBpe = "data/bpe_simple_vocab_16e6.txt.gz";

// Precondition of a test case that needs files of the shared folder (paths relative to
// it: "fixtures/clip-tiny", kSharedBpe). When one is absent the case is skipped, the
// reason names it, and it is recorded for the summary of test_main.cpp (which makes an
// executable whose every case was skipped exit 77: skipped, for ctest).
struct SharedFiles {
  std::vector<std::string> relative;
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const;
};
// What SharedFiles found missing in this process, one entry per path.
const std::vector<std::string>& missing_shared_files();

// Decorates a test case that needs shared files: label "shared" (CMake gives those cases
// a ctest entry of their own, so the others still run in a bare clone) and the check.
//   BOOST_AUTO_TEST_CASE(name, CMCLIP_NEEDS_SHARED("fixtures/clip-tiny", cmclip::test::kSharedBpe))
#define CMCLIP_NEEDS_SHARED(...) \
  *boost::unit_test::label("shared") * boost::unit_test::precondition(::cmclip::test::SharedFiles{{__VA_ARGS__}})
// Path of a file under shared/fixtures, or "" (with a visible BOOST_TEST_MESSAGE
// saying the test is skipped) when the fixtures are absent.
std::string fixture(const std::string& relative);

void write_text(const std::string& path, const std::string& content);
std::string read_text(const std::string& path);
bool exists(const std::string& path);
// Files in `dir` whose name starts with `prefix` (temporary outputs left behind?).
int count_files(const std::string& dir, const std::string& prefix = "");

// Runs `fn`, expects a cmclip::Error with `code` whose message contains every one of
// `needles`; reports what was thrown otherwise.
void expect_error(const std::function<void()>& fn, ExitCode code, const std::vector<std::string>& needles);

}  // namespace cmclip::test
