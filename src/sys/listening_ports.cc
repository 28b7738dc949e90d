#include "sys/listening_ports.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <string_view>

#include "sys/small_file.h"

namespace sys {
namespace {

constexpr std::string_view kSocketLink = "socket:[";
constexpr std::string_view kListenState = "0A";  // TCP_LISTEN, as /proc/net/tcp prints it

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

// Appends the inode of every socket `pid` has open. Only a few characters of each link are
// needed: "socket:[" and up to 20 digits.
void append_socket_inodes(pid_t pid, std::vector<ino_t>& inodes) {
  std::string path = fmt::format("/proc/{}/fd", pid);
  std::unique_ptr<DIR, DirCloser> dir(::opendir(path.c_str()));
  if (!dir) return;  // gone, or not ours to read
  const int dir_fd = ::dirfd(dir.get());
  char link[64];
  while (const dirent* entry = ::readdir(dir.get())) {
    if (entry->d_name[0] == '.') continue;
    ssize_t n = ::readlinkat(dir_fd, entry->d_name, link, sizeof link);
    if (n <= 0) continue;
    std::string_view target(link, static_cast<size_t>(n));
    if (!target.starts_with(kSocketLink) || !target.ends_with(']')) continue;
    target.remove_prefix(kSocketLink.size());
    target.remove_suffix(1);
    ino_t inode = 0;
    auto [end, error] = std::from_chars(target.data(), target.data() + target.size(), inode);
    if (error == std::errc() && end == target.data() + target.size()) inodes.push_back(inode);
  }
}

// The next whitespace-separated field of `line`, consumed from it.
std::string_view next_field(std::string_view& line) {
  size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    line = {};
    return {};
  }
  size_t end = line.find(' ', start);
  if (end == std::string_view::npos) end = line.size();
  std::string_view field = line.substr(start, end - start);
  line.remove_prefix(end);
  return field;
}

bool parse_hex32(std::string_view text, uint32_t& value) {
  if (text.size() != 8) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + 8, value, 16);
  return error == std::errc() && end == text.data() + 8;
}

// "0100007F:1F90" (tcp) or 32 hex digits and a port (tcp6) -> the address as usually written
// and the port. The kernel prints each 32-bit word of the address as the number that its bytes,
// in network order, make in the machine's own order; copying the numbers back into memory
// restores the bytes. The port is a plain number.
bool parse_local_address(std::string_view field, bool ipv6, ListeningPort& out) {
  size_t colon = field.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view address = field.substr(0, colon);
  std::string_view port_text = field.substr(colon + 1);
  unsigned port = 0;
  auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port, 16);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port > 0xffff) {
    return false;
  }
  const size_t words = ipv6 ? 4 : 1;
  if (address.size() != words * 8) return false;
  std::array<uint32_t, 4> raw{};
  for (size_t i = 0; i < words; ++i) {
    if (!parse_hex32(address.substr(i * 8, 8), raw[i])) return false;
  }
  char text[INET6_ADDRSTRLEN];
  if (::inet_ntop(ipv6 ? AF_INET6 : AF_INET, raw.data(), text, sizeof text) == nullptr) {
    return false;
  }
  out.address = text;
  out.port = static_cast<uint16_t>(port);
  return true;
}

}  // namespace

void parse_listening_sockets(std::string_view text, bool ipv6,
                             std::unordered_map<ino_t, ListeningPort>& table) {
  bool header = true;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (header) {  // "  sl  local_address rem_address   st tx_queue ..."
      header = false;
      continue;
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    std::string_view rest = line;
    next_field(rest);  // sl
    std::string_view local = next_field(rest);
    next_field(rest);  // rem_address
    if (next_field(rest) != kListenState) continue;
    for (int skipped = 0; skipped < 5; ++skipped) next_field(rest);
    std::string_view inode_text = next_field(rest);
    ino_t inode = 0;
    auto [end, error] =
        std::from_chars(inode_text.data(), inode_text.data() + inode_text.size(), inode);
    if (error != std::errc() || end != inode_text.data() + inode_text.size() || inode == 0) {
      continue;
    }
    ListeningPort port;
    if (parse_local_address(local, ipv6, port)) table.emplace(inode, std::move(port));
  }
}

const ListeningSockets::Table& ListeningSockets::table_of(pid_t pid) {
  // Each network namespace has its own sockets, and /proc/<pid>/net shows those of pid's. The
  // namespace is known by the inode of /proc/<pid>/ns/net; one that cannot be read (the process
  // just ended) gets a table of its own under a key no namespace has.
  struct stat ns {};
  ino_t key = ::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &ns) == 0
                  ? ns.st_ino
                  : ~static_cast<ino_t>(0) - static_cast<ino_t>(pid);
  auto [it, added] = tables_.try_emplace(key);
  if (added) {
    parse_listening_sockets(read_small_file(fmt::format("/proc/{}/net/tcp", pid)), false,
                            it->second);
    parse_listening_sockets(read_small_file(fmt::format("/proc/{}/net/tcp6", pid)), true,
                            it->second);
    tables_read_ += 2;
  }
  return it->second;
}

std::vector<ListeningPort> ListeningSockets::held_by(std::span<const pid_t> pids) {
  std::vector<ListeningPort> ports;
  std::vector<ino_t> inodes;
  std::vector<ino_t> seen;
  for (pid_t pid : pids) {
    inodes.clear();
    append_socket_inodes(pid, inodes);
    if (inodes.empty()) continue;
    const Table& table = table_of(pid);
    for (ino_t inode : inodes) {
      auto found = table.find(inode);
      if (found == table.end()) continue;
      if (std::find(seen.begin(), seen.end(), inode) != seen.end()) continue;
      seen.push_back(inode);
      ports.push_back(found->second);
    }
  }
  // Servers that listen once per worker (SO_REUSEPORT) hold several sockets on one address.
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

std::vector<ListeningPort> listening_ports(std::span<const pid_t> pids) {
  ListeningSockets sockets;
  return sockets.held_by(pids);
}

}  // namespace sys
