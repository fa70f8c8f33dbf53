// Fuzz inputs as the two kinds of file the readers meet: a pipe (no size, no seeking) and a
// regular file (a memfd: seekable, with a size).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>

#include "file.h"

namespace t2i::fuzz {

inline std::unique_ptr<InputFile> as_pipe(const std::uint8_t* data, std::size_t size) {
  static char empty = 0;
  std::FILE* f = size ? ::fmemopen(const_cast<std::uint8_t*>(data), size, "rb") : ::fmemopen(&empty, 1, "rb");
  if (!f) return nullptr;
  if (!size) std::fgetc(f);  // an empty stream: at end of file from the start
  return std::make_unique<InputFile>(f, "<fuzz-pipe>", true);
}

inline std::unique_ptr<InputFile> as_file(const std::uint8_t* data, std::size_t size) {
  int fd = ::memfd_create("fuzz", 0);
  if (fd < 0) return nullptr;
  if (size && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return nullptr;
  }
  ::lseek(fd, 0, SEEK_SET);
  std::FILE* f = ::fdopen(fd, "rb");
  if (!f) {
    ::close(fd);
    return nullptr;
  }
  return std::make_unique<InputFile>(f, "<fuzz-file>", true);
}

}  // namespace t2i::fuzz
