#include "sys/listening_ports.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <csignal>
#include <cstring>
#include <optional>

#include "base/unique_fd.h"

namespace sys {
namespace {

// A TCP socket bound to `address` on a port the kernel picks, listening unless `listen` is false.
struct Socket {
  base::UniqueFd fd;
  uint16_t port = 0;
};

std::optional<Socket> bound_socket(int family, const char* address, bool listen = true) {
  Socket socket;
  socket.fd = base::UniqueFd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket.fd) return std::nullopt;
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    ::inet_pton(AF_INET, address, &in->sin_addr);
    length = sizeof *in;
  } else {
    int only = 1;  // so that "::" is not also 0.0.0.0 (it would be listed as :: either way)
    ::setsockopt(socket.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, address, &in6->sin6_addr);
    length = sizeof *in6;
  }
  if (::bind(socket.fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    return std::nullopt;
  }
  if (listen && ::listen(socket.fd.get(), 4) != 0) return std::nullopt;
  length = sizeof storage;
  ::getsockname(socket.fd.get(), reinterpret_cast<sockaddr*>(&storage), &length);
  socket.port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return socket;
}

bool lists(const std::vector<ListeningPort>& ports, const std::string& address, uint16_t port) {
  return std::find(ports.begin(), ports.end(), ListeningPort{address, port}) != ports.end();
}

TEST(ListeningPorts, FindsAnIpv4ListenerOfThisProcess) {
  auto loopback = bound_socket(AF_INET, "127.0.0.1");
  auto any = bound_socket(AF_INET, "0.0.0.0");
  ASSERT_TRUE(loopback && any);
  pid_t self = ::getpid();
  auto ports = listening_ports({&self, 1});
  EXPECT_TRUE(lists(ports, "127.0.0.1", loopback->port));
  EXPECT_TRUE(lists(ports, "0.0.0.0", any->port));
  EXPECT_TRUE(std::is_sorted(ports.begin(), ports.end()));
}

TEST(ListeningPorts, FindsAnIpv6Listener) {
  auto loopback = bound_socket(AF_INET6, "::1");
  auto any = bound_socket(AF_INET6, "::");
  if (!loopback || !any) GTEST_SKIP() << "no IPv6 on this machine";
  pid_t self = ::getpid();
  auto ports = listening_ports({&self, 1});
  EXPECT_TRUE(lists(ports, "::1", loopback->port));
  EXPECT_TRUE(lists(ports, "::", any->port));
}

TEST(ListeningPorts, ASocketThatDoesNotListenIsNotListed) {
  auto bound = bound_socket(AF_INET, "127.0.0.1", /*listen=*/false);
  ASSERT_TRUE(bound);
  pid_t self = ::getpid();
  for (const auto& port : listening_ports({&self, 1})) EXPECT_NE(port.port, bound->port);
}

TEST(ListeningPorts, FindsTheListenerOfAChildAndNotOfOthers) {
  auto listener = bound_socket(AF_INET, "127.0.0.1");
  ASSERT_TRUE(listener);
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t child = ::fork();
  if (child == 0) {
    // Holds the listening socket it inherited; the parent closes its own.
    ::close(ready[0]);
    char byte = 1;
    (void)::write(ready[1], &byte, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  listener->fd.reset();
  pid_t self = ::getpid();
  auto child_ports = listening_ports({&child, 1});
  auto own_ports = listening_ports({&self, 1});
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(lists(child_ports, "127.0.0.1", listener->port));
  EXPECT_FALSE(lists(own_ports, "127.0.0.1", listener->port));
  // Gone with the child.
  EXPECT_TRUE(listening_ports({&child, 1}).empty());
}

TEST(ListeningPorts, ReadsEachNamespaceTablesOnceAndListsASharedSocketOnce) {
  auto listener = bound_socket(AF_INET, "127.0.0.1");
  ASSERT_TRUE(listener);
  // Two descriptors of one socket (a forked server's workers look like this) in one process,
  // asked about twice: one port, one read of tcp and tcp6.
  base::UniqueFd copy(::fcntl(listener->fd.get(), F_DUPFD_CLOEXEC, 0));
  pid_t self = ::getpid();
  pid_t twice[] = {self, self};
  ListeningSockets sockets;
  auto ports = sockets.held_by(twice);
  EXPECT_EQ(std::count(ports.begin(), ports.end(), ListeningPort{"127.0.0.1", listener->port}), 1);
  (void)sockets.held_by(twice);
  EXPECT_EQ(sockets.tables_read(), 2);
}

TEST(ListeningPorts, AProcessWithoutSocketsCostsNoTableRead) {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  // The child inherited no socket: the test binary holds none before this point.
  ListeningSockets sockets;
  EXPECT_TRUE(sockets.held_by({&child, 1}).empty());
  pid_t gone = 0;  // /proc/0 does not exist
  EXPECT_TRUE(sockets.held_by({&gone, 1}).empty());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(sockets.tables_read(), 0);
}

TEST(ListeningPorts, ReadsTheSocketsOfTheProcesssOwnNetworkNamespace) {
  // A child in a network namespace of its own listens there; this process's /proc/net/tcp cannot
  // show that socket, the child's /proc/<pid>/net/tcp does.
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    uint16_t port = 0;  // 0: could not make the namespace or the listener
    if (::unshare(CLONE_NEWNET) == 0) {
      if (auto listener = bound_socket(AF_INET, "0.0.0.0")) {
        port = listener->port;
        (void)listener->fd.release();  // held until the child is killed
      }
    }
    (void)::write(ready[1], &port, sizeof port);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  uint16_t port = 0;
  ASSERT_EQ(::read(ready[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  ::close(ready[0]);
  ListeningSockets sockets;
  pid_t self = ::getpid();
  pid_t both[] = {self, child};
  auto ports = sockets.held_by(both);
  int tables = sockets.tables_read();
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  if (port == 0) GTEST_SKIP() << "cannot make a network namespace here (needs CAP_SYS_ADMIN)";
  EXPECT_TRUE(lists(ports, "0.0.0.0", port));
  EXPECT_EQ(tables, 2) << "the child's namespace only: this process holds no socket";
}

TEST(ListeningPorts, ParsesTheKernelsTextAndSkipsWhatIsNotListening) {
  if constexpr (std::endian::native != std::endian::little) GTEST_SKIP() << "little-endian text";
  // Lines as Linux prints them on a little-endian machine (inode is the tenth field).
  std::string tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: 0100007F:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        "
      "0 111 1 0000000000000000 100 0 0 10 0\n"
      "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
      "0 112 1 0000000000000000 100 0 0 10 0\n"
      "   2: 0100007F:1435 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        "
      "0 113 1 0000000000000000 20 4 30 10 -1\n"
      "garbage\n";
  std::string tcp6 =
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000  1000        0 211 1 0000000000000000 100 0 0 10 "
      "0\n"
      "   1: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 212 1 0000000000000000 100 0 0 10 "
      "0\n"
      "   2: 0000000000000000FFFF00000100007F:2328 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 00:00000000 00000000     0        0 213 1 0000000000000000 100 0 0 10 "
      "0\n";
  std::unordered_map<ino_t, ListeningPort> table;
  parse_listening_sockets(tcp, false, table);
  parse_listening_sockets(tcp6, true, table);
  EXPECT_EQ(table.size(), 5u);
  EXPECT_EQ(table[111], (ListeningPort{"127.0.0.1", 5173}));
  EXPECT_EQ(table[112], (ListeningPort{"0.0.0.0", 80}));
  EXPECT_FALSE(table.contains(113));  // established, not listening
  EXPECT_EQ(table[211], (ListeningPort{"::1", 8080}));
  EXPECT_EQ(table[212], (ListeningPort{"::", 22}));
  EXPECT_EQ(table[213], (ListeningPort{"::ffff:127.0.0.1", 9000}));
}

}  // namespace
}  // namespace sys
