#include "cmclip/core/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"

namespace cmclip::signals {
namespace {
constexpr int kSlots = 64;
constexpr int kPathMax = 4096;
char g_paths[kSlots][kPathMax];
// Slot states: 0 free, 1 being written, 2 holds a path to remove on a fatal signal.
std::atomic<int> g_state[kSlots];
std::atomic<bool> g_graceful{false};
volatile sig_atomic_t g_stop_signal = 0;

void cleanup_temps() {
  for (int i = 0; i < kSlots; ++i)
    if (g_state[i].load() == 2) ::unlink(g_paths[i]);
}

void die_of(int sig) {
  cleanup_temps();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void on_signal(int sig) {
  bool stop_signal = sig == SIGTERM || sig == SIGINT || sig == SIGUSR1;
  if (g_graceful.load() && stop_signal && g_stop_signal == 0) {
    g_stop_signal = sig;
    return;
  }
  if (sig == SIGUSR1 && !g_graceful.load()) return;  // only meaningful to training tools
  die_of(sig);
}
}  // namespace

void install_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaction(sig, &sa, nullptr);
  // Past a file-size limit (ulimit -f, a batch system's quota) write(2) then fails with
  // EFBIG, which the writers report like a full disk (exit 1, no output left), instead
  // of the process dying of SIGXFSZ with its temporary files behind.
  ::signal(SIGXFSZ, SIG_IGN);
}

int register_temp(const std::string& path) {
  if (path.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (!g_state[i].compare_exchange_strong(expected, 1)) continue;
    std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
    g_state[i] = 2;
    return i;
  }
  return -1;
}

void unregister_temp(int slot) {
  if (slot >= 0 && slot < kSlots) g_state[slot] = 0;
}

void enable_graceful_stop(bool on) { g_graceful = on; }
bool stop_requested() { return g_stop_signal != 0; }
int stop_signal() { return g_stop_signal; }
void request_stop(int sig) {
  if (g_stop_signal == 0) g_stop_signal = sig;
}

void throw_if_stop_requested() {
  if (stop_requested())
    throw RuntimeFailure(fmt::format("stopped by signal {} before the end; no output written", stop_signal()));
}

}  // namespace cmclip::signals
