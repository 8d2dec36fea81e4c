// Scrub (bruce/db.h): every reachable node and data block read from the
// file and verified once, in page order per round.
//
// Round 0 holds the catalogs (the live one and each snapshot's); each node
// read adds what it points to (children, trees, large values' chunk trees
// and data blocks, overflow chains) to the next round. Pages are read once
// whoever else points to them; each one remembers the first page that led
// to it and who reached it directly, so a damaged page's users are its own
// and its ancestors'. The pages of a round are read and verified on every
// core.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>
#include <set>
#include <unordered_map>

#include "txn/db_impl.h"
#include "txn/txn_impl.h"

namespace bruce {

namespace {

using format::BlockPtr;
using format::PtrValue;
using format::ValueType;

enum class Kind : uint8_t { kCatalog, kTree, kChunks, kChain, kData };

struct Item {
  BlockPtr ptr;
  Kind kind;
  uint32_t user;      // index into the labels
  uint64_t parent;    // page that pointed to it (0: a catalog root)
  std::string lo, hi;  // keys below it
  std::string version, tree;  // "" live / a snapshot's name; "" catalog or system tree
  std::vector<uint32_t> path;  // from the tree's root
  int zstd = 0;                // the tree's level
};

std::vector<uint32_t> Step(const std::vector<uint32_t>& path, size_t i) {
  std::vector<uint32_t> out = path;
  out.push_back(static_cast<uint32_t>(i));
  return out;
}

struct Seen {
  uint64_t parent = 0;
  std::set<uint32_t> users;
};

// Reads and verifies items[i] into (*errors)[i] and, for a node,
// (*nodes)[i]: on as many threads as there are cores (at most 4), each
// taking the next run of 64 items.
void ReadAll(DbImpl* db, const std::vector<Item*>& items, std::vector<Status>* errors,
             std::vector<std::unique_ptr<format::Node>>* nodes) {
  constexpr size_t kRun = 64;
  std::atomic<size_t> next{0};
  auto work = [&]() {
    for (;;) {
      const size_t start = next.fetch_add(kRun);
      if (start >= items.size()) return;
      for (size_t i = start; i < std::min(items.size(), start + kRun); ++i) {
        const Item& it = *items[i];
        if (it.kind == Kind::kData) {
          std::string bytes;
          (*errors)[i] = db->ReadData(it.ptr, &bytes);
        } else {
          auto n = db->ReadNode(it.ptr);
          if (n.ok()) {
            (*nodes)[i] = std::move(n).value();
          } else {
            (*errors)[i] = n.status();
          }
        }
      }
    }
  };
  const size_t threads =
      std::min<size_t>({4, std::max(1u, std::thread::hardware_concurrency()), items.size() / kRun + 1});
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
}

// Asks the store to read items [from, to) ahead (they are in page order),
// in runs of pages with gaps of at most 16 pages merged.
void WillNeed(DbImpl* db, const std::vector<Item*>& items, size_t from, size_t to) {
  const uint64_t ps = db->page_size();
  to = std::min(to, items.size());
  for (size_t j = from; j < to;) {
    const uint64_t first = items[j]->ptr.page;
    uint64_t end = first + format::PagesFor(items[j]->ptr.stored_len, ps);
    for (++j; j < to && items[j]->ptr.page <= end + 16; ++j) {
      end = std::max(end, items[j]->ptr.page + format::PagesFor(items[j]->ptr.stored_len, ps));
    }
    db->store()->WillNeed(first * ps, (end - first) * ps);
  }
}

}  // namespace

Status Scrub(Db* db_base, ScrubReport* rep, const std::function<void(uint64_t, uint64_t)>& progress) {
  auto* db = dynamic_cast<DbImpl*>(db_base);
  if (db == nullptr) return Status::InvalidArgument("Scrub: not a store");
  std::vector<std::string> labels;
  auto label = [&](const std::string& s) {
    auto it = std::find(labels.begin(), labels.end(), s);
    if (it != labels.end()) return static_cast<uint32_t>(it - labels.begin());
    labels.push_back(s);
    return static_cast<uint32_t>(labels.size() - 1);
  };
  std::vector<Item> round;
  // The live version stays pinned while it is read (snapshots hold their
  // own pages).
  const Version cur = db->PinCurrent();
  round.push_back(Item{cur.catalog, Kind::kCatalog, label("live"), 0, "", "", "", "", {}, 0});
  for (const auto& [name, r] : db->snapshots()) {
    round.push_back(
        Item{r.catalog, Kind::kCatalog, label("snapshot " + name), 0, "", "", name, "", {}, 0});
  }
  std::unordered_map<uint64_t, Seen> seen;
  uint64_t done = 0, known = round.size();
  while (!round.empty()) {
    std::sort(round.begin(), round.end(),
              [](const Item& a, const Item& b) { return a.ptr.page < b.ptr.page; });
    std::vector<Item> next;
    // The pages of this round not read before, in page order.
    std::vector<Item*> fresh_items;
    for (Item& it : round) {
      if (it.ptr.null()) continue;
      auto [s, fresh] = seen.try_emplace(it.ptr.page);
      s->second.users.insert(it.user);
      if (!fresh) continue;
      s->second.parent = it.parent;
      fresh_items.push_back(&it);
    }
    // Read and verified on every core, each taking runs of pages in turn
    // (the reads stay near file order); the results are used in order, a
    // batch at a time, so that only a batch of nodes is held in memory.
    constexpr size_t kBatch = 1024;
    std::vector<Status> errors;
    std::vector<std::unique_ptr<format::Node>> nodes;
    std::vector<Item*> batch;
    for (size_t k = 0; k < fresh_items.size(); ++k) {
      if (k % kBatch == 0) {
        // The disk reads the next batch while this one is verified.
        if (k == 0) WillNeed(db, fresh_items, 0, kBatch);
        WillNeed(db, fresh_items, k + kBatch, k + 2 * kBatch);
        batch.assign(fresh_items.begin() + static_cast<ptrdiff_t>(k),
                     fresh_items.begin() + static_cast<ptrdiff_t>(std::min(fresh_items.size(), k + kBatch)));
        errors.assign(batch.size(), Status::OK());
        nodes.clear();
        nodes.resize(batch.size());
        ReadAll(db, batch, &errors, &nodes);
      }
      const size_t b = k % kBatch;
      Item& it = *fresh_items[k];
      const bool data = it.kind == Kind::kData;
      if (rep->want_pages) rep->pages.push_back(ScrubReport::Page{it.ptr.page, it.ptr.stored_len, data, it.parent, {}});
      ++done;
      if (progress) progress(done, known);
      auto damaged = [&](const Status& e) {
        ScrubDamage d;
        d.page = it.ptr.page;
        d.data = data;
        d.error = e.ToString();
        d.key_lo = it.lo;
        d.key_hi = it.hi;
        d.version = it.version;
        d.tree = it.tree;
        d.path = it.path;
        d.hash.resize(format::kHashBytes);
        format::StoreHash(d.hash.data(), it.ptr.hash);
        d.count = it.ptr.count;
        d.stored_len = it.ptr.stored_len;
        d.compressed = it.ptr.comp == format::Compression::kZstd;
        d.zstd_level = it.zstd;
        rep->damaged.push_back(std::move(d));
      };
      rep->bytes += it.ptr.stored_len;
      if (data) {
        if (!errors[b].ok()) damaged(errors[b]);
        rep->data_blocks++;
        continue;
      }
      rep->nodes++;
      if (!errors[b].ok()) {
        damaged(errors[b]);
        continue;
      }
      const format::Node& node = *nodes[b];
      for (size_t i = 0; i < node.size(); ++i) {
        if (!node.leaf()) {
          std::string lo = i == 0 ? it.lo : std::string(node.key(i));
          std::string hi = i + 1 < node.size() ? std::string(node.key(i + 1)) : it.hi;
          next.push_back(Item{node.child(i), it.kind, it.user, it.ptr.page, std::move(lo),
                              std::move(hi), it.version, it.tree, Step(it.path, i), it.zstd});
          continue;
        }
        const ValueType vt = node.vtype(i);
        if (vt == ValueType::kInline) continue;
        PtrValue v;
        if (!format::DecodePtrValue(node.value(i), &v)) continue;
        const std::string key(node.key(i));
        if (it.kind == Kind::kCatalog) {
          // A tree: its users are this version's tree of that name.
          const std::string& version = labels[it.user];
          const bool user = key.empty() || key[0] != '\0';
          const std::string name = user ? "tree " + key : "system tree";
          next.push_back(Item{v.ptr, Kind::kTree, label(version + " " + name), it.ptr.page, "", "",
                              it.version, user ? key : "", {},
                              static_cast<int>(v.aux & 0xff)});
        } else if (vt == ValueType::kExtents) {
          const bool direct = format::PointsToData(vt, v.aux);
          next.push_back(Item{v.ptr, direct ? Kind::kData : Kind::kChunks, it.user, it.ptr.page, key,
                              key, it.version, it.tree, Step(it.path, i), it.zstd});
        } else if (vt == ValueType::kData) {
          next.push_back(Item{v.ptr, Kind::kData, it.user, it.ptr.page, it.lo, it.hi, it.version,
                              it.tree, Step(it.path, i), it.zstd});
        } else if (vt == ValueType::kOverflow) {
          next.push_back(Item{v.ptr, Kind::kChain, it.user, it.ptr.page, key, key, it.version,
                              it.tree, Step(it.path, i), it.zstd});
        }
      }
    }
    known += next.size();
    round = std::move(next);
  }
  db->Unpin(cur.txn);
  // Who uses a page: who reached it or any page above it.
  auto users_of = [&](uint64_t page) {
    std::set<uint32_t> users;
    for (uint64_t p = page; p != 0;) {
      auto it = seen.find(p);
      if (it == seen.end()) break;
      users.insert(it->second.users.begin(), it->second.users.end());
      p = it->second.parent;
    }
    // A version's own label is implied by its trees' labels.
    std::vector<std::string> out;
    for (uint32_t u : users) {
      const std::string& l = labels[u];
      bool implied = false;
      for (uint32_t v : users) {
        if (v != u && labels[v].size() > l.size() && labels[v].compare(0, l.size() + 1, l + " ") == 0) {
          implied = true;
        }
      }
      if (!implied) out.push_back(l);
    }
    // The live store first, then the snapshots by name.
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
      const bool la = a.rfind("live", 0) == 0, lb = b.rfind("live", 0) == 0;
      return la != lb ? la : a < b;
    });
    return out;
  };
  for (ScrubDamage& d : rep->damaged) d.users = users_of(d.page);
  for (ScrubReport::Page& p : rep->pages) p.users = users_of(p.page);
  return Status::OK();
}

}  // namespace bruce
