#include "test_support.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace cmclip::test {

namespace {
void remove_tree(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string p = path + "/" + n;
      struct stat st;
      if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
      else unlink(p.c_str());
    }
    closedir(d);
  }
  rmdir(path.c_str());
}
}  // namespace

ScratchDir::ScratchDir(const std::string& tag) {
  std::string base = std::string(CMCLIP_BINARY_DIR) + "/tests/scratch";
  mkdir((std::string(CMCLIP_BINARY_DIR) + "/tests").c_str(), 0755);
  mkdir(base.c_str(), 0755);
  path_ = base + "/" + tag + "-" + std::to_string(getpid());
  remove_tree(path_);
  mkdir(path_.c_str(), 0755);
}

ScratchDir::~ScratchDir() { remove_tree(path_); }

namespace {
// Where the shared folder should be, present or not.
std::string shared_location() {
  const char* env = std::getenv("CMCLIP_SHARED");
  return env ? env : std::string(CMCLIP_SOURCE_DIR) + "/../shared";
}
}  // namespace

std::string shared_dir() {
  std::string dir = shared_location();
  return exists(dir) ? dir : "";
}

namespace {
std::vector<std::string>& missing_list() {
  static std::vector<std::string> missing;
  return missing;
}
}  // namespace

const std::vector<std::string>& missing_shared_files() { return missing_list(); }

boost::test_tools::assertion_result SharedFiles::operator()(boost::unit_test::test_unit_id) const {
  std::string absent;
  for (const std::string& r : relative) {
    const std::string where = shared_location() + "/" + r;
    if (exists(where)) continue;
    absent += (absent.empty() ? "" : ", ") + where;
    auto& m = missing_list();
    if (std::find(m.begin(), m.end(), where) == m.end()) m.push_back(where);
  }
  boost::test_tools::assertion_result ok(absent.empty());
  if (!absent.empty())
    ok.message() << "needs " << absent << " (the reference files of ../shared; set CMCLIP_SHARED to their folder)";
  return ok;
}

std::string fixture(const std::string& relative) {
  std::string dir = shared_dir();
  std::string path = dir.empty() ? "" : dir + "/fixtures/" + relative;
  struct stat st;
  if (path.empty() || stat(path.c_str(), &st) != 0) {
    BOOST_TEST_MESSAGE("SKIPPED: fixture " << relative << " not found (../shared/fixtures is absent)");
    return "";
  }
  return path;
}

void write_text(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

int count_files(const std::string& dir, const std::string& prefix) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (name.compare(0, prefix.size(), prefix) == 0) ++n;
  }
  closedir(d);
  return n;
}

void expect_error(const std::function<void()>& fn, ExitCode code, const std::vector<std::string>& needles) {
  try {
    fn();
  } catch (const Error& e) {
    BOOST_CHECK_MESSAGE(e.code() == code,
                        "exit code " << int(e.code()) << " instead of " << int(code) << " for: " << e.what());
    for (const auto& n : needles)
      BOOST_CHECK_MESSAGE(std::string(e.what()).find(n) != std::string::npos,
                          "message lacks '" << n << "': " << e.what());
    return;
  } catch (const std::exception& e) {
    BOOST_ERROR("expected a cmclip::Error, got std::exception: " << e.what());
    return;
  }
  BOOST_ERROR("expected an error containing '" << (needles.empty() ? "" : needles[0]) << "', nothing was thrown");
}

}  // namespace cmclip::test
