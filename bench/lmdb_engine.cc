// bench/lmdb_engine.cc — the benchmark Engine over LMDB (liblmdb).
#include <lmdb.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "engine.h"

namespace bench {
namespace {

void Check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw BenchError(std::string("lmdb: ") + what + ": " + mdb_strerror(rc));
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

class LmdbEngine final : public Engine {
 public:
  explicit LmdbEngine(size_t map_bytes) : map_bytes_(map_bytes) {}
  ~LmdbEngine() override { Close(); }

  const char* name() const override { return "LMDB"; }

  void Open(const std::string& dir, bool durable, bool random_cold) override {
    Close();
    Check(mdb_env_create(&env_), "env_create");
    Check(mdb_env_set_mapsize(env_, map_bytes_), "set_mapsize");
    // Default flags otherwise: no MDB_WRITEMAP, no MDB_NOMETASYNC, readahead
    // on (but for random reads of a cold store).
    unsigned flags = (durable ? 0 : MDB_NOSYNC) | (random_cold ? MDB_NORDAHEAD : 0);
    Check(mdb_env_open(env_, dir.c_str(), flags, 0644), "env_open");
    MDB_txn* txn = nullptr;
    Check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    int rc = mdb_dbi_open(txn, nullptr, 0, &dbi_);
    if (rc != MDB_SUCCESS) mdb_txn_abort(txn);
    Check(rc, "dbi_open");
    Check(mdb_txn_commit(txn), "txn_commit");
  }

  void Close() override {
    if (cursor_) mdb_cursor_close(cursor_);
    cursor_ = nullptr;
    if (txn_) mdb_txn_abort(txn_);
    txn_ = nullptr;
    if (env_) mdb_env_close(env_);
    env_ = nullptr;
  }

  std::string DataFile(const std::string& dir) const override { return dir + "/data.mdb"; }

  std::string Describe() override {
    MDB_stat st;
    Check(mdb_env_stat(env_, &st), "env_stat");
    MDB_envinfo info;
    Check(mdb_env_info(env_, &info), "env_info");
    return "keys=" + std::to_string(st.ms_entries) + " depth=" + std::to_string(st.ms_depth) +
           " page_size=" + std::to_string(st.ms_psize) +
           " pages branch/leaf/overflow=" + std::to_string(st.ms_branch_pages) + "/" +
           std::to_string(st.ms_leaf_pages) + "/" + std::to_string(st.ms_overflow_pages) +
           " last_pgno=" + std::to_string(info.me_last_pgno);
  }

  void BeginWrite() override { Check(mdb_txn_begin(env_, nullptr, 0, &txn_), "txn_begin"); }

  void Put(std::string_view key, std::string_view value) override {
    MDB_val k = Val(key), v = Val(value);
    Check(mdb_put(txn_, dbi_, &k, &v, 0), "put");
  }

  uint64_t PutBatch(const std::vector<std::pair<std::string_view, std::string_view>>& kvs,
                    bool read) override {
    MDB_txn* t = nullptr;
    Check(mdb_txn_begin(env_, nullptr, 0, &t), "txn_begin");
    for (const auto& [key, value] : kvs) {
      MDB_val k = Val(key), v = Val(value);
      int rc = MDB_SUCCESS;
      if (read) {
        MDB_val old;
        rc = mdb_get(t, dbi_, &k, &old);
        if (rc == MDB_NOTFOUND) rc = MDB_SUCCESS;
      }
      if (rc == MDB_SUCCESS) rc = mdb_put(t, dbi_, &k, &v, 0);
      if (rc != MDB_SUCCESS) mdb_txn_abort(t);
      Check(rc, "put");
    }
    Check(mdb_txn_commit(t), "commit");
    return 0;
  }

  void Commit() override {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    Check(rc, "commit");
  }

  void BeginRead() override {
    Check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn_), "txn_begin(rdonly)");
  }

  void EndRead() override {
    if (cursor_) mdb_cursor_close(cursor_);
    cursor_ = nullptr;
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }

  bool Get(std::string_view key, std::string_view* value) override {
    MDB_val k = Val(key), v;
    int rc = mdb_get(txn_, dbi_, &k, &v);
    if (rc == MDB_NOTFOUND) return false;
    Check(rc, "get");
    *value = View(v);
    return true;
  }

  uint64_t Scan(bool forward, uint64_t* checksum) override {
    MDB_cursor* c = nullptr;
    Check(mdb_cursor_open(txn_, dbi_, &c), "cursor_open");
    MDB_val k, v;
    uint64_t n = 0, acc = *checksum;
    int rc = mdb_cursor_get(c, &k, &v, forward ? MDB_FIRST : MDB_LAST);
    const MDB_cursor_op step = forward ? MDB_NEXT : MDB_PREV;
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(c, &k, &v, step), ++n) {
      acc = Touch(Touch(acc, View(k)), View(v));
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) Check(rc, "cursor_get");
    *checksum = acc;
    return n;
  }

  void Select(uint64_t i, std::string_view* key, std::string_view* value) override {
    if (!cursor_) Check(mdb_cursor_open(txn_, dbi_, &cursor_), "cursor_open");
    MDB_val k, v;
    Check(mdb_cursor_get(cursor_, &k, &v, MDB_FIRST), "cursor_get(FIRST)");
    for (uint64_t j = 0; j < i; ++j) Check(mdb_cursor_get(cursor_, &k, &v, MDB_NEXT), "cursor_get(NEXT)");
    *key = View(k);
    *value = View(v);
  }

  uint64_t Count() override {
    MDB_stat st;
    Check(mdb_stat(txn_, dbi_, &st), "stat");
    return st.ms_entries;
  }

  uint64_t Compact(const std::string& dir) override {
    const std::string to = dir + "/compact";
    std::error_code ec;
    std::filesystem::remove_all(to, ec);
    std::filesystem::create_directories(to);
    Check(mdb_env_copy2(env_, to.c_str(), MDB_CP_COMPACT), "env_copy2(MDB_CP_COMPACT)");
    return std::filesystem::file_size(to + "/data.mdb");
  }

  void WriteBlocks(uint64_t first, std::string_view data) override {
    for (size_t off = 0; off < data.size(); off += kBlockSize, ++first) {
      char key[8];
      BlockKey(first, key);
      MDB_val k{sizeof key, key}, v = Val(data.substr(off, kBlockSize));
      Check(mdb_put(txn_, dbi_, &k, &v, 0), "put(block)");
    }
  }

  bool ReadBlock(uint64_t block, std::string_view* data) override {
    char key[8];
    BlockKey(block, key);
    MDB_val k{sizeof key, key}, v;
    int rc = mdb_get(txn_, dbi_, &k, &v);
    if (rc == MDB_NOTFOUND) return false;
    Check(rc, "get(block)");
    *data = View(v);
    return true;
  }

 private:
  static void BlockKey(uint64_t block, char key[8]) {
    for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(block >> (56 - 8 * i));
  }

  size_t map_bytes_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  MDB_txn* txn_ = nullptr;
  MDB_cursor* cursor_ = nullptr;  // reused by Select within one read txn
};

}  // namespace

std::unique_ptr<Engine> NewLmdbEngine(size_t map_bytes) {
  return std::make_unique<LmdbEngine>(map_bytes);
}

std::string LmdbVersion() { return mdb_version(nullptr, nullptr, nullptr); }

}  // namespace bench
