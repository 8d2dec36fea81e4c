// Helpers shared by the engine tests: seeds, temporary directories, a model
// comparison.
#pragma once

#include <cstdint>
#include <string>

namespace bruce::testing {

// The seed for a randomized test: $BRUCE_SEED if set, else a fresh one.
// Printed so a failure can be replayed with BRUCE_SEED=<seed>.
uint64_t Seed(const char* test_name);
// Steps for a randomized test: $BRUCE_STEPS if set, else `dflt`.
uint64_t Steps(uint64_t dflt);

// A fresh directory, removed with everything in it when this goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace bruce::testing
