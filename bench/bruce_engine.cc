// bench/bruce_engine.cc — the benchmark Engine over the bruce public API.
#include <memory>
#include <string>
#include <string_view>

#include "bruce/db.h"
#include "engine.h"

namespace bench {
namespace {

void Check(const bruce::Status& s, const char* what) {
  if (!s.ok()) throw BenchError(std::string("bruce: ") + what + ": " + s.ToString());
}

template <typename T>
T Take(bruce::Result<T> r, const char* what) {
  Check(r.status(), what);
  return std::move(r).value();
}

class BruceEngine final : public Engine {
 public:
  static constexpr std::string_view kFileKey = "file";
  static constexpr std::string_view kTree = "bench";

  BruceEngine(size_t cache_bytes, bool two_sync, bool direct, uint32_t bloom_bits,
              bool write_thread)
      : cache_bytes_(cache_bytes),
        two_sync_(two_sync),
        direct_(direct),
        bloom_(bloom_bits),
        write_thread_(write_thread) {}
  ~BruceEngine() override { Close(); }

  const char* name() const override { return "bruce"; }

  void Open(const std::string& dir, bool durable, bool /*random_cold*/) override {
    Close();
    bruce::Options opts;
    opts.create_if_missing = true;
    opts.durability = !durable   ? bruce::Durability::kNoSync
                      : two_sync_ ? bruce::Durability::kFullTwoSync
                                  : bruce::Durability::kFull;
    opts.cache_bytes = cache_bytes_;
    opts.direct_io = direct_;
    opts.write_thread = write_thread_;
    db_ = Take(bruce::Db::Open(DataFile(dir), opts), "open");
    if (bloom_ > 0) {  // made once, with its filters
      auto w = Take(db_->BeginWrite(bruce::WriteMode::kExclusive), "begin write");
      bruce::TreeOptions to;
      to.bloom_bits_per_key = bloom_;
      Take(w->CreateTree(kTree, to), "create tree");
      Check(w->Commit(), "commit");
    }
  }

  // The tree the data goes to.
  bruce::Tree* TreeOf(bruce::Txn* txn) {
    return bloom_ > 0 ? Take(txn->OpenTree(kTree), "open tree") : txn->Main();
  }

  void Close() override {
    tree_ = nullptr;
    read_.reset();
    write_.reset();
    db_.reset();
  }

  std::string DataFile(const std::string& dir) const override { return dir + "/data.bruce"; }

  std::string Describe() override {
    bruce::DbStats st = Take(db_->Stat(), "stat");
    bruce::SpaceStats sp = Take(db_->Space(), "space");
    auto r = Take(db_->BeginRead(), "begin read");
    bruce::Tree* t = TreeOf(r.get());
    return "keys=" + std::to_string(Take(t->Count(), "count")) +
           " depth=" + std::to_string(Take(t->Depth(), "depth")) +
           " bloom_bits=" + std::to_string(bloom_) +
           " page_size=" + std::to_string(st.page_size) +
           " pages used/free=" + std::to_string(st.used_pages) + "/" +
           std::to_string(st.free_pages) + " cache hits/misses=" +
           std::to_string(st.cache_hits) + "/" + std::to_string(st.cache_misses) +
           " cache_bytes=" + std::to_string(st.cache_bytes) +
           " logical/stored bytes=" + std::to_string(sp.logical_bytes) + "/" +
           std::to_string(sp.stored_bytes);
  }

  void BeginWrite() override {
    // Exclusive: one large transaction at a time, as a bulk load should be
    // (an optimistic one would record its puts; it takes the writer role
    // early once the record passes 64 MiB).
    write_ = Take(db_->BeginWrite(bruce::WriteMode::kExclusive), "begin write");
    tree_ = TreeOf(write_.get());
  }

  void Put(std::string_view key, std::string_view value) override {
    Check(tree_->Put(key, value), "put");
  }

  uint64_t PutBatch(const std::vector<std::pair<std::string_view, std::string_view>>& kvs,
                    bool read) override {
    for (uint64_t retries = 0;; retries++) {
      std::unique_ptr<bruce::WriteTxn> w = Take(db_->BeginWrite(), "begin write");
      bruce::Tree* t = TreeOf(w.get());
      bruce::PinnedValue old;
      for (const auto& [k, v] : kvs) {
        if (read) {
          bruce::Status s = t->GetPinned(k, &old);
          if (!s.IsNotFound()) Check(s, "get");
        }
        Check(t->Put(k, v), "put");
      }
      bruce::Status s = w->Commit();
      if (!s.IsConflict()) {
        Check(s, "commit");
        return retries;
      }
    }
  }

  void Commit() override {
    tree_ = nullptr;
    bruce::Status s = write_->Commit();
    write_.reset();
    Check(s, "commit");
  }

  void BeginRead() override {
    read_ = Take(db_->BeginRead(), "begin read");
    tree_ = TreeOf(read_.get());
  }

  void EndRead() override {
    tree_ = nullptr;
    read_.reset();
  }

  bool Get(std::string_view key, std::string_view* value) override {
    // Zero-copy, as LMDB's mdb_get: a view into the cached leaf.
    bruce::Status s = tree_->GetPinned(key, &pinned_);
    if (s.IsNotFound()) return false;
    Check(s, "get");
    *value = pinned_.view();
    return true;
  }

  uint64_t Scan(bool forward, uint64_t* checksum) override {
    std::unique_ptr<bruce::Cursor> c = tree_->NewCursor();
    uint64_t n = 0, acc = *checksum;
    if (forward) {
      for (c->First(); c->Valid(); c->Next(), ++n) acc = Touch(Touch(acc, c->key()), c->value());
    } else {
      for (c->Last(); c->Valid(); c->Prev(), ++n) acc = Touch(Touch(acc, c->key()), c->value());
    }
    Check(c->status(), "cursor");
    *checksum = acc;
    return n;
  }

  void Select(uint64_t i, std::string_view* key, std::string_view* value) override {
    entry_ = Take(tree_->Select(i), "select");
    *key = entry_.key;
    *value = entry_.value;
  }

  uint64_t Count() override { return Take(tree_->Count(), "count"); }

  uint64_t Compact(const std::string&) override { return Take(db_->Compact(), "compact"); }

  void WriteBlocks(uint64_t first, std::string_view data) override {
    Check(tree_->WriteAt(kFileKey, first * kBlockSize, data), "write at");
  }

  bool ReadBlock(uint64_t block, std::string_view* data) override {
    bruce::Status s = tree_->ReadAt(kFileKey, block * kBlockSize, kBlockSize, &buf_);
    if (s.IsNotFound()) return false;
    Check(s, "read at");
    if (buf_.size() != kBlockSize) return false;  // past the end of the value
    *data = buf_;
    return true;
  }

 private:
  bruce::PinnedValue pinned_;
  size_t cache_bytes_;
  bool two_sync_;
  bool direct_;
  uint32_t bloom_;
  bool write_thread_;
  std::unique_ptr<bruce::Db> db_;
  std::unique_ptr<bruce::WriteTxn> write_;
  std::unique_ptr<bruce::ReadTxn> read_;
  bruce::Tree* tree_ = nullptr;
  std::string buf_;
  bruce::Entry entry_;
};

}  // namespace

std::unique_ptr<Engine> NewBruceEngine(size_t cache_bytes, bool two_sync, bool direct,
                                       uint32_t bloom_bits, bool write_thread) {
  return std::make_unique<BruceEngine>(cache_bytes, two_sync, direct, bloom_bits, write_thread);
}

}  // namespace bench
