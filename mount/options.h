// mount/options.h — the brucefs command line.
//
//   brucefs STORE MOUNTPOINT [-o OPT[,OPT...]]... [-f] [-d]
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "brucefs.h"

namespace brucefs {

struct MountConfig {
  std::string store;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool help = false;
  bool version = false;
  bool create = false;
  bool allow_other = false;
  uint64_t cache_size = 0;  // 0: bruce::DefaultCacheBytes()
  // The mount's readahead (its bdi's read_ahead_kb); 0 leaves the kernel's.
  uint64_t read_ahead = uint64_t{1} << 20;
  // Commits sync their pages, then the meta page (Durability::kFullTwoSync).
  bool two_sync = false;
  FsOptions fs;
  // Generic mount flags handed to the kernel as they are (nosuid, noexec, ...).
  std::vector<std::string> kernel_flags;
};

// Parses argv; on a usage error returns its message (empty when fine).
std::string ParseCommandLine(int argc, const char* const* argv, MountConfig* out);

// "4096", "64K", "256M", "2G" (powers of 1024); false when malformed.
bool ParseBytes(const std::string& s, uint64_t* out);

extern const char kUsage[];

}  // namespace brucefs
