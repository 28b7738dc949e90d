// A child process with one behaviour per mode, for process tests (no shell one-liners to quote):
//   exit N              exit with status N
//   sleep MS            sleep, then exit 0
//   spew BYTES          write BYTES bytes to stdout in 80-column lines, then exit 0
//   both                write "out1\n" to stdout, "err1\n" to stderr, "out2\n" to stdout, exit 0
//   ignore-term         ignore SIGTERM, print "ready", sleep until killed
//   grandchild PIDFILE  fork a grandchild that writes its pid to PIDFILE and sleeps until killed;
//                       the child itself also sleeps until killed
//   invalid-utf8        print bytes that are not UTF-8 around valid text, then exit 0
//   no-stdin            print "ready", then sleep without ever reading stdin
//   echo                echo each stdin line as "got: LINE"; exit 0 at EOF
//   prompt              print "name? " with no newline, read a line, print "hello NAME", exit 0
//   alloc MIB           allocate and touch MIB mebibytes (resident, not just reserved), print
//                       "allocated", sleep until killed; if an allocation fails, print
//                       "allocation failed after N MiB" and exit 1
//   swap-with-link PATH TARGET
//                       make PATH.swap a symlink to TARGET, print "swapping", then exchange the
//                       names PATH and PATH.swap (renameat2 RENAME_EXCHANGE) in a tight loop until
//                       killed: PATH is always there, a directory one moment and a link the next
//   metadata OP PATH    try one metadata change on PATH and print "OP: ok" or "OP: <strerror>":
//                       chmod (to 0600), chown (to its current owner), utimes (to now),
//                       setxattr (user.mcpbg = 1), removexattr (user.mcpbg), uring-setxattr
//                       (user.mcpbg = 1 through io_uring, where a system call filter sees only
//                       io_uring_setup and io_uring_enter)
//   daemon PIDFILE      become a daemon the classic way: fork, the child starts a new session
//                       and forks again, and the grandchild (its stdin, stdout and stderr on
//                       /dev/null) writes its pid to PIDFILE and sleeps until killed; the child
//                       exits at once, and this process exits 0 once the child has
//   daemon-bare PIDFILE the same, and the grandchild also clears its environment (exec with
//                       none), so nothing but where it came from ties it to the job
//   pidfile-sleep PIDFILE  write the pid to PIDFILE, sleep until killed (what daemon-bare execs)
//   count-signals       print "ready", count the SIGRTMINs it receives (real-time signals queue,
//                       so none is merged with another), and at SIGRTMIN+1 (delivered after
//                       every SIGRTMIN already pending) print "SIGRTMIN xN" and exit 0
#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

// Sets user.mcpbg = 1 on `path` with one IORING_OP_SETXATTR (Linux 5.19). Returns 0 or the errno
// of the step that failed (io_uring_setup's, or the operation's own).
int uring_setxattr(const char* path) {
  io_uring_params params{};
  int ring = static_cast<int>(syscall(__NR_io_uring_setup, 1, &params));
  if (ring < 0) return errno;
  size_t sq_bytes = params.sq_off.array + params.sq_entries * sizeof(unsigned);
  size_t cq_bytes = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
  size_t ring_bytes = sq_bytes > cq_bytes ? sq_bytes : cq_bytes;  // one mapping (5.4 and later)
  auto* rings = static_cast<char*>(mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE,
                                        MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING));
  auto* sqes =
      static_cast<io_uring_sqe*>(mmap(nullptr, sizeof(io_uring_sqe), PROT_READ | PROT_WRITE,
                                      MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES));
  if (rings == MAP_FAILED || sqes == MAP_FAILED) return errno;
  static const char kName[] = "user.mcpbg";
  static const char kValue[] = "1";
  std::memset(sqes, 0, sizeof(io_uring_sqe));
  sqes->opcode = IORING_OP_SETXATTR;
  sqes->addr = reinterpret_cast<uintptr_t>(kName);
  sqes->addr2 = reinterpret_cast<uintptr_t>(kValue);
  sqes->len = 1;
  sqes->addr3 = reinterpret_cast<uintptr_t>(path);
  auto* sq_array = reinterpret_cast<unsigned*>(rings + params.sq_off.array);
  auto* sq_tail = reinterpret_cast<unsigned*>(rings + params.sq_off.tail);
  sq_array[*sq_tail & *reinterpret_cast<unsigned*>(rings + params.sq_off.ring_mask)] = 0;
  __atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
  if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, nullptr, 0) < 0) {
    return errno;
  }
  auto* cq_head = reinterpret_cast<unsigned*>(rings + params.cq_off.head);
  auto* cqes = reinterpret_cast<io_uring_cqe*>(rings + params.cq_off.cqes);
  unsigned mask = *reinterpret_cast<unsigned*>(rings + params.cq_off.ring_mask);
  int result = cqes[__atomic_load_n(cq_head, __ATOMIC_ACQUIRE) & mask].res;
  close(ring);
  return result < 0 ? -result : 0;
}

void sleep_forever() {
  for (;;) pause();
}

void write_pid_file(const char* path) {
  // Written whole under a temporary name, then renamed: a reader never sees half a pid.
  std::string temporary = std::string(path) + ".tmp";
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::string text = std::to_string(getpid()) + "\n";
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(3);
  close(fd);
  if (rename(temporary.c_str(), path) != 0) _exit(3);
}

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) _exit(3);
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: test_child MODE [ARG]\n");
    return 64;
  }
  std::string mode = argv[1];
  const char* arg = argc > 2 ? argv[2] : "";

  if (mode == "exit") return std::atoi(arg);
  if (mode == "sleep") {
    usleep(static_cast<useconds_t>(std::atoi(arg)) * 1000);
    return 0;
  }
  if (mode == "spew") {
    long long remaining = std::atoll(arg);
    std::string line(79, 'x');
    line.push_back('\n');
    std::string block;
    while (block.size() < 64 * 1024) block += line;
    while (remaining > 0) {
      size_t n = remaining < static_cast<long long>(block.size()) ? static_cast<size_t>(remaining)
                                                                  : block.size();
      write_all(1, block.data(), n);
      remaining -= static_cast<long long>(n);
    }
    return 0;
  }
  if (mode == "both") {
    write_all(1, "out1\n", 5);
    write_all(2, "err1\n", 5);
    write_all(1, "out2\n", 5);
    return 0;
  }
  if (mode == "ignore-term") {
    signal(SIGTERM, SIG_IGN);
    write_all(1, "ready\n", 6);
    sleep_forever();
  }
  if (mode == "grandchild") {
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      std::string text = std::to_string(getpid()) + "\n";
      write_all(fd, text.data(), text.size());
      close(fd);
      sleep_forever();
    }
    write_all(1, "ready\n", 6);
    sleep_forever();
  }
  if (mode == "daemon" || mode == "daemon-bare") {
    pid_t child = fork();
    if (child == 0) {
      setsid();
      if (fork() == 0) {
        int null = open("/dev/null", O_RDWR);
        for (int fd = 0; fd <= 2; ++fd) dup2(null, fd);
        if (null > 2) close(null);
        if (mode == "daemon-bare") {
          // Everything that tied it to the job goes, but the process tree it came from.
          char* empty[] = {nullptr};
          char* args[] = {argv[0], const_cast<char*>("pidfile-sleep"), const_cast<char*>(arg),
                          nullptr};
          execve("/proc/self/exe", args, empty);
          _exit(3);
        }
        write_pid_file(arg);
        sleep_forever();
      }
      _exit(0);
    }
    waitpid(child, nullptr, 0);
    return 0;
  }
  if (mode == "pidfile-sleep") {  // what daemon-bare becomes
    write_pid_file(arg);
    sleep_forever();
  }
  if (mode == "invalid-utf8") {
    const char bytes[] = "ok \xff\xfe bad \xc3\x28 end \xe2\x82\xac\n";
    write_all(1, bytes, sizeof(bytes) - 1);
    return 0;
  }
  if (mode == "no-stdin") {
    write_all(1, "ready\n", 6);
    sleep_forever();
  }
  if (mode == "echo") {
    std::string line;
    while (std::getline(std::cin, line)) {
      std::string out = "got: " + line + "\n";
      write_all(1, out.data(), out.size());
    }
    return 0;
  }
  if (mode == "prompt") {
    write_all(1, "name? ", 6);
    std::string name;
    std::getline(std::cin, name);
    std::string out = "hello " + name + "\n";
    write_all(1, out.data(), out.size());
    return 0;
  }
  if (mode == "alloc") {
    long mebibytes = std::atol(arg);
    constexpr size_t kMiB = size_t{1} << 20;
    for (long i = 0; i < mebibytes; ++i) {
      void* block = std::malloc(kMiB);
      if (block == nullptr) {
        std::printf("allocation failed after %ld MiB\n", i);
        return 1;
      }
      std::memset(block, 1, kMiB);  // touched pages are resident
    }
    write_all(1, "allocated\n", 10);
    sleep_forever();
  }
  if (mode == "swap-with-link" && argc > 3) {
    std::string link = std::string(arg) + ".swap";
    unlink(link.c_str());
    if (symlink(argv[3], link.c_str()) != 0) {
      std::perror("symlink");
      return 1;
    }
    write_all(1, "swapping\n", 9);
    constexpr unsigned kRenameExchange = 2;  // RENAME_EXCHANGE, absent from older headers
    for (;;) {
      if (syscall(SYS_renameat2, AT_FDCWD, arg, AT_FDCWD, link.c_str(), kRenameExchange) != 0) {
        std::perror("renameat2");
        return 1;
      }
    }
  }
  if (mode == "metadata" && argc > 3) {
    std::string op = arg;
    const char* path = argv[3];
    struct stat st {};
    int rc = -1;
    if (op == "chmod") {
      rc = chmod(path, 0600);
    } else if (op == "chown") {
      rc = stat(path, &st) == 0 ? chown(path, st.st_uid, st.st_gid) : -1;
    } else if (op == "utimes") {
      rc = utimensat(AT_FDCWD, path, nullptr, 0);
    } else if (op == "setxattr") {
      rc = setxattr(path, "user.mcpbg", "1", 1, 0);
    } else if (op == "removexattr") {
      rc = removexattr(path, "user.mcpbg");
    } else if (op == "uring-setxattr") {
      int error = uring_setxattr(path);
      errno = error;
      rc = error == 0 ? 0 : -1;
    } else {
      std::fprintf(stderr, "test_child: unknown metadata operation '%s'\n", op.c_str());
      return 64;
    }
    std::printf("%s: %s\n", op.c_str(), rc == 0 ? "ok" : std::strerror(errno));
    return rc == 0 ? 0 : 1;
  }
  if (mode == "count-signals") {
    sigset_t counted;
    sigemptyset(&counted);
    sigaddset(&counted, SIGRTMIN);
    sigaddset(&counted, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &counted, nullptr);
    write_all(1, "ready\n", 6);
    int received = 0;
    for (;;) {
      int sig = sigwaitinfo(&counted, nullptr);
      if (sig == SIGRTMIN) ++received;
      if (sig == SIGRTMIN + 1) break;
    }
    std::string out = "SIGRTMIN x" + std::to_string(received) + "\n";
    write_all(1, out.data(), out.size());
    return 0;
  }
  std::fprintf(stderr, "test_child: unknown mode '%s'\n", mode.c_str());
  return 64;
}
