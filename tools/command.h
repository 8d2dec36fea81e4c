// tools/command.h — what a `bruce` subcommand is: its name, its arguments and
// options, and the function that runs it on a parsed Invocation.
//
// Thread safety: the command table is immutable; the CLI is single-threaded.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace bruce::cli {

// Exit codes of the bruce CLI.
enum ExitCode : int {
  kExitOk = 0,
  kExitNotFound = 1,  // key, tree or index not found
  kExitUsage = 2,     // bad command line or malformed load input
  kExitError = 3,     // corruption, I/O error, or any other engine error
};

struct Invocation;

struct CommandSpec {
  const char* name;
  const char* synopsis;  // arguments and options, as shown in usage lines
  const char* summary;   // one line for `bruce --help`
  int min_args;          // positional arguments (STORE included)
  int max_args;
  std::vector<std::string> value_options;  // "--prefix" and the like: take a value
  std::vector<std::string> flag_options;   // "--json" and the like
  int (*run)(const Invocation& inv);
};

// A command line parsed against one CommandSpec.
struct Invocation {
  const CommandSpec* spec = nullptr;
  std::vector<std::string> args;              // positional, in order
  std::map<std::string, std::string> values;  // value options, last one wins
  std::vector<std::string> flags;             // flag options given

  bool Has(const std::string& flag) const;
  // The value of a value option, or nullptr when absent.
  const std::string* Value(const std::string& option) const;
};

// Parses argv (the words after the command name). Options may appear anywhere;
// `--opt=value` and `--opt value` both work; `--` ends options. `-h` and
// `--help` set *help. On error returns false with *error set.
bool ParseInvocation(const CommandSpec& spec, const std::vector<std::string>& words,
                     Invocation* inv, bool* help, std::string* error);

// The full usage line of a command: "bruce get STORE KEY [--tree NAME] ...".
std::string UsageLine(const CommandSpec& spec);

}  // namespace bruce::cli
