#pragma once
/// The TCP ports a set of processes listens on, read from /proc: each process's open sockets
/// (/proc/<pid>/fd/* -> "socket:[inode]") matched to the LISTEN sockets of its network namespace
/// (/proc/<pid>/net/tcp and tcp6, state 0A). Read on demand (status, list, wait until_port),
/// never polled in the background. Used on the loop's thread; nothing here is shared.

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace sys {

/// One listening socket: its local address as usually written (127.0.0.1, 0.0.0.0, ::1, ::) and
/// its port.
struct ListeningPort {
  std::string address;
  uint16_t port = 0;
  friend bool operator==(const ListeningPort&, const ListeningPort&) = default;
  friend auto operator<=>(const ListeningPort& a, const ListeningPort& b) {
    if (auto order = a.port <=> b.port; order != 0) return order;
    return a.address <=> b.address;
  }
};

/// The LISTEN sockets of the network namespaces asked about so far, each namespace's
/// /proc/<pid>/net/tcp and tcp6 read once, the first time a process in it holds a socket. One
/// object answers one query (a status, a page of list) for as many processes as it likes; keep
/// it no longer, since sockets come and go.
class ListeningSockets {
 public:
  /// The ports the processes `pids` listen on, each socket once (a socket several of them share,
  /// as forked servers do, is listed once), ordered by port then address. A process that is gone
  /// or cannot be read holds nothing. Processes that hold no socket cost one directory read.
  std::vector<ListeningPort> held_by(std::span<const pid_t> pids);

  /// How many /proc/<pid>/net/tcp{,6} files were read so far (for tests: once per namespace).
  int tables_read() const { return tables_read_; }

 private:
  // The LISTEN sockets of one namespace, by socket inode.
  using Table = std::unordered_map<ino_t, ListeningPort>;
  const Table& table_of(pid_t pid);

  std::unordered_map<ino_t, Table> tables_;  // by the inode of the network namespace
  int tables_read_ = 0;
};

/// One query: the ports `pids` listen on (ListeningSockets::held_by).
std::vector<ListeningPort> listening_ports(std::span<const pid_t> pids);

/// Appends the LISTEN sockets of one /proc/net/tcp or tcp6 text (`ipv6`: tcp6) to `table`.
/// Lines that do not parse are skipped. Public for tests.
void parse_listening_sockets(std::string_view text, bool ipv6,
                             std::unordered_map<ino_t, ListeningPort>& table);

}  // namespace sys
