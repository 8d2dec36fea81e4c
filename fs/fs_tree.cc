#include "fs_tree.h"

#include <sys/stat.h>

#include <algorithm>

#include "bruce/options.h"

namespace brucefs {

using bruce::Result;
using bruce::Status;

namespace {

constexpr char kMetaTree[] = "fsmeta";
constexpr char kLinksTree[] = "links";
constexpr char kRootRecord[] = "root";

std::string InoKey(uint64_t ino) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; i++) k[i] = static_cast<char>(ino >> (56 - 8 * i));
  return k;
}

bool Under(std::string_view k, std::string_view from) {
  return k.size() >= from.size() && k.substr(0, from.size()) == from &&
         (k.size() == from.size() || k[from.size()] == '/');
}

std::string Prefix(const std::string& dir) { return dir.empty() ? std::string() : dir + "/"; }

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

FsTree::FsTree(bruce::Txn* txn, bruce::WriteTxn* w, Defaults defaults, TreeNames names)
    : txn_(txn), w_(w), defaults_(defaults), main_(txn->Main()), names_(names) {
  if (names.main != nullptr) {
    // The orphans: made on first use, in a write transaction only.
    auto m = w_->CreateTree(names.main);
    auto a = w_->CreateTree(names.attrs);
    main_ = m.ok() ? *m : nullptr;
    attrs_ = a.ok() ? *a : nullptr;
    return;
  }
  auto a = txn_->OpenTree(names.attrs);
  if (a.ok()) attrs_ = *a;
  auto m = txn_->OpenTree(kMetaTree);
  if (m.ok()) fsmeta_ = *m;
  auto l = txn_->OpenTree(kLinksTree);
  if (l.ok()) links_ = *l;
}

Attr FsTree::DefaultAttr(Kind kind) const {
  Attr a;
  a.kind = kind;
  a.mode = kind == Kind::kDir ? 0755 : kind == Kind::kSymlink ? 0777 : 0644;
  a.nlink = 1;
  a.uid = defaults_.uid;
  a.gid = defaults_.gid;
  a.atime_ns = a.mtime_ns = a.ctime_ns = defaults_.time_ns;
  return a;
}

Result<bruce::Tree*> FsTree::AttrsForWrite() {
  if (attrs_ != nullptr) return attrs_;
  if (w_ == nullptr) return Status::ReadOnly("read-only view");
  BRUCE_ASSIGN_OR_RETURN(attrs_, w_->CreateTree(names_.attrs));
  return attrs_;
}

Result<bruce::Tree*> FsTree::MetaForWrite() {
  if (fsmeta_ != nullptr) return fsmeta_;
  if (w_ == nullptr) return Status::ReadOnly("read-only view");
  BRUCE_ASSIGN_OR_RETURN(fsmeta_, w_->CreateTree(kMetaTree));
  return fsmeta_;
}

Status FsTree::GetMeta(const std::string& key, std::optional<std::string>* out) {
  out->reset();
  if (fsmeta_ == nullptr) return Status::OK();
  std::string v;
  Status s = fsmeta_->Get(key, &v);
  if (s.IsNotFound()) return Status::OK();
  BRUCE_RETURN_IF_ERROR(s);
  *out = std::move(v);
  return Status::OK();
}

Status FsTree::PutMeta(const std::string& key, std::string_view value) {
  BRUCE_ASSIGN_OR_RETURN(bruce::Tree * t, MetaForWrite());
  return t->Put(key, value);
}

Status FsTree::GetLinks(uint64_t ino, std::vector<std::string>* names) {
  names->clear();
  if (links_ == nullptr) return Status::OK();
  std::string v;
  Status s = links_->Get(InoKey(ino), &v);
  if (s.IsNotFound()) return Status::OK();
  BRUCE_RETURN_IF_ERROR(s);
  // Each name: 4 bytes of length (little-endian), then the name.
  for (size_t at = 0; at < v.size();) {
    if (v.size() - at < 4) return Status::Corruption("bad name list of inode " + std::to_string(ino));
    uint32_t n = 0;
    for (int i = 0; i < 4; i++) n |= uint32_t{static_cast<uint8_t>(v[at + i])} << (8 * i);
    at += 4;
    if (v.size() - at < n) return Status::Corruption("bad name list of inode " + std::to_string(ino));
    names->emplace_back(v, at, n);
    at += n;
  }
  return Status::OK();
}

Status FsTree::PutLinks(uint64_t ino, const std::vector<std::string>& names) {
  if (on_change_) {
    // Every name, old and new, now stats otherwise.
    std::vector<std::string> old;
    BRUCE_RETURN_IF_ERROR(GetLinks(ino, &old));
    for (const auto& n : old) Changed(n);
    for (const auto& n : names) Changed(n);
  }
  if (links_ == nullptr) {
    if (names.empty()) return Status::OK();
    if (w_ == nullptr) return Status::ReadOnly("read-only view");
    BRUCE_ASSIGN_OR_RETURN(links_, w_->CreateTree(kLinksTree));
  }
  if (names.empty()) {
    Status s = links_->Delete(InoKey(ino));
    return s.IsNotFound() ? Status::OK() : s;
  }
  std::string v;
  for (const auto& n : names) {
    for (int i = 0; i < 4; i++) v.push_back(static_cast<char>((n.size() >> (8 * i)) & 0xff));
    v += n;
  }
  return links_->Put(InoKey(ino), v);
}

Status FsTree::Clear() {
  for (bruce::Tree* t : {main_, attrs_}) {
    if (t == nullptr) continue;
    std::vector<std::string> keys;
    auto c = t->NewCursor();
    for (c->First(); c->Valid(); c->Next()) keys.emplace_back(c->key());
    BRUCE_RETURN_IF_ERROR(c->status());
    for (const auto& k : keys) BRUCE_RETURN_IF_ERROR(t->Delete(k));
  }
  return Status::OK();
}

Status FsTree::GetRecord(const std::string& path, std::optional<Attr>* out) {
  out->reset();
  bruce::Tree* t = path.empty() ? fsmeta_ : attrs_;
  if (t == nullptr) return Status::OK();
  std::string v;
  Status s = t->Get(path.empty() ? std::string(kRootRecord) : path, &v);
  if (s.IsNotFound()) return Status::OK();
  BRUCE_RETURN_IF_ERROR(s);
  Attr a;
  if (!DecodeAttr(v, &a)) {
    return Status::Corruption("bad attribute record for \"" + path + "\"");
  }
  *out = std::move(a);
  return Status::OK();
}

Status FsTree::PutRecord(const std::string& path, const Attr& a) {
  Changed(path);
  if (path.empty()) {
    if (fsmeta_ == nullptr) {
      if (w_ == nullptr) return Status::ReadOnly("read-only view");
      BRUCE_ASSIGN_OR_RETURN(fsmeta_, w_->CreateTree(kMetaTree));
    }
    return fsmeta_->Put(kRootRecord, EncodeAttr(a));
  }
  BRUCE_ASSIGN_OR_RETURN(bruce::Tree * t, AttrsForWrite());
  return t->Put(path, EncodeAttr(a));
}

Status FsTree::DeleteRecord(const std::string& path) {
  Changed(path);
  bruce::Tree* t = path.empty() ? fsmeta_ : attrs_;
  if (t == nullptr) return Status::OK();
  Status s = t->Delete(path.empty() ? std::string(kRootRecord) : path);
  return s.IsNotFound() ? Status::OK() : s;
}

Result<bool> FsTree::HasKey(bruce::Tree* t, std::string_view key) {
  if (t == nullptr) return false;
  std::string hi(key);
  hi.push_back('\0');
  BRUCE_ASSIGN_OR_RETURN(uint64_t n, t->Count(key, hi));
  return n > 0;
}

Status FsTree::Content(const std::string& path, Node* out) {
  auto size = main_->ValueSize(path);
  if (!size.ok() && size.status().IsNotFound()) {
    out->kind = Kind::kNone;
    return Status::OK();
  }
  if (!size.ok()) return size.status();
  out->kind = Kind::kFile;
  out->size = *size;
  BRUCE_ASSIGN_OR_RETURN(out->allocated, main_->AllocatedBytes(path));
  return Status::OK();
}

Status FsTree::Stat(const std::string& path, Node* out) {
  std::optional<Attr> rec;
  BRUCE_RETURN_IF_ERROR(GetRecord(path, &rec));
  out->primary = path;
  out->size = out->allocated = 0;
  bool dir = path.empty() || (rec && rec->kind == Kind::kDir);
  if (!dir && names_.main == nullptr) {
    std::string p = Prefix(path);
    BRUCE_ASSIGN_OR_RETURN(uint64_t n, main_->CountPrefix(p));
    if (n == 0 && attrs_ != nullptr) {
      BRUCE_ASSIGN_OR_RETURN(n, attrs_->CountPrefix(p));
    }
    dir = n > 0;
  }
  if (dir) {
    out->kind = Kind::kDir;
  } else {
    if (rec && rec->kind == Kind::kLink) {
      // A further name of a hard-linked file: its first name holds it.
      std::vector<std::string> names;
      BRUCE_RETURN_IF_ERROR(GetLinks(rec->ino, &names));
      std::optional<Attr> first;
      if (!names.empty()) BRUCE_RETURN_IF_ERROR(GetRecord(names[0], &first));
      if (!first || first->kind == Kind::kLink || first->kind == Kind::kDir) {
        return Dangling(out);
      }
      out->primary = names[0];
      rec = std::move(first);
    }
    if (rec && RecordOnly(rec->kind)) {
      out->kind = rec->kind;
    } else {
      BRUCE_RETURN_IF_ERROR(Content(out->primary, out));
      if (out->kind == Kind::kNone && out->primary == path) return Status::OK();
      if (out->kind == Kind::kNone) {
        // The first name's content was deleted with the CLI.
        out->primary = path;
        return Dangling(out);
      }
      out->kind = rec && rec->kind == Kind::kSymlink ? Kind::kSymlink : Kind::kFile;
    }
  }
  out->has_record = rec && rec->kind == out->kind;
  out->attr = out->has_record ? std::move(*rec) : DefaultAttr(out->kind);
  return Status::OK();
}

Status FsTree::Dangling(Node* out) {
  out->kind = Kind::kFile;
  out->dangling = true;
  out->has_record = false;
  out->size = out->allocated = 0;
  out->attr = DefaultAttr(Kind::kFile);
  out->attr.mode = 0;
  return Status::OK();
}

Result<bool> FsTree::IsDir(const std::string& path) {
  std::optional<Attr> rec;
  BRUCE_RETURN_IF_ERROR(GetRecord(path, &rec));
  if (path.empty() || (rec && rec->kind == Kind::kDir)) return true;
  const std::string p = Prefix(path);
  BRUCE_ASSIGN_OR_RETURN(uint64_t n, main_->CountPrefix(p));
  if (n == 0 && attrs_ != nullptr) {
    BRUCE_ASSIGN_OR_RETURN(n, attrs_->CountPrefix(p));
  }
  return n > 0;
}

Status FsTree::NextChild(const std::string& dir, std::string_view lb, std::optional<Child>* out) {
  out->reset();
  const std::string p = Prefix(dir);
  std::string lo = std::string(lb) < p ? p : std::string(lb);
  auto mc = main_->NewCursor();
  auto ac = attrs_ != nullptr ? attrs_->NewCursor() : nullptr;
  for (;;) {
    std::optional<std::string> km, ka;
    mc->Seek(lo);
    BRUCE_RETURN_IF_ERROR(mc->status());
    if (mc->Valid() && StartsWith(mc->key(), p)) km = std::string(mc->key());
    if (ac) {
      // A record of a file or symlink only counts with its key in "main";
      // a record under a child, or a directory record, makes the child.
      for (ac->Seek(lo); ac->Valid() && StartsWith(ac->key(), p); ac->Next()) {
        // Past main's candidate the answer is that one: stop (else every
        // call would walk all the file records after lo, and a listing
        // would cost O(n^2) in the directory's size).
        if (km && ac->key() > *km) break;
        std::string_view rest = ac->key().substr(p.size());
        Attr a;
        if (rest.find('/') != std::string_view::npos ||
            (DecodeAttr(ac->value(), &a) && RecordOnly(a.kind))) {
          ka = std::string(ac->key());
          break;
        }
      }
      BRUCE_RETURN_IF_ERROR(ac->status());
    }
    if (!km && !ka) return Status::OK();
    const std::string& k = !ka || (km && *km <= *ka) ? *km : *ka;
    std::string_view rest = std::string_view(k).substr(p.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
      *out = Child{std::string(rest), k, ResumeBound(dir, k)};
      return Status::OK();
    }
    std::string name(rest.substr(0, slash));
    std::string exact = p + name;
    // The child was listed already at its own key, which sorts before k.
    BRUCE_ASSIGN_OR_RETURN(bool file_key, HasKey(main_, exact));
    bool listed = file_key;
    if (!listed && attrs_ != nullptr) {
      std::optional<Attr> rec;
      BRUCE_RETURN_IF_ERROR(GetRecord(exact, &rec));
      listed = rec && RecordOnly(rec->kind);
    }
    if (listed) {
      lo = exact + '0';
      continue;
    }
    *out = Child{std::move(name), k, exact + '0'};
    return Status::OK();
  }
}

std::string FsTree::ResumeBound(const std::string& dir, const std::string& k) {
  size_t start = dir.empty() ? 0 : dir.size() + 1;
  size_t slash = k.find('/', start);
  if (slash == std::string::npos) return k + '\0';
  return k.substr(0, slash) + '0';
}

Result<uint64_t> FsTree::Position(std::string_view key) {
  BRUCE_ASSIGN_OR_RETURN(uint64_t a, main_->Rank(key));
  uint64_t b = 0;
  if (attrs_ != nullptr) {
    BRUCE_ASSIGN_OR_RETURN(b, attrs_->Rank(key));
  }
  return a + b;
}

Status FsTree::KeyAtPosition(uint64_t pos, std::string* key) {
  // Position(k) = rank in one tree + rank in the other; it grows with the
  // index in either tree, so binary search each tree for it.
  bruce::Tree* trees[2] = {main_, attrs_};
  for (int t = 0; t < 2; ++t) {
    bruce::Tree* self = trees[t];
    bruce::Tree* other = trees[1 - t];
    if (self == nullptr) continue;
    BRUCE_ASSIGN_OR_RETURN(uint64_t hi, self->Count());
    uint64_t lo = 0;
    while (lo < hi) {
      uint64_t mid = lo + (hi - lo) / 2;
      BRUCE_ASSIGN_OR_RETURN(std::string k, self->KeyAt(mid));  // the key alone
      uint64_t r = 0;
      if (other != nullptr) {
        BRUCE_ASSIGN_OR_RETURN(r, other->Rank(k));
      }
      if (mid + r == pos) {
        *key = std::move(k);
        return Status::OK();
      }
      if (mid + r < pos) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
  }
  return Status::NotFound("no key at that position");
}

Result<bool> FsTree::IsEmptyDir(const std::string& dir) {
  std::optional<Child> c;
  BRUCE_RETURN_IF_ERROR(NextChild(dir, "", &c));
  return !c.has_value();
}

Status FsTree::CollectKeys(bruce::Tree* t, const std::string& path, std::vector<std::string>* keys) {
  keys->clear();
  if (t == nullptr) return Status::OK();
  auto c = t->NewCursor();
  c->Seek(path);
  if (c->Valid() && c->key() == path) keys->emplace_back(c->key());
  const std::string p = path + "/";
  for (c->Seek(p); c->Valid() && StartsWith(c->key(), p); c->Next()) keys->emplace_back(c->key());
  return c->status();
}

Status FsTree::CheckMove(const std::string& from, const std::string& to) {
  if (to.size() <= from.size()) return Status::OK();
  std::vector<std::string> keys;
  for (bruce::Tree* t : {main_, attrs_}) {
    BRUCE_RETURN_IF_ERROR(CollectKeys(t, from, &keys));
    for (const auto& k : keys) {
      if (to.size() + k.size() - from.size() > bruce::kMaxKeySize) {
        return Status::InvalidArgument("a moved key would be longer than the key limit");
      }
    }
  }
  return Status::OK();
}

Status FsTree::MoveSubtree(const std::string& from, const std::string& to) {
  BRUCE_RETURN_IF_ERROR(CheckMove(from, to));
  Changed(from, true);
  Changed(to, true);
  std::vector<std::string> mk, ak;
  BRUCE_RETURN_IF_ERROR(CollectKeys(main_, from, &mk));
  BRUCE_RETURN_IF_ERROR(CollectKeys(attrs_, from, &ak));
  for (const auto& k : mk) {
    BRUCE_RETURN_IF_ERROR(main_->Rename(k, to + k.substr(from.size())));
  }
  std::string v;
  std::vector<uint64_t> linked;  // hard-linked files with a name moved
  for (const auto& k : ak) {
    BRUCE_RETURN_IF_ERROR(attrs_->Get(k, &v));
    Attr a;
    if (DecodeAttr(v, &a) && (a.kind == Kind::kLink || (a.nlink > 1 && a.kind != Kind::kDir))) {
      linked.push_back(a.ino);
    }
    BRUCE_RETURN_IF_ERROR(attrs_->Put(to + k.substr(from.size()), v));
    BRUCE_RETURN_IF_ERROR(attrs_->Delete(k));
  }
  std::sort(linked.begin(), linked.end());
  linked.erase(std::unique(linked.begin(), linked.end()), linked.end());
  std::vector<std::string> names;
  for (uint64_t ino : linked) {
    BRUCE_RETURN_IF_ERROR(GetLinks(ino, &names));
    for (auto& n : names) {
      if (Under(n, from)) n = to + n.substr(from.size());
    }
    BRUCE_RETURN_IF_ERROR(PutLinks(ino, names));
  }
  return Status::OK();
}

Status FsTree::DeleteRecords(const std::string& dir) {
  Changed(dir, true);
  std::vector<std::string> keys;
  BRUCE_RETURN_IF_ERROR(CollectKeys(attrs_, dir, &keys));
  for (const auto& k : keys) BRUCE_RETURN_IF_ERROR(attrs_->Delete(k));
  return Status::OK();
}

}  // namespace brucefs
