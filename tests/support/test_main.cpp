// The one Boost.Test main shared by every unit suite.
#define BOOST_TEST_MODULE cmclip
#include <boost/test/unit_test.hpp>
