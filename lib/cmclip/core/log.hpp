// Logging to stderr with levels. Data never goes to stderr and logs never go to
// stdout, so `-o -` pipelines stay clean. Lines are written whole (one write per
// line) so that ranks or threads never interleave inside a line.
#pragma once
#include <fmt/format.h>
#include <string>

namespace cmclip::log {

enum class Level : int { error = 0, warning = 1, info = 2, debug = 3 };

void set_level(Level level);
Level level();
// The program name that prefixes every line ("fas-embed: ...").
void set_program(const std::string& name);
const std::string& program();
// An extra prefix such as "[rank 1/4] " for multi-process runs.
void set_prefix(const std::string& prefix);

void write(Level level, const std::string& message);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::warning) write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}

// For the progress reporter: whether stderr is a terminal, and a hook that clears a
// partly drawn progress bar before a log line is printed.
bool stderr_is_terminal();
void set_line_clearer(void (*clear)());

}  // namespace cmclip::log
