// Progress of long work on stderr: a bar with rate and ETA on a terminal, and plain
// periodic lines otherwise (what SLURM log files want). Silent under -q.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace cmclip {

class Progress {
 public:
  // total <= 0 means unknown (no percentage or ETA).
  Progress(std::string label, int64_t total, std::string unit = "items");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(int64_t n = 1);  // thread-safe
  int64_t done() const { return done_.load(); }
  // Prints the closing line ("label: 500/500 items in 12.3 s, 40.6 items/s").
  void finish();

  // Seconds between plain progress lines when stderr is not a terminal
  // (default 30; environment variable CMCLIP_PROGRESS_SECONDS).
  static double plain_interval();

 private:
  void report(bool final);
  std::string line(double elapsed) const;

  std::string label_, unit_;
  int64_t total_;
  std::atomic<int64_t> done_{0};
  bool terminal_, enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
  std::mutex mutex_;
};

// "1h02m", "3m05s", "12.3s".
std::string format_duration(double seconds);

}  // namespace cmclip
