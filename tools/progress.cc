#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace bruce::cli {

Progress::Progress(std::string what, std::string unit)
    : what_(std::move(what)), unit_(std::move(unit)), enabled_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::Update(uint64_t done, uint64_t total, uint64_t bytes) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double mbs = secs > 0 ? static_cast<double>(bytes) / secs / 1e6 : 0;
  char line[160];
  if (total > 0 && done <= total) {
    const double frac = static_cast<double>(done) / static_cast<double>(total);
    const double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
    std::snprintf(line, sizeof line, "\r%s: %llu/%llu %s (%3.0f%%), %.1f MB/s, %.0f s left  ",
                  what_.c_str(), static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total), unit_.c_str(), frac * 100, mbs, eta);
  } else {
    std::snprintf(line, sizeof line, "\r%s: %llu %s, %.1f MB/s  ", what_.c_str(),
                  static_cast<unsigned long long>(done), unit_.c_str(), mbs);
  }
  std::fputs(line, stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (!drawn_) return;
  std::fputs("\r\033[K", stderr);  // back to the start, clear the line
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace bruce::cli
