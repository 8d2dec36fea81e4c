// bruce — the admin CLI of a bruce store.
//
//   bruce COMMAND STORE [ARGS] [OPTIONS]
//
// Exit codes: 0 ok, 1 key/tree/index not found, 2 usage error or malformed
// input, 3 corruption, I/O or any other engine error. docs/CLI.md describes
// every command.

#include <cstdio>
#include <string>
#include <vector>

#include "command.h"
#include "commands.h"

namespace bruce::cli {
namespace {

int RunHelp(const Invocation& inv);

const std::vector<std::string> kTree = {"--tree"};
const std::vector<std::string> kTreePrefix = {"--tree", "--prefix"};
const std::vector<std::string> kEscaped = {"--escaped"};

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"create", "STORE [--page-size N]", "create a new, empty store (fails if STORE exists)", 1,
       1, {"--page-size"}, {}, RunCreate},
      {"put", "STORE KEY [VALUE] [--tree NAME] [--escaped]",
       "set KEY to VALUE (read from stdin when omitted)", 2, 3, kTree, kEscaped, RunPut},
      {"get", "STORE KEY [--tree NAME] [--escaped]", "print the value of KEY, raw bytes", 2, 2,
       kTree, kEscaped, RunGet},
      {"del", "STORE KEY [--tree NAME] [--escaped]", "delete KEY", 2, 2, kTree, kEscaped,
       RunDel},
      {"load", "STORE [--tree NAME]",
       "add KEY<TAB>VALUE lines from stdin in one transaction", 1, 1, kTree, {}, RunLoad},
      {"dump", "STORE [--prefix P] [--tree NAME] [--escaped]",
       "print every record as an escaped KEY<TAB>VALUE line", 1, 1, kTreePrefix, kEscaped,
       RunDump},
      {"ls", "STORE [--prefix P] [--offset N] [--limit M] [--tree NAME] [--escaped]",
       "list keys in order, escaped, one per line", 1, 1,
       {"--tree", "--prefix", "--offset", "--limit"}, kEscaped, RunLs},
      {"count", "STORE [--prefix P] [--tree NAME] [--escaped]",
       "print the number of keys (with the prefix)", 1, 1, kTreePrefix, kEscaped, RunCount},
      {"rank", "STORE KEY [--tree NAME] [--escaped]", "print the number of keys less than KEY",
       2, 2, kTree, kEscaped, RunRank},
      {"nth", "STORE N [--tree NAME]", "print the record at position N (from 0) in key order",
       2, 2, kTree, {}, RunNth},
      {"stat", "STORE [--json] [--tree NAME]", "print statistics of the store and a tree", 1, 1,
       kTree, {"--json"}, RunStat},
      {"check", "STORE", "verify every page, hash, count and key order of the store", 1, 1, {},
       {}, RunCheck},
      {"root-hash", "STORE [--tree NAME]",
       "print the Merkle root hash of the store (or of one tree)", 1, 1, kTree, {}, RunRootHash},
      {"trees", "STORE", "list the names of the store's trees", 1, 1, {}, {}, RunTrees},
      {"help", "[COMMAND]", "show this help, or the usage of COMMAND", 0, 1, {}, {}, RunHelp},
  };
  return kCommands;
}

const CommandSpec* Find(const std::string& name) {
  for (const CommandSpec& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

std::string Overview() {
  std::string s =
      "usage: bruce COMMAND STORE [ARGS] [OPTIONS]\n"
      "\n"
      "Administer a bruce store: a counted copy-on-write B+tree in one file.\n"
      "\n"
      "commands:\n";
  for (const CommandSpec& c : Commands()) {
    std::string name = c.name;
    s += "  " + name + std::string(11 - name.size(), ' ') + c.summary + "\n";
  }
  s +=
      "\n"
      "options (after the command, anywhere; -- ends options):\n"
      "  --tree NAME  use the named tree instead of \"main\" (put/load create it)\n"
      "  --escaped    KEY, VALUE and --prefix arguments use the dump escapes\n"
      "  -h, --help   show the usage of a command\n"
      "\n"
      "escapes (dump, load, ls, nth, --escaped): \\\\ \\t \\n \\xHH\n"
      "exit codes: 0 ok, 1 not found, 2 usage or malformed input,\n"
      "            3 corruption, I/O or other store error\n";
  return s;
}

int RunHelp(const Invocation& inv) {
  if (inv.args.empty()) {
    std::fputs(Overview().c_str(), stdout);
    return kExitOk;
  }
  const CommandSpec* c = Find(inv.args[0]);
  if (c == nullptr) {
    std::fprintf(stderr, "bruce: help: unknown command '%s'\n", inv.args[0].c_str());
    return kExitUsage;
  }
  std::printf("usage: %s\n  %s\n", UsageLine(*c).c_str(), c->summary);
  return kExitOk;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("bruce: missing command\nusage: bruce COMMAND STORE [ARGS] [OPTIONS]"
               " (bruce --help lists the commands)\n", stderr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  const CommandSpec* spec = Find(name == "--help" || name == "-h" ? "help" : name);
  if (spec == nullptr) {
    std::fprintf(stderr, "bruce: unknown command '%s' (see bruce --help)\n", name.c_str());
    return kExitUsage;
  }
  const std::vector<std::string> words(argv + 2, argv + argc);
  Invocation inv;
  bool help = false;
  std::string error;
  if (!ParseInvocation(*spec, words, &inv, &help, &error)) {
    std::fprintf(stderr, "bruce: %s: %s\nusage: %s\n", spec->name, error.c_str(),
                 UsageLine(*spec).c_str());
    return kExitUsage;
  }
  if (help) {
    std::printf("usage: %s\n  %s\n", UsageLine(*spec).c_str(), spec->summary);
    return kExitOk;
  }
  return spec->run(inv);
}

}  // namespace
}  // namespace bruce::cli

int main(int argc, char** argv) { return bruce::cli::Main(argc, argv); }
