// Errors of the toolkit. Every failure that reaches a tool's main is one of these:
// it carries the exit status (docs/design.md §5: 1 runtime failure, 2 bad usage or bad
// input) and a message that names the file, the record and what was expected.
#pragma once
#include <stdexcept>
#include <string>

namespace cmclip {

enum class ExitCode : int { ok = 0, runtime = 1, bad_input = 2 };

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// "FILE: RECORD: WHAT", leaving out the empty parts.
std::string located_message(const std::string& file, const std::string& record, const std::string& what);

// Bad input data: a file, a record in it (line, sample index, dataset path), and what
// was expected. Exit status 2.
class InputError : public Error {
 public:
  InputError(std::string file, std::string record, const std::string& what)
      : Error(ExitCode::bad_input, located_message(file, record, what)),
        file_(std::move(file)),
        record_(std::move(record)),
        detail_(what) {}
  explicit InputError(const std::string& what) : Error(ExitCode::bad_input, what), detail_(what) {}
  const std::string& file() const { return file_; }
  const std::string& record() const { return record_; }
  const std::string& detail() const { return detail_; }  // the "what" alone
  // The same error with `record` named, for a caller that knows which record (list line,
  // sample) a file-level error belongs to; unchanged when it names one already.
  InputError at(const std::string& record) const {
    return record_.empty() ? InputError(file_, record, detail_) : *this;
  }

 private:
  std::string file_, record_, detail_;
};

// Bad command-line usage (conflicting or out-of-range options). Exit status 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(ExitCode::bad_input, what) {}
};

// A failure of the run itself (I/O error, full disk, diverged training). Exit status 1.
class RuntimeFailure : public Error {
 public:
  explicit RuntimeFailure(const std::string& what) : Error(ExitCode::runtime, what) {}
  RuntimeFailure(const std::string& file, const std::string& record, const std::string& what)
      : Error(ExitCode::runtime, located_message(file, record, what)) {}
};

}  // namespace cmclip
