// What the metadata probe (probe.hpp) does in its own process, the helper program
// cmclip-h5-probe: reads everything libhdf5 parses on the way to the data of an HDF5
// file (every object, attribute and string, the chunk index of every dataset; not the
// bulk data), writing the path of each object to `progress_fd` ("/", "/params/x", one
// per line) before reading it. Errors libhdf5 reports are ignored (the tools' readers
// report them); what matters is whether this returns at all.
//
// Before libhdf5 decodes an object's attributes or converts variable-length values,
// the checks of header_check.hpp and vlen_check.hpp look at the same bytes; when one
// finds damage, the helper writes kDamagedPrefix and what is wrong as its last line and
// exits with kDamagedStatus.
#pragma once

namespace cmclip::h5 {

constexpr const char* kDamagedPrefix = "!damaged: ";
constexpr int kDamagedStatus = 3;

void walk_metadata(const char* path, int progress_fd);

// The helper program's whole main(): `cmclip-h5-probe FILE` walks FILE onto stdout,
// ignoring stop signals (a job's whole process group gets them; the tool that runs the
// helper decides, and its end closes the pipe). Exit status 2 for a bad command line.
int probe_helper_main(int argc, char** argv);

}  // namespace cmclip::h5
