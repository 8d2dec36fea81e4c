// Repair after a scrub (bruce/db.h RepairScrubbed): damaged pages rewritten
// in place from a replica's copy, when the copy verifies and encodes back to
// exactly the bytes the page held.
//
// Only the page's own bytes are rewritten, so every pointer to it, and every
// hash above it, stays as it was. A data block is its bytes; a node that
// points to nothing (a leaf without large values) is its logical bytes and
// its checksum, compressed as its tree compresses. A node that points to
// other nodes or blocks holds their locations in the page itself, which no
// replica has (its pages lie elsewhere): when the damage spared them (it is
// in the logical bytes) and each leads to what the copy names, the page is
// rebuilt from the copy and them; else it is left, and said so.
#include <zstd.h>

#include <map>
#include <set>

#include "stream/stream_format.h"
#include "txn/db_impl.h"
#include "txn/txn_impl.h"

namespace bruce {

using format::BlockPtr;

namespace {

format::Hash128 HashOf(const ScrubDamage& d) {
  return d.hash.size() == format::kHashBytes ? format::LoadHash(d.hash.data()) : format::Hash128{};
}

// A node that points elsewhere, rebuilt from the copy's logical bytes and
// the locators still in the damaged page (stored raw): *full gets the page's
// bytes when every pointer they make leads to a node or block with the hash
// and count the copy names.
bool WithOwnLocators(DbImpl* db, const ScrubDamage& d, const std::string& logical,
                     std::string* full, std::string* why) {
  if (d.compressed) {
    *why = "it was stored compressed";
    return false;
  }
  std::string raw(d.stored_len, '\0');
  if (!db->store()->Read(d.page * db->page_size(), d.stored_len, raw.data()).ok() ||
      raw.size() < logical.size() + 8) {
    *why = "the page cannot be read";
    return false;
  }
  *full = logical;
  full->append(raw, logical.size(), raw.size() - 8 - logical.size());
  // The page's own checksum must vouch for the locators (and a birth or a
  // length no child's hash would show): the damage was in the logical bytes.
  if (format::Checksum64(*full) != format::LoadU64(raw.data() + raw.size() - 8)) {
    *why = "its locators (or checksum) are damaged too";
    return false;
  }
  format::PutU64(full, format::Checksum64(*full));
  auto node = format::Node::Decode(*full, d.page);
  if (!node.ok()) {
    *why = "its locators are damaged too";
    return false;
  }
  const format::Node& n = **node;
  for (size_t i = 0; i < n.size(); ++i) {
    BlockPtr p;
    bool data = false;
    if (!n.leaf()) {
      p = n.child(i);
    } else if (n.vtype(i) != format::ValueType::kInline) {
      format::PtrValue v;
      if (!format::DecodePtrValue(n.value(i), &v)) {
        *why = "its locators are damaged too";
        return false;
      }
      p = v.ptr;
      data = format::PointsToData(n.vtype(i), v.aux);
    } else {
      continue;
    }
    std::string bytes;
    const Status s = data ? db->ReadData(p, &bytes) : db->LoadUncached(p).status();
    if (!s.ok()) {
      *why = "its locators are damaged too (or what they lead to)";
      return false;
    }
  }
  return true;
}

}  // namespace

RepairSource ReplicaStoreSource(Db* replica) {
  return [replica](const ScrubDamage& d) -> Result<std::string> {
    if (d.tree.empty()) {
      return Status::NotFound("a catalog or system tree node: a replica has its own");
    }
    auto r = d.version.empty() ? replica->BeginRead() : replica->BeginRead(d.version);
    if (!r.ok()) {
      return Status::NotFound("the replica has no " +
                              (d.version.empty() ? std::string("live store") : "snapshot " + d.version));
    }
    auto t = (*r)->OpenTree(d.tree);
    if (!t.ok()) return Status::NotFound("the replica has no tree " + d.tree);
    auto* impl = dynamic_cast<TreeImpl*>(*t);
    if (impl == nullptr) return Status::InvalidArgument("not a store's tree");
    NodeSource* src = impl->txn()->source();
    BlockPtr p = impl->root().ptr;
    bool data = false;
    for (uint32_t step : d.path) {
      if (p.null() || data) return Status::NotFound("the replica's tree has another shape");
      BRUCE_ASSIGN_OR_RETURN(NodeRef n, src->Load(p));
      if (!stream::PathStep(*n, step, &p, &data)) {
        return Status::NotFound("the replica's tree has another shape");
      }
    }
    if (p.null() || !(p.hash == HashOf(d)) || p.count != d.count) {
      return Status::NotFound("the replica has other content there");
    }
    std::string out;
    if (d.data) {
      BRUCE_RETURN_IF_ERROR(src->ReadData(p, &out));
      return out;
    }
    BRUCE_ASSIGN_OR_RETURN(NodeRef n, src->Load(p));
    return n->LogicalBytes();
  };
}

Result<RepairSource> StreamSource(const std::function<Status(char*, size_t, size_t*)>& in,
                                  const ScrubReport& wanted) {
  auto copies = std::make_shared<std::map<std::pair<uint64_t, uint64_t>, std::string>>();
  std::set<std::pair<uint64_t, uint64_t>> want;  // only these are kept
  for (const ScrubDamage& d : wanted.damaged) {
    const format::Hash128 h = HashOf(d);
    want.insert({h.lo, h.hi});
  }
  stream::RecordReader rd(in);
  stream::RecordType type;
  std::string payload;
  BRUCE_RETURN_IF_ERROR(rd.Next(&type, &payload));
  stream::Header h;
  if (type != stream::RecordType::kHeader || !stream::DecodeHeader(payload, &h)) {
    return Status::InvalidArgument("not a bruce send stream");
  }
  for (;;) {
    BRUCE_RETURN_IF_ERROR(rd.Next(&type, &payload));
    if (type == stream::RecordType::kTrailer) break;
    std::string bytes;
    if (type == stream::RecordType::kData) {
      bytes = std::move(payload);
    } else if (type == stream::RecordType::kNode || type == stream::RecordType::kStoredNode) {
      size_t refs_at = 0;
      BRUCE_RETURN_IF_ERROR(stream::NodeLogical(type, payload, &bytes, &refs_at));
    } else {
      continue;
    }
    const format::Hash128 hh = format::HashLogical(bytes);
    if (want.count({hh.lo, hh.hi})) copies->emplace(std::make_pair(hh.lo, hh.hi), std::move(bytes));
  }
  return RepairSource([copies](const ScrubDamage& d) -> Result<std::string> {
    const format::Hash128 hh = HashOf(d);
    auto it = copies->find({hh.lo, hh.hi});
    if (it == copies->end()) return Status::NotFound("the stream has no copy");
    return it->second;
  });
}

Status RepairScrubbed(Db* db_base, ScrubReport* report, const RepairSource& source) {
  auto* db = dynamic_cast<DbImpl*>(db_base);
  if (db == nullptr) return Status::InvalidArgument("RepairScrubbed: not a store");
  if (db->options().read_only) return Status::ReadOnly("repair needs the store open for writing");
  const uint32_t ps = db->page_size();
  bool wrote = false;
  for (ScrubDamage& d : report->damaged) {
    auto copy = source(d);
    if (!copy.ok()) {
      d.repair_note = copy.status().message();
      continue;
    }
    std::string bytes = std::move(copy).value();
    if (!(format::HashLogical(bytes) == HashOf(d))) {
      d.repair_note = "the copy does not have the hash the page's parent holds";
      continue;
    }
    std::string page;
    if (d.data) {
      if (bytes.size() != d.count || bytes.size() != d.stored_len) {
        d.repair_note = "the copy has another length";
        continue;
      }
      page = std::move(bytes);
    } else {
      std::string full = bytes;
      format::PutU64(&full, format::Checksum64(full));
      auto node = format::Node::Decode(full, d.page);
      if (!node.ok()) {
        // It points to other nodes or blocks: their locations are in the
        // page itself, after the logical bytes. A damage inside the logical
        // bytes leaves them whole; take them when every one of them leads
        // to what the copy says is there.
        std::string why;
        if (!WithOwnLocators(db, d, bytes, &full, &why)) {
          d.repair_note = "it points to other nodes or blocks, whose locations were in the "
                          "damaged page and " + why + " (restore the tree with send and receive)";
          continue;
        }
        node = format::Node::Decode(full, d.page);
        if (!node.ok()) {
          d.repair_note = "the rebuilt node does not decode";
          continue;
        }
      }
      if ((*node)->Count() != d.count) {
        d.repair_note = "the copy holds another count";
        continue;
      }
      if (d.compressed) {
        page.resize(ZSTD_compressBound(full.size()));
        const size_t n = ZSTD_compress(page.data(), page.size(), full.data(), full.size(),
                                       d.zstd_level > 0 ? d.zstd_level : 1);
        if (ZSTD_isError(n)) {
          d.repair_note = "the copy does not compress";
          continue;
        }
        page.resize(n);
      } else {
        page = std::move(full);
      }
      if (page.size() != d.stored_len) {
        d.repair_note = "the copy encodes to " + std::to_string(page.size()) +
                        " bytes, the page held " + std::to_string(d.stored_len);
        continue;
      }
    }
    page.resize(format::PagesFor(d.stored_len, ps) * ps, '\0');
    BRUCE_RETURN_IF_ERROR(db->store()->Write(d.page * ps, page));
    wrote = true;
    // Read back through the same checks a reader makes.
    BlockPtr p;
    p.page = d.page;
    p.stored_len = d.stored_len;
    p.comp = d.compressed ? format::Compression::kZstd : format::Compression::kNone;
    p.hash = HashOf(d);
    p.count = d.count;
    Status back;
    if (d.data) {
      std::string check;
      back = db->ReadData(p, &check);
    } else {
      back = db->LoadUncached(p).status();
    }
    if (back.ok()) {
      d.repaired = true;
    } else {
      d.repair_note = "rewritten, but it does not read back: " + back.ToString();
    }
  }
  if (wrote) BRUCE_RETURN_IF_ERROR(db->store()->Sync());
  return Status::OK();
}

}  // namespace bruce
