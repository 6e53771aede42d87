// Signal handling shared by every tool.
//  - Cleanup: SIGINT/SIGTERM/SIGHUP remove the temporary files of unfinished atomic
//    outputs, then the process dies of the signal as usual.
//  - Graceful stop (training tools): SIGTERM/SIGINT/SIGUSR1 only set a flag that the
//    training loop polls; it finishes the step, writes its checkpoint and exits 0.
//    A second SIGINT/SIGTERM while a stop is pending falls back to cleanup and death.
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
int stop_signal();          // the signal that requested the stop (0 if none)
void request_stop(int sig);  // for tests and collective agreement across ranks

}  // namespace cmclip::signals
