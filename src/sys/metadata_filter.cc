#include "sys/metadata_filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <vector>

// The *xattrat calls (Linux 6.13) have the same number on every architecture; Debian 12's
// headers predate them.
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#endif
#ifndef __NR_removexattrat
#define __NR_removexattrat 466
#endif

namespace sys {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_X86_64;
// x32 programs run on the x86_64 table with this bit set in the number.
constexpr uint32_t kX32Bit = 0x40000000;
// 32-bit x86 programs (int 0x80) use the i386 table.
constexpr uint32_t kCompatArch = AUDIT_ARCH_I386;
constexpr uint32_t kCompatXattrCalls[] = {226, 227, 228, 235, 236, 237, 463, 466};
#elif defined(__aarch64__)
constexpr uint32_t kNativeArch = AUDIT_ARCH_AARCH64;
constexpr uint32_t kX32Bit = 0;
// 32-bit ARM programs (when the kernel runs them) use the ARM EABI table.
constexpr uint32_t kCompatArch = AUDIT_ARCH_ARM;
constexpr uint32_t kCompatXattrCalls[] = {226, 227, 228, 235, 236, 237, 463, 466};
#else
#error "metadata_filter: add this architecture's audit arch and compat table"
#endif

constexpr uint32_t kNativeXattrCalls[] = {__NR_setxattr,     __NR_lsetxattr,    __NR_fsetxattr,
                                          __NR_setxattrat,   __NR_removexattr,  __NR_lremovexattr,
                                          __NR_fremovexattr, __NR_removexattrat};
// io_uring sets attributes too (IORING_OP_SETXATTR, IORING_OP_FSETXATTR) without any of the
// calls above, and seccomp cannot look inside a ring; these numbers are the same in every table.
constexpr uint32_t kIoUringCalls[] = {425, 426, 427};  // io_uring_setup, _enter, _register

// As a filesystem without extended attributes answers: cp -a, mv and tar go on without them.
constexpr uint32_t kNoAttributes = SECCOMP_RET_ERRNO | (EOPNOTSUPP & SECCOMP_RET_DATA);
// As a kernel built without io_uring answers: libuv, liburing users and runtimes fall back to
// ordinary system calls (Docker's default profile refuses io_uring the same way).
constexpr uint32_t kNoIoUring = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);

sock_filter statement(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter jump(uint16_t code, uint32_t k, uint8_t if_true, uint8_t if_false) {
  return BPF_JUMP(code, k, if_true, if_false);
}

// Appends, for each of `calls`: if the number in the accumulator is that call, return `answer`.
template <size_t N>
void answer_calls(std::vector<sock_filter>& program, const uint32_t (&calls)[N], uint32_t answer) {
  for (uint32_t call : calls) {
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, call, 0, 1));  // not equal: skip the return
    program.push_back(statement(BPF_RET | BPF_K, answer));
  }
}

// The block for one system call table: load the number, refuse what is refused, allow the rest.
template <size_t N>
std::vector<sock_filter> table_block(const uint32_t (&xattr_calls)[N], uint32_t number_mask) {
  std::vector<sock_filter> block;
  block.push_back(statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  if (number_mask != ~uint32_t{0})
    block.push_back(statement(BPF_ALU | BPF_AND | BPF_K, number_mask));
  answer_calls(block, xattr_calls, kNoAttributes);
  answer_calls(block, kIoUringCalls, kNoIoUring);
  block.push_back(statement(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return block;
}

std::vector<sock_filter> build() {
  std::vector<sock_filter> native = table_block(kNativeXattrCalls, ~kX32Bit);
  std::vector<sock_filter> compat = table_block(kCompatXattrCalls, ~uint32_t{0});

  // The architecture decides which table the number is from: native, compat, or (no other
  // table exists on these machines) none, which is refused outright.
  std::vector<sock_filter> program;
  program.push_back(statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kNativeArch, 2, 0));  // to the native block
  program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kCompatArch,
                         static_cast<uint8_t>(native.size() + 1), 0));  // to the compat block
  program.push_back(statement(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
  program.insert(program.end(), native.begin(), native.end());
  program.insert(program.end(), compat.begin(), compat.end());
  return program;
}

}  // namespace

const sock_fprog& metadata_filter() {
  static const std::vector<sock_filter> instructions = build();
  static const sock_fprog program{static_cast<unsigned short>(instructions.size()),
                                  const_cast<sock_filter*>(instructions.data())};
  return program;
}

int install_seccomp_filter_raw(const sock_fprog& filter) {
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0) == 0 ? 0 : errno;
}

}  // namespace sys
