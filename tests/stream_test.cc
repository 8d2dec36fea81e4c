// Send and receive (engine/stream/): a full stream and a chain of
// incremental ones rebuild the source's trees node for node (content hash,
// every tree's root hash and entries, check clean); a damaged, truncated,
// reordered or misdirected stream is refused and leaves the target as it
// was; a target that changed since the base needs force.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "bruce/db.h"
#include "stream/stream_format.h"
#include "testutil.h"

namespace bruce {
namespace {

using testing::ReceiveString;
using testing::SendToString;

// Every user tree: name -> (root hash, every entry); reads the live store
// or a snapshot.
std::map<std::string, std::pair<std::string, std::vector<std::string>>> Contents(
    Db* db, const std::string& snap = "") {
  auto r = snap.empty() ? db->BeginRead() : db->BeginRead(snap);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> out;
  auto names = (*r)->ListTrees();
  EXPECT_TRUE(names.ok());
  for (const std::string& name : *names) {
    Tree* t = (*r)->OpenTree(name).value();
    auto& e = out[name];
    e.first = t->RootHashHex().value();
    auto c = t->NewCursor();
    for (c->First(); c->Valid(); c->Next()) {
      std::string v;
      if (c->value().size() > 0 || !t->dupsort()) {
        EXPECT_TRUE(t->dupsort() || t->Get(c->key(), &v).ok());
      }
      e.second.push_back(std::string(c->key()) + "=" + (t->dupsort() ? std::string(c->value()) : v));
    }
  }
  return out;
}

void ExpectCheckClean(Db* db) {
  CheckReport rep;
  ASSERT_TRUE(db->Check(&rep).ok());
  EXPECT_TRUE(rep.ok()) << rep.problems.front();
}

// Random changes to several kinds of tree: plain (small and large values,
// byte-range writes), compressed, with duplicate keys (overflow chains).
void Churn(Db* db, std::mt19937_64& rng, int n) {
  auto w = db->BeginWrite().value();
  TreeOptions z;
  z.compression_level = 3;
  TreeOptions d;
  d.dupsort = true;
  Tree* plain = w->Main();
  Tree* comp = w->CreateTree("compressed", z).value();
  Tree* dup = w->CreateTree("dups", d).value();
  for (int i = 0; i < n; ++i) {
    const std::string k = "k" + std::to_string(rng() % 5000);
    const uint64_t op = rng() % 20;
    if (op < 8) {
      std::string v(rng() % 200, static_cast<char>('a' + rng() % 26));
      ASSERT_TRUE(plain->Put(k, v).ok());
      ASSERT_TRUE(comp->Put(k, v + v + v).ok());
    } else if (op < 10) {
      std::string v(3000 + rng() % 30000, 'L');
      for (size_t j = 0; j < v.size(); j += 97) v[j] = static_cast<char>(rng());
      ASSERT_TRUE(plain->Put("big" + std::to_string(rng() % 20), v).ok());
    } else if (op < 12) {
      const std::string key = "big" + std::to_string(rng() % 20);
      std::string cur;
      if (plain->Get(key, &cur).ok() && !cur.empty()) {
        ASSERT_TRUE(plain->WriteAt(key, rng() % cur.size(), "patch").ok());
      }
    } else if (op < 16) {
      ASSERT_TRUE(dup->Put("d" + std::to_string(rng() % 8), "v" + std::to_string(rng() % 3000)).ok());
    } else {
      Status s = plain->Delete(k);
      ASSERT_TRUE(s.ok() || s.IsNotFound());
    }
  }
  ASSERT_TRUE(w->Commit().ok());
}

TEST(Stream, FullThenIncrementalChainRebuildsTheSource) {
  const uint64_t seed = testing::Seed("Stream.Chain");
  std::mt19937_64 rng(seed);
  auto src = testing::OpenMemoryDb();
  auto dst = testing::OpenMemoryDb();
  std::string prev;
  for (int step = 0; step < 4; ++step) {
    Churn(src.get(), rng, step == 0 ? 6000 : 300);
    const std::string snap = "s" + std::to_string(step);
    ASSERT_TRUE(src->CreateSnapshot(snap).ok());
    StreamStats ss, rs;
    // Odd steps send nodes as stored (zstd frames of the compressed tree).
    const std::string stream = SendToString(src.get(), snap, prev, &ss, step % 2 == 1);
    Status s = ReceiveString(dst.get(), stream, false, &rs);
    ASSERT_TRUE(s.ok()) << "step " << step << ": " << s.ToString() << " (seed " << seed << ")";
    EXPECT_EQ(Contents(dst.get()), Contents(src.get(), snap)) << "step " << step;
    EXPECT_EQ(Contents(dst.get(), snap), Contents(src.get(), snap)) << "the snapshot, step " << step;
    ExpectCheckClean(dst.get());
    EXPECT_EQ(rs.nodes, ss.nodes);
    if (step == 0) {
      EXPECT_EQ(ss.reused, 0u);
    } else {
      EXPECT_GT(ss.reused, 0u);
      const size_t full = SendToString(src.get(), snap, "").size();
      EXPECT_LT(stream.size(), full) << "an incremental stream of 300 changes";
      std::printf("step %d: incremental %zu bytes, full %zu (%llu subtrees reused)\n", step,
                  stream.size(), full, static_cast<unsigned long long>(ss.reused));
    }
    prev = snap;
  }
  // And the diff between the two stores' snapshots is empty, tree by tree.
  for (const auto& [name, c] : Contents(src.get(), prev)) {
    EXPECT_EQ(c, Contents(dst.get(), prev)[name]);
  }
}

// An incremental stream carries what changed: a few keys of a large tree,
// and of a large value only the chunks written.
TEST(Stream, IncrementalCarriesOnlyTheChanges) {
  auto src = testing::OpenMemoryDb();
  auto dst = testing::OpenMemoryDb();
  std::string big(4 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 61) big[i] = static_cast<char>(i);
  {
    auto w = src->BeginWrite().value();
    char key[32];
    for (int i = 0; i < 50000; ++i) {
      snprintf(key, sizeof key, "key%08d", i);
      ASSERT_TRUE(w->Main()->Put(key, std::string(100, static_cast<char>('a' + i % 26)), kAppend).ok());
    }
    ASSERT_TRUE(w->Main()->Put("zbig", big).ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_TRUE(src->CreateSnapshot("a").ok());
  StreamStats fs;
  const std::string full = SendToString(src.get(), "a", "", &fs);
  ASSERT_TRUE(ReceiveString(dst.get(), full).ok());
  {
    auto w = src->BeginWrite().value();
    char key[32];
    for (int i = 0; i < 10; ++i) {  // spread over the tree
      snprintf(key, sizeof key, "key%08d", i * 4999);
      ASSERT_TRUE(w->Main()->Put(key, "changed").ok());
    }
    ASSERT_TRUE(w->Main()->WriteAt("zbig", 1 << 20, "one chunk").ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_TRUE(src->CreateSnapshot("b").ok());
  StreamStats is;
  const std::string inc = SendToString(src.get(), "b", "a", &is);
  Status rs = ReceiveString(dst.get(), inc);
  ASSERT_TRUE(rs.ok()) << rs.ToString();
  EXPECT_EQ(Contents(dst.get()), Contents(src.get(), "b"));
  ExpectCheckClean(dst.get());
  EXPECT_EQ(is.data_blocks, 1u) << "a 9-byte write into a 4 MiB value sends its one chunk";
  // Each leaf with a changed key goes as that change to the base's leaf.
  EXPECT_GE(is.leaf_deltas, 10u) << is.nodes << " nodes";
  EXPECT_LT(inc.size() * 20, full.size()) << inc.size() << " of " << full.size() << " bytes";
  std::printf("full %zu bytes (%llu nodes, %llu blocks); 10 keys and one chunk later: %zu bytes "
              "(%llu nodes, %llu of them leaf deltas, %llu blocks, %llu reused)\n",
              full.size(), static_cast<unsigned long long>(fs.nodes),
              static_cast<unsigned long long>(fs.data_blocks), inc.size(),
              static_cast<unsigned long long>(is.nodes),
              static_cast<unsigned long long>(is.leaf_deltas),
              static_cast<unsigned long long>(is.data_blocks),
              static_cast<unsigned long long>(is.reused));
}

// --compressed: nodes stored compressed travel as their zstd frames; the
// stream is smaller and rebuilds the same trees.
TEST(Stream, CompressedSendsNodesAsStored) {
  auto src = testing::OpenMemoryDb();
  {
    auto w = src->BeginWrite().value();
    TreeOptions z;
    z.compression_level = 3;
    Tree* t = w->CreateTree("z", z).value();
    char key[32];
    for (int i = 0; i < 30000; ++i) {
      snprintf(key, sizeof key, "key%08d", i);
      ASSERT_TRUE(t->Put(key, std::string(80, static_cast<char>('a' + i % 3))).ok());
    }
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_TRUE(src->CreateSnapshot("a").ok());
  const std::string plain = SendToString(src.get(), "a", "");
  const std::string packed = SendToString(src.get(), "a", "", nullptr, true);
  EXPECT_LT(packed.size() * 3, plain.size()) << packed.size() << " vs " << plain.size();
  auto dst = testing::OpenMemoryDb();
  ASSERT_TRUE(ReceiveString(dst.get(), packed).ok());
  EXPECT_EQ(Contents(dst.get()), Contents(src.get(), "a"));
  ExpectCheckClean(dst.get());
  std::printf("30,000 compressible keys: %zu bytes as logical nodes, %zu as stored\n", plain.size(),
              packed.size());
}

// The target before a refused stream: contents, snapshots, and a clean check.
struct Before {
  explicit Before(Db* db) : live(Contents(db)), snaps(db->ListSnapshots().value().size()) {}
  void Expect(Db* db, const std::string& what) const {
    EXPECT_EQ(Contents(db), live) << what;
    EXPECT_EQ(db->ListSnapshots().value().size(), snaps) << what;
    ExpectCheckClean(db);
  }
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> live;
  size_t snaps;
};

TEST(Stream, BadStreamsAreRefusedAndChangeNothing) {
  const uint64_t seed = testing::Seed("Stream.Bad");
  std::mt19937_64 rng(seed);
  auto src = testing::OpenMemoryDb();
  auto dst = testing::OpenMemoryDb();
  Churn(src.get(), rng, 3000);
  ASSERT_TRUE(src->CreateSnapshot("a").ok());
  ASSERT_TRUE(ReceiveString(dst.get(), SendToString(src.get(), "a", "")).ok());
  Churn(src.get(), rng, 200);
  ASSERT_TRUE(src->CreateSnapshot("b").ok());
  const std::string good = SendToString(src.get(), "b", "a");
  const Before before(dst.get());

  // Every single-byte change at sampled offsets.
  for (int i = 0; i < 60; ++i) {
    std::string bad = good;
    const size_t off = rng() % bad.size();
    bad[off] = static_cast<char>(bad[off] ^ (1 + rng() % 255));
    Status s = ReceiveString(dst.get(), bad);
    ASSERT_FALSE(s.ok()) << "a byte changed at " << off << " was accepted (seed " << seed << ")";
  }
  before.Expect(dst.get(), "after damaged streams");

  // Cut at every record boundary (and inside records).
  std::vector<size_t> ends;
  for (size_t pos = 0; pos < good.size();) {
    const uint32_t len = static_cast<uint8_t>(good[pos]) | static_cast<uint8_t>(good[pos + 1]) << 8 |
                         static_cast<uint8_t>(good[pos + 2]) << 16 |
                         static_cast<uint32_t>(static_cast<uint8_t>(good[pos + 3])) << 24;
    pos += 4 + len + 8;
    ends.push_back(pos);
  }
  ASSERT_EQ(ends.back(), good.size());
  for (size_t k = 0; k + 1 < ends.size(); ++k) {
    EXPECT_FALSE(ReceiveString(dst.get(), good.substr(0, ends[k])).ok()) << "cut after record " << k;
    EXPECT_FALSE(ReceiveString(dst.get(), good.substr(0, ends[k] + 3)).ok()) << "cut inside " << k;
  }
  EXPECT_FALSE(ReceiveString(dst.get(), good + "x").ok()) << "bytes after the trailer";
  // Two records swapped.
  ASSERT_GE(ends.size(), 4u);
  std::string swapped = good.substr(0, ends[0]) + good.substr(ends[1], ends[2] - ends[1]) +
                        good.substr(ends[0], ends[1] - ends[0]) + good.substr(ends[2]);
  EXPECT_FALSE(ReceiveString(dst.get(), swapped).ok()) << "records swapped";
  before.Expect(dst.get(), "after cut and reordered streams");

  // A stream for another base: b -> c on a target that has only a.
  Churn(src.get(), rng, 100);
  ASSERT_TRUE(src->CreateSnapshot("c").ok());
  Status s = ReceiveString(dst.get(), SendToString(src.get(), "c", "b"));
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("does not have"), std::string::npos) << s.ToString();
  // A base of the same name with other content.
  auto other = testing::OpenMemoryDb();
  {
    auto w = other->BeginWrite().value();
    ASSERT_TRUE(w->Main()->Put("x", "y").ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_TRUE(other->CreateSnapshot("a").ok());
  s = ReceiveString(other.get(), good);
  EXPECT_NE(s.message().find("not the stream's base"), std::string::npos) << s.ToString();
  // A full stream into a store that holds keys.
  s = ReceiveString(dst.get(), SendToString(src.get(), "a", ""));
  EXPECT_FALSE(s.ok());
  before.Expect(dst.get(), "after streams for other bases");

  // The target changed since its base: refused, then taken with force.
  {
    auto w = dst->BeginWrite().value();
    ASSERT_TRUE(w->Main()->Put("local", "change").ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  s = ReceiveString(dst.get(), good);
  EXPECT_NE(s.message().find("changed since"), std::string::npos) << s.ToString();
  ASSERT_TRUE(ReceiveString(dst.get(), good, /*force=*/true).ok());
  EXPECT_EQ(Contents(dst.get()), Contents(src.get(), "b"));
  ExpectCheckClean(dst.get());
  // Received twice: the snapshot exists.
  EXPECT_EQ(ReceiveString(dst.get(), good).code(), Code::kExists);
}

// A stream rewritten record by record (with a valid checksum chain):
// edit returns the records to put in place of each one.
using Records = std::vector<std::pair<stream::RecordType, std::string>>;
std::string Rewrite(const std::string& in,
                    const std::function<Records(stream::RecordType, const std::string&)>& edit) {
  size_t pos = 0;
  stream::RecordReader rd([&](char* buf, size_t n, size_t* got) {
    *got = std::min(n, in.size() - pos);
    std::memcpy(buf, in.data() + pos, *got);
    pos += *got;
    return Status::OK();
  });
  std::string out;
  stream::RecordWriter w([&](std::string_view p) {
    out.append(p);
    return Status::OK();
  });
  for (;;) {
    stream::RecordType t;
    std::string payload;
    if (!rd.Next(&t, &payload).ok()) break;
    for (auto& [nt, np] : edit(t, payload)) EXPECT_TRUE(w.Write(nt, np).ok());
    if (t == stream::RecordType::kTrailer) break;
  }
  return out;
}

// Streams whose every record checks out but whose content is not what a
// sender makes: refused, the target unchanged.
TEST(Stream, WellFormedButWrongStreamsAreRefused) {
  auto src = testing::OpenMemoryDb();
  {
    auto w = src->BeginWrite().value();
    std::string big(20000, 'b');
    ASSERT_TRUE(w->Main()->Put("big", big).ok());
    ASSERT_TRUE(w->Main()->Put("k", "v").ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_TRUE(src->CreateSnapshot("a").ok());
  const std::string good = SendToString(src.get(), "a", "");
  auto dst = testing::OpenMemoryDb();
  const Before before(dst.get());
  auto keep = [](stream::RecordType t, const std::string& p) { return Records{{t, p}}; };
  ASSERT_TRUE(ReceiveString(testing::OpenMemoryDb().get(), Rewrite(good, keep)).ok()) << "the rewrite itself";
  // A data block longer than a page.
  Status s = ReceiveString(dst.get(), Rewrite(good, [](stream::RecordType t, const std::string& p) {
    return Records{{t, t == stream::RecordType::kData ? p + std::string(5000, 'x') : p}};
  }));
  EXPECT_NE(s.message().find("data block of"), std::string::npos) << s.ToString();
  // A tree name no tree may have.
  s = ReceiveString(dst.get(), Rewrite(good, [](stream::RecordType t, const std::string& p) {
    if (t != stream::RecordType::kTreeBegin) return Records{{t, p}};
    std::string q;
    format::PutBytes(&q, std::string(300, 'n'));
    q.append(p.substr(p.size() - 8));
    return Records{{t, q}};
  }));
  EXPECT_NE(s.message().find("bad name"), std::string::npos) << s.ToString();
  // A record nothing refers to (its pages would leak), counted in the trailer.
  s = ReceiveString(dst.get(), Rewrite(good, [](stream::RecordType t, const std::string& p) {
    if (t == stream::RecordType::kTreeEnd) {  // (after the tree's records: no id moves)
      return Records{{stream::RecordType::kData, std::string(10, 'z')}, {t, p}};
    }
    if (t != stream::RecordType::kTrailer) return Records{{t, p}};
    std::string q = p;
    format::StoreU64(q.data(), format::LoadU64(q.data()) + 1);
    return Records{{t, q}};
  }));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("other records"), std::string::npos) << s.ToString();
  before.Expect(dst.get(), "after well-formed but wrong streams");
}

// NODE_DELTA records that check out as records but make another leaf, or
// none: a copy past the base leaf, a changed literal, a base path that
// leads elsewhere, a record not referred to. Each is refused and the target
// keeps its state; the unedited stream goes in.
TEST(Stream, WrongLeafDeltasAreRefused) {
  auto src = testing::OpenMemoryDb();
  auto dst = testing::OpenMemoryDb();
  {
    auto w = src->BeginWrite().value();
    char key[32];
    for (int i = 0; i < 5000; ++i) {
      snprintf(key, sizeof key, "key%06d", i);
      ASSERT_TRUE(w->Main()->Put(key, std::string(60, static_cast<char>('a' + i % 26))).ok());
    }
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_TRUE(src->CreateSnapshot("a").ok());
  ASSERT_TRUE(ReceiveString(dst.get(), SendToString(src.get(), "a", "")).ok());
  {
    auto w = src->BeginWrite().value();
    ASSERT_TRUE(w->Main()->Put("key002500", "changed").ok());
    ASSERT_TRUE(w->Commit().ok());
  }
  ASSERT_TRUE(src->CreateSnapshot("b").ok());
  StreamStats st;
  const std::string good = SendToString(src.get(), "b", "a", &st);
  ASSERT_EQ(st.leaf_deltas, 1u);
  const Before before(dst.get());
  auto edit_delta = [&](const std::function<std::string(const std::string&)>& f) {
    return Rewrite(good, [&](stream::RecordType t, const std::string& p) {
      return Records{{t, t == stream::RecordType::kNodeDelta ? f(p) : p}};
    });
  };
  // The delta's payload: the base reference, then the ops.
  std::string delta;
  Rewrite(good, [&](stream::RecordType t, const std::string& p) {
    if (t == stream::RecordType::kNodeDelta) delta = p;
    return Records{{t, p}};
  });
  ASSERT_FALSE(delta.empty());
  format::Reader rd(delta);
  stream::Ref base;
  ASSERT_TRUE(stream::GetRef(&rd, &base));
  const std::string head = delta.substr(0, delta.size() - rd.remaining());
  const std::string ops = delta.substr(delta.size() - rd.remaining());
  // A copy far past the base leaf's end.
  std::string past;
  format::PutVarint(&past, 1);
  format::PutU8(&past, 0);
  format::PutVarint(&past, 100000);
  format::PutVarint(&past, 1);
  Status s = ReceiveString(dst.get(), edit_delta([&](const std::string&) { return head + past; }));
  EXPECT_NE(s.message().find("out of the base leaf"), std::string::npos) << s.ToString();
  // A changed byte in the changed entry's value: another leaf, another hash.
  s = ReceiveString(dst.get(), edit_delta([&](const std::string& p) {
    std::string q = p;
    size_t at = q.find("changed");
    EXPECT_NE(at, std::string::npos);
    q[at] = 'C';
    return q;
  }));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("does not hold what its node names"), std::string::npos) << s.ToString();
  // The base path one leaf over.
  s = ReceiveString(dst.get(), edit_delta([&](const std::string&) {
    stream::Ref other = base;
    other.path.back() += 1;
    std::string q;
    stream::PutRef(&q, other);
    return q + ops;
  }));
  EXPECT_FALSE(s.ok()) << "a delta against another leaf was taken";
  // Two entries out of order (each op well formed).
  s = ReceiveString(dst.get(), edit_delta([&](const std::string&) {
    std::string q;
    format::PutVarint(&q, 2);
    for (const char* k : {"zzz", "aaa"}) {
      format::PutU8(&q, 1);
      format::PutVarint(&q, 3);
      q.append(k);
      format::PutU8(&q, 0);
      format::PutVarint(&q, 1);
      q.push_back('v');
    }
    return head + q;
  }));
  EXPECT_NE(s.message().find("out of order"), std::string::npos) << s.ToString();
  // No base at all.
  s = ReceiveString(dst.get(), edit_delta([&](const std::string&) {
    std::string q;
    stream::PutRef(&q, stream::Ref{});
    return q + ops;
  }));
  EXPECT_NE(s.message().find("without a base leaf"), std::string::npos) << s.ToString();
  before.Expect(dst.get(), "after wrong leaf deltas");
  s = ReceiveString(dst.get(), good);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Contents(dst.get()), Contents(src.get(), "b"));
  ExpectCheckClean(dst.get());
}

}  // namespace
}  // namespace bruce
