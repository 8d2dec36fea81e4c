// stream/leaf_delta.h — a leaf sent as its changes from a leaf of the base
// (a NODE_DELTA record, docs/FORMAT.md "Send stream").
//
// When a few keys of a leaf change, the rest of its entries are the same as
// in the base version's leaf that held them: the delta names runs of that
// leaf's entries to keep (COPY) and gives the other entries in full (ENTRY;
// a pointer value with the reference for what it points to). The receiver
// rebuilds the leaf's logical bytes from its own copy of the base leaf and
// checks them as it checks any NODE record: its hash must be the one the
// parent names.
//
// Ops, after the record's base reference (a path to the base leaf):
//   varint count of ops, then each:
//   u8 0 COPY:  varint first, varint n    base entries [first, first + n),
//                                         every one inline
//   u8 1 ENTRY: varint klen, key, u8 vtype, then
//               vtype 0 (inline): varint vlen, bytes
//               else: varint aux, hash[16], varint count, reference
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bruce/status.h"
#include "format/node.h"
#include "stream/stream_format.h"

namespace bruce::stream {

// The ops that make leaf `now` from leaf `base` (a tree without duplicate
// keys); refs: one per pointer entry of now, in order. Empty when now keeps
// none of base's entries.
std::string EncodeLeafDelta(const format::Node& base, const format::Node& now,
                            const std::vector<Ref>& refs);

// The NODE record payload (varint logical length, logical bytes, then the
// references) that `ops` make of `base`; kCorruption for malformed ops, a
// copy of a pointer entry or out of range, or a leaf past max_bytes.
Status ApplyLeafDelta(const format::Node& base, std::string_view ops, size_t max_bytes,
                      std::string* node_payload);

}  // namespace bruce::stream
