// cmclip-h5-probe FILE: the helper of h5::probe_metadata (lib/cmclip/h5/probe.hpp), run
// by the tools before they open an HDF5 file: reads the file's structure with libhdf5
// and prints the path of each object before reading it. If libhdf5 crashes or hangs on
// a damaged file, it does so here, and the tool names the file and the last object
// printed. Not for use by hand; installed in libexec/cmclip.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <initializer_list>

#include "cmclip/h5/probe_walk.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cmclip-h5-probe FILE (run by the cmclip tools)\n");
    return 2;
  }
  // Stop signals are for the tool that runs this (a job's whole process group gets
  // them); it decides, and its end closes the pipe this writes to.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) ::signal(sig, SIG_IGN);
  cmclip::h5::walk_metadata(argv[1], STDOUT_FILENO);
  return 0;
}
