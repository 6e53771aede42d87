// core/thread_pool.hpp: ordered results for any thread count, bounded work in flight,
// the first error in input order.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cmclip/core/thread_pool.hpp"

using namespace cmclip;

BOOST_AUTO_TEST_SUITE(thread_pool)

BOOST_AUTO_TEST_CASE(results_arrive_in_input_order_for_any_thread_count) {
  std::vector<int64_t> reference;
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    BOOST_TEST(pool.size() == threads);
    std::vector<int64_t> seen;
    ordered_map(
        pool, 200, 7,
        [](int64_t i) {
          // Later items finish first when they can: uneven work shuffles completion.
          std::this_thread::sleep_for(std::chrono::microseconds((200 - i) % 13 * 50));
          return i * i;
        },
        [&](int64_t i, int64_t v) {
          BOOST_REQUIRE_EQUAL(v, i * i);
          seen.push_back(i);
        });
    BOOST_REQUIRE_EQUAL(seen.size(), 200u);
    for (int64_t i = 0; i < 200; ++i) BOOST_REQUIRE_EQUAL(seen[static_cast<size_t>(i)], i);
    if (reference.empty()) reference = seen;
    BOOST_TEST(seen == reference);
  }
}

BOOST_AUTO_TEST_CASE(jobs_really_run_at_the_same_time) {
  // Three jobs meet at a rendezvous: they only get past it if all three run at once.
  ThreadPool pool(3);
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  std::vector<int> met;
  ordered_map(
      pool, 3, 3,
      [&](int64_t) {
        std::unique_lock<std::mutex> lock(m);
        ++arrived;
        cv.notify_all();
        return cv.wait_for(lock, std::chrono::seconds(20), [&] { return arrived == 3; }) ? 1 : 0;
      },
      [&](int64_t, int ok) { met.push_back(ok); });
  BOOST_TEST((met == std::vector<int>{1, 1, 1}));
}

BOOST_AUTO_TEST_CASE(no_more_than_window_jobs_are_in_flight) {
  ThreadPool pool(4);
  std::atomic<int> in_flight{0};
  int most = 0;
  ordered_map(
      pool, 100, 3,
      [&](int64_t) {
        int now = ++in_flight;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        return now;
      },
      [&](int64_t, int now) {
        most = std::max(most, now);
        --in_flight;
      });
  BOOST_TEST(most <= 3);
  BOOST_TEST(most >= 1);
}

BOOST_AUTO_TEST_CASE(the_first_error_in_input_order_is_rethrown_after_the_jobs_finish) {
  ThreadPool pool(3);
  std::vector<int64_t> consumed;
  std::atomic<int> running{0};
  try {
    ordered_map(
        pool, 50, 8,
        [&](int64_t i) {
          ++running;
          std::this_thread::sleep_for(std::chrono::microseconds(100));
          --running;
          if (i == 17 || i == 30) throw std::runtime_error("bad item " + std::to_string(i));
          return i;
        },
        [&](int64_t i, int64_t) { consumed.push_back(i); });
    BOOST_ERROR("no exception");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()) == "bad item 17");
  }
  BOOST_TEST(consumed.size() == 17u);
  BOOST_TEST(running.load() == 0);  // nothing still runs on data that is gone
  // The pool still works afterwards.
  auto f = pool.submit([] { return 42; });
  BOOST_TEST(f.get() == 42);
}

BOOST_AUTO_TEST_CASE(errors_from_the_consumer_propagate_too) {
  ThreadPool pool(2);
  BOOST_CHECK_THROW(ordered_map(
                        pool, 10, 4, [](int64_t i) { return i; },
                        [](int64_t i, int64_t) {
                          if (i == 3) throw std::logic_error("consumer");
                        }),
                    std::logic_error);
}

BOOST_AUTO_TEST_CASE(default_size_is_at_least_one_thread) {
  ThreadPool pool(0);
  BOOST_TEST(pool.size() >= 1);
}

BOOST_AUTO_TEST_SUITE_END()
