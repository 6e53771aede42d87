#include "cmclip/core/progress.hpp"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "cmclip/core/log.hpp"

namespace cmclip {
namespace {
std::atomic<bool> g_bar_drawn{false};

void clear_bar() {
  if (g_bar_drawn.exchange(false)) {
    const char clear[] = "\r\033[K";
    ssize_t ignored = ::write(STDERR_FILENO, clear, sizeof(clear) - 1);
    (void)ignored;
  }
}
}  // namespace

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<int64_t>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02d}s", total / 60, total % 60);
  return fmt::format("{}h{:02d}m", total / 3600, (total % 3600) / 60);
}

double Progress::plain_interval() {
  const char* env = std::getenv("CMCLIP_PROGRESS_SECONDS");
  if (env) {
    char* end = nullptr;
    double v = std::strtod(env, &end);
    if (end != env && v >= 0) return v;
  }
  return 30.0;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      terminal_(log::stderr_is_terminal()),
      enabled_(log::level() >= log::Level::info),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {
  if (terminal_) log::set_line_clearer(&clear_bar);
}

Progress::~Progress() {
  if (terminal_) {
    std::lock_guard<std::mutex> lock(mutex_);
    clear_bar();
  }
}

void Progress::advance(int64_t n) {
  done_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_).count();
  double interval = terminal_ ? 0.1 : plain_interval();
  if (since < interval) return;
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;
  last_ = now;
  report(false);
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (enabled_) report(true);
}

std::string Progress::line(double elapsed) const {
  int64_t done = done_.load();
  double rate = elapsed > 0 ? done / elapsed : 0.0;
  std::string out = fmt::format("{}: {}", label_, done);
  if (total_ > 0) out += fmt::format("/{} {} ({:.1f}%)", total_, unit_, 100.0 * done / total_);
  else out += " " + unit_;
  out += fmt::format(", {:.1f} {}/s", rate, unit_);
  if (total_ > 0 && rate > 0 && done < total_) out += ", ETA " + format_duration((total_ - done) / rate);
  return out;
}

void Progress::report(bool final) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (final) {
    int64_t done = done_.load();
    if (terminal_) clear_bar();
    log::info("{}: {} {} in {}, {:.1f} {}/s", label_, done, unit_, format_duration(elapsed),
              elapsed > 0 ? done / elapsed : 0.0, unit_);
    return;
  }
  if (!terminal_) {
    log::info("{}", line(elapsed));
    return;
  }
  std::string bar;
  if (total_ > 0) {
    const int width = 24;
    int filled = static_cast<int>(width * std::min<double>(1.0, double(done_.load()) / total_));
    bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  std::string text = "\r\033[K" + log::program() + ": " + bar + line(elapsed);
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
  g_bar_drawn = true;
}

}  // namespace cmclip
