#include "cmclip/core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <mutex>

namespace cmclip::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::string g_program = "cmclip";
std::string g_prefix;
std::mutex g_mutex;
void (*g_clear)() = nullptr;
}  // namespace

void set_level(Level l) { g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(g_level.load()); }
void set_program(const std::string& name) { g_program = name; }
const std::string& program() { return g_program; }
void set_prefix(const std::string& prefix) { g_prefix = prefix; }
bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }
void set_line_clearer(void (*clear)()) { g_clear = clear; }

void write(Level l, const std::string& message) {
  const char* tag = l == Level::error ? "error: " : l == Level::warning ? "warning: " : "";
  std::string line = g_program + ": " + g_prefix + tag + message + "\n";
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_clear) g_clear();
  // One write call per line: stderr is unbuffered, and SLURM logs merge ranks.
  ssize_t left = static_cast<ssize_t>(line.size());
  const char* p = line.data();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, static_cast<size_t>(left));
    if (n <= 0) break;
    p += n;
    left -= n;
  }
}

}  // namespace cmclip::log
