// format/node_memory.h — where nodes' memory comes from.
//
// Every node's containers (a dirty node's, and a frozen node's one
// allocation) come from NodeMemory(): mimalloc (Debian libmimalloc), asked
// for 2 MiB pages (transparent huge pages, madvise). A tree's nodes are most
// of an engine's memory, they come and go by the thousand in a commit, and
// a load builds hundreds of megabytes of them; with 4 KiB pages every fresh
// page is a fault, which on a virtual machine costs microseconds (see
// bench/README.md, "Where the write path's time goes"). mimalloc keeps
// its own heap: the program's malloc is not replaced.
//
// A program that uses mimalloc itself and set its options first keeps
// them (mimalloc's options are the process's). Sanitizer builds use
// operator new, so that the sanitizers see every node's memory.
//
// Thread safety: safe from any thread (memory may be freed by another
// thread than the one that allocated it).
#pragma once

#include <memory_resource>

namespace bruce::format {

std::pmr::memory_resource* NodeMemory();

}  // namespace bruce::format
