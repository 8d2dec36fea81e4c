// Send: a snapshot as a stream of records (stream_format.h), whole or as the
// changes from a base snapshot.
//
// Per tree, a walk of the base and the new version side by side (the diff's
// walk, stream/frontier.h) finds every subtree and pointer value the new
// version shares with the base, and where it is in the base (its path).
// Then the new version is written out children first: what the base has
// becomes a reference to its path, everything else a NODE or DATA record.
// A node is sent as its logical bytes (keys, values, the children's hashes
// and counts; nothing about where anything is stored), so the receiver
// rebuilds the same tree, hash for hash, wherever it puts the pages.
#include <deque>
#include <map>
#include <tuple>

#include "stream/frontier.h"
#include "stream/leaf_delta.h"
#include "stream/stream_format.h"
#include "txn/db_impl.h"
#include "txn/txn_impl.h"

namespace bruce {

namespace {

using format::Node;
using format::ValueType;
using stream::RecordType;
using stream::Ref;

class Sender {
 public:
  // db: with it, nodes stored compressed are sent as stored.
  Sender(NodeSource* src, stream::RecordWriter* w, StreamStats* stats, DbImpl* stored)
      : src_(src), w_(w), stats_(stats), stored_(stored) {}

  Status SendTree(const std::string& name, const stream::TreeInfo& now,
                  const stream::TreeInfo* base) {
    reuse_.clear();
    delta_.clear();
    dup_ = (now.flags & kTreeDupSort) != 0;
    std::string begin;
    format::PutBytes(&begin, name);
    format::PutU64(&begin, now.flags);
    BRUCE_RETURN_IF_ERROR(w_->Write(RecordType::kTreeBegin, begin));
    if (base != nullptr) {
      BRUCE_RETURN_IF_ERROR(Walk(base->root, now.root, (now.flags & kTreeDupSort) != 0, {}));
    }
    BRUCE_ASSIGN_OR_RETURN(Ref root, Emit(now.root, false));
    std::string end;
    stream::PutRef(&end, root);
    char h[format::kHashBytes];
    format::StoreHash(h, now.root.hash);
    end.append(h, sizeof h);
    format::PutU64(&end, now.root.count);
    return w_->Write(RecordType::kTreeEnd, end);
  }

 private:
  using Key = std::tuple<bool, uint64_t, uint64_t, uint64_t>;  // data?, hash, count
  static Key KeyOf(bool data, const format::BlockPtr& p) {
    return {data, p.hash.lo, p.hash.hi, p.count};
  }
  void Reusable(bool data, const format::BlockPtr& p, std::vector<uint32_t> path) {
    reuse_[KeyOf(data, p)].push_back(std::move(path));
  }
  static std::vector<uint32_t> Join(const std::vector<uint32_t>& a, std::vector<uint32_t> b) {
    std::vector<uint32_t> out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }

  // Notes what `now` shares with `base` (both roots of one tree's versions,
  // or of one large value's chunk trees) and where it is in the base.
  Status Walk(const format::BlockPtr& base, const format::BlockPtr& now, bool dup,
              const std::vector<uint32_t>& prefix) {
    if (base.null() || now.null()) return Status::OK();
    if (base.hash == now.hash && base.count == now.count) {
      Reusable(false, base, prefix);
      return Status::OK();
    }
    uint64_t reads = 0;
    stream::Frontier fa(src_, &reads), fb(src_, &reads);
    BRUCE_RETURN_IF_ERROR(fa.Start(base));
    BRUCE_RETURN_IF_ERROR(fb.Start(now));
    while (!fa.end() && !fb.end()) {
      BRUCE_ASSIGN_OR_RETURN(stream::Aligned step, stream::Align(fa, fb));
      if (step == stream::Aligned::kEqual) {
        Reusable(false, fa.subtree(), Join(prefix, fa.Path()));
        fa.Skip();
        fb.Skip();
        continue;
      }
      if (step == stream::Aligned::kOpened) continue;
      if (!dup && fa.at_leaf_entry() && fb.at_leaf_entry()) {
        // A leaf of the new version and one of the base that hold some of
        // the same keys: the new one may go as its changes from the old.
        std::vector<uint32_t> path = fa.Path();
        path.pop_back();
        delta_.try_emplace(KeyOf(false, fb.leaf()), DeltaBase{Join(prefix, std::move(path)), fa.leaf()});
      }
      int c = fa.key().compare(fb.key());
      if (c == 0 && dup) c = fa.value().compare(fb.value());
      if (c < 0) {
        fa.Skip();
        continue;
      }
      if (c > 0) {
        fb.Skip();
        continue;
      }
      if (fa.vtype() != ValueType::kInline && fb.vtype() == fa.vtype()) {
        format::PtrValue va, vb;
        if (!format::DecodePtrValue(fa.value(), &va) || !format::DecodePtrValue(fb.value(), &vb)) {
          return Status::Corruption("a pointer value that does not decode");
        }
        const bool data = format::PointsToData(fa.vtype(), va.aux);
        if (va.aux == vb.aux && va.ptr.hash == vb.ptr.hash && va.ptr.count == vb.ptr.count) {
          Reusable(data, va.ptr, Join(prefix, fa.Path()));
        } else if (!data && !format::PointsToData(fb.vtype(), vb.aux)) {
          // A large value (or chain) that changed: share its unchanged chunks.
          BRUCE_RETURN_IF_ERROR(Walk(va.ptr, vb.ptr, false, Join(prefix, fa.Path())));
        }
      }
      fa.Skip();
      fb.Skip();
    }
    return Status::OK();
  }

  // The reference for `p` in the new version: to the base when it has it,
  // else to records written now (its children first).
  Result<Ref> Emit(const format::BlockPtr& p, bool data) {
    Ref r;
    if (p.null()) return r;
    auto it = reuse_.find(KeyOf(data, p));
    if (it != reuse_.end() && !it->second.empty()) {
      r.kind = Ref::kBase;
      r.path = std::move(it->second.front());
      it->second.pop_front();
      stats_->reused++;
      return r;
    }
    if (data) {
      std::string bytes;
      BRUCE_RETURN_IF_ERROR(src_->ReadData(p, &bytes));
      BRUCE_RETURN_IF_ERROR(w_->Write(RecordType::kData, bytes));
      stats_->data_blocks++;
      r.kind = Ref::kSent;
      r.id = next_id_++;
      return r;
    }
    BRUCE_ASSIGN_OR_RETURN(NodeRef n, src_->Load(p));
    std::vector<Ref> refs;
    for (size_t i = 0; i < n->size(); ++i) {
      if (!n->leaf()) {
        BRUCE_ASSIGN_OR_RETURN(Ref c, Emit(n->child(i), false));
        refs.push_back(std::move(c));
        continue;
      }
      const ValueType vt = n->vtype(i);
      if (vt == ValueType::kInline) continue;
      if (vt == ValueType::kTree) return Status::Corruption("a tree inside a user tree");
      format::PtrValue v;
      if (!format::DecodePtrValue(n->value(i), &v)) return Status::Corruption("a bad pointer value");
      BRUCE_ASSIGN_OR_RETURN(Ref c, Emit(v.ptr, format::PointsToData(vt, v.aux)));
      refs.push_back(std::move(c));
    }
    std::string payload;
    RecordType type = RecordType::kNode;
    auto d = n->leaf() && !dup_ ? delta_.find(KeyOf(false, p)) : delta_.end();
    if (d != delta_.end()) {
      BRUCE_ASSIGN_OR_RETURN(NodeRef b, src_->Load(d->second.ptr));
      std::string ops = stream::EncodeLeafDelta(*b, *n, refs);
      // Only when it saves a good part of the node.
      if (!ops.empty() && ops.size() < n->TightSize() * 3 / 4) {
        stream::Ref base;
        base.kind = stream::Ref::kBase;
        base.path = d->second.path;
        stream::PutRef(&payload, base);
        payload.append(ops);
        BRUCE_RETURN_IF_ERROR(w_->Write(RecordType::kNodeDelta, payload));
        stats_->nodes++;
        stats_->leaf_deltas++;
        r.kind = Ref::kSent;
        r.id = next_id_++;
        return r;
      }
    }
    if (stored_ != nullptr && p.comp == format::Compression::kZstd) {
      // As stored: the zstd frame read from the file (the receiver checks
      // what it decompresses to against the hash, as for any node).
      std::string frame(p.stored_len, '\0');
      BRUCE_RETURN_IF_ERROR(
          stored_->store()->Read(p.page * stored_->page_size(), p.stored_len, frame.data()));
      format::PutBytes(&payload, frame);
      type = RecordType::kStoredNode;
    } else {
      const std::string logical = n->LogicalBytes();
      format::PutVarint(&payload, logical.size());
      payload.append(logical);
    }
    for (const Ref& c : refs) stream::PutRef(&payload, c);
    BRUCE_RETURN_IF_ERROR(w_->Write(type, payload));
    stats_->nodes++;
    r.kind = Ref::kSent;
    r.id = next_id_++;
    return r;
  }

  NodeSource* src_;
  stream::RecordWriter* w_;
  StreamStats* stats_;
  DbImpl* stored_;
  std::map<Key, std::deque<std::vector<uint32_t>>> reuse_;
  // New leaves (by hash and count) and a base leaf that shares keys with each.
  struct DeltaBase {
    std::vector<uint32_t> path;
    format::BlockPtr ptr;
  };
  std::map<Key, DeltaBase> delta_;
  bool dup_ = false;
  uint64_t next_id_ = 0;  // NODE and DATA records so far
};

}  // namespace

Status Send(Db* db, std::string_view snapshot, std::string_view base,
            const std::function<Status(std::string_view)>& out, StreamStats* stats) {
  SendOptions o;
  o.base = base;
  return Send(db, snapshot, o, out, stats);
}

Status Send(Db* db, std::string_view snapshot, const SendOptions& options,
            const std::function<Status(std::string_view)>& out, StreamStats* stats) {
  const std::string_view base = options.base;
  StreamStats local;
  StreamStats* st = stats ? stats : &local;
  auto now = db->BeginRead(snapshot);
  if (!now.ok()) return now.status();
  BRUCE_ASSIGN_OR_RETURN(stream::Version v_now, stream::DescribeVersion(now->get()));
  std::unique_ptr<ReadTxn> base_txn;
  stream::Version v_base;
  if (!base.empty()) {
    auto b = db->BeginRead(base);
    if (!b.ok()) return b.status();
    base_txn = std::move(b).value();
    BRUCE_ASSIGN_OR_RETURN(v_base, stream::DescribeVersion(base_txn.get()));
  }
  BRUCE_ASSIGN_OR_RETURN(DbStats ds, db->Stat());
  stream::Header h;
  h.page_size = ds.page_size;
  h.snapshot = snapshot;
  h.snapshot_txn = (*now)->id();
  h.content = stream::ContentHash(v_now);
  h.base = base;
  if (!base.empty()) h.base_content = stream::ContentHash(v_base);
  stream::RecordWriter w(out);
  BRUCE_RETURN_IF_ERROR(w.Write(RecordType::kHeader, stream::EncodeHeader(h)));
  auto* impl = dynamic_cast<TreeImpl*>((*now)->Main());
  if (impl == nullptr) return Status::InvalidArgument("Send: not a store's transaction");
  Sender s(impl->txn()->source(), &w, st,
           options.compressed ? dynamic_cast<DbImpl*>(db) : nullptr);
  for (const auto& [name, info] : v_now) {
    auto b = v_base.find(name);
    BRUCE_RETURN_IF_ERROR(s.SendTree(name, info, b == v_base.end() ? nullptr : &b->second));
  }
  std::string trailer;
  format::PutU64(&trailer, w.records());  // the records before this one
  format::PutU64(&trailer, v_now.size());
  char hh[format::kHashBytes];
  format::StoreHash(hh, h.content);
  trailer.append(hh, sizeof hh);
  BRUCE_RETURN_IF_ERROR(w.Write(RecordType::kTrailer, trailer));
  st->records = w.records();
  st->bytes = w.bytes();
  return Status::OK();
}

}  // namespace bruce
