// Shared by the libFuzzer targets (tests/fuzz/fuzz_*.cpp, man fas-errors(7)).
//
// The contract every reader is fuzzed against: bad input ends in a cmclip::Error (an
// InputError naming the file and record, or a RuntimeFailure), never in a crash, a
// sanitizer report, a hang, or any other exception (std::out_of_range from a stoi,
// say, would reach the user as a bare "stoi" with exit status 1). A violated
// invariant of a successful read aborts too.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"

namespace cmclip::fuzz {

// Runs `fn`; a cmclip::Error is the expected end of bad input, anything else aborts.
template <class Fn>
void expect_clean_errors(Fn&& fn) {
  try {
    fn();
  } catch (const cmclip::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: an exception that is not a cmclip error escaped: %s\n", e.what());
    std::abort();
  }
}

// A failed invariant of a successful read.
#define CMCLIP_FUZZ_CHECK(cond)                                                                 \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "fuzz: invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

// The bytes as a file the readers can open (they take paths): one per process, in
// /dev/shm when it exists (no disk traffic), rewritten for every input.
struct InputFile {
  std::string path;
  explicit InputFile(const char* suffix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp ? tmp : "/tmp";
    path = dir + "/cmclip-fuzz-" + std::to_string(::getpid()) + suffix;
  }
  ~InputFile() { ::unlink(path.c_str()); }
};

inline const std::string& write_input_file(const uint8_t* data, size_t size, const char* suffix) {
  static const InputFile file(suffix);
  const std::string& path = file.path;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

// Warnings of the readers (skipped lines, ...) would flood the fuzzer's output.
inline void quiet_logs() { log::set_level(log::Level::error); }

// The LLVMFuzzerInitialize of a target that needs nothing else.
#define CMCLIP_FUZZ_QUIET_INITIALIZE                   \
  extern "C" int LLVMFuzzerInitialize(int*, char***) { \
    cmclip::fuzz::quiet_logs();                        \
    return 0;                                          \
  }

}  // namespace cmclip::fuzz
