// A small fixed-size thread pool, and ordered_map(): run independent jobs on the
// pool while handing their results to one consumer in input order. Output that is
// written in that order is therefore identical for any number of threads, and the
// bounded window of jobs in flight keeps memory constant however many jobs there are.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace cmclip {

class ThreadPool {
 public:
  // threads <= 0: thread_budget() (runtime.hpp).
  explicit ThreadPool(int threads);
  ~ThreadPool();  // finishes queued jobs, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()); }

  // Queues `fn`; its result (or exception) arrives through the future.
  template <class F>
  auto submit(F&& fn) -> std::future<std::invoke_result_t<std::decay_t<F>>> {
    using R = std::invoke_result_t<std::decay_t<F>>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    std::future<R> result = task->get_future();
    enqueue([task] { (*task)(); });
    return result;
  }

 private:
  void enqueue(std::function<void()> job);
  void work();

  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> queue_;
  std::mutex mutex_;
  std::condition_variable ready_;
  bool stopping_ = false;
};

// Runs produce(i) for i in [0, n) on `pool` and calls consume(i, result) on the calling
// thread in increasing i, with at most `window` jobs submitted but not yet consumed.
// The first exception in input order (from produce or consume) is rethrown after the
// jobs in flight have finished, so nothing outlives the data the jobs refer to.
template <class Produce, class Consume>
void ordered_map(ThreadPool& pool, int64_t n, int window, Produce produce, Consume consume) {
  using R = std::invoke_result_t<Produce, int64_t>;
  if (window < 1) window = 1;
  std::deque<std::future<R>> in_flight;
  int64_t next = 0;
  auto drain = [&in_flight] {
    for (auto& f : in_flight)
      if (f.valid()) f.wait();
    in_flight.clear();
  };
  try {
    for (int64_t i = 0; i < n; ++i) {
      while (next < n && next - i < window) {
        int64_t k = next++;
        in_flight.push_back(pool.submit([&produce, k] { return produce(k); }));
      }
      std::future<R> f = std::move(in_flight.front());
      in_flight.pop_front();
      consume(i, f.get());
    }
  } catch (...) {
    drain();
    throw;
  }
}

}  // namespace cmclip
