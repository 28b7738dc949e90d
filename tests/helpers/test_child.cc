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
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

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
