// Signal handling shared by every tool.
//  - Cleanup: SIGINT/SIGTERM/SIGHUP remove the temporary files of unfinished atomic
//    outputs, then the process dies of the signal as usual.
//  - Graceful stop (training tools): SIGTERM/SIGINT/SIGUSR1 only set a flag that the
//    training loop polls; it finishes the step, writes its checkpoint and exits 0.
//    A second SIGINT/SIGTERM while a stop is pending falls back to cleanup and death.
//  - SIGXFSZ (a file-size limit) is ignored: the write fails and is reported instead.
#pragma once
#include <string>

namespace cmclip::signals {

void install_handlers();

// Temporary files to unlink when a fatal signal arrives. Registration is cheap and
// the handler only calls async-signal-safe functions.
int register_temp(const std::string& path);
void unregister_temp(int slot);

void enable_graceful_stop(bool on);
bool stop_requested();
int stop_signal();           // the signal that requested the stop (0 if none)
void request_stop(int sig);  // for tests and collective agreement across ranks

// For batch tools without checkpoints (fas-preprocess, fas-synth): while a StopScope
// lives, SIGINT/SIGTERM only request a stop, and throw_if_stop_requested() turns the
// request into a RuntimeFailure, so destructors remove every partial output
// (temporary files and folders) before the tool exits with status 1.
class StopScope {
 public:
  StopScope() { enable_graceful_stop(true); }
  ~StopScope() { enable_graceful_stop(false); }
  StopScope(const StopScope&) = delete;
  StopScope& operator=(const StopScope&) = delete;
};
void throw_if_stop_requested();

}  // namespace cmclip::signals
