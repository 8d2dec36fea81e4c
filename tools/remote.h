// tools/remote.h — write commands on a store that brucefs has mounted.
//
// A store mounted read-write is written by its brucefs daemon only. When a
// write command finds the store held (kBusy) and the lock file names the
// daemon's control socket, the command sends its request there
// (fs/control_proto.h) and reports the daemon's answer exactly as it would
// its own, with the same exit codes. A store held by another CLI writer has
// no such socket: the command fails with Busy as before.
//
// Thread safety: single-threaded, like the CLI.
#pragma once

#include <string>

#include "bruce/db.h"
#include "command.h"
#include "control_proto.h"

namespace bruce::cli {

namespace ctl = ::brucefs::ctl;

// The daemon serving the store at `store`, when one does.
bool FindDaemon(const std::string& store, Endpoint* ep);
// Sends `req` to the daemon and reads its reply. kExitOk when a reply came
// (its status is the outcome, reply->GetStatus()); else the error is
// reported and its exit code returned.
int Ask(const Invocation& inv, const Endpoint& ep, const ctl::Message& req, ctl::Message* reply);
// Ask for a write command's request (op and fields set but the tree, which
// this adds): kExitOk with *st the outcome, or the exit code of a failure
// already reported (the daemon unreachable, the tree missing).
int AskWrite(const Invocation& inv, const Endpoint& ep, ctl::Message req, Status* st,
             ctl::Message* reply = nullptr);
// Adds --tree (and --dup) of the invocation to a request.
void SetTree(const Invocation& inv, ctl::Message* req);
// Reads the rest of stdin onto *out, which may hold at most
// ctl::kMaxPayload bytes in all; reports a read error or a payload too
// large for the daemon (kExitOk otherwise).
int ReadRestOfStdin(const Invocation& inv, std::string* out);

}  // namespace bruce::cli
