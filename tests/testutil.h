// Helpers shared by the engine tests: seeds, temporary directories, a model
// comparison.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "bruce/db.h"
#include "bruce/page_store.h"

namespace bruce::testing {

// The seed for a randomized test: $BRUCE_SEED if set, else a fresh one.
// Printed so a failure can be replayed with BRUCE_SEED=<seed>.
uint64_t Seed(const char* test_name);

// A new store in memory (durability nosync).
std::unique_ptr<Db> OpenMemoryDb();
// Steps for a randomized test: $BRUCE_STEPS if set, else `dflt`.
uint64_t Steps(uint64_t dflt);

// Every (key, value) of the main tree of the newest commit, read with a
// cursor; a failed read fails the test.
std::map<std::string, std::string> ReadAll(Db* db);

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

// Runs Db::Check and fails the test on its first problem.
void ExpectClean(Db* db);

// A send stream of snapshot `snap` (incremental from `base` unless empty),
// as one string; a failed send fails the test.
std::string SendToString(Db* db, const std::string& snap, const std::string& base,
                         StreamStats* stats = nullptr, bool compressed = false);
// Receives a stream held in a string.
Status ReceiveString(Db* db, const std::string& stream, bool force = false,
                     StreamStats* stats = nullptr);

// Compares a tree, walked with a cursor both ways, with a model: any
// ordered container of (key, value) pairs (a std::map, or a std::multimap
// for a tree with duplicate keys).
template <typename Model>
void ExpectSameAsModel(Tree* t, const Model& m, const std::string& what) {
  auto count = t->Count();
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  ASSERT_EQ(count.value(), m.size()) << what;
  auto c = t->NewCursor();
  auto it = m.begin();
  for (c->First(); c->Valid(); c->Next(), ++it) {
    ASSERT_NE(it, m.end()) << what;
    ASSERT_EQ(c->key(), it->first) << what;
    ASSERT_EQ(c->value(), it->second) << what;
  }
  ASSERT_TRUE(c->status().ok()) << c->status().ToString();
  ASSERT_EQ(it, m.end()) << what;
  auto rit = m.rbegin();
  for (c->Last(); c->Valid(); c->Prev(), ++rit) {
    ASSERT_NE(rit, m.rend()) << what;
    ASSERT_EQ(c->key(), rit->first) << what;
    ASSERT_EQ(c->value(), rit->second) << what;
  }
  ASSERT_TRUE(c->status().ok()) << c->status().ToString();
  ASSERT_EQ(rit, m.rend()) << what;
}

// A memory store that counts the bytes written through it.
class CountingStore final : public PageStore {
 public:
  CountingStore() : inner_(NewMemoryStore()) {}
  Status Read(uint64_t o, size_t n, char* out) override { return inner_->Read(o, n, out); }
  Status Write(uint64_t o, std::string_view d) override {
    written_ += d.size();
    return inner_->Write(o, d);
  }
  Status Sync() override { return inner_->Sync(); }
  Result<uint64_t> Size() override {
    sizes_++;
    return inner_->Size();
  }
  Status Truncate(uint64_t n) override { return inner_->Truncate(n); }
  std::string Name() const override { return "counting memory"; }
  uint64_t written() const { return written_; }
  // How often the engine asked for the store's size.
  uint64_t sizes() const { return sizes_; }

 private:
  std::unique_ptr<PageStore> inner_;
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> sizes_{0};
};

}  // namespace bruce::testing
