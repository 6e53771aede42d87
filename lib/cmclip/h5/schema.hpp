// Conventions shared by the three file schemas (docs/design.md §4, man fas-formats(5)):
// a root attribute `format` naming the schema, `format_version`, and provenance.
#pragma once
#include <string>

#include "cmclip/h5/h5.hpp"

namespace cmclip::h5 {

// Root attributes format, format_version, created_by, command_line, created_at.
void write_provenance(const Group& root, const std::string& format, int64_t version);

// The last step of every writer before it closes its file: what was written so far
// is flushed to disk (H5Fflush), and only then are the provenance and format
// attributes set. A file cut short (SIGKILL, a crash) before that point lacks its
// format attribute, so it is never taken for a valid file of the schema; cut short
// after it, it holds everything already.
void seal(const File& file, const std::string& format, int64_t version);

// Fails (exit status 2) unless the file's `format` is `format` and its
// `format_version` is between 1 and `newest_supported`; the message says what the
// file is instead (another cmclip schema, or not a cmclip file at all).
void check_format(const File& file, const std::string& format, int64_t newest_supported);

// The format attribute of an HDF5 file, or "" when it has none; an InputError when it
// cannot be read (a damaged file) or is not a string.
std::string format_of(const File& file);

}  // namespace cmclip::h5
