// store/fault_store.h — a PageStore for tests that models a disk losing power.
//
// It keeps two images: what reads see now, and what would survive a power
// cut (the state as of the last Sync). Writes and truncates since the last
// Sync are remembered in order. PowerCut() builds the surviving image the way
// a real disk may leave it: a random subset of the unsynced writes lands,
// one of them only as a prefix (torn), and the rest is lost.
//
// Faults: Die after N more mutating calls (that call and every one after it
// fail with EIO, as if the machine stopped there; the call that dies may
// still partly reach the disk), or fail writes with a given errno (ENOSPC).
//
// Thread safety: all calls are serialized by one mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "bruce/page_store.h"

namespace bruce {

class FaultStore final : public PageStore {
 public:
  FaultStore() = default;

  Status Read(uint64_t offset, size_t n, char* out) override;
  Status Write(uint64_t offset, std::string_view data) override;
  Status Sync() override;
  Result<uint64_t> Size() override;
  Status Truncate(uint64_t size) override;
  std::string Name() const override { return "fault-injecting memory"; }

  // After `ops` more Write/Sync/Truncate calls succeed, the next one and all
  // after it fail with EIO until PowerCut(). A negative value disarms it.
  void DieAfter(int64_t ops);
  // Every Write fails with `err` (e.g. ENOSPC) while set; 0 clears it.
  void FailWritesWith(int err);
  bool dead() const;
  uint64_t mutating_ops() const;

  // Every Sync fails with EIO (and makes nothing durable) while set.
  void FailSyncs(bool fail);

  // Simulates a power cut: reads afterwards see what a disk could hold.
  void PowerCut(std::mt19937_64& rng);

  // The writes and truncates since the last Sync, in order.
  struct Pending {
    bool truncate;
    uint64_t offset;  // or the new size, for a truncate
    size_t size;
  };
  std::vector<Pending> pending() const;
  // A power cut that keeps, of each pending operation i, its first
  // landed[i] bytes (0: lost; its size or more: whole; a truncate lands
  // when landed[i] > 0).
  void PowerCutKeeping(const std::vector<size_t>& landed);
  // A power cut in which every pending operation lands but for bytes
  // [from, from + len) of write `op`, which keep what the disk held.
  void PowerCutWithHole(size_t op, uint64_t from, uint64_t len);

  // The image a power cut right now would leave if every unsynced write were
  // lost (for tests that flip bits in a quiet store).
  std::string& mutable_image();

 private:
  struct Op {
    bool truncate;
    uint64_t offset;  // or the new size, for a truncate
    std::string data;
  };
  Status Mutating();
  static void Apply(std::string* image, const Op& op, size_t prefix);
  // After a power cut (mu_ held): the disk holds durable_, the power is on.
  void FinishCut();

  mutable std::mutex mu_;
  std::string current_;
  std::string durable_;
  std::vector<Op> pending_;
  int64_t die_after_ = -1;
  bool dead_ = false;
  int fail_err_ = 0;
  bool fail_syncs_ = false;
  uint64_t ops_ = 0;
};

}  // namespace bruce
