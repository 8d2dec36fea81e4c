// Receive: rebuilds a snapshot from a send stream (stream_format.h), node
// for node, and commits it only when every check passed.
//
// A NODE record holds a node's logical bytes and a reference for each of
// its pointers; the receiver resolves the references (to nodes it wrote
// from earlier records, or found in its base snapshot by path), puts their
// locations in, decodes the node (which checks its bounds) and checks that
// every pointer's hash and count are the ones the node names, then writes
// it: its hash is the sender's, so the root hashes match at the end or the
// stream is refused. Nothing is visible before the commit; a failure aborts
// the transaction, and the pages it wrote go back.
#include <algorithm>
#include <unordered_set>

#include "format/bloom.h"
#include "stream/leaf_delta.h"
#include "stream/stream_format.h"
#include "txn/txn_impl.h"

namespace bruce {

namespace {

using stream::RecordType;
using stream::Ref;

Status Bad(const std::string& what) { return Status::Corruption("send stream: " + what); }

class Receiver {
 public:
  static constexpr int kDataLevel = 1000;  // "a data block", among node levels

  Receiver(WriteTxnImpl* w, const stream::Version* base, StreamStats* stats, uint32_t page_size)
      : w_(w), base_(base), stats_(stats), page_size_(page_size) {}

  Status TreeBegin(std::string_view payload) {
    format::Reader in(payload);
    std::string_view name;
    if (!in.LengthPrefixed(&name) || !in.U64(&flags_) || in.remaining() != 0 || name.empty() ||
        name[0] == '\0') {
      return Bad("a malformed TREE_BEGIN record");
    }
    if (in_tree_) return Bad("TREE_BEGIN inside a tree");
    if (!CheckTreeName(name).ok() || (flags_ & ~kTreeFlagsKnown) != 0 || (flags_ & 0xff) > 22 ||
        TreeBloomBits(flags_) > format::kMaxBloomBitsPerKey ||
        (TreeBloomBits(flags_) > 0 && (flags_ & kTreeDupSort) != 0)) {
      return Bad("a tree with a bad name or flags");
    }
    tree_ = name;
    in_tree_ = true;
    auto it = base_ ? base_->find(tree_) : stream::Version::const_iterator();
    base_root_ = base_ && it != base_->end() ? it->second.root : format::BlockPtr();
    return Status::OK();
  }

  Status Data(std::string_view payload) {
    if (!in_tree_) return Bad("a DATA record outside a tree");
    if (payload.empty() || payload.size() > page_size_) {
      return Bad("a data block of " + std::to_string(payload.size()) + " bytes");
    }
    std::vector<format::BlockPtr> out;
    BRUCE_RETURN_IF_ERROR(w_->WriteData({std::string(payload)}, &out));
    sent_.push_back(out[0]);
    sent_level_.push_back(kDataLevel);
    sent_nested_.push_back(false);
    sent_filter_.emplace_back();
    stats_->data_blocks++;
    return Status::OK();
  }

  // A NODE record, or a STORED_NODE one (the node's zstd frame as the
  // sender stored it).
  Status NodeRecord(stream::RecordType type, std::string_view payload) {
    if (!in_tree_) return Bad("a NODE record outside a tree");
    std::string logical;
    size_t refs_at = 0;
    BRUCE_RETURN_IF_ERROR(stream::NodeLogical(type, payload, &logical, &refs_at));
    format::Reader in(payload.substr(refs_at));
    const uint64_t logical_len = logical.size();
    if (logical_len > MaxLogical()) return Bad("a node larger than a node may be");
    std::vector<format::BlockPtr> ptrs;
    std::vector<int> levels;  // of what each reference holds (kDataLevel: a data block)
    std::vector<Ref> refs;
    std::vector<std::string> filters;  // of the leaves a level-1 branch points to
    while (in.remaining() > 0) {
      Ref r;
      if (!stream::GetRef(&in, &r)) return Bad("a malformed reference");
      int level = 0;
      filters.emplace_back();
      BRUCE_ASSIGN_OR_RETURN(format::BlockPtr p, Resolve(r, &level, &filters.back()));
      ptrs.push_back(p);
      levels.push_back(level);
      refs.push_back(std::move(r));
    }
    // The node as it would be on a page: its logical bytes, the locations
    // of what it points to, and the checksum; Decode checks every bound.
    std::string buf(logical);
    for (const format::BlockPtr& p : ptrs) {
      format::PutVarint(&buf, p.page);
      format::PutVarint(&buf, p.stored_len);
      format::PutU8(&buf, static_cast<uint8_t>(p.comp));
      format::PutVarint(&buf, p.birth);
    }
    format::PutU64(&buf, format::Checksum64(buf));
    const size_t raw = buf.size();  // the node's page bytes without filters
    auto node = format::Node::Decode(std::move(buf), 0);
    if (!node.ok()) return Bad("a node that does not decode: " + node.status().message());
    // Each pointer must hold what the node says it holds, of the kind it
    // says: a child one level down, a data block where a value is one.
    size_t k = 0;
    format::Node& n = **node;
    BRUCE_RETURN_IF_ERROR(CheckOrder(n));
    bool nested = false;  // this subtree holds large values' or chains' trees
    for (size_t i = 0; i < n.size(); ++i) {
      format::BlockPtr want;
      int want_level = -1;  // any node (a tree's or chain's root)
      bool inner_root = false;  // a large value's chunk tree or a chain: flat below
      if (!n.leaf()) {
        want = n.child(i);
        want_level = n.level() - 1;
      } else if (n.vtype(i) != format::ValueType::kInline) {
        format::PtrValue v;
        if (!format::DecodePtrValue(n.value(i), &v)) return Bad("a bad pointer value");
        const format::ValueType vt = n.vtype(i);
        if (vt == format::ValueType::kTree ||
            (vt == format::ValueType::kOverflow && (flags_ & 0x100) == 0) ||
            static_cast<uint8_t>(vt) > static_cast<uint8_t>(format::ValueType::kOverflow)) {
          return Bad("a value of a kind this tree cannot hold");
        }
        if (format::PointsToData(vt, v.aux)) {
          want_level = kDataLevel;
        } else {
          inner_root = true;  // a chunk tree or a chain holds no trees of its own
          nested = true;
        }
        want = v.ptr;
      } else {
        continue;
      }
      if (k >= ptrs.size()) return Bad("a node with fewer references than pointers");
      const int got_level = levels[k];
      if ((want_level == kDataLevel) != (got_level == kDataLevel) ||
          (want_level >= 0 && got_level != want_level)) {
        return Bad("a reference of the wrong kind or level");
      }
      if (got_level != kDataLevel && NestedRef(refs[k])) {
        if (inner_root) return Bad("a large value's or chain's tree that holds trees");
        nested = true;
      }
      const format::BlockPtr& got = ptrs[k++];
      if (got.null() != want.null() || got.hash != want.hash || got.count != want.count) {
        return Bad("a reference that does not hold what its node names (wrong base, or "
                   "damaged)");
      }
    }
    if (k != ptrs.size()) return Bad("a node with more references than pointers");
    // A tree with Bloom filters: a leaf's is built here, and a level-1
    // branch gets its leaves' (the sender's stream carries none).
    const uint32_t bloom = TreeBloomBits(flags_);
    std::string filter;
    if (bloom > 0 && n.leaf()) {
      filter = btree::LeafFilter(n, bloom);
    } else if (bloom > 0 && n.level() == 1) {
      // Only where they fit: a tree with filters made room for them in its
      // own branches, and a large value's chunk tree (whose level-1
      // branches come here too) made none, so its branches keep none.
      size_t extra = 0;
      for (const std::string& f : filters) extra += f.empty() ? 0 : f.size() + 2;
      if (format::PagesFor(raw + extra, page_size_) <= format::PagesFor(raw, page_size_)) {
        for (size_t i = 0; i < n.size(); ++i) n.SetFilter(i, filters[i]);
      }
    }
    const format::Hash128 hash = format::HashLogical(logical);
    BRUCE_ASSIGN_OR_RETURN(format::BlockPtr p,
                           w_->WriteNode(std::move(*node), static_cast<int>(flags_ & 0xff)));
    if (!(p.hash == hash)) return Bad("a node that does not encode back to its bytes");
    sent_.push_back(p);
    sent_level_.push_back(static_cast<int>(static_cast<uint8_t>(logical[1])));
    sent_nested_.push_back(nested);
    sent_filter_.push_back(std::move(filter));
    stats_->nodes++;
    return Status::OK();
  }

  // A NODE_DELTA record: a leaf as its changes from a leaf of the base,
  // which is only read (the new leaf replaces it), then checked as a NODE.
  Status DeltaRecord(std::string_view payload) {
    if (!in_tree_) return Bad("a NODE_DELTA record outside a tree");
    format::Reader in(payload);
    Ref r;
    if (!stream::GetRef(&in, &r) || r.kind != Ref::kBase) {
      return Bad("a NODE_DELTA record without a base leaf");
    }
    if (base_root_.null()) return Bad("a NODE_DELTA record in a tree the base does not have");
    format::BlockPtr p = base_root_;
    bool data = false;
    for (uint32_t step : r.path) {
      if (data) return Bad("a path through a data block");
      BRUCE_ASSIGN_OR_RETURN(NodeRef n, w_->Load(p));
      if (!stream::PathStep(*n, step, &p, &data)) return Bad("a path that leaves the base tree");
    }
    if (p.null() || data) return Bad("a NODE_DELTA record whose base is not a node");
    BRUCE_ASSIGN_OR_RETURN(NodeRef base, w_->Load(p));
    if (!base->leaf()) return Bad("a NODE_DELTA record whose base is not a leaf");
    std::string node;
    BRUCE_RETURN_IF_ERROR(stream::ApplyLeafDelta(*base, payload.substr(payload.size() - in.remaining()),
                                                 MaxLogical(), &node));
    BRUCE_RETURN_IF_ERROR(NodeRecord(RecordType::kNode, node));
    stats_->leaf_deltas++;
    return Status::OK();
  }

  Status TreeEnd(std::string_view payload) {
    if (!in_tree_) return Bad("TREE_END outside a tree");
    format::Reader in(payload);
    Ref r;
    std::string_view hash;
    uint64_t count;
    if (!stream::GetRef(&in, &r) || !in.Bytes(format::kHashBytes, &hash) || !in.U64(&count) ||
        in.remaining() != 0) {
      return Bad("a malformed TREE_END record");
    }
    int level = 0;
    BRUCE_ASSIGN_OR_RETURN(format::BlockPtr root, Resolve(r, &level));
    if (!root.null() && level == kDataLevel) return Bad("a tree whose root is a data block");
    const format::Hash128 want = format::LoadHash(hash.data());
    if (!(root.hash == want) || root.count != count) {
      return Bad("tree '" + tree_ + "' does not have the root hash the sender recorded");
    }
    if (trees_.count(tree_)) return Bad("tree '" + tree_ + "' sent twice");
    trees_[tree_] = format::PtrValue{flags_, root};
    in_tree_ = false;
    return Status::OK();
  }

  bool in_tree() const { return in_tree_; }
  // The most logical bytes a node may hold: 4 pages (a compressed tree's
  // nodes grow that far), or a branch of 3 separators of the longest key
  // (a leaf of one such key is smaller), which splits no further.
  size_t MaxLogical() const {
    return std::max<size_t>(4 * size_t{page_size_}, 3 * (kMaxKeySize + format::kBranchEntryOverhead) +
                                                       size_t{page_size_});
  }
  // Every NODE and DATA record is used exactly once (else its pages leak).
  bool all_used() const { return used_.size() == sent_.size(); }
  const std::map<std::string, format::PtrValue>& trees() const { return trees_; }
  const std::unordered_set<uint64_t>& kept() const { return kept_; }
  stream::Version version() const {
    stream::Version v;
    for (const auto& [name, p] : trees_) v[name] = stream::TreeInfo{p.aux, p.ptr};
    return v;
  }

 private:
  // What a reference points to, and (*level) its level, or kDataLevel for a
  // data block. A base path may neither pass through nor end at a page that
  // another reference keeps or passed through: each base page ends up
  // referred to once.
  // *filter (may be null) gets the Bloom filter of the leaf it names, when
  // one is known: built when the leaf was sent, or its base parent's.
  Result<format::BlockPtr> Resolve(const Ref& r, int* level, std::string* filter = nullptr) {
    *level = -1;
    if (r.kind == Ref::kNull) return format::BlockPtr();
    if (r.kind == Ref::kSent) {
      if (r.id >= sent_.size()) return Bad("a reference to a record not yet sent");
      if (!used_.insert(r.id).second) return Bad("a record referred to twice");
      *level = sent_level_[r.id];
      // Each record is referred to once: its filter is not needed again.
      if (filter) *filter = std::move(sent_filter_[r.id]);
      return sent_[r.id];
    }
    // In the base version of this tree, by path.
    if (base_root_.null()) return Bad("a reference into a base that has no tree '" + tree_ + "'");
    format::BlockPtr p = base_root_;
    bool data = false;
    for (uint32_t step : r.path) {
      if (data) return Bad("a path through a data block");
      if (kept_.count(p.page)) return Bad("a path through a base subtree already taken");
      BRUCE_ASSIGN_OR_RETURN(NodeRef n, w_->Load(p));
      passed_.insert(p.page);
      if (!stream::PathStep(*n, step, &p, &data)) {
        return Bad("a path that leaves the base tree, or goes through a value that points "
                   "nowhere");
      }
      if (filter) filter->assign(n->level() == 1 ? n->filter(step) : std::string_view());
    }
    if (p.null()) return Bad("a path to nothing");
    if (passed_.count(p.page)) return Bad("a base page referred to twice");
    if (!kept_.insert(p.page).second) {
      // A data block may be: clones in the base share it (the new trees
      // then share it too, and the clone table is counted again).
      if (!data) return Bad("a base page referred to twice");
      BRUCE_RETURN_IF_ERROR(w_->MarkClones());
    }
    if (data) {
      *level = kDataLevel;
    } else {
      BRUCE_ASSIGN_OR_RETURN(NodeRef n, w_->Load(p));
      *level = n->level();
    }
    stats_->reused++;
    return p;
  }

  // Whether a reference's subtree holds chunk trees or chains (a sent
  // record's, as found when it came; the base's are the store's own, and
  // their shape was checked when they were written).
  bool NestedRef(const Ref& r) const {
    return r.kind == Ref::kSent && r.id < sent_nested_.size() && sent_nested_[r.id];
  }

  // Keys in order within a node: ascending (a branch's first is empty); in
  // a tree with duplicate keys, its leaves' (key, value) pairs ascending.
  Status CheckOrder(const format::Node& n) {
    const bool pairs = n.leaf() && (flags_ & 0x100) != 0;
    for (size_t i = 1; i < n.size(); ++i) {
      const int c = n.key(i - 1).compare(n.key(i));
      const bool ok = c < 0 || (pairs && c == 0 && n.value(i - 1) < n.value(i)) ||
                      (pairs && c == 0 && n.vtype(i) == format::ValueType::kOverflow);
      if (!ok) return Bad("a node whose keys are out of order");
    }
    if (!n.leaf() && n.size() > 0 && !n.key(0).empty()) return Bad("a branch without its empty first key");
    return Status::OK();
  }

  WriteTxnImpl* w_;
  const stream::Version* base_;
  StreamStats* stats_;
  uint32_t page_size_;
  bool in_tree_ = false;
  std::string tree_;
  uint64_t flags_ = 0;
  format::BlockPtr base_root_;
  std::vector<format::BlockPtr> sent_;
  std::vector<int> sent_level_;
  std::vector<bool> sent_nested_;
  std::vector<std::string> sent_filter_;  // a sent leaf's, until its parent takes it
  std::unordered_set<uint64_t> used_;
  std::unordered_set<uint64_t> kept_;    // base pages taken whole
  std::unordered_set<uint64_t> passed_;  // base pages paths went through
  std::map<std::string, format::PtrValue> trees_;
};

bool SameTrees(const stream::Version& a, const stream::Version& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (i->first != j->first || i->second.flags != j->second.flags ||
        i->second.root.page != j->second.root.page || !(i->second.root.hash == j->second.root.hash)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status Receive(Db* db, const std::function<Status(char*, size_t, size_t*)>& in,
               const ReceiveOptions& options, std::string* snapshot, StreamStats* stats) {
  StreamStats local;
  StreamStats* st = stats ? stats : &local;
  stream::RecordReader rd(in);
  RecordType type;
  std::string payload;
  Status s = rd.Next(&type, &payload);
  stream::Header h;
  if (!s.ok() || type != RecordType::kHeader || !stream::DecodeHeader(payload, &h)) {
    return Status::InvalidArgument("not a bruce send stream (or one of another version)");
  }
  *snapshot = h.snapshot;
  if (!CheckSnapshotName(h.snapshot).ok() || (!h.base.empty() && !CheckSnapshotName(h.base).ok())) {
    return Bad("a header with a bad snapshot name");
  }
  BRUCE_ASSIGN_OR_RETURN(DbStats ds, db->Stat());
  if (h.page_size != ds.page_size) {
    return Status::InvalidArgument("the stream is of a store with " + std::to_string(h.page_size) +
                                   "-byte pages, this one has " + std::to_string(ds.page_size));
  }
  {
    BRUCE_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> snaps, db->ListSnapshots());
    for (const SnapshotInfo& i : snaps) {
      if (i.name == h.snapshot) return Status::Exists("snapshot already exists: " + h.snapshot);
    }
  }
  // The target's state, with the writer role held so that nothing commits
  // meanwhile: its base (for an incremental stream), and that its live
  // trees are still that base (or empty, for a full stream).
  BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<WriteTxn> wt, db->BeginWrite(WriteMode::kExclusive));
  auto* w = dynamic_cast<WriteTxnImpl*>(wt.get());
  if (w == nullptr) return Status::InvalidArgument("Receive: not a store's transaction");
  // A stream may hold more nodes than memory: each goes once it is written.
  w->KeepWrittenNodes(false);
  std::unique_ptr<ReadTxn> base_txn;
  stream::Version base;
  {
    BRUCE_ASSIGN_OR_RETURN(std::unique_ptr<ReadTxn> live_txn, db->BeginRead());
    BRUCE_ASSIGN_OR_RETURN(stream::Version live, stream::DescribeVersion(live_txn.get()));
    if (h.base.empty()) {
      for (const auto& [name, t] : live) {
        if (t.root.count != 0) {
          return Status::InvalidArgument("a full stream goes into an empty store; tree '" + name +
                                         "' holds " + std::to_string(t.root.count) + " keys");
        }
      }
    } else {
      auto b = db->BeginRead(h.base);
      if (!b.ok()) {
        if (b.status().IsNotFound()) {
          return Status::InvalidArgument("the stream is incremental from snapshot '" + h.base +
                                         "', which this store does not have");
        }
        return b.status();
      }
      base_txn = std::move(b).value();
      BRUCE_ASSIGN_OR_RETURN(base, stream::DescribeVersion(base_txn.get()));
      if (!(stream::ContentHash(base) == h.base_content)) {
        return Status::InvalidArgument("snapshot '" + h.base +
                                       "' here is not the stream's base (its content differs)");
      }
      if (!(stream::ContentHash(live) == h.base_content) && !options.force) {
        return Status::InvalidArgument("the store changed since snapshot '" + h.base +
                                       "' (--force rolls it back first)");
      }
      // The live trees become the base's own (the same content may sit in
      // other pages; with force, other content), in this transaction: the
      // new trees share the base's pages, and a refused stream leaves even
      // a forced rollback undone.
      if (!SameTrees(live, base)) BRUCE_RETURN_IF_ERROR(w->RollbackTo(h.base));
    }
  }
  Receiver r(w, h.base.empty() ? nullptr : &base, st, ds.page_size);
  for (;;) {
    BRUCE_RETURN_IF_ERROR(rd.Next(&type, &payload));
    if (type == RecordType::kTreeBegin) {
      BRUCE_RETURN_IF_ERROR(r.TreeBegin(payload));
    } else if (type == RecordType::kNode || type == RecordType::kStoredNode) {
      BRUCE_RETURN_IF_ERROR(r.NodeRecord(type, payload));
    } else if (type == RecordType::kNodeDelta) {
      BRUCE_RETURN_IF_ERROR(r.DeltaRecord(payload));
    } else if (type == RecordType::kData) {
      BRUCE_RETURN_IF_ERROR(r.Data(payload));
    } else if (type == RecordType::kTreeEnd) {
      BRUCE_RETURN_IF_ERROR(r.TreeEnd(payload));
    } else if (type == RecordType::kTrailer) {
      break;
    } else {
      return Bad("an unknown record type " + std::to_string(static_cast<int>(type)));
    }
  }
  {
    format::Reader t(payload);
    uint64_t records, ntrees;
    std::string_view hash;
    if (!t.U64(&records) || !t.U64(&ntrees) || !t.Bytes(format::kHashBytes, &hash) ||
        t.remaining() != 0) {
      return Bad("a malformed trailer");
    }
    if (r.in_tree() || records + 1 != rd.records() || ntrees != r.trees().size() ||
        !r.all_used()) {
      return Bad("the trailer counts other records or trees than came");
    }
    const format::Hash128 got = stream::ContentHash(r.version());
    if (!(got == h.content) || !(format::LoadHash(hash.data()) == h.content)) {
      return Bad("the received trees do not have the content hash the sender recorded");
    }
    char extra;
    size_t more = 0;
    BRUCE_RETURN_IF_ERROR(in(&extra, 1, &more));
    if (more != 0) return Bad("bytes after the trailer");
  }
  BRUCE_RETURN_IF_ERROR(w->ReplaceUserTrees(r.trees(), r.kept()));
  base_txn.reset();
  BRUCE_RETURN_IF_ERROR(wt->Commit());
  wt.reset();
  BRUCE_RETURN_IF_ERROR(db->CreateSnapshot(h.snapshot));
  st->records = rd.records();
  st->bytes = rd.bytes();
  return Status::OK();
}

}  // namespace bruce
