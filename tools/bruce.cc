// bruce — the admin CLI of a bruce store.
//
//   bruce COMMAND STORE [ARGS] [OPTIONS]
//
// Exit codes: 0 ok, 1 key/tree/index not found, 2 usage error or malformed
// input, 3 corruption, I/O or any other engine error. docs/CLI.md describes
// every command.

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"

namespace bruce::cli {
namespace {

int RunHelp(const Invocation& inv);

const std::vector<std::string> kTree = {"--tree"};
// A tree that a write may make: with Bloom filters of BITS bits a key.
const std::vector<std::string> kTreeMake = {"--tree", "--bloom"};
const std::vector<std::string> kRead = {"--tree", "--snapshot"};
const std::vector<std::string> kReadPrefix = {"--tree", "--prefix", "--snapshot"};
const std::vector<std::string> kEscaped = {"--escaped"};

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"create", "STORE [--page-size N]", "create a new, empty store (fails if STORE exists)", 1,
       1, {"--page-size"}, {}, RunCreate},
      {"put", "STORE KEY [VALUE] [--tree NAME [--dup] [--bloom BITS]] [--escaped]",
       "set KEY to VALUE (streamed from stdin when omitted; a dup tree adds it)", 2, 3,
       kTreeMake, {"--escaped", "--dup"}, RunPut},
      {"get", "STORE KEY [--tree NAME] [--snapshot NAME] [--escaped]",
       "print the value of KEY, raw bytes", 2, 2, kRead, kEscaped, RunGet},
      {"cat", "STORE KEY [--offset N] [--length M] [--tree NAME] [--snapshot NAME] [--escaped]",
       "print M bytes of KEY's value from byte N, raw", 2, 2,
       {"--tree", "--snapshot", "--offset", "--length"}, kEscaped, RunCat},
      {"write", "STORE KEY [--offset N] [--tree NAME] [--escaped]",
       "write stdin into KEY's value at byte N (default 0)", 2, 2, {"--tree", "--offset"},
       kEscaped, RunWrite},
      {"truncate", "STORE KEY SIZE [--tree NAME] [--escaped]",
       "cut or extend (with zeros) KEY's value to SIZE bytes", 3, 3, kTree, kEscaped,
       RunTruncate},
      {"del", "STORE KEY [VALUE] [--tree NAME] [--escaped]",
       "delete KEY (with VALUE, that one of its values)", 2, 3, kTree, kEscaped, RunDel},
      {"load", "STORE [--append] [--tree NAME [--dup] [--bloom BITS]] [--json]",
       "add KEY<TAB>VALUE lines from stdin in one transaction", 1, 1, kTreeMake,
       {"--append", "--dup", "--json"}, RunLoad},
      {"dump", "STORE [--prefix P] [--tree NAME] [--snapshot NAME] [--escaped]",
       "print every record as an escaped KEY<TAB>VALUE line", 1, 1, kReadPrefix, kEscaped,
       RunDump},
      {"ls",
       "STORE [--prefix P] [--offset N] [--limit M] [--tree NAME] [--snapshot NAME] [--escaped]",
       "list keys in order, escaped, one per line", 1, 1,
       {"--tree", "--prefix", "--offset", "--limit", "--snapshot"}, kEscaped, RunLs},
      {"count", "STORE [--prefix P] [--tree NAME] [--snapshot NAME] [--escaped]",
       "print the number of keys (with the prefix)", 1, 1, kReadPrefix, kEscaped, RunCount},
      {"rank", "STORE KEY [--tree NAME] [--snapshot NAME] [--escaped]",
       "print the number of keys less than KEY", 2, 2, kRead, kEscaped, RunRank},
      {"nth", "STORE N [--tree NAME] [--snapshot NAME]",
       "print the record at position N (from 0) in key order", 2, 2, kRead, {}, RunNth},
      {"stat", "STORE [--json] [--tree NAME] [--snapshot NAME]",
       "print statistics of the store and a tree", 1, 1, kRead, {"--json"}, RunStat},
      {"check", "STORE [--json]", "verify every page, hash, count and key order of the store", 1,
       1, {}, {"--json"}, RunCheck},
      {"compact", "STORE [--json]", "move live pages down so the file can shrink; print the sizes",
       1, 1, {}, {"--json"}, RunCompact},
      {"root-hash", "STORE [--tree NAME] [--snapshot NAME]",
       "print the Merkle root hash of the store (or of one tree)", 1, 1, kRead, {},
       RunRootHash},
      {"trees", "STORE [--snapshot NAME]", "list the names of the store's trees", 1, 1,
       {"--snapshot"}, {}, RunTrees},
      {"diff", "STORE A B [--tree NAME] [--json]",
       "list keys added (+), removed (-) and changed (M) from snapshot A to B (@live: now)", 3,
       3, {"--tree"}, {"--json"}, RunDiff},
      {"send", "STORE SNAPSHOT [--from BASE] [--compressed] [--json]",
       "write SNAPSHOT as a stream to stdout (with --from, what changed since BASE)", 2, 2,
       {"--from"}, {"--compressed", "--json"}, RunSend},
      {"receive", "STORE [--create] [--force] [--json]",
       "make the snapshot of a stream from stdin in STORE", 1, 1, {},
       {"--create", "--force", "--json"}, RunReceive},
      {"scrub", "STORE [--repair-from REPLICA|-] [--json]",
       "read and verify every page the live trees and snapshots reach; report (and repair) "
       "the damaged",
       1, 1, {"--repair-from"}, {"--json"}, RunScrub},
      {"sync", "STORE", "make every change to the store durable (a mounted one's too)", 1, 1,
       {}, {}, RunSync},
      {"status", "MOUNTPOINT|STORE [--json]",
       "show the state of the brucefs mount of a store", 1, 1, {}, {"--json"}, RunStatus},
      {"snapshot create", "STORE NAME", "take a snapshot of the store as it is now", 2, 2, {},
       {}, RunSnapshotCreate},
      {"snapshot destroy", "STORE NAME", "destroy a snapshot, freeing what only it held", 2, 2,
       {}, {}, RunSnapshotDestroy},
      {"snapshot rollback", "STORE NAME", "make the store what the snapshot holds", 2, 2, {}, {},
       RunSnapshotRollback},
      {"snapshot list", "STORE [--json]", "list the snapshots, oldest first", 1, 1, {},
       {"--json"}, RunSnapshotList},
      {"snapshot auto",
       "STORE [--prefix P] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] "
       "[--keep-monthly N] [--dry-run] [--now TIME]",
       "take PREFIX+UTC-time and prune that prefix's snapshots by the --keep-* policy", 1, 1,
       {"--prefix", "--keep-hourly", "--keep-daily", "--keep-weekly", "--keep-monthly", "--now"},
       {"--dry-run"}, RunSnapshotAuto},
      {"help", "[COMMAND]", "show this help, or the usage of COMMAND", 0, 2, {}, {}, RunHelp},
  };
  return kCommands;
}

const CommandSpec* Find(const std::string& name) {
  for (const CommandSpec& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

// The commands whose name is `group` followed by a space and a subcommand.
std::vector<const CommandSpec*> Group(const std::string& group) {
  std::vector<const CommandSpec*> out;
  for (const CommandSpec& c : Commands()) {
    const std::string name = c.name;
    if (name.size() > group.size() && name.compare(0, group.size(), group) == 0 &&
        name[group.size()] == ' ') {
      out.push_back(&c);
    }
  }
  return out;
}

std::string Overview() {
  std::string s =
      "usage: bruce COMMAND STORE [ARGS] [OPTIONS]\n"
      "\n"
      "Administer a bruce store: a counted copy-on-write B+tree in one file.\n"
      "\n"
      "commands:\n";
  size_t width = 0;
  for (const CommandSpec& c : Commands()) width = std::max(width, std::strlen(c.name));
  for (const CommandSpec& c : Commands()) {
    std::string name = c.name;
    s += "  " + name + std::string(width + 2 - name.size(), ' ') + c.summary + "\n";
  }
  s +=
      "\n"
      "options (after the command, anywhere; -- ends options):\n"
      "  --tree NAME      use the named tree instead of \"main\" (put/write/load create it)\n"
      "  --snapshot NAME  read the snapshot NAME instead of the live store\n"
      "  --escaped        KEY, VALUE and --prefix arguments use the dump escapes\n"
      "  -h, --help       show the usage of a command\n"
      "\n"
      "escapes (dump, load, ls, nth, --escaped): \\\\ \\t \\n \\xHH\n"
      "exit codes: 0 ok, 1 not found, 2 usage or malformed input,\n"
      "            3 corruption, I/O or other store error\n";
  return s;
}

void PrintUsage(const CommandSpec& c) {
  std::printf("usage: %s\n  %s\n", UsageLine(c).c_str(), c.summary);
}

int RunHelp(const Invocation& inv) {
  if (inv.args.empty()) {
    std::fputs(Overview().c_str(), stdout);
    return kExitOk;
  }
  std::string name = inv.args[0];
  if (inv.args.size() > 1) name += " " + inv.args[1];
  if (const CommandSpec* c = Find(name)) {
    PrintUsage(*c);
    return kExitOk;
  }
  const std::vector<const CommandSpec*> group = Group(name);
  if (group.empty()) {
    std::fprintf(stderr, "bruce: help: unknown command '%s'\n", name.c_str());
    return kExitUsage;
  }
  for (const CommandSpec* c : group) PrintUsage(*c);
  return kExitOk;
}

// `bruce snapshot SUB ...`: the subcommand is the first word after the group
// name that is not an option (the group's commands take only flags, so
// options may come before it too). Takes it out of *words and returns its
// spec; on failure prints the error and sets *rc.
const CommandSpec* FindInGroup(const std::string& group, std::vector<std::string>* words,
                               int* rc) {
  bool help = false;
  for (size_t i = 0; i < words->size(); ++i) {
    const std::string& w = (*words)[i];
    if (w == "-h" || w == "--help") help = true;
    if (w == "--") {
      if (i + 1 < words->size()) {
        const std::string sub = (*words)[i + 1];
        words->erase(words->begin() + static_cast<std::ptrdiff_t>(i) + 1);
        if (const CommandSpec* c = Find(group + " " + sub)) return c;
        std::fprintf(stderr, "bruce: unknown command '%s %s' (see bruce help %s)\n",
                     group.c_str(), sub.c_str(), group.c_str());
        *rc = kExitUsage;
        return nullptr;
      }
      break;
    }
    if (w.size() >= 2 && w[0] == '-') continue;
    const std::string sub = w;
    words->erase(words->begin() + static_cast<std::ptrdiff_t>(i));
    if (const CommandSpec* c = Find(group + " " + sub)) return c;
    std::fprintf(stderr, "bruce: unknown command '%s %s' (see bruce help %s)\n", group.c_str(),
                 sub.c_str(), group.c_str());
    *rc = kExitUsage;
    return nullptr;
  }
  if (help) {
    for (const CommandSpec* c : Group(group)) PrintUsage(*c);
    *rc = kExitOk;
    return nullptr;
  }
  std::string subs;
  for (const CommandSpec* c : Group(group)) {
    subs += subs.empty() ? "" : ", ";
    subs += c->name + group.size() + 1;
  }
  std::fprintf(stderr, "bruce: %s: missing subcommand (%s)\nusage: bruce %s SUBCOMMAND STORE ...\n",
               group.c_str(), subs.c_str(), group.c_str());
  *rc = kExitUsage;
  return nullptr;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("bruce: missing command\nusage: bruce COMMAND STORE [ARGS] [OPTIONS]"
               " (bruce --help lists the commands)\n", stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  std::vector<std::string> words(argv + 2, argv + argc);
  const CommandSpec* spec = Find(name == "--help" || name == "-h" ? "help" : name);
  if (spec == nullptr && !Group(name).empty()) {
    int rc = kExitOk;
    spec = FindInGroup(name, &words, &rc);
    if (spec == nullptr) return rc;
  }
  if (spec == nullptr) {
    std::fprintf(stderr, "bruce: unknown command '%s' (see bruce --help)\n", name.c_str());
    return kExitUsage;
  }
  Invocation inv;
  bool help = false;
  std::string error;
  if (!ParseInvocation(*spec, words, &inv, &help, &error)) {
    std::fprintf(stderr, "bruce: %s: %s\nusage: %s\n", spec->name, error.c_str(),
                 UsageLine(*spec).c_str());
    return kExitUsage;
  }
  if (help) {
    PrintUsage(*spec);
    return kExitOk;
  }
  // The engine returns errors as Status, but reading a value whole (Get,
  // Select, a cursor's value) of a size memory cannot hold throws
  // std::bad_alloc: report it as an error like any other.
  try {
    return spec->run(inv);
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "bruce: %s: out of memory (a value too large to read whole?)\n",
                 spec->name);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bruce: %s: %s\n", spec->name, e.what());
  }
  return kExitError;
}

}  // namespace
}  // namespace bruce::cli

int main(int argc, char** argv) { return bruce::cli::Main(argc, argv); }
