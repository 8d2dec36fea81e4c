// tools/progress.h — a progress line on stderr for long commands (scrub,
// send, receive, load, check, compact): done/total, throughput and time
// left, redrawn at most ten times a second, and only when stderr is a
// terminal (nothing in scripts and logs).
//
// Thread safety: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bruce::cli {

class Progress {
 public:
  // `what` starts the line; `unit` names what is counted ("blocks", "bytes").
  Progress(std::string what, std::string unit);
  ~Progress() { Finish(); }
  // done of total (0: unknown) units; bytes so far (for the throughput).
  void Update(uint64_t done, uint64_t total, uint64_t bytes);
  // Clears the line.
  void Finish();
  bool enabled() const { return enabled_; }

 private:
  std::string what_, unit_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace bruce::cli
