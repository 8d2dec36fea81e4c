#include "testutil.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <random>

namespace bruce::testing {

std::unique_ptr<Db> OpenMemoryDb() {
  Options o;
  o.create_if_missing = true;
  o.durability = Durability::kNoSync;
  auto db = Db::Open(std::shared_ptr<PageStore>(NewMemoryStore()), o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

uint64_t Seed(const char* test_name) {
  uint64_t seed;
  if (const char* s = std::getenv("BRUCE_SEED")) {
    seed = std::strtoull(s, nullptr, 10);
  } else {
    seed = std::random_device{}() * 0x100000000ull + std::random_device{}();
  }
  std::fprintf(stderr, "%s: seed %llu (replay with BRUCE_SEED=%llu)\n", test_name,
               static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

uint64_t Steps(uint64_t dflt) {
  if (const char* s = std::getenv("BRUCE_STEPS")) return std::strtoull(s, nullptr, 10);
  return dflt;
}

void ExpectClean(Db* db) {
  CheckReport rep;
  ASSERT_TRUE(db->Check(&rep).ok());
  ASSERT_TRUE(rep.ok()) << rep.problems[0];
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bruce-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SendToString(Db* db, const std::string& snap, const std::string& base,
                         StreamStats* stats, bool compressed) {
  std::string out;
  SendOptions o;
  o.base = base;
  o.compressed = compressed;
  Status s = Send(db, snap, o,
                  [&](std::string_view piece) {
                    out.append(piece);
                    return Status::OK();
                  },
                  stats);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

Status ReceiveString(Db* db, const std::string& stream, bool force, StreamStats* stats) {
  size_t pos = 0;
  std::string snap;
  ReceiveOptions o;
  o.force = force;
  return Receive(
      db,
      [&](char* buf, size_t n, size_t* got) {
        *got = std::min(n, stream.size() - pos);
        std::memcpy(buf, stream.data() + pos, *got);
        pos += *got;
        return Status::OK();
      },
      o, &snap, stats);
}

std::map<std::string, std::string> ReadAll(Db* db) {
  std::map<std::string, std::string> m;
  auto r = db->BeginRead();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return m;
  auto c = (*r)->Main()->NewCursor();
  for (c->First(); c->Valid(); c->Next()) m.emplace(c->key(), c->value());
  EXPECT_TRUE(c->status().ok()) << c->status().ToString();
  return m;
}

}  // namespace bruce::testing
