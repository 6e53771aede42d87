#include "cmclip/h5/probe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/h5/guard/probe_walk.hpp"

namespace cmclip::h5 {

namespace {
constexpr const char* kHelperName = "cmclip-h5-probe";

// How libhdf5 dies on a damaged file.
constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};

double now_seconds() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double time_limit() {
  const char* v = std::getenv("CMCLIP_H5_PROBE_SECONDS");
  if (!v || !*v) return 120;
  char* end = nullptr;
  double s = std::strtod(v, &end);
  if (*end || !(s >= 0))
    throw UsageError(fmt::format("CMCLIP_H5_PROBE_SECONDS='{}' is not a number of seconds (0 turns the probe off)", v));
  return s;
}

// The helper's progress until it closes its end or `deadline` passes; false on timeout.
bool follow(int fd, double deadline, std::string& progress) {
  char buffer[4096];
  while (true) {
    double left = deadline - now_seconds();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, int(std::min(left, 1.0) * 1000) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    progress.append(buffer, size_t(n));
    if (progress.size() > 65536) progress.erase(0, progress.size() - 4096);  // only the end matters
  }
}

// Files probed in this process, as they were then, with the error found ("" for none):
// a file opened again (is it a checkpoint? then read it) is not probed again unless it
// has changed. A damaged file is refused again at once, not after another time limit.
using FileState = std::tuple<dev_t, ino_t, off_t, time_t, long>;
struct Verdict {
  bool input_error = false;  // else a RuntimeFailure
  std::string object, message;
};
std::mutex g_probed_mutex;
std::map<FileState, std::optional<Verdict>> g_probed;

[[noreturn]] void raise(const std::string& path, const Verdict& v) {
  if (v.input_error) throw InputError(path, v.object, v.message);
  throw RuntimeFailure(path, v.object, v.message);
}

bool file_state(const std::string& path, FileState& state) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  state = FileState(st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return true;
}

// The `back`-th complete line from the end of the helper's output (0: the last).
std::string line_from_end(const std::string& progress, int back) {
  size_t end = progress.find_last_of('\n');
  for (; end != std::string::npos && back > 0; --back)
    end = end == 0 ? std::string::npos : progress.find_last_of('\n', end - 1);
  if (end == std::string::npos) return "";
  size_t start = end == 0 ? std::string::npos : progress.find_last_of('\n', end - 1);
  start = start == std::string::npos ? 0 : start + 1;
  return progress.substr(start, end - start);
}

// The helper program: $CMCLIP_H5_PROBE, else beside the running program (the tools in
// the build's bin/) or in ../libexec/cmclip from it (installed tools, wherever the
// prefix), else where `cmake --install` puts it by default, else in this build's bin/
// (the unit tests, the fuzz targets). Empty when none exists.
std::string find_helper() {
  if (const char* env = std::getenv("CMCLIP_H5_PROBE"); env && *env) return env;
  std::vector<std::string> candidates;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    const std::string dir = dirname_of(std::string(self, size_t(n)));
    candidates.push_back(join_path(dir, kHelperName));
    candidates.push_back(join_path(dir, std::string("../libexec/cmclip/") + kHelperName));  // an installed tool
  }
  candidates.push_back(CMCLIP_H5_PROBE_INSTALLED);
  candidates.push_back(CMCLIP_H5_PROBE_BUILT);
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return "";
}

// What the helper's end says about the file: nothing (it read every object) or an error
// naming the last object it started on.
std::optional<Verdict> judge(bool finished, int status, double limit, const std::string& progress) {
  std::string object = line_from_end(progress, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == kDamagedStatus && object.rfind(kDamagedPrefix, 0) == 0)
    return Verdict{true, line_from_end(progress, 1), "damaged file: " + object.substr(std::strlen(kDamagedPrefix))};
  if (!finished)
    return Verdict{true, object,
                   fmt::format("libhdf5 did not finish reading the file's structure in {} s (a damaged file?"
                               " CMCLIP_H5_PROBE_SECONDS sets the limit)",
                               limit)};
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (std::find(std::begin(kCrashSignals), std::end(kCrashSignals), sig) == std::end(kCrashSignals))
      return Verdict{false, object,  // killed from outside (the OOM killer, say): not the file's fault
                     fmt::format("the check of the file's structure was killed ({})", strsignal(sig))};
    return Verdict{true, object,
                   fmt::format("damaged file: libhdf5 crashed ({}) reading this object's metadata", strsignal(sig))};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return Verdict{true, object,
                   fmt::format("damaged file: libhdf5 failed (exit status {}) reading this object's metadata",
                               WEXITSTATUS(status))};
  return std::nullopt;
}
}  // namespace

void probe_metadata(const std::string& path) {
  const double limit = time_limit();
  if (limit == 0) return;
  FileState state;
  const bool known = file_state(path, state);
  if (known) {
    std::lock_guard<std::mutex> l(g_probed_mutex);
    auto seen = g_probed.find(state);
    if (seen != g_probed.end()) {
      if (seen->second) raise(path, *seen->second);
      return;
    }
  }
  static const std::string helper = find_helper();
  if (helper.empty()) {
    static bool warned = false;
    if (!warned)
      log::warn(
          "{} not found (set CMCLIP_H5_PROBE): HDF5 files are read without the check of their "
          "structure, and a damaged one can crash this program",
          kHelperName);
    warned = true;
    return;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw RuntimeFailure(path, "", "cannot create a pipe for the structure check");
  // posix_spawn, not fork: a forked copy of a threaded program can deadlock on a lock
  // another thread held, and copies (page tables, copy-on-write) a large process.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  pid_t pid = -1;
  std::string path_arg = path;
  char* argv[] = {const_cast<char*>(helper.c_str()), const_cast<char*>(path_arg.c_str()), nullptr};
  const int spawned = ::posix_spawn(&pid, helper.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw RuntimeFailure(path, "", fmt::format("cannot run {}: {}", helper, std::strerror(spawned)));
  }
  ::close(fds[1]);
  std::string progress;
  const bool finished = follow(fds[0], now_seconds() + limit, progress);
  ::close(fds[0]);
  if (!finished) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::optional<Verdict> verdict = judge(finished, status, limit, progress);
  // A probe killed from outside says nothing about the file: not remembered.
  if (known && (!verdict || verdict->input_error)) {
    std::lock_guard<std::mutex> l(g_probed_mutex);
    g_probed[state] = verdict;
  }
  if (verdict) raise(path, *verdict);
}

}  // namespace cmclip::h5
