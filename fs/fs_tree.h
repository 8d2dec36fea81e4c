// fs/fs_tree.h — the filesystem as seen through one transaction.
//
// Wraps one bruce transaction (the open transaction group, a pinned read
// view, or a snapshot) and answers path-level questions over its trees:
//
//   "main"    key = path, value = file content (or a symlink's target)
//   "attrs"   key = path, value = an Attr record (attr_record.h); absent
//             for keys written through the engine, which get Defaults
//   "fsmeta"  "root" = the root directory's Attr record; "next_ino" = the
//             next inode number to hand out (8 bytes, little-endian)
//   "links"   8-byte big-endian inode number -> the names of a hard-linked
//             file (docs/FS.md "Hard links"); the first holds its record
//             and content, the others kLink records
//
// The orphans of a mount (files unlinked while open) live in two more
// trees, "orphans" and "orphan_attrs", shaped as "main" and "attrs" and
// keyed by an 8-byte number: FsTree with TreeNames::Orphans() shows them.
//
// A directory is implicit: `d` is a directory iff some key of "main" or
// "attrs" starts with `d/`, or "attrs" holds a directory record for `d`
// (an explicit, possibly empty directory). A key that is both a file and
// such a prefix shows as the directory.
//
// Thread safety: as its transaction, one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attr_record.h"
#include "bruce/db.h"

namespace brucefs {

// Attributes of keys that have no record (docs/FS.md "Defaults").
struct Defaults {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t time_ns = 0;
};

struct Node {
  Kind kind = Kind::kNone;
  Attr attr;             // the record, or defaults; attr.kind == kind
  uint64_t size = 0;     // content bytes (files, symlinks)
  uint64_t allocated = 0;  // bytes of it really held (holes hold none)
  bool has_record = false;
  // The path holding the record and content: the stat'ed path, or for a
  // further name of a hard-linked file its first name.
  std::string primary;
  // A further name whose file is gone (its first name deleted with the
  // CLI): shown as an empty file with no permissions, so that it can be
  // seen and removed.
  bool dangling = false;
};

// Which trees an FsTree shows: the live namespace or the orphans.
struct TreeNames {
  const char* main = nullptr;  // null: the transaction's "main"
  const char* attrs = "attrs";
  static TreeNames Orphans() { return TreeNames{"orphans", "orphan_attrs"}; }
};

// One entry of a directory listing.
struct Child {
  std::string name;       // the raw component (not yet encoded)
  std::string first_key;  // the smallest key of either tree that belongs to it
  std::string next_lb;    // where the listing goes on after it
};

class FsTree {
 public:
  // `w` is the same transaction when it may be written, else null.
  FsTree(bruce::Txn* txn, bruce::WriteTxn* w, Defaults defaults, TreeNames names = {});

  bruce::Tree* main() { return main_; }
  // Called with each path whose record or links this tree changes
  // (subtree: and every path under it); content changes through main()
  // are the caller's to report.
  using ChangeFn = std::function<void(std::string_view path, bool subtree)>;
  void OnChange(ChangeFn fn) { on_change_ = std::move(fn); }
  const Defaults& defaults() const { return defaults_; }

  bruce::Status Stat(const std::string& path, Node* out);
  // Whether `path` is a directory (Stat's answer, without sizes).
  bruce::Result<bool> IsDir(const std::string& path);
  // The record, or nullopt when the path has none.
  bruce::Status GetRecord(const std::string& path, std::optional<Attr>* out);
  bruce::Status PutRecord(const std::string& path, const Attr& a);
  bruce::Status DeleteRecord(const std::string& path);
  // Defaults for a path without a record.
  Attr DefaultAttr(Kind kind) const;

  // The names of hard-linked file `ino` (first: the one holding its record
  // and content); empty when it has no entry.
  bruce::Status GetLinks(uint64_t ino, std::vector<std::string>* names);
  // Writes them; an empty list deletes the entry.
  bruce::Status PutLinks(uint64_t ino, const std::vector<std::string>& names);
  // A value of "fsmeta"; nullopt when absent.
  bruce::Status GetMeta(const std::string& key, std::optional<std::string>* out);
  bruce::Status PutMeta(const std::string& key, std::string_view value);
  // Drops every key of both trees (the orphans, at mount).
  bruce::Status Clear();
  bruce::Tree* attrs() { return attrs_; }

  // The first child of `dir` whose first key is >= lb (pass "" to start).
  bruce::Status NextChild(const std::string& dir, std::string_view lb,
                          std::optional<Child>* out);
  // Where the listing of `dir` goes on after the child whose first key is k.
  static std::string ResumeBound(const std::string& dir, const std::string& k);
  // The position of a key among the keys of both trees: an O(log n) rank.
  bruce::Result<uint64_t> Position(std::string_view key);
  // The key at a position (the inverse of Position); kNotFound if none.
  bruce::Status KeyAtPosition(uint64_t pos, std::string* key);
  bruce::Result<bool> IsEmptyDir(const std::string& dir);

  // Moves `from` (file or directory) and every key under `from/`, in both
  // trees, to `to`; file bytes move by Tree::Rename, never copied. The
  // name lists of hard-linked files among them follow.
  // kInvalidArgument when a moved key would pass kMaxKeySize.
  bruce::Status MoveSubtree(const std::string& from, const std::string& to);
  // kInvalidArgument when MoveSubtree(from, to) would make a key longer
  // than kMaxKeySize.
  bruce::Status CheckMove(const std::string& from, const std::string& to);
  // Deletes the records of `dir` and of every path under `dir/`.
  bruce::Status DeleteRecords(const std::string& dir);

 private:
  bruce::Result<bruce::Tree*> AttrsForWrite();
  bruce::Result<bruce::Tree*> MetaForWrite();
  // Fills *out as a dangling name (Node::dangling).
  bruce::Status Dangling(Node* out);
  // Size and allocated bytes of the content at `path` (absent: kNone).
  bruce::Status Content(const std::string& path, Node* out);
  bruce::Result<bool> HasKey(bruce::Tree* t, std::string_view key);
  bruce::Status CollectKeys(bruce::Tree* t, const std::string& path,
                            std::vector<std::string>* keys);

  bruce::Txn* txn_;
  bruce::WriteTxn* w_;
  Defaults defaults_;
  bruce::Tree* main_;
  bruce::Tree* attrs_ = nullptr;   // null while the store has no "attrs"
  bruce::Tree* fsmeta_ = nullptr;  // likewise
  bruce::Tree* links_ = nullptr;   // likewise
  TreeNames names_;
  ChangeFn on_change_;
  void Changed(std::string_view path, bool subtree = false) {
    if (on_change_) on_change_(path, subtree);
  }
};

}  // namespace brucefs
