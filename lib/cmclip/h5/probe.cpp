#include "cmclip/h5/probe.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/h5/checked_driver.hpp"

namespace cmclip::h5 {

namespace {
// Values read per attribute or string dataset; more is not a file the tools wrote
// (their readers refuse such shapes before reading them).
constexpr hssize_t kMaxValues = hssize_t(1) << 22;
constexpr size_t kMaxBytes = size_t(1) << 28;

// How libhdf5 dies on a damaged file.
constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};

// ----- the child -----

struct Child {
  int progress_fd;
  // The object about to be read, one line each: the parent names the last one.
  void starting(const char* name) const {
    std::string line = name[0] == '.' && name[1] == '\0' ? "/" : std::string("/") + name;
    line += '\n';
    for (size_t done = 0; done < line.size();) {
      ssize_t n = ::write(progress_fd, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(0);  // the parent has gone
      done += size_t(n);
    }
  }
};

bool holds_variable_length(hid_t type) {
  return H5Tis_variable_str(type) > 0 || H5Tdetect_class(type, H5T_VLEN) > 0;
}

// Reads all values of an attribute (dataset: `dataset` true) in their native form, as
// the readers would, and frees what libhdf5 allocated for variable-length ones.
void read_values(hid_t object, bool dataset, hid_t type, hid_t space) {
  hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n <= 0 || n > kMaxValues) return;
  hid_t mem = H5Tget_native_type(type, H5T_DIR_DEFAULT);
  if (mem < 0) return;
  size_t size = H5Tget_size(mem);
  if (size > 0 && size <= (size_t(1) << 16) && size_t(n) * size <= kMaxBytes) {
    std::vector<unsigned char> buffer(size_t(n) * size);
    herr_t rc = dataset ? H5Dread(object, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data())
                        : H5Aread(object, mem, buffer.data());
    if (rc >= 0 && holds_variable_length(mem)) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buffer.data());
  }
  H5Tclose(mem);
}

void probe_attributes(hid_t object) {
  // A name no attribute has: libhdf5 decodes them all one by one, failing cleanly on a
  // bad one (the by-index calls below would crash on it; h5::Object::attr_names checks
  // the same way).
  if (H5Aexists(object, "\x01cmclip: no such attribute") < 0) return;
  H5O_info_t info;
  if (H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS) < 0) return;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    hid_t attr = H5Aopen_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) continue;
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    if (type >= 0 && space >= 0) read_values(attr, false, type, space);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
  }
}

void probe_dataset(hid_t dataset) {
  H5Dget_storage_size(dataset);  // walks the chunk index
  hid_t type = H5Dget_type(dataset), space = H5Dget_space(dataset);
  // Strings live in the global heap; numbers are bulk data, not read here.
  if (type >= 0 && space >= 0 && holds_variable_length(type)) read_values(dataset, true, type, space);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
}

herr_t visit(hid_t file, const char* name, const H5O_info_t* info, void* data) {
  static_cast<const Child*>(data)->starting(name);
  hid_t object = H5Oopen(file, name, H5P_DEFAULT);
  if (object < 0) return 0;
  probe_attributes(object);
  if (info->type == H5O_TYPE_DATASET) probe_dataset(object);
  H5Oclose(object);
  return 0;
}

[[noreturn]] void run_child(const std::string& path, int progress_fd) {
  // The parent's handlers are not the child's business. Stop signals are the parent's
  // to act on (its handlers would remove its temporary files; a job's whole process
  // group gets them): the child ignores them. A crash must end the child as a plain
  // signal, not in a sanitizer's or fuzzer's report about the parent's input.
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  action.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaction(sig, &action, nullptr);
  action.sa_handler = SIG_DFL;
  for (int sig : kCrashSignals) sigaction(sig, &action, nullptr);
  Child child{progress_fd};
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, checked_read_fapl());
  if (file >= 0) H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &child, H5O_INFO_BASIC);
  ::_exit(0);  // no clean-up: nothing of the parent's may be flushed or removed
}

// ----- the parent -----

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

// The child's progress until it closes its end or `deadline` passes; false on timeout.
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

// Files probed in this process, as they were then: a file opened again (is it a
// checkpoint? then read it) is not probed again unless it has changed.
using FileState = std::tuple<dev_t, ino_t, off_t, time_t, long>;
std::mutex g_probed_mutex;
std::set<FileState> g_probed;

bool file_state(const std::string& path, FileState& state) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  state = FileState(st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return true;
}

std::string last_line(const std::string& progress) {
  size_t end = progress.find_last_of('\n');
  if (end == std::string::npos) return "";
  size_t start = progress.find_last_of('\n', end == 0 ? 0 : end - 1);
  start = start == std::string::npos || start >= end ? 0 : start + 1;
  return progress.substr(start, end - start);
}
}  // namespace

void probe_metadata(const std::string& path) {
  const double limit = time_limit();
  if (limit == 0) return;
  FileState state;
  const bool known = file_state(path, state);
  if (known) {
    std::lock_guard<std::mutex> l(g_probed_mutex);
    if (g_probed.count(state)) return;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;  // no child possible: read without the net
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(path, fds[1]);
  }
  ::close(fds[1]);
  std::string progress;
  const bool finished = follow(fds[0], now_seconds() + limit, progress);
  ::close(fds[0]);
  if (!finished) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string object = last_line(progress);
  if (!finished)
    throw InputError(path, object,
                     fmt::format("libhdf5 did not finish reading the file's structure in {} s (a damaged file?"
                                 " CMCLIP_H5_PROBE_SECONDS sets the limit)", limit));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (std::find(std::begin(kCrashSignals), std::end(kCrashSignals), sig) == std::end(kCrashSignals))
      throw RuntimeFailure(path, object,  // killed from outside (the OOM killer, say): not the file's fault
                           fmt::format("the check of the file's structure was killed ({})", strsignal(sig)));
    throw InputError(path, object,
                     fmt::format("damaged file: libhdf5 crashed ({}) reading this object's metadata", strsignal(sig)));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw InputError(path, object,
                     fmt::format("damaged file: libhdf5 failed (exit status {}) reading this object's metadata",
                                 WEXITSTATUS(status)));
  if (known) {
    std::lock_guard<std::mutex> l(g_probed_mutex);
    g_probed.insert(state);
  }
}

}  // namespace cmclip::h5
