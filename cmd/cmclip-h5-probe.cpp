// cmclip-h5-probe FILE: the helper of h5::probe_metadata (lib/cmclip/h5/probe.hpp; the
// guard it runs is docs/h5-guard.md), run by the tools before they open an HDF5 file:
// reads the file's structure with libhdf5 and prints the path of each object before
// reading it. If libhdf5 crashes or hangs on a damaged file, it does so here, and the
// tool names the file and the last object printed. Not for use by hand; installed in
// libexec/cmclip.
#include "cmclip/h5/guard/probe_walk.hpp"

int main(int argc, char** argv) { return cmclip::h5::probe_helper_main(argc, argv); }
