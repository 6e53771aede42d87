// The one Boost.Test main shared by every unit suite.
//
// Boost.Test has no "skipped" outcome for a whole executable: when every test case that
// was selected is skipped for missing shared files (test_support.hpp, SharedFiles), this
// main prints what is missing and exits 77, which ctest reports as skipped
// (SKIP_RETURN_CODE), never as passed.
#include <boost/test/tree/observer.hpp>
#include <boost/test/unit_test.hpp>

#include <iostream>

#include "test_support.hpp"

namespace {
namespace utf = boost::unit_test;

struct CaseCounter : utf::test_observer {
  int started = 0, skipped = 0;
  void test_unit_start(const utf::test_unit& tu) override {
    if (tu.p_type == utf::TUT_CASE) ++started;
  }
  // Also called for the cases a --run_test filter leaves out ("disabled"): not counted.
  void test_unit_skipped(const utf::test_unit& tu, utf::const_string reason) override {
    if (tu.p_type == utf::TUT_CASE && reason != utf::const_string("disabled")) ++skipped;
  }
};

CaseCounter g_counter;

bool init_tests() {
  utf::framework::master_test_suite().p_name.value = "cmclip";
  utf::framework::register_observer(g_counter);
  return true;
}
}  // namespace

int main(int argc, char* argv[]) {
  const int rc = utf::unit_test_main(&init_tests, argc, argv);
  const auto& missing = cmclip::test::missing_shared_files();
  if (missing.empty()) return rc;
  std::cout << "SKIPPED: " << g_counter.skipped << " test case(s) need files that are absent:";
  for (const auto& m : missing) std::cout << ' ' << m;
  std::cout << std::endl;
  return rc == 0 && g_counter.started == 0 ? 77 : rc;
}
