// Reads the structure of an HDF5 file in a separate process before the tools read it.
//
// libhdf5 1.10 (Debian 12 ships 1.10.8) trusts the structure of the files it reads: a
// damaged or hostile file can make it read through a null or wild pointer (a string
// naming a global heap object that does not exist, an attribute it cannot decode),
// and no error reaches the caller: the process dies. The tools read files from
// preempted jobs and other people's disks, and must say which file is bad instead.
// So before a file is opened, the helper program cmclip-h5-probe (cmd/, installed in
// libexec/cmclip) reads everything libhdf5 parses on the way to the data: every
// object, every attribute, every string, the chunk index of every dataset (not the
// bulk data: chunks are checksummed, and decompression checks its input). A helper
// that dies, or does not finish within the time limit, makes the open fail with an
// InputError naming the file and the object it was reading. A helper that finishes
// proves the tool's reads of that metadata are safe: they repeat the helper's. The
// cost is a process start and a metadata pass, milliseconds for the tools' files, once
// per file and process (a file opened again unchanged is not checked again).
//
// Found by the h5_* fuzz targets (tests/fuzz, man fas-errors(7)).
#pragma once
#include <string>

namespace cmclip::h5 {

// Fails (InputError, exit status 2) when libhdf5 crashes or hangs reading the metadata
// of `path`. Errors that libhdf5 reports cleanly are left to the reader, which names
// them itself. Time limit: $CMCLIP_H5_PROBE_SECONDS, 120 by default; 0 turns the check
// off. The helper: $CMCLIP_H5_PROBE, else beside the running program, else installed,
// else in the build tree; without one the check is skipped with a warning.
void probe_metadata(const std::string& path);

}  // namespace cmclip::h5
