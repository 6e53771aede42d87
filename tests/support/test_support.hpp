// Helpers shared by the unit suites: scratch folders, the shared fixtures, and
// checks that an expression throws a cmclip error with a given exit status and text.
#pragma once
#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>

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
void expect_error(const std::function<void()>& fn, ExitCode code,
                  const std::vector<std::string>& needles);

}  // namespace cmclip::test
